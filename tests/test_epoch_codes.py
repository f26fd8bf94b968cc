"""The training time-lapse: ``EpochCodes`` stores the codes of a fixed subset of test images at each epoch end of a
run with a 2-D latent space (``RUN/epoch_codes.npz``), and ``vaelab export`` copies them for the explorer."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from vaelab.data import load_dataset
from vaelab.export.onnx import export_run
from vaelab.runs.files import EPOCH_CODES_FILE, EPOCH_CODES_N, read_epoch_codes
from vaelab.runs.folder import RunDir
from vaelab.runs.spec import TrainConfig
from vaelab.training.lifecycle import train_run


def _train(path, data_dir, epochs, latent_dim=2, resume=False):
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    return train_run(
        path,
        "vae",
        {"latent_dim": latent_dim, "hidden": (64,)},
        TrainConfig(epochs=epochs, batch_size=100, seed=3, progress=False),
        "mnist",
        data_dir,
        val_size=200,
        limit=600,
        resume=resume,
    )


@pytest.fixture(scope="module")
def run2d(tmp_path_factory, data_dir):
    path = tmp_path_factory.mktemp("timelapse") / "vae2d"
    _train(path, data_dir, 2)
    return RunDir(path)


def test_codes_of_each_epoch_are_stored(run2d, data_dir):
    stored = read_epoch_codes(run2d.path / EPOCH_CODES_FILE)
    assert stored["codes"].dtype == np.float16 and stored["codes"].shape == (2, EPOCH_CODES_N, 2)
    assert stored["epochs"].tolist() == [1, 2]
    test = load_dataset("mnist", "test", data_dir, limit=EPOCH_CODES_N)
    assert np.array_equal(stored["labels"], test.labels.numpy()) and np.array_equal(stored["index"], np.arange(2000))
    with torch.no_grad():
        mu = run2d.load_model("last").encode(test.images)[0].numpy()
    np.testing.assert_allclose(stored["codes"][-1].astype(np.float32), mu, rtol=2e-3, atol=2e-3)  # float16
    assert not np.allclose(stored["codes"][0], stored["codes"][1], atol=1e-2)  # the map moved between epochs


def test_resume_keeps_earlier_epochs_and_appends(run2d, tmp_path, data_dir):
    import shutil

    path = tmp_path / "vae2d"
    shutil.copytree(run2d.path, path)
    before = read_epoch_codes(path / EPOCH_CODES_FILE)
    _train(path, data_dir, 3, resume=True)
    after = read_epoch_codes(path / EPOCH_CODES_FILE)
    assert after["epochs"].tolist() == [1, 2, 3] and after["codes"].shape == (3, EPOCH_CODES_N, 2)
    assert np.array_equal(after["codes"][:2], before["codes"])
    assert not list(path.glob("*.tmp"))  # written atomically


def test_models_with_another_latent_size_store_nothing(tmp_path, data_dir):
    _train(tmp_path / "vae3d", data_dir, 1, latent_dim=3)
    assert not (tmp_path / "vae3d" / EPOCH_CODES_FILE).exists()


def test_export_copies_the_time_lapse(run2d, tmp_path):
    import shutil

    path = tmp_path / "r"
    shutil.copytree(run2d.path, path)
    meta = export_run(path, n_codes=500)
    stored = read_epoch_codes(path / EPOCH_CODES_FILE)
    ec = meta["epoch_codes"]
    assert ec["shape"] == [2, EPOCH_CODES_N, 2] and ec["epochs"] == [1, 2] and ec["labels"] == "epoch_labels.bin"
    codes = np.fromfile(path / "export" / ec["file"], "<f4").reshape(ec["shape"])
    assert np.array_equal(codes, stored["codes"].astype(np.float32))
    assert np.array_equal(np.fromfile(path / "export" / "epoch_labels.bin", np.uint8), stored["labels"])
    assert json.loads((path / "export" / "meta.json").read_text())["epoch_codes"] == ec
    # without the time-lapse, a new export removes the old files
    (path / EPOCH_CODES_FILE).unlink()
    assert export_run(path, n_codes=500)["epoch_codes"] is None
    assert not (path / "export" / "epoch_codes.bin").exists() and not (path / "export" / "epoch_labels.bin").exists()
