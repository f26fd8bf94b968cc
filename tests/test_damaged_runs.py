"""Damaged run files and stops at awkward moments, found by a crash trial: every reader of ``metrics.jsonl`` and
``eval.json`` meets checked records (one line naming the file and field, exit 1, never a traceback); a damaged
``epoch_codes.npz`` never blocks ``--resume``; a pack is written whole or not at all; a train stopped before it
saved anything says how to start it again.

Copies of the small shared MNIST run; each command is a call of ``vaelab.cli.main.main``.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import signal

import numpy as np
import pytest

from vaelab.cli.main import SignalExit, main


def _run(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main([str(a) for a in argv])
    return status, err.getvalue()


def _one_line_failure(argv, *needles) -> str:
    status, err = _run(argv)
    assert status == 1, (argv, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.fixture
def run(mnist_vae_run, tmp_path):
    path = shutil.copytree(mnist_vae_run.path, tmp_path / "vae2d")
    assert _run(["evaluate", path, "--k", "2", "--limit", "20", "--no-progress"])[0] == 0
    return path


@pytest.mark.parametrize(
    "content, field",
    [(b"\xff\xfe\x00garbage\x80", "not UTF-8"), (b'{"epoch": "one"}\n', "field epoch"), (b"[1]\n", "top level")],
)
def test_a_damaged_metrics_file_is_one_line_for_every_reader(run, tmp_path, content, field):
    (run / "metrics.jsonl").write_bytes(content)
    for argv in (["info", run], ["plot", run, "curves"], ["pack", run, tmp_path / "pk"]):
        _one_line_failure(argv, "metrics.jsonl", field)
    _one_line_failure(["train", "--name", run.name, "--runs-dir", run.parent, "--resume", "--no-progress"], field)
    assert not (tmp_path / "pk").exists()


@pytest.mark.parametrize(
    "content, field",
    [("[1, 2, 3]", "top level"), ('{"nll": "high", "k": null, "split": "test", "n_images": 3}', "field nll")],
)
def test_a_damaged_eval_file_is_one_line_for_every_reader(run, tmp_path, content, field):
    (run / "eval.json").write_text(content)
    for argv in (["info", run], ["plot", run, "nll-vs-k"], ["pack", run, tmp_path / "pk"]):
        _one_line_failure(argv, "eval.json", field)
    assert _run(["evaluate", run, "--k", "2", "--limit", "20", "--no-progress"])[0] == 0  # evaluating repairs it
    assert _run(["info", run])[0] == 0


def test_a_damaged_time_lapse_never_blocks_resume(run):
    codes = run / "epoch_codes.npz"
    codes.write_bytes(codes.read_bytes()[: codes.stat().st_size // 2])  # a truncated zip
    status, err = _run(["train", "--name", run.name, "--runs-dir", run.parent, "--resume", "--epochs", "4",
                        "--no-progress"])  # fmt: skip
    assert status == 0, err
    assert "epoch_codes.npz: damaged" in err
    with np.load(codes) as f:
        assert list(f["epochs"]) == [4]  # written again from the epoch after the damage
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["epoch"] == 4


def test_a_folder_where_a_run_file_belongs_is_named_not_its_temporary_file(run):
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").mkdir()  # the resume writes metrics.jsonl again, through a temporary file
    err = _one_line_failure(["train", "--name", run.name, "--runs-dir", run.parent, "--resume", "--epochs", "4",
                             "--no-progress"], "metrics.jsonl: is a folder, expected a file")  # fmt: skip
    assert ".tmp" not in err
    assert not list(run.glob("*.tmp")) and (run / "checkpoints" / "last.pt").is_file()


def test_a_file_where_the_tensorboard_folder_belongs_is_refused_before_training(run):
    shutil.rmtree(run / "tensorboard", ignore_errors=True)
    (run / "tensorboard").write_text("not a folder")
    before = (run / "metrics.jsonl").read_bytes()
    _one_line_failure(["train", "--name", run.name, "--runs-dir", run.parent, "--resume", "--epochs", "4",
                       "--no-progress"], "tensorboard: is a file, expected the folder")  # fmt: skip
    assert (run / "metrics.jsonl").read_bytes() == before  # refused before any epoch


def test_a_pack_is_written_whole_or_not_at_all(run, tmp_path, monkeypatch):
    out = tmp_path / "pk"
    out.mkdir()  # an empty folder may be packed into

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "copyfile", stop)  # a stop while the run's files are copied
    assert _run(["pack", run, out])[0] == 130
    assert out.is_dir() and not any(out.iterdir())  # untouched: still empty
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pk", "vae2d"]  # no temporary folder left
    monkeypatch.undo()
    assert _run(["pack", run, out])[0] == 0
    assert _run(["info", out])[0] == 0


def test_a_damaged_array_is_named_in_the_run_not_in_the_pack(run, tmp_path):
    (run / "epoch_samples.npy").write_bytes(b"\x93NUMPY garbage")
    err = _one_line_failure(["pack", run, tmp_path / "pk"], str(run / "epoch_samples.npy"))
    assert "pk" not in err.replace(str(run), "")
    assert not (tmp_path / "pk").exists()


def test_weights_of_another_shape_are_one_line(run):
    import torch

    ckpt = run / "checkpoints" / "best.pt"
    state = torch.load(ckpt, weights_only=True)
    key = next(k for k in state["model_state"] if k.endswith("weight"))
    state["model_state"][key] = torch.zeros(3, 3)
    torch.save(state, ckpt)
    _one_line_failure(["sample", run, "--out", run / "s.png"], "weights do not fit", "size mismatch")


def test_a_train_stopped_before_it_saved_anything_says_how_to_start_it_again(tmp_path, monkeypatch, data_dir):
    import vaelab.training.lifecycle as lifecycle

    def stopped(*args, **kwargs):
        raise SignalExit(signal.SIGTERM)

    monkeypatch.setattr(lifecycle, "create_run", stopped)
    argv = ["train", "--name", "e", "--runs-dir", tmp_path, "--limit", "100", "--epochs", "1"]
    status, err = _run(argv)
    assert status == 143
    assert "stopped by SIGTERM before" in err and "nothing to resume" in err
    assert f"vaelab train --name e --runs-dir {tmp_path} --limit 100 --epochs 1" in err
