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

from vaelab.core.errors import CheckpointError, StorageError
from vaelab.core.naming import option

CHECKPOINT_FORMAT = 1
TMP_SUFFIX = ".tmp"  # temporary files of atomic writes; stale ones (a crash mid-write) are removed at next start


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def storage_error(path: Path, exc: BaseException, needed: int | None = None) -> StorageError:
    """The one-line ``StorageError`` for a failed write of ``path``: disk full (with the space needed and free,
    when known), permission denied, or the OS's own words."""
    import errno
    import shutil

    try:
        free = shutil.disk_usage(path.parent if path.parent.exists() else Path.cwd()).free
    except OSError:
        free = None
    full = getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or (
        not isinstance(exc, OSError) and free is not None and needed is not None and free < needed
    )
    if full or (free == 0):
        need = f"; about {_fmt_bytes(needed)} needed" if needed else ""
        have = f", {_fmt_bytes(free)} free" if free is not None else ""
        return StorageError(
            f"{path}: disk full, cannot write it{need}{have}. Free some space; what was saved "
            f"before is intact (continue a run with {option('resume', True)})"
        )
    if isinstance(exc, IsADirectoryError) or path.is_dir():
        return StorageError(f"{path}: is a folder, expected a file there; move the folder away and run it again")
    if isinstance(exc, PermissionError):
        return StorageError(f"{path}: permission denied, cannot write it")
    return StorageError(f"{path}: cannot write it ({type(exc).__name__}: {exc})")


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files that interrupted atomic writes left in ``folder`` and its sub-folders."""
    removed = []
    if folder.is_dir():
        for tmp in folder.rglob("*" + TMP_SUFFIX):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


@contextlib.contextmanager
def atomic_path(path: Path):
    """Yield a temporary path in ``path``'s folder; on success it is renamed onto ``path``, on failure removed,
    so ``path`` always holds either the old file or the complete new one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=TMP_SUFFIX, dir=path.parent)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a run's files are as readable as any other file
    except OSError as exc:
        raise storage_error(path, exc) from exc
    try:
        yield Path(tmp)
        try:
            os.replace(tmp, path)
        except OSError as exc:  # e.g. a folder where the file belongs: name the file, not the temporary one
            raise storage_error(path, exc) from exc
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Raises:
        StorageError: the disk is full or the folder not writable (``path`` keeps its old content).
    """
    with atomic_path(path) as tmp:
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise storage_error(path, exc, len(data)) from exc


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def state_nbytes(state) -> int:
    """Bytes of the tensors in a (nested) checkpoint dict: about the size of its file."""
    if isinstance(state, torch.Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, dict):
        return sum(state_nbytes(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return sum(state_nbytes(v) for v in state)
    return 0


def append_line(path: Path, line: str) -> None:
    """Append one line to a text file; on failure the file is cut back to its old length (no half line).

    Raises:
        StorageError: the disk is full or the file not writable.
    """
    data = (line.rstrip("\n") + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fh:
            start = fh.tell()
            try:
                fh.write(data)
                fh.flush()
            except OSError:
                fh.truncate(start)
                raise
    except OSError as exc:
        raise storage_error(path, exc, len(data)) from exc


def save_checkpoint(path: Path, state: dict) -> None:
    """``torch.save`` ``state`` to ``path`` atomically (only tensors, numbers, strings, lists and dicts).

    Raises:
        StorageError: the disk is full (torch reports it as a RuntimeError) or the folder is not writable;
            ``path`` keeps its previous content.
    """
    with atomic_path(path) as tmp:
        try:
            torch.save(state, tmp)
        except (OSError, RuntimeError) as exc:
            raise storage_error(path, exc, state_nbytes(state)) from exc


def _first_sentence(exc: BaseException, limit: int = 160) -> str:
    """The exception's type and the first line of its text, cut at ``limit`` characters (torch's and miniz's
    messages go on for paragraphs of advice that does not apply to a damaged file)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
        raise CheckpointError(
            f"{path}: cannot read checkpoint ({_first_sentence(exc)}); truncated or corrupt?"
        ) from exc
    if not isinstance(state, dict) or "model_state" not in state or "model" not in state:
        raise CheckpointError(f"{path}: not a vaelab checkpoint (expected a dict with 'model' and 'model_state')")
    return state
