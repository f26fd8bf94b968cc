"""What a dataset reader hands to ``vaelab.data.load_dataset`` (``Parts``, ``Split``: uint8 images with their
labels and attributes, for the training pool (validation at its end) and the test split), and what it returns
(``ImageDataset``, re-exported as ``vaelab.data.ImageDataset``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


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


FIXED_SPLIT_SEED = 1234  # permutation that carves test from datasets without an official test split


@dataclass
class ImageDataset:
    """A split of a dataset held in memory. It unpacks as ``images, labels = dataset`` (``len(dataset)`` is the
    number of images).

    Attributes:
        images: float32 tensor ``(N, C, H, W)``, pixels in [0, 1].
        labels: int64 tensor ``(N,)`` or None (their names, where they are not digits: ``info["classes"]``).
        name, split: where it came from.
        info: what a run records about the data beyond its name: ``classes`` (label names), ``attributes``
            (``{attribute: [value names]}``), licences and the split rule; for ``folder:`` datasets the file-list
            hash and the files left out (see ``vaelab.data.folder.load_folder``).
        attributes: per-image attributes, ``{name: int64 tensor (N,)}`` (emoji: category, subcategory,
            skin_tone, set, hair, smiling; CelebA: its 40 attributes as 0 / 1); empty for other datasets.
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    split: str
    info: dict = field(default_factory=dict)
    attributes: dict[str, torch.Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __iter__(self):  # ``images, labels = run.data("test")``
        return iter((self.images, self.labels))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def subset(self, n: int | None) -> ImageDataset:
        """The first ``n`` images (all if ``n`` is None)."""
        if n is None or n >= len(self):
            return self
        labels = None if self.labels is None else self.labels[:n]
        attributes = {k: v[:n] for k, v in self.attributes.items()}
        return ImageDataset(self.images[:n], labels, self.name, self.split, self.info, attributes)
