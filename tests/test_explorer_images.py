"""The explorer for images other than drawn digits, in Debian's Chromium (driven as in test_explorer_browser.py):
picking a test image, choosing or dropping an image file, attribute sliders, colour runs side by side.

A tiny real colour run is made here: a conv VAE trained one epoch on 200 emoji faces at 16x16 (``make data`` puts
the emoji sets in the cache; the ``emoji_data_dir`` fixture finds them). Numbers are compared with Python:

* the page's preprocessing of image files (png.js + prepare.js) with ``vaelab.data.images.prepare``, to 1e-4 on
  pixels in [0, 1] (both give 8-bit values, so any difference would be at least 1/255);
* codes and decodings with onnxruntime in Python, to 1e-4.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_explorer_browser import ORT_TOL, Site, canvas_pixels, hover_of, idle, mstate, open_page, pstate, shots

from vaelab.cli.main import main as cli_main
from vaelab.data import load_dataset
from vaelab.data.images import prepare
from vaelab.evaluate.attribute_vectors import attribute_vector
from vaelab.export.onnx import export_run
from vaelab.export.site import build_site

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["open_page", "shots"]  # fixtures used here, defined in test_explorer_browser

PRE_TOL = 1e-4  # the page's preprocessing of a file vs vaelab.data.images.prepare, on pixels in [0, 1]


# ---------------------------------------------------------------------------------------------------------
# PNG files of every colour type and bit depth, written here (Pillow writes few of them)
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _scanlines(a: np.ndarray, bits: int) -> bytes:
    """Rows of samples ``(h, w, c)``, each filtered with filter type ``y % 5`` (None, Sub, Up, Average, Paeth)."""
    h, w, c = a.shape
    out, prev = bytearray(), None
    bpp = max(1, c * bits // 8)
    for y in range(h):
        row = a[y].reshape(-1)
        if bits >= 8:
            raw = row.astype(">u2" if bits == 16 else np.uint8).tobytes()
        else:
            per, vals = 8 // bits, list(row) + [0] * ((-len(row)) % (8 // bits))
            raw = bytes(
                sum(int(v) << (8 - bits * (k + 1)) for k, v in enumerate(vals[i : i + per]))
                for i in range(0, len(vals), per)
            )
        up = prev if prev is not None else bytes(len(raw))
        f, enc = y % 5, bytearray(len(raw))
        for i, v in enumerate(raw):
            left, ul = (raw[i - bpp], up[i - bpp]) if i >= bpp else (0, 0)
            pa, pb, pc = abs(up[i] - ul), abs(left - ul), abs(left + up[i] - 2 * ul)
            paeth = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else ul)
            enc[i] = (v - [0, left, up[i], (left + up[i]) // 2, paeth][f]) & 255
        out += bytes([f]) + enc
        prev = raw
    return bytes(out)


def write_png(path: Path, a, colour_type: int, bits: int = 8, palette=None, trns=None, interlace=False) -> Path:
    a = np.asarray(a)
    a = a[..., None] if a.ndim == 2 else a
    h, w, _ = a.shape
    if interlace:
        data = b"".join(_scanlines(a[y0::dy, x0::dx], bits) for x0, y0, dx, dy in ADAM7 if a[y0::dy, x0::dx].size)
    else:
        data = _scanlines(a, bits)
    body = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, colour_type, 0, 0, interlace))
    if palette is not None:
        body += _chunk(b"PLTE", np.asarray(palette, np.uint8).tobytes())
    if trns is not None:
        body += _chunk(b"tRNS", trns)
    path.write_bytes(body + _chunk(b"IDAT", zlib.compress(data)) + _chunk(b"IEND", b""))
    return path


def image_files(folder: Path) -> list[Path]:
    """Files covering what prepare does: alpha (straight, partial) over white, 16-bit samples, palettes with tRNS,
    grey of 1, 2, 4 bits, Adam7, EXIF orientations, shrinking and enlarging, odd sizes; a JPEG and a GIF decoded
    by the browser."""
    rng = np.random.default_rng(7)
    u8 = lambda *s: rng.integers(0, 256, s)  # noqa: E731
    files = [
        write_png(folder / "rgba-64.png", u8(64, 64, 4), 6),
        write_png(folder / "rgba-37x50-adam7.png", u8(37, 50, 4), 6, interlace=True),
        write_png(folder / "rgb16-30x45.png", rng.integers(0, 65536, (30, 45, 3)), 2, 16),
        write_png(folder / "rgba16-20x20.png", rng.integers(0, 65536, (20, 20, 4)), 6, 16),
        write_png(folder / "grey16-40x23.png", rng.integers(0, 65536, (40, 23)), 0, 16),
        write_png(folder / "greyalpha-25x31.png", u8(25, 31, 2), 4),
        write_png(folder / "grey2-9x13.png", rng.integers(0, 4, (9, 13)), 0, 2),
        write_png(folder / "grey1-17x8-adam7.png", rng.integers(0, 2, (17, 8)), 0, 1, interlace=True),
        write_png(folder / "pal4-33x21.png", rng.integers(0, 16, (33, 21)), 3, 4, u8(16, 3), bytes(u8(11).tolist())),
        write_png(folder / "pal8-12x70.png", rng.integers(0, 200, (12, 70)), 3, 8, u8(200, 3)),
        write_png(folder / "rgb-5x7.png", u8(5, 7, 3), 2),
    ]
    smooth = (np.add.outer(np.arange(48), np.arange(40)) * 2.5 % 256).astype(np.uint8)
    photo = Image.fromarray(np.stack([smooth, smooth[::-1], 255 - smooth], -1))
    for orientation in (3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        photo.save(folder / f"exif{orientation}-48x40.png", exif=exif)
        files.append(folder / f"exif{orientation}-48x40.png")
    photo.save(folder / "photo-48x40.jpg", quality=90)
    Image.fromarray(u8(30, 30).astype(np.uint8), "L").convert("P").save(folder / "grey-30.gif")
    return [*files, folder / "photo-48x40.jpg", folder / "grey-30.gif"]


# ---------------------------------------------------------------------------------------------------------
# sites: tiny real colour runs
def _train_emoji(runs: Path, name: str, latent_dim: int, seed: int, data_dir: Path) -> Path:
    args = ["train", "--model", "conv-vae", "--dataset", "emoji-faces", "--image-size", "16x16", "--limit", "200"]
    args += ["--channels", "8,16", "--hidden", "32", "--latent-dim", str(latent_dim), "--likelihood", "gaussian"]
    args += ["--decoder-std", "0.2", "--epochs", "1", "--batch-size", "50", "--seed", str(seed)]
    args += ["--samples-per-epoch", "0", "--data-dir", str(data_dir), "--runs-dir", str(runs), "--name", name]
    assert cli_main([*args, "--no-progress"]) == 0
    return runs / name


@pytest.fixture(scope="module")
def emoji_runs(tmp_path_factory, emoji_data_dir):
    """Two tiny emoji-faces conv VAEs at 16x16 (3-D and 2-D codes), exported."""
    runs = tmp_path_factory.mktemp("emoji-runs")
    paths = [_train_emoji(runs, "faces3d", 3, 0, emoji_data_dir), _train_emoji(runs, "faces2d", 2, 1, emoji_data_dir)]
    for p in paths:
        export_run(p, data_dir=emoji_data_dir)
    return paths


@pytest.fixture(scope="module")
def site_faces(emoji_runs):
    site = Site(build_site(emoji_runs[0], export=False, log=lambda *_: None))
    yield site
    site.close()


@pytest.fixture(scope="module")
def site_faces2(emoji_runs, tmp_path_factory):
    site = Site(build_site(emoji_runs, tmp_path_factory.mktemp("side") / "site", export=False, log=lambda *_: None))
    yield site
    site.close()


@pytest.fixture(scope="module")
def emoji_test(emoji_data_dir):
    return load_dataset("emoji-faces", "test", emoji_data_dir, image_size=(16, 16))


def check_input_against_python(page, site, expected: np.ndarray):
    """The page's input is ``expected`` (C, H, W in [0, 1]); every model's mu, logvar and reconstruction equal
    onnxruntime's on it; the input and reconstructions are drawn in colour as computed."""
    got = pstate(page, "input")
    assert got is not None and np.abs(got - expected.ravel()).max() <= PRE_TOL
    c, h, w = expected.shape
    shown = canvas_pixels(page, "#image-input").reshape(h, w, 4)[..., :3].transpose(2, 0, 1) / 255
    assert np.abs(shown - expected).max() <= 0.5 / 255 + 1e-6
    for i in range(len(site.metas)):
        mu, logvar = site.encode(expected, i)
        assert np.abs(mstate(page, "mu", i) - mu.ravel()).max() <= ORT_TOL
        assert np.abs(mstate(page, "logvar", i) - logvar.ravel()).max() <= ORT_TOL
        recon = mstate(page, "recon", i)
        assert np.abs(recon - site.decode(mu, i)).max() <= ORT_TOL
        drawn = canvas_pixels(page, f"#recon-{i}").reshape(h, w, 4)[..., :3].transpose(2, 0, 1) / 255
        assert np.abs(drawn.ravel() - recon).max() <= 0.5 / 255 + 1e-6


# ---------------------------------------------------------------------------------------------------------
def test_image_files_are_prepared_as_python_prepares_them(open_page, site_faces, tmp_path):
    page = open_page(site_faces)
    settings = [((16, 16), 3, None), ((24, 20), 1, None), ((16, 16), 3, (5, 7)), ((64, 40), 3, (5, 5))]
    checked = set()
    for path in image_files(tmp_path):
        for size, channels, crop in settings:
            with Image.open(path) as im:
                if crop and (crop[0] > im.height or crop[1] > im.width):
                    continue
                ref = prepare(im, size, channels, crop).astype(np.float64) / 255
            pre = {"size": list(size), "channels": channels, "crop": crop and list(crop)}
            got = page.evaluate("([b, p]) => window.vaelab.prepareFile(b, p)", [list(path.read_bytes()), pre])
            pixels = np.asarray(got["pixels"], np.float64).reshape(ref.shape) / 255
            assert np.abs(pixels - ref).max() <= PRE_TOL, (path.name, size, channels, crop, got["mode"])
            checked.add((path.suffix, got["decoder"]))
    assert checked == {(".png", "png.js"), (".jpg", "browser"), (".gif", "browser")}


def test_picking_a_test_image_encodes_it_as_onnxruntime_does(open_page, site_faces, emoji_test):
    page = open_page(site_faces)
    assert page.is_visible("#image-panel") and not page.is_visible("#draw-panel")
    assert page.locator("#picks button").count() == site_faces.metas[0]["pick"]["shape"][0] == 48
    page.click("#picks button[data-k='5']")
    idle(page)
    x = emoji_test.images[5].numpy().astype(np.float64)
    check_input_against_python(page, site_faces, x)
    assert "test image 5" in page.locator("#image-caption").inner_text()
    assert page.get_attribute("#picks button[data-k='5']", "aria-pressed") == "true"
    assert not page.is_disabled("#a-draw") and page.locator("#a-draw").inner_text() == "A ← image"


def test_choosing_and_dropping_a_file_encode_it_as_onnxruntime_does(open_page, site_faces, tmp_path):
    page = open_page(site_faces)
    rng = np.random.default_rng(3)
    chosen = write_png(tmp_path / "chosen.png", rng.integers(0, 256, (64, 64, 4)), 6)
    page.set_input_files("#file", str(chosen))
    idle(page)
    page.wait_for_function("window.vaelab.state.input !== null")
    idle(page)
    with Image.open(chosen) as im:
        check_input_against_python(page, site_faces, prepare(im, (16, 16), 3).astype(np.float64) / 255)
    assert "chosen.png: 64×64 RGBA (decoded by png.js) → 16×16, RGB" in page.locator("#image-what").inner_text()
    dropped = write_png(tmp_path / "dropped.png", rng.integers(0, 65536, (41, 29, 3)), 2, 16, interlace=True)
    page.evaluate(
        """([bytes, name]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(bytes)], name, { type: "image/png" }));
        document.querySelector("#drop").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true }));
        }""",
        [list(dropped.read_bytes()), dropped.name],
    )
    page.wait_for_function("document.querySelector('#image-caption').textContent === 'dropped.png'")
    idle(page)
    with Image.open(dropped) as im:
        check_input_against_python(page, site_faces, prepare(im, (16, 16), 3).astype(np.float64) / 255)
    # a file that is no image: one line in the panel, no page error
    page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    page.wait_for_function("document.querySelector('#image-what').textContent.startsWith('notes.txt: ')")


def test_attribute_sliders_add_the_attribute_vector_to_the_image_code(open_page, site_faces, emoji_test):
    meta = site_faces.metas[0]
    names = [a["name"] for a in meta["attributes"]]
    assert "skin_tone: dark - light" in names and "smiling: yes - no" in names
    k = names.index("skin_tone: dark - light")
    codes = site_faces.codes()
    tone = emoji_test.attributes["skin_tone"].numpy()
    v = np.asarray(meta["attributes"][k]["vector"])
    assert np.abs(v - attribute_vector(codes, tone, 5, 1)).max() <= 1e-6  # dark minus light, of the test codes
    page = open_page(site_faces)
    page.click("#picks button[data-k='2']")
    idle(page)
    mu = mstate(page, "mu")
    page.locator("#attr-box-0 summary").click()
    slider = page.locator(f"#attrs-0 input[data-attr='{k}']")
    slider.fill("1.5")
    idle(page)
    h = hover_of(page, 0)
    assert h["source"] == "attributes"
    assert np.abs(np.asarray(h["z"]) - (mu + 1.5 * v)).max() <= 1e-5
    assert np.abs(np.asarray(h["image"]) - site_faces.decode(h["z"])).max() <= ORT_TOL
    shown = canvas_pixels(page, "#gen-0").reshape(16, 16, 4)[..., :3].transpose(2, 0, 1).ravel() / 255
    assert np.abs(shown - np.asarray(h["image"])).max() <= 0.5 / 255 + 1e-6
    page.click("#picks button[data-k='3']")  # a new image: the sliders go back to 0
    idle(page)
    assert slider.input_value() == "0" and np.allclose(
        page.evaluate("window.vaelab.attributeCode(0)"), mstate(page, "mu")
    )


def test_colour_runs_side_by_side_and_their_background_tiles(open_page, site_faces2, emoji_test):
    page = open_page(site_faces2)
    assert [m["run"] for m in site_faces2.metas] == ["faces3d", "faces2d"]
    page.click("#picks button[data-k='7']")
    idle(page)
    check_input_against_python(page, site_faces2, emoji_test.images[7].numpy().astype(np.float64))
    page.check("#background")
    idle(page)
    for i in range(2):
        m = page.evaluate(
            f"""(() => {{ const m = window.vaelab.state.models[{i}].manifold;
            return {{n: m.n, zs: m.zs, images: m.images.map((a) => Array.from(a))}}; }})()"""
        )
        n = m["n"]
        bg = canvas_pixels(page, f"#bg-{i}").reshape(n, 16, n, 16, 4)[..., :3].transpose(0, 2, 4, 1, 3) / 255
        for r, c in [(0, 0), (n // 2, n // 3), (n - 1, n - 1)]:
            ref = site_faces2.decode(m["zs"][r * n + c], i)
            assert np.abs(np.asarray(m["images"][r * n + c]) - ref).max() <= ORT_TOL
            assert np.abs(bg[r, c].ravel() - ref).max() <= 0.5 / 255 + 1e-6  # drawn in colour as decoded
        assert np.abs(bg[..., 0, :, :] - bg[..., 1, :, :]).max() > 0.01  # colour, not grey
