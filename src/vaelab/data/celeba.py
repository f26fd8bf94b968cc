"""``celeba``: CelebA's aligned and cropped face photos at 64x64 with their 40 attributes (Liu et al., ICCV 2015).

Files, in ``<root>/celeba/`` of a data root (``--data-dir``, ``$VAELAB_DATA``, the cache; torchvision's layout):

* ``list_attr_celeba.txt`` (the 40 binary attributes, -1 / 1) and ``list_eval_partition.txt`` (0 train,
  1 validation, 2 test), each checked against the MD5 its authors' files have (``catalog.CELEBA_FILES``);
* the images: the folder ``img_align_celeba/`` (202,599 JPEGs of 178x218, ``000001.jpg`` ...) or the zip
  ``img_align_celeba.zip`` (MD5-checked; read in place, nothing extracted).

Where none is found and downloads are allowed, the three files are fetched from the authors' Google Drive (which
often refuses with a quota; then download them by hand from the CelebA page). Offline without the files: one line
saying what to put where.

Preprocessing (``vaelab.data.images.prepare``), as in the VAE papers and code on CelebA that use a 64x64 crop
(e.g. the conv VAEs of PyTorch-VAE, A. K. Subramanian 2020): the centre 148x148 pixels (rows 35-182, columns
15-162 of the 218x178 photo, torchvision's ``CenterCrop(148)``), resized to 64x64 with Pillow's antialiased
bilinear filter (``Resize(64)``). Another ``image_size`` resizes the same crop.

Labels: none (``labels`` is None); ``attributes`` holds the 40 attributes as 0 / 1 (``info["attributes"]``
names them: 5_o_Clock_Shadow ... Young). The split is the official partition (train 162,770; validation 19,867
at the end of ``train-full``; test 19,962).

The decoded images are kept in ``<cache>/celeba/`` as an uncompressed ``.npy`` (2.5 GB for all images at 64x64)
read back memory-mapped, so a split or ``--limit`` only reads what it uses.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from vaelab.core.errors import DatasetError
from vaelab.core.naming import option
from vaelab.data.arrays import Parts, Split
from vaelab.data.catalog import cache_dir, get_spec, locate_file, offline, search_roots
from vaelab.data.files import open_data_file
from vaelab.data.images import decode_file

NAME = "celeba"
FOLDER = "celeba"
IMAGES = "img_align_celeba"
ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
CROP = (148, 148)
IMAGE_SIZE = (64, 64)
N_ATTRIBUTES = 40
MAX_JPEG_BYTES = 1 << 20
CACHE_FORMAT = 1
PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"


def _lines(path: Path, what: str) -> list[str]:
    with open_data_file(path, what) as fh:
        try:
            return fh.read().decode("ascii").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: cannot read the file ({exc}); expected {what}") from exc


def read_attributes(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """``list_attr_celeba.txt``: the image names, the 40 attribute names and int64 ``(N, 40)`` values 0 / 1.

    Raises:
        DatasetError: not in the file's format (a count, the 40 names, then ``NAME v1 ... v40`` with v = -1 or 1).
    """
    what = "CelebA's list_attr_celeba.txt (a count, 40 attribute names, then one line per image)"
    lines = _lines(path, what)
    try:
        n = int(lines[0])
        names = lines[1].split()
        rows = [line.split() for line in lines[2 : 2 + n]]
        if len(names) != N_ATTRIBUTES or len(rows) != n or any(len(r) != N_ATTRIBUTES + 1 for r in rows):
            raise ValueError(f"{len(names)} names, {len(rows)} of {n} rows")
        values = np.asarray([[int(v) for v in r[1:]] for r in rows], np.int64)
        if not np.isin(values, (-1, 1)).all():
            raise ValueError("values other than -1 and 1")
    except (ValueError, IndexError) as exc:
        raise DatasetError(f"{path}: not in the expected format ({exc}); expected {what}") from exc
    return [r[0] for r in rows], names, (values > 0).astype(np.int64)


def read_partition(path: Path, images: list[str]) -> np.ndarray:
    """``list_eval_partition.txt``: int64 ``(N,)`` 0 train / 1 validation / 2 test, in the order of ``images``.

    Raises:
        DatasetError: not ``NAME k`` lines with k in 0..2, or not the same images as the attribute file.
    """
    what = "CelebA's list_eval_partition.txt (lines 'NAME k', k = 0 train, 1 validation, 2 test)"
    rows = [line.split() for line in _lines(path, what) if line.strip()]
    try:
        part = {r[0]: int(r[1]) for r in rows}
        if any(len(r) != 2 for r in rows) or not set(part.values()) <= {0, 1, 2}:
            raise ValueError("lines other than 'NAME k', k in 0..2")
    except (ValueError, IndexError) as exc:
        raise DatasetError(f"{path}: not in the expected format ({exc}); expected {what}") from exc
    missing = [n for n in images if n not in part]
    if missing or len(part) != len(images):
        raise DatasetError(
            f"{path}: lists {len(part)} images, the attribute file {len(images)}"
            + (f" (e.g. no {missing[0]})" if missing else "")
            + "; expected the same images in both"
        )
    return np.asarray([part[n] for n in images], np.int64)


def _missing_line(roots: list[Path], missing: list[str]) -> str:
    where = ", ".join(str(r / FOLDER) for r in roots)
    return (
        f"dataset 'celeba': {', '.join(missing)} not found in {where}"
        + (" and downloads are off (VAELAB_OFFLINE)" if offline() else "")
        + f"; download the aligned-and-cropped images and the Anno/Eval files from {PAGE}, put "
        f"{ATTR_FILE}, {PARTITION_FILE} and {IMAGES}/ (or {IMAGES}.zip) in DIR/{FOLDER}/ and pass "
        f"{option('data_dir', 'DIR')} "
        "(the files are MD5-checked against the official checksums)"
    )


def locate_celeba(data_dir=None, allow_download: bool | None = None, progress: bool = True) -> dict[str, Path]:
    """The checked annotation files and the images (``{"attr", "partition", "images"}``; images: the folder
    ``img_align_celeba/`` or the zip), looked up in ``<root>/celeba/`` of each data root.

    Raises:
        DatasetError: an annotation file or the zip with another MD5 than the official one (one line); files
            missing and downloads off or failing (one line saying what to provide).
    """
    roots = search_roots(data_dir)
    spec = get_spec(NAME)
    files = {f.name: f for f in spec.files}
    found = {n: any((r / FOLDER / n).exists() for r in roots) for n in files}
    folder = next((r / FOLDER / IMAGES for r in roots if (r / FOLDER / IMAGES).is_dir()), None)
    missing = [n for n in (ATTR_FILE, PARTITION_FILE) if not found[n]]
    if folder is None and not found[f"{IMAGES}.zip"]:
        missing.append(f"{IMAGES}/ (or {IMAGES}.zip)")
    if missing and (offline() if allow_download is None else not allow_download):
        raise DatasetError(_missing_line(roots, missing))
    try:
        out = {
            "attr": locate_file(NAME, files[ATTR_FILE], data_dir, allow_download, progress),
            "partition": locate_file(NAME, files[PARTITION_FILE], data_dir, allow_download, progress),
        }
        out["images"] = folder or locate_file(NAME, files[f"{IMAGES}.zip"], data_dir, allow_download, progress)
    except DatasetError as exc:
        if "not found in" in str(exc):  # the downloads failed: say what to provide, in one line
            raise DatasetError(_missing_line(roots, missing) + " (the download failed)") from exc
        raise
    return out


class _Reader:
    """Reads one JPEG's bytes by name from the folder or the zip (never extracting anything)."""

    def __init__(self, source: Path):
        self.source = source
        self.zip = None
        if source.is_file():
            try:
                self.zip = zipfile.ZipFile(source)
            except (zipfile.BadZipFile, OSError) as exc:
                raise DatasetError(f"{source}: not a readable zip ({exc}); expected {IMAGES}.zip") from exc

    def open(self, name: str):
        import io

        if self.zip is None:
            return self.source / name
        member = f"{IMAGES}/{name}"
        try:
            info = self.zip.getinfo(member)
            if info.file_size > MAX_JPEG_BYTES:
                raise DatasetError(f"{self.source}: {member} holds {info.file_size} bytes; expected a small JPEG")
            return io.BytesIO(self.zip.read(info))
        except KeyError as exc:
            raise DatasetError(f"{self.source}: no member {member}; expected CelebA's {IMAGES}.zip") from exc
        except (zipfile.BadZipFile, OSError) as exc:
            raise DatasetError(f"{self.source}: cannot read {member} ({exc})") from exc

    def close(self):
        if self.zip is not None:
            self.zip.close()


def _decode_all(source: Path, names: list[str], size: tuple[int, int], dest: Path, progress: bool) -> None:
    """Decode every image into the ``.npy`` at ``dest`` (written through a memory map, then moved into place)."""
    from tqdm.auto import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(names), 3, *size))
    reader = _Reader(source)
    try:
        for i, name in enumerate(tqdm(names, desc="decoding CelebA", unit="img", disable=not progress, leave=False)):
            try:
                out[i] = decode_file(reader.open(name), size, 3, CROP)
            except (OSError, ValueError, SyntaxError, EOFError) as exc:
                where = source / name if reader.zip is None else f"{source}: {IMAGES}/{name}"
                raise DatasetError(
                    f"{where}: not a readable CelebA image ({exc}); expected a 178x218 JPEG of {IMAGES}"
                ) from exc
        out.flush()
        del out
        tmp.replace(dest)
    finally:
        reader.close()
        tmp.unlink(missing_ok=True)


def decoded_images(source: Path, names: list[str], size: tuple[int, int], progress: bool = True) -> np.ndarray:
    """All images, uint8 ``(N, 3, H, W)``, memory-mapped from ``<cache>/celeba/`` (decoded on first use).

    Raises:
        DatasetError: an image is missing or not a readable JPEG (names it); the cache cannot be written.
    """
    key = hashlib.sha256(
        json.dumps([CACHE_FORMAT, list(size), list(CROP), names]).encode()  # same images, size and crop
    ).hexdigest()[:20]
    dest = cache_dir() / FOLDER / f"aligned-{size[0]}x{size[1]}-crop{CROP[0]}-{key}.npy"
    if dest.is_file():
        try:
            x = np.load(dest, mmap_mode="r")
            if x.shape == (len(names), 3, *size) and x.dtype == np.uint8:
                return x
        except (OSError, ValueError):
            pass
    try:
        _decode_all(source, names, size, dest, progress)
    except OSError as exc:
        raise DatasetError(f"{dest}: cannot write the decoded images ({exc}); free some space in the cache") from exc
    return np.load(dest, mmap_mode="r")


def _slice(index: np.ndarray):
    """A slice for consecutive positions (memory maps stay lazy), else the positions."""
    if len(index) and (np.diff(index) == 1).all():
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def read_celeba(data_dir=None, allow_download=None, image_size=None, progress: bool = True) -> Parts:
    """CelebA (module docstring): images ``(N, 3, H, W)`` uint8 memory-mapped, the 40 attributes, the official
    partition (validation at the end of the training pool).

    Raises:
        DatasetError: see ``locate_celeba``, ``read_attributes``, ``read_partition``, ``decoded_images``.
    """
    size = tuple(int(v) for v in (image_size or IMAGE_SIZE))
    paths = locate_celeba(data_dir, allow_download, progress)
    names, attr_names, values = read_attributes(paths["attr"])
    part = read_partition(paths["partition"], names)
    x = decoded_images(paths["images"], names, size, progress)
    full = Split(x, None, {a: values[:, j] for j, a in enumerate(attr_names)})
    pool = np.concatenate([np.flatnonzero(part == 0), np.flatnonzero(part == 1)])
    info = {
        "attributes": {a: ["no", "yes"] for a in attr_names},
        "crop": list(CROP),
        "split_rule": f"official partition ({PARTITION_FILE}): 0 train, 1 validation, 2 test",
    }
    return Parts(full.take(_slice(pool)), full.take(_slice(np.flatnonzero(part == 2))), int((part == 1).sum()), info)
