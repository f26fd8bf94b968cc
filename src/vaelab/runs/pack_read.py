"""Reading a packed model folder, every file checked first (``vaelab.runs.pack_check`` says what and how).

``PackedRun`` (what ``vaelab.runs.open.open_run`` gives for a packed folder) reads a pack's files through these
functions: ``check_pack`` once when the folder is opened (links,
``config.json``, the weights, ``eval.json``, ``metrics.jsonl``, the sample and code arrays, the card), then
``read_config``, ``read_eval``, ``read_metrics``, ``read_epoch_samples`` and ``read_weights`` whenever a
command needs one of them. Errors: ``PackError`` (a malformed field, exit 2) or ``CheckpointError`` (a file that
cannot be read at all, exit 1), each one line naming the file and field.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from vaelab.core.errors import CheckpointError, ConfigError, PackError
from vaelab.models import LatentModel, build_model
from vaelab.runs.files import RunFiles, model_with_weights
from vaelab.runs.pack_check import (
    MAPPING,
    OPT_INT0,
    SCALAR,
    STR,
    Fields,
    Kind,
    ListOf,
    as_pack_error,
    brief,
    check_links,
    check_tensors,
    check_value,
    is_int,
    one_of,
    parse_json,
    read_json,
    read_npy,
    read_npz,
    read_text,
)
from vaelab.runs.packed import CARD_FILE, PACK_FORMAT, WEIGHTS_FILE
from vaelab.runs.records import check_eval, check_metrics_record
from vaelab.runs.spec import CONFIG_FORMAT, RUN_NAME, RunSpec

CONFIG = Fields(
    {
        "format": Kind(
            lambda v: is_int(v) and 1 <= v <= CONFIG_FORMAT,
            f"an integer from 1 to {CONFIG_FORMAT} (a larger one comes from a newer vaelab: upgrade vaelab)",
        ),
        "name": Kind(
            lambda v: isinstance(v, str) and RUN_NAME.fullmatch(v) is not None,
            "a run name (1-100 letters, digits, '-', '_' or '.', not starting with '.')",
        ),  # fmt: skip
        "created": STR,
        "environment": Fields({"devices": ListOf(STR)}, other=SCALAR),  # versions, hardware; devices: one per process
        "model": STR,
        "model_config": MAPPING,
        "train": MAPPING,
        "dataset": Fields({"name": STR, "n_train": OPT_INT0, "n_val": OPT_INT0}, required=("name",)),
        "packed": Fields(
            {
                "format": Kind(
                    lambda v: is_int(v) and v == PACK_FORMAT,
                    f"{PACK_FORMAT} (this vaelab reads pack format {PACK_FORMAT}; another format needs the vaelab "
                    "version that wrote it)",
                ),
                "weights": one_of(WEIGHTS_FILE),
                "from_run": STR,
                "checkpoint": one_of("best", "last"),
                "checkpoint_epoch": OPT_INT0,
                "packed": STR,
                "license": STR,
            },
            required=("format", "weights"),
        ),
    },
    required=("model", "model_config", "train", "dataset", "packed"),
)


def is_packed(path: str | Path) -> bool:
    """Whether ``path`` is a packed model folder: it holds ``model.safetensors``, or its ``config.json`` has a
    ``packed`` section (a pack that lost its weights is still one, and says so)."""
    path = Path(path)
    if (path / WEIGHTS_FILE).exists() or (path / WEIGHTS_FILE).is_symlink():
        return True
    if not (path / "config.json").is_file():
        return False
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(config, dict) and "packed" in config


def read_config(path: Path) -> dict:
    """A pack's ``config.json``, checked, with its model, train and dataset sections completed and typed (every
    option present, as ``RunSpec`` reads them).

    Raises:
        PackError: a malformed field. CheckpointError: missing or not JSON.
    """
    where = path / "config.json"
    config = read_json(where, CONFIG, "config.json (the model family and its options)")
    try:
        spec = RunSpec.from_config(config, where)
    except ConfigError as exc:
        raise as_pack_error(exc) from exc
    data = spec.data.to_dict()
    name = data.pop("dataset")
    return {
        **config,
        "model_config": spec.model_config.to_dict(),
        "train": spec.train.to_dict(),
        "dataset": {**config["dataset"], **data, "name": name},
    }


def read_eval(path: Path) -> dict | None:
    """A pack's ``eval.json`` checked (None if it has none).

    Raises:
        PackError: a malformed field, or an NLL without the numbers stated with it. CheckpointError: not JSON.
    """
    where = path / "eval.json"
    if not where.exists() and not where.is_symlink():
        return None
    ev = parse_json(read_text(where, "eval.json (the numbers of vaelab evaluate)"), str(where))
    check_eval(ev, str(where))
    return ev


def read_metrics(path: Path) -> list[dict]:
    """A pack's ``metrics.jsonl`` records, each checked (empty if it has none).

    Raises:
        PackError: a record with a malformed field. CheckpointError: a line that is not JSON.
    """
    where = path / "metrics.jsonl"
    if not where.exists() and not where.is_symlink():
        return []
    records = []
    for i, line in enumerate(read_text(where, "metrics.jsonl (the training curves)").splitlines(), 1):
        if line.strip():
            record = parse_json(line, f"{where}:{i}")
            check_metrics_record(record, f"{where}:{i}")
            records.append(record)
    return records


def read_epoch_samples(path: Path, image_shape) -> np.ndarray | None:
    """A pack's ``epoch_samples.npy``: uint8 ``(epochs, n, C, H, W)`` with ``(C, H, W) == image_shape``, or None.

    Raises:
        PackError: another dtype or shape, a pickled array. CheckpointError: damaged.
    """
    where = path / "epoch_samples.npy"
    if not where.exists() and not where.is_symlink():
        return None
    arr = read_npy(where, "uint8", 5)
    if list(arr.shape[2:]) != list(image_shape) or 0 in arr.shape[:2]:
        raise PackError(
            f"{where}: shape {list(arr.shape)}; expected (epochs >= 1, n >= 1, {', '.join(map(str, image_shape))}) "
            "for the images config.json describes"
        )
    return arr


def check_epoch_codes(path: Path, latent_dim: int) -> None:
    """Check a pack's ``epoch_codes.npz`` (the explorer's time-lapse; absent is fine): ``codes`` float
    ``(epochs, n, latent_dim)`` finite, ``epochs`` ``(epochs,)`` and ``index`` ``(n,)`` integers, optional
    ``labels`` ``(n,)`` integers.

    Raises:
        PackError: a missing array, another dtype or shape, non-finite codes. CheckpointError: damaged.
    """
    where = path / "epoch_codes.npz"
    if not where.exists() and not where.is_symlink():
        return
    f = read_npz(where)
    codes = f.get("codes")
    if codes is None or codes.dtype not in (np.float16, np.float32) or codes.ndim != 3:
        raise PackError(f"{where}: array codes: expected float16 or float32 (epochs, n, latent_dim)")
    e, n, d = codes.shape
    want = {"epochs": (e,), "index": (n,)} | ({"labels": (n,)} if "labels" in f else {})
    for key, shape in want.items():
        arr = f.get(key)
        if arr is None or arr.dtype.kind not in "iu" or arr.shape != shape:
            raise PackError(f"{where}: array {key}: expected integers of shape {list(shape)}")
    if d != latent_dim or not np.isfinite(codes).all():
        raise PackError(f"{where}: array codes: expected finite codes of dimension {latent_dim}, got {d}")


def read_card(path: Path) -> dict | None:
    """The front matter of a pack's ``README.md`` as a dict, read with ``huggingface_hub.ModelCard`` (which also
    checks ``model-index``); None if there is no card.

    Raises:
        PackError: front matter that is not a mapping or a ``model-index`` the Hub cannot read.
        CheckpointError: front matter that is not YAML.
    """
    import yaml
    from huggingface_hub import ModelCard

    where = path / CARD_FILE
    if not where.exists() and not where.is_symlink():
        return None
    text = read_text(where, "the model card")
    try:
        return ModelCard(text).data.to_dict()
    except yaml.YAMLError as exc:
        raise CheckpointError(f"{where}: front matter is not YAML ({brief(exc)}); the file is damaged") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise PackError(f"{where}: front matter: {brief(exc, 200)}") from exc


def read_weights(path: Path, config: dict, networks=None) -> dict[str, torch.Tensor]:
    """The tensors of ``model.safetensors``, checked against the model ``config`` (the checked ``config.json``)
    describes: header metadata, names, dtypes, shapes (the model is built on the ``meta`` device, allocating
    nothing), finite values.

    Raises:
        CheckpointError: missing, truncated or not safetensors. PackError: anything that does not fit.
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        what = "not a file" if weights.exists() else "missing"
        raise CheckpointError(f"{weights}: {what}; a pack holds its weights there (safetensors)")
    try:
        with safe_open(str(weights), "pt") as fh:
            meta = fh.metadata() or {}
        state = load_file(str(weights))
    except (OSError, SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{weights}: cannot read the weights ({brief(exc)}); truncated or damaged") from exc
    header = Fields(
        {"format": one_of(f"vaelab-weights-{PACK_FORMAT}"), "model": one_of(config["model"])},
        required=("format", "model"),
    )
    check_value(meta, header, f"{weights} (header metadata)", "")
    try:
        with torch.device("meta"):
            expected = build_model(config["model"], config["model_config"], networks, import_networks=False)
            expected = expected.state_dict()
    except (ConfigError, ValueError, RuntimeError) as exc:
        raise PackError(f"{path / 'config.json'}: model_config: the model cannot be built ({brief(exc)})") from exc
    except CheckpointError:  # a custom-vae whose modules are not given and cannot be imported: loading says so
        expected = {name: torch.empty_like(t, device="meta") for name, t in state.items()}  # finite values only
    check_tensors(state, expected, weights, path / "config.json")
    return state


def check_pack(path: Path) -> dict:
    """Check every file of the pack ``path`` (module docstring); returns its checked ``config.json``.

    Raises:
        PackError: a malformed field or a link leading out of the pack. CheckpointError: a damaged file.
    """
    check_links(path)
    config = read_config(path)
    read_weights(path, config)
    read_eval(path)
    read_metrics(path)
    read_epoch_samples(path, config["model_config"]["image_shape"])
    check_epoch_codes(path, config["model_config"].get("latent_dim") or 0)
    read_card(path)
    return config


class PackedRun(RunFiles):
    """A packed model folder (``vaelab.runs.packed``): the files of a run and one set of weights,
    ``model.safetensors``, every file checked once before it is used (module docstring). It cannot be trained
    further. Raises ``PackError`` / ``CheckpointError`` as ``check_pack``."""

    is_packed = True

    def __init__(self, path: str | Path, networks=None):
        super().__init__(path, networks)
        self._checked = False

    @property
    def weights_path(self) -> Path:
        return self.path / WEIGHTS_FILE

    def require(self) -> PackedRun:
        """Check every file of the pack, once (``check_pack``); returns self."""
        if not self._checked:
            check_pack(self.path)
            self._checked = True
        return self

    def load_config(self) -> dict:
        """``config.json``, checked and completed (``read_config``)."""
        return read_config(self.require().path)

    def read_metrics(self) -> list[dict]:
        return read_metrics(self.require().path)

    def read_eval(self) -> dict | None:
        return read_eval(self.require().path)

    def read_epoch_samples(self) -> np.ndarray | None:
        """uint8 ``(epochs, n, C, H, W)`` or None, checked against the model's image shape."""
        return read_epoch_samples(self.require().path, self.load_config()["model_config"]["image_shape"])

    def weights_epoch(self, which: str = "best") -> int | None:
        """The epoch of the checkpoint that was packed (``config.json``'s ``packed`` section)."""
        return self.load_config()["packed"].get("checkpoint_epoch")

    def load_model(self, which: str = "best", device: str | torch.device = "cpu") -> LatentModel:
        """The model with the packed weights (checked: ``read_weights``), in eval mode (one set of weights:
        ``which`` does not apply). Raises ``CheckpointError`` / ``PackError`` as ``check_pack``."""
        config = self.load_config()
        weights = read_weights(self.path, config, self.networks)
        return model_with_weights(
            config["model"], config["model_config"], weights, self.weights_path, device, self.networks, False
        )


__all__ = [
    "PackedRun",
    "check_pack",
    "is_packed",
    "read_card",
    "read_config",
    "read_epoch_samples",
    "read_eval",
    "read_metrics",
    "read_weights",
]
