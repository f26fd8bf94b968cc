"""Figures and the run report, on a small real MNIST run: the pictures' content, not just their files."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from vaelab.cli.main import main
from vaelab.viz.interpolation import all_pairs_canvas, interpolate_codes, read_gif, to_uint8
from vaelab.viz.manifold import tile
from vaelab.viz.render import RunFigures
from vaelab.viz.style import COLORBLIND10, class_colors


@pytest.fixture(scope="module")
def run_copy(mnist_vae_run, tmp_path_factory):
    """A writable copy of the shared 2-D run."""
    dst = tmp_path_factory.mktemp("figs") / "vae2d"
    shutil.copytree(mnist_vae_run.path, dst)
    return dst


@pytest.fixture(scope="module")
def figs(run_copy, data_dir):
    return RunFigures(run_copy, data_dir=data_dir, progress=False)


@pytest.fixture(scope="module")
def run8(tmp_path_factory, data_dir):
    """A tiny 8-D run (1 epoch on 2,000 images) for the t-SNE path."""
    from vaelab.runs.spec import TrainConfig
    from vaelab.training.lifecycle import train_run

    run_dir = tmp_path_factory.mktemp("runs8") / "vae8d"
    run, _, _ = train_run(
        run_dir,
        "vae",
        {"latent_dim": 8, "hidden": (128,)},
        TrainConfig(epochs=1, batch_size=128, seed=0, progress=False),
        "mnist",
        data_dir,
        val_size=1000,
        limit=2000,
    )
    return run


def _decode(model, codes) -> np.ndarray:
    with torch.no_grad():
        return model.decode(torch.as_tensor(np.asarray(codes, np.float32))).numpy()


def _png_dpi(path) -> float:
    with Image.open(path) as im:
        return float(im.info["dpi"][0])


def _representative(figs, digit: int) -> int:
    """Independent re-computation: the test image of ``digit`` whose code is nearest the class's mean code."""
    x, y = figs.test.images, figs.test.labels.numpy()
    with torch.no_grad():
        mu = figs.model.encode(x)[0].numpy()
    idx = np.flatnonzero(y == digit)
    return int(idx[np.argmin(np.linalg.norm(mu[idx] - mu[idx].mean(0), axis=1))])


# palette -------------------------------------------------------------------------------------------------------
def test_palette_is_the_documented_colour_blind_one():
    assert class_colors(10) == list(COLORBLIND10)
    assert len(set(COLORBLIND10)) == 10
    many = class_colors(40)
    assert len(set(many)) == 40  # beyond 10 classes: distinct colours from a CVD-friendly map


# manifold ------------------------------------------------------------------------------------------------------
def test_manifold_tiles_are_the_decoder_outputs_at_the_grid_points(figs):
    res = figs.manifold(size=5, path_from=0, path_to=7)
    v = np.linspace(-2, 2, 5)
    assert np.allclose(res["codes"][0, 0], [-2, 2]) and np.allclose(res["codes"][4, 4], [2, -2])
    canvas = res["canvas"]
    assert canvas.shape == (5 * 28, 5 * 28)
    for i in range(5):
        for j in range(5):
            expected = _decode(figs.model, [[v[j], v[4 - i]]])[0, 0]  # row 0 is the top: largest z2
            np.testing.assert_allclose(canvas[i * 28 : (i + 1) * 28, j * 28 : (j + 1) * 28], expected, atol=1e-6)
    # the red path runs between the representative 0 and 7
    codes = figs.codes()
    assert np.allclose(res["path_codes"][0], codes[_representative(figs, 0)])
    assert np.allclose(res["path_codes"][-1], codes[_representative(figs, 7)])
    assert res["files"][0].name == "manifold.png" and _png_dpi(res["files"][0]) >= 100


def test_manifold_inverse_normal_cdf_grid(figs):
    from scipy.stats import norm

    res = figs.manifold(size=7, range=(-1.5, 1.5), spacing="ppf", out=figs.out("manifold-ppf.png"))
    v = res["values"]
    assert np.allclose(v[[0, -1]], [-1.5, 1.5]) and np.allclose(v, -v[::-1])
    assert np.allclose(np.diff(norm.cdf(v)), np.diff(norm.cdf(v))[0])  # equal prior mass per step
    assert not np.allclose(np.diff(v), np.diff(v)[0])  # so not evenly spaced in z
    tile_ = res["canvas"][28:56, 0:28]  # row 1, column 0
    np.testing.assert_allclose(tile_, _decode(figs.model, [[v[0], v[5]]])[0, 0], atol=1e-6)


def test_manifold_cli_and_errors(run_copy, data_dir, capsys):
    assert (
        main(
            [
                "plot",
                str(run_copy),
                "manifold",
                "--size",
                "4",
                "--range",
                "-1",
                "1",
                "--no-progress",
                "--data-dir",
                str(data_dir),
                "--dpi",
                "100",
            ]
        )
        == 0
    )
    full = run_copy / "figures" / "manifold.png"
    assert (
        main(
            [
                "plot",
                str(run_copy),
                "manifold",
                "--size",
                "4",
                "--range",
                "-1",
                "1",
                "--no-progress",
                "--data-dir",
                str(data_dir),
                "--dpi",
                "100",
                "--compact",
                "--out",
                str(run_copy / "small.png"),
            ]
        )
        == 0
    )
    with Image.open(full) as a, Image.open(run_copy / "small.png") as b:
        assert a.size == b.size and b.mode == "P" and a.mode == "RGBA"
        diff = np.abs(np.asarray(a.convert("RGB"), int) - np.asarray(b.convert("RGB"), int))
        assert diff.mean() < 2.0  # the same picture in 256 colours
    assert (run_copy / "small.png").stat().st_size < full.stat().st_size
    assert main(["plot", str(run_copy), "manifold", "--dims", "0,5", "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--dims 0,5" in err[0]
    assert main(["plot", str(run_copy), "curves", "--dpi", "50"]) == 2


# interpolation --------------------------------------------------------------------------------------------------
def test_interpolation_codes():
    a, b = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    lin = interpolate_codes(a, b, 5)
    assert lin.shape == (5, 2) and np.allclose(lin[2], [1.5, 1.5])
    sph = interpolate_codes(a, b, 5, spherical=True)
    assert np.allclose(sph[[0, -1]], [a, b]) and np.allclose(np.linalg.norm(sph, axis=1), 3.0, atol=1e-5)


def test_interpolate_gif_has_the_frames_and_ends_at_the_two_codes(figs, run_copy, data_dir):
    assert (
        main(
            [
                "plot",
                str(run_copy),
                "interpolate",
                "--from",
                "0",
                "--to",
                "7",
                "--steps",
                "12",
                "--scale",
                "1",
                "--no-progress",
                "--data-dir",
                str(data_dir),
            ]
        )
        == 0
    )
    gif, png = run_copy / "figures" / "interpolate-0-7.gif", run_copy / "figures" / "interpolate-0-7.png"
    with Image.open(gif) as im:
        assert im.n_frames == 12 and im.info.get("loop") == 0
    frames = read_gif(gif)
    assert len(frames) == 12
    codes = figs.codes()
    i0, i7 = _representative(figs, 0), _representative(figs, 7)
    assert figs.labels[i0] == 0 and figs.labels[i7] == 7
    first, last = _decode(figs.model, codes[[i0, i7]])
    np.testing.assert_array_equal(frames[0][:28, :28], to_uint8(first[0]))
    np.testing.assert_array_equal(frames[-1][:28, :28], to_uint8(last[0]))
    t = 6 / 11  # frame 6 of 12 decodes z(t) = (1 - t) z_from + t z_to
    middle = to_uint8(_decode(figs.model, [(1 - t) * codes[i0] + t * codes[i7]])[0, 0])
    assert np.abs(frames[6][:28, :28].astype(int) - middle).max() <= 1  # float32 rounding at most
    assert not np.array_equal(frames[0][:28, :28], frames[-1][:28, :28])
    assert _png_dpi(png) >= 100


def test_interpolate_between_indices_spherical_and_scaled(figs):
    res = figs.interpolate(from_index=3, to_index=10, steps=6, spherical=True, scale=3)
    gif, png = res["files"]
    assert gif.name == "interpolate-i3-i10-slerp.gif" and png.is_file()
    frames = read_gif(gif)
    assert len(frames) == 6 and frames[0].shape[1] == 28 * 3
    codes = figs.codes()
    np.testing.assert_array_equal(frames[-1][:84:3, ::3], to_uint8(_decode(figs.model, codes[[10]])[0, 0]))


def test_interpolate_bad_digit_is_one_line(run_copy, data_dir, capsys):
    assert (
        main(
            [
                "plot",
                str(run_copy),
                "interpolate",
                "--from",
                "0",
                "--to",
                "11",
                "--data-dir",
                str(data_dir),
                "--no-progress",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--to 11: no test image has this label" in err[0]


def test_all_pairs_grid_is_10_by_10_strips(figs):
    res = figs.all_pairs(steps=4)
    strips = res["strips"]
    assert strips.shape == (10, 10, 4, 1, 28, 28) and res["classes"] == list(range(10))
    reps = np.stack([res["reps"][c] for c in range(10)])
    ends = _decode(figs.model, reps)
    for a in range(10):
        assert figs.labels[res["indices"][a]] == a
        for b in range(10):
            np.testing.assert_allclose(strips[a, b, 0], ends[a], atol=1e-6)
            np.testing.assert_allclose(strips[a, b, -1], ends[b], atol=1e-6)
    canvas = all_pairs_canvas(strips, gap=4)
    assert canvas.shape == (10 * 32 - 4, 10 * (4 * 28 + 4) - 4)
    np.testing.assert_allclose(canvas[3 * 32 : 3 * 32 + 28, 5 * 116 : 5 * 116 + 112], tile(strips[3, 5][None]))
    assert _png_dpi(res["files"][0]) >= 100


# training pictures ----------------------------------------------------------------------------------------------
def test_curves_data_match_metrics_jsonl(figs, run_copy):
    records = [json.loads(line) for line in (run_copy / "metrics.jsonl").read_text().splitlines() if line]
    res = figs.curves()
    data = res["data"]
    assert list(data) == ["loss", "recon_nll", "kl"]
    for term in data:
        for split in ("train", "val"):
            xs, ys = data[term][split]
            assert xs == [r["epoch"] for r in records]
            np.testing.assert_allclose(ys, [r[f"{split}_{term}"] for r in records])
    assert _png_dpi(res["files"][0]) >= 100


def test_samples_per_epoch_rows_are_the_saved_epochs(figs, run_copy):
    saved = np.load(run_copy / "epoch_samples.npy")
    res = figs.samples_per_epoch()
    assert res["rows"] == list(range(len(saved))) and saved.shape[:2] == (3, 10)
    canvas = res["canvas"]
    for r in range(len(saved)):
        for i in range(saved.shape[1]):
            np.testing.assert_allclose(canvas[r * 28 : (r + 1) * 28, i * 28 : (i + 1) * 28], saved[r, i, 0] / 255.0)
    assert figs.conditional is False


def test_samples_and_reconstructions_reuse_the_core_grids(run_copy, data_dir):
    from vaelab.viz.grids import make_grid

    assert main(["plot", str(run_copy), "samples", "-n", "9", "--data-dir", str(data_dir)]) == 0
    assert (
        main(["plot", str(run_copy), "reconstructions", "-n", "8", "--per-row", "4", "--data-dir", str(data_dir)]) == 0
    )
    figs = RunFigures(run_copy, data_dir=data_dir, progress=False)
    expected = make_grid(figs.model.sample(9, generator=torch.Generator().manual_seed(0)), nrow=3)
    with Image.open(run_copy / "figures" / "samples.png") as im:
        got = np.asarray(im)[::2, ::2]  # saved at scale 2
    np.testing.assert_array_equal(got, expected)
    with Image.open(run_copy / "figures" / "reconstructions.png") as im:
        assert im.size == (2 * (2 + 4 * 30), 2 * (2 + 4 * 30))  # 4 rows: 2 of images, 2 of reconstructions


# latent and embeddings ------------------------------------------------------------------------------------------
def test_latent_scatter_codes_and_centres(figs):
    res = figs.latent()
    codes, labels = res["codes"], res["labels"]
    assert codes.shape == (10000, 2) and res["files"][0].name == "latent.png"
    with torch.no_grad():
        mu = figs.model.encode(figs.test.images[:50])[0].numpy()
    np.testing.assert_allclose(codes[:50], mu, atol=1e-5)
    assert sorted(res["centres"]) == list(range(10))
    for c, xy in res["centres"].items():
        np.testing.assert_allclose(xy, np.median(codes[labels == c], 0))
    assert _png_dpi(res["files"][0]) >= 100


@pytest.mark.slow
def test_latent_above_2d_goes_through_tsne(run8, data_dir):
    figs8 = RunFigures(run8, data_dir=data_dir, progress=False)
    assert "manifold" not in figs8.applicable_kinds()
    res = figs8.latent(n=400, perplexity=20)
    assert res["codes"].shape == (400, 8) and res["coords"].shape == (400, 2)
    assert res["files"][0].name == "latent-tsne.png"
    # the 2-D points are an embedding of these codes: neighbourhoods are kept (shuffled points are not)
    from sklearn.manifold import trustworthiness

    kept = trustworthiness(res["codes"], res["coords"], n_neighbors=5)
    shuffled = trustworthiness(res["codes"], np.random.default_rng(0).permutation(res["coords"]), n_neighbors=5)
    assert kept > 0.85 and shuffled < 0.7, (kept, shuffled)
    pca = figs8.latent(n=200, method="pca")
    assert pca["files"][0].name == "latent-pca.png"
    # the manifold still works on a chosen pair of dimensions of an 8-D code (others at 0)
    man = figs8.manifold(size=3, dims=(2, 5))
    assert np.allclose(man["codes"][0, 0], [0, 0, -2, 0, 0, 2, 0, 0])


def test_projector_files_load(figs, run_copy):
    res = figs.projector(n=100)
    paths = res["paths"]
    tensors = np.loadtxt(paths["tensors"], delimiter="\t")
    assert tensors.shape == (100, 2)
    np.testing.assert_allclose(tensors, figs.codes()[:100], rtol=1e-4, atol=1e-5)
    rows = paths["metadata"].read_text().splitlines()
    assert rows[0] == "label\tindex" and len(rows) == 101
    assert [int(r.split("\t")[0]) for r in rows[1:]] == figs.labels[:100].tolist()
    with Image.open(paths["sprite"]) as im:
        assert im.size == (10 * 28, 10 * 28)
        sprite = np.asarray(im.convert("L"))
    np.testing.assert_array_equal(sprite[28:56, 56:84], (figs.test.images[12, 0].numpy() * 255).astype(np.uint8))
    cfg = paths["config"].read_text()
    assert "tensors.tsv" in cfg and "metadata.tsv" in cfg and "sprite.png" in cfg and "single_image_dim: 28" in cfg
    assert paths["config"].parent.parent == run_copy / "tensorboard"
    assert list(paths["config"].parent.glob("events.out.tfevents.*"))  # a TensorBoard run directory


# a model with a deterministic encoder ---------------------------------------------------------------------------
class _Deterministic(torch.nn.Module):
    """Wraps the run's VAE as an autoencoder with codes 3 * mu (not N(0, I)) and no logvar."""

    probabilistic = False
    latent_dim = 2

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    @property
    def device(self):
        return self.vae.device

    def encode(self, x):
        return 3 * self.vae.encode(x)[0], None

    def decode(self, z):
        return self.vae.decode(z / 3)


def test_figures_work_for_a_deterministic_encoder(run_copy, data_dir):
    f = RunFigures(run_copy, data_dir=data_dir, progress=False)
    f._model = _Deterministic(f.model)
    assert "samples" not in f.applicable_kinds()
    codes = f.codes()
    res = f.manifold(size=3, out=f.out("manifold-det.png"))
    lo, hi = np.percentile(codes, 1), np.percentile(codes, 99)
    assert np.allclose(res["values"][[0, -1]], [lo, hi])
    inter = f.interpolate(from_digit=0, to_digit=7, steps=3, out=f.out("det-interp"))
    assert len(read_gif(inter["files"][0])) == 3


# report -----------------------------------------------------------------------------------------------------------
def test_report_holds_every_figure_and_the_nll(run_copy, data_dir):
    from vaelab.data import load_dataset
    from vaelab.evaluate import evaluate
    from vaelab.runs.folder import RunDir

    run = RunDir(run_copy)
    test = load_dataset("mnist", "test", data_dir, limit=200)
    ev = evaluate(run.load_model(), test, k=20, progress=False)
    run.save_eval(ev)
    assert main(["report", str(run_copy), "--data-dir", str(data_dir), "--no-progress"]) == 0
    page = (run_copy / "report.html").read_text()
    kinds = RunFigures(run_copy, data_dir=data_dir, progress=False).applicable_kinds()
    assert set(kinds) == {
        "curves",
        "samples-per-epoch",
        "samples",
        "reconstructions",
        "latent",
        "manifold",
        "interpolate",
        "all-pairs",
        "nll-vs-k",
    }
    for kind in kinds:
        assert f"data-kind='{kind}'" in page, kind
    files = re.findall(r"data-file='([^']+)'", page)
    assert "interpolate-0-7.gif" in files and "interpolate-0-7.png" in files and len(files) == len(kinds) + 1
    uris = re.findall(r"src='data:(image/(?:png|gif));base64,([^']+)'", page)
    assert len(uris) == len(files)
    for mime, b64 in uris:  # each embedded image decodes
        with Image.open(io.BytesIO(base64.b64decode(b64))) as im:
            assert im.format == mime.split("/")[1].upper()
    # the numbers: NLL with K from eval.json, and the configuration
    assert f"NLL = {ev['nll']:.2f} ± {ev['nll_stderr']:.2f}" in page and "K = 20" in page
    assert f"{ev['kl']:.2f}" in page and "active units" in page
    assert "latent_dim" in page and "hidden" in page
    # self-contained: nothing loaded from outside the file
    refs = re.findall(r"(?:src|href)=['\"]([^'\"]*)['\"]", page)
    assert refs and all(r.startswith(("data:", "#")) for r in refs)
    assert "<script" not in page and "@import" not in page and "url(" not in page


def test_report_without_eval_or_epoch_samples(run_copy, data_dir, tmp_path):
    dst = tmp_path / "bare"
    shutil.copytree(run_copy, dst)
    (dst / "epoch_samples.npy").unlink()
    (dst / "eval.json").unlink(missing_ok=True)
    shutil.rmtree(dst / "figures")
    f = RunFigures(dst, data_dir=data_dir, progress=False)
    assert "samples-per-epoch" not in f.applicable_kinds()
    assert main(["plot", str(dst), "samples-per-epoch"]) == 2
    assert (
        main(["report", str(dst), "--data-dir", str(data_dir), "--no-progress", "--out", str(tmp_path / "r.html")]) == 0
    )
    page = (tmp_path / "r.html").read_text()
    assert "data-kind='samples-per-epoch'" not in page and "vaelab evaluate RUN" in page
    assert "data-kind='manifold'" in page


def test_report_escapes_the_run_values(run_copy, data_dir, tmp_path):
    dst = tmp_path / "hostile"
    shutil.copytree(run_copy, dst)
    cfg = json.loads((dst / "config.json").read_text())
    cfg["name"] = "<script>alert(1)</script>"
    cfg["environment"]["note"] = "<img src=x onerror=alert(1)> & 'quoted'"
    (dst / "config.json").write_text(json.dumps(cfg))
    out = tmp_path / "r.html"
    assert main(["report", str(dst), "--data-dir", str(data_dir), "--no-progress", "--reuse", "--out", str(out)]) == 0
    page = out.read_text()
    assert "<title>vaelab run &lt;script&gt;alert(1)&lt;/script&gt;</title>" in page
    assert "<h1>vaelab run &lt;script&gt;alert(1)&lt;/script&gt;</h1>" in page
    assert "<th>note</th><td>&lt;img src=x onerror=alert(1)&gt; &amp; &#39;quoted&#39;</td>" in page
    assert "<script" not in page and "<img src=x" not in page
    assert "data-kind='manifold'" in page  # the rest of the page is still there


def test_plot_help_lists_every_kind(capsys):
    with pytest.raises(SystemExit):
        main(["plot", "--help"])
    out = capsys.readouterr().out
    for kind in (
        "latent",
        "manifold",
        "interpolate",
        "all-pairs",
        "samples-per-epoch",
        "curves",
        "projector",
        "reconstructions",
        "samples",
    ):
        assert kind in out


def test_docs_figures_are_small_pngs_each_shown_on_a_page():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    docs = root / "docs" / "figures"
    pages = [root / "README.md", *(root / "docs").rglob("*.md")]
    text = "\n".join(p.read_text() for p in pages)  # the README and the manual's pages
    pngs = sorted(docs.glob("*.png"))
    assert len(pngs) >= 8
    for png in pngs:
        with Image.open(png) as im:
            assert im.info["dpi"][0] >= 99.5  # >= 100 dpi (PNG stores dots per metre)
    for picture in [*docs.rglob("*.png"), *docs.rglob("*.gif"), root / "docs" / "explorer.png"]:
        assert picture.stat().st_size <= 200_000, picture
        # shown as docs/figures/x.png from the README, ../figures/x.png from a page
        shown = str(picture.relative_to(root / "docs"))
        assert f"/{shown}" in text or f"({shown}" in text, f"{picture}: shown on no page of the README or the manual"
