"""Output paths checked before any work: a file to write must not be a folder, must end in a format the writer
knows, and every existing folder above it must be a folder (``README.md/x.png`` is refused, not a traceback after
minutes of rendering). Used by the writers (``vaelab.viz``, ``vaelab.export``) and, earlier, by the commands.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from vaelab.core.errors import ConfigError
from vaelab.core.naming import option

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")  # what Pillow writes for vaelab's image grids
FIGURE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")  # what matplotlib writes for vaelab's figures


def _nearest_existing(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return None


def check_output_file(path: str | Path, suffixes: tuple[str, ...] = (), name: str = "out", flag: str | None = None):
    """Check that ``path`` can be written as a file, before anything is computed.

    Args:
        path: the file to write (its folders may not exist yet).
        suffixes: the endings the writer knows, lower case with the dot (empty: any).
        name / flag: the option that gave the path, for the message (``out`` -> ``--out`` / ``out=``).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ConfigError: ``path`` is an existing folder, has another ending, or a file stands where a folder above it
            should be; the message names the option and the path.
    """
    path = Path(path)
    shown = option(name, str(path), flag=flag)
    if path.is_dir():
        raise ConfigError(f"{shown}: is a folder; expected a file name")
    if suffixes and path.suffix.lower() not in suffixes:
        raise ConfigError(f"{shown}: expected a file name ending in {', '.join(suffixes)}")
    _check_folders_above(path.parent, shown)
    return path


def check_output_folder(path: str | Path, name: str = "out", flag: str | None = None) -> Path:
    """Check that ``path`` is, or can be made, a folder: no file stands there or above it.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ConfigError: a file stands at ``path`` or where a folder above it should be (the message names both).
    """
    path = Path(path)
    _check_folders_above(path, option(name, str(path), flag=flag))
    return path


def check_can_write(folder: str | Path, shown: str, what: str) -> Path:
    """Check that files can be written into ``folder`` (or, while it does not exist yet, into the nearest existing
    folder above it, where it will be made) by creating and removing a nameless temporary file there: a read-only
    mount, a folder without permission, or a file where a folder should be are found before any work.

    Args:
        folder: the folder that will be written into.
        shown: how the message names it (an option with its value, or the path).
        what: what would be written, for the message (e.g. ``eval.json``).

    Returns:
        ``folder`` as a ``Path``.

    Raises:
        ConfigError: one line naming ``shown``, the folder that refused, and why.
    """
    folder = Path(folder)
    _check_folders_above(folder, shown)
    existing = _nearest_existing(folder) or Path.cwd()
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        where = "" if existing == folder else f" (it would be made in {existing})"
        raise ConfigError(f"{shown}: cannot write {what} into it{where}: {exc.strerror or exc}") from exc
    return folder


def _check_folders_above(folder: Path, shown: str) -> None:
    existing = _nearest_existing(folder)
    if existing is not None and not existing.is_dir():
        raise ConfigError(f"{shown}: {existing} is a file, not a folder")


__all__ = ["FIGURE_SUFFIXES", "IMAGE_SUFFIXES", "check_can_write", "check_output_file", "check_output_folder"]
