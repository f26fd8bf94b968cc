"""``sklearn-digits``: scikit-learn's 1,797 handwritten digits of 8x8 pixels (``sklearn.datasets.load_digits``).

The data ship inside the scikit-learn wheel (``sklearn/datasets/data/digits.csv.gz``): nothing is downloaded. It
is the test set of the UCI "Optical Recognition of Handwritten Digits" data (Alpaydin & Kaynak, 1998): 32x32
bitmaps of 43 writers, counted in 4x4 blocks, so each pixel is an integer 0..16. vaelab scales them to [0, 1]
(value / 16); labels are the digits 0-9. There is no official split: a fixed, seeded 10 % is held out as the
test split (as for the faces datasets), and validation is carved from the end of the rest.
"""

from __future__ import annotations

import numpy as np

from vaelab.core.errors import DatasetError

NAME = "sklearn-digits"
IMAGE_SHAPE = (1, 8, 8)
MAX_VALUE = 16  # pixels are counts 0..16 of a 4x4 block
DEFAULT_VAL_SIZE = 160
DESCRIPTION = (
    "scikit-learn's digits: 1,797 grey 8x8 images (pixel counts 0..16, scaled by 1/16), labels 0-9; "
    "ships with scikit-learn (no download)"
)
CITATION = (
    "E. Alpaydin, C. Kaynak, Optical Recognition of Handwritten Digits, UCI Machine Learning Repository, 1998; "
    "sklearn.datasets.load_digits"
)


def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as uint8 ``(1797, 1, 8, 8)`` counts 0..16 and int64 labels ``(1797,)``.

    Raises:
        DatasetError: scikit-learn's copy of the data cannot be read (a broken installation).
    """
    from sklearn.datasets import load_digits

    try:
        bunch = load_digits()
    except Exception as exc:  # noqa: BLE001 - a broken installation raises anything
        raise DatasetError(f"{NAME}: cannot read scikit-learn's digits ({type(exc).__name__}: {exc})") from exc
    images = np.asarray(bunch.images)
    if images.shape != (1797, 8, 8) or images.min() < 0 or images.max() > MAX_VALUE:
        raise DatasetError(f"{NAME}: scikit-learn's digits have shape {images.shape}; expected (1797, 8, 8) in 0..16")
    return images.round().astype(np.uint8)[:, None], np.asarray(bunch.target, np.int64)
