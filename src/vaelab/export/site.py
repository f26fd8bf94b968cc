"""Build the static explorer site of one run, or of up to four runs side by side: the page (``vaelab/web``),
onnxruntime-web's wasm backend (``vaelab.export.assets``: from the package, the cache or the npm registry) and each
run's export (``RUN/export``: ONNX models, codes, labels, meta, training time-lapse).

    OUT/index.html  style.css  main.js  (and the page's other ES modules, web/*.js, which main.js imports)
    OUT/vendor/     ort.wasm.min.mjs  ort-wasm-simd-threaded.mjs  ort-wasm-simd-threaded.wasm
    OUT/models/index.json   {"format": 1, "models": [{"dir": "models/0", "run": NAME}, ...]}
    OUT/models/0/   encoder.onnx  decoder.onnx  codes.bin  labels.bin  meta.json  pick.bin
                    [epoch_codes.bin  epoch_labels.bin]
    OUT/models/1/   ... (one folder per run, in the order given)

The folder is self-contained (no CDN, no network): serve it with ``vaelab explore`` or any static host. It names
an image-folder dataset by the folder's name, never its path (``vaelab.data.public_dataset_name``; also in the
``meta.json`` of an export made before vaelab did so in the export itself).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from vaelab.core.errors import ConfigError
from vaelab.core.io import atomic_write_text
from vaelab.core.paths import check_output_folder
from vaelab.data import public_dataset_name
from vaelab.export.assets import VENDOR_FILES, vendor_files, web_dir
from vaelab.export.onnx import ExportError, export_is_current, export_run
from vaelab.runs.files import RunFiles
from vaelab.runs.open import open_run

PAGE_FILES = ("index.html", "style.css", "main.js")  # and every other web/*.js (the page's ES modules)
MODEL_FILES = (
    "encoder.onnx",
    "decoder.onnx",
    "codes.bin",
    "labels.bin",
    "meta.json",
    "epoch_codes.bin",
    "epoch_labels.bin",
    "pick.bin",
)
MAX_RUNS = 4

__all__ = ["MAX_RUNS", "MODEL_FILES", "PAGE_FILES", "VENDOR_FILES", "build_site", "check_assets", "write_site"]


def check_assets(log=None) -> list[tuple[Path, str]]:
    """The page and onnxruntime-web files the site needs, each with its path in the site.

    Args:
        log: called with progress lines if onnxruntime-web has to be downloaded (None: quiet).

    Returns:
        ``[(source file, relative path in the site), ...]``.

    Raises:
        ExportError: a page file is missing (reinstall vaelab), or onnxruntime-web's files are corrupt, missing
            with downloads off, or cannot be fetched (see ``vaelab.export.assets.vendor_files``).
    """
    web = web_dir()
    files = []
    for name in [*PAGE_FILES, *sorted(p.name for p in web.glob("*.js") if p.name not in PAGE_FILES)]:
        if not (web / name).is_file():
            raise ExportError(f"{web / name}: page file missing from the vaelab package; reinstall vaelab")
        files.append((web / name, name))
    for path in vendor_files(log=log):
        files.append((path, f"vendor/{path.name}"))
    return files


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)


def write_site(exports: Sequence[str | Path], out: str | Path, names: Sequence[str] | None = None, log=None) -> Path:
    """Write the site of already exported models: the page, onnxruntime-web and each export folder.

    Args:
        exports: export folders (each holding ``encoder.onnx``, ``decoder.onnx``, ``codes.bin``, ``meta.json``
            and optionally ``labels.bin``, ``epoch_codes.bin``, ``epoch_labels.bin``), 1 to ``MAX_RUNS``.
        out: the site folder (created; files of earlier sites with more models are removed).
        names: a name per export for ``models/index.json`` (default: each export's ``meta.json`` run).
        log: called with progress lines (onnxruntime-web download).

    Returns:
        ``out``.

    Raises:
        ExportError: an export lacks a file, or the assets are missing (``check_assets``).
    """
    out = Path(out)
    exports = [Path(e) for e in exports]
    assets = check_assets(log)
    for exp in exports:
        for name in ("encoder.onnx", "decoder.onnx", "codes.bin", "meta.json"):
            if not (exp / name).is_file():
                raise ExportError(f"{exp / name}: missing; export the run again (`vaelab export RUN`)")
    out.mkdir(parents=True, exist_ok=True)
    for src, rel in assets:
        _copy(src, out / rel)
    entries = []
    for i, exp in enumerate(exports):
        dst = out / "models" / str(i)
        for name in MODEL_FILES:
            if (exp / name).is_file():
                _copy(exp / name, dst / name)
            else:
                (dst / name).unlink(missing_ok=True)
        meta = json.loads((exp / "meta.json").read_text())
        if meta.get("dataset") != public_dataset_name(meta.get("dataset")):  # an export of an older vaelab
            meta["dataset"] = public_dataset_name(meta["dataset"])  # published: a folder's name, not its path
            atomic_write_text(dst / "meta.json", json.dumps(meta, indent=1) + "\n")
        run_name = names[i] if names else meta.get("run")
        entries.append({"dir": f"models/{i}", "run": run_name})
    for stale in (out / "models").glob("*"):  # models of an earlier site with more runs
        if stale.is_dir() and stale.name.isdigit() and int(stale.name) >= len(exports):
            for name in MODEL_FILES:
                (stale / name).unlink(missing_ok=True)
            if not any(stale.iterdir()):
                stale.rmdir()
    atomic_write_text(out / "models" / "index.json", json.dumps({"format": 1, "models": entries}, indent=1) + "\n")
    return out


def _image_shape(run: RunFiles) -> tuple | None:
    shape = run.load_config().get("model_config", {}).get("image_shape")
    return tuple(shape) if shape else None


def check_runs(runs: Sequence[RunFiles]) -> None:
    """Refuse a set of runs the page cannot show side by side.

    Raises:
        ConfigError: no run, more than ``MAX_RUNS``, a run given twice, or runs of different image shapes.
    """
    if not runs:
        raise ConfigError("no run given: name 1 to 4 run folders")
    if len(runs) > MAX_RUNS:
        raise ConfigError(f"{len(runs)} runs given: the explorer shows at most {MAX_RUNS} side by side")
    seen = {}
    for r in runs:
        key = r.path.resolve()
        if key in seen:
            raise ConfigError(f"{r.path}: run given twice")
        seen[key] = r
    shapes = {r.path: _image_shape(r) for r in runs}
    known = {s for s in shapes.values() if s}
    if len(known) > 1:
        listed = ", ".join(f"{p} {'x'.join(map(str, s))}" for p, s in shapes.items() if s)
        raise ConfigError(
            f"runs of different image shapes cannot share one page ({listed}); compare runs of one dataset"
        )


def _check_site_folder(out: Path) -> Path:
    """``out`` may be new, empty, or an earlier site (its ``index.html`` and ``models/index.json``), which is
    rewritten; a folder holding anything else is refused before anything is written into it."""
    check_output_folder(out, "out", flag="OUT")
    if out.is_dir() and not ((out / "index.html").is_file() and (out / "models" / "index.json").is_file()):
        held = sorted(p.name for p in out.iterdir())
        if held:
            shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
            raise ConfigError(
                f"{out}: holds files that are not a vaelab site ({shown}); name a new or empty folder, or an "
                "earlier site to rewrite"
            )
    return out


def build_site(
    runs: RunFiles | str | Path | Sequence[RunFiles | str | Path],
    out: str | Path | None = None,
    export: bool | None = None,
    log=print,
) -> Path:
    """Write the static explorer site of one run, or of up to four runs side by side, into ``out``.

    Args:
        runs: a run directory, or a list of 1 to ``MAX_RUNS`` of them (of one image shape).
        out: the site folder (default ``RUN/site/`` for one run; required for several).
        export: True re-exports the runs; None (default) exports a run only if ``RUN/export`` is missing or older
            than its checkpoints; False never exports (a missing export is then an error).
        log: called with progress lines (``print`` by default).

    Returns:
        the site folder.

    Raises:
        ConfigError: more than ``MAX_RUNS`` runs, a run given twice, runs of different image shapes, several
            runs without ``out``, or an ``out`` that is a file, lies below a file, or holds files but no site.
        ExportError: onnxruntime-web files missing or corrupt, no export with ``export=False``, or ``out`` inside
            a run's folder.
        CheckpointError: not a run directory.
    """
    if isinstance(runs, (str, Path, RunFiles)):
        runs = [runs]
    runs = [open_run(r) for r in runs]
    check_runs(runs)
    if out is None:
        if len(runs) > 1:
            raise ConfigError("several runs: name the site folder OUT")
        runs[0].check_writable("vaelab site (it writes site/; name another OUT)")
        out = runs[0].site
    out = _check_site_folder(Path(out))
    for run in runs:
        if out.resolve() in (run.path.resolve(), run.export.resolve()) or run.path.resolve().is_relative_to(
            out.resolve()
        ):
            raise ExportError(f"{out}: the site folder must not be a run folder, its export/ or a parent of them")
    check_assets(log)  # before the (slow) exports: a missing onnxruntime-web is reported at once
    metas = []
    for run in runs:
        if export or (export is None and not export_is_current(run)):
            log(f"exporting {run.path} -> {run.export}/")
            meta = export_run(run)
            log(
                f"  onnxruntime check: max |diff| encoder {meta['onnx_check']['encoder_max_abs_diff']:.2e}, "
                f"decoder {meta['onnx_check']['decoder_max_abs_diff']:.2e}"
            )
        elif not export_is_current(run):
            raise ExportError(f"{run.export}: no current export of the run; run `vaelab export {run.path}`")
        metas.append(json.loads((run.export / "meta.json").read_text()))
    shapes = {tuple(m["image_shape"]) for m in metas}
    if len(shapes) > 1:
        listed = ", ".join(f"{r.path} {'x'.join(map(str, m['image_shape']))}" for r, m in zip(runs, metas, strict=True))
        raise ConfigError(
            f"runs of different image shapes cannot share one page ({listed}); compare runs of one dataset"
        )
    return write_site([r.export for r in runs], out, [r.path.name for r in runs], log)
