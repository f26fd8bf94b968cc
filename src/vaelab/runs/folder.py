"""The run directory: everything about one model lives in ``runs/<name>/``.

    config.json          model name + config, training config, dataset, seed, versions
    checkpoints/         last.pt (every epoch end and on Ctrl-C), best.pt (best validation score)
    metrics.jsonl        one JSON object per epoch
    tensorboard/         TensorBoard scalars (and the embedding projector, see ``vaelab plot projector``)
    epoch_samples.npy    uint8 (epochs, n, C, H, W): decodings of fixed prior noise at each epoch end
    eval.json            ``vaelab evaluate``
    figures/  export/  site/
    .lock, .owner        held by the one process training the run (``RunDir.lock``)

The files both a run folder and a packed folder have are read by ``vaelab.runs.files.RunFiles``; a packed folder
is ``vaelab.runs.pack_read.PackedRun`` (``vaelab.runs.open.open_run`` opens either).

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
from vaelab.models import LatentModel
from vaelab.models.registry import MODELS
from vaelab.runs.files import RunFiles, model_with_weights, write_epoch_codes


class RunDir(RunFiles):
    """Paths and I/O of one run directory (see the module docstring)."""

    last_ckpt = property(lambda self: self.path / "checkpoints" / "last.pt")
    best_ckpt = property(lambda self: self.path / "checkpoints" / "best.pt")
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
        from filelock import FileLock, Timeout  # import cost: only a process that trains needs it

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

    # config -----------------------------------------------------------------------------------------------
    def save_config(self, config: dict) -> None:
        atomic_write_text(self.config_path, json.dumps(config, indent=2, sort_keys=True) + "\n")

    # metrics ----------------------------------------------------------------------------------------------
    def append_metrics(self, record: dict) -> None:
        """Append one epoch's record to ``metrics.jsonl`` (whole lines only, even on a full disk)."""
        append_line(self.metrics_path, json.dumps(record))

    def truncate_metrics(self, last_epoch: int) -> None:
        """Drop records of epochs after ``last_epoch`` (written after the checkpoint a resume starts from)."""
        kept = [r for r in self.read_metrics() if r.get("epoch", 0) <= last_epoch]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

    def save_epoch_samples(self, arr: np.ndarray) -> None:
        with atomic_path(self.epoch_samples_path) as tmp:
            try:
                with open(tmp, "wb") as fh:
                    np.save(fh, arr)
            except OSError as exc:
                raise storage_error(self.epoch_samples_path, exc, arr.nbytes) from exc

    def save_epoch_codes(self, arrays: dict[str, np.ndarray]) -> None:
        """Write ``epoch_codes.npz`` (``vaelab.runs.files.read_epoch_codes`` for its arrays)."""
        write_epoch_codes(self.epoch_codes_path, arrays)

    # model ------------------------------------------------------------------------------------------------
    def check_checkpoint_files(self) -> None:
        """Raise ``CheckpointError`` (one line) if ``last.pt`` or ``best.pt`` exists but is not a regular file
        (e.g. a directory): nothing could be read from or written to it."""
        for path in (self.last_ckpt, self.best_ckpt):
            if (path.exists() or path.is_symlink()) and not path.is_file():
                kind = "a directory" if path.is_dir() else "not a regular file"
                raise CheckpointError(
                    f"{path}: {kind}, where the run's checkpoint belongs; move it away (the run then continues from "
                    "its other checkpoint, or starts afresh)"
                )

    def checkpoint_path(self, which: str = "best") -> Path:
        if which not in ("best", "last"):
            raise CheckpointError(f"checkpoint {which!r}: expected 'best' or 'last'")
        self.check_checkpoint_files()
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
        """The run's model with the weights of its ``best`` (default) or ``last`` checkpoint, in eval mode.

        Raises:
            CheckpointError: no run here, no or unreadable checkpoint, or a checkpoint of another configuration.
        """
        self.require()
        path = self.checkpoint_path(which)
        state = load_checkpoint(path)
        self.check_checkpoint(state, path)
        return model_with_weights(
            state["model"], state["model_config"], state["model_state"], path, device, self.networks
        )

    def weights_epoch(self, which: str = "best") -> int | None:
        """The epoch whose parameters checkpoint ``which`` holds (read from the checkpoint, checked against
        ``config.json``). Raises ``CheckpointError``."""
        path = self.checkpoint_path(which)
        state = load_checkpoint(path)
        self.check_checkpoint(state, path)
        return state.get("epoch")
