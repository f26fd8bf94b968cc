"""The Python API (``vaelab.train`` / ``vaelab.load_run`` / ``Run``) and packed models, on small runs of
scikit-learn's 8x8 digits: the API's numbers and Figures are the command line's, a packed model reloads with
identical outputs and holds no pickle, and ``import vaelab`` stays light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import vaelab
from vaelab.cli.main import main
from vaelab.core.errors import CheckpointError, ConfigError
from vaelab.viz.grids import make_grid
from vaelab.viz.manifold import decode_codes, manifold_codes, tile
from vaelab.viz.style import save_figure

SRC = Path(vaelab.__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A 2-D VAE trained 3 epochs on sklearn-digits through the API (a few seconds)."""
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    runs = tmp_path_factory.mktemp("api-runs")
    return vaelab.train(
        "vae",
        name="digits-z2",
        dataset="sklearn-digits",
        runs_dir=runs,
        latent_dim=2,
        hidden=(64,),
        epochs=3,
        batch_size=64,
        progress=False,
    )


def _png(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_import_vaelab_is_light_and_train_is_the_api_function():
    code = (
        "import sys, vaelab\n"
        "assert 'torch' not in sys.modules and 'vaelab.api' not in sys.modules, sorted(sys.modules)\n"
        "assert callable(vaelab.train) and set(vaelab.__all__) >= {'train', 'load_run', 'Run'}\n"
        "for name in vaelab.__all__:\n"
        "    assert name == '__version__' or getattr(vaelab, name).__doc__, name\n"
        "import vaelab.runs.spec, vaelab.training\n"
        "assert callable(vaelab.train) and vaelab.train.__module__ == 'vaelab.api'\n"
        "from vaelab.runs.folder import RunDir\n"
        "import inspect\n"
        "assert vaelab.Run.__module__ == 'vaelab.api' and 'runs_dir' in str(inspect.signature(vaelab.train))\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)}
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_train_returns_a_run_and_resume_does_not_train_again(digits_run, tmp_path):
    run = digits_run
    assert isinstance(run, vaelab.Run) and run.name == "digits-z2"
    assert [r["epoch"] for r in run.metrics] == [1, 2, 3]
    assert run.config["dataset"]["name"] == "sklearn-digits" and run.config["dataset"]["n_train"] == 1458
    assert isinstance(run.model, torch.nn.Module) and run.model.latent_dim == 2
    again = vaelab.train(
        "vae",
        name="digits-z2",
        dataset="sklearn-digits",
        runs_dir=run.path.parent,
        latent_dim=2,
        hidden=(64,),
        epochs=3,
        batch_size=64,
        progress=False,
        resume=True,
    )
    assert again.path == run.path and len(again.metrics) == 3  # complete: returned, not trained again
    with pytest.raises(ConfigError, match="latent_dim=3 but the run .* was made with 2"):
        vaelab.train("vae", name="digits-z2", dataset="sklearn-digits", runs_dir=run.path.parent, latent_dim=3,
                     hidden=(64,), resume=True, progress=False)  # fmt: skip
    with pytest.raises(ConfigError, match="unknown option latnet_dim=2"):
        vaelab.train("vae", latnet_dim=2, runs_dir=tmp_path)
    with pytest.raises(ConfigError, match="^latent_dim=0: expected an integer >= 1"):
        vaelab.train("vae", latent_dim=0, dataset="sklearn-digits", runs_dir=tmp_path)
    with pytest.raises(CheckpointError, match="not a vaelab run directory"):
        vaelab.load_run(tmp_path / "nothing")


def test_evaluate_is_the_cli_evaluate(digits_run, capsys):
    run = digits_run
    ev = run.evaluate(k=20, limit=100)
    assert ev == json.loads(run.dir.eval_path.read_text())
    assert ev["k"] == 20 and ev["n_images"] == 100 and ev["split"] == "test" and np.isfinite(ev["nll"])
    assert ev["nll"] <= -ev["elbo"] + 1e-3  # the importance-weighted bound is tighter than the ELBO
    assert main(["evaluate", str(run.path), "--k", "20", "--limit", "100", "--no-progress"]) == 0
    cli = json.loads(run.dir.eval_path.read_text())
    assert cli["nll"] == ev["nll"] and cli["elbo"] == ev["elbo"]  # same seed, same code path
    assert f"NLL (K=20) = {ev['nll']:.2f}" in capsys.readouterr().out


def test_figures_hold_the_cli_pngs_data(digits_run, tmp_path):
    run, model = digits_run, digits_run.model
    # manifold: the Figure's image is the decoder's output at the grid points, and it draws the CLI's PNG
    fig = run.plot("manifold", size=6)
    canvas = fig.axes[0].images[0].get_array()
    expected = tile(decode_codes(model, manifold_codes(2, 6)))
    np.testing.assert_allclose(np.asarray(canvas), expected, atol=1e-6)
    assert main(["plot", str(run.path), "manifold", "--size", "6", "--no-progress"]) == 0
    save_figure(fig, tmp_path / "api-manifold.png")
    np.testing.assert_array_equal(_png(tmp_path / "api-manifold.png"), _png(run.dir.figures / "manifold.png"))
    # latent scatter: each class's collection holds that class's codes (encoder means of the test images)
    test = run.data("test")
    with torch.no_grad():
        codes = model.encode(test.images)[0].numpy()
    fig = run.plot("latent")
    collections = fig.axes[0].collections
    labels = test.labels.numpy()
    assert len(collections) == 10
    for digit, coll in enumerate(collections):
        np.testing.assert_allclose(coll.get_offsets(), codes[labels == digit], rtol=1e-5, atol=1e-6)
    # save= writes exactly the command line's file
    run.plot("latent", save=tmp_path / "latent.png")
    assert main(["plot", str(run.path), "latent", "--no-progress"]) == 0
    np.testing.assert_array_equal(_png(tmp_path / "latent.png"), _png(run.dir.figures / "latent.png"))
    # samples: the Figure shows the grid that `vaelab sample` writes (enlarged 2 times)
    fig = run.plot("samples", n=9, seed=3)
    grid = np.asarray(fig.axes[0].images[0].get_array())
    np.testing.assert_array_equal(grid, make_grid(run.sample(9, seed=3), nrow=3))
    assert main(["sample", str(run.path), "-n", "9", "--seed", "3"]) == 0
    with Image.open(run.dir.figures / "samples.png") as im:
        np.testing.assert_array_equal(np.asarray(im)[::2, ::2], grid)
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # what Jupyter shows inline
    with pytest.raises(ConfigError, match="figure kind 'scatter'"):
        run.plot("scatter")
    with pytest.raises(ConfigError, match="latent: bins: unknown option; expected some of: n, method"):
        run.plot("latent", bins=3)


def _outputs(model, x, seed=0):
    with torch.no_grad():
        mu, logvar = model.encode(x)
        return mu, logvar, model.decode(mu), model.sample(8, generator=torch.Generator().manual_seed(seed))


def test_packed_model_round_trip_without_pickle(digits_run, tmp_path, capsys):
    from huggingface_hub import metadata_load
    from safetensors import safe_open
    from safetensors.torch import load_file

    run = digits_run
    run.evaluate(k=20, limit=100)
    with pytest.raises(ConfigError, match="exists and is not an empty folder"):
        (tmp_path / "full").mkdir()
        (tmp_path / "full" / "x").write_text("x")
        run.pack(tmp_path / "full")
    assert main(["pack", str(run.path), str(tmp_path / "packed")]) == 0
    folder = tmp_path / "packed"
    names = sorted(p.name for p in folder.rglob("*") if p.is_file())
    assert {"model.safetensors", "config.json", "README.md", "eval.json"} <= set(names)
    assert not [n for n in names if n.endswith((".pt", ".pth", ".pkl", ".pickle", ".ckpt"))], names
    state = load_file(str(folder / "model.safetensors"))
    assert set(state) == set(run.model.state_dict())
    with safe_open(str(folder / "model.safetensors"), "pt") as fh:
        assert fh.metadata()["model"] == "vae"
    packed = vaelab.load_run(folder)
    assert packed.packed and not run.packed
    x = run.data("test", limit=50).images
    for a, b in zip(_outputs(run.model, x, 7), _outputs(packed.model, x, 7), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    front = metadata_load(folder / "README.md")["vaelab"]
    assert front["model_family"] == "vae" and front["dataset"] == "sklearn-digits"
    assert front["image_shape"] == [1, 8, 8]
    assert front["training"]["seconds"] > 0 and "torch threads" in front["training"]["hardware"]
    # every command that takes a run takes the packed folder
    assert main(["evaluate", str(folder), "--k", "20", "--limit", "100", "--no-progress"]) == 0
    assert json.loads((folder / "eval.json").read_text())["nll"] == pytest.approx(run.eval_result["nll"])
    assert main(["sample", str(folder), "-n", "4"]) == 0
    assert main(["reconstruct", str(folder), "-n", "4", "--per-row", "4"]) == 0
    assert main(["plot", str(folder), "curves", "--no-progress"]) == 0
    assert main(["info", str(folder)]) == 0
    assert "packed: model.safetensors" in capsys.readouterr().out
    # a deterministic model's card states its reconstruction error
    ae = vaelab.train("ae", name="ae", dataset="sklearn-digits", runs_dir=tmp_path / "runs", latent_dim=2,
                      hidden=(32,), epochs=1, progress=False)  # fmt: skip
    with pytest.raises(ConfigError, match="eval.json: not found; evaluate the run first"):
        ae.pack(tmp_path / "ae-packed")
    ae.evaluate()
    card = metadata_load(ae.pack(tmp_path / "ae-packed").path / "README.md")
    metrics = {m["type"]: m["value"] for m in card["model-index"][0]["results"][0]["metrics"]}
    assert metrics["squared_error"] == pytest.approx(ae.eval_result["sq_error"], abs=1e-4) and "nll" not in metrics
