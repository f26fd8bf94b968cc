"""A run's life when things go wrong: kill -9, Ctrl-C, NaN, a full disk, two trainers, bad names and bad options.

Every case ends either in one clear line (exit status 2 for bad input, 1 for a failure during work, 130 for
Ctrl-C; never a traceback) or in a run that ``--resume`` finishes, with parameters bit-identical to a run that was
never interrupted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from vaelab.core.errors import CheckpointError, TrainingError
from vaelab.core.io import load_checkpoint
from vaelab.runs.folder import RunDir
from vaelab.runs.spec import TrainConfig
from vaelab.training.callbacks import Callback
from vaelab.training.lifecycle import train_run

# a small real run: 1,000 MNIST images, 10 steps of 100 per epoch
SMALL = [
    "--latent-dim",
    "2",
    "--hidden",
    "32",
    "--limit",
    "1000",
    "--val-size",
    "100",
    "--batch-size",
    "100",
    "--samples-per-epoch",
    "4",
    "--no-progress",
]


def cli(*args, cwd, timeout=300, env=None):
    """Run ``python -m vaelab ARGS`` in ``cwd``; returns (exit code, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "vaelab", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=env,
    )
    return proc.returncode, proc.stdout, proc.stderr


def start(*args, cwd):
    return subprocess.Popen(
        [sys.executable, "-m", "vaelab", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, proc=None, timeout=120.0) -> None:
    t0 = time.monotonic()
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended before {path} appeared: {proc.stderr.read()}")
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)


def one_clear_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    return lines[0]


def weights(run: Path) -> dict:
    return load_checkpoint(run / "checkpoints" / "last.pt")["model_state"]


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_dir):
    """An uninterrupted 2-epoch run of the SMALL configuration (the bit-exact reference)."""
    cwd = tmp_path_factory.mktemp("ref")
    code, _, err = cli("train", "--name", "ref", "--epochs", "2", *SMALL, "--data-dir", data_dir, cwd=cwd)
    assert code == 0, err
    return cwd / "runs" / "ref"


# kill -9 ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("moment", ["at-start", "mid-epoch-1", "after-first-checkpoint"])
def test_kill9_then_resume_is_bit_identical(tmp_path, data_dir, reference, moment):
    proc = start("train", "--name", "r", "--epochs", "2", *SMALL, "--data-dir", data_dir, cwd=tmp_path)
    run = tmp_path / "runs" / "r"
    if moment == "after-first-checkpoint":
        wait_for(run / "checkpoints" / "last.pt", proc)
    else:
        wait_for(run / "config.json", proc)
        time.sleep(0.0 if moment == "at-start" else 0.3)
    proc.kill()
    proc.wait()
    # the run is resumable (no --epochs: the saved count is kept) and ends where an uninterrupted run ends
    code, _, err = cli("train", "--name", "r", "--resume", "--data-dir", data_dir, "--no-progress", cwd=tmp_path)
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 2
    assert [r["epoch"] for r in RunDir(run).read_metrics()] == [1, 2]
    assert_same_weights(run, reference)
    assert not list(run.rglob("*.tmp"))


def test_a_run_without_checkpoint_does_not_block_the_same_command(tmp_path, data_dir, reference):
    proc = start("train", "--name", "r", "--epochs", "2", *SMALL, "--data-dir", data_dir, cwd=tmp_path)
    wait_for(tmp_path / "runs" / "r" / "config.json", proc)
    proc.kill()
    proc.wait()
    if (tmp_path / "runs" / "r" / "checkpoints" / "last.pt").exists():
        pytest.skip("the killed run reached its first checkpoint before the kill (machine too fast)")
    code, _, err = cli("train", "--name", "r", "--epochs", "2", *SMALL, "--data-dir", data_dir, cwd=tmp_path)
    assert code == 0, err
    assert_same_weights(tmp_path / "runs" / "r", reference)


# Ctrl-C ----------------------------------------------------------------------------------------------------
def test_ctrl_c_saves_exits_130_and_resume_keeps_the_epoch_count(tmp_path, data_dir):
    args = ["--latent-dim", "2", "--hidden", "32", "--limit", "20000", "--val-size", "100", "--batch-size", "20"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaelab", "train", "--name", "c", "--epochs", "2", *args, "--data-dir", str(data_dir)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(proc.stderr.fileno(), 4096), b"")))
    reader.start()
    # Ctrl-C once training steps are under way (the progress bar has counted a step of epoch 1 of 1,000)
    t0 = time.monotonic()
    while not re.search(rb"epoch 1/2: .*\| *[1-9]\d*/1000 ", b"".join(chunks)):
        assert proc.poll() is None, b"".join(chunks).decode(errors="replace")
        assert time.monotonic() - t0 < 300, "no training step within 300 s"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    reader.join(timeout=10)
    err = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 130, err
    assert "interrupted: saved" in err and "Traceback" not in err
    run = tmp_path / "runs" / "c"
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["epoch"] < 2
    code, _, err = cli("train", "--name", "c", "--resume", "--no-progress", cwd=tmp_path)
    assert code == 0, err
    assert [r["epoch"] for r in RunDir(run).read_metrics()] == [1, 2]
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 2


# two trainers ----------------------------------------------------------------------------------------------
def test_second_trainer_on_one_run_is_refused(tmp_path, data_dir):
    args = [
        "--latent-dim",
        "2",
        "--hidden",
        "32",
        "--limit",
        "3000",
        "--val-size",
        "100",
        "--batch-size",
        "50",
        "--epochs",
        "10000",  # far more than the test waits for: the first trainer must still hold the run
        "--no-progress",
        "--data-dir",
        data_dir,
    ]
    first = start("train", "--name", "same", *args, cwd=tmp_path)
    run = tmp_path / "runs" / "same"
    wait_for(run / ".owner", first)
    code, _, err = cli("train", "--name", "same", *args, cwd=tmp_path)
    line = one_clear_line(err)
    assert code == 1 and f"being trained by process {first.pid}" in line
    code, _, err = cli("train", "--name", "same", "--resume", "--no-progress", cwd=tmp_path)
    assert code == 1 and f"process {first.pid}" in err
    assert first.poll() is None, "the first trainer ended before the second was refused"
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 130, err
    epochs = [r["epoch"] for r in RunDir(run).read_metrics()]
    assert epochs == list(range(1, len(epochs) + 1))  # the refused trainers wrote nothing
    RunDir(run).load_model()  # intact


# NaN -------------------------------------------------------------------------------------------------------
class Poison(Callback):
    """Makes the weights NaN after global step ``at`` (the next step's loss is then NaN)."""

    def __init__(self, at: int):
        self.at = at

    def on_step_end(self, trainer) -> None:
        if trainer.global_step == self.at:
            with torch.no_grad():
                trainer.model.fc_mu.weight.fill_(float("nan"))


def test_nan_in_first_epoch_says_no_checkpoint_and_the_run_can_start_again(tmp_path, data_dir):
    cfg = TrainConfig(epochs=2, batch_size=100, seed=3, progress=False)
    kw = dict(dataset="mnist", data_dir=data_dir, val_size=100, limit=1000)
    with pytest.raises(TrainingError, match="at epoch 1, step 4.*no checkpoint exists yet"):
        train_run(tmp_path / "n", "vae", {"latent_dim": 2, "hidden": (32,)}, cfg, callbacks=[Poison(3)], **kw)
    run = RunDir(tmp_path / "n")
    assert run.exists() and not run.last_ckpt.exists()
    # resumable: it starts from its saved configuration
    run, _, records = train_run(tmp_path / "n", resume=True)
    assert [r["epoch"] for r in records] == [1, 2]
    # and the same command again, on another run that died the same way, starts it afresh
    with pytest.raises(TrainingError):
        train_run(tmp_path / "m", "vae", {"latent_dim": 2, "hidden": (32,)}, cfg, callbacks=[Poison(3)], **kw)
    _, _, records = train_run(tmp_path / "m", "vae", {"latent_dim": 2, "hidden": (32,)}, cfg, **kw)
    assert [r["epoch"] for r in records] == [1, 2]


# full disk -------------------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 512 KiB tmpfs (too small for the first checkpoint), remountable bigger; skipped where it can't mount."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root in a namespace that allows it): {proc.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_full_disk_is_one_line_and_the_run_resumes_once_space_is_freed(small_disk, data_dir, reference):
    code, _, err = cli("train", "--name", "r", "--epochs", "2", *SMALL, "--data-dir", data_dir, cwd=small_disk)
    line = one_clear_line(err)
    assert code == 1 and "disk full" in line and "--resume" in line
    run = small_disk / "runs" / "r"
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 2  # what was saved is intact
    assert not list(run.rglob("*.tmp"))
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    code, _, err = cli("train", "--name", "r", "--resume", "--data-dir", data_dir, "--no-progress", cwd=small_disk)
    assert code == 0, err
    assert [r["epoch"] for r in RunDir(run).read_metrics()] == [1, 2]
    assert_same_weights(run, reference)


# stale temporaries and foreign checkpoints -----------------------------------------------------------------
def test_stale_temporary_files_are_removed_at_the_next_start(tmp_path, reference, data_dir):
    run = tmp_path / "r"
    shutil.copytree(reference, run)
    stale = [run / "checkpoints" / "last.pt.x1y2.tmp", run / "config.json.abc.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    code, _, err = cli(
        "train",
        "--name",
        "r",
        "--runs-dir",
        tmp_path,
        "--resume",
        "--epochs",
        "3",
        "--data-dir",
        data_dir,
        "--no-progress",
        cwd=tmp_path,
    )
    assert code == 0, err
    assert not any(p.exists() for p in stale)
    assert [r["epoch"] for r in RunDir(run).read_metrics()] == [1, 2, 3]


def test_checkpoint_of_another_configuration_is_refused(tmp_path, data_dir):
    cfg = TrainConfig(epochs=1, batch_size=100, progress=False, samples_per_epoch=0)
    kw = dict(dataset="mnist", data_dir=data_dir, val_size=100, limit=200)
    a, _, _ = train_run(tmp_path / "a", "vae", {"latent_dim": 5, "hidden": (16,)}, cfg, **kw)
    b, _, _ = train_run(tmp_path / "b", "vae", {"latent_dim": 10, "hidden": (16,)}, cfg, **kw)
    shutil.copy(a.best_ckpt, b.best_ckpt)
    with pytest.raises(
        CheckpointError,
        match=r"best.pt was made with latent_dim=5 but .*b/config.json has "
        r"latent_dim=10",
    ):
        b.load_model()
    code, _, err = cli("evaluate", b.path, "--k", "2", "--limit", "10", "--no-progress", cwd=tmp_path)
    assert code == 1 and "latent_dim=5" in one_clear_line(err)
    code, _, err = cli("export", b.path, cwd=tmp_path)
    assert code == 1 and "latent_dim=5" in one_clear_line(err)


# bad names, bad options, impossible sizes: one line, exit 2, nothing written --------------------------------
@pytest.mark.parametrize("name", ["../../x", "/abs", ".", "..", ".hidden", "a/b", "x" * 101, "a b", ""])
def test_unsafe_run_names_are_refused(tmp_path, name):
    code, _, err = cli("train", "--name", name, "--epochs", "1", cwd=tmp_path)
    assert code == 2 and "--name" in one_clear_line(err)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "toml, message",
    [
        ('[train]\nlr = "fast"\n', "c.toml: [train] lr='fast': expected a number"),
        ('[train]\nepochs = "three"\n', "c.toml: [train] epochs='three': expected an integer"),
        ('[model]\nlatent_dim = "ten"\n', "c.toml: [model] latent_dim='ten': expected an integer"),
        ("[model]\nlatent_dim = 10.5\n", "c.toml: [model] latent_dim=10.5: expected an integer"),
        ("[train]\nepochs = 1.7\n", "c.toml: [train] epochs=1.7: expected an integer"),
        ("[train]\nbatch_size = true\n", "c.toml: [train] batch_size=True: expected an integer"),
        ("[train]\nlr = nan\n", "c.toml: [train] lr=nan: expected a finite number"),
        ("[data]\nlimit = -10\n", "c.toml: [data] limit=-10: expected an integer >= 1"),
        ("[train]\nlearning_rate = 0.1\n", "c.toml: [train] learning_rate: unknown option"),
        ("[optimizer]\nlr = 0.1\n", "c.toml: unknown table [optimizer]"),
        ("frobnicate = 2\n", "c.toml: unknown option 'frobnicate'"),
        ("[model]\nnoise = 'gaussian'\n", "c.toml: [model] noise: not an option of --model vae; it belongs to"),
    ],
)
def test_bad_toml_values_name_the_key(tmp_path, toml, message):
    (tmp_path / "c.toml").write_text(toml)
    code, _, err = cli("train", "--config", "c.toml", "--name", "t", cwd=tmp_path)
    assert code == 2 and message in one_clear_line(err)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args", [["--latent-dim", "10000000"], ["--k", "1000000"]])
def test_models_that_cannot_fit_in_memory_are_refused_before_allocating(tmp_path, data_dir, args):
    code, _, err = cli("train", "--name", "big", *args, "--data-dir", data_dir, cwd=tmp_path)
    line = one_clear_line(err)
    assert code == 2 and "training needs about" in line and "available" in line
    assert not (tmp_path / "runs").exists()


def test_failed_start_leaves_nothing_that_blocks_the_same_command(tmp_path, data_dir):
    code, _, err = cli("train", "--name", "f", "--limit", "0", "--data-dir", data_dir, cwd=tmp_path)
    assert code == 2 and "--limit 0: expected an integer >= 1" in one_clear_line(err)
    no_data = {k: v for k, v in os.environ.items() if k != "VAELAB_DATA"}
    no_data.update(VAELAB_OFFLINE="1", VAELAB_CACHE=str(tmp_path / "cache"))
    (tmp_path / "no-data").mkdir()  # a folder without MNIST: the data are missing (a folder that is not there: exit 2)
    code, _, err = cli(
        "train", "--name", "f", "--epochs", "1", "--data-dir", tmp_path / "no-data", cwd=tmp_path, env=no_data
    )
    assert code == 1 and "Traceback" not in err
    assert not (tmp_path / "runs" / "f").exists()
    code, _, err = cli("train", "--name", "f", "--epochs", "1", *SMALL, "--data-dir", data_dir, cwd=tmp_path)
    assert code == 0, err


def test_resume_refuses_options_that_cannot_change(tmp_path, reference):
    shutil.copytree(reference, tmp_path / "runs" / "r")
    code, _, err = cli("train", "--name", "r", "--resume", "--lr", "0.1", cwd=tmp_path)
    assert code == 2 and "--lr: cannot change when resuming" in one_clear_line(err)
    code, _, err = cli("train", "--name", "r", "--resume", "--latent-dim", "3", cwd=tmp_path)
    assert code == 2 and "--latent-dim: cannot change when resuming" in one_clear_line(err)


def test_train_help_lists_families_and_which_options_belong_to_which(tmp_path):
    code, out, _ = cli("train", "--help", cwd=tmp_path)
    assert code == 0
    from vaelab.models.registry import model_names

    assert "{" + ",".join(model_names()) + "}" in out.replace("\n", "").replace(" ", "")
    flat = " ".join(out.split())
    assert "--channels N,N,... feature maps of each stride-2 convolution, e.g. 32,64 [conv-vae]" in flat
    assert "[linear-ae, ae, dae]" in flat and "[all families]" in flat


def test_config_json_is_checked_on_resume(tmp_path, reference):
    run = tmp_path / "runs" / "r"
    shutil.copytree(reference, run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["batch_size"] = True
    (run / "config.json").write_text(json.dumps(cfg))
    code, _, err = cli("train", "--name", "r", "--resume", cwd=tmp_path)
    assert code == 2 and "config.json: [train] batch_size=True: expected an integer" in one_clear_line(err)
    os.remove(run / "config.json")
    code, _, err = cli("train", "--name", "r", "--resume", cwd=tmp_path)
    assert code == 2 and "not a run directory" in one_clear_line(err)


# the four lifecycle defects of issue 20 ---------------------------------------------------------------------
def test_resume_accepts_the_options_the_run_was_made_with(tmp_path, reference, data_dir):
    """Re-running the command that made the run, with --resume (what torchrun re-runs do), is accepted: options
    equal to the saved ones are no change; the run goes on to --epochs 3."""
    shutil.copytree(reference, tmp_path / "runs" / "r")
    same = ["--latent-dim", "2", "--hidden", "32", "--batch-size", "100", "--val-size", "100", "--limit", "1000"]
    code, _, err = cli(
        "train", "--name", "r", "--resume", "--epochs", "3", *same, "--no-progress", "--data-dir", data_dir,
        "--model", "vae", cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    assert [r["epoch"] for r in RunDir(tmp_path / "runs" / "r").read_metrics()] == [1, 2, 3]
    code, _, err = cli("train", "--name", "r", "--resume", "--epochs", "4", "--batch-size", "50", cwd=tmp_path)
    assert code == 2 and "--batch-size: cannot change when resuming" in one_clear_line(err)
    assert "--resume with --batch-size 50 but the run" in err and "was made with 100" in err


def test_a_folder_with_run_files_but_no_config_is_refused_untouched(tmp_path, reference, data_dir):
    orphan = tmp_path / "runs" / "o"
    (orphan / "checkpoints").mkdir(parents=True)
    shutil.copyfile(reference / "checkpoints" / "last.pt", orphan / "checkpoints" / "last.pt")
    shutil.copyfile(reference / "metrics.jsonl", orphan / "metrics.jsonl")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in orphan.rglob("*") if p.is_file()}
    code, _, err = cli("train", "--name", "o", "--epochs", "1", *SMALL, "--data-dir", data_dir, cwd=tmp_path)
    line = one_clear_line(err)
    assert code == 2 and f"{Path('runs') / 'o'}: holds run files" in line and "no config.json" in line
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in orphan.rglob("*") if p.is_file()}
    assert after == before and sorted(p.name for p in orphan.rglob("*")) == ["checkpoints", "last.pt", "metrics.jsonl"]


def test_a_checkpoint_path_that_is_not_a_file_gives_one_line(tmp_path, reference):
    run = tmp_path / "runs" / "r"
    shutil.copytree(reference, run)
    (run / "checkpoints" / "best.pt").unlink()
    (run / "checkpoints" / "best.pt").mkdir()
    code, _, err = cli("train", "--name", "r", "--resume", "--epochs", "3", cwd=tmp_path)
    assert code == 1 and "best.pt: a directory, where the run's checkpoint belongs" in one_clear_line(err)
    code, _, err = cli("sample", run, "-n", "4", cwd=tmp_path)
    assert code == 1 and "best.pt: a directory" in one_clear_line(err)
    assert [r["epoch"] for r in RunDir(run).read_metrics()] == [1, 2]  # nothing trained, nothing lost


def test_evaluate_of_a_run_that_does_not_exist_is_bad_input(tmp_path):
    code, _, err = cli("evaluate", "runs/nothing", cwd=tmp_path)
    assert code == 2 and "runs/nothing: not a vaelab run directory" in one_clear_line(err)
    code, _, err = cli("export", "no/such/run", cwd=tmp_path)
    assert code == 2 and "no/such/run" in one_clear_line(err)
    from vaelab.api import load_run
    from vaelab.core.errors import ConfigError

    with pytest.raises(ConfigError, match="nothing: not a vaelab run directory"):  # the API: the same family
        load_run(tmp_path / "runs" / "nothing")
