"""Datasets as in-memory tensors: images ``(N, C, H, W)`` float32 in [0, 1], labels ``(N,)`` int64 or None.

``load_dataset(name, split)`` with split ``train`` / ``val`` / ``test`` (``train-full`` = train + val). The
validation split is carved from the end of the training set (default: the last 10,000 MNIST images). Datasets
without an official test split (the faces, ``sklearn-digits``, image folders) hold out a fixed, seeded 10% as
test first.

Dataset names: the catalogue's (``CATALOG``: ``mnist``, ``frey-face``, ``olivetti-faces``), ``sklearn-digits``
(``vaelab.data.sklearn_digits``) and ``folder:PATH`` (your own images, ``vaelab.data.folder``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vaelab.core.errors import ConfigError, DatasetError
from vaelab.data import sklearn_digits
from vaelab.data.binarize import binarize_dynamic, binarize_static
from vaelab.data.catalog import CATALOG, DatasetSpec, get_spec, locate
from vaelab.data.files import open_data_file
from vaelab.data.folder import PREFIX as FOLDER_PREFIX
from vaelab.data.folder import folder_path
from vaelab.data.idx import read_idx, read_idx_pair

SPLITS = ("train", "val", "test", "train-full")
_FIXED_SPLIT_SEED = 1234  # permutation that carves test from datasets without an official test split


@dataclass
class ImageDataset:
    """A split of a dataset held in memory.

    Attributes:
        images: float32 tensor ``(N, C, H, W)``, pixels in [0, 1].
        labels: int64 tensor ``(N,)`` or None.
        name, split: where it came from.
        info: what a run records about the data beyond its name (for ``folder:`` datasets: the class names, the
            file-list hash, the files skipped as unreadable; see ``vaelab.data.folder.load_folder``).
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    split: str
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def subset(self, n: int | None) -> ImageDataset:
        """The first ``n`` images (all if ``n`` is None)."""
        if n is None or n >= len(self):
            return self
        labels = None if self.labels is None else self.labels[:n]
        return ImageDataset(self.images[:n], labels, self.name, self.split, self.info)


def _read_mnist(paths: dict[str, Path]):
    """``(train, test)`` pairs of ``(images (N, 1, 28, 28) uint8, labels (N,))``; a pair whose files are not in
    ``paths`` is None (the test split alone needs only the two t10k files)."""

    def pair(img, lab):
        if img not in paths:
            return None
        x, y = read_idx_pair(paths[img], paths[lab])
        return x[:, None], y

    return pair("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"), pair(
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
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


def _read_frey(paths: dict[str, Path]):
    path = paths["frey_rawface.mat"]
    ff = _loadmat(path, "ff")
    if ff.shape != (560, 1965):
        raise DatasetError(f"{path}: variable 'ff' has shape {ff.shape}; expected (560, 1965)")
    x = ff.T.reshape(-1, 1, 28, 20).astype(np.uint8)
    return (x, None), None


def _read_olivetti(paths: dict[str, Path]):
    path = paths["olivettifaces.mat"]
    faces = _loadmat(path, "faces")
    if faces.shape != (4096, 400):
        raise DatasetError(f"{path}: variable 'faces' has shape {faces.shape}; expected (4096, 400)")
    # columns are images in MATLAB column-major order (as scikit-learn reads them)
    x = faces.T.reshape(400, 64, 64).transpose(0, 2, 1)[:, None].round().clip(0, 255).astype(np.uint8)
    y = np.repeat(np.arange(40), 10)
    return (x, y), None


_READERS = {"mnist": _read_mnist, "frey-face": _read_frey, "olivetti-faces": _read_olivetti}
# the files one split needs, where a dataset keeps its splits in separate files (others need all their files)
_SPLIT_FILES = {("mnist", "test"): ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
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
    if name in DATASET_NAMES:
        return name
    raise ConfigError(
        f"--dataset {name!r}: expected one of {', '.join(DATASET_NAMES)} or folder:PATH (a folder of images)"
    )


def dataset_label(name: str) -> str:
    """A short file-name-safe label of a dataset name, for default run names: ``mnist``, ``folder-<folder name>``."""
    if name.startswith(FOLDER_PREFIX):
        base = Path(name[len(FOLDER_PREFIX) :]).name or "images"
        return "folder-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "images")
    return name


def dataset_image_shape(
    name: str,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    skip_bad_images: bool = False,
) -> tuple[int, int, int]:
    """``(C, H, W)`` of the images of dataset ``name``, without loading them.

    Args:
        name: a catalogue name, ``sklearn-digits`` or ``folder:PATH``.
        image_size, channels: a folder's target ``(H, W)`` and channel count (default: its first image's).
        skip_bad_images: for a folder, look past unreadable files to the first image.

    Raises:
        ConfigError: an unknown name; a missing or empty folder.
        DatasetError: a folder's first file is not a readable image (and ``skip_bad_images`` is False).
    """
    name = check_dataset_name(name)
    if name.startswith(FOLDER_PREFIX):
        from vaelab.data.folder import probe_shape

        return probe_shape(folder_path(name), image_size, channels, skip_bad_images)
    if name == sklearn_digits.NAME:
        return sklearn_digits.IMAGE_SHAPE
    return get_spec(name).image_shape


def _carve_test(x, y, n_test: int | None = None):
    """Hold out a fixed, seeded test split: ``(train x, train y), (test x, test y)`` (10 % by default, >= 1)."""
    perm = np.random.default_rng(_FIXED_SPLIT_SEED).permutation(len(x))
    n_test = len(x) // 10 if n_test is None else n_test
    te, tr = perm[:n_test], np.sort(perm[n_test:])
    return (x[tr], None if y is None else y[tr]), (x[te], None if y is None else y[te])


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
) -> ImageDataset:
    """Load one split of a dataset.

    Args:
        name: a key of ``CATALOG`` (``mnist``, ``frey-face``, ``olivetti-faces``), ``sklearn-digits``, or
            ``folder:PATH`` (a folder of images; ``vaelab.data.folder``).
        split: ``train``, ``val``, ``test`` or ``train-full`` (train + val).
        data_dir: folder holding ``<name>/<files>`` (searched before ``$VAELAB_DATA`` and the cache).
        val_size: images carved from the end of the training set for validation (dataset default if None; for
            ``sklearn-digits`` 160, for a folder 10 % of what is left after the test split, at least 1).
        limit: keep only the first ``limit`` images of the split (for quick runs and tests).
        allow_download: download missing catalogue files (None: unless ``$VAELAB_OFFLINE``).
        image_size, channels, skip_bad_images: a folder's ``(H, W)``, channel count (1 or 3) and whether
            unreadable files are left out (``vaelab.data.folder.load_folder``); refused for other datasets.

    Returns:
        The split; ``info`` carries a folder's class names, file-list hash and skipped files.

    Raises:
        DatasetError: unknown name or split, bad ``val_size``, missing or corrupt files, an unreadable image.
        ConfigError: a missing or empty image folder; folder options given for another dataset.
    """
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {SPLITS}")
    info: dict = {}
    scale = 255.0
    if isinstance(name, str) and name.startswith(FOLDER_PREFIX):
        from vaelab.data.folder import load_folder

        x_all, y_all, info = load_folder(folder_path(name), image_size, channels, skip_bad_images)
        if len(x_all) < 3:
            raise ConfigError(
                f"--dataset {name}: {len(x_all)} readable image(s); expected at least 3 (train, validation, test)"
            )
        (x_tr, y_tr), test = _carve_test(x_all, y_all, max(1, len(x_all) // 10))
        default_val = max(1, len(x_tr) // 10)
    else:
        if image_size is not None or channels is not None:
            raise ConfigError(f"--image-size / --image-channels: only for folder:PATH datasets, not {name!r}")
        if name == sklearn_digits.NAME:
            x_all, y_all = sklearn_digits.read_digits()
            (x_tr, y_tr), test = _carve_test(x_all, y_all)
            default_val, scale = sklearn_digits.DEFAULT_VAL_SIZE, float(sklearn_digits.MAX_VALUE)
        else:
            spec = get_spec(name)
            paths = locate(name, data_dir, allow_download, files=_SPLIT_FILES.get((name, split)))
            train, test = _READERS[name](paths)
            if train is None:  # only the test split's files were read
                return _as_dataset(*test, limit, name, split, info, scale)
            (x_tr, y_tr) = train
            if test is None:  # carve a fixed test set
                (x_tr, y_tr), test = _carve_test(x_tr, y_tr)
            default_val = spec.default_val_size
    val_size = default_val if val_size is None else int(val_size)
    if not 0 <= val_size < len(x_tr):
        raise DatasetError(f"val_size={val_size} for {name}: expected 0 <= val_size < {len(x_tr)} training images")
    cut = len(x_tr) - val_size
    if split == "train":
        x, y = x_tr[:cut], None if y_tr is None else y_tr[:cut]
    elif split == "val":
        x, y = x_tr[cut:], None if y_tr is None else y_tr[cut:]
    elif split == "train-full":
        x, y = x_tr, y_tr
    else:
        x, y = test
    return _as_dataset(x, y, limit, name, split, info, scale)


def _as_dataset(x, y, limit, name, split, info, scale) -> ImageDataset:
    """uint8 (or integer) images ``x`` (N, C, H, W) and labels ``y`` (N,) or None as an ``ImageDataset`` in [0, 1]
    (divided by ``scale``), the first ``limit`` only."""
    if limit is not None:
        x, y = x[:limit], None if y is None else y[:limit]
    images = torch.from_numpy(np.ascontiguousarray(x)).float().div_(scale)
    labels = None if y is None else torch.from_numpy(np.asarray(y, dtype=np.int64))
    return ImageDataset(images, labels, name, split, info)


def load_dataset_from_config(
    dataset: dict, split: str, data_dir: str | Path | None = None, limit: int | None = None
) -> ImageDataset:
    """Load a split of the data a run was trained on, from the ``dataset`` section of its ``config.json``.

    Args:
        dataset: ``config.json``'s ``dataset`` (``name``, ``val_size``, ``limit``, ``data_dir``, and for folders
            ``image_size``, ``image_channels``, ``skip_bad_images``).
        split: as for ``load_dataset``.
        data_dir: overrides the recorded ``data_dir``.
        limit: the first N images; for the ``train`` split the run's own ``limit`` when None (the images it was
            trained on).

    Raises:
        As ``load_dataset``.
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
    )


__all__ = [
    "CATALOG",
    "DATASET_NAMES",
    "check_dataset_name",
    "dataset_image_shape",
    "dataset_label",
    "load_dataset_from_config",
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
