"""The run directory: everything about one model lives in ``runs/<name>/``.

    config.json          model name + config, training config, dataset, seed, versions
    checkpoints/         last.pt (every epoch end and on Ctrl-C), best.pt (best validation score)
    metrics.jsonl        one JSON object per epoch
    tensorboard/         TensorBoard scalars (and the embedding projector, see ``vaelab plot projector``)
    epoch_samples.npy    uint8 (epochs, n, C, H, W): decodings of fixed prior noise at each epoch end
    eval.json            ``vaelab evaluate``
    figures/  export/  site/

Files are written atomically (``vaelab.core.io``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from vaelab.core.errors import CheckpointError
from vaelab.core.io import atomic_path, atomic_write_text, load_checkpoint
from vaelab.models import LatentModel, build_model

class RunDir:
    """Paths and I/O of one run directory (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    config_path = property(lambda self: self.path / "config.json")
    checkpoints = property(lambda self: self.path / "checkpoints")
    last_ckpt = property(lambda self: self.path / "checkpoints" / "last.pt")
    best_ckpt = property(lambda self: self.path / "checkpoints" / "best.pt")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    tensorboard = property(lambda self: self.path / "tensorboard")
    eval_path = property(lambda self: self.path / "eval.json")
    figures = property(lambda self: self.path / "figures")
    export = property(lambda self: self.path / "export")
    site = property(lambda self: self.path / "site")
    epoch_samples_path = property(lambda self: self.path / "epoch_samples.npy")

    def exists(self) -> bool:
        return self.config_path.is_file()

    def require(self) -> "RunDir":
        """Raise ``CheckpointError`` unless this is a run directory."""
        if not self.exists():
            raise CheckpointError(f"{self.path}: not a vaelab run directory (no config.json); train one first")
        return self

    # config -----------------------------------------------------------------------------------------------
    def save_config(self, config: dict) -> None:
        atomic_write_text(self.config_path, json.dumps(config, indent=2, sort_keys=True) + "\n")

    def load_config(self) -> dict:
        self.require()
        try:
            return json.loads(self.config_path.read_text())
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{self.config_path}: not valid JSON ({exc})") from None

    # metrics ----------------------------------------------------------------------------------------------
    def append_metrics(self, record: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.metrics_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict]:
        if not self.metrics_path.is_file():
            return []
        out = []
        for i, line in enumerate(self.metrics_path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    raise CheckpointError(f"{self.metrics_path}:{i}: not a JSON object") from None
        return out

    def truncate_metrics(self, last_epoch: int) -> None:
        """Drop records of epochs after ``last_epoch`` (written after the checkpoint a resume starts from)."""
        kept = [r for r in self.read_metrics() if r.get("epoch", 0) <= last_epoch]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

    def read_eval(self) -> dict | None:
        if not self.eval_path.is_file():
            return None
        return json.loads(self.eval_path.read_text())

    def save_eval(self, result: dict) -> None:
        atomic_write_text(self.eval_path, json.dumps(result, indent=2) + "\n")

    def read_epoch_samples(self) -> np.ndarray | None:
        """uint8 ``(epochs, n, C, H, W)`` or None."""
        p = self.epoch_samples_path
        return np.load(p) if p.is_file() else None

    def save_epoch_samples(self, arr: np.ndarray) -> None:
        with atomic_path(self.epoch_samples_path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, arr)

    # model ------------------------------------------------------------------------------------------------
    def checkpoint_path(self, which: str = "best") -> Path:
        if which not in ("best", "last"):
            raise CheckpointError(f"checkpoint {which!r}: expected 'best' or 'last'")
        path = self.best_ckpt if which == "best" else self.last_ckpt
        if which == "best" and not path.is_file() and self.last_ckpt.is_file():
            path = self.last_ckpt
        return path

    def load_model(self, which: str = "best", device: str | torch.device = "cpu") -> LatentModel:
        """The run's model with the weights of its ``best`` (default) or ``last`` checkpoint, in eval mode."""
        self.require()
        path = self.checkpoint_path(which)
        state = load_checkpoint(path)
        model = build_model(state["model"], state["model_config"])
        try:
            model.load_state_dict(state["model_state"])
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: weights do not fit model {state['model']!r} ({exc})") from None
        return model.to(device).eval()
