"""Bad paths and damaged run files on the command line: one line naming the file or option, the documented exit
status (2 for bad input, 1 for a damaged file), no traceback, and nothing already saved touched.

Each case was met by trying the commands as a user would: a pack retrained in place, an ``--out`` inside a file,
a refused ``classifier train`` that blocked the corrected one, a damaged ``epoch_samples.npy``, ``info`` of a
``config.json`` no other command accepts, a closed pipe.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vaelab.cli.main import main


def _run(capsys, *argv) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return rc, err.strip()


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` with its SHA-256 (what 'nothing touched' compares)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def run_copy(digits_pack, tmp_path):
    run, _ = digits_pack
    dest = tmp_path / "runs" / "copy"
    shutil.copytree(run, dest)
    return dest


def test_a_pack_is_never_trained_in_place(digits_pack, tmp_path, capsys):
    _, pack = digits_pack
    runs = tmp_path / "runs"
    shutil.copytree(pack, runs / "packed")
    before = _snapshot(runs / "packed")
    rc, err = _run(capsys, "train", "--name", "packed", "--runs-dir", runs, "--resume", "--epochs", 2)
    assert rc == 2 and "packed model" in err and "packed" in err and len(err.splitlines()) == 1, err
    rc, err = _run(capsys, "train", "--name", "packed", "--runs-dir", runs, "--dataset", "sklearn-digits",
                   "--epochs", 1, "--hidden", 16, "--no-progress")  # fmt: skip
    assert rc == 2 and "packed model" in err, err
    assert _snapshot(runs / "packed") == before
    assert not (runs / "packed" / ".lock").exists()


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["sample", "{run}", "--out", "{file}/x.png"], "is a file, not a folder"),
        (["sample", "{run}", "--out", "{tmp}"], "is a folder; expected a file name"),
        (["sample", "{run}", "--out", "{tmp}/x.txt"], "expected a file name ending in .png"),
        (["reconstruct", "{run}", "--out", "{file}/x.png"], "is a file, not a folder"),
        (["plot", "{run}", "latent", "--out", "{tmp}/x.txt"], "expected a file name ending in .png"),
        (["plot", "{run}", "curves", "--out", "{file}/curves.png"], "is a file, not a folder"),
        (["plot", "{run}", "interpolate", "--out", "{file}/i.png"], "is a file, not a folder"),
        (["plot", "{run}", "projector", "--out", "{file}"], "is a file, not a folder"),
        (["report", "{run}", "--out", "{tmp}/r.txt"], "expected a file name ending in .html"),
        (["site", "{run}", "{file}"], "is a file, not a folder"),
        (["classifier", "train", "--out", "{file}", "--dataset", "sklearn-digits"], "is a file, not a folder"),
    ],
)
def test_an_unusable_output_path_is_refused_before_any_work(run_copy, tmp_path, capsys, argv, expected):
    a_file = tmp_path / "notes.md"
    a_file.write_text("a file, not a folder\n")
    before = _snapshot(run_copy)
    fill = {"run": run_copy, "file": a_file, "tmp": tmp_path}
    rc, err = _run(capsys, *[a.format(**fill) for a in argv])
    assert rc == 2 and expected in err and len(err.splitlines()) == 1, err
    assert str(a_file) in err or str(tmp_path) in err, err
    assert "--out" in err or "OUT" in err, err
    assert _snapshot(run_copy) == before and a_file.read_text() == "a file, not a folder\n"


def test_a_site_is_not_written_into_a_folder_holding_other_files(run_copy, tmp_path, capsys):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "notes.txt").write_text("mine\n")
    rc, err = _run(capsys, "site", run_copy, victim)
    assert rc == 2 and "not a vaelab site" in err and "notes.txt" in err, err
    assert sorted(p.name for p in victim.iterdir()) == ["notes.txt"]


def test_a_damaged_epoch_samples_file_is_one_line_and_is_rewritten_by_training(run_copy, capsys):
    samples = run_copy / "epoch_samples.npy"
    samples.write_bytes(b"xx\n")
    rc, err = _run(capsys, "plot", run_copy, "samples-per-epoch")
    assert rc == 1 and str(samples) in err and "damaged" in err and len(err.splitlines()) == 1, err
    good = np.zeros((1, 4, 1, 8, 8), np.uint8)
    np.save(samples, good)
    samples.write_bytes(samples.read_bytes()[:-20])  # truncated
    rc, err = _run(capsys, "plot", run_copy, "samples-per-epoch")
    assert rc == 1 and str(samples) in err, err
    rc, err = _run(capsys, "train", "--name", "copy", "--runs-dir", run_copy.parent, "--resume", "--epochs", 2,
                   "--no-progress")  # fmt: skip
    assert rc == 0 and f"{samples}: damaged" in err and "written again from epoch 2" in err, err
    assert np.load(samples).shape[0] == 1  # epoch 2's samples, readable again


def test_a_refused_classifier_train_writes_nothing_and_the_corrected_one_runs(tmp_path, capsys):
    out = tmp_path / "clf"
    for flags, named in (
        (["--epochs", "0"], "--epochs 0"),
        (["--epochs", "-1"], "--epochs -1"),
        (["--batch-size", "0"], "--batch-size 0"),
        (["--lr", "0"], "--lr 0"),
        (["--lr", "nan"], "--lr nan"),
        (["--limit", "0"], "--limit 0"),
    ):
        rc, err = _run(capsys, "classifier", "train", "--out", out, "--dataset", "sklearn-digits", *flags)
        assert rc == 2 and err.count("\n") == 0 and named in err, (flags, err)
        assert not out.exists(), flags
    out.mkdir()
    (out / "config.json").write_text("{}\n")  # a start that never reached its checkpoint
    (out / "metrics.jsonl").write_text('{"epoch": 9}\n')
    rc, err = _run(capsys, "classifier", "train", "--out", out, "--dataset", "sklearn-digits", "--epochs", 1,
                   "--no-progress")  # fmt: skip
    assert rc == 0, err
    assert (out / "checkpoints" / "best.pt").is_file()
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1
    rc, err = _run(capsys, "classifier", "train", "--out", out, "--dataset", "sklearn-digits", "--epochs", 1)
    assert rc == 2 and "already holds a classifier" in err, err


def test_a_classifier_train_stopped_at_its_last_writes_is_completed_by_running_it_again(tmp_path, capsys, monkeypatch):
    import vaelab.evaluate.reference_classifier as rc_module

    out = tmp_path / "clf"
    write = rc_module.atomic_write_text

    def stopped(path, text):  # Ctrl-C as eval.json (the test accuracy) is written
        if path.name == "eval.json":
            raise KeyboardInterrupt
        write(path, text)

    monkeypatch.setattr(rc_module, "atomic_write_text", stopped)
    argv = ["classifier", "train", "--out", out, "--dataset", "sklearn-digits", "--epochs", 1, "--no-progress"]
    rc, err = _run(capsys, *argv)
    assert rc == 130 and not (out / "checkpoints" / "best.pt").exists(), err  # the checkpoint is the last write
    monkeypatch.setattr(rc_module, "atomic_write_text", write)
    rc, err = _run(capsys, *argv)  # not refused as 'already holds a classifier', which had no eval.json
    assert rc == 0, err
    assert (out / "checkpoints" / "best.pt").is_file()
    assert json.loads((out / "eval.json").read_text())["test_accuracy"] > 0.5


def test_not_a_run_is_bad_input_and_a_run_without_its_config_is_damaged(run_copy, tmp_path, capsys):
    a_file = tmp_path / "notes.md"
    a_file.write_text("x\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    for cmd in (["info"], ["evaluate"], ["sample"], ["plot", "{}", "latent"]):
        for path in (a_file, empty):
            argv = [c.format(path) for c in cmd] if len(cmd) > 1 else [*cmd, str(path)]
            rc, err = _run(capsys, *argv)
            assert rc == 2 and "not a vaelab run directory" in err, (argv, err)
    (run_copy / "config.json").unlink()
    rc, err = _run(capsys, "info", run_copy)
    assert rc == 1 and "not a vaelab run directory" in err, err


def test_a_data_dir_or_val_size_that_cannot_be_used_names_the_flag(tmp_path, capsys):
    rc, err = _run(capsys, "train", "--name", "x", "--runs-dir", tmp_path, "--data-dir", tmp_path / "nowhere")
    assert rc == 2 and "--data-dir" in err and "no such folder" in err, err
    a_file = tmp_path / "notes.md"
    a_file.write_text("x\n")
    rc, err = _run(capsys, "train", "--name", "x", "--runs-dir", tmp_path, "--data-dir", a_file)
    assert rc == 2 and "--data-dir" in err and "not a folder" in err, err
    rc, err = _run(capsys, "train", "--name", "x", "--runs-dir", tmp_path, "--dataset", "sklearn-digits",
                   "--val-size", 100000, "--no-progress")  # fmt: skip
    assert rc == 2 and "--val-size 100000" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "x").exists()


def test_a_corrupt_checkpoint_is_one_short_line(run_copy, capsys):
    (run_copy / "checkpoints" / "best.pt").write_bytes(b"garbage\n" * 10)
    rc, err = _run(capsys, "sample", run_copy)
    assert rc == 1 and "best.pt: cannot read checkpoint" in err, err
    assert len(err.splitlines()) == 1 and len(err) < 400, err


def test_info_checks_the_config_as_every_other_command_does(run_copy, capsys):
    import json

    config = json.loads((run_copy / "config.json").read_text())
    for section, key, value, named in (
        (None, "model", "wat", "'wat'"),
        ("model_config", "latent_dim", "two", "latent_dim"),
        ("train", "epochs", -1, "epochs"),
    ):
        bad = json.loads(json.dumps(config))
        (bad if section is None else bad[section])[key] = value
        (run_copy / "config.json").write_text(json.dumps(bad))
        rc, err = _run(capsys, "info", run_copy)
        assert rc == 2 and "config.json" in err and named in err, err
    (run_copy / "config.json").write_text(json.dumps(config))
    rc, _ = _run(capsys, "info", run_copy)
    assert rc == 0


def test_ctrl_c_while_the_command_loads_is_one_line(monkeypatch, capsys):
    cli_main = sys.modules["vaelab.cli.main"]  # the module (vaelab.cli.main is also the function's name)

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "parse", interrupted)
    rc = cli_main.main(["train", "--epochs", "1"])
    assert rc == 130 and capsys.readouterr().err.strip() == "vaelab train: interrupted"


def test_a_closed_pipe_ends_quietly(run_copy):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-m", "vaelab", "info", str(run_copy)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)  # fmt: skip
    proc.stdout.close()  # the reader is gone before the first line is written (as `| head -0`)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_resume_names_flags_and_says_when_there_is_nothing_to_train(run_copy, capsys):
    import json

    runs = run_copy.parent
    rc, err = _run(capsys, "train", "--name", "copy", "--runs-dir", runs, "--resume", "--epochs", 0)
    assert rc == 2 and err.startswith("vaelab train: error: --epochs 0: expected an integer >= 1"), err
    rc, err = _run(capsys, "train", "--name", "copy", "--runs-dir", runs, "--resume", "--epochs", 1, "--no-progress")
    assert rc == 0 and "already trained 1 epochs" in err, err
    assert json.loads((run_copy / "config.json").read_text())["train"]["epochs"] >= 1


def test_sample_and_reconstruct_take_the_checkpoint_as_plot_does(run_copy, tmp_path, capsys):
    rc, err = _run(capsys, "sample", run_copy, "--checkpoint", "last", "--out", tmp_path / "s.png")
    assert rc == 0 and (tmp_path / "s.png").is_file(), err
    rc, err = _run(capsys, "sample", run_copy, "--checkpoint", "lats")
    assert rc == 2 and "did you mean 'last'" in err, err


def test_a_class_that_no_test_image_has_names_the_flag(run_copy, capsys):
    rc, err = _run(capsys, "plot", run_copy, "interpolate", "--from", 0, "--to", 12, "--no-progress")
    assert rc == 2 and "--to 12: no test image has this label" in err, err


def test_help_states_the_resume_rule_and_each_default_once(capsys):
    from vaelab.runs.spec import RESUMABLE_OPTIONS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in RESUMABLE_OPTIONS:
        flag = "--no-progress" if name == "progress" else "--" + name.replace("_", "-")
        rule = text.split("With --resume only", 1)[1].split("may change")[0].replace("- ", "-")  # argparse wraps at -
        assert flag in rule, flag
    assert "(default None)" not in text and "(default: off (default" not in text
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    assert "--no-progress turn off: progress bars" in " ".join(capsys.readouterr().out.split())


def _read_only(monkeypatch, folder: Path) -> None:
    """Make ``folder`` refuse new files as a read-only mount does (chmod alone does not stop root, which runs the
    tests on some machines); every other folder is left as it is."""
    import errno
    import tempfile

    real = tempfile.TemporaryFile

    def refuse(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve() == folder.resolve():
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)


def test_evaluate_checks_the_run_folder_can_be_written_before_evaluating(run_copy, monkeypatch, capsys):
    import vaelab.api
    from vaelab.core.errors import ConfigError

    def evaluate_nothing(*args, **kwargs):
        raise AssertionError("evaluated before finding that eval.json cannot be written")

    monkeypatch.setattr(vaelab.api, "evaluate", evaluate_nothing)
    before = _snapshot(run_copy)
    _read_only(monkeypatch, run_copy)
    rc, err = _run(capsys, "evaluate", run_copy, "--limit", "20", "-k", "2", "--no-progress")
    assert rc == 2 and f"{run_copy}: cannot write eval.json into it: Read-only file system" in err, err
    assert err.count("\n") == 0 or err.splitlines()[-1].startswith("vaelab evaluate: error:")
    with pytest.raises(ConfigError, match="cannot write eval.json"):
        vaelab.api.evaluate_run(run_copy, limit=20, k=2, progress=False)
    assert _snapshot(run_copy) == before
