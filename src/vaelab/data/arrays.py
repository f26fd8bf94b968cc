"""What a dataset reader hands to ``vaelab.data.load_dataset``: uint8 images with their labels and attributes,
for the training pool (validation at its end) and the test split."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Split:
    """Images of one split with what is known about each.

    Attributes:
        x: uint8 ``(N, C, H, W)`` (or another integer type with ``Parts.scale`` as its maximum).
        y: int64 ``(N,)`` labels, or None.
        attrs: per-image attributes, each int64 ``(N,)`` (value names in the dataset's ``info["attributes"]``).
    """

    x: np.ndarray
    y: np.ndarray | None = None
    attrs: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.x)

    def take(self, index) -> Split:
        """The images at ``index`` (a slice, or an array or list of positions), in that order."""
        if isinstance(index, list):
            index = np.asarray(index, np.int64)
        return Split(
            self.x[index],
            None if self.y is None else self.y[index],
            {k: v[index] for k, v in self.attrs.items()},
        )


@dataclass
class Parts:
    """A dataset as its reader gives it.

    Attributes:
        train: the training pool (``train-full``): training images, then the validation images at its end; None
            when only the test split was read.
        test: the official test split, or None (``load_dataset`` then holds out a fixed, seeded 10 %).
        val_size: the reader's default validation size (None: the catalogue's ``default_val_size``).
        info: what a run records about the data (class and attribute value names, licences, the split rule).
        scale: the pixel value that maps to 1.0 (255 for 8-bit images).
    """

    train: Split | None
    test: Split | None = None
    val_size: int | None = None
    info: dict = field(default_factory=dict)
    scale: float = 255.0
