"""Files that never end half-written: atomic writes (temporary file + rename) and checkpoints.

Checkpoints are written atomically and read with ``torch.load(weights_only=True)``, so no pickled code runs and a
truncated file raises ``CheckpointError`` naming it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import torch

from vaelab.core.errors import CheckpointError

CHECKPOINT_FORMAT = 1


@contextlib.contextmanager
def atomic_path(path: Path):
    """Yield a temporary path in ``path``'s folder; on success it is renamed onto ``path``, on failure removed,
    so ``path`` always holds either the old file or the complete new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def save_checkpoint(path: Path, state: dict) -> None:
    """``torch.save`` ``state`` to ``path`` atomically (only tensors, numbers, strings, lists and dicts)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``.

    Raises:
        CheckpointError: the file is missing, truncated, corrupt or not a vaelab checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, ... for bad files
        raise CheckpointError(f"{path}: cannot read checkpoint ({type(exc).__name__}: {exc}); truncated or corrupt?")
    if not isinstance(state, dict) or "model_state" not in state or "model" not in state:
        raise CheckpointError(f"{path}: not a vaelab checkpoint (expected a dict with 'model' and 'model_state')")
    return state
