"""Sample scores: the Fréchet distance against closed forms, precision and recall on toy manifolds, the
dataset-agnostic reference classifier, and `vaelab evaluate --samples` on a small real MNIST run."""

from __future__ import annotations

import json
import math
import shutil
import warnings

import numpy as np
import pytest
import torch
from scipy.stats import ortho_group
from sklearn.neighbors import NearestNeighbors

from vaelab.evaluate.sample_quality import (
    feature_statistics,
    frechet_distance,
    knn_radii,
    precision_recall,
)


def test_frechet_distance_of_gaussians_with_commuting_covariances_is_the_closed_form():
    # S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T commute: Tr(S1 + S2 - 2 (S1 S2)^1/2) = sum (sqrt a - sqrt b)^2
    rng = np.random.default_rng(0)
    q = ortho_group.rvs(6, random_state=1)
    a, b = rng.uniform(0.1, 4.0, 6), rng.uniform(0.1, 4.0, 6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    want = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(want, rel=1e-9)
    # one dimension: (mu1 - mu2)^2 + (sigma1 - sigma2)^2
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[0.25]])) == (
        pytest.approx(9.0 + 1.5**2)
    )
    assert frechet_distance(mu1, q @ np.diag(a) @ q.T, mu1, q @ np.diag(a) @ q.T) == pytest.approx(0.0, abs=1e-9)
    # a feature that never varies (a dead ReLU unit) makes the product singular: still the closed form
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = frechet_distance(np.zeros(3), np.diag([1.0, 2.0, 0.0]), np.zeros(3), np.diag([1.0, 3.0, 0.0]))
    assert got == pytest.approx((math.sqrt(2) - math.sqrt(3)) ** 2, abs=1e-4)


def test_frechet_distance_of_non_commuting_2d_gaussians_is_the_closed_form():
    # for 2x2 M = S1 S2 (eigenvalues > 0): Tr M^1/2 = sqrt(Tr M + 2 sqrt(det M))
    s1 = np.array([[2.0, 0.9], [0.9, 1.0]])
    s2 = np.array([[0.5, -0.2], [-0.2, 3.0]])
    m = s1 @ s2
    tr_sqrt = math.sqrt(np.trace(m) + 2 * math.sqrt(np.linalg.det(m)))
    want = 1.0 + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    got = frechet_distance(np.array([1.0, 0.0]), s1, np.zeros(2), s2)
    assert got == pytest.approx(want, rel=1e-9)


def test_frechet_distance_from_samples_approaches_the_gaussians():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40000, 3, generator=g, dtype=torch.float64) * torch.tensor([1.0, 2.0, 0.5])
    y = torch.randn(40000, 3, generator=g, dtype=torch.float64) + torch.tensor([1.0, 0.0, 0.0])
    got = frechet_distance(*feature_statistics(x), *feature_statistics(y))
    assert got == pytest.approx(1.0 + 0.0 + 1.0 + 0.25, abs=0.05)  # |dmu|^2 + sum (sigma_x - sigma_y)^2


def test_knn_radii_equal_scikit_learns_neighbours():
    x = torch.randn(300, 5, generator=torch.Generator().manual_seed(2))
    want = NearestNeighbors(n_neighbors=4).fit(x.numpy()).kneighbors(x.numpy())[0][:, 3]  # itself, then 3
    np.testing.assert_allclose(knn_radii(x, 3, chunk=64).numpy(), want, rtol=1e-5)


def test_precision_and_recall_on_toy_manifolds():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(2000, 2, generator=g)
    assert precision_recall(real, real.clone()) == (1.0, 1.0)  # identical sets
    assert precision_recall(real, real + 10.0) == (0.0, 0.0)  # disjoint sets
    # samples covering a quarter of the real square: realistic (high precision), a quarter of its variety
    sub = torch.rand(500, 2, generator=g) * torch.tensor([0.25, 1.0])
    precision, recall = precision_recall(real, sub)
    assert precision > 0.95 and 0.15 < recall < 0.4
    # the other way round: samples spread over a larger square are partly unrealistic but cover the data
    wide = torch.rand(2000, 2, generator=g) * 2.0
    precision, recall = precision_recall(real, wide)
    assert 0.15 < precision < 0.4 and recall > 0.9


def test_the_reference_classifier_takes_any_labelled_images():
    from vaelab.evaluate.reference_classifier import fit_classifier

    # two colour classes a linear feature separates: red images and blue images, 12x16
    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 3, 12, 16, generator=g) * 0.3
    y = torch.arange(200) % 2
    x[y == 0, 0] += 0.7
    x[y == 1, 2] += 0.7
    model = fit_classifier(x, y, epochs=3, batch_size=32, lr=3e-3, channels=(4, 8), progress=False)
    assert (model.predict_proba(x).argmax(1) == y).double().mean() > 0.95
    assert model.embed(x).shape == (200, 128)


def test_sample_scores_need_a_labelled_dataset(data_dir):
    from vaelab.core.errors import ConfigError
    from vaelab.evaluate.sample_quality import evaluate_samples
    from vaelab.models.registry import build_model

    model = build_model("vae", {"image_shape": (1, 28, 20), "hidden": [8], "latent_dim": 2})
    with pytest.raises(ConfigError, match="--samples: dataset frey-face has no labels"):
        evaluate_samples(model, {"name": "frey-face", "data_dir": str(data_dir)}, 10)


def test_evaluate_samples_on_a_small_real_mnist_run(tmp_path, mnist_vae_run, data_dir, capsys):
    from vaelab.cli.main import main
    from vaelab.evaluate.reference_classifier import classifier_cache_path, classifier_for_dataset

    run = tmp_path / "run"
    shutil.copytree(mnist_vae_run.path, run)
    dataset = json.loads((run / "config.json").read_text())["dataset"]
    # a quick classifier into the cache (the default trains 2 epochs on the full split on first use)
    quick = {"epochs": 1, "limit": 5000, "batch_size": 50, "lr": 3e-3, "channels": (8, 16)}
    _, path, info = classifier_for_dataset(dataset, data_dir, progress=False, **quick)
    assert path == classifier_cache_path("mnist") and info["test_accuracy"] > 0.85
    args = ["evaluate", str(run), "--k", "5", "--limit", "200", "--samples", "300", "--no-progress"]
    assert main([*args, "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "Fréchet distance, vaelab MNIST classifier features (300 samples vs 300 test images)" in out
    assert "FID" not in out and "bits/dim" in out
    ev = json.loads((run / "eval.json").read_text())
    assert ev["bits_per_dim"] == pytest.approx(ev["nll"] / (784 * math.log(2)))  # Bernoulli: no offset
    s = ev["samples"]
    assert s["n_samples"] == 300 and s["k"] == 3 and s["classifier"] == str(path)
    floor = s["reference"]
    # a 2-D VAE after 3 epochs is further from the test images than other real images are
    assert 0 <= floor["frechet_distance"] < s["frechet_distance"]
    assert floor["precision"] > 0.6 and floor["recall"] > 0.6
    assert 0 <= s["precision"] <= 1 and 0 <= s["recall"] < floor["recall"]
    assert main(["info", str(run)]) == 0
    assert "samples    Fréchet distance, vaelab MNIST classifier features" in capsys.readouterr().out
    _scores_reach_the_card_and_the_leaderboard(run, ev)
    _packs_keep_the_scores_and_refuse_malformed_ones(run, tmp_path, ev)


def _packs_keep_the_scores_and_refuse_malformed_ones(run, tmp_path, ev):
    from vaelab.core.errors import PackError
    from vaelab.runs.open import open_run
    from vaelab.runs.pack_read import check_pack, read_eval
    from vaelab.runs.packed import pack_run

    packed = pack_run(open_run(run), tmp_path / "packed")
    check_pack(packed)
    assert read_eval(packed)["samples"]["recall"] == ev["samples"]["recall"]
    bad = json.loads((packed / "eval.json").read_text())
    bad["samples"]["frechet_distance"] = "low"
    (packed / "eval.json").write_text(json.dumps(bad))
    with pytest.raises(PackError, match="frechet_distance"):
        read_eval(packed)


def _scores_reach_the_card_and_the_leaderboard(run, ev):
    from huggingface_hub import ModelCard

    from vaelab.runs.card import model_card
    from vaelab.viz.leaderboard import render_leaderboard

    config = json.loads((run / "config.json").read_text())
    card = model_card(config, ev, [], 3)
    entries = ModelCard(card).data.to_dict()["model-index"][0]["results"]
    metrics = {m["type"]: m for e in entries for m in e["metrics"]}
    assert metrics["bits_per_dim"]["value"] == pytest.approx(ev["bits_per_dim"], abs=1e-4)
    fd = metrics["frechet_distance"]
    assert fd["name"] == "Fréchet distance, vaelab MNIST classifier features"
    assert fd["value"] == pytest.approx(ev["samples"]["frechet_distance"], abs=1e-4)
    assert fd["args"]["floor"] == pytest.approx(ev["samples"]["reference"]["frechet_distance"], abs=1e-4)
    assert metrics["recall"]["value"] == pytest.approx(ev["samples"]["recall"], abs=1e-4)
    assert f"Fréchet distance, vaelab MNIST classifier features {ev['samples']['frechet_distance']:.3f}" in card
    record = {"recipe": "toy", "nll": ev["nll"], "nll_stderr": ev["nll_stderr"], "k": 5, "epochs_run": 3}
    board = render_leaderboard([], [{**record, "bits_per_dim": ev["bits_per_dim"], "samples": ev["samples"]}])
    assert f"{ev['bits_per_dim']:.4f} bits/dim" in board
    assert f"precision {ev['samples']['precision']:.3f} / recall {ev['samples']['recall']:.3f}" in board
