"""MNIST-style preprocessing of a drawing (the Python reference of the explorer page's JavaScript).

LeCun, Cortes & Burges describe how MNIST digits were made: "the images were size normalized to fit in a 20x20
pixel box while preserving their aspect ratio [...] the images were centered in a 28x28 image by computing the
center of mass of the pixels, and translating the image so as to position this point at the center of the
28x28 field." ``mnist_style`` does the same to a drawn grey image:

1. bounding box of the pixels > ``threshold``;
2. the box is resampled by area averaging (each output pixel is the mean of the input area it covers) to
   ``round(h * s) x round(w * s)`` with ``s = 20 / max(h, w)``;
3. the result is pasted into a 28x28 field with an integer shift that puts its centre of mass (pixel centres
   at integer indices) nearest to the field's centre, (13.5, 13.5); pixels shifted outside are dropped.

``app.js`` (``mnistStyle``) implements exactly these steps in float64; the browser tests compare the two on the
page's own canvas pixels.
"""

from __future__ import annotations

import math

import numpy as np

FIELD = 28
BOX = 20


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` matrix: row i holds the overlap of output cell i with each input cell, rows sum to 1."""
    scale = n_in / n_out
    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        a, b = i * scale, (i + 1) * scale
        for j in range(int(math.floor(a)), min(n_in, int(math.ceil(b)))):
            w[i, j] = min(b, j + 1) - max(a, j)
    return w / w.sum(1, keepdims=True)


def mnist_style(gray: np.ndarray, threshold: float = 0.0, field: int = FIELD, box: int = BOX) -> np.ndarray:
    """Turn a drawing into an MNIST-like input.

    Args:
        gray: ``(H, W)`` array, ink in [0, 1] (0 = background), e.g. a 280x280 canvas's red channel / 255.
        threshold: pixels above it count for the bounding box.
        field: side of the output image, pixels (MNIST: 28).
        box: side of the box the drawing is scaled to fit, pixels (MNIST: 20).

    Returns:
        float32 ``(field, field)`` in [0, 1]; all zeros for an empty drawing.

    Raises:
        ValueError: ``gray`` is not 2-D.
    """
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2:
        raise ValueError(f"gray of shape {gray.shape}: expected (H, W)")
    out = np.zeros((field, field))
    rows = np.flatnonzero((gray > threshold).any(1))
    cols = np.flatnonzero((gray > threshold).any(0))
    if len(rows) == 0:
        return out.astype(np.float32)
    crop = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    s = box / max(h, w)
    nh, nw = max(1, min(box, math.floor(h * s + 0.5))), max(1, min(box, math.floor(w * s + 0.5)))
    small = _area_weights(h, nh) @ crop @ _area_weights(w, nw).T
    mass = small.sum()
    if mass <= 0:
        return out.astype(np.float32)
    cy = (small.sum(1) * np.arange(nh)).sum() / mass
    cx = (small.sum(0) * np.arange(nw)).sum() / mass
    centre = (field - 1) / 2
    oy, ox = math.floor(centre - cy + 0.5), math.floor(centre - cx + 0.5)
    for i in range(nh):
        y = i + oy
        if 0 <= y < field:
            for j in range(nw):
                x = j + ox
                if 0 <= x < field:
                    out[y, x] = small[i, j]
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def canvas_gray(rgba: np.ndarray | list, height: int, width: int) -> np.ndarray:
    """The ink of a white-on-black canvas from its ``getImageData`` bytes (RGBA, row-major): red / 255.

    Args:
        rgba: ``height * width * 4`` bytes (array or list of 0..255), row-major RGBA as ``ImageData.data``.
        height, width: the canvas size, pixels.

    Returns:
        float64 ``(height, width)`` ink in [0, 1], the input of ``mnist_style``.

    Raises:
        ValueError: ``rgba`` does not hold ``height * width * 4`` values.
    """
    arr = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)
    return arr[..., 0].astype(np.float64) / 255.0
