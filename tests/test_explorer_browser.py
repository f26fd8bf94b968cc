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
from vaelab.export.onnx import export_run
from vaelab.export.preprocess import canvas_gray, mnist_style
from vaelab.export.serve import make_server
from vaelab.export.site import build_site
from vaelab.models import VAE, VAEConfig
from vaelab.models.registry import MODELS
from vaelab.train.rundir import RunDir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PRE_TOL = 1e-6  # page vs Python MNIST-style preprocessing
ORT_TOL = 1e-4  # onnxruntime-web vs onnxruntime (Python)


# ---------------------------------------------------------------------------------------------------------
# fixtures: browser, served sites, pages with a network guard and a console-error check
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Site:
    def __init__(self, root: Path, server=None, path: str = ""):
        """``root`` served by ``server`` (default vaelab's own) at ``/path`` (the site's URL)."""
        self.root = root
        self.server = server or make_server(root)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{path}"
        self.enc = ort.InferenceSession(str(root / "model" / "encoder.onnx"), providers=["CPUExecutionProvider"])
        self.dec = ort.InferenceSession(str(root / "model" / "decoder.onnx"), providers=["CPUExecutionProvider"])

    def encode(self, x28):
        return self.enc.run(None, {"x": np.asarray(x28, np.float32).reshape(1, 1, 28, 28)})

    def decode(self, z):
        return self.dec.run(None, {"z": np.asarray(z, np.float32).reshape(1, -1)})[0].ravel()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


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


@pytest.fixture(scope="module")
def site8d(tmp_path_factory, data_dir):
    """A small real 8-D VAE: 1 epoch on 2,000 MNIST images; 2,000 test codes."""
    from vaelab.train import TrainConfig, train

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    run_path = tmp_path_factory.mktemp("explorer") / "vae8d"
    train(
        run_path,
        "vae",
        {"latent_dim": 8, "hidden": (128,)},
        TrainConfig(epochs=1, batch_size=100, seed=1, progress=False),
        "mnist",
        data_dir,
        val_size=1000,
        limit=2000,
    )
    site = _site_of(run_path, n_codes=2000)
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

    def _open(site: Site, width: int = 1400, height: int = 1000):
        ctx = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
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


def canvas_pixels(page, selector):
    """uint8 RGBA of a canvas element."""
    data = page.evaluate(f"""() => {{ const c = document.querySelector('{selector}');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }}""")
    return np.asarray(data, np.uint8).reshape(-1, 4)


def state(page, key):
    value = page.evaluate(f"() => {{ const v = window.vaelab.state.{key}; return v == null ? null : Array.from(v); }}")
    return None if value is None else np.asarray(value, np.float64)


def check_drawing_against_python(page, site):
    """The page's input equals the Python preprocessing of the page's canvas; its code and reconstruction equal
    onnxruntime-in-Python on that input."""
    gray = canvas_gray(page.evaluate("window.vaelab.canvasRGBA()"), 280, 280)
    ref_input = mnist_style(gray)
    page_input = state(page, "input")
    assert page_input is not None and page_input.shape == (784,)
    assert np.abs(page_input - ref_input.ravel()).max() <= PRE_TOL
    ref = site.encode(ref_input)
    mu = state(page, "mu")
    assert np.abs(mu - ref[0].ravel()).max() <= ORT_TOL
    if len(ref) > 1:
        assert np.abs(state(page, "logvar") - ref[1].ravel()).max() <= ORT_TOL
    assert np.abs(state(page, "recon") - site.decode(mu)).max() <= ORT_TOL
    return ref_input, mu


# ---------------------------------------------------------------------------------------------------------
def test_drawing_updates_code_and_reconstruction_live(open_page, site2d):
    page = open_page(site2d)
    assert page.locator("#code").inner_text() == "draw a digit"
    assert canvas_pixels(page, "#recon")[:, :3].max() == 0
    draw(page, [SEVEN[0][:2]], release=False)  # first part of the stroke, button still down
    text1 = page.locator("#code").inner_text()
    assert "mu" in text1 and "sigma" in text1 and "z2" in text1
    recon1 = state(page, "recon")
    assert canvas_pixels(page, "#recon")[:, :3].max() > 0
    page.mouse.move(*_abs(page, SEVEN[0][2]), steps=5)  # the stroke goes on: the code follows
    idle(page)
    text2 = page.locator("#code").inner_text()
    assert text2 != text1 and np.abs(state(page, "recon") - recon1).max() > 1e-3
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
    mu = state(page, "mu")
    # the drawn digit's code is marked on the map (a ring on the overlay canvas)
    x, y = page.evaluate("(z) => window.vaelab.screenOf(z)", mu.tolist())
    ov = page.locator("#overlay").bounding_box()
    ring = page.evaluate(
        """([x, y]) => Array.from(document.querySelector('#overlay').getContext('2d')
        .getImageData(Math.round(x) - 8, Math.round(y) - 8, 17, 17).data)""",
        [x - ov["x"], y - ov["y"]],
    )
    assert np.asarray(ring).reshape(-1, 4)[:, 3].max() > 0
    labels = np.fromfile(site2d.root / "model" / "labels.bin", np.uint8)
    codes = np.fromfile(site2d.root / "model" / "codes.bin", "<f4").reshape(-1, 2)
    scale = page.evaluate("window.vaelab.state.view.scale")  # screen px per latent unit
    for i in [int(np.flatnonzero(labels == d)[0]) for d in (0, 1, 7)]:
        px, py = page.evaluate("(z) => window.vaelab.screenOf(z)", codes[i].tolist())
        page.mouse.move(px, py)
        idle(page)
        hover = page.evaluate(
            "({z: window.vaelab.state.hover.z, image: Array.from(window.vaelab.state.hover.image),"
            " source: window.vaelab.state.hover.source})"
        )
        assert hover["source"] == "map"
        assert np.abs(np.asarray(hover["z"]) - codes[i]).max() <= 1.0 / scale  # within a screen pixel
        assert np.abs(np.asarray(hover["image"]) - site2d.decode(hover["z"])).max() <= ORT_TOL
        shown = canvas_pixels(page, "#gen")[:, 0].astype(np.float64) / 255
        assert np.abs(shown - np.asarray(hover["image"])).max() <= 0.5 / 255 + 1e-6
        assert f"{hover['z'][0]:.3f}" in page.locator("#gen-code").inner_text()


def test_clear_empties_input_and_reconstruction(open_page, site2d):
    page = open_page(site2d)
    draw(page, SEVEN)
    assert canvas_pixels(page, "#input")[:, :3].max() > 0 and canvas_pixels(page, "#recon")[:, :3].max() > 0
    page.click("#clear")
    idle(page)
    for sel in ("#input", "#recon", "#draw"):
        assert canvas_pixels(page, sel)[:, :3].max() == 0, sel
    assert page.locator("#code").inner_text() == "draw a digit"
    assert state(page, "input") is None and state(page, "mu") is None


def test_interpolation_between_two_drawings_and_two_map_points(open_page, site2d):
    page = open_page(site2d)
    draw(page, ZERO)
    mu_a = state(page, "mu")
    page.click("#a-draw")
    page.click("#clear")
    draw(page, SEVEN)
    mu_b = state(page, "mu")
    page.fill("#steps", "7")
    page.click("#b-draw")
    idle(page)
    strip = page.evaluate(
        "({zs: window.vaelab.state.strip.zs, images: window.vaelab.state.strip.images.map((a) => Array.from(a))})"
    )
    zs = np.asarray(strip["zs"])
    assert zs.shape == (7, 2)
    assert np.allclose(zs[0], mu_a, atol=1e-6) and np.allclose(zs[-1], mu_b, atol=1e-6)
    assert np.allclose(zs[3], (mu_a + mu_b) / 2, atol=1e-5)
    for z, img in zip(zs, strip["images"], strict=True):
        assert np.abs(np.asarray(img) - site2d.decode(z)).max() <= ORT_TOL
    assert page.evaluate("document.querySelector('#strip').width") == 7 * 28
    # two map points
    ov = page.locator("#overlay").bounding_box()
    page.mouse.click(ov["x"] + 120, ov["y"] + 150)
    page.mouse.click(ov["x"] + 300, ov["y"] + 260)
    idle(page)
    zs2 = np.asarray(page.evaluate("window.vaelab.state.strip.zs"))
    assert zs2.shape == (7, 2) and not np.allclose(zs2[0], zs[0])
    assert "A (map) to B (map)" in page.locator("#interp-code").inner_text()


def test_latent_dim_8_sliders_and_pca_plane(open_page, site8d):
    page = open_page(site8d)
    assert page.locator("#sliders input[type=range]").count() == 8
    assert page.eval_on_selector("#projection", "e => e.value") == "pca"
    meta = page.evaluate("window.vaelab.state.meta")
    mean, comps = np.asarray(meta["pca"]["mean"]), np.asarray(meta["pca"]["components"])
    ov = page.locator("#overlay").bounding_box()
    page.mouse.move(ov["x"] + 180, ov["y"] + 230)
    idle(page)
    z = np.asarray(page.evaluate("window.vaelab.state.hover.z"))
    uv = comps @ (z - mean)
    assert np.abs(z - (mean + uv @ comps)).max() < 1e-4  # the pointer's code lies in the PCA plane
    sliders = np.asarray(page.eval_on_selector_all("#sliders input", "es => es.map(e => Number(e.value))"))
    steps = np.asarray(page.eval_on_selector_all("#sliders input", "es => es.map(e => Number(e.step))"))
    assert np.all(np.abs(sliders - z) <= steps / 2 + 1e-6)  # the sliders show the code (to their step)
    hover_image = "Array.from(window.vaelab.state.hover.image)"
    assert np.abs(np.asarray(page.evaluate(hover_image)) - site8d.decode(z)).max() <= ORT_TOL
    # a slider changes one dimension and decodes
    page.eval_on_selector(
        "#sliders input[data-dim='5']", "e => { e.value = '1.25'; e.dispatchEvent(new Event('input')); }"
    )
    idle(page)
    z2 = np.asarray(page.evaluate("window.vaelab.state.hover.z"))
    assert z2[5] == pytest.approx(1.25, abs=1e-3) and np.allclose(np.delete(z2, 5), np.delete(z, 5), atol=1e-3)
    assert np.abs(np.asarray(page.evaluate(hover_image)) - site8d.decode(z2)).max() <= ORT_TOL
    # two chosen dimensions: the pointer sets z4 and z7, the others keep the sliders' values
    page.select_option("#projection", "dims")
    page.select_option("#dim-x", "3")
    page.select_option("#dim-y", "6")
    assert "z4 (x) vs z7 (y)" in page.locator("#map-what").inner_text()
    page.mouse.move(ov["x"] + 250, ov["y"] + 120)
    idle(page)
    z3 = np.asarray(page.evaluate("window.vaelab.state.hover.z"))
    u, v = page.evaluate("window.vaelab.project(window.vaelab.state.hover.z)")
    assert (z3[3], z3[6]) == pytest.approx((u, v))
    assert np.allclose(np.delete(z3, [3, 6]), np.delete(z2, [3, 6]), atol=1e-3)
    draw(page, SEVEN)
    check_drawing_against_python(page, site8d)


def test_deterministic_model_shows_code_without_sigma(open_page, site_det):
    page = open_page(site_det)
    assert "deterministic" in page.locator("#facts").inner_text()
    draw(page, SEVEN)
    text = page.locator("#code").inner_text()
    assert "sigma" not in text and "deterministic" in text
    assert state(page, "logvar") is None
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
