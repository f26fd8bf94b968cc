"""The Python API as a library user meets it (found by trying it as one): inputs that ``vaelab.train(data=...)``
refuses name what was wrong, models take checked input through ``run.encode`` / ``run.decode``, errors blame the
keyword that was given, a model in the Hugging Face cache is never written into, and an evaluated pack's card
states the numbers it holds.

Small real data (the first 300 MNIST training images, hidden 32, one epoch) and scikit-learn's digits pack.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import numpy as np
import pytest
import torch

import vaelab
from vaelab.cli.main import main
from vaelab.core.errors import ConfigError, RunNotFoundError
from vaelab.data import load_dataset
from vaelab.runs.pack_read import read_card

FAST = {"epochs": 1, "batch_size": 100, "progress": False, "hidden": (32,), "samples_per_epoch": 4}


@pytest.fixture(scope="module")
def images(data_dir):
    return load_dataset("mnist", "train", data_dir, limit=300)


@pytest.fixture(scope="module")
def small_run(images, tmp_path_factory):
    return vaelab.train(data=images, runs_dir=tmp_path_factory.mktemp("runs"), name="small", latent_dim=2, **FAST)


def _refusal(call) -> str:
    with pytest.raises(ConfigError) as exc:
        call()
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_an_empty_split_is_named_instead_of_a_torch_error(images, tmp_path):
    run = vaelab.train(data=images.images, val_size=0, runs_dir=tmp_path, name="noval", **FAST)
    text = _refusal(lambda: run.evaluate(k=2, split="val", progress=False))
    assert text.startswith("split='val'") and "no images" in text and "val_size=0" in text
    assert run.evaluate(k=2, split="test", progress=False)["nll"] > 0  # the other splits still evaluate


def test_labels_beyond_num_classes_are_refused_before_the_first_step(images, tmp_path):
    x, y = images
    text = _refusal(lambda: vaelab.train(model="guided-vae", data=(x, y * 2), runs_dir=tmp_path, name="g", **FAST))
    assert text.startswith("num_classes=10") and "label 18" in text and "num_classes=19" in text
    assert not (tmp_path / "g").exists()  # nothing was written
    run = vaelab.train(model="guided-vae", data=(x, y * 2), num_classes=19, runs_dir=tmp_path, name="g", **FAST)
    assert run.metrics[-1]["epoch"] == 1


def test_a_big_endian_array_trains_like_a_native_one(images, tmp_path):
    native = images.images.numpy()
    a = vaelab.train(data=native.astype(">f4"), runs_dir=tmp_path, name="be", **FAST)
    b = vaelab.train(data=native, runs_dir=tmp_path, name="ne", **FAST)
    assert a.metrics[-1]["train_loss"] == b.metrics[-1]["train_loss"]


def test_refusals_of_data_say_what_it_probably_is(images, tmp_path):
    x = images.images
    few = _refusal(lambda: vaelab.train(data=x[:2], runs_dir=tmp_path, **FAST))
    assert few.startswith("data=: 2 image(s); expected at least 3") and "val_size" not in few
    flat = _refusal(lambda: vaelab.train(data=x.reshape(300, 784), runs_dir=tmp_path, **FAST))
    assert "reshape(-1, 1, 28, 28)" in flat and "one image" not in flat
    one = _refusal(lambda: vaelab.train(data=x[0, 0], runs_dir=tmp_path, **FAST))
    assert "add a batch axis" in one
    pair = _refusal(lambda: vaelab.train(data=[x[:150], x[150:]], runs_dir=tmp_path, **FAST))
    assert "read as (images, labels)" in pair and "torch.cat" in pair


def test_run_encode_and_decode_check_and_convert_their_input(small_run, images):
    x = images.images[:4]
    mu, logvar = small_run.encode(x)
    assert mu.shape == logvar.shape == (4, 2)
    as_uint8 = (x * 255).round().to(torch.uint8)
    mu8, _ = small_run.encode(as_uint8.numpy())  # what train(data=) takes, it takes
    assert torch.allclose(mu8, small_run.encode(as_uint8.float() / 255)[0])
    wrong = _refusal(lambda: small_run.encode(torch.rand(4, 1, 32, 32)))
    assert wrong.startswith("x=: images of shape (1, 32, 32)") and "(1, 28, 28)" in wrong
    assert small_run.decode(mu).shape == (4, 1, 28, 28)
    assert small_run.decode(mu[0].numpy()).shape == (1, 1, 28, 28)
    assert _refusal(lambda: small_run.decode(torch.zeros(4, 3))).startswith("z=: shape (4, 3); expected (N, 2)")
    assert "NaN" in _refusal(lambda: small_run.decode(torch.full((1, 2), float("nan"))))


def test_other_images_are_blamed_on_the_keyword_given(small_run, images):
    text = _refusal(lambda: vaelab.load_run(small_run.path, data=images.images[:200]))
    assert text.startswith("data=: not the training images this run used")
    again = _refusal(
        lambda: vaelab.train(
            data=images.images[:200], runs_dir=small_run.path.parent, name="small", resume=True, latent_dim=2, **FAST
        )
    )
    assert again.startswith("data=: not the images the run")


def test_paths_and_values_of_the_wrong_kind(tmp_path, images):
    with pytest.raises(RunNotFoundError, match="no such folder"):
        vaelab.load(str(tmp_path / "nowhere"))
    assert _refusal(lambda: vaelab.load_run(123)).startswith("path=123")
    assert "list or tuple of integers" in _refusal(lambda: vaelab.train(data=images, hidden=256, runs_dir=tmp_path))


def test_a_model_in_the_hub_cache_is_never_written_into(digits_pack, tmp_path):
    _, pack = digits_pack
    snapshot = tmp_path / "hub" / "models--someorg--digits" / "snapshots" / ("0" * 40)
    blobs = tmp_path / "hub" / "models--someorg--digits" / "blobs"
    snapshot.mkdir(parents=True), blobs.mkdir()
    for f in pack.iterdir():  # as huggingface_hub lays it out: links into the blobs
        shutil.copyfile(f, blobs / f.name)
        (snapshot / f.name).symlink_to(blobs / f.name)
    before = {f.name: (f.is_symlink(), f.read_bytes()) for f in snapshot.iterdir()}
    run = vaelab.load(str(snapshot))
    for call in (lambda: run.evaluate(k=2, limit=10, progress=False), run.export):
        text = _refusal(call)
        assert "Hugging Face cache" in text and "cp -rL" in text
    for argv in (
        ["evaluate", str(snapshot), "--k", "2"],
        ["sample", str(snapshot)],
        ["plot", str(snapshot), "samples"],
    ):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert main(argv) == 2, argv
        assert "Hugging Face cache" in err.getvalue() and "Traceback" not in err.getvalue()
    assert {f.name: (f.is_symlink(), f.read_bytes()) for f in snapshot.iterdir()} == before
    assert run.encode(torch.rand(2, *run.model.image_shape))[0].shape == (2, 2)  # reading works
    assert run.plot("samples") is not None  # a figure returned, not written
    assert main(["sample", str(snapshot), "--out", str(tmp_path / "s.png")]) == 0  # written elsewhere


def test_an_evaluated_pack_states_the_new_numbers_on_its_card(digits_pack, tmp_path):
    _, pack = digits_pack
    copy = shutil.copytree(pack, tmp_path / "pack")
    k_of = lambda: [m for m in read_card(copy)["model-index"][0]["results"][0]["metrics"] if m["type"] == "nll"]  # noqa: E731
    assert k_of()[0]["args"]["k"] == 5
    result = vaelab.load(copy).evaluate(k=3, limit=20, progress=False)
    assert json.loads((copy / "eval.json").read_text())["k"] == 3
    (nll,) = k_of()
    assert nll["args"]["k"] == 3 and nll["value"] == pytest.approx(result["nll"], abs=0.01)
    assert (copy / "README.md").read_text() != (pack / "README.md").read_text()
    np.testing.assert_array_equal(  # the weights are untouched
        np.frombuffer((copy / "model.safetensors").read_bytes(), np.uint8),
        np.frombuffer((pack / "model.safetensors").read_bytes(), np.uint8),
    )
