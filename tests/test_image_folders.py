"""Your own images: ``--dataset folder:PATH`` on folders of PNGs and JPEGs written here (labelled and unlabelled,
grey and RGB, a corrupt file), its cache, its errors, and ``sklearn-digits``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import vaelab
from vaelab.cli.main import main
from vaelab.core.errors import ConfigError, DatasetError
from vaelab.data import dataset_image_shape, load_dataset
from vaelab.data import folder as folder_mod

SRC = Path(vaelab.__file__).resolve().parents[1]
CLASSES = ("circles", "squares", "stripes")


def _picture(k: int, i: int, rng) -> np.ndarray:
    """A 20x24 RGB picture whose colour says its class ``k`` (red, green, blue) plus noise."""
    a = rng.integers(0, 40, (20, 24, 3)).astype(np.uint8)
    a[..., k] += 180
    a[2 + i % 8 : 10 + i % 8, 4:12] = 255 - a[2 + i % 8 : 10 + i % 8, 4:12]
    return a


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    """3 class folders x 14 images: PNG and JPEG, RGB and grey, one 40x30; plus a corrupt PNG and a text file."""
    root = tmp_path_factory.mktemp("images") / "shapes"
    rng = np.random.default_rng(0)
    for k, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(14):
            im = Image.fromarray(_picture(k, i, rng))
            if i % 4 == 0:
                im = im.convert("L")  # a grey file among RGB ones
            if i == 5:
                im = im.resize((30, 40))  # another size
            im.save(root / name / (f"{i:02d}.png" if i % 2 else f"{i:02d}.jpg"), quality=95)
    (root / "squares" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a truncated PNG
    (root / "stripes" / "notes.txt").write_text("not an image")
    (root / "stripes" / ".hidden.png").write_bytes(b"ignored")  # hidden files are not data
    return root


@pytest.fixture
def unlabelled(tmp_path) -> Path:
    """20 grey PNGs of 12x12 directly in the folder (no classes)."""
    root = tmp_path / "flat"
    root.mkdir()
    rng = np.random.default_rng(1)
    for i in range(20):
        Image.fromarray(rng.integers(0, 256, (12, 12), dtype=np.uint8)).save(root / f"img{i:02d}.png")
    return root


def test_labelled_folder_classes_sizes_and_split(labelled):
    kw = {"image_size": (16, 16), "channels": 3, "skip_bad_images": True}
    parts = {s: load_dataset(f"folder:{labelled}", s, **kw) for s in ("train", "val", "test")}
    n = sum(len(p) for p in parts.values())
    assert n == 42  # 3 x 14 images; the corrupt PNG and the text file skipped
    info = parts["train"].info
    assert info["classes"] == list(CLASSES) and info["n_files"] == 44 and info["n_skipped"] == 2
    assert sorted(s["file"] for s in info["skipped"]) == ["squares/broken.png", "stripes/notes.txt"]
    assert len(parts["test"]) == 4 and len(parts["val"]) == 3  # 10 % test (seeded), 10 % of the rest for validation
    for p in parts.values():
        assert p.images.shape[1:] == (3, 16, 16) and p.images.dtype == torch.float32
        assert 0 <= float(p.images.min()) and float(p.images.max()) <= 1
    labels = torch.cat([p.labels for p in parts.values()])
    assert sorted(torch.bincount(labels).tolist()) == [14, 14, 14]
    # the colour of each image says its class: the label is the sub-folder's index in sorted order
    train = parts["train"]
    channel_means = train.images.mean((2, 3))
    grey = (channel_means.max(1).values - channel_means.min(1).values) < 0.02  # grey files: equal channels
    assert (channel_means[~grey].argmax(1) == train.labels[~grey]).all() and grey.any()
    again = load_dataset(f"folder:{labelled}", "test", **kw)
    assert torch.equal(again.images, parts["test"].images)  # a fixed split
    # defaults: the first image's size and colour (circles/00.jpg: grey 20 x 24)
    assert dataset_image_shape(f"folder:{labelled}", skip_bad_images=True) == (1, 20, 24)


def test_unlabelled_folder_and_decoding(unlabelled, tmp_path):
    test = load_dataset(f"folder:{unlabelled}", "test")
    assert test.labels is None and test.images.shape == (2, 1, 12, 12) and test.info["classes"] is None
    # grey to RGB repeats the grey level; a transparent pixel becomes white; 16-bit grey is scaled to 8 bits
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    out = folder_mod.decode_image(tmp_path / "a.png", (4, 4), 3)
    assert out.shape == (3, 4, 4) and tuple(out[:, 0, 0]) == (10, 20, 30) and (out[:, 1, 1] == 255).all()
    Image.fromarray(np.full((3, 3), 40000, np.uint16)).save(tmp_path / "b.png")
    assert (folder_mod.decode_image(tmp_path / "b.png", (3, 3), 1) == round(40000 / 257)).all()


def test_a_corrupt_file_is_an_error_naming_it(labelled):
    with pytest.raises(DatasetError, match=r"squares/broken\.png: not a readable image .*skip_bad_images=True"):
        load_dataset(f"folder:{labelled}", "train", image_size=(16, 16), channels=3)


def test_cache_is_reused_and_invalidated_by_a_changed_file(unlabelled, monkeypatch):
    first = load_dataset(f"folder:{unlabelled}", "train")
    assert not first.info["cached"]
    calls = []
    real = folder_mod.decode_image
    monkeypatch.setattr(folder_mod, "decode_image", lambda *a: calls.append(a) or real(*a))
    t0 = time.perf_counter()
    second = load_dataset(f"folder:{unlabelled}", "train")
    assert second.info["cached"] and calls == [] and torch.equal(first.images, second.images)
    print(f"folder of 20 images read from the cache in {time.perf_counter() - t0:.3f} s")
    before, _, _ = folder_mod.load_folder(unlabelled)  # every image, in file order (from the cache)
    assert calls == []
    # rewrite one image (new content and modification time): the list hash changes, the folder is decoded again
    target = unlabelled / "img03.png"
    Image.fromarray(np.full((12, 12), 255, np.uint8)).save(target)
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))
    after, _, info = folder_mod.load_folder(unlabelled)
    assert not info["cached"] and len(calls) == 20 and info["files_sha256"] != first.info["files_sha256"]
    changed = np.flatnonzero((after != before).reshape(20, -1).any(1))
    assert changed.tolist() == [3] and (after[3] == 255).all()  # the white image, only it
    assert load_dataset(f"folder:{unlabelled}", "train").info["cached"] and len(calls) == 20  # cached anew


def test_rgb_folder_trains_a_conv_vae_end_to_end(labelled, tmp_path, capsys):
    runs = tmp_path / "runs"
    args = ["--model", "conv-vae", "--dataset", f"folder:{labelled}", "--image-size", "16x16", "--image-channels", "3"]
    args += ["--channels", "8,16", "--latent-dim", "2", "--epochs", "1", "--batch-size", "16", "--likelihood"]
    args += ["gaussian", "--decoder-std", "0.2", "--name", "shapes", "--runs-dir", str(runs), "--no-progress"]
    assert main(["train", *args]) == 1  # without --skip-bad-images the broken PNG stops it: a DatasetError
    assert "squares/broken.png: not a readable image" in capsys.readouterr().err and not runs.exists()
    proc = subprocess.run(
        [sys.executable, "-m", "vaelab", "train", *args, "--skip-bad-images"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert proc.returncode == 0, proc.stderr
    run = runs / "shapes"
    ds = json.loads((run / "config.json").read_text())["dataset"]
    assert ds["name"] == f"folder:{labelled}" and ds["classes"] == list(CLASSES)
    assert ds["image_size"] == [16, 16] and ds["image_channels"] == 3 and ds["skip_bad_images"] is True
    assert ds["n_skipped"] == 2 and {s["file"] for s in ds["skipped"]} == {"squares/broken.png", "stripes/notes.txt"}
    with np.load(run / "epoch_codes.npz") as z:  # the explorer's time-lapse: codes of the run's own test images
        assert z["codes"].shape == (1, 4, 2) and len(z["labels"]) == 4
    assert main(["evaluate", str(run), "--k", "5", "--no-progress"]) == 0
    ev = json.loads((run / "eval.json").read_text())
    assert ev["n_images"] == 4 and np.isfinite(ev["nll"])
    assert main(["sample", str(run), "-n", "4"]) == 0
    with Image.open(run / "figures" / "samples.png") as im:
        assert im.mode == "RGB" and im.size == (2 * (2 + 2 * 18), 2 * (2 + 2 * 18))
    assert main(["reconstruct", str(run), "-n", "4", "--per-row", "4"]) == 0
    with Image.open(run / "figures" / "reconstructions.png") as im:
        assert im.mode == "RGB"
    assert main(["plot", str(run), "manifold", "--size", "5", "--no-progress"]) == 0
    fig = vaelab.load_run(run).plot("manifold", size=5)
    assert np.asarray(fig.axes[0].images[0].get_array()).shape == (5 * 16, 5 * 16, 3)  # an RGB canvas
    api_run = vaelab.load_run(run)
    legend = [t.get_text() for t in api_run.plot("latent").axes[0].get_legend().get_texts()]
    assert legend == [CLASSES[c] for c in api_run.data("test").labels.unique().tolist()]  # the folder's class names
    assert main(["report", str(run), "--no-progress"]) == 0
    assert (run / "report.html").stat().st_size > 10_000
    assert main(["export", str(run)]) == 0
    meta = json.loads((run / "export" / "meta.json").read_text())
    assert meta["image_shape"] == [3, 16, 16] and meta["n_codes"] == 4 and meta["labels"] is not None
    page = vaelab.load_run(run).explore(port=0)  # the export is current: the site is built from it
    try:
        served = next(page.site.rglob("meta.json")).relative_to(page.site).as_posix()  # the site's model folder
        with urllib.request.urlopen(page.url + served, timeout=10) as resp:
            assert json.loads(resp.read())["image_shape"] == [3, 16, 16]
        with urllib.request.urlopen(page.url, timeout=10) as resp:
            assert resp.status == 200 and b"<html" in resp.read().lower()
    finally:
        page.stop()


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--dataset", "folder:missing"],
            "--dataset folder:{cwd}/missing: no such folder; expected a folder of images",
        ),
        (["--dataset", "folder:empty"], "--dataset folder:{cwd}/empty: the folder holds no files"),
        (["--dataset", "folder:flat", "--image-size", "0x5"], "--image-size '0x5': expected HxW: height and width"),
        (["--dataset", "folder:flat", "--image-size", "abc"], "--image-size 'abc': expected HxW"),
        (["--dataset", "folder:flat", "--image-channels", "2"], "--image-channels 2: expected one of 1 or 3"),
        (["--dataset", "mnist", "--image-size", "8x8"], "--image-size: only for --dataset folder:PATH"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, unlabelled, extra, message):
    (tmp_path / "empty").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "vaelab", "train", "--epochs", "1", *extra],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message.format(cwd=tmp_path) in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "runs").exists()


def test_sklearn_digits(tmp_path):
    train, val, test = (load_dataset("sklearn-digits", s) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (1458, 160, 179) and train.images.shape[1:] == (1, 8, 8)
    from sklearn.datasets import load_digits

    raw = load_digits()
    assert float(train.images.max()) == 1.0 and float(train.images.min()) == 0.0

    # pixels are scikit-learn's counts / 16, labels its targets; the test split is fixed and disjoint from train
    def key(x):
        return bytes((x.numpy().reshape(-1) * 16).round().astype(np.uint8))

    flat = {key(x): int(y) for x, y in zip(test.images, test.labels, strict=True)}
    src = {bytes(x.astype(np.uint8)): int(y) for x, y in zip(raw.data, raw.target, strict=True)}
    assert all(src[k] == v for k, v in flat.items())
    assert not set(flat) & {key(x) for x in train.images}
    with pytest.raises(ConfigError, match="only for folder:PATH"):
        load_dataset("sklearn-digits", "train", image_size=(4, 4))
    run = vaelab.train("vae", dataset="sklearn-digits", runs_dir=tmp_path, latent_dim=2, hidden=(32,), epochs=2,
                       batch_size=64, progress=False)  # fmt: skip
    assert run.name == "vae-sklearn-digits-z2" and run.model.image_shape == (1, 8, 8)
    assert run.metrics[-1]["val_loss"] < run.metrics[0]["val_loss"] + 5
    assert np.isfinite(run.evaluate(k=10)["nll"])
