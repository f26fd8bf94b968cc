"""Memory: what a training run will need, measured before anything is allocated, and what the machine has.

``training_memory`` builds the model on PyTorch's ``meta`` device (shapes only, no storage) and runs one forward
pass of a batch there, summing the sizes of every module's outputs. The estimate, in bytes, is

    parameters x 4 bytes x 4   (weights, gradients and Adam's two moments)
    + activations x 4 bytes x 2   (kept for the backward pass, and their gradients)
    + the training images held in memory (N x C x H x W x 4 bytes)

A run whose estimate exceeds the memory available (``available_memory``) is refused before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vaelab.core.errors import ConfigError
from vaelab.core.io import _fmt_bytes
from vaelab.core.memory import available_memory as host_available_memory

FLOAT_BYTES = 4


@dataclass
class MemoryEstimate:
    """Bytes a training run needs (see the module docstring); ``total`` is what is compared with the machine."""

    parameters: int  # count
    activations: int  # floats per step
    data_bytes: int

    @property
    def total(self) -> int:
        return self.parameters * FLOAT_BYTES * 4 + self.activations * FLOAT_BYTES * 2 + self.data_bytes

    def describe(self) -> str:
        return (
            f"about {_fmt_bytes(self.total)} ({self.parameters:,} parameters, {self.activations:,} activation "
            f"values per step, {_fmt_bytes(self.data_bytes)} of images)"
        )


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes of memory free for a new allocation on ``device``: ``MemAvailable`` of /proc/meminfo (else the
    physical pages free) for the CPU, ``torch.cuda.mem_get_info`` for a CUDA device; None if unknown."""
    device = torch.device(device)
    if device.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(device)[0])
        except (RuntimeError, AssertionError):
            return None
    return host_available_memory()


def training_memory(model_cls: type[nn.Module], config, batch_size: int, n_images: int) -> MemoryEstimate:
    """Estimate the memory of training ``model_cls(config)`` on batches of ``batch_size`` images, without
    allocating the model: it is built and run on the ``meta`` device.

    Args:
        model_cls: a ``LatentModel`` class; config: its config object (with ``image_shape``).
        batch_size: images per step; the model's own ``k`` (samples per image) is part of its forward pass.
        n_images: training images kept in memory.
    """
    c, h, w = config.image_shape
    activations = 0

    def count(_module, _inputs, output):
        nonlocal activations
        for t in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(t, torch.Tensor):
                activations += t.numel()

    with torch.device("meta"):
        model = model_cls(config)
        params = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
        hooks = [m.register_forward_hook(count) for m in model.modules() if not list(m.children())]
        try:
            if not model.closed_form:  # a LatentModel capability
                x = torch.zeros(batch_size, c, h, w)
                y = torch.zeros(batch_size, dtype=torch.long) if model.needs_labels else None
                model(x, y)
        except (RuntimeError, NotImplementedError, TypeError):  # an op without a meta kernel: weights only
            activations = 0
        finally:
            for hook in hooks:
                hook.remove()
    return MemoryEstimate(params, activations, n_images * c * h * w * FLOAT_BYTES)


def check_fits(estimate: MemoryEstimate, device: torch.device | str, what: str) -> None:
    """Raise ``ConfigError`` if ``estimate`` exceeds the memory available on ``device``.

    Args:
        what: names the options that set the size, for the message (e.g. ``"--latent-dim, --hidden"``).
    """
    free = available_memory(device)
    if free is not None and estimate.total > free:
        raise ConfigError(
            f"{what}: training needs {estimate.describe()}, but {torch.device(device).type} has "
            f"{_fmt_bytes(free)} available; choose a smaller model, batch or k"
        )
