"""Datasets as in-memory tensors: images ``(N, C, H, W)`` float32 in [0, 1], labels ``(N,)`` int64 or None.

``load_dataset(name, split)`` with split ``train`` / ``val`` / ``test`` (``train-full`` = train + val). The
validation split is carved from the end of the training set (default: the last 10,000 MNIST images). Datasets
without an official test split (the faces) hold out a fixed, seeded 10% as test first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vaelab.core.errors import DatasetError
from vaelab.data.binarize import binarize_dynamic, binarize_static
from vaelab.data.catalog import CATALOG, DatasetSpec, get_spec, locate
from vaelab.data.files import open_data_file
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
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    split: str

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
        return ImageDataset(self.images[:n], labels, self.name, self.split)


def _read_mnist(paths: dict[str, Path]):
    def pair(img, lab):
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


def load_dataset(
    name: str,
    split: str = "train",
    data_dir: str | Path | None = None,
    val_size: int | None = None,
    limit: int | None = None,
    allow_download: bool | None = None,
) -> ImageDataset:
    """Load one split of a catalogued dataset.

    Args:
        name: a key of ``CATALOG`` (``mnist``, ``frey-face``, ``olivetti-faces``).
        split: ``train``, ``val``, ``test`` or ``train-full`` (train + val).
        data_dir: folder holding ``<name>/<files>`` (searched before ``$VAELAB_DATA`` and the cache).
        val_size: images carved from the end of the training set for validation (dataset default if None).
        limit: keep only the first ``limit`` images of the split (for quick runs and tests).

    Raises:
        DatasetError: unknown name or split, bad ``val_size``, missing or corrupt files.
    """
    spec = get_spec(name)
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {SPLITS}")
    paths = locate(name, data_dir, allow_download)
    (x_tr, y_tr), test = _READERS[name](paths)
    if test is None:  # carve a fixed test set
        perm = np.random.default_rng(_FIXED_SPLIT_SEED).permutation(len(x_tr))
        n_test = len(x_tr) // 10
        te, tr = perm[:n_test], np.sort(perm[n_test:])
        test = (x_tr[te], None if y_tr is None else y_tr[te])
        x_tr, y_tr = x_tr[tr], None if y_tr is None else y_tr[tr]
    val_size = spec.default_val_size if val_size is None else int(val_size)
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
    if limit is not None:
        x, y = x[:limit], None if y is None else y[:limit]
    images = torch.from_numpy(np.ascontiguousarray(x)).float().div_(255.0)
    labels = None if y is None else torch.from_numpy(np.asarray(y, dtype=np.int64))
    return ImageDataset(images, labels, name, split)


__all__ = [
    "CATALOG",
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
