"""The relay snapshot: one run's whole training state as a compact, pickle-free file that travels between machines.

A long recipe (Burda et al.'s 3,280 epochs) outlives any one machine here. ``vaelab reproduce RECIPE --relay DIR``
keeps ``DIR/snapshot.safetensors`` up to date while it trains; the same command on any other machine, CPU or GPU,
continues from it. The file holds

* every tensor of the trainer's checkpoint (weights, optimizer moments, generator state, the epoch's order, the
  running sums), as safetensors entries, and
* one JSON document in the safetensors metadata (key ``vaelab_relay``): the format number, the recipe, the run's
  ``config.json``, the non-tensor part of the checkpoint, and the *segments*: which epochs ran where (device,
  hardware, vaelab and torch versions, seconds), and whether each continuation was bit-exact;
* every ``metrics.jsonl`` record so far, as zlib-compressed JSON in one uint8 entry (``METRICS_TENSOR``; format 2:
  the records of 3,280 epochs of a two-layer model took 1.7 MB as plain JSON, which would have pushed the snapshot
  past ``MAX_SNAPSHOT_BYTES``). Format 1 held them in the JSON document; it is still read.

Writing is one atomic rename (``vaelab.core.io``): a crash or a signal at any moment leaves the previous snapshot
or the new one, never half of one. ``status.json`` beside it is a small human-readable summary (epoch reached,
seconds per epoch, ETA) for ``vaelab relay status`` and the leaderboard; it is derived, never read back as state.

Nothing here unpickles: a snapshot from an untrusted source can at worst be refused with one line
(``RelayError``: corrupt, another recipe, or a newer format).
"""

from __future__ import annotations

import json
import math
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vaelab.core.errors import CheckpointError, ConfigError
from vaelab.core.io import atomic_write_bytes, atomic_write_text

RELAY_FORMAT = 2  # bump when the layout changes; a reader refuses a newer one (2: the metrics compressed)
SNAPSHOT_FILE = "snapshot.safetensors"
STATUS_FILE = "status.json"
META_KEY = "vaelab_relay"
SEGMENTS_FILE = "relay.json"  # RUN/relay.json: the segments of a relayed run (which epochs ran where)
MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024  # what the repository may hold per recipe
METRICS_TENSOR = "metrics.zlib_json"  # the metrics records: zlib-compressed JSON bytes as a uint8 entry
MAX_METRICS_BYTES = 256 * 1024 * 1024  # a bound on their decompressed size (a crafted file cannot exhaust memory)
_TENSOR = "__tensor__"  # {"__tensor__": name}: a tensor stored as a safetensors entry
_ITEMS = "__items__"  # {"__items__": [[key, value], ...]}: a dict whose keys are not all strings


class RelayError(ConfigError, CheckpointError):
    """A relay folder cannot be continued: its snapshot is corrupt, belongs to another recipe, or was written by a
    newer vaelab (the message names the file and what was expected). Bad input to ``--relay``: exit status 2."""


# checkpoint dict <-> (tensors, JSON) ---------------------------------------------------------------------
def flatten_state(state, tensors: dict[str, torch.Tensor], prefix: str = "s"):
    """The JSON-able form of a nested checkpoint ``state`` (dicts, lists, tensors, numbers, strings, None); every
    tensor goes into ``tensors`` under a dotted name and is replaced by a reference to it."""
    if isinstance(state, torch.Tensor):
        tensors[prefix] = state.detach().cpu().contiguous()
        return {_TENSOR: prefix}
    if isinstance(state, dict):
        if all(isinstance(k, str) for k in state) and _TENSOR not in state and _ITEMS not in state:
            return {k: flatten_state(v, tensors, f"{prefix}.{k}") for k, v in state.items()}
        return {_ITEMS: [[k, flatten_state(v, tensors, f"{prefix}.{i}")] for i, (k, v) in enumerate(state.items())]}
    if isinstance(state, (list, tuple)):
        return [flatten_state(v, tensors, f"{prefix}.{i}") for i, v in enumerate(state)]
    if state is None or isinstance(state, (bool, int, str)):
        return state
    if isinstance(state, float):
        return state if math.isfinite(state) else {"__float__": repr(state)}
    raise TypeError(f"cannot store {type(state).__name__} in a relay snapshot (at {prefix})")


def unflatten_state(doc, tensors: dict[str, torch.Tensor]):
    """The inverse of ``flatten_state`` (raises ``KeyError`` / ``TypeError`` / ``ValueError`` on a bad document)."""
    if isinstance(doc, dict):
        if _TENSOR in doc:
            return tensors[doc[_TENSOR]]
        if _ITEMS in doc:
            return {k: unflatten_state(v, tensors) for k, v in doc[_ITEMS]}
        if "__float__" in doc:
            return float(doc["__float__"])
        return {k: unflatten_state(v, tensors) for k, v in doc.items()}
    if isinstance(doc, list):
        return [unflatten_state(v, tensors) for v in doc]
    return doc


# the snapshot --------------------------------------------------------------------------------------------
@dataclass
class Snapshot:
    """One relay snapshot.

    Attributes:
        recipe: the recipe's name (e.g. ``burda-vae-1layer-k1``).
        config: the run's ``config.json``.
        state: the trainer's checkpoint dict (``Trainer.state_dict()``), tensors on the CPU.
        metrics: the run's ``metrics.jsonl`` records so far.
        segments: one dict per stretch of training on one machine: ``from_epoch`` / ``to_epoch`` (epochs done at
            its start and end), ``device``, ``hardware``, ``vaelab``, ``torch``, ``seconds``, ``started``,
            ``bit_exact`` (whether it continued the random streams and device of the previous segment exactly) and
            ``note``.
        written_by: vaelab version and device of the last write.
    """

    recipe: str
    config: dict
    state: dict
    metrics: list[dict] = field(default_factory=list)
    segments: list[dict] = field(default_factory=list)
    written_by: dict = field(default_factory=dict)

    @property
    def epochs_done(self) -> int:
        return int(self.state.get("epoch", 0))

    @property
    def epochs_total(self) -> int:
        return int(self.config.get("train", {}).get("epochs", 0))


def save_snapshot(folder: str | Path, snap: Snapshot) -> Path:
    """Write ``snap`` to ``folder/snapshot.safetensors`` atomically, then ``folder/status.json``.

    Raises:
        StorageError: the disk is full or the folder not writable (the previous snapshot is intact).
    """
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {}
    doc = {
        "format": RELAY_FORMAT,
        "recipe": snap.recipe,
        "config": snap.config,
        "state": flatten_state(snap.state, tensors),
        "metrics": {_TENSOR: METRICS_TENSOR},
        "segments": snap.segments,
        "written_by": snap.written_by,
    }
    packed = zlib.compress(json.dumps(snap.metrics, separators=(",", ":")).encode(), 9)
    tensors[METRICS_TENSOR] = torch.frombuffer(bytearray(packed), dtype=torch.uint8)
    folder = Path(folder)
    path = folder / SNAPSHOT_FILE
    atomic_write_bytes(path, save(tensors, metadata={META_KEY: json.dumps(doc, separators=(",", ":"))}))
    atomic_write_text(folder / STATUS_FILE, json.dumps(relay_status(snap, path.stat().st_size), indent=2) + "\n")
    return path


def load_snapshot(folder: str | Path, recipe: str | None = None) -> Snapshot:
    """Read ``folder/snapshot.safetensors``.

    Args:
        recipe: if given, the snapshot must belong to this recipe.

    Raises:
        RelayError: the file is missing, truncated or corrupt, was written by a newer vaelab (format above
            ``RELAY_FORMAT``), or belongs to another recipe.
    """
    path = Path(folder) / SNAPSHOT_FILE
    if not path.is_file():
        raise RelayError(f"{path}: no relay snapshot here")
    doc, tensors = _read(path)
    fmt = doc.get("format")
    if not isinstance(fmt, int) or fmt > RELAY_FORMAT:
        raise RelayError(
            f"{path}: relay format {fmt!r} was written by a newer vaelab (this one reads format {RELAY_FORMAT} and "
            "older); upgrade vaelab to continue it"
        )
    if recipe is not None and doc.get("recipe") != recipe:
        raise RelayError(f"{path}: a snapshot of recipe {doc.get('recipe')!r}, not {recipe!r}; check --relay")
    try:
        metrics = _metrics(doc["metrics"], tensors)
        state = unflatten_state(doc["state"], tensors)
        snap = Snapshot(doc["recipe"], doc["config"], state, metrics, doc["segments"], doc["written_by"])
        _check_consistent(snap)
    except (KeyError, TypeError, ValueError, AttributeError, zlib.error) as exc:
        raise RelayError(f"{path}: corrupt relay snapshot ({type(exc).__name__}: {exc})") from exc
    return snap


def _metrics(entry, tensors: dict[str, torch.Tensor]) -> list[dict]:
    """The metrics records: in the JSON document (format 1), or the zlib-compressed JSON entry it names (2)."""
    if isinstance(entry, list):
        return entry
    packed = tensors.pop(entry[_TENSOR])
    if packed.dtype != torch.uint8 or packed.dim() != 1:
        raise ValueError(f"{entry[_TENSOR]}: expected uint8 bytes, found {packed.dtype} {tuple(packed.shape)}")
    inflate = zlib.decompressobj()
    text = inflate.decompress(packed.numpy().tobytes(), MAX_METRICS_BYTES)
    if inflate.unconsumed_tail or not inflate.eof:
        raise ValueError(f"{entry[_TENSOR]}: truncated, or over {MAX_METRICS_BYTES} bytes decompressed")
    records = json.loads(text)
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise TypeError("metrics must be a list of JSON objects")
    return records


def _read(path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        doc = json.loads(meta[META_KEY])
    except Exception as exc:  # safetensors raises its own error types for truncated / malformed files
        raise RelayError(f"{path}: corrupt relay snapshot, cannot read it ({type(exc).__name__}: {exc})") from exc
    if not isinstance(doc, dict):
        raise RelayError(f"{path}: corrupt relay snapshot (its metadata is not a JSON object)")
    return doc, tensors


def _check_consistent(snap: Snapshot) -> None:
    """Raise ``ValueError`` / ``TypeError`` unless the parts of ``snap`` fit together."""
    if not isinstance(snap.config, dict) or not isinstance(snap.state, dict):
        raise TypeError("config and state must be JSON objects")
    if snap.state.get("model") != snap.config.get("model"):
        raise ValueError(f"state holds model {snap.state.get('model')!r}, config {snap.config.get('model')!r}")
    if not isinstance(snap.segments, list) or not all(isinstance(seg, dict) for seg in snap.segments):
        raise TypeError("segments must be a list of JSON objects")
    epochs = [int(r["epoch"]) for r in snap.metrics]
    if epochs != list(range(1, snap.epochs_done + 1)):
        raise ValueError(f"metrics hold epochs {epochs[:1]}..{epochs[-1:]}, the state {snap.epochs_done} done")
    for name, value in snap.state["model_state"].items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"weight {name} holds NaN or infinite values")


# status ------------------------------------------------------------------------------------------------
def read_segments(run, strict: bool = False) -> list[dict]:
    """The relay segments of ``run`` (a run folder: ``RUN/relay.json``), or [] when it has none.

    Args:
        strict: raise on a ``relay.json`` that is there but unusable (the relay's writer, which would otherwise
            trip over it or overwrite the history); without it such a file counts as none, and only the
            segments that are JSON objects are returned (reports).

    Raises:
        CheckpointError: with ``strict``, the file is unreadable or not ``{"segments": [objects]}`` (one line
            naming it).
    """
    path = Path(run.path) / SEGMENTS_FILE
    if not path.exists():
        return []
    try:
        doc = json.loads(path.read_text())
        if not isinstance(doc, dict):
            raise TypeError(f"found {type(doc).__name__}")
        segments = doc["segments"]
        if not isinstance(segments, list) or not all(isinstance(seg, dict) for seg in segments):
            raise TypeError(f"found {json.dumps(segments)[:60]}")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        if not strict:
            return []
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
        raise CheckpointError(f'{path}: damaged, expected {{"segments": [objects]}} ({why})') from exc
    return segments


def seconds_per_epoch(segments: list[dict]) -> float | None:
    """The training rate of the latest segment that finished an epoch (seconds per epoch), or None."""
    for seg in reversed(segments):
        done = seg.get("to_epoch", 0) - seg.get("from_epoch", 0)
        if done > 0 and seg.get("seconds"):
            return seg["seconds"] / done
    return None


def relay_status(snap: Snapshot, nbytes: int | None = None) -> dict:
    """The summary written to ``status.json``: recipe, epochs done of the protocol's, the last segment's device and
    rate, and the ETA at that rate (seconds; None before a first epoch)."""
    rate = seconds_per_epoch(snap.segments)
    left = max(snap.epochs_total - snap.epochs_done, 0)
    last = snap.segments[-1] if snap.segments else {}
    return {
        "recipe": snap.recipe,
        "epochs_done": snap.epochs_done,
        "epochs_total": snap.epochs_total,
        "step_in_epoch": int(snap.state.get("step_in_epoch", 0)),
        "complete": left == 0 and int(snap.state.get("step_in_epoch", 0)) == 0,
        "seconds_per_epoch": rate,
        "eta_seconds": None if rate is None else rate * left,
        "device": last.get("device"),
        "hardware": last.get("hardware"),
        "segments": len(snap.segments),
        "bit_exact": all(s.get("bit_exact", True) for s in snap.segments[1:]),
        "snapshot_bytes": nbytes,
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


_NUMBER = (int, float)
_STATUS_TYPES = {  # what relay_status writes; a field that is there must have its type
    "recipe": (str,),
    "epochs_done": (int,),
    "epochs_total": (int,),
    "step_in_epoch": (int,),
    "seconds_per_epoch": (*_NUMBER, type(None)),
    "eta_seconds": (*_NUMBER, type(None)),
    "device": (str, type(None)),
    "hardware": (str, type(None)),
    "segments": (int,),
    "written": (str,),
}
_STATUS_REQUIRED = ("recipe", "epochs_done", "epochs_total")


def load_status(folder: str | Path) -> dict:
    """``folder/status.json``, checked: an object with ``recipe``, ``epochs_done``, ``epochs_total`` and every
    field of ``relay_status`` that it holds of the type that writes it.

    Raises:
        RelayError: the file is missing, unreadable (not JSON, a folder) or holds another shape (one line naming it
            and the field).
    """
    path = Path(folder) / STATUS_FILE
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not JSON"
        raise RelayError(f"{path}: unreadable ({why})") from exc
    if not isinstance(doc, dict):
        raise RelayError(f"{path}: expected a JSON object, found {type(doc).__name__}")
    for key in _STATUS_REQUIRED:
        if key not in doc:
            raise RelayError(f"{path}: field {key}: missing")
    for key, types in _STATUS_TYPES.items():
        value = doc.get(key)
        if key in doc and (isinstance(value, bool) or not isinstance(value, types)):
            wanted = " or ".join(sorted({"null" if t is type(None) else t.__name__ for t in types}))
            raise RelayError(f"{path}: field {key}: expected {wanted}, found {json.dumps(value)[:40]}")
    return doc


def read_status(folder: str | Path) -> dict | None:
    """``folder/status.json`` as ``load_status`` checks it, or None when absent or unusable (it is only a
    summary, rewritten with the next snapshot)."""
    try:
        return load_status(folder)
    except RelayError:
        return None


def format_duration(seconds: float | None) -> str:
    """``40 s`` below two minutes, ``14 min`` below two hours, else ``3.2 h``; ``?`` for None."""
    if seconds is None:
        return "?"
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
