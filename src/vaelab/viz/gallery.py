"""The core's two image grids as arrays: prior samples and test images above their reconstructions.

The same pictures as ``vaelab sample`` and ``vaelab reconstruct`` (``vaelab.viz.grids.make_grid`` layout),
for ``vaelab plot RUN samples|reconstructions`` and the report.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from vaelab.core.memory import check_fits_in_memory
from vaelab.core.naming import option
from vaelab.viz.grids import make_grid, save_grid


def check_samples_fit(model, n: int, name: str = "n") -> None:
    """Refuse ``n`` prior samples whose codes, decoded images and grid cannot fit in memory, before any is drawn
    (one line naming the option: ``-n 100000000`` / ``n=100000000``)."""
    pixels = int(math.prod(model.image_shape))  # float32 images, their grid (float, then uint8, enlarged): ~4 copies
    shape = "x".join(map(str, model.image_shape))
    check_fits_in_memory(
        int(n) * (4 * model.latent_dim + 16 * pixels),
        option(name, n, flag="-n" if name == "n" else None),
        f"{n:,} images of {shape}",
    )


@torch.no_grad()
def sample_grid(model, n: int = 64, seed: int = 0) -> tuple[np.ndarray, torch.Tensor]:
    """Decode ``n`` prior draws (``model.sample``, generator seeded with ``seed``) into a square grid.

    Args:
        model: a model with ``sample(n, generator=...)``.
        n: number of samples. seed: seed of the CPU ``torch.Generator`` the prior draws come from.

    Returns:
        ``(grid, images)``: the uint8 ``make_grid`` picture (``ceil(sqrt(n))`` images per row, padding 2) and the
        ``(n, C, H, W)`` decoded pixel means on the CPU.
    """
    check_samples_fit(model, n)
    imgs = model.sample(n, generator=torch.Generator().manual_seed(seed)).cpu()
    return make_grid(imgs, nrow=int(math.ceil(math.sqrt(n)))), imgs


@torch.no_grad()
def reconstruction_grid(model, images: torch.Tensor, per_row: int = 16) -> tuple[np.ndarray, torch.Tensor]:
    """Test images (odd rows) above their reconstructions ``decode(encode(x)[0])`` (even rows), as one grid.

    Args:
        model: a model with ``reconstruct(x)`` and ``device``.
        images: ``(N, C, H, W)`` images in [0, 1].
        per_row: images per row; each row of images is followed by the row of their reconstructions.

    Returns:
        ``(grid, reconstructions)``: the uint8 ``make_grid`` picture and the ``(N, C, H, W)`` decoded pixel means
        on the CPU.
    """
    recon = model.reconstruct(images.to(model.device)).cpu()
    rows = []
    for i in range(0, len(images), per_row):
        rows += [images[i : i + per_row], recon[i : i + per_row]]
    return make_grid(torch.cat(rows), nrow=per_row), recon


@torch.no_grad()
def save_samples(model, path: str | Path, n: int = 64, seed: int = 0) -> tuple[Path, torch.Tensor]:
    """Decode ``n`` prior draws (``model.sample``, generator seeded with ``seed``) into a square grid PNG.

    Args:
        model: a model with ``sample(n, generator=...)`` (a probabilistic one: codes drawn from N(0, I)).
        path: the PNG to write (``ceil(sqrt(n))`` images per row, enlarged 2 times).
        n: number of samples.
        seed: seed of the CPU ``torch.Generator`` the prior draws come from.

    Returns:
        ``(path, images)`` with ``images`` the ``(n, C, H, W)`` decoded pixel means on the CPU (clipped to [0, 1]
        in the picture only).
    """
    check_samples_fit(model, n)
    imgs = model.sample(n, generator=torch.Generator().manual_seed(seed)).cpu()
    return save_grid(imgs, path, nrow=int(math.ceil(math.sqrt(n)))), imgs


@torch.no_grad()
def save_reconstructions(model, images: torch.Tensor, path: str | Path, per_row: int = 16) -> tuple[Path, torch.Tensor]:
    """Test images (odd rows) above their reconstructions ``decode(encode(x)[0])`` (even rows).

    Args:
        model: a model with ``reconstruct(x)`` and ``device``.
        images: ``(N, C, H, W)`` images in [0, 1].
        path: the PNG to write (enlarged 2 times).
        per_row: images per row; each row of images is followed by the row of their reconstructions.

    Returns:
        ``(path, reconstructions)`` with ``reconstructions`` the ``(N, C, H, W)`` decoded pixel means on the CPU.
    """
    device = model.device
    recon = model.reconstruct(images.to(device)).cpu()
    rows = []
    for i in range(0, len(images), per_row):
        rows += [images[i : i + per_row], recon[i : i + per_row]]
    return save_grid(torch.cat(rows), path, nrow=per_row), recon
