"""Build the static explorer site of a run: the page (``vaelab/web``), onnxruntime-web's wasm backend
(``vaelab/web/vendor``, copied in by ``make web`` from the npm package pinned in ``web/package-lock.json``) and
the run's export (``RUN/export``: ONNX models, codes, labels, meta).

    OUT/index.html  style.css  main.js  (and the page's other ES modules, web/*.js, which main.js imports)
    OUT/vendor/     ort.wasm.min.mjs  ort-wasm-simd-threaded.mjs  ort-wasm-simd-threaded.wasm
    OUT/model/      encoder.onnx  decoder.onnx  codes.bin  labels.bin  meta.json

The folder is self-contained (no CDN, no network): serve it with ``vaelab explore`` or any static host.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from vaelab.export.onnx import ExportError, export_is_current, export_run
from vaelab.train.rundir import RunDir

PAGE_FILES = ("index.html", "style.css", "main.js")  # and every other web/*.js (the page's ES modules)
VENDOR_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MODEL_FILES = ("encoder.onnx", "decoder.onnx", "codes.bin", "labels.bin", "meta.json")


def web_dir() -> Path:
    """The package's ``web`` folder (page sources and ``vendor/``)."""
    return Path(str(resources.files("vaelab") / "web"))


def check_assets() -> list[Path]:
    """The page and onnxruntime-web files the site needs.

    Raises:
        ExportError: a file is missing; for the onnxruntime-web files the message says to run ``make web``.
    """
    web = web_dir()
    files = []
    for name in [*PAGE_FILES, *sorted(p.name for p in web.glob("*.js") if p.name not in PAGE_FILES)]:
        if not (web / name).is_file():
            raise ExportError(f"{web / name}: page file missing from the vaelab package; reinstall vaelab")
        files.append(web / name)
    for name in VENDOR_FILES:
        if not (web / "vendor" / name).is_file():
            raise ExportError(
                f"{web / 'vendor' / name}: onnxruntime-web file missing; run `make web` (installs "
                "the onnxruntime-web npm package pinned in web/package-lock.json and copies it in)"
            )
        files.append(web / "vendor" / name)
    return files


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)


def build_site(run: RunDir | str | Path, out: str | Path | None = None, export: bool | None = None, log=print) -> Path:
    """Write the static explorer site of ``run`` into ``out`` (default ``RUN/site/``).

    Args:
        export: True re-exports the run; None (default) exports only if ``RUN/export`` is missing or older
            than the checkpoints; False never exports (a missing export is then an error).
        log: called with progress lines (``print`` by default).

    Returns:
        the site folder.

    Raises:
        ExportError: onnxruntime-web files missing (run ``make web``), or no export with ``export=False``.
        CheckpointError: not a run directory.
    """
    run = (run if isinstance(run, RunDir) else RunDir(run)).require()
    out = Path(out) if out is not None else run.site
    assets = check_assets()
    if export or (export is None and not export_is_current(run)):
        log(f"exporting {run.path} -> {run.export}/")
        meta = export_run(run)
        log(
            f"  onnxruntime check: max |diff| encoder {meta['onnx_check']['encoder_max_abs_diff']:.2e}, "
            f"decoder {meta['onnx_check']['decoder_max_abs_diff']:.2e}"
        )
    elif not export_is_current(run):
        raise ExportError(f"{run.export}: no current export of the run; run `vaelab export {run.path}`")
    if out.resolve() in (run.path.resolve(), run.export.resolve()) or run.path.resolve().is_relative_to(out.resolve()):
        raise ExportError(f"{out}: the site folder must not be the run folder, its export/ or a parent of them")
    out.mkdir(parents=True, exist_ok=True)
    web = web_dir()
    for src in assets:
        _copy(src, out / src.relative_to(web))
    for name in MODEL_FILES:
        src = run.export / name
        if src.is_file():
            _copy(src, out / "model" / name)
        else:
            (out / "model" / name).unlink(missing_ok=True)
    return out
