"""Datasets as in-memory tensors: images ``(N, C, H, W)`` float32 in [0, 1], labels ``(N,)`` int64 or None, and
per-image attributes (each ``(N,)`` int64) where the dataset has them.

``load_dataset(name, split)`` with split ``train`` / ``val`` / ``test`` (``train-full`` = train + val). The
validation split is carved from the end of the training set (default: the last 10,000 MNIST images; the emoji
sets' and CelebA's own validation images). Datasets without an official test split (the faces,
``sklearn-digits``, image folders) hold out a fixed, seeded 10% as test first.

Dataset names: the catalogue's (``CATALOG``: ``mnist``, ``fashion-mnist``, ``frey-face``, ``olivetti-faces``,
``emoji`` and its variants (``vaelab.data.emoji``), ``celeba`` (``vaelab.data.celeba``)), ``sklearn-digits``
(``vaelab.data.sklearn_digits``), ``folder:PATH`` (your own images, ``vaelab.data.folder``) and ``memory:<digest>``
(images given from Python as tensors, arrays or a torch Dataset, ``vaelab.data.memory``).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import torch

from vaelab.core.errors import ConfigError, DatasetError
from vaelab.core.memory import available_memory
from vaelab.core.naming import option, options
from vaelab.core.suggest import suggest
from vaelab.data import memory, sklearn_digits
from vaelab.data.arrays import FIXED_SPLIT_SEED, ImageDataset, Parts, Split
from vaelab.data.binarize import binarize_dynamic, binarize_static
from vaelab.data.catalog import CATALOG, EMOJI_VARIANTS, DatasetSpec, get_spec, locate
from vaelab.data.celeba import read_celeba
from vaelab.data.emoji import read_emoji
from vaelab.data.files import open_data_file
from vaelab.data.folder import PREFIX as FOLDER_PREFIX
from vaelab.data.folder import folder_path, load_folder, probe_shape
from vaelab.data.idx import read_idx, read_idx_pair
from vaelab.data.memory import is_memory_name

SPLITS = ("train", "val", "test", "train-full")


def _read_idx_dataset(paths: dict[str, Path]) -> Parts:
    """MNIST's four IDX files (MNIST and Fashion-MNIST); the training pool is None where its files are not in
    ``paths`` (the test split alone needs only the two t10k files)."""

    def pair(img, lab):
        if img not in paths:
            return None
        x, y = read_idx_pair(paths[img], paths[lab])
        return Split(x[:, None], y)

    return Parts(
        pair("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        pair("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    )


def _loadmat(path: Path, var: str) -> np.ndarray:
    """The variable ``var`` of the MAT file at ``path``; ``DatasetError`` for a missing, unreadable or corrupt file
    (a directory, a dangling symbolic link, permission denied, not a MAT file) or a missing variable."""
    import scipy.io

    with open_data_file(path, f"a MAT file holding the variable {var!r}") as fh:
        try:
            mat = scipy.io.loadmat(fh)
        except Exception as exc:  # scipy raises several types for corrupt files
            raise DatasetError(f"{path}: not a readable MAT file ({exc}); expected one holding {var!r}") from exc
    if var not in mat:
        raise DatasetError(f"{path}: no variable {var!r} (found {[k for k in mat if not k.startswith('__')]})")
    return np.asarray(mat[var])


def _read_frey(paths: dict[str, Path]) -> Parts:
    path = paths["frey_rawface.mat"]
    ff = _loadmat(path, "ff")
    if ff.shape != (560, 1965):
        raise DatasetError(f"{path}: variable 'ff' has shape {ff.shape}; expected (560, 1965)")
    return Parts(Split(ff.T.reshape(-1, 1, 28, 20).astype(np.uint8)))


def _read_olivetti(paths: dict[str, Path]) -> Parts:
    path = paths["olivettifaces.mat"]
    faces = _loadmat(path, "faces")
    if faces.shape != (4096, 400):
        raise DatasetError(f"{path}: variable 'faces' has shape {faces.shape}; expected (4096, 400)")
    # columns are images in MATLAB column-major order (as scikit-learn reads them)
    x = faces.T.reshape(400, 64, 64).transpose(0, 2, 1)[:, None].round().clip(0, 255).astype(np.uint8)
    return Parts(Split(x, np.repeat(np.arange(40), 10)))


_READERS = {
    "mnist": _read_idx_dataset,
    "fashion-mnist": _read_idx_dataset,
    "frey-face": _read_frey,
    "olivetti-faces": _read_olivetti,
}
# the files one split needs, where a dataset keeps its splits in separate files (others need all their files)
_SPLIT_FILES = {
    (name, "test"): ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz") for name in ("mnist", "fashion-mnist")
}
RESIZABLE = (*EMOJI_VARIANTS, "celeba")
"""Named datasets that take an ``image_size`` (besides ``folder:PATH``): resized from 64x64 (emoji) or from the
148x148 centre crop (CelebA)."""
DATASET_NAMES = (*sorted(CATALOG), sklearn_digits.NAME)
"""The named datasets; ``folder:PATH`` names a folder of images besides these."""


def check_dataset_name(name: str) -> str:
    """``name`` if it names a dataset (``folder:PATH`` with PATH made absolute), else ``ConfigError``.

    Args:
        name: a catalogue name, ``sklearn-digits`` or ``folder:PATH``.

    Returns:
        The name; for a folder, ``folder:`` and the absolute path (``~`` expanded), so the run finds it from any
        working directory.

    Raises:
        ConfigError: any other name (the message lists the accepted ones).
    """
    if isinstance(name, str) and name.startswith(FOLDER_PREFIX):
        return FOLDER_PREFIX + str(folder_path(name))
    if name in DATASET_NAMES or (is_memory_name(name) and len(name) > len("memory:")):
        return name
    raise ConfigError(
        f"{option('dataset', name)}: expected one of {', '.join(DATASET_NAMES)} or folder:PATH (a folder of images)"
        + suggest(name, DATASET_NAMES)
    )


def public_dataset_name(name: str) -> str:
    """The name of a dataset as it may be published (the explorer's ``meta.json`` and site, a model card for the
    Hub): ``folder:NAME`` for an image folder, NAME being the folder's base name, so that no absolute path (your
    user name, your folder layout) leaves the machine; any other name unchanged (``mnist``, ``fashion-mnist``,
    ``frey-face``, ``sklearn-digits``, ``memory:<digest>``, ...).

    Only for what is shown to others: training, resuming and evaluating read the recorded ``folder:PATH``.

    Args:
        name: a dataset name as recorded in a run's ``config.json`` (None is returned as it is).

    Returns:
        ``folder:NAME`` for ``folder:PATH`` (``folder:images`` for a path without a base name, such as ``/``),
        else ``name``.
    """
    if isinstance(name, str) and name.startswith(FOLDER_PREFIX):
        path = name[len(FOLDER_PREFIX) :].replace("\\", "/").rstrip("/")
        return FOLDER_PREFIX + (path.rsplit("/", 1)[-1] or "images")
    return name


def takes_image_size(name: str) -> bool:
    """Whether dataset ``name`` accepts an ``image_size`` (``folder:PATH``, the emoji sets, CelebA)."""
    return isinstance(name, str) and (name.startswith(FOLDER_PREFIX) or name in RESIZABLE)


def dataset_label(name: str) -> str:
    """A short file-name-safe label of a dataset name, for default run names: ``mnist``, ``folder-<folder name>``."""
    if name.startswith(FOLDER_PREFIX):
        base = Path(name[len(FOLDER_PREFIX) :]).name or "images"
        return "folder-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "images")
    if is_memory_name(name):
        return "memory-" + re.sub(r"[^A-Za-z0-9]+", "", name.split(":", 1)[1])[:8]
    return name


def dataset_image_shape(
    name: str,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    skip_bad_images: bool = False,
    strict_data: bool = False,
) -> tuple[int, int, int]:
    """``(C, H, W)`` of the images of dataset ``name``, without loading them.

    Args:
        name: a catalogue name, ``sklearn-digits`` or ``folder:PATH``.
        image_size: a folder's, the emoji sets' or CelebA's target ``(H, W)`` (default: a folder's first image's,
            64x64 for the others).
        channels: a folder's channel count (default: its first image's).
        skip_bad_images: for a folder, look past unreadable files to the first image.
        strict_data: for a folder, refuse symbolic-link loops and unreadable files or folders.

    Raises:
        ConfigError: an unknown name; a missing or empty folder.
        DatasetError: a folder's first file is not a readable image (and ``skip_bad_images`` is False).
    """
    name = check_dataset_name(name)
    if name.startswith(FOLDER_PREFIX):
        return probe_shape(folder_path(name), image_size, channels, skip_bad_images, strict_data)
    if name == sklearn_digits.NAME:
        return sklearn_digits.IMAGE_SHAPE
    if is_memory_name(name):
        return memory.image_shape(name)
    shape = get_spec(name).image_shape
    if image_size is not None and name in RESIZABLE:
        return (shape[0], int(image_size[0]), int(image_size[1]))
    return shape


def _carve(split: Split, n_test: int | None = None) -> tuple[Split, Split]:
    """Hold out a fixed, seeded test split (10 % by default): ``(train, test)``; attributes follow their images."""
    perm = np.random.default_rng(FIXED_SPLIT_SEED).permutation(len(split))
    n_test = len(split) // 10 if n_test is None else n_test
    return split.take(np.sort(perm[n_test:])), split.take(perm[:n_test])


def _read(name: str, split, data_dir, allow_download, image_size, channels, skip_bad_images, strict_data) -> Parts:
    """The dataset's ``Parts`` from its reader (the test split carved where there is no official one; for the
    test split of a dataset in ``_SPLIT_FILES``, only its files are read and the training pool is None)."""
    if isinstance(name, str) and name.startswith(FOLDER_PREFIX):
        x, y, info = load_folder(folder_path(name), image_size, channels, skip_bad_images, strict=strict_data)
        if len(x) < 3:
            raise ConfigError(
                f"{option('dataset', name)}: {len(x)} readable image(s); expected at least 3 (train, validation, test)"
            )
        train, test = _carve(Split(x, y), max(1, len(x) // 10))
        return Parts(train, test, max(1, len(train) // 10), info)
    given = [k for k, v in (("image_channels", channels), ("skip_bad_images", skip_bad_images)) if v]
    given += ["strict_data"] if strict_data else []
    if image_size is not None and name not in RESIZABLE:
        given.insert(0, "image_size")
    if given:
        raise ConfigError(
            f"{options(*given)}: only for folder:PATH datasets ({option('image_size')} also for emoji* and "
            f"celeba), not {name!r}"
        )
    if name == sklearn_digits.NAME:
        x, y = sklearn_digits.read_digits()
        train, test = _carve(Split(x, y))
        return Parts(train, test, sklearn_digits.DEFAULT_VAL_SIZE, scale=float(sklearn_digits.MAX_VALUE))
    spec = get_spec(name)
    if name in EMOJI_VARIANTS:
        parts = read_emoji(name, data_dir, allow_download, image_size)
    elif name == "celeba":
        parts = read_celeba(data_dir, allow_download, image_size)
    else:
        parts = _READERS[name](locate(name, data_dir, allow_download, files=_SPLIT_FILES.get((name, split))))
    if parts.test is None:  # carve a fixed test set
        parts.train, parts.test = _carve(parts.train)
    if spec.classes is not None:
        parts.info.setdefault("classes", list(spec.classes))
    parts.info.setdefault("licence", spec.licence)
    return parts


def _pick(parts: Parts, split: str, val_size: int | None, name: str) -> Split:
    pool = parts.train
    if pool is None:  # only the test split's files were read
        return parts.test
    default = parts.val_size if parts.val_size is not None else get_spec(name).default_val_size
    val_size = default if val_size is None else int(val_size)
    if not 0 <= val_size < len(pool):
        raise ConfigError(
            f"{option('val_size', val_size)} for {name}: expected 0 <= {option('val_size')} < {len(pool)}, the "
            "training images"
        )
    cut = len(pool) - val_size
    if split == "train":
        return pool.take(slice(0, cut))
    if split == "val":
        return pool.take(slice(cut, None))
    return pool if split == "train-full" else parts.test


def _to_dataset(part: Split, parts: Parts, name: str, split: str, limit: int | None) -> ImageDataset:
    if limit is not None:
        part = part.take(slice(0, limit))
    need = int(np.prod(part.x.shape)) * 4
    avail = available_memory()
    if avail is not None and need > avail:
        raise DatasetError(
            f"dataset {name!r} split {split}: {len(part)} images need {need / 2**30:.1f} GiB as float32 but "
            f"{avail / 2**30:.1f} GiB is available; pass {option('limit')} N or a smaller {option('image_size')}"
        )
    x = np.ascontiguousarray(part.x)
    x = x if x.flags.writeable else np.array(x)  # a read-only memory map (CelebA's decoded images)
    images = torch.from_numpy(x).float().div_(parts.scale)
    labels = None if part.y is None else torch.from_numpy(np.array(part.y, dtype=np.int64))  # copies: a reader
    attributes = {k: torch.from_numpy(np.array(v, dtype=np.int64)) for k, v in part.attrs.items()}  # may keep them
    return ImageDataset(images, labels, name, split, copy.deepcopy(parts.info), attributes)


def load_dataset(
    name: str,
    split: str = "train",
    data_dir: str | Path | None = None,
    val_size: int | None = None,
    limit: int | None = None,
    allow_download: bool | None = None,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    skip_bad_images: bool = False,
    strict_data: bool = False,
) -> ImageDataset:
    """Load one split of a dataset.

    Args:
        name: a key of ``CATALOG`` (``mnist``, ``fashion-mnist``, ``frey-face``, ``olivetti-faces``, ``emoji``,
            ``emoji-faces`` and the one-set variants, ``celeba``), ``sklearn-digits``, or ``folder:PATH`` (a folder
            of images; ``vaelab.data.folder``).
        split: ``train``, ``val``, ``test`` or ``train-full`` (train + val).
        data_dir: folder holding ``<name>/<files>`` (searched before ``$VAELAB_DATA`` and the cache).
        val_size: images carved from the end of the training set for validation (dataset default if None; for
            ``sklearn-digits`` 160, for a folder 10 % of what is left after the test split, at least 1).
        limit: keep only the first ``limit`` images of the split (for quick runs and tests).
        allow_download: download missing catalogue files (None: unless ``$VAELAB_OFFLINE``).
        image_size: ``(H, W)`` for a folder, the emoji sets (default 64x64) and CelebA (default 64x64).
        channels, skip_bad_images, strict_data: a folder's channel count (1 or 3), whether files that are not
            readable images are left out, and whether link loops and unreadable files or folders are refused
            (``vaelab.data.folder.load_folder``); refused for other datasets.

    Returns:
        The split; ``info`` carries class and attribute value names, licences, a folder's file-list hash and the
        files it left out; ``attributes`` the per-image attributes.

    Raises:
        DatasetError: unknown name or split, bad ``val_size``, missing or corrupt files, an unreadable image, a
            split that does not fit in memory.
        ConfigError: a missing or empty image folder; folder options given for another dataset.
    """
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {SPLITS}")
    if is_memory_name(name):  # fixed splits, given from Python (vaelab.data.memory)
        return memory.lookup(name, split).subset(limit)
    parts = _read(name, split, data_dir, allow_download, image_size, channels, skip_bad_images, strict_data)
    return _to_dataset(_pick(parts, split, val_size, name), parts, name, split, limit)


def load_dataset_from_config(
    dataset: dict, split: str, data_dir: str | Path | None = None, limit: int | None = None
) -> ImageDataset:
    """Load a split of the data a run was trained on, from the ``dataset`` section of its ``config.json``.

    Args:
        dataset: ``config.json``'s ``dataset`` (``name``, ``val_size``, ``limit``, ``data_dir``, ``image_size``,
            and for folders ``image_channels``, ``skip_bad_images``, ``strict_data``).
        split: as for ``load_dataset``.
        data_dir: overrides the recorded ``data_dir``.
        limit: the first N images; for the ``train`` split the run's own ``limit`` when None (the images it was
            trained on).

    Raises:
        DatasetError: as ``load_dataset``: unknown split, missing or corrupt files, an unreadable image.
        ConfigError: as ``load_dataset``: a missing or empty image folder.
    """
    if split == "train" and limit is None:
        limit = dataset.get("limit")
    size = dataset.get("image_size")
    return load_dataset(
        dataset["name"],
        split,
        data_dir or dataset.get("data_dir"),
        val_size=dataset.get("val_size"),
        limit=limit,
        image_size=None if size is None else tuple(size),
        channels=dataset.get("image_channels"),
        skip_bad_images=bool(dataset.get("skip_bad_images", False)),
        strict_data=bool(dataset.get("strict_data", False)),
    )


__all__ = [
    "CATALOG",
    "DATASET_NAMES",
    "check_dataset_name",
    "dataset_image_shape",
    "dataset_label",
    "load_dataset_from_config",
    "public_dataset_name",
    "takes_image_size",
    "DatasetSpec",
    "ImageDataset",
    "SPLITS",
    "binarize_dynamic",
    "binarize_static",
    "get_spec",
    "load_dataset",
    "locate",
    "read_idx",
]
