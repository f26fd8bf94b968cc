"""A packed model folder is untrusted input: every file and field of it is checked before anything uses it.

A pack (``vaelab pack``, or one downloaded from the Hugging Face Hub) is read through ``RunDir`` like a run folder;
for a pack, ``RunDir`` reads each file through this module. What is checked:

* ``config.json``: a JSON object; ``format``, ``name``, ``created``, ``environment``, the ``packed`` section
  (pack format version, weights file name, checkpoint), the ``dataset`` sizes, and the model, training and data
  options with the same typed checks as a run's own configuration (``RunSpec.from_config``).
* ``model.safetensors``: its header metadata (weights format and model family), every tensor's name, dtype and
  shape against the model ``config.json`` describes (built on PyTorch's ``meta`` device first, so absurd sizes
  allocate nothing), and every value finite.
* ``eval.json``, ``metrics.jsonl``: the type of every field (numbers finite, integers where counts belong, the
  split one of test / val / train); fields this version does not know must be plain JSON values.
* ``epoch_samples.npy``, ``epoch_codes.npz``: read with ``allow_pickle=False`` after their headers are checked
  against the file's size (a pickled object array is refused, a header claiming more data than the file holds is
  damage); dtypes and shapes as vaelab writes them.
* ``README.md``: its YAML front matter parses (``huggingface_hub.metadata_load``) into a mapping.
* symbolic links: none may lead out of the pack (in the Hub's cache, out of the repository's folder
  ``models--ORG--NAME``, whose ``snapshots/`` link to ``blobs/``), so nothing is read or written through them.

Two error types: a readable file with a malformed field raises ``PackError`` (exit 2), naming the file and the
field; a file that cannot be read at all (missing, truncated, not JSON, not a ``.npy``) raises ``CheckpointError``
(exit 1).
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaelab.core.errors import CheckpointError, ConfigError, PackError

MAX_TEXT_BYTES = 16 * 2**20  # config.json, eval.json, metrics.jsonl, README.md: a pack's are a few KiB
MAX_INT = 2**63  # larger integers are refused: they overflow float formatting and every size they could mean
SPLITS = ("test", "val", "train")


# field kinds ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    """A leaf value: ``test(value)`` says whether it is acceptable; ``text`` says what is expected."""

    test: Callable[[Any], bool]
    text: str


@dataclass(frozen=True)
class Fields:
    """A JSON object with these fields; ``required`` must be present; any other field must be ``other``."""

    fields: dict
    required: tuple[str, ...] = ()
    other: Any = None  # None: PLAIN


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class MapOf:
    item: Any


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and -MAX_INT <= v <= MAX_INT


def is_num(v) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    return is_int(v)


def _is_plain(v, depth: int = 0) -> bool:
    """A JSON value of finite numbers, strings, booleans and nulls (lists and objects of them, depth <= 32)."""
    if v is None or isinstance(v, (bool, str)) or is_num(v):
        return True
    if depth < 32 and isinstance(v, list):
        return all(_is_plain(x, depth + 1) for x in v)
    if depth < 32 and isinstance(v, dict):
        return all(_is_plain(x, depth + 1) for x in v.values())
    return False


NUM = Kind(is_num, "a finite number")
INT0 = Kind(lambda v: is_int(v) and v >= 0, "an integer >= 0")
INT1 = Kind(lambda v: is_int(v) and v >= 1, "an integer >= 1")
OPT_INT0 = Kind(lambda v: v is None or (is_int(v) and v >= 0), "an integer >= 0 or null")
STR = Kind(lambda v: isinstance(v, str), "a string")
BOOL = Kind(lambda v: isinstance(v, bool), "true or false")
SCALAR = Kind(lambda v: v is None or isinstance(v, (bool, str)) or is_num(v), "a string, number, boolean or null")
PLAIN = Kind(_is_plain, "a plain JSON value (finite numbers, strings, booleans, null, lists and objects of them)")
MAPPING = Kind(lambda v: isinstance(v, dict), "a mapping (JSON object)")


def one_of(*values) -> Kind:
    return Kind(lambda v: isinstance(v, str) and v in values, "one of " + ", ".join(map(repr, values)))


def brief(exc: BaseException, n: int = 160) -> str:
    """An exception's message on one line, at most ``n`` characters (for messages that quote it)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _got(value) -> str:
    text = repr(value)
    return f"got {type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def check_value(value, kind, where: str, name: str) -> None:
    """Check ``value`` against ``kind`` (a ``Kind``, ``Fields``, ``ListOf`` or ``MapOf``).

    Args:
        value: the parsed JSON value. kind: what it must be. where: the file (for the message).
        name: the field's path inside the file, e.g. ``packed.format`` or ``nll_vs_k[2].k``.

    Raises:
        PackError: ``"<where>: field <name>: expected <what>, got <type> <value>"``.
    """
    if isinstance(kind, Kind):
        if not kind.test(value):
            raise PackError(f"{where}: field {name or '(top level)'}: expected {kind.text}, {_got(value)}")
    elif isinstance(kind, Fields):
        check_value(value, MAPPING, where, name)
        for key in kind.required:
            if key not in value:
                raise PackError(f"{where}: field {_join(name, key)}: missing (required)")
        for key, item in value.items():
            check_value(item, kind.fields.get(key, kind.other or PLAIN), where, _join(name, key))
    elif isinstance(kind, ListOf):
        if not isinstance(value, list):
            raise PackError(f"{where}: field {name}: expected a list, {_got(value)}")
        for i, item in enumerate(value):
            check_value(item, kind.item, where, f"{name}[{i}]")
    elif isinstance(kind, MapOf):
        check_value(value, MAPPING, where, name)
        for key, item in value.items():
            check_value(item, kind.item, where, _join(name, key))


def _join(name: str, key: str) -> str:
    return f"{name}.{key}" if name else str(key)


# files ------------------------------------------------------------------------------------------------------
def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of a pack's file (at most ``MAX_TEXT_BYTES``).

    Raises:
        CheckpointError: missing, unreadable or not UTF-8. PackError: larger than ``MAX_TEXT_BYTES``.
    """
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise CheckpointError(f"{path}: not a file; expected {what}")
        if size > MAX_TEXT_BYTES:
            raise PackError(f"{path}: {size} bytes; expected {what} of at most {MAX_TEXT_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: missing; a pack holds {what}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(
            f"{path}: cannot read it ({type(exc).__name__}: {brief(exc)}); the file is damaged"
        ) from exc


def parse_json(text: str, where: str):
    """``json.loads`` with every failure (syntax, an integer of over 4,300 digits, nesting too deep) as one
    ``CheckpointError`` naming ``where``."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{where}: not valid JSON ({brief(exc)}); the file is damaged") from exc


def read_json(path: Path, kind, what: str):
    """A pack's JSON file, parsed and checked against ``kind`` (``check_value``)."""
    value = parse_json(read_text(path, what), str(path))
    check_value(value, kind, str(path), "")
    return value


def check_links(root: Path) -> None:
    """Refuse symbolic links inside ``root`` that lead out of it (see the module docstring for the Hub's cache).

    Raises:
        PackError: a link (or a link loop) leading outside, naming the link and its target.
    """
    base = root.resolve()
    allowed = (
        base.parent.parent
        if base.parent.name == "snapshots" and base.parent.parent.name.startswith("models--")
        else base
    )
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            if not path.is_symlink():
                continue
            try:
                target = path.resolve(strict=False)
            except (OSError, RuntimeError) as exc:
                raise PackError(f"{path}: a symbolic link that cannot be resolved ({brief(exc)}); refused") from exc
            if not target.is_relative_to(allowed):
                raise PackError(
                    f"{path}: a symbolic link to {target}, outside the pack {root}; refused (nothing is read or "
                    "written through a link that leaves the pack)"
                )


def read_npy(path: Path, dtype: str, ndim: int) -> np.ndarray:
    """A ``.npy`` file of a pack: its header checked first (no object dtype, data size = file size), then read
    with ``allow_pickle=False``; its dtype must be ``dtype`` and it must have ``ndim`` dimensions.

    Raises:
        CheckpointError: not a ``.npy`` file, or truncated (the header claims more bytes than follow it).
        PackError: a pickled (object) array, another dtype or number of dimensions.
    """
    _require_file(path)
    try:
        with open(path, "rb") as fh:
            shape, dt = _npy_header(fh, str(path))
            _check_npy_size(shape, dt, os.fstat(fh.fileno()).st_size - fh.tell(), str(path))
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read it ({type(exc).__name__}: {brief(exc)})") from exc
    if dt != np.dtype(dtype) or len(shape) != ndim:
        raise PackError(f"{path}: an array of dtype {dt} with shape {list(shape)}; expected {dtype} with {ndim} axes")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise CheckpointError(f"{path}: cannot read it as .npy ({brief(exc)}); the file is damaged") from exc


def _require_file(path: Path) -> None:
    """``CheckpointError`` unless ``path`` is a regular file (a folder, a FIFO or a device is never opened)."""
    if not path.is_file():
        raise CheckpointError(f"{path}: not a regular file; the pack is damaged")


def _npy_header(fh, where: str) -> tuple[tuple[int, ...], np.dtype]:
    fmt = np.lib.format
    try:
        major, _ = fmt.read_magic(fh)
        read = {1: fmt.read_array_header_1_0, 2: fmt.read_array_header_2_0}.get(major)
        if read is None:
            raise ValueError(f"unknown .npy version {major}")
        shape, _, dt = read(fh)
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise CheckpointError(f"{where}: not a readable .npy array ({brief(exc)}); the file is damaged") from exc
    if dt.hasobject:
        raise PackError(f"{where}: a pickled (object dtype {dt}) array; refused: a pack holds plain arrays only")
    return tuple(shape), dt


def _check_npy_size(shape, dt: np.dtype, available: int, where: str) -> None:
    n = math.prod(shape) * dt.itemsize
    if n != available:
        raise CheckpointError(
            f"{where}: the header declares shape {list(shape)} ({n} bytes) but {available} bytes follow it; "
            "the file is truncated or damaged"
        )


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """A ``.npz`` file of a pack: each member's header checked as ``read_npy`` does, then read with
    ``allow_pickle=False``.

    Raises:
        CheckpointError: not a zip of ``.npy`` files, or a member shorter or longer than its header says.
        PackError: a pickled (object) member.
    """
    _require_file(path)
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                where = f"{path}: member {info.filename}"
                with zf.open(info) as fh:
                    shape, dt = _npy_header(fh, where)
                    _check_npy_size(shape, dt, info.file_size - fh.tell(), where)
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except PackError:
        raise
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable .npz archive ({brief(exc)}); the file is damaged") from exc


def check_tensors(state: dict, expected: dict, weights: Path, config_path: Path) -> None:
    """Compare loaded tensors with the model's own (``expected``: name -> tensor, e.g. on the meta device):
    the same names, dtypes and shapes, and finite values.

    Raises:
        PackError: a missing, extra or misshapen tensor (naming it and ``config.json``'s model options), another
            dtype, or non-finite values.
    """
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        parts = [f"tensors {missing[:3]} missing"] * bool(missing) + [f"tensors {extra[:3]} unexpected"] * bool(extra)
        raise PackError(
            f"{weights}: {', '.join(parts)} for the model {config_path} describes; the weights belong to another model"
        )
    for name, want in expected.items():
        got = state[name]
        if got.dtype != want.dtype or got.shape != want.shape:
            raise PackError(
                f"{weights}: tensor {name!r} is {str(got.dtype)[6:]} {list(got.shape)}; the model {config_path} "
                f"describes needs {str(want.dtype)[6:]} {list(want.shape)}"
            )
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            bad = int((~torch.isfinite(got)).sum())
            raise PackError(
                f"{weights}: tensor {name!r} holds {bad} non-finite value(s) (NaN or infinity) of {got.numel()}; "
                "refused: such weights give no meaningful output"
            )


def as_pack_error(exc: ConfigError) -> PackError:
    """A ``ConfigError`` raised while checking a pack, as a ``PackError`` with the same message."""
    return exc if isinstance(exc, PackError) else PackError(str(exc))


__all__ = [
    "BOOL",
    "Fields",
    "INT0",
    "INT1",
    "Kind",
    "MAPPING",
    "ListOf",
    "MapOf",
    "NUM",
    "OPT_INT0",
    "PLAIN",
    "SCALAR",
    "SPLITS",
    "STR",
    "as_pack_error",
    "brief",
    "check_links",
    "check_tensors",
    "check_value",
    "is_int",
    "is_num",
    "one_of",
    "parse_json",
    "read_json",
    "read_npy",
    "read_npz",
    "read_text",
]
