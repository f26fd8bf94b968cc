"""The files every run leaves, and their formats: what a run folder and a packed folder have in common.

    config.json          model family + options, training options, dataset, seed, versions (``CONFIG_FILE``)
    metrics.jsonl        one JSON object per epoch (``METRICS_FILE``; keys: ``epoch``, ``step``, ``time_s``,
                         ``images_per_s``, ``train_<term>``, ``val_<term>``, ``best``; nats per image)
    eval.json            the test numbers (``EVAL_FILE``, written by ``vaelab evaluate``)
    result.json          a paper's reproduction (``vaelab.runs.results``)
    epoch_samples.npy    uint8 ``(epochs, n, C, H, W)``: decodings of fixed prior noise at each epoch end
    epoch_codes.npz      the explorer's training time-lapse of a 2-D model (``read_epoch_codes``)
    figures/  export/  site/  tensorboard/

``RunFiles`` reads them; ``vaelab.runs.folder.RunDir`` (a run being trained: checkpoints, the lock) and
``vaelab.runs.pack_read.PackedRun`` (safetensors weights) add how the model's weights are held.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vaelab.core.errors import CheckpointError, ConfigError, PackError, RunNotFoundError
from vaelab.core.io import atomic_path, atomic_write_text, storage_error
from vaelab.models import LatentModel, build_model
from vaelab.runs.records import check_eval, check_metrics_record

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
EVAL_FILE = "eval.json"
EPOCH_SAMPLES_FILE = "epoch_samples.npy"
EPOCH_CODES_FILE = "epoch_codes.npz"  # the explorer's training time-lapse (``write_epoch_codes``)
EPOCH_CODES_N = 2000  # test images whose codes the time-lapse follows
SAMPLE_NOISE_OFFSET = 1  # per-epoch samples decode the same prior noise, seeded with seed + 1
BEST_KEY = "best"  # the metrics.jsonl key marking an epoch whose parameters best.pt holds
# what a run leaves besides config.json: a folder holding any of these but no config.json is not started over
RUN_FILES = (
    METRICS_FILE,
    EVAL_FILE,
    EPOCH_SAMPLES_FILE,
    EPOCH_CODES_FILE,
    "result.json",
    "model.safetensors",
    "checkpoints",
    "tensorboard",
)


def read_epoch_codes(path) -> dict | None:
    """``epoch_codes.npz`` as a dict, or None if absent or unreadable:

    codes   float16 (epochs, n, 2)   one row per finished epoch (the encoder means)
    epochs  int32 (epochs,)          the epoch number of each row (1-based)
    index   int32 (n,)               the test images' indices
    labels  uint8 (n,)               their labels (absent for unlabelled data)
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            out = {k: f[k] for k in f.files}
    except Exception:  # noqa: BLE001 - any damage (a bad zip, a bad member): the time-lapse is written again
        return None
    return out if {"codes", "epochs", "index"} <= set(out) else None


def write_epoch_codes(path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` (``read_epoch_codes``'s keys) to ``path`` atomically. Raises ``StorageError``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
        except OSError as exc:
            raise storage_error(path, exc, sum(a.nbytes for a in arrays.values())) from exc


def model_with_weights(
    family: str, model_config: dict, weights: dict, where, device="cpu", networks=None, import_networks: bool = True
) -> LatentModel:
    """The one way a run's model is made: family ``family`` built from ``model_config`` (``config.json``'s), the
    tensors ``weights`` loaded into it, moved to ``device``, in eval mode. Both forms of a run use it
    (``RunDir.load_model`` from a checkpoint, ``PackedRun.load_model`` from ``model.safetensors``).

    Args:
        networks, import_networks: a ``custom-vae``'s encoder and decoder, and whether their classes may be
            imported when not given (``vaelab.models.build_model``; never for a pack, which is untrusted input).

    Raises:
        CheckpointError: the weights do not fit the model (naming ``where``, the file they came from).
    """
    model = build_model(family, model_config, networks, import_networks=import_networks)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip()] or [str(exc)]
        more = f"; and {len(lines) - 1} more" if len(lines) > 1 else ""
        raise CheckpointError(f"{where}: weights do not fit model {family!r} ({lines[0].rstrip('.')}{more})") from exc
    return model.to(device).eval()


def _read_text(path: Path) -> str:
    """A run's text file (``CheckpointError``, one line, when it cannot be read or is not UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{path}: not UTF-8 text; the file is damaged") from exc
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read it ({exc.strerror or exc})") from exc


def _damaged_if(check, value, where: str) -> None:
    """Run ``check(value, where)``; a malformed field of a run's own file is a damaged run (``CheckpointError``)."""
    try:
        check(value, where)
    except PackError as exc:
        raise CheckpointError(f"{exc}; the file is damaged") from exc


class RunFiles:
    """The files of one run, read (and ``eval.json`` written) alike in a run folder and a packed folder.

    Subclasses say how the weights are held: ``is_packed`` and ``load_model(which, device)``.

    Attributes:
        path: the folder. networks: the encoder and decoder modules a ``custom-vae`` run's model is built with
            (``vaelab.models.custom.Networks``, given from Python: ``vaelab.load_run(path, encoder=..., decoder=...)``);
            None builds them from the classes its config names.
    """

    is_packed = False

    def __init__(self, path: str | Path, networks=None):
        self.path = Path(path)
        self.networks = networks

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    config_path = property(lambda self: self.path / CONFIG_FILE)
    metrics_path = property(lambda self: self.path / METRICS_FILE)
    eval_path = property(lambda self: self.path / EVAL_FILE)
    epoch_samples_path = property(lambda self: self.path / EPOCH_SAMPLES_FILE)
    epoch_codes_path = property(lambda self: self.path / EPOCH_CODES_FILE)
    checkpoints = property(lambda self: self.path / "checkpoints")  # a packed folder has none
    tensorboard = property(lambda self: self.path / "tensorboard")
    figures = property(lambda self: self.path / "figures")
    export = property(lambda self: self.path / "export")
    site = property(lambda self: self.path / "site")

    def exists(self) -> bool:
        return self.config_path.is_file()

    @property
    def in_hub_cache(self) -> bool:
        """Whether the folder is a snapshot in the Hugging Face Hub's cache (``.../models--ORG--NAME/snapshots/
        REVISION``, what ``vaelab.load`` of a repository id opens): its files are links into the cache's blobs and
        stand for one commit, so nothing is written there."""
        parent = self.path.absolute().parent
        return parent.name == "snapshots" and parent.parent.name.startswith("models--")

    def check_writable(self, command: str) -> None:
        """Refuse ``command`` (e.g. ``vaelab evaluate``) writing into a Hub cache snapshot (``in_hub_cache``).

        Raises:
            ConfigError: one line saying how to copy the snapshot to a folder of your own.
        """
        if self.in_hub_cache:
            raise ConfigError(
                f"{self.path}: a snapshot in the Hugging Face cache; {command} would write into it (its files stand "
                f"for one commit). Copy it first: cp -rL {self.path} my-model (or shutil.copytree(..., "
                "symlinks=False)), then use the copy"
            )

    def require(self):
        """Returns self if this is a run directory (it has ``config.json``).

        Raises:
            RunNotFoundError: the path does not exist, is a file, or is a folder holding no run's files (bad
                input: a ``ConfigError``, exit 2; also a ``CheckpointError``).
            CheckpointError: a folder holding a run's files but no ``config.json`` (a damaged run, exit 1).
        """
        if not self.exists():
            error = CheckpointError if self.path.is_dir() and self.run_files() else RunNotFoundError
            what = "no config.json" if self.path.exists() else "no such folder"
            raise error(f"{self.path}: not a vaelab run directory ({what}); train one first")
        return self

    def run_files(self) -> list[str]:
        """The names of ``RUN_FILES`` present in the folder (checkpoints/ and tensorboard/ when not empty)."""
        found = []
        for name in RUN_FILES:
            p = self.path / name
            if p.is_dir() and not p.is_symlink():
                if any(p.iterdir()):
                    found.append(name + "/")
            elif p.exists() or p.is_symlink():
                found.append(name)
        return found

    def load_config(self) -> dict:
        """``config.json`` as a dict. Raises ``CheckpointError`` if it is missing, unreadable or not JSON."""
        self.require()
        try:
            config = json.loads(self.config_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{self.config_path}: cannot read it as JSON ({exc})") from exc
        if not isinstance(config, dict):
            raise CheckpointError(f"{self.config_path}: expected a JSON object")
        return config

    def read_metrics(self) -> list[dict]:
        """The ``metrics.jsonl`` records, one per epoch, each checked (``vaelab.runs.records``).

        Raises:
            CheckpointError: the file is not UTF-8 text, a line is not JSON, or a record is malformed (one line
                naming the file, the line and the field).
        """
        if not self.metrics_path.is_file():
            return []
        out = []
        for i, line in enumerate(_read_text(self.metrics_path).splitlines(), 1):
            if line.strip():
                try:
                    record = json.loads(line)
                except (json.JSONDecodeError, RecursionError) as exc:
                    raise CheckpointError(f"{self.metrics_path}:{i}: not a JSON object") from exc
                _damaged_if(check_metrics_record, record, f"{self.metrics_path}:{i}")
                out.append(record)
        return out

    def read_eval(self) -> dict | None:
        """``eval.json`` (None when absent), checked (``vaelab.runs.records.check_eval``).

        Raises:
            CheckpointError: not JSON, or a malformed field (one line naming the file and the field).
        """
        if not self.eval_path.is_file():
            return None
        try:
            ev = json.loads(_read_text(self.eval_path))
        except (json.JSONDecodeError, RecursionError) as exc:
            raise CheckpointError(f"{self.eval_path}: cannot read it as JSON ({exc})") from exc
        _damaged_if(check_eval, ev, str(self.eval_path))
        return ev

    def save_eval(self, result: dict) -> None:
        atomic_write_text(self.eval_path, json.dumps(result, indent=2) + "\n")

    def read_epoch_samples(self) -> np.ndarray | None:
        """uint8 ``(epochs, n, C, H, W)`` or None when absent (read with ``allow_pickle=False``).

        Raises:
            CheckpointError: the file is damaged or holds another kind of array (one line naming it).
        """
        p = self.epoch_samples_path
        if not p.is_file():
            return None
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckpointError(f"{p}: damaged, not a NumPy array of decoded samples ({first})") from exc
        if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 5:
            raise CheckpointError(f"{p}: expected uint8 images (epochs, n, C, H, W), found {arr.dtype} {arr.shape}")
        return arr

    def read_epoch_codes(self) -> dict | None:
        """``epoch_codes.npz`` (``read_epoch_codes``) or None."""
        return read_epoch_codes(self.epoch_codes_path)

    def weights_epoch(self, which: str = "best") -> int | None:  # pragma: no cover - subclasses
        """The epoch whose parameters checkpoint ``which`` holds."""
        raise NotImplementedError

    def load_model(self, which: str = "best", device="cpu"):  # pragma: no cover - subclasses
        """The model with the weights of checkpoint ``which``, in eval mode."""
        raise NotImplementedError
