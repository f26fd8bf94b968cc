"""Your own images as a dataset: ``folder:PATH`` reads a folder of image files (PNG, JPEG, GIF, BMP, TIFF, WebP,
... : anything Pillow opens).

Layout (the ImageFolder convention of torchvision):

* ``PATH/<class>/<files>``: one sub-folder per class; the sorted sub-folder names become labels ``0..C-1`` (the
  names are recorded in the run's ``config.json``). Files in nested folders below a class folder belong to it.
* ``PATH/<files>`` with no sub-folders: an unlabelled dataset.

Hidden files and folders (names starting with ``.``) are ignored; every other file must be an image. Each image is
decoded with Pillow (EXIF orientation applied, transparent pixels composited over white, 16-bit grey scaled to 8
bits), converted to grey (``L``, 1 channel) or ``RGB`` (3 channels) and resized to ``H x W`` (Pillow's
antialiased bilinear filter), giving uint8 ``(N, C, H, W)``; ``vaelab.data.load_dataset`` scales it to [0, 1].
Without ``image_size`` / ``channels`` the first image (in sorted path order) decides them.

The decoded array is cached in ``<cache dir>/folders/<key>.npz`` (``vaelab.data.catalog.cache_dir``; the key is
a hash of the folder's absolute path, the size and the channels) together with a SHA-256 of the file list (every
relative path with its size and modification time in nanoseconds). A later load that finds the same list hash
reads the cache instead of decoding anything; a changed, added or removed file changes the hash and the folder
is decoded again. A cache file that cannot be read is ignored and rewritten.

A file Pillow cannot read (not an image, truncated, corrupt, too large to decode) is a ``DatasetError`` naming
it, unless ``skip_bad=True``: then it is left out and listed (with the reason) in the returned info.

What the listing cannot mislead about:

* symbolic links to folders are followed, but every real folder is walked once: a link back to a folder already
  walked (a loop, or a second link to one folder) is not followed again, and one warning line names the links;
* files and folders this user may not read (permission denied) are left out, counted and named in one warning
  line (the logger ``vaelab.data``; recorded in the info as ``unreadable``);
* with ``strict=True`` (the ``--strict-data`` option) either is a ``ConfigError`` instead;
* image sizes are read from the headers before anything is decoded (``vaelab.data.images``): an image over
  ``MAX_DECODE_PIXELS`` is not decoded (a bad image, as above), and a first image larger than ``MAX_TARGET_PIXELS``
  does not become the dataset's size (pass ``image_size``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vaelab.core.errors import ConfigError, DatasetError, StorageError
from vaelab.core.io import atomic_path
from vaelab.core.memory import available_memory
from vaelab.core.naming import option
from vaelab.data.catalog import cache_dir
from vaelab.data.images import decode_file, open_image

PREFIX = "folder:"
CACHE_FORMAT = 2  # 2: images resized width first, then height (vaelab.data.images.prepare)
_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_HOW = "expected a folder of images (PNG, JPEG, ...), optionally in one sub-folder per class"


def skip_hint() -> str:
    """How to leave unreadable files out, named for the caller (``vaelab.core.naming``)."""
    return f"pass {option('skip_bad_images', True)} to leave such files out"


def strict_hint() -> str:
    """How to refuse folders with link loops or unreadable entries, named for the caller."""
    return f"pass {option('strict_data', True)} to refuse such folders"


MAX_TARGET_PIXELS = 1024 * 1024
"""Largest image size (H x W) a folder dataset takes from its first image; pass ``image_size`` for another."""
log = logging.getLogger("vaelab.data")
_WARNED: set[str] = set()


@dataclass(frozen=True)
class FolderListing:
    """The image files of a folder dataset, in sorted order.

    Attributes:
        root: the folder (absolute).
        files: paths relative to ``root`` (POSIX separators), sorted; class folders first by class name.
        labels: the class index of each file, or None for an unlabelled folder.
        classes: the class names (sorted sub-folder names), or None.
        list_hash: hex SHA-256 of every relative path, size in bytes and modification time in nanoseconds.
        loops: symbolic links (relative paths) not followed because their folder was already walked.
        unreadable: ``{"file", "reason"}`` for each file or folder this user may not read (left out).
    """

    root: Path
    files: tuple[str, ...]
    labels: tuple[int, ...] | None
    classes: tuple[str, ...] | None
    list_hash: str
    loops: tuple[str, ...] = field(default=())
    unreadable: tuple[dict, ...] = field(default=())


def folder_path(name: str) -> Path:
    """The folder of a ``folder:PATH`` dataset name, ``~`` expanded and made absolute (symbolic links kept).

    Raises:
        ConfigError: ``name`` does not start with ``folder:`` or names no path.
    """
    if not name.startswith(PREFIX) or not name[len(PREFIX) :].strip():
        raise ConfigError(f"{option('dataset', name)}: expected folder:PATH, PATH a folder of images")
    return Path(os.path.abspath(os.path.expanduser(name[len(PREFIX) :])))


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


class _Walk:
    """The state of one listing: the real folders walked, the links not followed, what could not be read."""

    def __init__(self, root: Path):
        self.root = root
        self.seen: set[tuple[int, int]] = set()
        self.loops: list[str] = []
        self.unreadable: list[dict] = []
        self.visit(root)

    def rel(self, path: Path | str) -> str:
        return Path(path).relative_to(self.root).as_posix()

    def visit(self, folder: Path) -> bool:
        """Mark ``folder`` (its real identity) walked; False if it already was."""
        st = os.stat(folder)
        key = (st.st_dev, st.st_ino)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def denied(self, path: Path | str, exc: OSError) -> None:
        why = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
        self.unreadable.append({"file": self.rel(path), "reason": why})

    def readable(self, path: Path) -> bool:
        try:
            os.close(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)))
        except OSError as exc:
            self.denied(path, exc)
            return False
        return True

    def files_under(self, folder: Path) -> list[Path]:
        """Non-hidden readable regular files below ``folder`` (recursively, following links once), sorted."""
        out = []
        on_error = lambda exc: self.denied(exc.filename, exc)  # noqa: E731 - a folder os.walk cannot list
        for dirpath, dirnames, filenames in os.walk(folder, onerror=on_error, followlinks=True):
            keep = []
            for d in sorted(d for d in dirnames if not d.startswith(".")):
                sub = Path(dirpath) / d
                try:
                    fresh = self.visit(sub)
                except OSError as exc:  # a dangling or looping link to a folder
                    self.denied(sub, exc)
                    continue
                if fresh:
                    keep.append(d)
                else:
                    self.loops.append(self.rel(sub))
            dirnames[:] = keep
            for f in sorted(filenames):
                p = Path(dirpath) / f
                if not f.startswith(".") and p.is_file() and self.readable(p):
                    out.append(p)
        return sorted(out)


def _report(walk: _Walk, strict: bool) -> None:
    """One warning line per kind of problem found by the listing (once per process), or a ``ConfigError``."""
    where = option("dataset", f"folder:{walk.root}")
    lines = []
    if walk.loops:
        lines.append(
            f"{where}: {len(walk.loops)} symbolic link(s) to a folder already listed not followed again (a loop "
            f"or a second link): {', '.join(walk.loops[:10])}{' ...' if len(walk.loops) > 10 else ''}"
        )
    if walk.unreadable:
        names = ", ".join(f"{u['file']} ({u['reason']})" for u in walk.unreadable[:10])
        lines.append(
            f"{where}: {len(walk.unreadable)} unreadable file(s) or folder(s) left out: {names}"
            + (" ..." if len(walk.unreadable) > 10 else "")
        )
    if strict and lines:
        raise ConfigError(
            lines[0].replace("not followed again", "found").replace(" left out", "")
            + f" ({option('strict_data', True)})"
        )
    for line in lines:
        if line not in _WARNED:
            _WARNED.add(line)
            log.warning("warning: %s; %s", line, strict_hint())


def list_folder(root: str | Path, strict: bool = False) -> FolderListing:
    """List the image files of a folder dataset (module docstring for the layout and what is reported).

    Args:
        root: the folder.
        strict: refuse symbolic-link loops and unreadable files or folders instead of warning and leaving them out.

    Returns:
        The ``FolderListing``.

    Raises:
        ConfigError: the folder does not exist, is not a folder or cannot be listed; it holds no readable files;
            files sit beside class sub-folders (which class would they be?); a class sub-folder holds no files;
            with ``strict``, a link loop or an unreadable file or folder.
        DatasetError: a file cannot be looked up (``os.stat`` fails).
    """
    root = Path(os.path.abspath(os.path.expanduser(str(root))))
    where = option("dataset", f"folder:{root}")
    if not root.exists():
        raise ConfigError(f"{where}: no such folder; {_HOW}")
    if not root.is_dir():
        raise ConfigError(f"{where}: is a file, not a folder; {_HOW}")
    try:
        entries = sorted(p for p in root.iterdir() if _visible(p))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot list the folder ({exc.strerror or exc})") from exc
    walk = _Walk(root)
    subdirs, loose = _top_level(walk, entries)
    labels: list[int] | None = None
    classes: list[str] | None = None
    if subdirs:
        if loose:
            raise ConfigError(
                f"{loose[0]}: a file beside the class sub-folders of {root}; move it into a class folder "
                "(each sub-folder is one class) or into a folder of its own"
            )
        classes, files, labels = [p.name for p in subdirs], [], []
        for k, sub in enumerate(subdirs):
            found = walk.files_under(sub)
            if not found and not any(u["file"] == walk.rel(sub) for u in walk.unreadable):
                raise ConfigError(f"{sub}: class folder without files; remove it or put its images in it")
            files += found
            labels += [k] * len(found)
    else:
        files = [p for p in loose if walk.readable(p)]
    _report(walk, strict)
    if not files:
        which = "readable files" if walk.unreadable else "files"
        raise ConfigError(f"{where}: the folder holds no {which}; {_HOW}")
    rel, list_hash = _hash_files(root, files)
    return FolderListing(
        root,
        rel,
        None if labels is None else tuple(labels),
        None if classes is None else tuple(classes),
        list_hash,
        loops=tuple(walk.loops),
        unreadable=tuple(walk.unreadable),
    )


def _top_level(walk: _Walk, entries: list[Path]) -> tuple[list[Path], list[Path]]:
    """The class folders (each real folder once; unreadable ones left out, noted) and the loose files."""
    subdirs, loose = [], []
    for p in entries:
        if p.is_dir():
            if not walk.visit(p):
                walk.loops.append(walk.rel(p))
            elif not os.access(p, os.R_OK | os.X_OK):
                walk.denied(p, PermissionError(13, "Permission denied"))
            else:
                subdirs.append(p)
        elif p.is_file():
            loose.append(p)
    return subdirs, loose


def _hash_files(root: Path, files: list[Path]) -> tuple[tuple[str, ...], str]:
    """The relative paths and the SHA-256 of every relative path, size and modification time (ns)."""
    h = hashlib.sha256()
    rel = []
    for p in files:
        r = p.relative_to(root).as_posix()
        try:
            st = p.stat()
        except OSError as exc:
            raise DatasetError(f"{p}: cannot look up the file ({exc.strerror or exc})") from exc
        h.update(f"{r}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
        rel.append(r)
    return tuple(rel), h.hexdigest()


def _bad(exc: BaseException, path: Path) -> str:
    """Why Pillow could not read ``path``, in a few words (the path itself is named by the caller)."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    text = str(exc).replace(f" '{path}'", "").replace(str(path), "").strip(" :")
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


def _image_errors():
    from PIL import Image

    return (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


def decode_image(path: str | Path, size: tuple[int, int], channels: int) -> np.ndarray:
    """One image file as uint8 ``(C, H, W)`` (``vaelab.data.images.decode_file``: header checked before decoding,
    EXIF orientation applied, transparency over white, grey or RGB, resized with Pillow's antialiased bilinear
    filter).

    Args:
        path: the image file.
        size: ``(H, W)`` in pixels.
        channels: 1 (grey) or 3 (RGB).

    Returns:
        uint8 array ``(channels, H, W)``.

    Raises:
        OSError: Pillow cannot read the file, or it is too large to decode; so do ValueError (``ImageTooLarge``
            among them), SyntaxError, EOFError and ``PIL.Image.DecompressionBombError`` (``load_folder`` turns
            each into a ``DatasetError`` naming the file).
    """
    return decode_file(path, size, channels)


def probe_shape(
    root: str | Path,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    skip_bad: bool = False,
    strict: bool = False,
) -> tuple[int, int, int]:
    """The ``(C, H, W)`` a folder dataset decodes to: ``image_size`` and ``channels`` where given, else the first
    readable image's size and colour (1 channel for grey modes, 3 otherwise). Reads image headers only.

    Raises:
        ConfigError: see ``list_folder``; no file is a readable image (with ``skip_bad``); no ``image_size`` and
            the first image is larger than ``MAX_TARGET_PIXELS``.
        DatasetError: the first image is unreadable and ``skip_bad`` is False.
    """
    return _probe(list_folder(root, strict), image_size, channels, skip_bad)


def _probe(listing: FolderListing, image_size, channels, skip_bad) -> tuple[int, int, int]:
    if image_size is not None and channels is not None:
        return (int(channels), int(image_size[0]), int(image_size[1]))
    for rel in listing.files:
        path = listing.root / rel
        try:
            with open_image(path) as im:
                w, h = im.size
                mode = im.mode
        except _image_errors() as exc:
            if not skip_bad:
                raise DatasetError(f"{path}: not a readable image ({_bad(exc, path)}); {skip_hint()}") from exc
            continue
        if image_size is None and w * h > MAX_TARGET_PIXELS:
            raise ConfigError(
                f"{path}: the first image is {w}x{h} pixels (from its header), more than the "
                f"{MAX_TARGET_PIXELS:,} a folder dataset takes as its image size; pass "
                f"{option('image_size', '64x64')} (HxW)"
            )
        c = channels if channels is not None else (1 if mode in _GREY_MODES else 3)
        hh, ww = image_size if image_size is not None else (h, w)
        return (int(c), int(hh), int(ww))
    raise ConfigError(
        f"{option('dataset', f'folder:{listing.root}')}: none of its {len(listing.files)} files is a readable image"
    )


def _check_memory(listing: FolderListing, shape: tuple[int, int, int]) -> None:
    """Refuse a dataset whose uint8 array and float32 copy would not fit in the memory available."""
    need = len(listing.files) * int(np.prod(shape)) * 5  # uint8 here, float32 in load_dataset
    avail = available_memory()
    if avail is not None and need > avail:
        c, h, w = shape
        raise ConfigError(
            f"{option('dataset', f'folder:{listing.root}')}: {len(listing.files)} images of {c}x{h}x{w} need about "
            f"{need / 2**30:.1f} GiB (uint8 + float32) but {avail / 2**30:.1f} GiB is available; pass a smaller "
            f"{option('image_size')}"
        )


def _cache_path(root: Path, size: tuple[int, int], channels: int) -> Path:
    key = hashlib.sha256(f"{root}|{size[0]}x{size[1]}|{channels}|{CACHE_FORMAT}".encode()).hexdigest()[:24]
    return cache_dir() / "folders" / f"{key}.npz"


def _read_cache(path: Path, list_hash: str):
    """The cached ``(images, labels, meta)`` if ``path`` holds the decoding of this file list, else None."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != CACHE_FORMAT or meta.get("list_hash") != list_hash:
                return None
            images = z["images"]
            labels = z["labels"] if meta.get("labelled") else None
    except (OSError, ValueError, KeyError, EOFError):  # a truncated or foreign file: decode again
        return None
    return images, labels, meta


def _write_cache(path: Path, images: np.ndarray, labels: np.ndarray | None, meta: dict) -> None:
    """Write the cache atomically; a full disk or read-only cache only costs the next run a decode."""
    try:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    images=images,
                    labels=labels if labels is not None else np.zeros(0, np.int64),
                    meta=np.array(json.dumps(meta)),
                )
    except (OSError, StorageError):
        pass


def _decode_all(listing, shape: tuple[int, int, int], skip_bad: bool, progress: bool | None):
    """Decode every file of ``listing`` to uint8 ``shape``: ``(images (N, C, H, W), labels (N,) or None, meta)``
    with the files left out (``skip_bad``) in ``meta["skipped"]``; raises ``DatasetError`` for the first
    unreadable file otherwise."""
    from tqdm.auto import tqdm

    c, h, w = shape
    kept, labels_kept, skipped = [], [], []
    images = np.empty((len(listing.files), c, h, w), np.uint8)
    show = (len(listing.files) > 500 and os.isatty(2)) if progress is None else progress
    bar = tqdm(listing.files, desc=f"decoding {listing.root.name}", unit="img", leave=False, disable=not show)
    for i, rel in enumerate(bar):
        path = listing.root / rel
        try:
            images[len(kept)] = decode_image(path, (h, w), c)
        except _image_errors() as exc:
            if not skip_bad:
                raise DatasetError(f"{path}: not a readable image ({_bad(exc, path)}); {skip_hint()}") from exc
            skipped.append({"file": rel, "reason": _bad(exc, path)})
            continue
        kept.append(rel)
        if listing.labels is not None:
            labels_kept.append(listing.labels[i])
    bar.close()
    labels = None if listing.labels is None else np.asarray(labels_kept, np.int64)
    meta = {
        "format": CACHE_FORMAT,
        "list_hash": listing.list_hash,
        "labelled": labels is not None,
        "classes": None if listing.classes is None else list(listing.classes),
        "n_files": len(listing.files),
        "skipped": skipped,
    }
    return images[: len(kept)], labels, meta


def _info(listing, meta: dict, cached: bool) -> dict:
    """What a run records about a folder dataset (``load_folder``'s Returns)."""
    return {
        "folder": str(listing.root),
        "classes": meta["classes"],
        "n_files": meta["n_files"],
        "files_sha256": listing.list_hash,
        "n_skipped": len(meta["skipped"]),
        "skipped": meta["skipped"],
        "symlink_loops": list(listing.loops),
        "unreadable": list(listing.unreadable),
        "cached": cached,
    }


def load_folder(
    root: str | Path,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    skip_bad: bool = False,
    progress: bool | None = None,
    strict: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Decode (or read from the cache) every image of a folder dataset.

    Args:
        root: the folder (module docstring for the layout).
        image_size: ``(H, W)`` to resize to; default the first image's.
        channels: 1 (grey) or 3 (RGB); default the first image's.
        skip_bad: leave files that are not readable images out (listed in the info) instead of raising.
        progress: a tqdm bar while decoding (None: only on a terminal).
        strict: refuse symbolic-link loops and unreadable files or folders (``list_folder``).

    Returns:
        ``(images, labels, info)``: uint8 ``(N, C, H, W)``; int64 ``(N,)`` or None; ``info`` holds ``folder``,
        ``classes`` (names or None), ``n_files``, ``files_sha256`` (the list hash), ``n_skipped``, ``skipped``
        (``[{"file", "reason"}]``, paths relative to the folder), ``symlink_loops`` (links not followed again),
        ``unreadable`` (``[{"file", "reason"}]``, left out) and ``cached`` (read from the cache).

    Raises:
        ConfigError: see ``list_folder`` / ``probe_shape``; no file is a readable image; the images would not fit
            in the memory available.
        DatasetError: an unreadable file (names it) when ``skip_bad`` is False.
    """
    listing = list_folder(root, strict)
    c, h, w = _probe(listing, image_size, channels, skip_bad)
    _check_memory(listing, (c, h, w))
    cache = _cache_path(listing.root, (h, w), c)
    hit = _read_cache(cache, listing.list_hash)
    if hit is not None:
        images, labels, meta = hit
        skipped = meta["skipped"]
        if skipped and not skip_bad:
            first = skipped[0]
            raise DatasetError(
                f"{listing.root / first['file']}: not a readable image ({first['reason']}); {skip_hint()}"
            )
    else:
        images, labels, meta = _decode_all(listing, (c, h, w), skip_bad, progress)
        if len(images):
            _write_cache(cache, images, labels, meta)
    if len(images) == 0:
        raise ConfigError(
            f"{option('dataset', f'folder:{listing.root}')}: none of its {len(listing.files)} files is a readable image"
        )
    info = _info(listing, meta, cached=hit is not None)
    return images, labels, info
