"""The Python reference of the explorer's MNIST-style preprocessing (vaelab.export.preprocess.mnist_style).

The page's JavaScript is compared with this reference on the same strokes in test_explorer_browser.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from vaelab.data import load_dataset
from vaelab.export.preprocess import canvas_gray, mnist_style


@pytest.fixture(scope="module")
def mnist_test(data_dir):
    return load_dataset("mnist", "test", data_dir, limit=200)


def _com(img):
    return np.array(ndimage.center_of_mass(img))


def test_empty_drawing_gives_zeros():
    out = mnist_style(np.zeros((280, 280)))
    assert out.shape == (28, 28) and out.dtype == np.float32 and not out.any()


def test_box_aspect_and_centre_of_mass():
    gray = np.zeros((280, 280))
    gray[30:230, 100:140] = 1.0  # a 200 x 40 bar -> 20 x 4 box
    out = mnist_style(gray)
    rows, cols = np.flatnonzero(out.any(1)), np.flatnonzero(out.any(0))
    assert len(rows) == 20 and len(cols) == 4
    assert np.allclose(out[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 1.0)
    assert np.all(np.abs(_com(out) - 13.5) <= 0.5)


def test_area_averaging_keeps_mean_ink():
    rng = np.random.default_rng(0)
    gray = np.zeros((280, 280))
    gray[50:250, 60:160] = rng.random((200, 100))  # box 200 x 100 -> 20 x 10, factor exactly 10
    out = mnist_style(gray)
    crop = gray[50:250, 60:160]
    expected = crop.reshape(20, 10, 10, 10).mean(axis=(1, 3))
    rows, cols = np.flatnonzero(out.any(1)), np.flatnonzero(out.any(0))
    assert np.allclose(out[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], expected, atol=1e-6)


def test_translation_and_scale_invariance():
    img = np.zeros((28, 28))
    img[6:22, 10:14] = 1.0
    img[6:9, 10:20] = 1.0  # a '7'-like shape
    big = np.kron(img, np.ones((5, 5)))  # 140 x 140
    a, b = np.zeros((280, 280)), np.zeros((280, 280))
    a[:140, :140] = big
    b[120:260, 100:240] = big
    assert np.array_equal(mnist_style(a), mnist_style(b))


def test_reproduces_mnist_digits(mnist_test):
    """MNIST digits are already in this form: drawn 10x larger, they come back within a one-pixel shift."""
    n_exact = 0
    for img in mnist_test.images[:, 0].numpy().astype(np.float64):
        big = np.zeros((280, 280))
        big[:] = np.kron(img, np.ones((10, 10)))
        out = mnist_style(big)
        best = min(np.abs(out - np.roll(np.roll(img, dy, 0), dx, 1)).max() for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        rows, cols = np.flatnonzero(img.any(1)), np.flatnonzero(img.any(0))
        if max(len(rows), len(cols)) == 20:  # digits whose box is exactly 20 px keep their scale
            n_exact += 1
            assert best < 1e-5
        assert abs(out.sum() - img.sum()) / img.sum() < 0.35
        assert np.all(np.abs(_com(out) - 13.5) <= 0.5 + 1e-9)
    assert n_exact > 100


def test_canvas_gray_reads_red_channel():
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[1, 2, :3] = 255
    rgba[0, 0, 0] = 51
    g = canvas_gray(rgba.ravel().tolist(), 2, 3)
    assert g.shape == (2, 3) and g[1, 2] == 1.0 and g[0, 0] == pytest.approx(0.2) and g.sum() == pytest.approx(1.2)


def test_rejects_wrong_rank():
    with pytest.raises(ValueError, match="expected"):
        mnist_style(np.zeros((2, 28, 28)))
