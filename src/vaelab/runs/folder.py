"""The run directory: everything about one model lives in ``runs/<name>/``.

    config.json          model name + config, training config, dataset, seed, versions
    checkpoints/         last.pt (every epoch end and on Ctrl-C), best.pt (best validation score)
    metrics.jsonl        one JSON object per epoch
    tensorboard/         TensorBoard scalars (and the embedding projector, see ``vaelab plot projector``)
    epoch_samples.npy    uint8 (epochs, n, C, H, W): decodings of fixed prior noise at each epoch end
    eval.json            ``vaelab evaluate``
    figures/  export/  site/
    .lock, .owner        held by the one process training the run (``RunDir.lock``)

A packed model folder (``vaelab pack``: ``model.safetensors``, ``config.json``, ``README.md``; see
``vaelab.train.pack``) is read through the same class: ``is_packed`` is true, ``require`` checks every file and
field of it once (a pack is untrusted input: ``vaelab.train.pack_read``), the readers below return its checked
contents and ``load_model`` loads its checked weights.

Files are written atomically (``vaelab.core.io``): a crash at any moment leaves each file either old or new.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path

import numpy as np
import torch

from vaelab.core.errors import CheckpointError, RunBusyError
from vaelab.core.io import append_line, atomic_path, atomic_write_text, load_checkpoint, storage_error
from vaelab.models import LatentModel, build_model
from vaelab.models.registry import MODELS


class RunDir:
    """Paths and I/O of one run directory (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._pack_checked = False

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
    lock_path = property(lambda self: self.path / ".lock")
    owner_path = property(lambda self: self.path / ".owner")

    # one trainer per run ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self):
        """Hold the run's exclusive lock (``filelock``, an OS-level ``flock`` released when the process dies)
        while training or fitting; the holder's process id is written to ``.owner``.

        Raises:
            RunBusyError: another process holds it (the message names the run and that process).
            StorageError: the run folder cannot be created.
        """
        from filelock import FileLock, Timeout

        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(self.path, exc) from exc
        lock = FileLock(str(self.lock_path), timeout=0)
        try:
            lock.acquire()
        except Timeout as exc:
            raise RunBusyError(
                f"{self.path}: the run is being trained by {self._owner()}; wait for it to finish "
                "or stop it (Ctrl-C saves a checkpoint) before training this run again"
            ) from exc
        try:
            with contextlib.suppress(OSError):
                self.owner_path.write_text(
                    json.dumps(
                        {
                            "pid": os.getpid(),
                            "host": socket.gethostname(),
                            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        }
                    )
                )
            yield self
        finally:
            with contextlib.suppress(OSError):
                self.owner_path.unlink()
            lock.release()

    def _owner(self) -> str:
        try:
            owner = json.loads(self.owner_path.read_text())
            return f"process {owner['pid']} on {owner['host']} (since {owner['since']})"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def exists(self) -> bool:
        return self.config_path.is_file()

    @property
    def is_packed(self) -> bool:
        """Whether this is a packed model folder (``model.safetensors`` instead of checkpoints)."""
        from vaelab.train.pack_read import is_packed

        return is_packed(self.path)

    def require(self) -> RunDir:
        """Raise ``CheckpointError`` unless this is a run directory; check a packed folder's every file once
        (``vaelab.train.pack_read.check_pack``: ``PackError`` for a malformed field, ``CheckpointError`` for a
        damaged file)."""
        if self.is_packed:
            if not self._pack_checked:
                from vaelab.train.pack_read import check_pack

                check_pack(self.path)
                self._pack_checked = True
            return self
        if not self.exists():
            raise CheckpointError(f"{self.path}: not a vaelab run directory (no config.json); train one first")
        return self

    # config -----------------------------------------------------------------------------------------------
    def save_config(self, config: dict) -> None:
        atomic_write_text(self.config_path, json.dumps(config, indent=2, sort_keys=True) + "\n")

    def load_config(self) -> dict:
        """``config.json`` as a dict. Raises ``CheckpointError`` if it is missing, unreadable or not JSON (of a
        packed folder: checked and completed, ``vaelab.train.pack_read.read_config``)."""
        self.require()
        if self.is_packed:
            from vaelab.train.pack_read import read_config

            return read_config(self.path)
        try:
            config = json.loads(self.config_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{self.config_path}: cannot read it as JSON ({exc})") from exc
        if not isinstance(config, dict):
            raise CheckpointError(f"{self.config_path}: expected a JSON object")
        return config

    # metrics ----------------------------------------------------------------------------------------------
    def append_metrics(self, record: dict) -> None:
        """Append one epoch's record to ``metrics.jsonl`` (whole lines only, even on a full disk)."""
        append_line(self.metrics_path, json.dumps(record))

    def read_metrics(self) -> list[dict]:
        if self.is_packed:
            from vaelab.train.pack_read import read_metrics

            return read_metrics(self.require().path)
        if not self.metrics_path.is_file():
            return []
        out = []
        for i, line in enumerate(self.metrics_path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise CheckpointError(f"{self.metrics_path}:{i}: not a JSON object") from exc
        return out

    def truncate_metrics(self, last_epoch: int) -> None:
        """Drop records of epochs after ``last_epoch`` (written after the checkpoint a resume starts from)."""
        kept = [r for r in self.read_metrics() if r.get("epoch", 0) <= last_epoch]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

    def read_eval(self) -> dict | None:
        if self.is_packed:
            from vaelab.train.pack_read import read_eval

            return read_eval(self.require().path)
        if not self.eval_path.is_file():
            return None
        try:
            return json.loads(self.eval_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{self.eval_path}: cannot read it as JSON ({exc})") from exc

    def save_eval(self, result: dict) -> None:
        atomic_write_text(self.eval_path, json.dumps(result, indent=2) + "\n")

    def read_epoch_samples(self) -> np.ndarray | None:
        """uint8 ``(epochs, n, C, H, W)`` or None (read with ``allow_pickle=False``; of a packed folder, checked)."""
        if self.is_packed:
            from vaelab.train.pack_read import read_epoch_samples

            return read_epoch_samples(self.require().path, self.load_config()["model_config"]["image_shape"])
        p = self.epoch_samples_path
        return np.load(p, allow_pickle=False) if p.is_file() else None

    def save_epoch_samples(self, arr: np.ndarray) -> None:
        with atomic_path(self.epoch_samples_path) as tmp:
            try:
                with open(tmp, "wb") as fh:
                    np.save(fh, arr)
            except OSError as exc:
                raise storage_error(self.epoch_samples_path, exc, arr.nbytes) from exc

    # model ------------------------------------------------------------------------------------------------
    def checkpoint_path(self, which: str = "best") -> Path:
        if which not in ("best", "last"):
            raise CheckpointError(f"checkpoint {which!r}: expected 'best' or 'last'")
        path = self.best_ckpt if which == "best" else self.last_ckpt
        if which == "best" and not path.is_file() and self.last_ckpt.is_file():
            path = self.last_ckpt
        return path

    def check_checkpoint(self, state: dict, path: Path) -> None:
        """Raise ``CheckpointError`` if checkpoint ``state`` (read from ``path``) holds another model or another
        model configuration than ``config.json``, naming both files and the first differing option."""
        config = self.load_config()
        if state.get("model") != config.get("model"):
            raise CheckpointError(
                f"{path} holds model {state.get('model')!r} but {self.config_path} says "
                f"{config.get('model')!r}; the checkpoint belongs to another run"
            )
        if config.get("model") not in MODELS:
            raise CheckpointError(f"{self.config_path}: unknown model {config.get('model')!r}")
        cls = MODELS[config["model"]][0]
        try:
            saved = cls.from_dict(config.get("model_config", {})).to_dict()
            held = cls.from_dict(state.get("model_config", {})).to_dict()
        except ValueError as exc:
            raise CheckpointError(f"{path} / {self.config_path}: model configuration not readable ({exc})") from exc
        for key in saved:
            if saved[key] != held.get(key):
                raise CheckpointError(
                    f"{path} was made with {key}={held.get(key)!r} but {self.config_path} has {key}={saved[key]!r}; "
                    "the checkpoint belongs to another configuration (restore the run's own checkpoint)"
                )

    def load_model(self, which: str = "best", device: str | torch.device = "cpu") -> LatentModel:
        """The run's model with the weights of its ``best`` (default) or ``last`` checkpoint, in eval mode (of a
        packed folder: its ``model.safetensors``).

        Raises:
            CheckpointError: no run here, no or unreadable checkpoint, or a checkpoint of another configuration.
        """
        self.require()
        if self.is_packed:  # one set of weights: ``which`` does not apply
            from vaelab.train.pack_read import load_packed_model

            return load_packed_model(self.path, self.load_config(), device)
        path = self.checkpoint_path(which)
        state = load_checkpoint(path)
        self.check_checkpoint(state, path)
        model = build_model(state["model"], state["model_config"])
        try:
            model.load_state_dict(state["model_state"])
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: weights do not fit model {state['model']!r} ({exc})") from exc
        return model.to(device).eval()
