"""Binarization of grey images in [0, 1] for the Bernoulli likelihood.

*Dynamic* binarization draws a fresh Bernoulli sample of every batch (each pixel is 1 with probability equal to
its intensity); it is the standard for likelihood results on MNIST (e.g. Burda et al. 2015). *Static*
binarization draws one sample with a fixed seed, used for the test set so that every evaluation sees the same
binary images.
"""

from __future__ import annotations

import torch

from vaelab.core import noise

STATIC_TEST_SEED = 0  # the seed of the fixed binarization of every evaluation split


def binarize_dynamic(x: torch.Tensor, generator=None) -> torch.Tensor:
    """Bernoulli sample of ``x`` (``(N, ...)``, values in [0, 1]): pixel j is 1 where u_j < x_j.

    u_j = (b_j + 32768) / 65536 for a uniform 16-bit integer b_j (``vaelab.core.noise.bits16``), so
    P(pixel = 1) = ceil(65536 x_j) / 65536: within 2^-16 of x_j, exactly 0 and 1 for black and white pixels.
    (``torch.rand`` would give 24-bit u_j at four times the generator's work, the largest part of a training
    step's cost beyond the network on a CPU; ``torch.bernoulli`` is slower still.) Same shape and dtype as ``x``,
    values in {0, 1}. ``generator``: a ``torch.Generator`` or a ``ShardedGenerator`` (``vaelab.core.noise``).
    """
    threshold = x.float() * 65536.0 - 32768.0  # b_j < threshold  <=>  u_j < x_j
    return (noise.bits16(x.shape, generator, device=x.device) < threshold).to(x.dtype)


def binarize_static(x: torch.Tensor, seed: int = STATIC_TEST_SEED) -> torch.Tensor:
    """Fixed-seed Bernoulli sample of ``x`` (on CPU, so the same seed gives the same images everywhere)."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    return torch.bernoulli(x.detach().cpu(), generator=g).to(x.device)
