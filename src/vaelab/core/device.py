"""Where to compute, and what to record about the machine a run was made on."""

from __future__ import annotations

import os
import platform

import torch

from vaelab.core.errors import ConfigError
from vaelab.core.naming import option
from vaelab.core.version import __version__


def select_device(name: str = "auto", local_rank: int | None = None) -> torch.device:
    """``auto``: cuda if available (``cuda:local_rank`` in a torchrun job), else mps, else cpu.

    Raises:
        ConfigError: an unknown or unavailable device.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda" if local_rank is None else f"cuda:{local_rank}")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"{option('device', name)}: expected auto, cpu, cuda, cuda:N or mps") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{option('device', name)}: CUDA is not available on this machine")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{option('device', name)}: MPS is not available on this machine")
    return dev


def process_devices(device: str = "auto") -> list[str]:
    """The device of each process of this job, by rank: one entry for a single process, ``WORLD_SIZE`` entries
    under torchrun (``cuda:LOCAL_RANK`` where CUDA is used, else the named device). Nothing is allocated."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if world <= 1:
        return [str(select_device(device))]
    return [f"cuda:{rank % local}" if cuda else ("cpu" if device == "auto" else device) for rank in range(world)]


def environment_info(device: str = "auto") -> dict:
    """What a run's ``config.json`` records about the machine: versions, threads, the number of processes
    (``world_size``, > 1 under torchrun) and each process's device."""
    devices = process_devices(device)
    return {
        "world_size": len(devices),
        "devices": devices,
        "vaelab": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
    }
