"""The dataset catalogue: which files make each dataset, their SHA-256, where to download them, where to look.

Lookup order for every file: ``data_dir`` argument (the CLI's ``--data-dir``), then ``$VAELAB_DATA``, then the
per-user cache (``$VAELAB_CACHE``, else ``$XDG_CACHE_HOME/vaelab``, else ``~/.cache/vaelab``). Each looks in
``<root>/<dataset>/<file>``. A file found nowhere is downloaded into the cache with pooch (``pooch.retrieve``):
streamed to a temporary file in the same folder with a progress bar, its SHA-256 checked, then moved into place,
so an aborted download or a checksum mismatch never leaves a file in the cache. Mirrors (``FileSpec.sources``) are
tried in order. ``VAELAB_OFFLINE=1`` turns downloads off.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from vaelab.core.errors import DatasetError
from vaelab.data.files import open_data_file, probe_data_file


@dataclass(frozen=True)
class Source:
    """One place a file can be downloaded from, with the SHA-256 of the bytes found there."""

    url: str
    sha256: str


@dataclass(frozen=True)
class FileSpec:
    """A file of a dataset; ``sources`` are tried in order. A local file is accepted if it matches any checksum."""

    name: str
    sources: tuple[Source, ...]
    size: int | None = None  # bytes, for the progress bar and the error message

    @property
    def checksums(self) -> set[str]:
        return {s.sha256 for s in self.sources}


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    files: tuple[FileSpec, ...]
    description: str
    citation: str
    image_shape: tuple[int, int, int]
    has_labels: bool
    has_test_split: bool
    default_val_size: int
    folder: str = ""  # sub-folder of a data root holding the files (default: the dataset's name)

    @property
    def dirname(self) -> str:
        return self.folder or self.name


_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
    "train-labels-idx1-ubyte.gz": ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
    "t10k-images-idx3-ubyte.gz": ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
    "t10k-labels-idx1-ubyte.gz": ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
}

CATALOG: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        files=tuple(
            FileSpec(name, tuple(Source(m + name, sha) for m in _MNIST_MIRRORS), size)
            for name, (sha, size) in _MNIST_FILES.items()
        ),
        description="MNIST handwritten digits: 60,000 train / 10,000 test grey images of 28x28, labels 0-9",
        citation="Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database of handwritten digits",
        image_shape=(1, 28, 28),
        has_labels=True,
        has_test_split=True,
        default_val_size=10000,
    ),
    "frey-face": DatasetSpec(
        name="frey-face",
        files=(
            FileSpec(
                "frey_rawface.mat",
                (
                    Source(
                        "https://cs.nyu.edu/~roweis/data/frey_rawface.mat",
                        "265a83a23adb081755cd3de375509828e690324d1d60f076b8ecebc840d59c64",
                    ),
                    Source(
                        "https://raw.githubusercontent.com/vilhess/projet_meth_ia/"
                        "417f18d3bba5d716291a891c22e8f57da426a819/dataset/frey_rawface.mat",
                        "265a83a23adb081755cd3de375509828e690324d1d60f076b8ecebc840d59c64",
                    ),
                ),
                1100584,
            ),
        ),
        description="Frey Face: 1,965 grey images of 28x20 of Brendan Frey's face (no labels, no official split)",
        citation="B. J. Frey et al., CVPR 1998; used in Kingma & Welling, Auto-Encoding Variational Bayes, 2014",
        image_shape=(1, 28, 20),
        has_labels=False,
        has_test_split=False,
        default_val_size=200,
    ),
    "olivetti-faces": DatasetSpec(
        name="olivetti-faces",
        files=(
            FileSpec(
                "olivettifaces.mat",
                (
                    # the original file (as scikit-learn's fetch_olivetti_faces downloads it)
                    Source(
                        "https://ndownloader.figshare.com/files/5976027",
                        "b612fb967f2dc77c9c62d3e1266e0c73d5fca46a4b8906c18e454d41af987794",
                    ),
                    Source(
                        "https://cs.nyu.edu/~roweis/data/olivettifaces.mat",
                        "b612fb967f2dc77c9c62d3e1266e0c73d5fca46a4b8906c18e454d41af987794",
                    ),
                    # the same images, re-saved in MATLAB in 2013 (different bytes, same 4096x400 uint8 content)
                    Source(
                        "https://raw.githubusercontent.com/sjgershm/DBM/"
                        "a30d9abb523aab874a299b8b1aa21e7df2023f60/olivettifaces.mat",
                        "b1988d02c72fe5b8ee82b5ef3bb7982eafc74f1e1ff0ae0ade35061ad0af534d",
                    ),
                ),
                None,
            ),
        ),
        description="Olivetti / AT&T (ORL) faces: 400 grey images of 64x64, 40 people x 10 images (label = person)",
        citation="F. Samaria and A. Harter, WACV 1994; 64x64 version by Sam Roweis (AT&T Laboratories Cambridge)",
        image_shape=(1, 64, 64),
        has_labels=True,
        has_test_split=False,
        default_val_size=40,
        folder="faces",
    ),
}


def get_spec(name: str) -> DatasetSpec:
    """Return the catalogue entry for ``name``.

    Raises:
        DatasetError: ``name`` is not in ``CATALOG`` (the message lists the known names).
    """
    try:
        return CATALOG[name]
    except KeyError as exc:
        raise DatasetError(f"unknown dataset {name!r}; expected one of {sorted(CATALOG)}") from exc


def cache_dir() -> Path:
    """The per-user download cache: ``$VAELAB_CACHE``, else ``$XDG_CACHE_HOME/vaelab``, else ``~/.cache/vaelab``."""
    if os.environ.get("VAELAB_CACHE"):
        return Path(os.environ["VAELAB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vaelab"


def search_roots(data_dir: str | Path | None = None) -> list[Path]:
    """The folders searched, in order: ``data_dir``, ``$VAELAB_DATA``, the cache (``cache_dir()``)."""
    roots = []
    if data_dir:
        roots.append(Path(data_dir))
    if os.environ.get("VAELAB_DATA"):
        roots.append(Path(os.environ["VAELAB_DATA"]))
    roots.append(cache_dir())
    return roots


def sha256_of(path: str | Path, expected: str = "a data file") -> str:
    """Hex SHA-256 of the file at ``path``, read in 1 MiB blocks.

    Args:
        path: the file.
        expected: what should be there, for the error messages.

    Raises:
        DatasetError: ``path`` is missing, a directory, a dangling symbolic link, unreadable (permission denied)
            or fails while being read (see ``vaelab.data.files.open_data_file``).
    """
    h = hashlib.sha256()
    with open_data_file(path, expected) as fh:
        try:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read the file ({exc}); expected {expected}") from exc
    return h.hexdigest()


class _Progress:
    """pooch's progress-bar protocol (``total``, ``update``, ``reset``, ``close``) on a tqdm bar named after the
    file. The bar appears once the server answers; the catalogue size stands in when it sends no Content-Length,
    and the count never passes the total (pooch counts whole chunks)."""

    def __init__(self, name: str, size: int | None):
        self._name, self._size = name, size
        self._bar = None
        self._done = False

    @property
    def total(self):
        return None if self._bar is None else self._bar.total

    @total.setter
    def total(self, value):  # pooch sets it once the response headers are in
        from tqdm.auto import tqdm

        total = value or self._size
        if self._bar is None:
            self._bar = tqdm(total=total, desc=self._name, unit="B", unit_scale=True, leave=True)
        else:
            self._bar.total = total
            self._bar.refresh()

    def update(self, n: int) -> None:
        if self._bar is None or self._done:
            return
        if self._bar.total:
            n = max(0, min(n, self._bar.total - self._bar.n))
        self._bar.update(n)

    def reset(self) -> None:  # pooch calls it once the download is complete, then update(total) and close()
        self._done = True
        if self._bar is not None and self._bar.total:
            self._bar.n = self._bar.total

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def download(
    url: str, dest: str | Path, sha256: str, size: int | None = None, progress: bool = True, timeout: float = 30.0
) -> Path:
    """Download ``url`` to ``dest`` with ``pooch.retrieve``: a temporary file in ``dest``'s folder, SHA-256 check,
    then a move into place.

    Args:
        url: an ``http://`` or ``https://`` address.
        dest: the final path (its folder is created).
        sha256: the expected hex SHA-256 of the bytes served.
        size: expected bytes, for the progress bar when the server sends no Content-Length.
        progress: show a progress bar (and pooch's "Downloading ..." line) on stderr.
        timeout: seconds to wait for the server to connect or send data.

    Returns:
        ``dest``.

    Raises:
        DatasetError: unsupported URL scheme, network failure (connection, HTTP error, connection closed before
            Content-Length bytes) or checksum mismatch; in every case nothing is left at ``dest`` and the
            temporary file is removed.
    """
    import pooch
    import requests

    dest = Path(dest)
    scheme = urlparse(url).scheme
    if scheme not in ("http", "https"):
        raise DatasetError(f"{url}: download failed (URL scheme {scheme!r}; expected http or https)")
    bar = _Progress(dest.name, size) if progress else False
    logger = pooch.get_logger()
    level = logger.level
    if not progress:
        logger.setLevel(logging.WARNING)  # pooch logs "Downloading data from ..." at INFO
    try:
        pooch.retrieve(
            url,
            known_hash=f"sha256:{sha256}",
            fname=dest.name,
            path=dest.parent,
            downloader=pooch.HTTPDownloader(progressbar=bar, timeout=timeout),
        )
    except requests.exceptions.RequestException as exc:  # before ValueError: some of these are ValueErrors too
        raise DatasetError(f"{url}: download failed ({exc})") from exc
    except ValueError as exc:  # pooch's checksum mismatch; its temporary file is already removed
        raise DatasetError(f"{url}: SHA-256 does not match the expected {sha256}; download discarded ({exc})") from exc
    except OSError as exc:  # the cache folder cannot be created or written
        raise DatasetError(f"{url}: download failed ({exc})") from exc
    finally:
        logger.setLevel(level)
        if bar:
            bar.close()
    return dest


def locate_file(
    dataset: str,
    spec: FileSpec,
    data_dir: str | Path | None = None,
    allow_download: bool | None = None,
    progress: bool = True,
) -> Path:
    """Return a verified local path for one file of ``dataset``, downloading it into the cache if needed.

    Looks for ``<root>/<dataset folder>/<file>`` in each of ``search_roots(data_dir)``; the first path where
    something exists decides. If nothing exists anywhere and downloads are allowed, each of ``spec.sources`` is
    tried in order (``download``) into ``cache_dir()``.

    Args:
        dataset: a key of ``CATALOG``.
        spec: the file, one of ``get_spec(dataset).files``.
        data_dir: searched first (the CLI's ``--data-dir``).
        allow_download: download a missing file; None means yes unless ``$VAELAB_OFFLINE`` is 1, true or yes.
        progress: show download progress bars.

    Returns:
        The path of a regular file whose SHA-256 is one of ``spec.checksums``.

    Raises:
        DatasetError: a local path that is a directory, a dangling symbolic link or not readable; a local file whose
            SHA-256 matches no known checksum (the file is kept); a file found nowhere and not downloadable (the
            message lists the expected files with their checksums, the folders searched, each download attempt,
            and how to provide the files).
    """
    ds = get_spec(dataset)
    folder = ds.dirname
    expected = f"the file {spec.name} of dataset {dataset!r} (sha256 {' or '.join(sorted(spec.checksums))})"
    for root in search_roots(data_dir):
        path = root / folder / spec.name
        if probe_data_file(path, expected):
            digest = sha256_of(path, expected)
            if digest not in spec.checksums:
                raise DatasetError(
                    f"{path}: SHA-256 {digest} matches none of the known checksums {sorted(spec.checksums)}; "
                    "the file is corrupt or not the expected one (remove it to download it again)"
                )
            return path
    if allow_download is None:
        allow_download = os.environ.get("VAELAB_OFFLINE", "") not in ("1", "true", "yes")
    dest = cache_dir() / folder / spec.name
    errors = []
    if allow_download:
        for source in spec.sources:
            try:
                return download(source.url, dest, source.sha256, spec.size, progress=progress)
            except DatasetError as exc:
                errors.append(str(exc))
    roots = ", ".join(str(r / folder) for r in search_roots(data_dir))
    files = "\n".join(f"  {f.name}  (sha256 {' or '.join(sorted(f.checksums))})" for f in ds.files)
    tried = ("\ndownload attempts:\n  " + "\n  ".join(errors)) if errors else "\n(downloads are off: VAELAB_OFFLINE)"
    raise DatasetError(
        f"dataset {dataset!r}: file {spec.name} not found in {roots}.{tried}\n"
        f"Put these files in <DIR>/{folder}/ and pass --data-dir DIR (or set VAELAB_DATA=DIR):\n{files}"
    )


def locate(
    dataset: str,
    data_dir: str | Path | None = None,
    allow_download: bool | None = None,
    progress: bool = True,
    files: tuple[str, ...] | None = None,
) -> dict[str, Path]:
    """Verified local paths of every file of ``dataset`` (or of the named ``files`` only, e.g. the test split's),
    by file name (see ``locate_file`` for the lookup, downloads and the ``DatasetError`` raised)."""
    spec = get_spec(dataset)
    wanted = [f for f in spec.files if files is None or f.name in files]
    return {f.name: locate_file(dataset, f, data_dir, allow_download, progress) for f in wanted}
