"""The model family on real data slices: PCA (seed 001's table, closed-form runs), linear AE vs PCA, every model's
loss falls, the denoising autoencoder raises PSNR, the conv VAE on faces, evaluate / sample for every model."""

from __future__ import annotations

import json
import os

import pytest
import torch

from vaelab.cli.main import main
from vaelab.core.errors import ConfigError
from vaelab.data import load_dataset
from vaelab.models import build_model
from vaelab.runs.spec import TrainConfig
from vaelab.training.lifecycle import train_run

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def _train(
    tmp_path,
    name,
    model,
    options,
    epochs=3,
    batch_size=100,
    lr=1e-3,
    dataset="mnist",
    limit=2000,
    val_size=500,
    data_dir=None,
):
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=0, progress=False)
    return train_run(tmp_path / name, model, options, cfg, dataset, data_dir, val_size=val_size, limit=limit)


# PCA --------------------------------------------------------------------------------------------------------
def test_pca_reproduces_seed_001_table_exactly():
    from vaelab.models.pca import pca_example

    r = pca_example()
    assert [round(c[0], 2) for c in r["codes"]] == [-0.63, -0.39, 0.09, 0.41, 0.53]
    assert [[round(v, 2) for v in p] for p in r["reconstructions"]] == [
        [-0.54, -0.33],
        [-0.34, -0.20],
        [0.07, 0.04],
        [0.35, 0.21],
        [0.46, 0.27],
    ]


def test_pca_example_command_prints_the_table(capsys):
    assert main(["pca-example"]) == 0
    out = capsys.readouterr().out
    assert "| A     | (-0.50, -0.40) | -0.63" in out and "(0.46, 0.27)" in out


def test_pca_run_is_fitted_in_closed_form_with_the_run_layout(tmp_path, data_dir):
    from sklearn.decomposition import PCA

    run, trainer, records = _train(tmp_path, "pca", "pca", {"latent_dim": 5}, data_dir=data_dir)
    assert trainer.model.closed_form and len(records) == 1 and len(run.read_metrics()) == 1
    assert run.best_ckpt.is_file() and run.last_ckpt.is_file() and run.epoch_samples_path.is_file()
    model = run.load_model()
    x = load_dataset("mnist", "train", data_dir, val_size=500, limit=2000).images
    # scikit-learn's exact solver in float64 (its default picks a randomized one here, unseeded: not a fixed reference)
    x64 = x.flatten(1).double().numpy()
    ref = PCA(5, svd_solver="full").fit(x64)
    # same subspace and same reconstructions as scikit-learn (up to float32)
    rec = model.decode_linear(model.encode(x[:50])[0]).flatten(1).numpy()
    ref_rec = ref.inverse_transform(ref.transform(x64[:50]))
    assert abs(rec - ref_rec).max() < 1e-4
    # the loss is the squared error of the projection, and it beats predicting the mean image
    mean_err = (x - x.mean(0)).flatten(1).pow(2).sum(1).mean()
    assert records[0]["train_loss"] < 0.8 * float(mean_err)
    # sampling uses N(0, diag(explained variance)); evaluate reports reconstruction error
    assert model.sample(7, torch.Generator().manual_seed(0)).shape == (7, 1, 28, 28)
    with pytest.raises(ConfigError, match="closed-form"):
        train_run(run.path, resume=True)


# linear autoencoder vs PCA ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_linear_autoencoder_finds_pca_subspace_in_another_basis(tmp_path, data_dir):
    """150 full-batch Adam steps (lr 1e-2) on 5,000 MNIST images, D = 6."""
    from vaelab.evaluate.latent_metrics import subspace_comparison

    run, _, records = _train(
        tmp_path,
        "lin",
        "linear-ae",
        {"latent_dim": 6},
        epochs=150,
        batch_size=5000,
        lr=1e-2,
        limit=5000,
        val_size=500,
        data_dir=data_dir,
    )
    assert records[-1]["val_loss"] < records[0]["val_loss"]
    model = run.load_model("last")  # where training converged (the best-validation epoch can be earlier)
    x = load_dataset("mnist", "train", data_dir, val_size=500, limit=5000).images
    pca = build_model("pca", {"latent_dim": 6}).fit(x)
    res = subspace_comparison(model.decoder_weight, pca.components)
    assert res["max_principal_angle_deg"] < 1.0  # the same subspace ...
    # ... but not PCA's basis: columns are not unit vectors, and not aligned with the principal components
    assert max(abs(n - 1) for n in res["column_norms"]) > 0.1
    assert max(res["angle_to_pc_i_deg"]) > 20
    # the printed table
    assert main(["subspace", str(run.path), "--data-dir", str(data_dir)]) == 0
    saved = json.loads((run.path / "subspace.json").read_text())
    assert saved["max_principal_angle_deg"] == pytest.approx(res["max_principal_angle_deg"], abs=1e-3)


# every model's loss falls -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,options,kw",
    [
        ("linear-ae", {"latent_dim": 6}, {"batch_size": 2000, "lr": 1e-2, "epochs": 4}),
        ("ae", {"latent_dim": 2}, {}),
        ("dae", {"noise": "salt-pepper", "noise_level": 0.3}, {}),
        ("guided-vae", {}, {"lr": 3e-3}),
        ("conv-vae", {"latent_dim": 2, "channels": (16, 32), "hidden": (64,)}, {}),
    ],
)
def test_loss_falls_on_real_data(tmp_path, data_dir, name, options, kw):
    run, _, records = _train(tmp_path, name, name, options, data_dir=data_dir, **kw)
    assert records[-1]["val_loss"] < records[0]["val_loss"]
    assert records[-1]["train_loss"] < records[0]["train_loss"]
    model = run.load_model()
    # evaluate and sample work for every model
    assert (
        main(["evaluate", str(run.path), "--k", "5", "--limit", "100", "--no-progress", "--data-dir", str(data_dir)])
        == 0
    )
    ev = run.read_eval()
    assert ("nll" in ev) == model.has_importance_weights
    assert ("psnr_db" in ev) != model.has_importance_weights
    assert main(["sample", str(run.path), "-n", "10"]) == 0
    assert (run.figures / "samples.png").is_file()
    assert run.read_epoch_samples().shape == (records[-1]["epoch"], 10, 1, 28, 28)


# denoising --------------------------------------------------------------------------------------------------
def test_corruptions_have_the_requested_strength():
    from vaelab.models.autoencoder import corrupt

    x = torch.full((200, 1, 28, 28), 0.5)
    g = torch.Generator().manual_seed(0)
    sp = corrupt(x, "salt-pepper", 0.2, g)
    changed = (sp != 0.5).double().mean()
    assert 0.18 < float(changed) < 0.22 and set(sp[sp != 0.5].unique().tolist()) == {0.0, 1.0}
    gs = corrupt(x, "gaussian", 0.1, g)
    assert 0.09 < float((gs - x).std()) < 0.11 and gs.min() >= 0 and gs.max() <= 1


@pytest.mark.slow
def test_denoising_autoencoder_raises_psnr_on_the_test_set(tmp_path, data_dir):
    run, _, _ = _train(
        tmp_path, "dae", "dae", {"noise": "gaussian", "noise_level": 0.5}, epochs=3, limit=3000, data_dir=data_dir
    )
    assert main(["evaluate", str(run.path), "--limit", "1000", "--no-progress", "--data-dir", str(data_dir)]) == 0
    ev = run.read_eval()
    assert ev["psnr_denoised_db"] > ev["psnr_noisy_db"] + 2
    assert main(["denoise", str(run.path), "-n", "8", "--limit", "1000", "--data-dir", str(data_dir)]) == 0
    assert (run.figures / "denoising.png").is_file()


# conv VAE ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 28, 20), (1, 64, 64), (1, 15, 9)])
def test_conv_vae_handles_any_image_size(shape):
    m = build_model("conv-vae", {"image_shape": shape, "channels": (8, 16), "latent_dim": 3})
    x = torch.rand(4, *shape)
    assert m.decode(torch.randn(2, 3)).shape == (2, *shape)
    assert m(x).loss.shape == (4,) and m.log_weights(x, 5).shape == (5, 4)


@pytest.mark.slow
def test_conv_vae_validation_loss_falls_on_faces(tmp_path, data_dir):
    if not (data_dir / "faces" / "olivettifaces.mat").is_file():
        pytest.fail(f"olivettifaces.mat not found under {data_dir / 'faces'}")
    run, _, records = _train(
        tmp_path,
        "faces",
        "conv-vae",
        {"likelihood": "gaussian", "channels": (8, 16, 16), "hidden": (32,), "latent_dim": 8},
        epochs=4,
        batch_size=32,
        lr=2e-3,
        dataset="olivetti-faces",
        limit=None,
        val_size=None,
        data_dir=data_dir,
    )
    vals = [r["val_loss"] for r in records]
    assert vals[-1] < vals[0]
    assert main(["sample", str(run.path), "-n", "16"]) == 0
    assert run.load_model().sample(3).shape == (3, 1, 64, 64)
