"""The manual: the README (short, and every command it shows runs as written on a fresh clone) and the built
MkDocs site (``make docs`` writes it into build/docs before ``make test`` runs the tests).

The site is served from 127.0.0.1 by Python's plain http.server (a static host like any other) and opened in
Debian's headless Chromium: no console error, no request off the site (the site is offline: no web fonts, no CDN),
the explorer embedded in the first page encodes a drawn stroke as onnxruntime does in Python, and the site's search
finds "IWAE".
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import onnxruntime as ort
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from vaelab.cli.main import parse

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "build" / "docs"
README_MAX_LINES = 150
ORT_TOL = 1e-4  # onnxruntime-web vs onnxruntime (Python), as in test_explorer_browser.py


# the README ------------------------------------------------------------------------------------------------------
def _readme_commands() -> list[str]:
    """Every command line of the README's bash blocks (comments and continuation lines joined)."""
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                commands.append(line)
    return commands


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), flags=re.M))


def test_readme_is_short_and_every_command_in_it_runs_on_a_fresh_clone(tmp_path, monkeypatch):
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; at most {README_MAX_LINES}"
    commands = _readme_commands()
    assert {"make demo", "make test"} <= set(commands)
    targets = _make_targets()
    (tmp_path / "runs" / "demo").mkdir(parents=True)  # what `make demo`, the README's first command, leaves
    monkeypatch.chdir(tmp_path)
    for command in commands:
        argv = shlex.split(command)
        if argv[0] == "make":
            assert set(argv[1:]) <= targets, f"README: {command!r} names no target of the Makefile"
        elif argv[0] == ".venv/bin/vaelab":  # the environment `make demo` creates; parsed, not run
            parse(argv[1:])
        else:
            pytest.fail(f"README: {command!r} does not run on a fresh clone (use make, or .venv/bin/vaelab)")


def test_the_performance_page_and_the_readmes_speed_lines_are_generated_from_the_kept_bench_result(tmp_path):
    """docs/guide/performance.md and README.md's block are what benchmarks/render_performance.py writes from
    docs/results/bench-step.json: no typed number, and a re-run of `make bench` replaces both."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("render_performance", ROOT / "benchmarks" / "render_performance.py")
    rp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rp)
    result = json.loads((ROOT / "docs" / "results" / "bench-step.json").read_text())
    page = (ROOT / "docs" / "guide" / "performance.md").read_text()
    assert page == rp.render(result, "docs/results/bench-step.json")
    readme = (ROOT / "README.md").read_text()
    block = readme.split(rp.BEGIN, 1)[1].split(rp.END, 1)[0]
    assert block == f"\n{rp.readme_summary(result)}\n"
    ratio = result["steppers"]["vaelab"]["cpu_ratio_to_bare"]
    assert f"{ratio:.2f}x" in block
    copy = tmp_path / "README.md"  # the writer replaces the block and keeps the rest
    copy.write_text(f"intro\n{rp.BEGIN}\nold\n{rp.END}\nrest\n")
    rp.write_readme(result, copy)
    assert copy.read_text() == f"intro\n{rp.BEGIN}\n{rp.readme_summary(result)}\n{rp.END}\nrest\n"


def test_readme_links_point_at_files_of_the_repository():
    text = (ROOT / "README.md").read_text()
    links = [t for t in re.findall(r"\]\(([^)#]+)[^)]*\)", text) if "://" not in t]
    assert links
    for target in links:
        assert (ROOT / target).is_file(), f"README.md links to {target}, which is no file"


# the built site ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").is_file():
        pytest.fail(f"{SITE}: no built manual; run `make docs` first (make test does)")
    return SITE


def test_every_guide_page_is_in_the_built_sites_navigation(site):
    index = (site / "index.html").read_text()
    pages = sorted((ROOT / "docs" / "guide").glob("*.md"))
    assert pages
    for page in pages:
        html = f"guide/{page.stem}.html"
        assert (site / html).is_file(), f"{page}: not built"
        assert f'href="{html}"' in index, f"{page}: not in the site's navigation"
    assert (site / "reference" / "cli.html").is_file() and (site / "reference" / "api" / "index.html").is_file()


def test_numbers_in_the_manual_are_the_result_files_and_the_notebooks(site):
    """The generated pages hold what the files hold: each measured row's NLL, and the executed tutorial's output."""
    measured = (site / "papers" / "measured.html").read_text()
    for result in sorted((ROOT / "docs" / "results").glob("*/result.json")):
        r = json.loads(result.read_text())
        assert f"{r['nll']:.2f} ± {r['nll_stderr']:.2f}" in measured, result
    nb = json.loads((ROOT / "docs" / "tutorial.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "".join(c["source"]).startswith("result = vae.evaluate("))
    printed = "".join("".join(o.get("text", "")) for o in cell["outputs"]).strip()
    assert printed and printed in (site / "guide" / "python.html").read_text().replace("&plusmn;", "±")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture()
def page(browser, served):
    """A page that records console errors and refuses (and records) any request off 127.0.0.1."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    p = ctx.new_page()
    p.errors, p.offsite = [], []
    p.on("console", lambda m: m.type == "error" and p.errors.append(m.text))
    p.on("pageerror", lambda e: p.errors.append(str(e)))

    def guard(route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            p.offsite.append(url)
            route.abort()

    ctx.route("**/*", guard)
    yield p
    errors, offsite = p.errors, p.offsite
    ctx.close()
    assert errors == [], f"console errors: {errors}"
    assert offsite == [], f"requests off the site: {offsite}"


@pytest.mark.browser
def test_first_page_embeds_a_live_explorer_that_encodes_a_drawn_stroke(page, served, site):
    page.goto(served + "index.html")
    page.wait_for_function(
        "() => { const f = document.querySelector('iframe#explorer'); const v = f && f.contentWindow.vaelab;"
        " return v && (v.ready || v.errors.length); }",
        timeout=60000,
    )
    frame = next(f for f in page.frames if f.url.endswith("explorer/index.html"))
    assert frame.evaluate("window.vaelab.errors") == []
    canvas = frame.locator("#draw")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.2 * box["height"])
    page.mouse.down()
    for fx, fy in [(0.75, 0.2), (0.55, 0.5), (0.45, 0.85)]:  # a 7
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=6)
    page.mouse.up()
    frame.wait_for_function("window.vaelab.busy === 0 && window.vaelab.state.models[0].mu != null", timeout=15000)
    x = np.asarray(frame.evaluate("Array.from(window.vaelab.state.input)"), np.float32)
    mu = np.asarray(frame.evaluate("Array.from(window.vaelab.state.models[0].mu)"), np.float64)
    assert x.shape == (784,) and x.max() > 0.5  # the stroke reached the model's input
    models = site / "explorer" / "models"
    model_dir = models / json.loads((models / "index.json").read_text())["models"][0]["dir"].split("/")[-1]
    encoder = ort.InferenceSession(str(model_dir / "encoder.onnx"), providers=["CPUExecutionProvider"])
    ref = encoder.run(None, {"x": x.reshape(1, 1, 28, 28)})[0].ravel()
    assert mu.shape == ref.shape == (2,) and np.abs(mu - ref).max() <= ORT_TOL


@pytest.mark.browser
def test_search_finds_iwae_offline(page, served):
    page.goto(served + "getting-started.html", wait_until="networkidle")  # the search index fetched
    box = page.locator("input.md-search__input")
    box.click()
    results = page.locator(".md-search-result__item")
    # the query is typed again until results show: a query typed before the search worker has built its index
    # (seconds on a busy machine) gets no answer of its own
    for _ in range(12):
        box.fill("")
        box.type("IWAE")
        try:
            results.first.wait_for(timeout=5000)
            break
        except PlaywrightTimeout:
            continue
    assert results.count() >= 1
    assert "iwae" in results.first.inner_text().lower()
