"""torchrun: two CPU processes (gloo) train the same model as one process with the same global batch and seed; a
process that dies stops the job within a bounded time, and the run then resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vaelab.core.io import load_checkpoint
from vaelab.runs.folder import RunDir

ARGS = ["--latent-dim", "2", "--hidden", "32", "--val-size", "100", "--batch-size", "50", "--no-progress",
        "--samples-per-epoch", "2"]  # fmt: skip


def torchrun(*args, cwd, n=2):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n),
           "-m", "vaelab", *map(str, args)]  # fmt: skip
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip


def vaelab(*args, cwd):
    return subprocess.run([sys.executable, "-m", "vaelab", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path, data_dir):
    common = ["--epochs", "2", "--limit", "1000", *ARGS, "--data-dir", data_dir]
    proc = torchrun("train", "--name", "two", *common, cwd=tmp_path)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    one = vaelab("train", "--name", "one", *common, cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    a = load_checkpoint(tmp_path / "runs" / "two" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "runs" / "one" / "checkpoints" / "last.pt")
    assert a["global_step"] == b["global_step"] == 40  # 20 global batches of 50 per epoch, whatever N is
    for name in b["model_state"]:
        torch.testing.assert_close(a["model_state"][name], b["model_state"][name], rtol=0, atol=1e-5)
    ma, mb = RunDir(tmp_path / "runs" / "two").read_metrics(), RunDir(tmp_path / "runs" / "one").read_metrics()
    assert [r["epoch"] for r in ma] == [1, 2]  # rank 0 alone wrote the metrics
    assert ma[-1]["train_loss"] == pytest.approx(mb[-1]["train_loss"], rel=1e-5)


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_a_dead_process_stops_the_job_in_bounded_time_and_the_run_resumes(tmp_path, data_dir):
    common = ["--limit", "2000", *ARGS, "--data-dir", data_dir]
    proc = torchrun("train", "--name", "r", "--epochs", "30", *common, cwd=tmp_path)
    run = tmp_path / "runs" / "r"
    t0 = time.monotonic()
    while not (run / "checkpoints" / "last.pt").exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() - t0 < 300, "no checkpoint within 300 s"
        time.sleep(0.1)
    rank0 = int(__import__("json").loads((run / ".owner").read_text())["pid"])
    workers = [p for p in _children(proc.pid) if p != rank0]
    assert workers, "the second worker was not found"
    os.kill(workers[0], signal.SIGKILL)  # rank 1 dies mid-training
    killed = time.monotonic()
    try:
        proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the job did not stop within 180 s of a process dying")
    assert proc.returncode != 0
    assert time.monotonic() - killed < 180
    done = len(RunDir(run).read_metrics())
    assert 1 <= done < 30
    resumed = torchrun("train", "--name", "r", "--resume", "--epochs", str(done + 1), "--no-progress", cwd=tmp_path)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert [r["epoch"] for r in RunDir(run).read_metrics()] == list(range(1, done + 2))
