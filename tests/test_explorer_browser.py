"""The in-browser latent explorer, driven with Playwright in Debian's Chromium (/usr/bin/chromium).

Each page is served by vaelab's own server on 127.0.0.1 (ephemeral port); any request to another address is
aborted and fails the test, and so does any console error. The page's numbers are compared with Python:

* MNIST-style 28x28 input: the page's canvas pixels through ``vaelab.export.preprocess.mnist_style`` vs the
  page's input, max absolute difference <= 1e-6 (both compute in float64 and store float32);
* encoder / decoder outputs: onnxruntime-web (wasm) vs onnxruntime in Python on the same input,
  max absolute difference <= 1e-4 (mu, logvar and pixel probabilities).

Screenshots are saved under the pytest temporary folder (printed with ``-s``).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import onnxruntime as ort
import pytest
import torch

from vaelab.cli.main import main as cli_main
from vaelab.core.io import save_checkpoint
from vaelab.export.onnx import export_model, export_run
from vaelab.export.preprocess import canvas_gray, mnist_style
from vaelab.export.serve import make_server
from vaelab.export.site import build_site, write_site
from vaelab.models import VAE, VAEConfig
from vaelab.models.registry import MODELS
from vaelab.runs.folder import RunDir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PRE_TOL = 1e-6  # page vs Python MNIST-style preprocessing
ORT_TOL = 1e-4  # onnxruntime-web vs onnxruntime (Python)


# ---------------------------------------------------------------------------------------------------------
# fixtures: browser, served sites, pages with a network guard and a console-error check
class Site:
    def __init__(self, root: Path, server=None, path: str = ""):
        """``root`` served by ``server`` (default vaelab's own) at ``/path`` (the site's URL); onnxruntime sessions
        in Python for each of its models (``models/i``)."""
        self.root = root
        self.server = server or make_server(root)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{path}"
        index = json.loads((root / "models" / "index.json").read_text())
        self.dirs = [root / m["dir"] for m in index["models"]]
        self.metas = [json.loads((d / "meta.json").read_text()) for d in self.dirs]
        self.encs = [_sess(d / "encoder.onnx") for d in self.dirs]
        self.decs = [_sess(d / "decoder.onnx") for d in self.dirs]

    def encode(self, x, i=0):
        shape = self.metas[i]["image_shape"]
        return self.encs[i].run(None, {"x": np.asarray(x, np.float32).reshape(1, *shape)})

    def decode(self, z, i=0):
        return self.decs[i].run(None, {"z": np.asarray(z, np.float32).reshape(1, -1)})[0].ravel()

    def codes(self, i=0):
        m = self.metas[i]
        return np.fromfile(self.dirs[i] / "codes.bin", "<f4").reshape(m["n_codes"], m["latent_dim"])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _sess(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _site_of(run_path: Path, **export_kw) -> Site:
    export_run(run_path, **export_kw)
    return Site(build_site(run_path, export=False, log=lambda *_: None))


@pytest.fixture(scope="module")
def site2d(mnist_vae_run, tmp_path_factory):
    run_path = tmp_path_factory.mktemp("explorer") / "vae2d"
    shutil.copytree(mnist_vae_run.path, run_path)
    site = _site_of(run_path)
    yield site
    site.close()


def _train(path, family, options, data_dir, epochs=1, limit=2000):
    from vaelab.runs.spec import TrainConfig
    from vaelab.training.lifecycle import train_run

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    train_run(
        path,
        family,
        options,
        TrainConfig(epochs=epochs, batch_size=100, seed=1, progress=False, samples_per_epoch=0),
        "mnist",
        data_dir,
        val_size=500,
        limit=limit,
    )
    return path


@pytest.fixture(scope="module")
def site8d(tmp_path_factory, data_dir):
    """A small real 8-D VAE: 1 epoch on 2,000 MNIST images; 2,000 test codes."""
    run_path = _train(
        tmp_path_factory.mktemp("explorer") / "vae8d", "vae", {"latent_dim": 8, "hidden": (128,)}, data_dir
    )
    site = _site_of(run_path, n_codes=2000)
    yield site
    site.close()


@pytest.fixture(scope="module")
def site3(mnist_vae_run, tmp_path_factory, data_dir):
    """AE, VAE and PCA with 2-D codes side by side (``vaelab site ae vae pca OUT``): the AE trained 2 epochs and
    PCA fitted on 2,000 images, the VAE is the shared 2-D run; 2,000 test codes each."""
    top = tmp_path_factory.mktemp("side")
    ae = _train(top / "ae", "ae", {"latent_dim": 2, "hidden": (128,)}, data_dir, epochs=2)
    pca = _train(top / "pca", "pca", {"latent_dim": 2}, data_dir)
    vae = top / "vae"
    shutil.copytree(mnist_vae_run.path, vae, ignore=shutil.ignore_patterns("export", "site"))
    for run in (ae, vae, pca):
        export_run(run, n_codes=2000)
    assert cli_main(["site", str(ae), str(vae), str(pca), str(top / "site")]) == 0
    site = Site(top / "site")
    assert [m["model"] for m in site.metas] == ["ae", "vae", "pca"]
    yield site
    site.close()


@pytest.fixture(scope="module")
def site_rgb(tmp_path_factory):
    """A colour model: a conv VAE on 3x16x16 images with untrained weights, exported through export_model with
    random images and labels (no dataset needed), served alone."""
    from vaelab.models.conv import ConvVAE, ConvVAEConfig

    torch.manual_seed(0)
    model = ConvVAE(ConvVAEConfig(image_shape=(3, 16, 16), latent_dim=2, channels=(8,), hidden=(32,))).eval()
    top = tmp_path_factory.mktemp("rgb")
    g = torch.Generator().manual_seed(0)
    images, labels = torch.rand(300, 3, 16, 16, generator=g), torch.randint(0, 10, (300,), generator=g)
    export_model(model, top / "export", images, labels, {"run": "rgb16", "model": "conv-vae", "dataset": "random"})
    site = Site(write_site([top / "export"], top / "site"))
    yield site
    site.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_static(site2d, tmp_path_factory):
    """``vaelab site RUN OUT`` of the 2-D run, served by Python's plain http.server (not vaelab's) one folder down,
    at /explorer/: a static host as any other."""
    top = tmp_path_factory.mktemp("static")
    assert cli_main(["site", str(site2d.root.parent), str(top / "explorer")]) == 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(top)))
    site = Site(top / "explorer", server=server, path="explorer/")
    yield site
    site.close()


class _Deterministic(VAE):
    """The 2-D VAE's networks used as a deterministic autoencoder: encode returns (mu, None)."""

    probabilistic = False

    def encode(self, x):
        return super().encode(x)[0], None


@pytest.fixture(scope="module")
def site_det(mnist_vae_run, tmp_path_factory):
    run_path = tmp_path_factory.mktemp("explorer") / "det2d"
    shutil.copytree(mnist_vae_run.path, run_path, ignore=shutil.ignore_patterns("export", "site", "tensorboard"))
    run = RunDir(run_path)
    cfg = run.load_config()
    cfg["model"] = "det-test"
    run.save_config(cfg)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(MODELS, "det-test", (VAEConfig, _Deterministic))
        for ckpt in run.checkpoints.glob("*.pt"):
            state = torch.load(ckpt, weights_only=True)
            state["model"] = "det-test"
            save_checkpoint(ckpt, state)
        site = _site_of(run_path, n_codes=3000)
    yield site
    site.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    path = tmp_path_factory.mktemp("screenshots")
    print(f"\nexplorer screenshots: {path}")
    return path


@pytest.fixture()
def open_page(browser, shots, request):
    """``open_page(site)`` -> a ready page. Fails the test on console errors or requests off 127.0.0.1."""
    pages = []

    def _open(site: Site, width: int = 1400, height: int = 1000, touch: bool = False):
        ctx = browser.new_context(
            viewport={"width": width, "height": height}, device_scale_factor=1, has_touch=touch, is_mobile=touch
        )
        page = ctx.new_page()
        page.errors, page.offsite = [], []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))

        def guard(route):
            url = route.request.url
            if url.startswith("data:") or urlsplit(url).hostname == "127.0.0.1":
                route.continue_()
            else:
                page.offsite.append(url)
                route.abort()

        page.route("**/*", guard)
        page.goto(site.url)
        page.wait_for_function("window.vaelab && (window.vaelab.ready || window.vaelab.errors.length)", timeout=30000)
        assert page.evaluate("window.vaelab.errors") == []
        pages.append(page)
        return page

    yield _open
    for i, page in enumerate(pages):
        page.screenshot(path=str(shots / f"{request.node.name}-{i}.png"), full_page=True)
        errors, offsite = page.errors, page.offsite
        page.context.close()
        assert errors == [], f"console errors: {errors}"
        assert offsite == [], f"requests to addresses other than 127.0.0.1: {offsite}"


# ---------------------------------------------------------------------------------------------------------
# helpers
SEVEN = [[(70, 60), (210, 60), (160, 140), (120, 240)]]
ZERO = [[(140, 50), (95, 80), (85, 150), (110, 225), (160, 230), (190, 170), (190, 90), (160, 55), (140, 50)]]
SMALL_ONE = [[(230, 200), (232, 260)]]  # a small stroke near the canvas corner
PLUS = [[(40, 140), (240, 140)], [(140, 40), (140, 240)]]  # two strokes


def idle(page):
    page.wait_for_function("window.vaelab.busy === 0", timeout=15000)


def draw(page, strokes, release=True, steps=6):
    box = page.locator("#draw").bounding_box()
    for k, stroke in enumerate(strokes):
        (x, y) = stroke[0]
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=steps)
        if release or k < len(strokes) - 1:
            page.mouse.up()
    idle(page)


def touch_draw(page, strokes, steps=6):
    """Draw with a finger: Chromium touch events (CDP Input.dispatchTouchEvent), in canvas units (280 x 280)."""
    cdp = page.context.new_cdp_session(page)
    box = page.locator("#draw").bounding_box()

    def at(x, y):
        return [{"x": box["x"] + x * box["width"] / 280, "y": box["y"] + y * box["height"] / 280}]

    for stroke in strokes:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": at(*stroke[0])})
        for (x0, y0), (x1, y1) in zip(stroke[:-1], stroke[1:], strict=True):
            for k in range(1, steps + 1):
                t = k / steps
                point = at(x0 + t * (x1 - x0), y0 + t * (y1 - y0))
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": point})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    idle(page)
    return cdp


def canvas_pixels(page, selector):
    """uint8 RGBA of a canvas element."""
    data = page.evaluate(f"""() => {{ const c = document.querySelector('{selector}');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }}""")
    return np.asarray(data, np.uint8).reshape(-1, 4)


def mstate(page, key, i=0):
    """A field of model i's page state as a float64 array (None for null)."""
    value = page.evaluate(
        f"() => {{ const v = window.vaelab.state.models[{i}].{key}; return v == null ? null : Array.from(v); }}"
    )
    return None if value is None else np.asarray(value, np.float64)


def pstate(page, key):
    value = page.evaluate(f"() => {{ const v = window.vaelab.state.{key}; return v == null ? null : Array.from(v); }}")
    return None if value is None else np.asarray(value, np.float64)


def hover_of(page, i):
    return page.evaluate(
        f"""() => {{ const h = window.vaelab.state.models[{i}].hover;
        return h && {{z: h.z, image: Array.from(h.image), source: h.source, from: h.from}}; }}"""
    )


def check_drawing_against_python(page, site, models=None):
    """The page's input equals the Python preprocessing of the page's canvas; every model's code and
    reconstruction equal onnxruntime-in-Python on that input."""
    gray = canvas_gray(page.evaluate("window.vaelab.canvasRGBA()"), 280, 280)
    ref_input = mnist_style(gray)
    page_input = pstate(page, "input")
    assert page_input is not None and page_input.shape == (784,)
    assert np.abs(page_input - ref_input.ravel()).max() <= PRE_TOL
    mus = []
    for i in models if models is not None else range(len(site.metas)):
        ref = site.encode(ref_input, i)
        mu = mstate(page, "mu", i)
        assert np.abs(mu - ref[0].ravel()).max() <= ORT_TOL
        if len(ref) > 1:
            assert np.abs(mstate(page, "logvar", i) - ref[1].ravel()).max() <= ORT_TOL
        else:
            assert mstate(page, "logvar", i) is None
        assert np.abs(mstate(page, "recon", i) - site.decode(mu, i)).max() <= ORT_TOL
        mus.append(mu)
    return ref_input, mus


def ink_near(page, selector, x, y, r=8):
    """Max alpha of a canvas's pixels within r CSS px of (x, y) (CSS px from the canvas's top left)."""
    data = page.evaluate(
        f"""([x, y, r]) => {{ const c = document.querySelector('{selector}'), s = c.width / c.clientWidth;
        return Array.from(c.getContext('2d').getImageData(Math.round((x - r) * s), Math.round((y - r) * s),
        Math.round(2 * r * s) + 1, Math.round(2 * r * s) + 1).data); }}""",
        [x, y, r],
    )
    return int(np.asarray(data).reshape(-1, 4)[:, 3].max())


def to_overlay(page, i, z):
    """(x, y) of code z on model i's map, CSS px from its overlay's top left; and the viewport position (the map
    is scrolled into view first)."""
    page.locator(f"#overlay-{i}").scroll_into_view_if_needed()
    px, py = page.evaluate("([i, z]) => window.vaelab.screenOf(i, z)", [i, list(map(float, z))])
    box = page.locator(f"#overlay-{i}").bounding_box()
    return (px - box["x"], py - box["y"]), (px, py)


# ---------------------------------------------------------------------------------------------------------
def test_drawing_updates_code_and_reconstruction_live(open_page, site2d):
    page = open_page(site2d)
    assert page.locator("#code-0").inner_text() == "draw a digit"
    assert canvas_pixels(page, "#recon-0")[:, :3].max() == 0
    draw(page, [SEVEN[0][:2]], release=False)  # first part of the stroke, button still down
    text1 = page.locator("#code-0").inner_text()
    assert "mu" in text1 and "sigma" in text1 and "z2" in text1
    recon1 = mstate(page, "recon")
    assert canvas_pixels(page, "#recon-0")[:, :3].max() > 0
    page.mouse.move(*_abs(page, SEVEN[0][2]), steps=5)  # the stroke goes on: the code follows
    idle(page)
    text2 = page.locator("#code-0").inner_text()
    assert text2 != text1 and np.abs(mstate(page, "recon") - recon1).max() > 1e-3
    page.mouse.up()
    idle(page)
    ref_input, _ = check_drawing_against_python(page, site2d)
    # the 28x28 input shown beside the canvas is the input
    shown = canvas_pixels(page, "#input")[:, 0].astype(np.float64) / 255
    assert np.abs(shown - ref_input.ravel()).max() <= 0.5 / 255 + 1e-9


def _abs(page, xy):
    box = page.locator("#draw").bounding_box()
    return box["x"] + xy[0], box["y"] + xy[1]


@pytest.mark.parametrize("strokes", [SEVEN, ZERO, SMALL_ONE, PLUS], ids=["seven", "zero", "small", "plus"])
def test_preprocessing_and_networks_match_python(open_page, site2d, strokes):
    page = open_page(site2d)
    draw(page, strokes)
    check_drawing_against_python(page, site2d)


def test_page_preprocessing_matches_python_on_synthetic_images(open_page, site2d):
    page = open_page(site2d)
    rng = np.random.default_rng(3)
    for h, w in [(280, 280), (100, 37), (7, 5)]:
        img = np.zeros((h, w))
        y0, x0 = rng.integers(0, h // 2), rng.integers(0, w // 2)
        img[y0 : y0 + rng.integers(1, h // 2 + 1), x0 : x0 + rng.integers(1, w // 2 + 1)] = rng.random()
        img[rng.random((h, w)) < 0.02] = 0.7
        js = np.asarray(page.evaluate("([g, h, w]) => window.vaelab.mnistStyle(g, h, w)", [img.ravel().tolist(), h, w]))
        assert np.abs(js - mnist_style(img).ravel()).max() <= PRE_TOL


def test_hovering_the_map_decodes_the_code_under_the_pointer(open_page, site2d):
    page = open_page(site2d)
    draw(page, ZERO)
    mu = mstate(page, "mu")
    (x, y), _ = to_overlay(page, 0, mu)
    assert ink_near(page, "#overlay-0", x, y) > 0  # the drawn digit's code is marked on the map
    labels = np.fromfile(site2d.dirs[0] / "labels.bin", np.uint8)
    codes = site2d.codes()
    scale = page.evaluate("window.vaelab.state.models[0].view.scale")  # screen px per latent unit
    for k in [int(np.flatnonzero(labels == d)[0]) for d in (0, 1, 7)]:
        _, (px, py) = to_overlay(page, 0, codes[k])
        page.mouse.move(px, py)
        idle(page)
        hover = hover_of(page, 0)
        assert hover["source"] == "map" and hover["from"] == 0
        assert np.abs(np.asarray(hover["z"]) - codes[k]).max() <= 1.0 / scale  # within a screen pixel
        assert np.abs(np.asarray(hover["image"]) - site2d.decode(hover["z"])).max() <= ORT_TOL
        shown = canvas_pixels(page, "#gen-0")[:, 0].astype(np.float64) / 255
        assert np.abs(shown - np.asarray(hover["image"])).max() <= 0.5 / 255 + 1e-6
        assert f"{hover['z'][0]:.3f}" in page.locator("#gen-code-0").inner_text()
        # the pointer is drawn where the code is: a ring on the overlay
        (ox, oy), _ = to_overlay(page, 0, hover["z"])
        assert ink_near(page, "#overlay-0", ox, oy, r=10) > 0


def test_clear_empties_input_and_reconstruction(open_page, site2d):
    page = open_page(site2d)
    draw(page, SEVEN)
    assert canvas_pixels(page, "#input")[:, :3].max() > 0 and canvas_pixels(page, "#recon-0")[:, :3].max() > 0
    page.click("#clear")
    idle(page)
    for sel in ("#input", "#recon-0", "#draw"):
        assert canvas_pixels(page, sel)[:, :3].max() == 0, sel
    assert page.locator("#code-0").inner_text() == "draw a digit"
    assert pstate(page, "input") is None and mstate(page, "mu") is None


def _strip(page):
    return page.evaluate(
        "({zs: window.vaelab.state.strip.zs, ts: window.vaelab.state.strip.ts,"
        " images: window.vaelab.state.strip.images.map((a) => Array.from(a))})"
    )


def test_interpolation_between_two_drawings_and_two_map_points(open_page, site2d):
    page = open_page(site2d)
    draw(page, ZERO)
    mu_a = mstate(page, "mu")
    page.click("#a-draw")
    page.click("#clear")
    draw(page, SEVEN)
    mu_b = mstate(page, "mu")
    page.fill("#steps", "7")
    page.click("#b-draw")
    idle(page)
    strip = _strip(page)
    zs = np.asarray(strip["zs"])
    assert zs.shape == (7, 2)
    assert np.allclose(zs[0], mu_a, atol=1e-6) and np.allclose(zs[-1], mu_b, atol=1e-6)
    assert np.allclose(zs[3], (mu_a + mu_b) / 2, atol=1e-5)
    for z, img in zip(zs, strip["images"], strict=True):
        assert np.abs(np.asarray(img) - site2d.decode(z)).max() <= ORT_TOL
    # the strip: as many frames as the steps field says, labelled A, t, B, each large enough to see
    frames = page.locator("#strip .frame")
    assert frames.count() == int(page.input_value("#steps")) == 7
    captions = page.eval_on_selector_all("#strip .frame figcaption", "es => es.map(e => e.textContent)")
    assert captions == ["A", "t=0.17", "t=0.33", "t=0.50", "t=0.67", "t=0.83", "B"]
    assert frames.first.locator("canvas").bounding_box()["width"] >= 56
    shown = canvas_pixels(page, "#strip .frame:nth-child(4) canvas")[:, 0].astype(np.float64) / 255
    assert np.abs(shown - np.asarray(strip["images"][3])).max() <= 0.5 / 255 + 1e-6
    # typing 100 steps: the field shows the value used (24), and the strip has that many frames
    page.fill("#steps", "100")
    page.press("#steps", "Enter")
    idle(page)
    assert page.input_value("#steps") == "24" and page.locator("#strip .frame").count() == 24
    assert len(_strip(page)["zs"]) == 24
    page.fill("#steps", "1")
    page.press("#steps", "Enter")
    idle(page)
    assert page.input_value("#steps") == "2" and page.locator("#strip .frame").count() == 2
    # two map points
    page.fill("#steps", "7")
    page.press("#steps", "Enter")
    ov = page.locator("#overlay-0").bounding_box()
    page.mouse.click(ov["x"] + 120, ov["y"] + 150)
    page.mouse.click(ov["x"] + 300, ov["y"] + 260)
    idle(page)
    zs2 = np.asarray(page.evaluate("window.vaelab.state.strip.zs"))
    assert zs2.shape == (7, 2) and not np.allclose(zs2[0], zs[0])
    assert "from A (map) to B (map)" in page.locator("#interp-code").inner_text()


def test_latent_dim_8_sliders_and_pca_plane(open_page, site8d):
    page = open_page(site8d)
    assert page.locator("#sliders-0 input[type=range]").count() == 8
    assert page.eval_on_selector("#projection-0", "e => e.value") == "pca"
    meta = site8d.metas[0]
    ratio = meta["pca"]["explained_variance_ratio"]
    what = page.locator("#map-what-0").inner_text()
    assert "PCA plane" in what and f"{100 * ratio[0]:.0f}% + {100 * ratio[1]:.0f}%" in what  # the plane is named
    assert "projection" in page.locator("#note-0").inner_text()  # the note on the drawn digit's projection
    mean, comps = np.asarray(meta["pca"]["mean"]), np.asarray(meta["pca"]["components"])
    ov = page.locator("#overlay-0").bounding_box()
    page.mouse.move(ov["x"] + 180, ov["y"] + 200)
    idle(page)
    z = np.asarray(hover_of(page, 0)["z"])
    uv = comps @ (z - mean)
    assert np.abs(z - (mean + uv @ comps)).max() < 1e-4  # the pointer's code lies in the PCA plane
    sliders = np.asarray(page.eval_on_selector_all("#sliders-0 input", "es => es.map(e => Number(e.value))"))
    steps = np.asarray(page.eval_on_selector_all("#sliders-0 input", "es => es.map(e => Number(e.step))"))
    assert np.all(np.abs(sliders - z) <= steps / 2 + 1e-6)  # the sliders show the code (to their step)
    assert np.abs(np.asarray(hover_of(page, 0)["image"]) - site8d.decode(z)).max() <= ORT_TOL
    # a slider changes one dimension and decodes
    page.eval_on_selector(
        "#sliders-0 input[data-dim='5']", "e => { e.value = '1.25'; e.dispatchEvent(new Event('input')); }"
    )
    idle(page)
    z2 = np.asarray(hover_of(page, 0)["z"])
    value, step = page.eval_on_selector("#sliders-0 input[data-dim='5']", "e => [Number(e.value), Number(e.step)]")
    assert abs(value - 1.25) <= step / 2 + 1e-9  # the range input snaps 1.25 to its step grid
    assert z2[5] == pytest.approx(value, abs=1e-6) and np.allclose(np.delete(z2, 5), np.delete(z, 5), atol=1e-3)
    assert np.abs(np.asarray(hover_of(page, 0)["image"]) - site8d.decode(z2)).max() <= ORT_TOL
    # two chosen dimensions: the pointer sets z4 and z7, the others keep the sliders' values
    page.select_option("#projection-0", "dims")
    page.select_option("#dim-x-0", "3")
    page.select_option("#dim-y-0", "6")
    assert "z4 (x) vs z7 (y)" in page.locator("#map-what-0").inner_text()
    page.mouse.move(ov["x"] + 250, ov["y"] + 120)
    idle(page)
    z3 = np.asarray(hover_of(page, 0)["z"])
    u, v = page.evaluate("window.vaelab.project(0, window.vaelab.state.models[0].hover.z)")
    assert (z3[3], z3[6]) == pytest.approx((u, v))
    assert np.allclose(np.delete(z3, [3, 6]), np.delete(z2, [3, 6]), atol=1e-3)
    page.select_option("#projection-0", "pca")
    draw(page, SEVEN)
    check_drawing_against_python(page, site8d)
    # the drawn digit is marked at its projection onto the plane
    (x, y), _ = to_overlay(page, 0, mstate(page, "mu"))
    assert ink_near(page, "#overlay-0", x, y) > 0


def test_deterministic_model_shows_code_without_sigma(open_page, site_det):
    page = open_page(site_det)
    assert "deterministic" in page.locator("#facts-0").inner_text()
    draw(page, SEVEN)
    text = page.locator("#code-0").inner_text()
    assert "sigma" not in text and "deterministic" in text
    check_drawing_against_python(page, site_det)


def test_offsite_requests_are_caught(open_page, site2d):
    page = open_page(site2d)
    result = page.evaluate("fetch('http://example.com/x.js').then(() => 'fetched', () => 'blocked')")
    assert result == "blocked" and page.offsite == ["http://example.com/x.js"]
    page.offsite.clear()  # the guard works; the page itself made no such request
    page.errors[:] = [e for e in page.errors if "ERR_FAILED" not in e]  # the aborted fetch is logged


def test_site_works_from_a_plain_static_server_in_a_subfolder(open_page, site_static):
    page = open_page(site_static)
    fetched = page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")
    assert all(url.startswith(site_static.url) for url in fetched), fetched  # relative paths only
    modules = sorted(p.name for p in site_static.root.glob("*.js"))
    assert "main.js" in modules and len(modules) > 5
    assert {site_static.url + name for name in modules} <= set(fetched)  # every page module is loaded
    draw(page, SEVEN)
    check_drawing_against_python(page, site_static)


# ---------------------------------------------------------------------------------------------------------
# side by side
def test_side_by_side_every_model_encodes_the_drawing(open_page, site3):
    page = open_page(site3)
    assert page.locator("#cards .card").count() == 3 and page.locator("#recons canvas").count() == 3
    assert "3 models" in page.locator("#facts").inner_text()
    draw(page, ZERO)
    _, mus = check_drawing_against_python(page, site3)  # AE, VAE and PCA, each to 1e-4
    assert not np.allclose(mus[0], mus[1]) and not np.allclose(mus[1], mus[2])
    for i, mu in enumerate(mus):
        (x, y), _ = to_overlay(page, i, mu)
        assert ink_near(page, f"#overlay-{i}", x, y) > 0  # each map marks the drawing's code
        recon = canvas_pixels(page, f"#recon-{i}")[:, 0].astype(np.float64) / 255
        assert np.abs(recon - mstate(page, "recon", i)).max() <= 0.5 / 255 + 1e-6
        text = page.locator(f"#code-{i}").inner_text()
        assert ("sigma" in text) == (i == 1)  # the VAE has a posterior; the AE and PCA a code


def test_hovering_one_map_decodes_the_same_z_in_every_2d_model(open_page, site3):
    page = open_page(site3)
    for src in (0, 1):  # the AE's map, then the VAE's
        codes = site3.codes(src)
        for k in (5, 77):
            _, (px, py) = to_overlay(page, src, codes[k])
            page.mouse.move(px, py)
            idle(page)
            z = np.asarray(hover_of(page, src)["z"])
            scale = page.evaluate(f"window.vaelab.state.models[{src}].view.scale")
            assert np.abs(z - codes[k]).max() <= 1.0 / scale
            for j in range(3):
                h = hover_of(page, j)
                assert h["from"] == src and h["source"] == "map"
                assert np.allclose(h["z"], z, atol=0)  # the same z
                assert np.abs(np.asarray(h["image"]) - site3.decode(z, j)).max() <= ORT_TOL
                shown = canvas_pixels(page, f"#gen-{j}")[:, 0].astype(np.float64) / 255
                assert np.abs(shown - np.asarray(h["image"])).max() <= 0.5 / 255 + 1e-6
    stats = page.evaluate("window.vaelab.stats.decodeMsByModel")
    assert all(len(s) >= 4 for s in stats)  # every model decoded each pointer move


def test_axes_ticks_cover_the_codes_range(open_page, site3):
    page = open_page(site3)
    for i in range(3):
        codes = site3.codes(i)
        view = page.evaluate(f"window.vaelab.state.models[{i}].view")
        ticks = page.evaluate(f"window.vaelab.state.models[{i}].ticks")
        for axis, (lo, hi), (v0, v1) in (
            ("x", (codes[:, 0].min(), codes[:, 0].max()), (view["u0"], view["u1"])),
            ("y", (codes[:, 1].min(), codes[:, 1].max()), (view["v0"], view["v1"])),
        ):
            assert v0 <= lo and hi <= v1  # every code is inside the axes
            span = max(np.ptp(codes[:, 0]), np.ptp(codes[:, 1]))
            assert v1 - v0 <= 1.1 * span  # and the axes are not much wider than the codes (equal units)
            t = np.asarray(ticks[axis])
            assert len(t) >= 3 and t.min() >= v0 and t.max() <= v1
            step = np.diff(t)
            assert np.allclose(step, step[0], rtol=1e-6)
            mant = step[0] / 10 ** np.floor(np.log10(step[0]))
            assert min(abs(mant - m) for m in (1, 2, 2.5, 5)) < 1e-6  # round steps
            assert (v1 - v0) / step[0] <= 12  # a readable number of ticks
        # each tick mark is drawn on the map where its value lies
        for tx in ticks["x"]:
            (x, _), _ = to_overlay(page, i, [tx, view["v0"]])
            assert ink_near(page, f"#map-{i}", x, view["top"] + view["side"] + 2, r=1) > 0
        for ty in ticks["y"]:
            (_, y), _ = to_overlay(page, i, [view["u0"], ty])
            assert ink_near(page, f"#map-{i}", view["left"] - 2, y, r=1) > 0
        assert page.evaluate("(z) => window.vaelab.niceTicks(-2.7, 3.1, 6).values", [0]) == [-2, -1, 0, 1, 2, 3]


def test_legend_toggles_a_class_on_every_map(open_page, site3):
    page = open_page(site3)
    orange = np.asarray([0xDE, 0x8F, 0x05])  # class 1's colour

    def orange_pixels(i):
        px = canvas_pixels(page, f"#map-{i}")[:, :3].astype(int)
        blended = 0.6 * orange + 0.4 * 255  # a dot over the white plot area
        return int((np.abs(px - blended).max(1) <= 8).sum() + (np.abs(px - orange).max(1) <= 8).sum())

    before = [orange_pixels(i) for i in range(3)]
    assert min(before) > 50
    page.click("#legend button[data-class='1']")
    assert page.evaluate("window.vaelab.state.hidden") == [1]
    assert page.get_attribute("#legend button[data-class='1']", "aria-pressed") == "false"
    after = [orange_pixels(i) for i in range(3)]
    assert all(a < 0.05 * b for a, b in zip(after, before, strict=True)), (before, after)
    page.click("#legend button[data-class='1']")
    assert page.evaluate("window.vaelab.state.hidden") == [] and [orange_pixels(i) for i in range(3)] == before


def test_background_tiles_are_the_decoders_outputs(open_page, site3):
    page = open_page(site3)
    page.check("#background")
    idle(page)
    for i in range(3):
        m = page.evaluate(
            f"""(() => {{ const m = window.vaelab.state.models[{i}].manifold;
            return {{n: m.n, zs: m.zs, images: m.images.map((a) => Array.from(a)), view: m.view}}; }})()"""
        )
        view = page.evaluate(f"window.vaelab.state.models[{i}].view")
        n = m["n"]
        assert n == page.evaluate(f"window.vaelab.tilesPerSide({view['side']})") and len(m["zs"]) == n * n
        assert m["view"]["u0"] == view["u0"] and m["view"]["v1"] == view["v1"]
        cell = (view["u1"] - view["u0"]) / n
        bg = canvas_pixels(page, f"#bg-{i}")
        assert page.evaluate(
            f"[document.querySelector('#bg-{i}').width, document.querySelector('#bg-{i}').height]"
        ) == [
            n * 28,
            n * 28,
        ]
        grid = bg[:, 0].reshape(n, 28, n, 28).transpose(0, 2, 1, 3).astype(np.float64) / 255
        for r, c in [(0, 0), (n // 2, n // 3), (n - 1, n - 1)]:
            z = np.asarray(m["zs"][r * n + c])
            # the tile's code is the centre of its cell (rows from the top)
            assert np.allclose(z, [view["u0"] + (c + 0.5) * cell, view["v1"] - (r + 0.5) * cell], atol=1e-5)
            ref = site3.decode(z, i)
            assert np.abs(np.asarray(m["images"][r * n + c]) - ref).max() <= ORT_TOL
            assert np.abs(grid[r, c].ravel() - ref).max() <= 0.5 / 255 + 1e-6  # drawn as decoded
        assert page.is_visible(f"#bg-{i}")
    page.uncheck("#background")
    idle(page)
    assert not page.is_visible("#bg-0") and page.evaluate("window.vaelab.state.models[0].manifold") is None


def test_epoch_slider_shows_the_stored_codes_of_that_epoch(open_page, site2d):
    page = open_page(site2d)
    meta = site2d.metas[0]
    ec = meta["epoch_codes"]
    stored = np.fromfile(site2d.dirs[0] / ec["file"], "<f4").reshape(ec["shape"])
    assert ec["epochs"] == [1, 2, 3] and page.is_visible("#timelapse-0")
    slider = "#epoch-0"
    assert page.get_attribute(slider, "max") == "3" and page.input_value(slider) == "3"
    assert page.evaluate("window.vaelab.state.models[0].shown.epoch") is None  # exported codes first
    pictures = []
    for k, epoch in enumerate(ec["epochs"]):
        page.eval_on_selector(slider, f"e => {{ e.value = '{k}'; e.dispatchEvent(new Event('input')); }}")
        shown = page.evaluate(
            "(() => { const s = window.vaelab.state.models[0].shown;"
            " return {epoch: s.epoch, n: s.n, codes: Array.from(s.codes)}; })()"
        )
        assert shown["epoch"] == epoch and shown["n"] == ec["shape"][1]
        assert np.array_equal(np.asarray(shown["codes"], np.float32).reshape(-1, 2), stored[k])
        assert f"epoch {epoch} of 3" in page.locator("#epoch-out-0").inner_text()
        assert f"epoch {epoch}:" in page.locator("#map-what-0").inner_text()
        view = page.evaluate("window.vaelab.state.models[0].view")
        assert view["u0"] <= stored[k][:, 0].min() and stored[k][:, 0].max() <= view["u1"]
        pictures.append(canvas_pixels(page, "#map-0"))
    assert not np.array_equal(pictures[0], pictures[-1])  # the map changes with the epoch
    page.eval_on_selector(slider, "e => { e.value = '3'; e.dispatchEvent(new Event('input')); }")
    assert page.evaluate("window.vaelab.state.models[0].shown.n") == meta["n_codes"]
    assert "exported model" in page.locator("#epoch-out-0").inner_text()
    page.click("#play-0")  # the replay starts at the first stored epoch and ends on the exported codes
    assert page.evaluate("window.vaelab.state.models[0].shown.epoch") == 1
    page.wait_for_function("window.vaelab.state.models[0].shown.epoch === null", timeout=5000)


# ---------------------------------------------------------------------------------------------------------
# phones
@pytest.mark.parametrize("width", [360, 390, 430])
def test_phone_layout_has_no_horizontal_scroll(open_page, site3, width):
    page = open_page(site3, width=width, height=844, touch=True)
    for tab in ("draw", "maps", "interp"):
        page.click(f"#tabs button[data-tab='{tab}']")
        assert page.is_visible({"draw": "#draw", "maps": "#overlay-0", "interp": "#steps"}[tab])
        sw, iw = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert sw <= iw, (tab, sw, iw)


def test_phone_touch_drawing_and_map_dragging(open_page, site3):
    page = open_page(site3, width=390, height=844, touch=True)
    # the Draw tab shows the canvas and every model's reconstruction without scrolling
    assert page.is_visible("#draw") and not page.is_visible("#overlay-0")
    last = page.locator("#recon-2").bounding_box()
    assert last["y"] + last["height"] <= 844 and last["x"] + last["width"] <= 390
    touch_draw(page, SEVEN)
    check_drawing_against_python(page, site3)
    assert canvas_pixels(page, "#recon-1")[:, :3].max() > 0
    # the Maps tab: one model at a time (chips); dragging a finger over the map decodes in every 2-D model
    page.click("#tabs button[data-tab='maps']")
    assert page.is_visible("#overlay-0") and not page.is_visible("#overlay-1")
    page.click("#chip-1")
    assert page.is_visible("#overlay-1") and not page.is_visible("#overlay-0")
    box = page.locator("#overlay-1").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844
    view = page.evaluate("window.vaelab.state.models[1].view")
    cdp = page.context.new_cdp_session(page)
    start = (box["x"] + view["left"] + 0.3 * view["side"], box["y"] + view["top"] + 0.3 * view["side"])
    end = (box["x"] + view["left"] + 0.7 * view["side"], box["y"] + view["top"] + 0.6 * view["side"])
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]})
    for k in range(1, 9):
        x, y = start[0] + k / 8 * (end[0] - start[0]), start[1] + k / 8 * (end[1] - start[1])
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    idle(page)
    z = np.asarray(hover_of(page, 1)["z"])
    (px, py), _ = to_overlay(page, 1, z)
    assert abs(box["x"] + px - end[0]) <= 1.5 and abs(box["y"] + py - end[1]) <= 1.5  # the finger's last point
    for j in range(3):
        assert np.abs(np.asarray(hover_of(page, j)["image"]) - site3.decode(z, j)).max() <= ORT_TOL
        assert canvas_pixels(page, f"#ptr-{j}")[:, :3].max() > 0  # every model's decoding shows above the map


# ---------------------------------------------------------------------------------------------------------
# colour models
def test_rgb_model_decodes_in_colour_and_hides_drawing(open_page, site_rgb):
    page = open_page(site_rgb)
    assert not page.is_visible("#draw-panel") and page.is_visible("#image-panel")  # the Image panel instead
    assert page.locator("#a-draw").inner_text() == "A ← image" and page.is_disabled("#a-draw")
    assert "3×16×16" in page.locator("#facts").inner_text()
    codes = site_rgb.codes()
    _, (px, py) = to_overlay(page, 0, codes[3])
    page.mouse.move(px, py)
    idle(page)
    h = hover_of(page, 0)
    img = np.asarray(h["image"]).reshape(3, 16, 16)
    assert np.abs(img.ravel() - site_rgb.decode(h["z"])).max() <= ORT_TOL
    shown = canvas_pixels(page, "#gen-0").reshape(16, 16, 4)[..., :3].transpose(2, 0, 1).astype(np.float64) / 255
    assert np.abs(shown - img).max() <= 0.5 / 255 + 1e-6  # each channel drawn as decoded
    assert np.abs(shown[0] - shown[1]).max() > 0.01  # in colour, not grey
    # the interpolation strip is in colour too
    ov = page.locator("#overlay-0").bounding_box()
    page.mouse.click(ov["x"] + 100, ov["y"] + 100)
    page.mouse.click(ov["x"] + 250, ov["y"] + 250)
    idle(page)
    strip = _strip(page)
    frame = canvas_pixels(page, "#strip .frame:nth-child(2) canvas").reshape(16, 16, 4)[..., :3]
    ref = np.asarray(strip["images"][1]).reshape(3, 16, 16).transpose(1, 2, 0)
    assert np.abs(frame / 255 - ref).max() <= 0.5 / 255 + 1e-6


# ---------------------------------------------------------------------------------------------------------
# pointers, drops, interpolation captions, damaged sites
@pytest.mark.parametrize("button", ["right", "middle"])
def test_only_the_primary_button_draws(open_page, site2d, button):
    page = open_page(site2d)
    box = page.locator("#draw").bounding_box()
    page.mouse.move(box["x"] + 70, box["y"] + 60)
    page.mouse.down(button=button)
    page.mouse.move(box["x"] + 210, box["y"] + 200, steps=6)
    page.mouse.up(button=button)
    idle(page)
    assert canvas_pixels(page, "#draw")[:, :3].max() == 0  # no ink
    assert page.evaluate("window.vaelab.state.drawSeq") == 0 and pstate(page, "input") is None
    draw(page, SEVEN)  # the primary button still draws
    assert canvas_pixels(page, "#draw")[:, :3].max() > 0 and pstate(page, "input") is not None


def test_interpolation_caption_follows_the_end_points(open_page, site3):
    page = open_page(site3)
    prompt = page.locator("#interp-code").inner_text()
    assert prompt.startswith("choose A and B")

    def click_map(i, fx, fy):
        page.locator(f"#overlay-{i}").scroll_into_view_if_needed()
        view = page.evaluate(f"window.vaelab.state.models[{i}].view")
        box = page.locator(f"#overlay-{i}").bounding_box()
        page.mouse.click(box["x"] + view["left"] + fx * view["side"], box["y"] + view["top"] + fy * view["side"])
        idle(page)

    click_map(0, 0.3, 0.3)
    click_map(0, 0.7, 0.6)
    caption = page.locator("#interp-code").inner_text()
    assert "ae" in caption and "from A (map) to B (map)" in caption and page.locator("#strip .frame").count() == 10
    # another model chosen: its end points are dropped, and so are the strip and the caption
    page.select_option("#interp-model", "1")
    idle(page)
    assert page.locator("#interp-code").inner_text() == prompt
    assert page.locator("#strip .frame").count() == 0 and page.evaluate("window.vaelab.state.strip") is None
    # one end point in a third model: the caption shows it alone, nothing of the first pair
    click_map(2, 0.5, 0.5)
    a = page.evaluate("Array.from(window.vaelab.state.interp.A.z)")
    caption = page.locator("#interp-code").inner_text()
    assert page.input_value("#interp-model") == "2" and caption.startswith(prompt)
    assert caption[len(prompt) :].strip() == f"A (map): z = [{a[0]:.3f}, {a[1]:.3f}] in pca"
    assert page.locator("#strip .frame").count() == 0
    click_map(2, 0.2, 0.8)
    caption = page.locator("#interp-code").inner_text()
    assert "pca" in caption and "from A (map) to B (map)" in caption and page.locator("#strip .frame").count() == 10


def _png(path: Path, shape=(20, 24, 3), seed=0) -> Path:
    from PIL import Image

    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def test_an_image_file_that_cannot_be_read_clears_the_previous_one(open_page, site_rgb, tmp_path):
    page = open_page(site_rgb)
    page.set_input_files("#file", str(_png(tmp_path / "good.png")))
    page.wait_for_function("document.querySelector('#image-caption').textContent === 'good.png'")
    idle(page)
    assert pstate(page, "input") is not None and mstate(page, "mu") is not None and not page.is_disabled("#a-draw")
    assert canvas_pixels(page, "#image-input")[:, :3].max() > 0 and canvas_pixels(page, "#recon-0")[:, :3].max() > 0
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 these bytes are no JPEG")
    page.set_input_files("#file", str(bad))
    page.wait_for_function("document.querySelector('#image-what').textContent.startsWith('bad.jpg')")
    idle(page)
    what = page.locator("#image-what")
    assert "not an image this browser can decode" in what.inner_text() and "error" in what.get_attribute("class")
    # nothing of good.png is left as if it were current
    assert page.locator("#image-caption").inner_text() == "model input"
    assert pstate(page, "input") is None and mstate(page, "mu") is None and mstate(page, "recon") is None
    assert canvas_pixels(page, "#image-input")[:, :3].max() == 0 and canvas_pixels(page, "#recon-0")[:, :3].max() == 0
    assert page.locator("#code-0").inner_text() == "pick or drop an image" and page.is_disabled("#a-draw")
    # a good file again: shown, and the error goes
    page.set_input_files("#file", str(_png(tmp_path / "again.png", seed=1)))
    page.wait_for_function("document.querySelector('#image-caption').textContent === 'again.png'")
    idle(page)
    assert mstate(page, "mu") is not None and "error" not in (what.get_attribute("class") or "")


DROP_JS = """([bytes, name, selector]) => {
    const dt = new DataTransfer(), target = document.querySelector(selector);
    dt.items.add(new File([new Uint8Array(bytes)], name, { type: "image/png" }));
    const fire = (type) =>
        target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    return [fire("dragenter"), fire("dragover"), fire("drop")]; // false: the browser's own action was stopped
}"""


def test_a_file_dropped_anywhere_is_the_input_and_the_page_stays(open_page, site_rgb, tmp_path):
    page = open_page(site_rgb)
    url = page.url
    for k, selector in enumerate(["h1", "#cards", "#strip", "#drop"]):  # the header, a map card, anywhere; the zone
        png = _png(tmp_path / f"dropped{k}.png", seed=k)
        assert page.evaluate(DROP_JS, [list(png.read_bytes()), png.name, selector]) == [False, False, False]
        page.wait_for_function(f"document.querySelector('#image-caption').textContent === '{png.name}'")
        idle(page)
        assert page.url == url and page.evaluate("window.vaelab.ready")
        assert page.locator("#image-what").inner_text().startswith(f"{png.name}: 24×20 RGB")
        assert mstate(page, "mu") is not None
    assert "over" not in (page.get_attribute("#drop", "class") or "")


def test_a_file_dropped_on_a_drawing_page_is_refused_in_the_status_line(open_page, site2d, tmp_path):
    page = open_page(site2d)
    png = _png(tmp_path / "photo.png")
    assert page.evaluate(DROP_JS, [list(png.read_bytes()), png.name, "#draw"]) == [False, False, False]
    assert page.url == site2d.url and pstate(page, "input") is None
    assert page.locator("#status").inner_text().startswith("photo.png: not used; these models take drawings")


# damaged sites: each file of the export that cannot be fetched or is malformed is named in the status line
def _meta_without(field):
    def damage(path):
        meta = json.loads(path.read_text())
        del meta[field]
        path.write_text(json.dumps(meta))

    return damage


def _cut(n):
    return lambda path: path.write_bytes(path.read_bytes()[:n] if n >= 0 else path.read_bytes()[:n])


DAMAGES = {
    "index-not-json": ("models/index.json", lambda p: p.write_text("{'models': "), ["models/index.json: not JSON"]),
    "meta-missing": ("models/0/meta.json", Path.unlink, ["models/0/meta.json: HTTP 404", "no such file"]),
    "meta-not-json": (
        "models/0/meta.json",
        lambda p: p.write_text("{ 'latent_dim': 2"),
        ["models/0/meta.json: not JSON"],
    ),
    "meta-no-latent-dim": (
        "models/0/meta.json",
        _meta_without("latent_dim"),
        ["models/0/meta.json: latent_dim missing; expected a whole number >= 1"],
    ),
    "meta-no-image-shape": (
        "models/0/meta.json",
        _meta_without("image_shape"),
        ["models/0/meta.json: image_shape missing; expected [C, H, W]"],
    ),
    "encoder-truncated": (
        "models/0/encoder.onnx",
        _cut(1000),
        ["models/0/encoder.onnx: 1000 bytes that onnxruntime-web cannot load as an ONNX model"],
    ),
    "decoder-missing": ("models/0/decoder.onnx", Path.unlink, ["models/0/decoder.onnx: HTTP 404"]),
    "codes-short": (
        "models/0/codes.bin",
        _cut(-6),
        ["models/0/codes.bin: {n8m6} bytes; expected {n8} bytes (n_codes x latent_dim x 4 = {n} x 2 x 4, float32)"],
    ),
    "labels-short": (
        "models/0/labels.bin",
        _cut(-1),
        ["models/0/labels.bin: {nm1} bytes; expected {n} bytes (one uint8 label per code of codes.bin"],
    ),
    "labels-long": (
        "models/0/labels.bin",
        lambda p: p.write_bytes(p.read_bytes() + bytes(5)),
        ["models/0/labels.bin: {np5} bytes; expected {n} bytes"],
    ),
}


@pytest.fixture(scope="module")
def damaged_copy(site2d, tmp_path_factory):
    """``make_copy(name)`` -> the URL of a copy of site2d's folder, served by vaelab's server, with one file damaged."""
    servers = []

    def make_copy(name):
        root = tmp_path_factory.mktemp(name) / "site"
        shutil.copytree(site2d.root, root)
        rel, damage, _ = DAMAGES[name]
        damage(root / rel)
        server = make_server(root)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield make_copy
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("name", list(DAMAGES))
def test_a_damaged_export_file_is_named_in_the_page(browser, site2d, damaged_copy, name):
    url = damaged_copy(name)
    page = browser.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.vaelab && window.vaelab.errors.length", timeout=30000)
    n = site2d.metas[0]["n_codes"]
    status = page.locator("#status").inner_text()
    for part in DAMAGES[name][2]:
        part = part.format(n=n, n8=8 * n, n8m6=8 * n - 6, nm1=n - 1, np5=n + 5)
        assert part in status, status
    assert status.startswith("error: ") and "vaelab explore RUN --export" in status
    assert page.locator("#facts").inner_text() == "the models could not be loaded:"
    assert not page.evaluate("window.vaelab.ready") and len(page.evaluate("window.vaelab.errors")) == 1
    assert page.errors == []  # no uncaught exception or unhandled rejection besides the one reported
    page.close()


# the boot watchdog (boot.js): a page that cannot start says why instead of "loading the models…" for ever
def _served_copy(site, tmp_path, change=None):
    root = tmp_path / "site"
    shutil.copytree(site.root, root)
    if change:
        change(root)
    server = make_server(root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _boot_failure(page, timeout=15000):
    page.wait_for_function("document.documentElement.dataset.boot === 'failed'", timeout=timeout)
    assert page.locator("#facts").inner_text() == "the page did not start:"
    return page.locator("#status").inner_text()


def test_a_page_opened_as_a_file_says_it_must_be_served(browser, site2d):
    page = browser.new_page()
    page.goto((site2d.root / "index.html").as_uri())
    status = _boot_failure(page, timeout=3000)  # at once, not after the watchdog's timeout
    assert status.startswith("error: this page was opened as a file") and "run `vaelab explore RUN`" in status
    page.close()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda root: (root / "ticks.js").unlink(), "ticks.js: could not be loaded"),
        (lambda root: (root / "vendor" / "ort.wasm.min.mjs").unlink(), "vendor/ort.wasm.min.mjs: could not be loaded"),
        (lambda root: (root / "ticks.js").write_text("export const = 1;\n"), "ticks.js:1: "),
    ],
    ids=["module-missing", "vendor-missing", "module-syntax-error"],
)
def test_a_module_that_fails_is_named_in_the_page(browser, site2d, tmp_path, change, named):
    server, url = _served_copy(site2d, tmp_path, change)
    page = browser.new_page()
    page.goto(url)
    status = _boot_failure(page, timeout=5000)  # at once, not after the watchdog's timeout
    assert status.startswith(f"error: {named}") and "the page cannot start" in status
    assert "run `vaelab explore RUN`" in status
    assert page.evaluate("window.vaelab === undefined || !window.vaelab.ready")
    page.close()
    server.shutdown()
    server.server_close()


def test_a_page_whose_modules_do_not_arrive_says_so_and_recovers(browser, site2d, tmp_path):
    server, url = _served_copy(site2d, tmp_path)
    held = []
    page = browser.new_page()
    page.route("**/ticks.js", lambda route: held.append(route))  # answered only later: a stalled connection
    page.goto(url, wait_until="commit")
    status = _boot_failure(page)
    assert "have not started after 8 s" in status and "vaelab explore RUN" in status
    for route in held:
        route.continue_()
    page.wait_for_function("window.vaelab && window.vaelab.ready", timeout=30000)
    assert page.locator("#status").inner_text() == "" and "model" in page.locator("#facts").inner_text()
    assert page.evaluate("document.documentElement.dataset.boot") == "started"
    page.close()
    server.shutdown()
    server.server_close()
