"""``vaelab export`` / ``vaelab site``: ONNX models checked with onnxruntime, codes, labels, meta, the site."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from vaelab.cli.main import main
from vaelab.core.errors import ConfigError
from vaelab.data import load_dataset
from vaelab.export import onnx as export_onnx_mod
from vaelab.export import site as site_mod
from vaelab.export.onnx import ExportError, export_onnx, export_run
from vaelab.export.site import build_site
from vaelab.models import VAE, VAEConfig


@pytest.fixture(scope="module")
def exported(mnist_vae_run, tmp_path_factory):
    run_path = tmp_path_factory.mktemp("export") / "vae2d"
    shutil.copytree(mnist_vae_run.path, run_path)
    record = {"nll": 150.25, "nll_stderr": 0.5, "k": 100, "split": "test", "elbo": -155.0, "n_images": 10000}
    record.update(kl=5.0, active_units=2, binarization="static")
    (run_path / "eval.json").write_text(json.dumps(record))
    assert main(["export", str(run_path)]) == 0
    return run_path


def _sess(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_export_files_and_onnx_graphs(exported, mnist_vae_run, data_dir):
    out = exported / "export"
    assert sorted(p.name for p in out.iterdir()) == [
        "codes.bin",
        "decoder.onnx",
        "encoder.onnx",
        "epoch_codes.bin",
        "epoch_labels.bin",
        "labels.bin",
        "meta.json",
        "pick.bin",
    ]  # single-file models: no external data
    enc, dec = onnx.load(out / "encoder.onnx"), onnx.load(out / "decoder.onnx")
    for m in (enc, dec):
        onnx.checker.check_model(m)
        assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in m.graph.initializer)
    assert [i.name for i in enc.graph.input] == ["x"] and [o.name for o in enc.graph.output] == ["mu", "logvar"]
    assert [i.name for i in dec.graph.input] == ["z"] and [o.name for o in dec.graph.output] == ["x_mean"]
    assert enc.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # symbolic batch axis
    model = mnist_vae_run.load_model()
    x = load_dataset("mnist", "test", data_dir, limit=37).images  # a batch size the export never saw
    mu, logvar = _sess(out / "encoder.onnx").run(None, {"x": x.numpy()})
    (xm,) = _sess(out / "decoder.onnx").run(None, {"z": mu})
    with torch.no_grad():
        tmu, tlv = model.encode(x)
        tx = model.decode(tmu)
    assert mu.shape == (37, 2) and xm.shape == (37, 1, 28, 28)
    assert np.abs(mu - tmu.numpy()).max() < 1e-4 and np.abs(logvar - tlv.numpy()).max() < 1e-4
    assert np.abs(xm - tx.numpy()).max() < 1e-4


def test_codes_labels_meta(exported, mnist_vae_run, data_dir):
    out = exported / "export"
    meta = json.loads((out / "meta.json").read_text())
    test = load_dataset("mnist", "test", data_dir)
    codes = np.fromfile(out / "codes.bin", dtype="<f4").reshape(meta["n_codes"], meta["latent_dim"])
    labels = np.fromfile(out / "labels.bin", dtype=np.uint8)
    assert meta["n_codes"] == len(test) == 10000 and meta["latent_dim"] == 2
    assert np.array_equal(labels, test.labels.numpy())
    with torch.no_grad():
        mu = mnist_vae_run.load_model().encode(test.images[:500])[0].numpy()
    assert np.abs(codes[:500] - mu).max() < 1e-5
    assert meta["model"] == "vae" and meta["dataset"] == "mnist" and meta["image_shape"] == [1, 28, 28]
    assert meta["probabilistic"] is True and meta["nll"] == 150.25 and meta["nll_k"] == 100
    assert meta["pca"] is None  # D = 2: the map shows z itself
    assert meta["code_range"]["min"] == pytest.approx(codes.min(0), abs=1e-3)
    assert 0 <= meta["onnx_check"]["decoder_max_abs_diff"] <= 1e-4
    # the page's other inputs: test images to pick, the preprocessing of a file, the label vectors
    pick = np.fromfile(out / "pick.bin", dtype=np.uint8).reshape(meta["pick"]["shape"])
    assert pick.shape == (48, 1, 28, 28) and np.array_equal(pick, (test.images[:48] * 255).round().byte().numpy())
    assert meta["preprocess"]["size"] == [28, 28] and meta["preprocess"]["channels"] == 1
    assert meta["preprocess"]["crop"] is None
    vectors = {a["name"]: np.asarray(a["vector"]) for a in meta["attributes"]}
    assert list(vectors) == [f"{d} - other classes" for d in range(10)]
    seven = codes[labels == 7].mean(0) - codes[labels != 7].mean(0)
    assert np.abs(vectors["7 - other classes"] - seven).max() <= 1e-5


def test_export_prints_max_difference(mnist_vae_run, tmp_path, capsys):
    run_path = tmp_path / "r"
    shutil.copytree(mnist_vae_run.path, run_path, ignore=shutil.ignore_patterns("export", "site"))
    assert main(["export", str(run_path), "--n-codes", "300"]) == 0
    text = capsys.readouterr().out
    assert "max absolute difference: encoder" in text and "vaelab explore" in text
    meta = json.loads((run_path / "export" / "meta.json").read_text())
    assert meta["n_codes"] == 300 and meta["nll"] is None


def test_export_difference_above_tolerance_is_an_error(mnist_vae_run, tmp_path, monkeypatch):
    monkeypatch.setattr(export_onnx_mod, "TOLERANCE", -1.0)  # any difference (even 0) now exceeds it
    with pytest.raises(ExportError, match="onnxruntime differs from PyTorch"):
        export_onnx(mnist_vae_run.load_model(), tmp_path, torch.rand(4, 1, 28, 28))


def _interrupt_export_call(monkeypatch, which: int) -> None:
    """Make the ``which``-th ``torch.onnx.export`` call (0: the encoder's, 1: the decoder's) fail as torch.export
    fails on a Ctrl-C during tracing: a ``TorchExportError``-like exception whose ``__cause__`` is the interrupt."""
    real, calls = torch.onnx.export, []

    def export(*args, **kwargs):
        calls.append(1)
        if len(calls) - 1 == which:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as exc:
                raise RuntimeError("Failed to export the model with torch.export") from exc
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", export)


def test_ctrl_c_during_the_onnx_export_is_an_interrupt_and_leaves_no_half_export(
    exported, tmp_path, monkeypatch, capsys
):
    from vaelab.runs.open import open_run

    run_path = tmp_path / "r"
    shutil.copytree(exported, run_path)
    before = {p.name: p.read_bytes() for p in (run_path / "export").iterdir() if p.is_file()}
    _interrupt_export_call(monkeypatch, 0)  # during the encoder's export: the older export stays whole
    assert main(["export", str(run_path)]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "vaelab export: interrupted" and "ONNX export failed" not in err
    assert {p.name: p.read_bytes() for p in (run_path / "export").iterdir() if p.is_file()} == before
    assert export_onnx_mod.export_is_current(open_run(run_path))

    monkeypatch.undo()
    _interrupt_export_call(monkeypatch, 1)  # during the decoder's: encoder.onnx is new, so the export is not current
    assert main(["export", str(run_path)]) == 130
    assert not list((run_path / "export").glob("*.tmp*"))
    assert not export_onnx_mod.export_is_current(open_run(run_path))  # the next site / explore exports again
    monkeypatch.undo()
    assert main(["site", str(run_path), str(tmp_path / "site")]) == 0
    assert export_onnx_mod.export_is_current(open_run(run_path))


def test_an_interrupt_wrapped_as_the_context_of_another_error_is_raised_again():
    from vaelab.core.errors import raise_if_interrupted

    raise_if_interrupted(ValueError("plain"))  # nothing wrapped: returns
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("while handling it") from None  # __context__ kept, __cause__ none
    except RuntimeError as wrapped:
        wrapped.__suppress_context__ = False
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted(wrapped)


class _Deterministic(VAE):
    """A VAE whose encoder is used deterministically: encode returns (mu, None), as autoencoders do."""

    probabilistic = False

    def encode(self, x):
        return super().encode(x)[0], None


def test_deterministic_and_wider_models_export(tmp_path):
    torch.manual_seed(0)
    model = _Deterministic(VAEConfig(latent_dim=5, hidden=(32,))).eval()
    check = export_onnx(model, tmp_path, torch.rand(8, 1, 28, 28))
    assert check["probabilistic"] is False
    enc = onnx.load(tmp_path / "encoder.onnx")
    assert [o.name for o in enc.graph.output] == ["mu"]
    (mu,) = _sess(tmp_path / "encoder.onnx").run(None, {"x": np.zeros((3, 1, 28, 28), np.float32)})
    assert mu.shape == (3, 5)


def test_pca_plane_for_latent_dim_above_2():
    codes = np.random.default_rng(0).normal(size=(500, 6)) * np.array([5, 3, 1, 0.5, 0.2, 0.1])
    plane = export_onnx_mod._pca_plane(codes.astype(np.float32))
    comps = np.array(plane["components"])
    assert comps.shape == (2, 6) and np.allclose(comps @ comps.T, np.eye(2), atol=1e-4)
    assert abs(abs(comps[0, 0]) - 1) < 0.05 and abs(abs(comps[1, 1]) - 1) < 0.05
    assert np.allclose(plane["mean"], codes.mean(0), atol=1e-5)


def test_site_is_self_contained(exported, tmp_path, capsys):
    out = tmp_path / "pub"
    assert main(["site", str(exported), str(out)]) == 0
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    modules = sorted(p.name for p in site_mod.web_dir().glob("*.js"))  # the page's ES modules
    assert "main.js" in modules and "map.js" in modules and len(modules) >= 12
    assert files == sorted(
        [
            *modules,
            "index.html",
            "style.css",
            "models/index.json",
            *(
                f"models/0/{name}"
                for name in [
                    "codes.bin",
                    "decoder.onnx",
                    "encoder.onnx",
                    "epoch_codes.bin",  # the 2-D run was trained with the time-lapse
                    "epoch_labels.bin",
                    "labels.bin",
                    "meta.json",
                    "pick.bin",  # test images for the page's Image panel
                ]
            ),
            "vendor/ort-wasm-simd-threaded.mjs",
            "vendor/ort-wasm-simd-threaded.wasm",
            "vendor/ort.wasm.min.mjs",
        ]
    )
    assert json.loads((out / "models" / "index.json").read_text()) == {
        "format": 1,
        "models": [{"dir": "models/0", "run": exported.name}],
    }
    index = (out / "index.html").read_text()
    for name in modules:  # every module is fetched at once (no import waterfall before onnxruntime starts)
        assert name in ("main.js", "boot.js") or f'<link rel="modulepreload" href="{name}" />' in index, name
    # but the boot watchdog, a classic script before them (it runs where modules cannot: a page opened as a file)
    assert '<script src="boot.js"></script>' in index and '<link rel="modulepreload" href="boot.js" />' not in index
    assert index.index('<script src="boot.js">') < index.index('<script type="module" src="main.js">')
    html = "".join((out / name).read_text() for name in ["index.html", *modules])
    assert "http://" not in html and "https://" not in html and "cdn" not in html.lower()
    assert (out / "vendor" / "ort-wasm-simd-threaded.wasm").read_bytes()[:4] == b"\0asm"


@pytest.fixture(scope="module")
def three_runs(exported, tmp_path_factory):
    """The exported run under three names (a, b, c), each with its export."""
    top = tmp_path_factory.mktemp("several")
    paths = []
    for name in "abc":
        shutil.copytree(exported, top / name, ignore=shutil.ignore_patterns("site"))
        paths.append(top / name)
    return paths


def test_site_of_several_runs_side_by_side(three_runs, tmp_path):
    out = tmp_path / "cmp"
    assert main(["site", *map(str, three_runs), str(out)]) == 0
    index = json.loads((out / "models" / "index.json").read_text())
    assert index["models"] == [{"dir": f"models/{i}", "run": n} for i, n in enumerate("abc")]
    for i, run in enumerate(three_runs):
        for name in ("encoder.onnx", "decoder.onnx", "codes.bin", "labels.bin", "meta.json"):
            assert (out / "models" / str(i) / name).read_bytes() == (run / "export" / name).read_bytes()
    # a later site of fewer runs into the same folder leaves no stale model behind
    assert main(["site", str(three_runs[0]), str(out)]) == 0
    assert sorted(p.name for p in (out / "models").iterdir()) == ["0", "index.json"]
    with pytest.raises(ConfigError, match="several runs: name the site folder OUT"):
        build_site(three_runs[:2])


def test_more_than_four_runs_different_shapes_or_a_run_twice_is_a_config_error(three_runs, tmp_path, capsys):
    five = [*three_runs, three_runs[0], three_runs[1]]
    for argv in (["site", *map(str, five), str(tmp_path / "s")], ["explore", *map(str, five), "--port", "0"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "5 runs given: the explorer shows at most 4 side by side" in err[0]
    assert main(["site", str(three_runs[0]), str(three_runs[0]), str(tmp_path / "s")]) == 2
    assert "run given twice" in capsys.readouterr().err
    other = tmp_path / "faces"
    shutil.copytree(three_runs[1], other, ignore=shutil.ignore_patterns("site", "export"))
    cfg = json.loads((other / "config.json").read_text())
    cfg["model_config"]["image_shape"] = [1, 28, 20]
    (other / "config.json").write_text(json.dumps(cfg))
    assert main(["site", str(three_runs[0]), str(other), str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "different image shapes" in err and "1x28x28" in err and "1x28x20" in err
    assert not (tmp_path / "s").exists()  # refused before anything was written


def test_export_of_a_non_run_is_an_error(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2  # an empty folder is no run: bad input
    assert "not a vaelab run directory" in capsys.readouterr().err
    (tmp_path / "metrics.jsonl").write_text("{}\n")  # a run's file without its config.json: a damaged run
    assert main(["export", str(tmp_path)]) == 1
    assert "not a vaelab run directory" in capsys.readouterr().err


def test_explore_refusals_are_one_line_and_exit_2(digits_pack, tmp_path, capsys):
    """`vaelab explore` on a missing folder, on a folder or file that is no run, and on a run with no export whose
    port is in use: one line, exit status 2, no traceback; the port is checked before the (slow) export."""
    import socket

    run = tmp_path / "run"
    shutil.copytree(digits_pack[0], run, ignore=shutil.ignore_patterns("site", "export"))
    (tmp_path / "empty").mkdir()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        cases = {
            "missing": ([str(tmp_path / "missing")], "no such folder"),
            "empty": ([str(tmp_path / "empty")], "not a vaelab run directory"),
            "file": ([str(run / "config.json")], "not a vaelab run directory"),
            "busy": ([str(run), "--port", str(port)], f"--port {port}: cannot listen there"),
        }
        for what, (argv, expected) in cases.items():
            assert main(["explore", *argv]) == 2, what
            out, err = capsys.readouterr()
            lines = err.strip().splitlines()
            assert len(lines) == 1 and expected in lines[0] and "Traceback" not in out + err, (what, out, err)
    finally:
        busy.close()
    assert not (run / "export").exists() and not (run / "site").exists()  # refused before any work


def test_public_dataset_name():
    from vaelab.data import public_dataset_name

    assert public_dataset_name("folder:/home/alice/photos/cats") == "folder:cats"
    assert public_dataset_name("folder:/home/alice/photos/cats/") == "folder:cats"
    assert public_dataset_name("folder:/") == "folder:images"
    for name in ("mnist", "fashion-mnist", "frey-face", "olivetti-faces", "sklearn-digits", "emoji-faces", "celeba"):
        assert public_dataset_name(name) == name


def test_an_image_folder_is_published_by_its_name_not_its_path(tmp_path):
    """meta.json of the export, the site (also from an export that still holds the path) and the model card name an
    image folder ``folder:NAME``; the run's own config.json keeps the path (evaluating and resuming read it)."""
    from PIL import Image

    import vaelab
    from vaelab.runs.card import model_card

    private = tmp_path / "alice-private-photos" / "cats"
    private.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(30):
        Image.fromarray((rng.random((8, 8)) * 255).astype(np.uint8)).save(private / f"{i:02d}.png")
    torch.set_num_threads(1)
    run = vaelab.train("vae", name="cats", dataset=f"folder:{private}", runs_dir=tmp_path / "runs", latent_dim=2,
                       hidden=(8,), epochs=1, batch_size=16, progress=False)  # fmt: skip
    run.evaluate(k=2, limit=3)
    config = json.loads((run.path / "config.json").read_text())
    assert config["dataset"]["name"] == f"folder:{private}"  # what the run needs, unchanged
    export_run(run.path)
    meta_text = (run.path / "export" / "meta.json").read_text()
    assert json.loads(meta_text)["dataset"] == "folder:cats" and "alice-private" not in meta_text
    site = build_site(run.path, tmp_path / "site")
    published = [p for p in site.rglob("*") if p.suffix in (".json", ".html", ".js")]
    assert published and not [p for p in published if "alice-private" in p.read_text()]
    assert json.loads((site / "models" / "0" / "meta.json").read_text())["dataset"] == "folder:cats"
    # an export written before the name was published so: its site still says only the folder's name
    old = json.loads(meta_text)
    old["dataset"] = f"folder:{private}"
    (run.path / "export" / "meta.json").write_text(json.dumps(old))
    site_mod.write_site([run.path / "export"], tmp_path / "site2")
    assert json.loads((tmp_path / "site2" / "models" / "0" / "meta.json").read_text())["dataset"] == "folder:cats"
    card = model_card(config, json.loads((run.path / "eval.json").read_text()), [], 1)
    assert "alice-private" not in card and "folder:cats" in card
    pack = run.pack(tmp_path / "pack").path
    readme = (pack / "README.md").read_text()
    assert "alice-private" not in readme and "folder:cats" in readme
    assert json.loads((pack / "config.json").read_text())["dataset"]["name"] == f"folder:{private}"  # documented


FAMILY = {  # every model family, briefly trained on real data: export must work for each
    "pca": {"latent_dim": 3},
    "linear-ae": {"latent_dim": 3},
    "ae": {"latent_dim": 2},
    "dae": {"latent_dim": 2},
    "guided-vae": {},
    "conv-vae": {"latent_dim": 2},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FAMILY))
def test_every_model_family_exports_and_builds_a_site(name, tmp_path, data_dir):
    from vaelab.runs.folder import RunDir
    from vaelab.runs.spec import TrainConfig
    from vaelab.training.lifecycle import train_run

    run, _, _ = train_run(
        tmp_path / name,
        name,
        FAMILY[name],
        TrainConfig(epochs=1, batch_size=100, progress=False),
        "mnist",
        data_dir,
        val_size=200,
        limit=500,
    )
    meta = export_run(run, n_codes=300)
    model = RunDir(run.path).load_model()
    assert meta["latent_dim"] == model.latent_dim and meta["probabilistic"] == model.probabilistic
    assert meta["onnx_check"]["encoder_max_abs_diff"] <= 1e-4 and meta["onnx_check"]["decoder_max_abs_diff"] <= 1e-4
    codes = np.fromfile(run.export / "codes.bin", dtype="<f4").reshape(300, model.latent_dim)
    x = load_dataset("mnist", "test", data_dir, limit=300).images
    with torch.no_grad():
        np.testing.assert_allclose(codes, model.encode(x)[0].numpy(), atol=1e-4)
    dec = _sess(run.export / "decoder.onnx").run(None, {"z": codes[:7]})[0]  # a batch the export never saw
    with torch.no_grad():
        np.testing.assert_allclose(dec, model.decode(torch.from_numpy(codes[:7])).numpy(), atol=1e-4)
    site = build_site(run, tmp_path / "site")
    assert (site / "index.html").is_file() and (site / "models" / "0" / "decoder.onnx").is_file()
