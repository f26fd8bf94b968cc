"""Shared fixtures. Real data comes from $VAELAB_DATA (CI: ../shared/data); tests use slices and few steps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from vaelab.data.catalog import EMOJI_SETS, EMOJI_VERSION, cache_dir

USER_CACHE = cache_dir()  # read before _isolated_cache hides it: `make data` decodes the emoji sets there
FASHION_MNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium; never `playwright install`
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder holding mnist/, frey-face/, faces/ (``$VAELAB_DATA``, else ../shared/data)."""
    path = Path(os.environ.get("VAELAB_DATA") or DEFAULT_DATA)
    if not (path / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"real MNIST not found under {path}: set VAELAB_DATA to the folder holding mnist/")
    return path


@pytest.fixture(scope="session")
def emoji_data_dir() -> Path:
    """A data root holding ``emoji/`` with both emoji sets decoded (``make data`` writes them into the user cache)."""
    files = [USER_CACHE / "emoji" / f"{s['package']}-{EMOJI_VERSION}.npz" for s in EMOJI_SETS.values()]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        pytest.fail(f"the decoded emoji sets are missing ({', '.join(missing)}): run `make data` (make test does)")
    return USER_CACHE


@pytest.fixture(scope="session")
def fashion_mnist_debian() -> Path:
    """Debian's Fashion-MNIST folder (``apt-get install dataset-fashion-mnist``; .ci/run installs it)."""
    if not (FASHION_MNIST_DEBIAN / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"{FASHION_MNIST_DEBIAN} not found: apt-get install dataset-fashion-mnist (.ci/run does)")
    return FASHION_MNIST_DEBIAN


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never download or write into the user's cache from a test."""
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("VAELAB_OFFLINE", "1")


@pytest.fixture(scope="session")
def mnist_vae_run(tmp_path_factory, data_dir):
    """A small real run: 2-D VAE (hidden 256) trained 3 epochs on the first 10,000 MNIST training images.

    Shared by the tests of every layer above training (evaluation, plots, export, explorer). Read-only: tests
    that write into a run copy it first (``shutil.copytree``).
    """
    from vaelab.runs.spec import TrainConfig
    from vaelab.training.lifecycle import train_run

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    run_dir = tmp_path_factory.mktemp("runs") / "vae2d"
    run, _, _ = train_run(
        run_dir,
        "vae",
        {"latent_dim": 2, "hidden": (256,)},
        TrainConfig(epochs=3, batch_size=128, seed=0, progress=False),
        "mnist",
        data_dir,
        val_size=10000,
        limit=10000,
    )
    return run


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through playwright (one per test module)."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def digits_pack(tmp_path_factory):
    """A small real pack: a 2-D VAE (hidden 16) trained 1 epoch on scikit-learn's 8x8 digits, evaluated (K = 5,
    50 test images) and packed (``vaelab pack``). Returns ``(run folder, pack folder)``; read-only: tests that
    change a pack copy it first."""
    import vaelab

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    root = tmp_path_factory.mktemp("digits-pack")
    run = vaelab.train("vae", name="digits-z2", dataset="sklearn-digits", runs_dir=root / "runs", latent_dim=2,
                       hidden=(16,), epochs=1, batch_size=64, progress=False)  # fmt: skip
    run.evaluate(k=5, limit=50)
    return run.path, run.pack(root / "pack").path
