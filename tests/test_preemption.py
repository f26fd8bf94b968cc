"""Preemption: SIGTERM and SIGUSR1 (what SLURM and spot machines send before the kill) stop training like Ctrl-C
does: the step ends, the checkpoint is written, the lock is released, one line says how to continue, and the exit
status is 128 + the signal; ``--resume`` then ends bit-identical to a run never stopped. ``--checkpoint-every``
writes mid-epoch on a timer, so that a kill -9 loses at most that much work."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from vaelab.core.io import load_checkpoint
from vaelab.runs.folder import RunDir
from vaelab.runs.spec import TrainConfig
from vaelab.training.callbacks import Callback
from vaelab.training.lifecycle import train_run as train

# 4,000 MNIST images in minibatches of 20: 200 steps per epoch, long enough to be stopped mid-epoch
ARGS = ["--latent-dim", "2", "--hidden", "32", "--limit", "4000", "--val-size", "100", "--batch-size", "20",
        "--samples-per-epoch", "2", "--epochs", "2"]  # fmt: skip


def vaelab(*args, cwd):
    return subprocess.run([sys.executable, "-m", "vaelab", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def signal_mid_epoch(cmd: list[str], cwd, signum: int, group: bool = False) -> tuple[int, str]:
    """Start ``cmd``, send ``signum`` once its progress bar has counted a step of epoch 1, return (status, stderr)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=group)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(proc.stderr.fileno(), 4096), b"")))
    reader.start()
    t0 = time.monotonic()
    while not re.search(rb"epoch 1/2: .*\| *[1-9]\d*/200 ", b"".join(chunks)):
        assert proc.poll() is None, b"".join(chunks).decode(errors="replace")
        assert time.monotonic() - t0 < 300, "no training step within 300 s"
        time.sleep(0.01)
    if group:  # as a scheduler does: every process of the job
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    proc.wait(timeout=180)
    reader.join(timeout=10)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_dir):
    cwd = tmp_path_factory.mktemp("ref")
    proc = vaelab("train", "--name", "ref", *ARGS, "--no-progress", "--data-dir", data_dir, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return load_checkpoint(cwd / "runs" / "ref" / "checkpoints" / "last.pt")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGUSR1])
def test_a_stop_signal_saves_releases_the_lock_and_resume_is_bit_identical(tmp_path, data_dir, reference, signum):
    cmd = [sys.executable, "-m", "vaelab", "train", "--name", "p", *map(str, ARGS), "--data-dir", str(data_dir)]
    code, err = signal_mid_epoch(cmd, tmp_path, signum)
    assert code == 128 + signum, err  # 143 for SIGTERM, 138 for SIGUSR1
    assert f"{signal.Signals(signum).name}: saving a checkpoint after this step" in err
    assert "interrupted: saved" in err and "--resume" in err and "Traceback" not in err
    run = tmp_path / "runs" / "p"
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["epoch"] == 0 and state["step_in_epoch"] >= 1  # saved where it stopped, mid-epoch 1
    assert not (run / ".owner").exists()  # the lock is released
    resumed = vaelab("train", "--name", "p", "--resume", "--no-progress", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    final = load_checkpoint(run / "checkpoints" / "last.pt")
    assert final["global_step"] == reference["global_step"] == 400
    for key, value in reference["model_state"].items():
        assert torch.equal(final["model_state"][key], value), key
    assert [r["epoch"] for r in RunDir(run).read_metrics()] == [1, 2]


def test_sigterm_before_training_starts_exits_143_and_leaves_a_resumable_run(tmp_path, data_dir):
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaelab", "train", "--name", "e", *map(str, ARGS), "--data-dir", str(data_dir)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = tmp_path / "runs" / "e"
    t0 = time.monotonic()
    while not (run / "config.json").exists() and proc.poll() is None and time.monotonic() - t0 < 120:
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert not (run / ".owner").exists()
    resumed = vaelab("train", "--name", "e", "--resume", "--no-progress", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr


def test_sigterm_under_torchrun_stops_every_process_and_rank0_writes(tmp_path, data_dir, reference):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "vaelab",
           "train", "--name", "t", *map(str, ARGS), "--data-dir", str(data_dir)]  # fmt: skip
    code, err = signal_mid_epoch(cmd, tmp_path, signal.SIGTERM, group=True)
    assert code != 0, err
    assert err.count("interrupted: saved") == 1, err  # rank 0 alone wrote the checkpoint
    run = tmp_path / "runs" / "t"
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["epoch"] == 0 and state["step_in_epoch"] >= 1
    assert not (run / ".owner").exists()
    resumed = vaelab("train", "--name", "t", "--resume", "--no-progress", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    final = load_checkpoint(run / "checkpoints" / "last.pt")
    assert final["global_step"] == reference["global_step"]
    for key, value in reference["model_state"].items():  # 2 processes = 1 with the same global batch
        torch.testing.assert_close(final["model_state"][key], value, rtol=0, atol=1e-4)


class Clock:
    """A fake ``time.monotonic`` the test advances by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Tick(Callback):
    """Advances the fake clock 10 s per step and records, after each step, the global step of ``run``'s last.pt."""

    def __init__(self, clock: Clock, run):
        self.clock, self.run, self.seen = clock, run, {}

    def on_step_end(self, trainer) -> None:
        path = self.run / "checkpoints" / "last.pt"
        self.seen[trainer.global_step] = load_checkpoint(path)["global_step"] if path.is_file() else None
        self.clock.now += 10.0


@pytest.mark.parametrize("every", [1.0, None])
def test_checkpoint_every_writes_mid_epoch_on_time(tmp_path, data_dir, monkeypatch, every):
    import vaelab.training.callbacks as callbacks

    clock = Clock()
    monkeypatch.setattr(callbacks.time, "monotonic", clock)
    tick = Tick(clock, tmp_path / "r")
    cfg = TrainConfig(epochs=1, batch_size=20, progress=False, checkpoint_every=every, samples_per_epoch=0)
    train(tmp_path / "r", "vae", {"latent_dim": 2, "hidden": (16,)}, cfg, "mnist", data_dir, val_size=100, limit=400,
          callbacks=[tick])  # fmt: skip
    # 20 steps of 10 s; the Tick callback acts after the checkpoint callback at each step
    if every is None:
        assert set(tick.seen.values()) == {None}  # only at the epoch end
        return
    assert tick.seen[6] is None  # 50 s since the start: not yet
    assert tick.seen[7] == 7 and tick.seen[12] == 7  # 60 s: step 7's state, kept until the next minute
    assert tick.seen[13] == 13
    assert json.loads((tmp_path / "r" / "config.json").read_text())["train"]["checkpoint_every"] == 1.0


def test_nproc_starts_torchrun_itself_and_config_records_the_processes(tmp_path, data_dir):
    proc = vaelab("train", "--name", "n", "--nproc", "2", "--latent-dim", "2", "--hidden", "16", "--limit", "400",
                  "--val-size", "100", "--batch-size", "50", "--epochs", "1", "--no-progress", "--data-dir", data_dir,
                  cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "torchrun: 2 processes (gloo), devices cpu, cpu" in proc.stderr
    env = json.loads((tmp_path / "runs" / "n" / "config.json").read_text())["environment"]
    assert env["world_size"] == 2 and env["devices"] == ["cpu", "cpu"]
    bad = vaelab("train", "--name", "m", "--nproc", "0", cwd=tmp_path)
    assert bad.returncode == 2 and "--nproc 0: expected a number of processes >= 1" in bad.stderr
