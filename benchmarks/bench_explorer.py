"""Speed of the in-browser latent explorer, driven with Playwright in Debian's Chromium (/usr/bin/chromium).

Builds two explorer sites, one run alone and three runs side by side (AE, VAE, PCA with 2-D codes), serves each
with ``vaelab.export.serve`` on 127.0.0.1 and measures:

* time to interactive: from navigation start to the page's ready flag (every model's files fetched,
  onnxruntime-web's WebAssembly compiled, every session created and warmed up, the maps drawn),
  ``performance.now()`` in the page, over ``--loads`` fresh browser contexts (empty cache). Targets: <= 1.5 s for one
  run, <= 2.5 s for three runs, from localhost.
* decoder run per pointer move, per model: ``session.run`` of each model's decoder.onnx (batch 1) for each of
  ``--moves`` pointer moves over the first model's map of the three-run page (its 2-D code is decoded by all three
  models at each move), timed in the page. Target: median <= 2 ms per model.
* encoder run per drawing move (the live code and reconstruction while drawing), for information.

``--runs VAE [AE PCA]`` takes existing runs (the first is the one-run page; all of them, 1 to 4, the side-by-side
page); without it the benchmark trains the demo's architecture (hidden 512,256, 2-D) as a VAE and an AE for one
epoch on 5,000 images, and a 2-D PCA, into a temporary folder: the timings depend on the networks' size, not on
their training. ``--screenshot PNG`` saves the one-run page; ``--screenshots DIR`` saves the README pictures of the
side-by-side page with the decoded-images background (``explorer-side-by-side.png``) and of the phone layout
(``explorer-phone.png``), each re-saved with a palette of at most 256 colours (under 200 KB).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from vaelab.export.serve import make_server
from vaelab.export.site import build_site
from vaelab.runs.folder import RunDir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the tests' headless-Chromium launch: one definition)

TTI_TARGET_MS = {1: 1500.0, 3: 2500.0}
DECODE_TARGET_MS = 2.0
SEVEN = [(80, 60), (200, 62), (150, 150), (115, 235)]


def _pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _shrink_png(path: Path, limit: int = 195_000) -> None:
    """Re-save a screenshot with a palette of 256 colours, fewer if needed (README figures stay under 200 KB)."""
    from PIL import Image

    with Image.open(path) as im:
        rgb = im.convert("RGB")
    for colors in (256, 192, 128, 96, 64):
        small = rgb.quantize(colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        small.save(path, optimize=True)
        if path.stat().st_size <= limit:
            break


class Served:
    """A site served on 127.0.0.1 in a thread."""

    def __init__(self, root: Path):
        self.server = make_server(root)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _new_page(browser, url, offsite, width=1400, height=1000, touch=False):
    ctx = browser.new_context(
        viewport={"width": width, "height": height}, device_scale_factor=1, has_touch=touch, is_mobile=touch
    )
    page = ctx.new_page()

    def guard(route):
        if route.request.url.startswith("data:") or urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            offsite.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(
        "window.vaelab && (window.vaelab.ready || window.vaelab.errors.length)", timeout=60000, polling=10
    )
    wall = (time.perf_counter() - t0) * 1000
    errors = page.evaluate("window.vaelab.errors")
    if errors:
        raise SystemExit(f"page error: {errors}")
    return page, wall


def _idle(page):
    page.wait_for_function("window.vaelab.busy === 0", timeout=30000)


def _draw(page, points, steps=12):
    """Draw a stroke given in canvas units (the canvas is 280 x 280; it is shown smaller on phones)."""
    box = page.locator("#draw").bounding_box()
    s = box["width"] / 280
    page.mouse.move(box["x"] + s * points[0][0], box["y"] + s * points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + s * x, box["y"] + s * y, steps=steps)
    page.mouse.up()
    _idle(page)


def _tti(browser, url, loads, offsite):
    tti, walls = [], []
    for _ in range(loads):
        page, wall = _new_page(browser, url, offsite)
        tti.append(page.evaluate("window.vaelab.readyMs"))
        walls.append(wall)
        page.context.close()
    return tti, walls


def _lissajous(page, i, moves):
    page.locator(f"#overlay-{i}").scroll_into_view_if_needed()
    view = page.evaluate(f"window.vaelab.state.models[{i}].view")
    box = page.locator(f"#overlay-{i}").bounding_box()
    x0, y0, side = box["x"] + view["left"], box["y"] + view["top"], view["side"]
    for k in range(moves):
        t = k / max(1, moves - 1)
        page.mouse.move(
            x0 + side * (0.5 + 0.45 * math.sin(2 * math.pi * 3 * t)),
            y0 + side * (0.5 + 0.45 * math.sin(2 * math.pi * 2 * t + 0.5)),
        )
    _idle(page)


def _train_defaults(tmp: Path) -> list[RunDir]:
    import torch

    from vaelab.runs.spec import TrainConfig
    from vaelab.training.lifecycle import train_run

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    runs = []
    for name, family, opts in [
        ("vae", "vae", {"latent_dim": 2, "hidden": (512, 256)}),
        ("ae", "ae", {"latent_dim": 2, "hidden": (512, 256)}),
        ("pca", "pca", {"latent_dim": 2}),
    ]:
        run, _, _ = train_run(
            tmp / name, family, opts, TrainConfig(epochs=1, progress=False), "mnist", None, 1000, 5000
        )
        runs.append(run)
    return runs


def _shots(browser, url1, url3, args, offsite):
    """The README pictures: the one-run page, the side-by-side page and the phone layout."""
    from PIL import Image

    if args.screenshot:
        page, _ = _new_page(browser, url1, offsite)
        _draw(page, SEVEN)
        page.click("#a-draw")
        _point(page, 0, 0.8, 0.25, click=True)
        _point(page, 0, 0.35, 0.6)
        args.screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1280, "height": 700})
        page.screenshot(path=str(args.screenshot), full_page=True)
        _shrink_png(args.screenshot)
        page.context.close()
    if args.screenshots:
        out = args.screenshots
        out.mkdir(parents=True, exist_ok=True)
        page, _ = _new_page(browser, url3, offsite, width=1500, height=1000)
        _draw(page, SEVEN)
        page.fill("#steps", "8")
        page.click("#a-draw")  # interpolation in the first model, from the drawing to a point of its map
        _point(page, 0, 0.8, 0.25, click=True)
        page.check("#background")  # decoded images behind the maps
        _idle(page)
        _point(page, 1, 0.2, 0.2)  # the second model's map: every 2-D model decodes the same z
        path = out / "explorer-side-by-side.png"
        page.screenshot(path=str(path), full_page=True)
        _shrink_png(path)
        page.context.close()
        page, _ = _new_page(browser, url3, offsite, width=390, height=844, touch=True)
        _draw(page, SEVEN)
        left = out / "phone-draw.tmp.png"
        page.screenshot(path=str(left))
        page.click("#tabs button[data-tab='maps']")
        _point(page, 0, 0.3, 0.7)
        right = out / "phone-maps.tmp.png"
        page.screenshot(path=str(right))
        page.context.close()
        with Image.open(left) as a, Image.open(right) as b:
            both = Image.new("RGB", (a.width + b.width + 16, max(a.height, b.height)), "white")
            both.paste(a, (0, 0))
            both.paste(b, (a.width + 16, 0))
            both.save(out / "explorer-phone.png")
        left.unlink()
        right.unlink()
        _shrink_png(out / "explorer-phone.png")


def _point(page, i, fx, fy, click=False):
    page.locator(f"#overlay-{i}").scroll_into_view_if_needed()
    view = page.evaluate(f"window.vaelab.state.models[{i}].view")
    box = page.locator(f"#overlay-{i}").bounding_box()
    x, y = box["x"] + view["left"] + fx * view["side"], box["y"] + view["top"] + fy * view["side"]
    (page.mouse.click if click else page.mouse.move)(x, y)
    _idle(page)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, nargs="+", help="run folders: the first alone, then all side by side")
    ap.add_argument("--loads", type=int, default=5, help="page loads for time to interactive (default 5)")
    ap.add_argument("--moves", type=int, default=200, help="pointer moves over the map (default 200)")
    ap.add_argument("--screenshot", type=Path, help="save a screenshot of the one-run page to this PNG")
    ap.add_argument("--screenshots", type=Path, help="save the side-by-side and phone pictures into this folder")
    ap.add_argument("--out", type=Path, default=Path("bench-results/explorer.json"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs = [RunDir(r).require() for r in args.runs] if args.runs else _train_defaults(tmp)
        quiet = lambda *_: None  # noqa: E731
        site1 = Served(build_site(runs[0], tmp / "site1", log=quiet))
        site3 = Served(build_site(runs, tmp / "site3", log=quiet))
        n = len(runs)
        offsite: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            tti1, walls1 = _tti(browser, site1.url, args.loads, offsite)
            tti3, walls3 = _tti(browser, site3.url, args.loads, offsite)
            page, _ = _new_page(browser, site3.url, offsite, height=1400)
            metas = page.evaluate("window.vaelab.state.models.map((m) => m.meta)")
            if metas[0]["image_shape"] == [1, 28, 28]:
                _draw(page, SEVEN)
            encode_ms = page.evaluate("window.vaelab.stats.encodeMsByModel.map((l) => l.slice(1))")  # [0]: warm-up
            page.evaluate("window.vaelab.stats.decodeMs = []; window.vaelab.stats.decodeMsByModel = []")
            _lissajous(page, 0, args.moves)
            decode_ms = page.evaluate("window.vaelab.stats.decodeMsByModel")
            page.context.close()
            _shots(browser, site1.url, site3.url, args, offsite)
            version = browser.version
            browser.close()
        site1.close()
        site3.close()
    if offsite:
        raise SystemExit(f"requests to addresses other than 127.0.0.1: {offsite}")

    def model_name(m):
        return f"{m['run']} ({m['model']}, {m['latent_dim']}-D, hidden {m.get('model_config', {}).get('hidden')})"

    def of(lists, i):
        return (lists[i] or []) if i < len(lists) else []

    per_model = []
    for i, m in enumerate(metas):
        d, e = of(decode_ms, i), of(encode_ms, i)
        per_model.append(
            {
                "model": model_name(m),
                "decoder_ms_per_pointer_move": {
                    "median": statistics.median(d) if d else None,
                    "p90": _pct(d, 0.9) if d else None,
                    "n": len(d),
                },
                "encoder_ms_per_drawing_move": {"median": statistics.median(e) if e else None, "n": len(e)},
            }
        )
    result = {
        "models": [model_name(m) for m in metas],
        "time_to_interactive_ms": {
            "one_run": {"median": statistics.median(tti1), "max": max(tti1), "all": tti1, "target": TTI_TARGET_MS[1]},
            f"{n}_runs": {
                "median": statistics.median(tti3),
                "max": max(tti3),
                "all": tti3,
                "target": TTI_TARGET_MS.get(n, TTI_TARGET_MS[3]),
            },
        },
        "goto_to_ready_wall_ms": {"one_run": statistics.median(walls1), f"{n}_runs": statistics.median(walls3)},
        "per_model": per_model,
        "decoder_target_median_ms": DECODE_TARGET_MS,
        "moves": args.moves,
        "browser": f"chromium {version} headless",
        "onnxruntime_web": "wasm, 1 thread",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    ok1 = statistics.median(tti1) <= TTI_TARGET_MS[1]
    ok3 = statistics.median(tti3) <= TTI_TARGET_MS.get(n, TTI_TARGET_MS[3])
    print(f"\nexplorer, chromium {version} headless, onnxruntime-web wasm 1 thread, {os.cpu_count()} CPU cores:")
    print(
        f"  time to interactive, one run ({model_name(metas[0])}), {args.loads} cold loads: median "
        f"{statistics.median(tti1):.0f} ms, max {max(tti1):.0f} ms (target <= {TTI_TARGET_MS[1]:.0f} ms: "
        f"{'met' if ok1 else 'NOT met'})"
    )
    print(
        f"  time to interactive, {n} runs side by side, {args.loads} cold loads: median {statistics.median(tti3):.0f}"
        f" ms, max {max(tti3):.0f} ms (target <= {TTI_TARGET_MS.get(n, TTI_TARGET_MS[3]):.0f} ms: "
        f"{'met' if ok3 else 'NOT met'})"
    )
    for pm in per_model:
        d = pm["decoder_ms_per_pointer_move"]
        if d["n"]:
            met = "met" if d["median"] <= DECODE_TARGET_MS else "NOT met"
            print(
                f"  decoder run per pointer move, {pm['model']}: median {d['median']:.2f} ms, p90 {d['p90']:.2f} ms "
                f"over {d['n']} runs ({args.moves} moves; target median <= {DECODE_TARGET_MS:.0f} ms: {met})"
            )
        e = pm["encoder_ms_per_drawing_move"]
        if e["n"]:
            print(f"  encoder run per drawing move, {pm['model']}: median {e['median']:.2f} ms ({e['n']} runs)")
    print(f"  -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
