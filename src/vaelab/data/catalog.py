"""The dataset catalogue: which files make each dataset, their checksums, licences, where to download them and
where to look.

Lookup order for every file: ``data_dir`` argument (the CLI's ``--data-dir``), then ``$VAELAB_DATA``, then the
per-user cache (``$VAELAB_CACHE``, else ``$XDG_CACHE_HOME/vaelab``, else ``~/.cache/vaelab``), then the dataset's
system folders (``DatasetSpec.system_roots``: Debian's ``/usr/share/datasets`` for Fashion-MNIST). Each looks in
``<root>/<dataset folder>/<file>``. A file found nowhere is downloaded into the cache with pooch
(``pooch.retrieve``): streamed to a temporary file in the same folder with a progress bar, its checksum checked,
then moved into place, so an aborted download or a checksum mismatch never leaves a file in the cache. Mirrors
(``FileSpec.sources``) are tried in order. ``VAELAB_OFFLINE=1`` turns downloads off.

Checksums are written as pooch writes them: ``HEX`` (SHA-256), ``sha512:HEX`` (npm's integrity of the emoji
tarballs, ``npm_checksum``) or ``md5:HEX`` (CelebA's published checksums).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from vaelab.core.errors import DatasetError
from vaelab.core.naming import option
from vaelab.data.files import open_data_file, probe_data_file

HASHES = ("sha256", "sha512", "md5")
_ALGO_NAMES = {"sha256": "SHA-256", "sha512": "SHA-512", "md5": "MD5"}


def split_checksum(checksum: str) -> tuple[str, str]:
    """``(algorithm, lower-case hex)`` of a checksum written ``HEX`` (SHA-256) or ``ALGO:HEX`` (pooch's form)."""
    algo, sep, hexdigest = checksum.partition(":")
    if not sep:
        algo, hexdigest = "sha256", checksum
    if algo not in HASHES:
        raise DatasetError(f"checksum {checksum[:40]!r}: expected HEX (SHA-256) or one of {HASHES} as ALGO:HEX")
    return algo, hexdigest.lower()


def describe_checksum(checksum: str) -> str:
    """``"sha256 HEX"``, ``"sha512 HEX"`` or ``"md5 HEX"``: a checksum as the messages write it."""
    return " ".join(split_checksum(checksum))


def npm_checksum(integrity: str) -> str:
    """pooch's ``sha512:HEX`` of an npm ``integrity`` string (``sha512-BASE64``, as ``npm view PKG dist`` and
    package-lock.json give it).

    Raises:
        DatasetError: no ``sha512-`` value in ``integrity``.
    """
    for part in integrity.split():
        algo, _, b64 = part.partition("-")
        if algo == "sha512":
            return "sha512:" + base64.b64decode(b64, validate=True).hex()
    raise DatasetError(f"integrity {integrity[:40]!r}: expected a sha512-... value (npm's format)")


@dataclass(frozen=True)
class Source:
    """One place a file can be downloaded from, with the checksum of the bytes found there (``HEX`` = SHA-256,
    or ``sha512:HEX`` / ``md5:HEX``)."""

    url: str
    checksum: str


@dataclass(frozen=True)
class FileSpec:
    """A file of a dataset; ``sources`` are tried in order. A local file is accepted if it matches any checksum
    of ``sources`` or of ``also`` (other known copies that are not downloaded, e.g. Debian's re-packed files)."""

    name: str
    sources: tuple[Source, ...]
    size: int | None = None  # bytes, for the progress bar and the error message
    also: tuple[str, ...] = ()

    @property
    def checksums(self) -> set[str]:
        return {s.checksum for s in self.sources} | set(self.also)


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
    licence: str = ""  # the licence (or terms) of the data, as its publishers state them
    homepage: str = ""
    classes: tuple[str, ...] | None = None  # the names of the labels 0..C-1 where they are not the digits
    system_roots: tuple[str, ...] = ()  # searched after the cache (distribution packages)

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

# Fashion-MNIST's official files (the project's S3 bucket, and the same bytes in its git repository at a fixed
# commit); Debian's dataset-fashion-mnist (0.0~git20200523.55506a9-1) ships the same IDX content re-gzipped, so its
# files are accepted by their own SHA-256 (``also``).
_FASHION_S3 = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_FASHION_GITHUB = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/b2617bb6d3ffa2e429640350f613e3291e10b141/data/fashion/"
_FASHION_FILES = {
    "train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        26421880,
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    ),
    "train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        29515,
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        4422102,
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        5148,
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    ),
}
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

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
        licence="CC BY-SA 3.0 (as stated by Y. LeCun and C. Cortes)",
        homepage="http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        files=tuple(
            FileSpec(
                name,
                (Source(_FASHION_S3 + name, sha), Source(_FASHION_GITHUB + name, sha)),
                size,
                also=(debian,),
            )
            for name, (sha, size, debian) in _FASHION_FILES.items()
        ),
        description=(
            "Fashion-MNIST: Zalando's article images, 60,000 train / 10,000 test grey images of 28x28 in MNIST's "
            "IDX format, 10 classes of clothing (label names: T-shirt/top ... Ankle boot)"
        ),
        citation="H. Xiao, K. Rasul, R. Vollgraf, Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine "
        "Learning Algorithms, arXiv:1708.07747, 2017",
        image_shape=(1, 28, 28),
        has_labels=True,
        has_test_split=True,
        default_val_size=10000,
        licence="MIT (Zalando SE)",
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        classes=FASHION_CLASSES,
        system_roots=("/usr/share/datasets",),  # Debian's dataset-fashion-mnist
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
        licence="no licence stated; published by Sam Roweis for research use",
        homepage="https://cs.nyu.edu/~roweis/data.html",
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
        licence="no licence stated; AT&T Laboratories Cambridge, free for research use",
        homepage="https://cam-orl.co.uk/facedatabase.html",
    ),
}


# The emoji sets: npm tarballs of iamcal's emoji-data, pinned by their npm integrity (SHA-512), as
# src/vaelab/web/onnxruntime-web.json pins onnxruntime-web: `npm view emoji-datasource-<set>@16.0.0 dist` gives the
# tarball URL and the integrity. vaelab.data.emoji reads them.
EMOJI_VERSION = "16.0.0"
EMOJI_SETS: dict[str, dict] = {
    "twitter": {
        "package": "emoji-datasource-twitter",
        "integrity": "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ==",
        "size": 61683754,
        "artwork": "Twemoji (https://github.com/twitter/twemoji)",
        "licence": "CC-BY 4.0 (graphics: Copyright Twitter, Inc. and other contributors)",
    },
    "google": {
        "package": "emoji-datasource-google",
        "integrity": "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A==",
        "size": 74344091,
        "artwork": "Noto Emoji (https://github.com/googlefonts/noto-emoji)",
        "licence": "Apache License 2.0 (Google)",
    },
}
EMOJI_VARIANTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "emoji": (("twitter", "google"), False),
    "emoji-twitter": (("twitter",), False),
    "emoji-google": (("google",), False),
    "emoji-faces": (("twitter", "google"), True),
    "emoji-faces-twitter": (("twitter",), True),
    "emoji-faces-google": (("google",), True),
}
"""Dataset name -> (sets, faces subset only)."""


def _emoji_spec(name: str, sets: tuple[str, ...], faces: bool) -> DatasetSpec:
    files = []
    for key in sets:
        pkg = EMOJI_SETS[key]["package"]
        tgz = f"{pkg}-{EMOJI_VERSION}.tgz"
        url = f"https://registry.npmjs.org/{pkg}/-/{tgz}"
        files.append(FileSpec(tgz, (Source(url, npm_checksum(EMOJI_SETS[key]["integrity"])),), EMOJI_SETS[key]["size"]))
    what = "'Smileys & Emotion' and 'People & Body' (2,430 per set)" if faces else "every emoji (3,786 per set)"
    return DatasetSpec(
        name=name,
        files=tuple(files),
        description=f"emoji ({' + '.join(sets)}): {what}, 64x64 RGB on white; labels: category; attributes: "
        "subcategory, skin tone, set, hair, smiling",
        citation="emoji-data by Cal Henderson (https://github.com/iamcal/emoji-data), npm emoji-datasource-* "
        f"{EMOJI_VERSION}; artwork: " + "; ".join(EMOJI_SETS[k]["artwork"] for k in sets),
        image_shape=(3, 64, 64),
        has_labels=True,
        has_test_split=True,
        default_val_size=0,  # the emoji reader's: the validation emoji of the split rule
        folder="emoji",
        licence="; ".join(f"{k}: {EMOJI_SETS[k]['licence']}" for k in sets) + " (emoji-data's code and JSON: MIT)",
        homepage="https://github.com/iamcal/emoji-data",
    )


CATALOG.update({name: _emoji_spec(name, sets, faces) for name, (sets, faces) in EMOJI_VARIANTS.items()})

# CelebA's aligned-and-cropped images and annotations, with the MD5 checksums its authors' Google Drive files have
# (as torchvision checks them). vaelab.data.celeba reads them (the images from the zip or its extracted folder).
_GDRIVE = "https://drive.usercontent.google.com/download?export=download&confirm=t&id="
CELEBA_FILES = {
    "img_align_celeba.zip": ("0B7EVK8r0v71pZjFTYXZWM3FlRnM", "md5:00d2c5bc6d35e252742224ab0c1e8fcb", 1443490838),
    "list_attr_celeba.txt": ("0B7EVK8r0v71pblRyaVFSWGxPY0U", "md5:75e246fa4810816ffd6ee81facbd244c", 26721026),
    "list_eval_partition.txt": ("0B7EVK8r0v71pY0NSMzRuSXJEVkk", "md5:d32c9cbf5e040fd4025c592c306e6668", 2836386),
}
CATALOG["celeba"] = DatasetSpec(
    name="celeba",
    files=tuple(FileSpec(n, (Source(_GDRIVE + gid, md5),), size) for n, (gid, md5, size) in CELEBA_FILES.items()),
    description="CelebA, aligned and cropped: 202,599 celebrity face photos (178x218), centre-cropped to 148x148 "
    "and resized to 64x64 RGB; the 40 binary attributes; the official train / validation / test partition",
    citation="Z. Liu, P. Luo, X. Wang, X. Tang, Deep Learning Face Attributes in the Wild, ICCV 2015",
    image_shape=(3, 64, 64),
    has_labels=False,
    has_test_split=True,
    default_val_size=19867,
    licence="non-commercial research and educational use only (CelebA's agreement; images copyright their owners)",
    homepage="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
)


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


def search_roots(data_dir: str | Path | None = None, spec: DatasetSpec | None = None) -> list[Path]:
    """The folders searched, in order: ``data_dir``, ``$VAELAB_DATA``, the cache (``cache_dir()``), then the
    dataset's system folders (``spec.system_roots``) when ``spec`` is given."""
    roots = []
    if data_dir:
        roots.append(Path(data_dir))
    if os.environ.get("VAELAB_DATA"):
        roots.append(Path(os.environ["VAELAB_DATA"]))
    roots.append(cache_dir())
    if spec is not None:
        roots += [Path(r) for r in spec.system_roots]
    return roots


def offline() -> bool:
    """Whether downloads are off: ``$VAELAB_OFFLINE`` is 1, true or yes."""
    return os.environ.get("VAELAB_OFFLINE", "").lower() in ("1", "true", "yes")


def file_digest(path: str | Path, algorithm: str = "sha256", expected: str = "a data file") -> str:
    """Hex digest (``algorithm``: sha256, sha512 or md5) of the file at ``path``, read in 1 MiB blocks.

    Args:
        path: the file.
        algorithm: one of ``HASHES``.
        expected: what should be there, for the error messages.

    Raises:
        DatasetError: ``path`` is missing, a directory, a dangling symbolic link, unreadable (permission denied)
            or fails while being read (see ``vaelab.data.files.open_data_file``).
    """
    h = hashlib.new(algorithm)
    with open_data_file(path, expected) as fh:
        try:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read the file ({exc}); expected {expected}") from exc
    return h.hexdigest()


def sha256_of(path: str | Path, expected: str = "a data file") -> str:
    """Hex SHA-256 of the file at ``path`` (``file_digest``)."""
    return file_digest(path, "sha256", expected)


def matches(path: str | Path, checksums: set[str] | tuple[str, ...], expected: str = "a data file") -> str | None:
    """The first of ``checksums`` the file at ``path`` matches (each algorithm hashed once), else None.

    Raises:
        DatasetError: as ``file_digest``.
    """
    by_algo: dict[str, set[str]] = {}
    for c in checksums:
        algo, hexdigest = split_checksum(c)
        by_algo.setdefault(algo, set()).add(hexdigest)
    for algo in sorted(by_algo):
        digest = file_digest(path, algo, expected)
        if digest in by_algo[algo]:
            return digest if algo == "sha256" else f"{algo}:{digest}"
    return None


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
    url: str, dest: str | Path, checksum: str, size: int | None = None, progress: bool = True, timeout: float = 30.0
) -> Path:
    """Download ``url`` to ``dest`` with ``pooch.retrieve``: a temporary file in ``dest``'s folder, checksum check,
    then a move into place.

    Args:
        url: an ``http://`` or ``https://`` address.
        dest: the final path (its folder is created).
        checksum: the expected checksum of the bytes served: hex SHA-256, or ``sha512:HEX`` / ``md5:HEX``.
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
    algo, hexdigest = split_checksum(checksum)
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
            known_hash=f"{algo}:{hexdigest}",
            fname=dest.name,
            path=dest.parent,
            downloader=pooch.HTTPDownloader(progressbar=bar, timeout=timeout),
        )
    except requests.exceptions.RequestException as exc:  # before ValueError: some of these are ValueErrors too
        raise DatasetError(f"{url}: download failed ({exc})") from exc
    except ValueError as exc:  # pooch's checksum mismatch; its temporary file is already removed
        raise DatasetError(
            f"{url}: {_ALGO_NAMES[algo]} does not match the expected {hexdigest}; download discarded ({exc})"
        ) from exc
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

    Looks for ``<root>/<dataset folder>/<file>`` in each of ``search_roots(data_dir, spec)``; the first path where
    something exists decides. If nothing exists anywhere and downloads are allowed, each of ``spec.sources`` is
    tried in order (``download``) into ``cache_dir()``.

    Args:
        dataset: a key of ``CATALOG``.
        spec: the file, one of ``get_spec(dataset).files``.
        data_dir: searched first (the CLI's ``--data-dir``).
        allow_download: download a missing file; None means yes unless ``$VAELAB_OFFLINE`` is 1, true or yes.
        progress: show download progress bars.

    Returns:
        The path of a regular file whose checksum is one of ``spec.checksums``.

    Raises:
        DatasetError: a local path that is a directory, a dangling symbolic link or not readable; a local file whose
            checksum matches none of the known ones (the file is kept); a file found nowhere and not downloadable (the
            message lists the expected files with their checksums, the folders searched, each download attempt,
            and how to provide the files).
    """
    ds = get_spec(dataset)
    folder = ds.dirname
    sums = " or ".join(describe_checksum(c) for c in sorted(spec.checksums))
    expected = f"the file {spec.name} of dataset {dataset!r} ({sums})"
    for root in search_roots(data_dir, ds):
        path = root / folder / spec.name
        if probe_data_file(path, expected):
            if matches(path, spec.checksums, expected) is None:
                algos = sorted({split_checksum(c)[0] for c in spec.checksums})
                got = ", ".join(f"{_ALGO_NAMES[a]} {file_digest(path, a, expected)}" for a in algos)
                raise DatasetError(
                    f"{path}: {got} matches none of the known checksums {sorted(spec.checksums)}; "
                    "the file is corrupt or not the expected one (remove it to download it again)"
                )
            return path
    if allow_download is None:
        allow_download = not offline()
    dest = cache_dir() / folder / spec.name
    errors = []
    if allow_download:
        for source in spec.sources:
            try:
                return download(source.url, dest, source.checksum, spec.size, progress=progress)
            except DatasetError as exc:
                errors.append(str(exc))
    raise _not_found(dataset, ds, spec, data_dir, errors)


def _not_found(dataset: str, ds, spec: FileSpec, data_dir, errors: list[str]) -> DatasetError:
    """The error of a file found nowhere: the folders searched, each download attempt, the files to provide."""
    folder = ds.dirname
    roots = ", ".join(str(r / folder) for r in search_roots(data_dir, ds))
    files = "\n".join(
        f"  {f.name}  ({' or '.join(describe_checksum(c) for c in sorted(f.checksums))})" for f in ds.files
    )
    tried = ("\ndownload attempts:\n  " + "\n  ".join(errors)) if errors else "\n(downloads are off: VAELAB_OFFLINE)"
    return DatasetError(
        f"dataset {dataset!r}: file {spec.name} not found in {roots}.{tried}\n"
        f"Put these files in <DIR>/{folder}/ and pass {option('data_dir', 'DIR')} (or set VAELAB_DATA=DIR):\n{files}"
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
