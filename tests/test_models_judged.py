"""Tests judged by a reference MNIST classifier (trained here on a slice): the classifier itself, the guided VAE's
generation of chosen digits, and ``vaelab compare`` on two small real runs."""

from __future__ import annotations

import json
import os

import pytest
import torch

from vaelab.cli.main import main
from vaelab.runs.spec import TrainConfig
from vaelab.training.lifecycle import train_run

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="module")
def reference_classifier(tmp_path_factory, data_dir):
    """The reference CNN trained 1 epoch on the first 10,000 MNIST training images (the README's >= 98% figure
    is the full 2-epoch training, ``vaelab classifier train``)."""
    from vaelab.evaluate.reference_classifier import load_classifier, train_classifier

    out = tmp_path_factory.mktemp("clf") / "mnist-classifier"
    result = train_classifier(out, "mnist", data_dir, epochs=1, batch_size=64, lr=2e-3, limit=10000, progress=False)
    return out, result, load_classifier(out)


@pytest.mark.slow
def test_reference_classifier_learns_and_reloads(reference_classifier, data_dir):
    from vaelab.data import load_dataset
    from vaelab.evaluate.reference_classifier import accuracy

    out, result, model = reference_classifier
    assert result["n_images"] == 10000 and result["test_accuracy"] > 0.94
    test = load_dataset("mnist", "test", data_dir, limit=2000)
    assert accuracy(model, test.images, test.labels) > 0.94
    assert main(["classifier", "evaluate", str(out), "--data-dir", str(data_dir)]) == 0


@pytest.mark.slow
def test_guided_vae_generates_the_digit_asked_for(reference_classifier, tmp_path, data_dir):
    """Test config (documented in the README's guided VAE section): the seed's guided VAE with ReLU instead of sigmoid,
    z of 2, Adam 3e-3, batch 100, 6 epochs on 10,000 images; 100 samples per digit."""
    clf_dir, _, clf = reference_classifier
    run, _, records = train_run(
        tmp_path / "guided",
        "guided-vae",
        {"activation": "relu", "latent_dim": 2},
        TrainConfig(epochs=6, batch_size=100, lr=3e-3, seed=0, progress=False),
        "mnist",
        data_dir,
        val_size=1000,
        limit=10000,
    )
    assert records[-1]["val_loss"] < records[0]["val_loss"]
    model = run.load_model()
    digits = torch.arange(10).repeat_interleave(100)
    labels = clf.predict_proba(model.generate(digits, torch.Generator().manual_seed(0))).argmax(1)
    per_digit = [(labels[digits == d] == d).double().mean().item() for d in range(10)]
    assert min(per_digit) >= 0.8, per_digit
    # sample(n) cycles the digits: sample i is digit i % 10
    samples = model.sample(20, torch.Generator().manual_seed(1))
    assert (clf.predict_proba(samples).argmax(1) == torch.arange(20) % 10).double().mean() >= 0.8
    # evaluate reports the Gaussian NLL and the classifier's accuracy
    assert (
        main(["evaluate", str(run.path), "--k", "10", "--limit", "500", "--no-progress", "--data-dir", str(data_dir)])
        == 0
    )
    ev = run.read_eval()
    assert ev["classifier_accuracy"] > 0.85 and "not comparable" in ev["nll_note"]
    assert main(["generate", str(run.path), "--digit", "3", "-n", "5"]) == 0
    assert main(["generate", str(run.path), "-n", "2", "--judge", "--judge-n", "20", "--classifier", str(clf_dir)]) == 0
    assert (run.figures / "digit3.png").is_file()


@pytest.mark.slow
def test_compare_computes_its_table_on_two_small_real_runs(reference_classifier, tmp_path, data_dir, capsys):
    clf_dir, _, _ = reference_classifier
    runs = []
    for name, options in (("ae", {"latent_dim": 2, "hidden": (256, 64)}), ("vae", {"latent_dim": 2, "hidden": (256,)})):
        run, _, _ = train_run(
            tmp_path / name,
            name,
            options,
            TrainConfig(epochs=2, batch_size=100, seed=0, progress=False),
            "mnist",
            data_dir,
            val_size=500,
            limit=3000,
        )
        runs.append(run)
    out = tmp_path / "cmp"
    assert (
        main(
            [
                "compare",
                str(runs[0].path),
                str(runs[1].path),
                "--classifier",
                str(clf_dir),
                "--out",
                str(out),
                "-n",
                "300",
                "--knn-train",
                "3000",
                "--limit",
                "1000",
                "--data-dir",
                str(data_dir),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "completeness" in printed and "k-NN accuracy" in printed
    assert (out / "latent_scatter.png").stat().st_size > 5000
    res = json.loads((out / "compare.json").read_text())["results"]
    assert len(res) == 2
    for r in res:
        assert (
            0 <= r["completeness"] <= 1
            and 0 <= r["completeness_fitted"] <= 1
            and r["continuity_mean"] > 0
            and r["continuity_std"] >= 0
        )
        assert r["knn_accuracy"] > 0.2  # 2-D codes of digits separate better than chance (0.1), even this early
        assert 0 < r["sq_error"] < 784 and r["psnr_db"] > 5
        assert sum(r["class_counts"]) == round(r["completeness"] * 300)
        assert r["classes_reached"] == sum(c >= 3 for c in r["class_counts"])
    # a run that is not 2-D at least is refused with a clear message
    run1d, _, _ = train_run(
        tmp_path / "ae1",
        "ae",
        {"latent_dim": 1, "hidden": (32,)},
        TrainConfig(epochs=1, batch_size=100, seed=0, progress=False, samples_per_epoch=0),
        "mnist",
        data_dir,
        val_size=500,
        limit=500,
    )
    assert main(["compare", str(run1d.path), str(runs[1].path), "--classifier", str(clf_dir)]) == 2
