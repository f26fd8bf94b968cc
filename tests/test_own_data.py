"""Your own data and networks through the Python API (``vaelab.train(data=..., encoder=..., decoder=...)``): training
from arrays, from a ``torch.utils.data.Dataset`` and with custom modules, then evaluating, sampling, plotting,
packing and re-opening the runs; the one-line refusals of bad input; errors naming keywords in Python and flags on
the command line; and the vaelab code of docs/guide/coming-from-pythae.md, executed.

Small real data (the first 600 MNIST test images), one epoch, K = 5: the whole file takes well under a minute.
"""

from __future__ import annotations

import contextlib
import gc
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import vaelab
from vaelab.cli.main import main
from vaelab.core.errors import CheckpointError, ConfigError, DatasetError
from vaelab.data import load_dataset
from vaelab.data.memory import digest

ROOT = Path(__file__).resolve().parents[1]
FAST = {"epochs": 1, "batch_size": 100, "progress": False, "samples_per_epoch": 4}


@pytest.fixture(scope="module")
def mnist(data_dir):
    """The first 600 MNIST test images as uint8 numpy ``(N, 28, 28)`` and their labels ``(N,)``."""
    images, labels = load_dataset("mnist", "test", data_dir, limit=600)
    return (images[:, 0] * 255).round().to(torch.uint8).numpy(), labels.numpy()


class Encoder(nn.Module):
    """x (N, 1, 28, 28) -> (mu, logvar), each (N, 2); importable as ``test_own_data:Encoder``, built without
    arguments."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 14 * 14, 4))

    def forward(self, x):
        h = self.net(x)
        return h[:, :2], h[:, 2:]


class Decoder(nn.Module):
    """z (N, 2) -> Bernoulli logits (N, 1, 28, 28)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 8 * 14 * 14), nn.ReLU(), nn.Unflatten(1, (8, 14, 14)))
        self.up = nn.ConvTranspose2d(8, 1, 4, 2, 1)

    def forward(self, z):
        return self.up(self.net(z))


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def test_train_from_arrays_then_evaluate_sample_plot_pack(tmp_path, mnist):
    x, y = mnist
    run = vaelab.train(data=(x, y), latent_dim=2, hidden=(64,), runs_dir=tmp_path, **FAST)
    ds = run.config["dataset"]
    record = ds["memory"]
    # 60 test images carved first (10 %), then 54 validation images (10 % of the 540 left)
    assert ds["name"].startswith("memory:") and run.name == f"vae-memory-{ds['name'][7:15]}-z2"
    assert (ds["n_train"], ds["n_val"]) == (486, 54) and record["carved"] == ["test", "val"]
    assert record["splits"]["train"] == {
        "shape": [486, 1, 28, 28],
        "labels": True,
        "sha256": record["splits"]["train"]["sha256"],
    }
    # run.data unpacks as (images, labels): the carved test split, whose pixels are x's (uint8 / 255)
    images, labels = run.data("test")
    assert images.shape == (60, 1, 28, 28) and labels.dtype == torch.int64
    assert digest(images, labels) == record["splits"]["test"]["sha256"]
    rows = [
        int(np.flatnonzero((x.reshape(600, -1) == (images[i, 0] * 255).round().numpy().reshape(-1)).all(1))[0])
        for i in range(3)
    ]
    assert [int(y[r]) for r in rows] == labels[:3].tolist()
    ev = run.evaluate(k=5)
    assert ev["split"] == "test" and ev["n_images"] == 60 and np.isfinite(ev["nll"])
    assert ev["nll"] <= -ev["elbo"] + 1.0  # the importance-weighted bound is at least as tight as the ELBO
    assert run.sample(4).shape == (4, 1, 28, 28)
    fig = run.plot("latent")  # one scatter collection per class present in the test split
    assert len(fig.axes[0].collections) == len(np.unique(labels.numpy()))
    packed = run.pack(tmp_path / "packed")
    assert packed.packed and packed.evaluate(k=5)["nll"] == pytest.approx(ev["nll"])
    assert packed.config["dataset"]["memory"] == record


def test_train_from_a_dataset_and_reopen_with_the_data(tmp_path, mnist):
    x, y = mnist
    train = torch.utils.data.TensorDataset(torch.from_numpy(x[:500, None]).float() / 255, torch.from_numpy(y[:500]))
    test = x[500:]  # uint8 (100, 28, 28), no labels
    run = vaelab.train(data=train, test_data=test, latent_dim=2, hidden=(32,), name="ds", runs_dir=tmp_path, **FAST)
    record = run.config["dataset"]["memory"]
    assert record["carved"] == ["val"] and record["source"] == "Dataset torch.utils.data.dataset.TensorDataset"
    assert record["splits"]["test"] == {
        "shape": [100, 1, 28, 28],
        "labels": False,
        "sha256": digest(torch.from_numpy(test[:, None]).float() / 255, None),
    }
    ev = run.evaluate(k=5)
    path = run.path
    del run
    gc.collect()  # as in a new session: nothing holds the images any more
    with pytest.warns(UserWarning, match="data="):
        bare = vaelab.load_run(path)
    with pytest.raises(DatasetError) as exc:
        bare.evaluate(k=5)
    assert "vaelab.load_run(RUN, data=" in _one_line(exc)
    with pytest.raises(ConfigError, match=r"test_data=: not the test images this run used") as exc:
        vaelab.load_run(path, test_data=test[::-1].copy())
    _one_line(exc)
    with pytest.raises(ConfigError, match="val split was carved"):
        vaelab.load_run(path, val_data=test)
    again = vaelab.load_run(path, test_data=test)  # enough to evaluate: the same numbers
    assert again.evaluate(k=5)["nll"] == ev["nll"]
    # resume needs the training images again, and continues with them
    with pytest.raises(DatasetError, match="data="):
        vaelab.train(name="ds", runs_dir=tmp_path, resume=True, epochs=2, progress=False)
    more = vaelab.train(data=train, test_data=test, name="ds", runs_dir=tmp_path, resume=True, epochs=2, progress=False)
    assert more.metrics[-1]["epoch"] == 2


def test_custom_encoder_and_decoder(tmp_path, mnist):
    x, _ = mnist
    data = torch.from_numpy(x[:400]).float() / 255  # (N, 28, 28) floats
    encoder, decoder = Encoder(), Decoder()
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    run = vaelab.train(data=data, encoder=encoder, decoder=decoder, name="conv", runs_dir=tmp_path, **FAST)
    cfg = run.config
    assert cfg["model"] == "custom-vae" and cfg["model_config"]["latent_dim"] == 2
    assert cfg["model_config"]["encoder"] == "test_own_data:Encoder"
    assert cfg["networks"]["decoder"]["class"] == "test_own_data:Decoder" and cfg["networks"]["decoder"]["importable"]
    assert all(torch.equal(v, encoder.state_dict()[k]) for k, v in before.items())  # yours are copied, not trained
    assert isinstance(run.model.encoder, Encoder) and not torch.equal(
        run.model.encoder.net[0].weight, before["net.0.weight"]
    )
    ev = run.evaluate(k=5)
    assert np.isfinite(ev["nll"]) and ev["n_images"] == 40
    assert run.sample(3).shape == (3, 1, 28, 28)
    fig = run.plot("reconstructions", n=4)
    assert fig.axes
    meta = run.export()  # ONNX encoder and decoder, checked with onnxruntime
    assert meta["latent_dim"] == 2
    # the classes are importable and built without arguments: the run folder loads from its config alone
    fresh = vaelab.load_run(run.path)
    assert fresh.dir.networks is None and fresh.evaluate(k=5)["nll"] == ev["nll"]
    for name, value in run.model.state_dict().items():
        assert torch.equal(value, fresh.model.state_dict()[name]), name
    # a pack is untrusted input: its classes are never imported; given the modules, it loads the same weights
    packed = run.pack(tmp_path / "conv-pack")
    with pytest.warns(UserWarning, match="never imported; loading the model needs encoder="):
        bare = vaelab.load(packed.path)
    with pytest.raises(CheckpointError, match="never imported from its config.json") as exc:
        _ = bare.model
    _one_line(exc)
    shared = vaelab.load(packed.path, encoder=Encoder(), decoder=Decoder())
    assert shared.evaluate(k=5)["nll"] == ev["nll"]
    for name, value in run.model.state_dict().items():
        assert torch.equal(value, shared.model.state_dict()[name]), name


def test_modules_defined_in_a_notebook_need_passing_again(tmp_path, mnist, capsys):
    class NotebookEncoder(nn.Module):  # <locals>: cannot be imported from the config
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(784, 4)

        def forward(self, x):
            h = self.fc(x.flatten(1))
            return h[:, :2], h[:, 2:]

    class NotebookDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 784)

        def forward(self, z):
            return self.fc(z)  # (N, C*H*W) logits

    x, _ = mnist
    nets = {"encoder": NotebookEncoder(), "decoder": NotebookDecoder()}
    run = vaelab.train(data=x[:300], name="nb", runs_dir=tmp_path, **nets, **FAST)
    assert run.config["networks"]["encoder"]["importable"] is False
    path = run.path
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"re-create +no: .*encoder .*NotebookEncoder.*encoder=", out), out
    with pytest.warns(UserWarning, match="encoder="):
        bare = vaelab.load_run(path, data=x[:300])
    with pytest.raises(CheckpointError, match=r"encoder .*NotebookEncoder: defined in a script or notebook") as exc:
        _ = bare.model
    _one_line(exc)
    with pytest.raises(CheckpointError, match="encoder="):
        vaelab.train(data=x[:300], name="nb", runs_dir=tmp_path, resume=True, epochs=2, progress=False)
    with pytest.raises(ConfigError, match="do not fit the run's weights"):
        vaelab.load_run(path, data=x[:300], encoder=NotebookDecoder(), decoder=NotebookDecoder())
    again = vaelab.load_run(path, data=x[:300], **{k: type(v)() for k, v in nets.items()})
    assert torch.equal(again.model.decoder.fc.weight, run.model.decoder.fc.weight)
    more = vaelab.train(data=x[:300], name="nb", runs_dir=tmp_path, resume=True, epochs=2, progress=False, **nets)
    assert more.metrics[-1]["epoch"] == 2


NETS_PY = """
from torch import nn

class Enc(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 4)

    def forward(self, x):
        h = self.fc(x.flatten(1))
        return h[:, :2], h[:, 2:]

class Dec(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 64)

    def forward(self, z):
        return self.fc(z)
"""


def test_custom_vae_from_the_command_line_by_import_path(tmp_path, monkeypatch, capsys):
    (tmp_path / "cli_nets.py").write_text(NETS_PY)
    monkeypatch.syspath_prepend(str(tmp_path))
    base = ["train", "--model", "custom-vae", "--dataset", "sklearn-digits", "--epochs", "1", "--no-progress"]
    base += ["--runs-dir", str(tmp_path / "runs"), "--name", "cv"]
    assert main(base) == 2
    assert "--model custom-vae needs --encoder / --decoder" in capsys.readouterr().err
    nets = ["--encoder", "cli_nets:Enc", "--decoder", "cli_nets:Dec"]
    assert main([*base, *nets]) == 2  # D is not read from the encoder here: the default 20 is refused
    assert "--latent-dim 20: the encoder cli_nets:Enc gives D = 2; pass --latent-dim 2" in capsys.readouterr().err
    assert not (tmp_path / "runs" / "cv").exists()
    assert main([*base, *nets, "--latent-dim", "2"]) == 0
    assert main(["evaluate", str(tmp_path / "runs" / "cv"), "-k", "5", "--no-progress"]) == 0
    assert main(["info", str(tmp_path / "runs" / "cv")]) == 0
    assert "re-create  yes, from config.json alone" in capsys.readouterr().out


class _Pairs(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class _OneTensor(nn.Module):
    def forward(self, x):
        return x.flatten(1)[:, :4]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"data": np.zeros((5, 28, 28, 3), np.uint8)},
            r"data=: shape \(5, 28, 28, 3\): C = 28; expected 1 or 3 channels \(channels last",
        ),
        ({"data": np.full((5, 28, 28), 2.0)}, r"data=: values from 2 to 2; expected pixel values in \[0, 1\]"),
        ({"data": np.zeros((5, 28, 28), np.int32)}, r"data=: dtype int32; expected float values in \[0, 1\] or uint8"),
        ({"data": torch.full((5, 1, 8, 8), float("nan"))}, r"data=: holds NaN"),
        ({"data": torch.zeros(5, 784)}, r"data=: shape \(5, 784\); expected images \(N, C, H, W\) or \(N, H, W\)"),
        ({"data": [1, 2, 3]}, r"data=: a list of 3 items"),
        ({"data": "mnist"}, r"data=: got str"),
        (
            {"data": (np.zeros((5, 8, 8)), np.zeros(5))},
            r"data=: labels of dtype float64; expected integer class labels",
        ),
        ({"data": (np.zeros((5, 8, 8)), np.zeros(4, int))}, r"data=: labels of shape \(4,\); expected \(5,\)"),
        ({"data": _Pairs([(torch.zeros(1, 8, 8), 1), (torch.zeros(1, 8, 9), 2)])}, r"data=: items of different shapes"),
        ({"data": _Pairs([(torch.zeros(1, 8, 8), 1), torch.zeros(1, 8, 8)])}, r"data=: some items have a label"),
        (
            {"data": np.zeros((20, 8, 8)), "val_data": np.zeros((5, 9, 8))},
            r"val_data=: images of shape \(1, 9, 8\); expected \(1, 8, 8\)",
        ),
        (
            {"data": np.zeros((20, 8, 8)), "val_data": np.zeros((5, 8, 8)), "val_size": 3},
            r"val_size=3: only when val_data is not given",
        ),
        ({"test_data": np.zeros((5, 8, 8))}, r"test_data=: only with data="),
        ({"data": np.zeros((20, 8, 8)), "dataset": "mnist"}, r"dataset='mnist' and data=: give one"),
        ({"data": np.zeros((20, 8, 8)), "encoder": _OneTensor()}, r"encoder= and decoder=: give both"),
        (
            {"data": np.zeros((20, 8, 8)), "encoder": _OneTensor(), "decoder": _OneTensor()},
            r"encoder=: returned a tensor of shape \(2, 4\); expected \(mu, logvar\)",
        ),
        (
            {"data": np.zeros((20, 8, 8)), "encoder": Encoder(), "decoder": Decoder()},
            r"encoder=: failed on a probe batch",
        ),
        (
            {"data": np.zeros((20, 8, 8)), "encoder": "Encoder", "decoder": _OneTensor()},
            r"encoder=: got str; expected a torch.nn.Module",
        ),
        (
            {"data": np.zeros((20, 28, 28)), "model": "ae", "encoder": Encoder(), "decoder": Decoder()},
            r"encoder= / decoder=: .*model='ae'",
        ),
        (
            {"data": np.zeros((20, 28, 28)), "encoder": Encoder(), "decoder": Decoder(), "latent_dim": 3},
            r"latent_dim=3: .*encoder gives D = 2",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_keyword(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message) as exc:
        vaelab.train(runs_dir=tmp_path, **kwargs, **FAST)
    assert "--" not in _one_line(exc)
    assert not any(tmp_path.iterdir())  # nothing written


def test_errors_name_keywords_in_python_and_flags_on_the_command_line(tmp_path, mnist, capsys):
    x, y = mnist
    with pytest.raises(ConfigError) as exc:
        vaelab.train(data=x[:50], latent_dim=0, runs_dir=tmp_path, **FAST)
    assert _one_line(exc).startswith("latent_dim=0: expected an integer >= 1")
    assert main(["train", "--latent-dim", "0", "--runs-dir", str(tmp_path)]) == 2
    assert "--latent-dim 0: expected an integer >= 1" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"^device='tpu': expected auto, cpu"):
        vaelab.train(data=x[:50], device="tpu", runs_dir=tmp_path, **{**FAST, "epochs": 1})
    run = vaelab.train(data=x[:50], name="r", latent_dim=2, hidden=(8,), runs_dir=tmp_path, **FAST)
    with pytest.raises(ConfigError) as exc:  # the run exists and reached a checkpoint
        vaelab.train(data=x[:50], name="r", latent_dim=2, hidden=(8,), runs_dir=tmp_path, **FAST)
    assert "continue it with resume=True or choose another name=" in _one_line(exc)
    with pytest.raises(ConfigError, match=r"resume=True.*batch_size=50 but the run"):
        vaelab.train(
            data=x[:50],
            name="r",
            latent_dim=2,
            hidden=(8,),
            runs_dir=tmp_path,
            resume=True,
            **{**FAST, "batch_size": 50},
        )
    with pytest.raises(ConfigError, match=r"split='bogus': expected"):
        run.evaluate(split="bogus")
    with pytest.raises(ConfigError, match=r"k=0: expected an integer from 1 to 1000000"):
        run.evaluate(k=0)
    with pytest.raises(ConfigError) as exc:
        run.plot("manifold", dims=(0, 5))
    assert "dims=(0, 5): expected two different dimensions" in _one_line(exc) and "--" not in str(exc.value)
    assert main(["plot", str(run.path), "manifold", "--dims", "0,5"]) == 2
    assert "--dims 0,5: expected two different dimensions" in capsys.readouterr().err
    assert main(["evaluate", str(run.path), "--k", "0"]) == 2
    assert "-k 0: expected an integer from 1 to 1000000" in capsys.readouterr().err


def test_option_names_follow_the_caller():
    from vaelab.core.naming import flag_names, option, options

    assert (option("latent_dim", 0), option("resume", True), options("name", "runs_dir")) == (
        "latent_dim=0",
        "resume=True",
        "name= / runs_dir=",
    )
    with flag_names():
        assert (option("latent_dim", 0), option("resume", True), options("name", "runs_dir")) == (
            "--latent-dim 0",
            "--resume",
            "--name / --runs-dir",
        )
        assert option("from_digit", 3, flag="--from") == "--from 3"
    assert option("split", "x") == "split='x'"  # the style is restored after the block


def _blocks(page: Path) -> list[tuple[str, str]]:
    """The page's ```python blocks as (first-line marker, code)."""
    out = []
    for code in re.findall(r"```python\n(.*?)```", page.read_text(), re.S):
        out.append((code.splitlines()[0], code))
    return out


def test_coming_from_pythae_page_runs(tmp_path, data_dir, monkeypatch):
    """Every vaelab block of docs/guide/coming-from-pythae.md runs, in order, in one namespace (as a notebook's cells,
    classes in ``__main__``); the Hub is not reachable here, so its upload call is stood in for."""
    import vaelab.api

    blocks = _blocks(ROOT / "docs" / "guide" / "coming-from-pythae.md")
    markers = {marker.split(" (")[0] for marker, _ in blocks}
    assert markers == {"# vaelab", "# pythae", "# diffusers"}  # no untested vaelab code on the page
    uploads = []
    monkeypatch.setattr(vaelab.api, "upload", lambda folder, repo_id, **kw: uploads.append((folder, repo_id)) or "url")
    monkeypatch.setenv("VAELAB_DATA", str(data_dir))
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("error")  # the page gives everything: no warning on load
        for marker, code in blocks:
            if marker == "# vaelab":
                exec(compile(code, "coming-from-pythae.md", "exec"), namespace)
    printed = out.getvalue()
    assert "custom-vae 2" in printed and "True" in printed and "False" not in printed, printed
    assert [(Path(folder).resolve(), repo) for folder, repo in uploads] == [
        ((tmp_path / "shared" / "my-vae").resolve(), "your-name/my-vae")
    ]
    assert (tmp_path / "shared" / "my-vae" / "model.safetensors").is_file()
