"""Training through a relay: continue a run from a relay snapshot on any machine, and keep the snapshot current.

``vaelab reproduce RECIPE --relay DIR`` (``vaelab.cli.reproduce``) calls ``prepare_run`` before training: the run
folder is brought to the furthest of its own checkpoint and ``DIR``'s snapshot (``vaelab.runs.relay``), then
resumed as any run is. ``RelayWriter``, a training callback, writes the snapshot every ``every_minutes`` at an epoch
end, at the last epoch and on a stop request (Ctrl-C, SIGTERM, SIGUSR1), after the run's own checkpoint.

Moving between a CPU and a GPU cannot continue the random streams bit for bit (the two generators have different
states), so the generator is re-seeded from ``(seed, global step)`` at such a move and the segment says
``bit_exact: false``. On the same kind of device the continuation is exact where the arithmetic is (same hardware).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import torch

from vaelab.core.errors import CheckpointError
from vaelab.core.io import atomic_write_text, load_checkpoint, save_checkpoint
from vaelab.core.version import __version__
from vaelab.runs.folder import RunDir
from vaelab.runs.relay import (
    MAX_SNAPSHOT_BYTES,
    SEGMENTS_FILE,
    SNAPSHOT_FILE,
    Snapshot,
    load_snapshot,
    read_segments,
    save_snapshot,
)
from vaelab.training.callbacks import Callback

RESEED = 1_000_003  # generator seed at a move between device types: seed * RESEED + global step (mod 2**63)


def _write_segments(run: RunDir, segments: list[dict]) -> None:
    atomic_write_text(run.path / SEGMENTS_FILE, json.dumps({"segments": segments}, indent=2) + "\n")


def _local_step(run: RunDir) -> int:
    """The global step of the run's own ``last.pt`` (-1 when it has none)."""
    if not run.last_ckpt.is_file():
        return -1
    return int(load_checkpoint(run.last_ckpt).get("global_step", 0))


def prepare_run(relay_dir: Path, recipe: str, run: RunDir, device: torch.device) -> str:
    """Make ``run`` hold the furthest state of its own checkpoint and ``relay_dir``'s snapshot, ready for
    ``resume_run``; returns what was done, in words (``""`` when there is nothing to continue: a new run).

    Raises:
        RelayError: the snapshot is corrupt, of another recipe, or of a newer format.
    """
    if not (Path(relay_dir) / SNAPSHOT_FILE).is_file():
        return f"continuing {run.path} (no snapshot in {relay_dir} yet)" if run.exists() else ""
    snap = load_snapshot(relay_dir, recipe)
    if run.exists() and _local_step(run) >= int(snap.state.get("global_step", 0)):
        return f"continuing {run.path}: its checkpoint is as far as the snapshot in {relay_dir}"
    with run.lock():
        _materialize(snap, run, device)
    return (
        f"continuing from {Path(relay_dir) / SNAPSHOT_FILE}: epoch {snap.epochs_done:,} of {snap.epochs_total:,}, "
        f"step {int(snap.state.get('step_in_epoch', 0)):,} of the next"
    )


def _materialize(snap: Snapshot, run: RunDir, device: torch.device) -> None:
    """Write the snapshot out as an ordinary run folder (config.json, metrics.jsonl, checkpoints/last.pt)."""
    for stale in (run.best_ckpt, run.epoch_samples_path):
        stale.unlink(missing_ok=True)  # of an older state than the snapshot's
    shutil.rmtree(run.tensorboard, ignore_errors=True)
    state, segments = dict(snap.state), [dict(s) for s in snap.segments]
    previous = segments[-1].get("device", "cpu") if segments else "cpu"
    if torch.device(previous).type != device.type:
        seed = (int(snap.config["train"].get("seed", 0)) * RESEED + int(state.get("global_step", 0))) % 2**63
        state["generator_state"] = torch.Generator(device=device).manual_seed(seed).get_state()
        segments.append({"reseeded": seed, "note": f"generator re-seeded at the move from {previous} to {device}"})
    run.save_config(snap.config)
    atomic_write_text(run.metrics_path, "".join(json.dumps(r) + "\n" for r in snap.metrics))
    save_checkpoint(run.last_ckpt, state)
    _write_segments(run, segments)


class RelayWriter(Callback):
    """Writes the run's relay snapshot into ``relay_dir`` every ``every_minutes`` (at an epoch end), after the
    last epoch and on a stop request; keeps ``RUN/relay.json`` (the segments) in step with it.

    Args:
        relay_dir: the folder of ``snapshot.safetensors``.
        recipe: the recipe's name, stored in the snapshot.
        run: the run being trained.
        hardware: this machine in words (``vaelab.cli.reproduce.hardware_description``).
        every_minutes: the least time between two snapshots at epoch ends.
    """

    def __init__(self, relay_dir: Path, recipe: str, run: RunDir, hardware: str, every_minutes: float = 10.0):
        self.relay_dir, self.recipe, self.run = Path(relay_dir), recipe, run
        self.hardware, self.every = hardware, every_minutes * 60
        self.segments: list[dict] | None = None
        self.t_start = self.t_last = time.monotonic()
        self.warned = False
        self.previous = self._previous_segments()  # read now: a damaged relay.json is found before any training

    def _previous_segments(self) -> list[dict]:
        """``RUN/relay.json``'s segments; where that file is damaged, those of the snapshot, which carries them too
        (saying so on stderr).

        Raises:
            CheckpointError: ``relay.json`` is damaged and there is no snapshot to take them from (one line).
        """
        try:
            return read_segments(self.run, strict=True)
        except CheckpointError as exc:
            if not (self.relay_dir / SNAPSHOT_FILE).is_file():
                raise CheckpointError(
                    f"{exc}; no relay snapshot in {self.relay_dir} carries them either: remove the file to continue "
                    "(the record of which epochs ran where is then lost)"
                ) from exc
            snap = load_snapshot(self.relay_dir, self.recipe)
            print(
                f"{exc}; taking the segments from {self.relay_dir / SNAPSHOT_FILE} (epoch {snap.epochs_done:,}), "
                "which carries them too",
                file=sys.stderr,
            )
            return [dict(seg) for seg in snap.segments]

    def on_epoch_start(self, trainer, steps: int) -> None:
        if self.segments is None:
            self._open_segment(trainer)

    def _open_segment(self, trainer) -> None:
        segments = [dict(seg) for seg in self.previous]
        pending = segments.pop() if segments and "from_epoch" not in segments[-1] else {}
        done = trainer.epoch
        if not segments and (done or trainer.step_in_epoch):
            segments.append(_before_relay(self.run, done))

        previous = segments[-1] if segments else {}
        exact = not pending and previous.get("hardware", self.hardware) == self.hardware
        segments.append(
            {
                "from_epoch": done,
                "to_epoch": done,
                "device": str(trainer.device),
                "hardware": self.hardware,
                "vaelab": __version__,
                "torch": torch.__version__,
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "seconds": 0.0,
                "bit_exact": exact,
                "note": pending.get("note")
                or ("" if exact else "another machine than the previous segment: float results may differ"),
            }
        )
        self.segments, self.t_start = segments, time.monotonic()

    def on_epoch_end(self, trainer, record: dict) -> None:
        if trainer.epoch >= trainer.config.epochs or time.monotonic() - self.t_last >= self.every:
            self.write(trainer)

    def on_stop(self, trainer) -> None:
        self.write(trainer)

    def write(self, trainer) -> None:
        """Write the snapshot of ``trainer``'s current state (and the run's segments)."""
        if self.segments is None:
            self._open_segment(trainer)
        seg = self.segments[-1]
        seg["to_epoch"], seg["seconds"] = trainer.epoch, round(time.monotonic() - self.t_start, 1)

        snap = Snapshot(
            self.recipe,
            self.run.load_config(),
            trainer.state_dict(),
            self.run.read_metrics()[: trainer.epoch],
            self.segments,
            {"vaelab": __version__, "device": str(trainer.device), "hardware": self.hardware},
        )
        path = save_snapshot(self.relay_dir, snap)
        _write_segments(self.run, self.segments)
        self.t_last = time.monotonic()
        size = path.stat().st_size
        if size > MAX_SNAPSHOT_BYTES and not self.warned:
            self.warned = True
            print(f"{path}: {size / 2**20:.1f} MiB, over the 8 MiB a committed snapshot may take", file=sys.stderr)


def _before_relay(run: RunDir, done: int) -> dict:
    """The segment of the epochs a run trained before it first wrote a snapshot, from its config and metrics."""
    env = run.load_config().get("environment", {})
    records = run.read_metrics()[:done]
    return {
        "from_epoch": 0,
        "to_epoch": done,
        "device": "cpu" if "+cpu" in str(env.get("torch", "")) else "unknown",
        "hardware": f"{env.get('processor', 'unknown')} ({env.get('threads', '?')} torch threads), before the relay",
        "vaelab": env.get("vaelab"),
        "torch": env.get("torch"),
        "started": run.load_config().get("created"),
        "seconds": round(sum(float(r.get("time_s", 0.0)) for r in records), 1),
        "bit_exact": True,
        "note": "trained as an ordinary run folder before its first relay snapshot",
    }
