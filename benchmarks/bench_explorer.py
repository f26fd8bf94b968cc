"""Speed of the in-browser latent explorer, driven with Playwright in Debian's Chromium (/usr/bin/chromium).

Builds the explorer site of a run, serves it with ``vaelab.export.serve`` on 127.0.0.1 and measures:

* time to interactive: from navigation start to the page's ready flag (models fetched, onnxruntime-web's
  WebAssembly compiled, both sessions created and warmed up, map drawn), ``performance.now()`` in the page,
  over ``--loads`` fresh browser contexts (empty cache). Target: <= 1.5 s from localhost.
* decoder run per pointer move: ``session.run`` of decoder.onnx (batch 1) for each of ``--moves`` pointer moves
  over the map, timed in the page. Target: median <= 2 ms for the MLP decoder.
* encoder + decoder per drawing move (the live code and reconstruction while drawing), for information.

Without ``--run`` it trains the demo's architecture (2-D VAE, hidden 512,256) for 1 epoch on 5,000 images into a
temporary folder: the timings depend on the networks' size, not on their training. ``--screenshot PNG`` saves a
picture of the page with a drawn digit, the pointer on the map and an interpolation strip.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from vaelab.export.serve import make_server
from vaelab.export.site import build_site
from vaelab.train.rundir import RunDir

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TTI_TARGET_MS = 1500.0
DECODE_TARGET_MS = 2.0
SEVEN = [(80, 60), (200, 62), (150, 150), (115, 235)]


def _pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _shrink_png(path: Path) -> None:
    """Re-save a screenshot with a 256-colour palette (README figures stay under 200 KB)."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def _new_page(browser, url, offsite):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
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


def _draw(page, points):
    box = page.locator("#draw").bounding_box()
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=12)
    page.mouse.up()
    page.wait_for_function("window.vaelab.busy === 0")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="run directory (default: train a small demo-sized VAE)")
    ap.add_argument("--loads", type=int, default=5, help="page loads for time to interactive (default 5)")
    ap.add_argument("--moves", type=int, default=200, help="pointer moves over the map (default 200)")
    ap.add_argument("--screenshot", type=Path, help="save a screenshot of the page to this PNG")
    ap.add_argument("--out", type=Path, default=Path("bench-results/explorer.json"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        if args.run:
            run = RunDir(args.run).require()
            site_dir = build_site(run, Path(tmp) / "site")
        else:
            import torch

            from vaelab.train import TrainConfig, train

            torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
            run, _, _ = train(
                Path(tmp) / "vae2d",
                "vae",
                {"latent_dim": 2, "hidden": (512, 256)},
                TrainConfig(epochs=1, progress=False),
                "mnist",
                None,
                val_size=1000,
                limit=5000,
            )
            site_dir = build_site(run)
        server = make_server(site_dir)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        offsite: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            tti, walls = [], []
            for _ in range(args.loads):
                page, wall = _new_page(browser, url, offsite)
                tti.append(page.evaluate("window.vaelab.readyMs"))
                walls.append(wall)
                page.context.close()
            page, _ = _new_page(browser, url, offsite)
            meta = page.evaluate("window.vaelab.state.meta")
            _draw(page, SEVEN)
            encode_ms = page.evaluate("window.vaelab.stats.encodeMs.slice(1)")  # [0] is the warm-up run
            ov = page.locator("#overlay").bounding_box()
            page.evaluate("window.vaelab.stats.decodeMs = []")
            for i in range(args.moves):  # a Lissajous path over the map
                t = i / max(1, args.moves - 1)
                x = ov["x"] + ov["width"] * (0.5 + 0.42 * math.sin(2 * math.pi * 3 * t))
                y = ov["y"] + ov["height"] * (0.5 + 0.42 * math.sin(2 * math.pi * 2 * t + 0.5))
                page.mouse.move(x, y)
            page.wait_for_function("window.vaelab.busy === 0")
            decode_ms = page.evaluate("window.vaelab.stats.decodeMs")
            if args.screenshot:
                page.click("#a-draw")
                page.mouse.click(ov["x"] + ov["width"] * 0.8, ov["y"] + ov["height"] * 0.25)
                page.mouse.move(ov["x"] + ov["width"] * 0.35, ov["y"] + ov["height"] * 0.6)
                page.wait_for_function("window.vaelab.busy === 0")
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.set_viewport_size({"width": 1280, "height": 700})
                page.screenshot(path=str(args.screenshot), full_page=True)
                _shrink_png(args.screenshot)
            version = browser.version
            browser.close()
        server.shutdown()
    if offsite:
        raise SystemExit(f"requests to addresses other than 127.0.0.1: {offsite}")
    hidden = meta.get("model_config", {}).get("hidden")
    result = {
        "model": meta["model"],
        "latent_dim": meta["latent_dim"],
        "hidden": hidden,
        "time_to_interactive_ms": {
            "median": statistics.median(tti),
            "max": max(tti),
            "all": tti,
            "target": TTI_TARGET_MS,
        },
        "goto_to_ready_wall_ms": {"median": statistics.median(walls), "max": max(walls)},
        "decoder_ms_per_pointer_move": {
            "median": statistics.median(decode_ms),
            "p90": _pct(decode_ms, 0.9),
            "n": len(decode_ms),
            "moves": args.moves,
            "target_median": DECODE_TARGET_MS,
        },
        "encode_ms_per_drawing_move": {
            "median": statistics.median(encode_ms) if encode_ms else None,
            "n": len(encode_ms),
        },
        "browser": f"chromium {version} headless",
        "onnxruntime_web": "wasm, 1 thread",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    tti_ok = statistics.median(tti) <= TTI_TARGET_MS
    dec_ok = statistics.median(decode_ms) <= DECODE_TARGET_MS
    print(
        f"\nexplorer, {meta['model']} latent dim {meta['latent_dim']} hidden {hidden}, chromium {version} headless, "
        f"onnxruntime-web wasm 1 thread, {os.cpu_count()} CPU cores:"
    )
    print(
        f"  time to interactive (navigation start -> ready), {args.loads} cold loads: median "
        f"{statistics.median(tti):.0f} ms, max {max(tti):.0f} ms (target <= {TTI_TARGET_MS:.0f} ms: "
        f"{'met' if tti_ok else 'NOT met'})"
    )
    print(
        f"  decoder run per pointer move, {len(decode_ms)} runs over {args.moves} moves: median "
        f"{statistics.median(decode_ms):.2f} ms, p90 {_pct(decode_ms, 0.9):.2f} ms (target median <= "
        f"{DECODE_TARGET_MS:.0f} ms: {'met' if dec_ok else 'NOT met'})"
    )
    if encode_ms:
        print(f"  encoder run per drawing move: median {statistics.median(encode_ms):.2f} ms ({len(encode_ms)} runs)")
    print(f"  -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
