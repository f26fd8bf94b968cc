"""Image grids without torchvision: tile ``(N, C, H, W)`` images in [0, 1] into one uint8 picture (grey or RGB),
save it as a PNG, or show it as a matplotlib figure (``grid_figure``, for the Python API)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vaelab.core.io import atomic_path
from vaelab.core.paths import IMAGE_SUFFIXES, check_output_file


def make_grid(images, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Tile images into a grid, row-major.

    Args:
        images: tensor or array ``(N, C, H, W)`` (C = 1 or 3) with values in [0, 1].
        nrow: images per row.
        padding: pixels between tiles and around the border.
        pad_value: grey level of the padding in [0, 1].

    Returns:
        uint8 array ``(H', W')`` for C = 1, ``(H', W', 3)`` for C = 3. Tile ``i`` starts at row
        ``padding + (i // nrow) * (H + padding)``, column ``padding + (i % nrow) * (W + padding)``.

    Raises:
        ValueError: ``images`` is not ``(N, C, H, W)`` with C = 1 or 3.
    """
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().float().numpy()
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images of shape {images.shape}: expected (N, C, H, W) with C = 1 or 3")
    n, c, h, w = images.shape
    ncol = min(nrow, max(n, 1))
    nrows = max(1, -(-n // ncol))
    grid = np.full((c, padding + nrows * (h + padding), padding + ncol * (w + padding)), pad_value, np.float32)
    for i in range(n):
        r, col = divmod(i, ncol)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, y : y + h, x : x + w] = images[i]
    grid = (np.clip(grid, 0, 1) * 255).round().astype(np.uint8)
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def save_image(array: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    """Save a uint8 ``(H, W)`` or ``(H, W, 3)`` array as PNG, enlarged ``scale`` times (nearest neighbour); with
    ``vaelab.viz.style.COMPACT["on"]`` (``vaelab plot --compact``) colour is written as a 256-colour palette.

    Args:
        array: uint8 ``(H, W)`` (grey) or ``(H, W, 3)`` (RGB) pixels.
        path: the PNG to write (parent folders are made).
        scale: integer enlargement; 1 keeps the size.

    Returns:
        ``path`` as a ``Path``.
    """
    from PIL import Image

    from vaelab.viz.style import COMPACT  # import cost: matplotlib, which a plain PNG does not otherwise need

    path = check_output_file(path, IMAGE_SUFFIXES)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(array)
    if COMPACT["on"] and img.mode == "RGB":  # vaelab plot --compact: a 256-colour palette (grey is already 8-bit)
        img = img.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    with atomic_path(path) as tmp:  # never a half-written image (a stop mid-write)
        img.save(tmp, format=Image.registered_extensions()[path.suffix.lower()])
    return path


def save_grid(images, path: str | Path, nrow: int = 8, padding: int = 2, scale: int = 2) -> Path:
    """``make_grid`` then ``save_image``.

    Args:
        images: ``(N, C, H, W)`` in [0, 1] (tensor or array), C = 1 or 3.
        path: the PNG to write.
        nrow: images per row. padding: pixels between tiles. scale: enlargement of the saved picture.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ValueError: ``images`` is not ``(N, C, H, W)`` with C = 1 or 3.
    """
    return save_image(make_grid(images, nrow, padding), path, scale)


def grid_figure(grid: np.ndarray, title: str = "", scale: int = 2):
    """A figure showing a ``make_grid`` picture pixel for pixel (no axes), for notebooks.

    Args:
        grid: uint8 ``(H', W')`` or ``(H', W', 3)`` from ``make_grid``.
        title: the figure title (none if empty).
        scale: screen pixels per grid pixel at 100 dpi (the PNG of ``save_grid`` is enlarged 2 times too).

    Returns:
        A ``vaelab.viz.style.Figure`` whose ``axes[0].images[0].get_array()`` is ``grid``.
    """
    # import cost: matplotlib; ``vaelab sample`` / ``reconstruct`` write their PNGs through this module without it
    from vaelab.viz.style import new_figure, styled

    h, w = grid.shape[:2]
    with styled():
        fig = new_figure((max(w * scale / 100, 1.0), max(h * scale / 100, 1.0) + (0.4 if title else 0)))
        ax = fig.add_axes((0, 0, 1, h / (h + (40 / scale if title else 0))))
        ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
        ax.set_axis_off()
        if title:
            fig.suptitle(title, fontsize=11)
    return fig
