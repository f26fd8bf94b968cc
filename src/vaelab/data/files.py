"""Checks shared by the catalogue lookup and the readers: is this path a readable regular data file?

Every problem becomes one ``DatasetError`` naming the path and what is wrong (a directory, a dangling or looping
symbolic link, a FIFO or device, a file this user may not read) instead of a traceback or a misleading "not found".
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from vaelab.core.errors import DatasetError

_KINDS = {
    stat.S_ISDIR: "a directory",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISSOCK: "a socket",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
}


def _not_a_directory(path: Path) -> Path | None:
    """The first ancestor of ``path`` that exists but is not a directory (None if there is none)."""
    for parent in reversed(path.parents):
        if os.path.lexists(parent) and not os.path.isdir(parent):
            return parent
    return None


def probe_data_file(path: str | Path, expected: str) -> bool:
    """Whether ``path`` is an existing regular file (following symbolic links), without opening it.

    Args:
        path: the file.
        expected: what should be there, for the messages (e.g. ``"the file train-images-idx3-ubyte.gz"``).

    Returns:
        True for a regular file (or a symbolic link to one), False when nothing is at ``path``.

    Raises:
        DatasetError: ``path`` is a directory, a FIFO, socket or device, a dangling or looping symbolic link, or
            cannot be looked up (a folder on the way is not a directory or may not be searched by this user).
    """
    path = Path(path)
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        return False
    except NotADirectoryError as exc:
        blocker = _not_a_directory(path)
        raise DatasetError(
            f"{path}: {blocker or 'a folder on the way'} is not a directory; expected {expected}"
        ) from exc
    except PermissionError as exc:
        raise DatasetError(
            f"{path}: cannot look up the file (permission denied on a folder on the way); expected {expected}"
        ) from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot look up the file ({exc.strerror}); expected {expected}") from exc
    st = lst
    if stat.S_ISLNK(lst.st_mode):
        try:
            target = os.readlink(path)
        except OSError:  # pragma: no cover - the link vanished between lstat and readlink
            target = "?"
        try:
            st = os.stat(path)
        except FileNotFoundError as exc:
            resolved = (path.parent / target).resolve(strict=False) if target != "?" else target
            raise DatasetError(
                f"{path}: dangling symbolic link to {target} ({resolved} does not exist); expected {expected}"
            ) from exc
        except OSError as exc:
            why = "a symbolic link loop" if exc.errno == errno.ELOOP else exc.strerror
            raise DatasetError(
                f"{path}: symbolic link to {target} cannot be followed ({why}); expected {expected}"
            ) from exc
    for test, kind in _KINDS.items():
        if test(st.st_mode):
            via = "" if st is lst else " (through a symbolic link)"
            raise DatasetError(f"{path}: is {kind}{via}; expected {expected}")
    return True


def open_data_file(path: str | Path, expected: str) -> BinaryIO:
    """Open a data file for binary reading after ``probe_data_file``'s checks.

    Args:
        path: the file.
        expected: what should be there, for the messages (e.g. ``"an IDX file"``).

    Returns:
        The open binary file (the caller closes it).

    Raises:
        DatasetError: nothing at ``path`` ("file not found"), any ``probe_data_file`` problem, or a file this user
            may not read (permission denied) or cannot open.
    """
    path = Path(path)
    if not probe_data_file(path, expected):
        raise DatasetError(f"{path}: file not found; expected {expected}")
    try:
        return open(path, "rb")
    except PermissionError as exc:
        raise DatasetError(
            f"{path}: cannot read the file (permission denied for this user); expected {expected} readable by it"
        ) from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open the file ({exc.strerror}); expected {expected}") from exc
