"""Random draws that do not depend on how a batch is split across processes.

Every random number of a training step (binarization, reparameterization noise, input corruption) is drawn
through ``randn`` / ``rand`` / ``bits16`` here. With a plain ``torch.Generator`` they are ordinary draws. With a
``ShardedGenerator`` (data-parallel training, ``vaelab.training.distributed``) each process draws the numbers of the
*whole* global batch from the run's one generator, in the same order as a single process would, and keeps its own
rows: so the noise each image gets, and the generator's state after the step, are the same for any number of
processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class ShardedGenerator:
    """A generator positioned on a global batch of ``global_n`` images, of which this process holds rows
    ``start:stop`` (along each draw's batch axis)."""

    generator: torch.Generator
    start: int
    stop: int
    global_n: int

    @property
    def device(self) -> torch.device:
        return self.generator.device


def _draw(fn, shape, generator, batch_axis: int, device, dtype) -> torch.Tensor:
    if isinstance(generator, ShardedGenerator):
        full = list(shape)
        if full[batch_axis] != generator.stop - generator.start:
            raise ValueError(
                f"draw of shape {tuple(shape)}: batch axis {batch_axis} should hold this process's "
                f"{generator.stop - generator.start} rows"
            )
        full[batch_axis] = generator.global_n
        out = fn(full, generator=generator.generator, device=device, dtype=dtype)
        return out.narrow(batch_axis, generator.start, generator.stop - generator.start)
    return fn(tuple(shape), generator=generator, device=device, dtype=dtype)


def randn(shape, generator=None, batch_axis: int = 0, device=None, dtype=None) -> torch.Tensor:
    """Standard normal draws of ``shape`` (``batch_axis`` indexes images; see the module docstring)."""
    return _draw(torch.randn, shape, generator, batch_axis, device, dtype)


def rand(shape, generator=None, batch_axis: int = 0, device=None, dtype=None) -> torch.Tensor:
    """Uniform [0, 1) draws of ``shape`` (``batch_axis`` indexes images; see the module docstring)."""
    return _draw(torch.rand, shape, generator, batch_axis, device, dtype)


def _int16_words(shape, generator=None, device=None, dtype=None) -> torch.Tensor:
    """Uniform int16 values of ``shape``: four from each full-range 64-bit draw (``dtype`` is ignored)."""
    n = math.prod(shape)
    words = torch.empty(-(-n // 4), dtype=torch.int64, device=device).random_(-(2**63), None, generator=generator)
    return words.view(torch.int16)[:n].view(tuple(shape))


def bits16(shape, generator=None, batch_axis: int = 0, device=None) -> torch.Tensor:
    """Uniform 16-bit integers in [-32768, 32767] of ``shape`` (``torch.int16``), four from each 64-bit draw.

    On a CPU one 64-bit draw of the generator costs about as much as one ``torch.rand`` float, so a draw that
    needs only 16 random bits (a Bernoulli sample of an 8-bit pixel: ``vaelab.data.binarize``) costs a quarter.
    ``batch_axis`` indexes images (module docstring).
    """
    return _draw(_int16_words, shape, generator, batch_axis, device, None)
