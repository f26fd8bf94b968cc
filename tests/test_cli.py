"""The command line: a small end-to-end run on real MNIST, and clear messages (no traceback) for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vaelab.cli.main import main


def run_cli(*args, cwd=None):
    """Run ``python -m vaelab ARGS`` in a subprocess; returns (exit code, stdout, stderr)."""
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "vaelab", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_train_evaluate_sample_reconstruct_info(tmp_path, data_dir):
    runs = tmp_path / "runs"
    code, out, err = run_cli(
        "train",
        "--latent-dim",
        "2",
        "--hidden",
        "64",
        "--epochs",
        "1",
        "--limit",
        "1000",
        "--val-size",
        "500",
        "--name",
        "small",
        "--runs-dir",
        runs,
        "--data-dir",
        data_dir,
        "--no-progress",
    )
    assert code == 0, err
    run = runs / "small"
    assert f"run: {run}" in out
    for name in ("config.json", "metrics.jsonl", "checkpoints/best.pt", "checkpoints/last.pt", "epoch_samples.npy"):
        assert (run / name).is_file(), name
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))

    assert main(["evaluate", str(run), "--k", "5", "--limit", "200", "--no-progress"]) == 0
    ev = json.loads((run / "eval.json").read_text())
    assert ev["k"] == 5 and ev["n_images"] == 200 and ev["split"] == "test" and ev["nll"] <= -ev["elbo"]

    assert main(["sample", str(run), "-n", "9"]) == 0
    img = np.asarray(Image.open(run / "figures" / "samples.png"))
    assert img.shape == (2 * (2 + 3 * 30), 2 * (2 + 3 * 30))  # 3x3 tiles of 28 px, padding 2, scaled 2x

    assert main(["reconstruct", str(run), "-n", "8", "--per-row", "4"]) == 0
    img = np.asarray(Image.open(run / "figures" / "reconstructions.png"))
    assert img.shape == (2 * (2 + 4 * 30), 2 * (2 + 4 * 30))  # inputs / reconstructions, 2 pairs of rows

    code, out, err = run_cli("info", run)
    assert code == 0 and "model      vae" in out and "NLL" in out and "K=5" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--latent-dim", "0"], "--latent-dim 0: expected an integer >= 1"),
        (["train", "--beta", "-1"], "--beta -1.0: expected a number >= 0"),
        (["train", "--dataset", "cifar"], "--dataset 'cifar': expected one of "),
        (["train", "--epochs", "0"], "--epochs 0: expected an integer >= 1"),
        (["train", "--model", "gan"], "--model 'gan': expected one of ae, conv-vae, custom-vae, dae, guided-vae"),
        (["train", "--hidden", "a,b"], "--hidden 'a,b': expected comma-separated integers"),
        (["train", "--likelihood", "poisson"], "--likelihood 'poisson': expected one of bernoulli, gaussian"),
        (["train", "--config", "missing.toml"], "--config missing.toml: file not found"),
        (["train", "--resume", "--name", "nothing"], "--resume: runs/nothing is not a run directory"),
        (["train", "--frobnicate"], "unknown option --frobnicate"),
        (["evaluate", "no/such/run"], "no/such/run: not a vaelab run directory"),
        (["sample", "no/such/run"], "no/such/run: not a vaelab run directory"),
    ],
)
def test_bad_input_gets_one_clear_line(tmp_path, args, message):
    code, out, err = run_cli(*args, cwd=tmp_path)
    assert code == 2, err  # bad input, everywhere
    assert message in err
    assert err.count("\n") == 1 and "usage:" not in err and "Traceback" not in err


def test_bad_toml_and_corrupt_checkpoint(tmp_path, mnist_vae_run):
    import shutil

    (tmp_path / "bad.toml").write_text("latent_dim = = 3")
    code, _, err = run_cli("train", "--config", "bad.toml", cwd=tmp_path)
    assert code == 2 and "--config bad.toml: not valid TOML" in err

    run = tmp_path / "run"
    shutil.copytree(mnist_vae_run.path, run)
    (run / "checkpoints" / "best.pt").write_bytes(b"garbage")
    code, _, err = run_cli("sample", run)
    assert code == 1 and f"{run / 'checkpoints' / 'best.pt'}: cannot read checkpoint" in err
    assert "Traceback" not in err


def test_toml_config_and_flags(tmp_path, data_dir):
    (tmp_path / "c.toml").write_text(
        "[model]\nlatent_dim = 3\nhidden = [32]\nbeta = 0.5\n[train]\nepochs = 1\nbatch_size = 50\n"
        "[data]\nlimit = 200\nval_size = 100\n"
    )
    code, _, err = run_cli(
        "train",
        "--config",
        "c.toml",
        "--beta",
        "2",
        "--name",
        "t",
        "--data-dir",
        data_dir,
        "--no-progress",
        cwd=tmp_path,
    )
    assert code == 0, err
    cfg = json.loads((tmp_path / "runs" / "t" / "config.json").read_text())
    assert cfg["model_config"]["latent_dim"] == 3 and cfg["model_config"]["hidden"] == [32]
    assert cfg["model_config"]["beta"] == 2.0  # the flag wins over the file
    assert cfg["train"]["batch_size"] == 50 and cfg["dataset"]["n_train"] == 200


BIG = "99999999999999999999999"  # more than 64 bits: torch's manual_seed overflowed on it


@pytest.mark.parametrize(
    "args",
    [
        ["sample", "RUN", "--seed", BIG],
        ["evaluate", "RUN", "--seed", "-1", "--limit", "5"],
        ["evaluate", "RUN", "--seed", BIG, "--limit", "5"],
        ["denoise", "RUN", "--seed", str(2**63)],
        ["train", "--seed", BIG, "--epochs", "1"],
        ["classifier", "train", "--seed", BIG, "--out", "OUT"],
        ["compare", "RUN", "RUN", "--seed", "-5"],
    ],
)
def test_every_seed_is_an_integer_from_0_to_2_63_minus_1(tmp_path, mnist_vae_run, capsys, monkeypatch, args):
    argv = [str(mnist_vae_run.path) if a == "RUN" else str(tmp_path / "clf") if a == "OUT" else a for a in args]
    before = sorted(p.name for p in mnist_vae_run.path.rglob("*"))
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--seed " in err and "expected an integer from 0 to 2**63 - 1" in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in mnist_vae_run.path.rglob("*")) == before and not (tmp_path / "clf").exists()


def test_python_seeds_are_checked_as_the_flags_are(mnist_vae_run):
    import vaelab
    from vaelab.core.errors import ConfigError
    from vaelab.core.options import MAX_SEED

    run = vaelab.load_run(mnist_vae_run.path)
    assert run.sample(2, seed=MAX_SEED).shape[0] == 2  # the largest seed works
    with pytest.raises(ConfigError, match=r"seed=9223372036854775808: expected an integer from 0 to 2\*\*63 - 1"):
        run.sample(2, seed=MAX_SEED + 1)
    with pytest.raises(ConfigError, match=r"seed=-1: expected an integer from 0 to 2\*\*63 - 1"):
        vaelab.train(epochs=1, seed=-1)


@pytest.mark.parametrize(
    "args, message",
    [
        (["sample", "RUN", "-n", "100000000"], "-n 100000000: 100,000,000 images of 1x28x28 need about"),
        (["plot", "RUN", "manifold", "--size", "100000"], "--size 100000: 100,000 x 100,000 images need about"),
        (["evaluate", "RUN", "-k", "99999999999", "--limit", "10"], "-k 99999999999: expected an integer from 1 to"),
        (["reproduce", "burda-vae-1layer-k1", "--eval-k", "2000000"], "--eval-k 2000000: expected an integer from 1"),
    ],
)
def test_sizes_that_cannot_fit_are_refused_before_any_work(tmp_path, mnist_vae_run, capsys, monkeypatch, args, message):
    import vaelab.core.memory

    monkeypatch.setattr(vaelab.core.memory, "available_memory", lambda: 2**30)  # 1 GiB, on any machine
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in mnist_vae_run.path.rglob("*"))
    assert main([str(mnist_vae_run.path) if a == "RUN" else a for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert sorted(p.name for p in mnist_vae_run.path.rglob("*")) == before and not list(tmp_path.iterdir())


def test_python_sizes_that_cannot_fit_name_the_keyword(mnist_vae_run, monkeypatch):
    import vaelab
    import vaelab.core.memory
    from vaelab.core.errors import ConfigError

    monkeypatch.setattr(vaelab.core.memory, "available_memory", lambda: 2**30)
    run = vaelab.load_run(mnist_vae_run.path)
    with pytest.raises(ConfigError, match=r"^n=100000000: 100,000,000 images of 1x28x28 need about"):
        run.sample(100_000_000)
    with pytest.raises(ConfigError, match=r"k=2000000: expected an integer from 1 to 1000000"):
        vaelab.api.evaluate_run(mnist_vae_run.path, k=2_000_000, limit=5, progress=False)
    assert run.sample(4).shape[0] == 4
