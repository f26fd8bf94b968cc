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
    """Bernoulli sample of ``x`` (``(N, ...)``, values in [0, 1]): pixel j is 1 where a uniform draw u_j < x_j.
    Same shape and dtype, values in {0, 1}. ``generator``: a ``torch.Generator`` or a ``ShardedGenerator``
    (``vaelab.core.noise``); one uniform compare is also cheaper than ``torch.bernoulli`` on CPU."""
    return (noise.rand(x.shape, generator, device=x.device, dtype=x.dtype) < x).to(x.dtype)


def binarize_static(x: torch.Tensor, seed: int = STATIC_TEST_SEED) -> torch.Tensor:
    """Fixed-seed Bernoulli sample of ``x`` (on CPU, so the same seed gives the same images everywhere)."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    return torch.bernoulli(x.detach().cpu(), generator=g).to(x.device)
