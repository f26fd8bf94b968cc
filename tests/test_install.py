"""The explorer works where users get vaelab: from a wheel installed in a fresh virtual environment, and from a fresh
``git clone`` after ``make web`` (the step ``make demo`` ends with). Both start the real ``vaelab explore`` command
in a subprocess and load its page in Chromium: it must become ready, decode under the pointer (compared with
onnxruntime in Python) and log no console error.

Offline by design: the wheel is built with ``python -m build --wheel --no-isolation`` (the build backend installed
here, no download), and installed with ``pip install --no-deps --no-index`` into a virtual environment made with
``python -m venv --without-pip``. pip cannot fetch vaelab's dependencies offline, so the fresh environment sees this
environment's site-packages through one line of a ``.pth`` file. A path listed in a ``.pth`` file is only appended
to ``sys.path``: the ``.pth`` files inside it are not processed, so the editable install's hook that points at the
source tree does not run, and ``import vaelab`` fails in the fresh environment until the wheel is installed (checked).
``PYTHONPATH`` is removed, the commands run outside the repository, ``VAELAB_OFFLINE=1`` and an empty
``VAELAB_CACHE`` make sure the onnxruntime-web files come from the wheel itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import onnxruntime as ort
import pytest

from vaelab.export.assets import VENDOR_FILES
from vaelab.export.onnx import export_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_run(mnist_vae_run, tmp_path_factory):
    """A copy of the shared 2-D run, exported with 1,000 test codes (so `explore` serves it without exporting)."""
    path = tmp_path_factory.mktemp("install") / "vae2d"
    shutil.copytree(mnist_vae_run.path, path, ignore=shutil.ignore_patterns("export", "site", "tensorboard"))
    export_run(path, n_codes=1000)
    return path


def _clean_env(tmp: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    cache = tmp / "empty-cache"
    cache.mkdir(exist_ok=True)
    env.update({"VAELAB_OFFLINE": "1", "VAELAB_CACHE": str(cache), "XDG_CACHE_HOME": str(cache)}, **extra)
    return env


def _explore_and_check(browser, cmd: list[str], cwd: Path, env: dict, run: Path) -> str:
    """Start `vaelab explore` (cmd), load its page, hover the map; return the server's first line of output."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "serving" in line:
                break
        match = re.search(r"at (http://127\.0\.0\.1:\d+/)", "".join(lines))
        assert match, "".join(lines)
        ctx = browser.new_context(viewport={"width": 1300, "height": 1100}, device_scale_factor=1)
        page = ctx.new_page()
        errors, offsite = [], []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))

        def guard(route):
            if route.request.url.startswith("data:") or urlsplit(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                offsite.append(route.request.url)
                route.abort()

        page.route("**/*", guard)
        page.goto(match.group(1))
        page.wait_for_function("window.vaelab && (window.vaelab.ready || window.vaelab.errors.length)", timeout=60000)
        assert page.evaluate("window.vaelab.errors") == []
        codes = np.fromfile(run / "export" / "codes.bin", "<f4").reshape(-1, 2)
        page.locator("#overlay-0").scroll_into_view_if_needed()
        x, y = page.evaluate("(z) => window.vaelab.screenOf(0, z)", codes[10].tolist())
        page.mouse.move(x, y)
        page.wait_for_function("window.vaelab.busy === 0 && window.vaelab.state.models[0].hover")
        hover = page.evaluate(
            "(() => { const h = window.vaelab.state.models[0].hover; return {z: h.z, image: Array.from(h.image)}; })()"
        )
        dec = ort.InferenceSession(str(run / "export" / "decoder.onnx"), providers=["CPUExecutionProvider"])
        ref = dec.run(None, {"z": np.asarray([hover["z"]], np.float32)})[0].ravel()
        assert np.abs(np.asarray(hover["image"]) - ref).max() <= 1e-4  # a decode happened, and it is right
        ctx.close()
        assert errors == [] and offsite == [], (errors, offsite)
        return lines[-1]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        assert proc.returncode == 0 and "vaelab explore: stopped" in out, out  # Ctrl-C stops it: one line, exit 0


def test_wheel_in_a_fresh_virtualenv_serves_a_working_explorer(browser, small_run, tmp_path):
    # build the wheel from a copy of the sources (build/ and *.egg-info stay out of the checkout)
    src = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", src / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    env = _clean_env(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist"), str(src)],
        check=True,
        capture_output=True,
        env=env,
        cwd=tmp_path,
    )
    (whl,) = (tmp_path / "dist").glob("vaelab-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    assert {f"vaelab/web/vendor/{n}" for n in VENDOR_FILES} <= set(names)  # built into the wheel
    assert "vaelab/web/onnxruntime-web.json" in names and "vaelab/web/index.html" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=env)
    py = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout.strip()
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "_test_dependencies.pth").write_text("".join(p + "\n" for p in sorted(deps)))
    before = subprocess.run([str(py), "-c", "import vaelab"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert before.returncode != 0 and "No module named 'vaelab'" in before.stderr  # nothing of the checkout
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "--no-index", str(whl)],
        check=True,
        capture_output=True,
        env=env,
    )
    where = subprocess.run(
        [str(py), "-c", "import vaelab.export.assets as a; print(a.web_dir())"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout.strip()
    assert Path(where).is_relative_to(site_packages), where  # vaelab comes from the wheel
    line = _explore_and_check(
        browser, [str(venv / "bin" / "vaelab"), "explore", str(small_run), "--port", "0"], tmp_path, env, small_run
    )
    assert str(small_run / "site") in line
    served = small_run / "site" / "vendor" / VENDOR_FILES[2]
    assert served.read_bytes() == (Path(where) / "vendor" / VENDOR_FILES[2]).read_bytes()
    assert not any((tmp_path / "empty-cache").iterdir())  # nothing was downloaded


def test_fresh_clone_after_make_web_serves_a_working_explorer(browser, small_run, tmp_path):
    """`make demo`'s last step, `vaelab explore runs/demo`, on a fresh clone: the onnxruntime-web files are not in
    the clone (git-ignored); `make web` (npm ci, as in CI) puts them in the package and the explorer works; before
    it, with downloads off, the same step fails with one line saying what to do."""
    if shutil.which("npm") is None or shutil.which("git") is None or shutil.which("make") is None:
        pytest.fail("npm, git and make are needed (CI has them)")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    assert not (clone / "src" / "vaelab" / "web" / "vendor").exists()
    env = _clean_env(tmp_path, PYTHONPATH=str(clone / "src"))
    fetch = [sys.executable, "-c", "import sys; from vaelab.export.assets import main; sys.exit(main())"]
    offline = subprocess.run(fetch, capture_output=True, text=True, env=env, cwd=tmp_path)
    err = offline.stderr.strip().splitlines()
    assert offline.returncode == 1 and len(err) == 1 and "make web" in err[0] and "VAELAB_OFFLINE" in err[0]
    made = subprocess.run(
        ["make", "-C", str(clone), "web", f"PYTHON={sys.executable}"], capture_output=True, text=True, env=env
    )
    assert made.returncode == 0, made.stdout + made.stderr
    lock = json.loads((clone / "src" / "vaelab" / "web" / "onnxruntime-web.json").read_text())
    assert lock == json.loads((ROOT / "src" / "vaelab" / "web" / "onnxruntime-web.json").read_text())  # unchanged
    ok = subprocess.run(fetch, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert ok.returncode == 0 and str(clone / "src" / "vaelab" / "web" / "vendor") in ok.stdout
    run = tmp_path / "runs" / "demo"
    shutil.copytree(small_run, run, ignore=shutil.ignore_patterns("site"))
    cmd = [sys.executable, "-m", "vaelab", "explore", str(run), "--port", "0"]
    _explore_and_check(browser, cmd, tmp_path, env, run)
    assert (run / "site" / "vendor" / VENDOR_FILES[0]).read_bytes() == (
        clone / "src" / "vaelab" / "web" / "vendor" / VENDOR_FILES[0]
    ).read_bytes()
