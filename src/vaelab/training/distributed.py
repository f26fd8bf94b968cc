"""Data-parallel training with PyTorch's own engine: ``torchrun`` + ``DistributedDataParallel``.

``torchrun --nproc_per_node N -m vaelab train ...`` starts N processes; each finds ``WORLD_SIZE`` / ``RANK`` /
``LOCAL_RANK`` in its environment and joins the process group (gloo on CPU, nccl on CUDA) with a timeout on every
collective (``TrainConfig.dist_timeout``), so that if one process dies the others stop with a clear message
instead of waiting forever. Each process keeps the whole training split in memory and takes its shard of every
global batch of the epoch's seeded permutation (``shard``): the global batch is ``batch_size`` images whatever N
is, and with the noise drawn through ``vaelab.core.noise.ShardedGenerator`` the sample order and every random
number do not depend on N. Rank 0 alone writes metrics, TensorBoard, samples and checkpoints.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

import torch
import torch.distributed as dist

from vaelab.core.errors import TrainingError


@dataclass
class Distributed:
    """This process's place in a torchrun job."""

    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, n: int) -> tuple[int, int]:
        """Rows ``[start, stop)`` of a global batch of ``n`` that this process takes (contiguous, sizes differing
        by at most one)."""
        base, extra = divmod(n, self.world_size)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (1 if self.rank < extra else 0)

    def all_reduce_sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum ``tensor`` over all processes, in place (raises ``TrainingError`` if another process is gone)."""
        try:
            dist.all_reduce(tensor)
        except RuntimeError as exc:
            raise gone(exc) from exc
        return tensor

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true in any process (so that a Ctrl-C stops all of them at the same step)."""
        t = torch.tensor([1.0 if flag else 0.0], device="cuda" if self.backend == "nccl" else "cpu")
        return bool(self.all_reduce_sum_(t).item() > 0)

    def barrier(self) -> None:
        try:
            dist.barrier()
        except RuntimeError as exc:
            raise gone(exc) from exc

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``model`` in ``DistributedDataParallel`` (gradients averaged over the processes after each backward)."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def close(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()


def exit_process(status: int) -> NoReturn:
    """End a torchrun process that has finished its run and left the job, without the interpreter's teardown.

    With torch 2.13's gloo backend, a process that returned normally after ``destroy_process_group`` sometimes
    aborted in the C++ teardown after Python's last frame ("terminate called without an active exception", SIGABRT;
    measured: 5 of 50 two-process CPU runs here), and torchrun then reports the whole job as failed although every
    file was written. Everything the run writes is closed explicitly before this point (checkpoints, metrics, the
    TensorBoard writer, the lock), so the process flushes its output and exits with ``status`` at once.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def gone(exc: BaseException) -> TrainingError:
    """The error every surviving process raises when a collective fails or times out."""
    return TrainingError(
        f"another process of this torchrun job stopped or stalled ({type(exc).__name__}: "
        f"{str(exc).splitlines()[0][:200]}); this process stops too. Continue the run with --resume from its last "
        "checkpoint"
    )


def world_size_from_environment() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_from_environment(device: str, timeout_s: int) -> Distributed | None:
    """Join the torchrun job this process belongs to, or return None when not started by torchrun (one process).

    Args:
        device: the ``--device`` option (``auto`` picks ``cuda:LOCAL_RANK`` where CUDA exists).
        timeout_s: seconds any collective may wait for the other processes.
    """
    if world_size_from_environment() <= 1:
        return None
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device in ("auto",) or device.startswith("cuda")
    backend = "nccl" if cuda else "gloo"
    if cuda:
        torch.cuda.set_device(local_rank)
    else:  # share the cores of this machine between its processes
        local = int(os.environ.get("LOCAL_WORLD_SIZE", world_size_from_environment()))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return Distributed(dist.get_rank(), dist.get_world_size(), local_rank, backend)
