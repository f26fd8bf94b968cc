"""``vaelab report RUN``: one self-contained HTML page about a run, readable offline.

The page holds the run's configuration (``config.json``), its numbers (``eval.json``: importance-weighted NLL
with K, ELBO, reconstruction, KL, active units; ``metrics.jsonl``: every epoch's train and validation terms) and
every figure that applies to its model (``RunFigures.applicable_kinds``), each embedded as a base64 ``data:``
URI. It loads nothing from anywhere: no scripts, fonts, style sheets or images outside the file.

The page is the Jinja2 template ``vaelab/viz/templates/report.html.j2`` (package data), rendered with
autoescaping on, so run names, paths and configuration values are HTML-escaped; this module only gathers and
formats the values.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from pathlib import Path

import numpy as np

from vaelab.core.io import atomic_write_text
from vaelab.core.paths import check_output_file

CAPTIONS = {
    "curves": "Training curves from metrics.jsonl: per-epoch training averages (solid) and end-of-epoch "
    "validation values (dashed), nats per image.",
    "samples-per-epoch": "Images decoded from the same prior noise at the end of every epoch "
    "(epoch_samples.npy); rows are epochs.",
    "samples": "Images decoded from 64 draws of the prior N(0, I) (seed 0).",
    "reconstructions": "First 32 test images (odd rows) above their reconstructions decode(mu(x)) (even rows).",
    "latent": "Test codes (posterior means) coloured by class; each class's label sits at the median of its points.",
    "manifold": "Decoded images over an even 20 x 20 grid of codes on [-2, 2]^2 (up is +z2), with the "
    "interpolation path of the animation below in red.",
    "interpolate": "Linear interpolation in latent space between representative test images (code nearest to "
    "the class's mean code): z(t) = (1 - t) z_from + t z_to.",
    "all-pairs": "Interpolation strips between the representative test images of every pair of classes: "
    "row = start, column = end.",
    "nll-vs-k": "Importance-weighted test NLL against the number of samples K (the first K of one pass's samples, "
    "± one standard error over images), with the -ELBO for reference.",
}
TITLES = {
    "curves": "Training curves",
    "samples-per-epoch": "Samples per epoch",
    "samples": "Prior samples",
    "reconstructions": "Reconstructions",
    "latent": "Latent space",
    "manifold": "Manifold",
    "interpolate": "Interpolation",
    "all-pairs": "All pairs",
    "nll-vs-k": "NLL vs K",
}
MIME = {".png": "image/png", ".gif": "image/gif"}

TEMPLATE = "report.html.j2"  # in vaelab/viz/templates/, shipped as package data


def data_uri(path: str | Path) -> str:
    """The contents of an image file as a ``data:`` URI, so that the page needs no other file.

    Args:
        path: a ``.png`` or ``.gif`` file (any other suffix is typed ``application/octet-stream``).

    Returns:
        ``data:<mime>;base64,<the file's bytes in base64>``.

    Raises:
        OSError: the file cannot be read.
    """
    path = Path(path)
    mime = MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _sample_rows(s: dict | None) -> list[dict]:
    """The report's rows of ``vaelab evaluate --samples`` (eval.json's ``samples``): each score beside its floor
    (training images against the test images)."""
    if not s:
        return []
    ref, n = s["reference"], f"{s['n_samples']} samples vs {s['n_test']} test images"
    return [
        {
            "name": f"{s['name']} ({n}; floor: {ref['what']})",
            "value": f"{s['frechet_distance']:.3f} (floor {ref['frechet_distance']:.3f})",
            "unit": "",
        },
        {
            "name": f"precision / recall, k = {s['k']} (Kynkäänniemi et al. 2019)",
            "value": f"{s['precision']:.3f} / {s['recall']:.3f} (floor {ref['precision']:.3f} / {ref['recall']:.3f})",
            "unit": "",
        },
    ]


def _fmt(v) -> str:
    """A value as table text (not yet HTML-escaped: the template escapes it)."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e-2 or abs(v) >= 1e5 else f"{v:.2f}" if abs(v) >= 10 else f"{v:.4f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v)
    return str(v)


def _kv_rows(d: dict) -> list[tuple[str, str]]:
    return [(str(k), _fmt(v)) for k, v in d.items()]


# eval.json keys the report shows in its own rows (or needs no row); any other becomes a row of its own
SHOWN_EVAL_KEYS = {
    "nll_stderr",
    "elbo_stderr",
    "active_units",
    "active_unit_threshold",
    "latent_dim",
    "k",
    "split",
    "n_images",
    "binarization",
    "likelihood",
    "checkpoint",
    "seed",
    "seconds",
    "units",
    "dataset",
    "bits_per_dim",
    "bits_per_dim_stderr",
    "bits_per_dim_offset",
    "bits_per_dim_note",
    "samples",
}


def _eval_context(ev: dict | None, latent_dim: int) -> dict | None:
    """The test-set numbers of ``eval.json`` for the template: the NLL line and the table rows."""
    if not ev:
        return None
    nll = None
    if "nll" in ev:
        nll = {
            "value": f"{ev['nll']:.2f}",
            "stderr": f"{ev.get('nll_stderr', float('nan')):.2f}",
            "k": ev.get("k"),
            "n_images": ev.get("n_images"),
            "split": ev.get("split"),
        }
    rows = []  # unit None: the value spans the unit column
    labels = [
        ("nll", "negative log-likelihood -log p(x), importance-weighted (Burda et al. 2015)"),
        ("elbo", "ELBO (K-sample average)"),
        ("recon_nll", "reconstruction -E_q[log p(x|z)]"),
        ("kl", "KL(q(z|x) || p(z))"),
    ]
    for key, text in labels:
        if key in ev:
            se = ev.get(f"{key}_stderr")
            val = f"{ev[key]:.2f}" + (f" ± {se:.2f}" if isinstance(se, float) else "")
            rows.append({"name": text, "value": val, "unit": "nats per image"})
    if "bits_per_dim" in ev:
        val = f"{ev['bits_per_dim']:.4f} ± {ev.get('bits_per_dim_stderr', float('nan')):.4f}"
        rows.append(
            {"name": f"NLL in bits per dimension: {ev.get('bits_per_dim_note', '')}", "value": val, "unit": "bits/dim"}
        )
    rows += _sample_rows(ev.get("samples"))
    if "active_units" in ev:
        rows.append(
            {
                "name": f"active units (Cov_x E_q[z_u] > {ev.get('active_unit_threshold', 0.01)})",
                "value": f"{ev['active_units']} / {ev.get('latent_dim', latent_dim)}",
                "unit": "",
            }
        )
    for key in ("k", "split", "n_images", "binarization", "likelihood", "checkpoint", "seed", "seconds"):
        if key in ev:
            rows.append({"name": key, "value": _fmt(ev[key]), "unit": None})
    known = {k for k, _ in labels} | SHOWN_EVAL_KEYS
    for key, value in ev.items():  # numbers other models add (e.g. classifier accuracy)
        if key not in known:
            rows.append({"name": key, "value": _fmt(value), "unit": None})
    return {"nll": nll, "rows": rows}


def _training_context(metrics: list[dict], cfg: dict) -> dict | None:
    """The training summary and the per-epoch table of ``metrics.jsonl`` for the template."""
    if not metrics:
        return None
    best = [r for r in metrics if r.get("best")]
    best = best[-1] if best else metrics[-1]
    total = sum(float(r.get("time_s", 0)) for r in metrics)
    ips = np.mean([r["images_per_s"] for r in metrics if "images_per_s" in r]) if metrics else float("nan")
    summary = {
        "epochs trained": f"{metrics[-1]['epoch']} of {cfg['train'].get('epochs')}",
        "best epoch (validation score)": best["epoch"],
        "training time": f"{total:.1f} s ({ips:,.0f} images/s on average)",
        "device / threads": f"{cfg['train'].get('device')} / {cfg.get('environment', {}).get('threads')}",
    }
    for key in sorted(k for k in best if k.startswith("val_")):
        summary[f"{key} at best epoch"] = f"{best[key]:.2f}"
    cols = (
        ["epoch"]
        + sorted(
            {k for r in metrics for k in r if k.startswith(("train_", "val_"))},
            key=lambda k: (not k.startswith("train_"), k),
        )
        + ["time_s"]
    )
    return {
        "summary": _kv_rows(summary),
        "columns": cols,
        "rows": [[_fmt(r.get(c, "")) for c in cols] for r in metrics],
    }


@functools.cache
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("vaelab.viz", "templates"),
        autoescape=True,  # every value from the run is HTML-escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_page(context: dict) -> str:
    """Render ``templates/report.html.j2`` (Jinja2, autoescaping on) with ``context``.

    Args:
        context: the page's values, as built by ``write_report`` (title, model, the eval / training / figure /
            configuration sections). Strings are inserted HTML-escaped.

    Returns:
        The HTML page.

    Raises:
        jinja2.TemplateNotFound: the template is missing from the installed package (reinstall vaelab).
        jinja2.UndefinedError: ``context`` lacks a value the template uses.
    """
    return _environment().get_template(TEMPLATE).render(context)


def _existing(figs, kind: str) -> list[Path] | None:
    """The files of ``kind`` already in ``RUN/figures/`` under the report's default names, or None if any is missing."""
    f = figs.run.figures
    if kind == "latent":
        cands = [f / "latent.png"] if figs.latent_dim <= 2 else [f / "latent-tsne.png"]
    elif kind == "interpolate":
        cands = [f / "interpolate-0-7.gif", f / "interpolate-0-7.png"]
    else:
        cands = [f / f"{kind}.png"]
    return cands if all(p.is_file() for p in cands) else None


def render_for_report(figs, kind: str, latent_n: int | None = None) -> list[Path]:
    """Render one figure kind with the report's settings.

    The manifold and the interpolation go from the representative 0 to the representative 7 when the test split
    has both classes, else from test image 0 to test image 1; every other kind uses its method's defaults.

    Args:
        figs: ``vaelab.viz.render.RunFigures`` of the run.
        kind: one of ``vaelab.viz.render.KINDS``.
        latent_n: codes in the latent scatter (default: all for a 2-D latent, 5,000 for an embedding).

    Returns:
        The files written (in ``RUN/figures/``).

    Raises:
        ConfigError: ``kind`` is unknown or does not apply to the run.
        CheckpointError, DatasetError: the model or the test split cannot be loaded.
    """
    if kind == "latent":
        return figs.latent(n=latent_n)["files"]
    if kind == "manifold":
        if figs.labels is not None and {0, 7} <= set(np.unique(figs.labels).tolist()):
            return figs.manifold(from_digit=0, to_digit=7)["files"]
        return figs.manifold(from_index=0, to_index=1)["files"]
    if kind == "interpolate":
        if figs.labels is not None and {0, 7} <= set(np.unique(figs.labels).tolist()):
            return figs.interpolate(from_digit=0, to_digit=7)["files"]
        return figs.interpolate(from_index=0, to_index=1)["files"]
    return figs.render(kind)["files"]


def _page_context(figs, figures: list[tuple[str, list[Path]]], metrics: list[dict], ev: dict | None) -> dict:
    """What the page template shows: the run, its numbers and training, each figure's files as ``data:`` URIs,
    and its configuration."""
    run, cfg = figs.run, figs.config
    ds = cfg["dataset"]
    projector = run.tensorboard / "projector" / "projector_config.pbtxt"
    context = {
        "title": f"vaelab run {cfg.get('name') or run.path.name}",
        "model": cfg["model"],
        "latent_dim": figs.latent_dim,
        "dataset": ds["name"],
        "n_train": ds.get("n_train"),
        "n_val": ds.get("n_val"),
        "created": str(cfg.get("created", "")),
        "written": time.strftime("%Y-%m-%d %H:%M"),
        "checkpoint": figs.checkpoint,
        "evaluation": _eval_context(ev, figs.latent_dim),
        "training": _training_context(metrics, cfg),
        "figures": [
            {
                "kind": kind,
                "title": TITLES.get(kind, kind),
                "caption": CAPTIONS.get(kind, ""),
                "files": [{"name": path.name, "uri": data_uri(path)} for path in files],
            }
            for kind, files in figures
        ],
        "tensorboard": str(run.tensorboard),
        "projector": projector.is_file(),
        "config": {
            "model": _kv_rows(cfg.get("model_config", {})),
            "train": _kv_rows(cfg.get("train", {})),
            "data": _kv_rows(ds),
            "environment": _kv_rows(cfg.get("environment", {})),
        },
    }
    return context


def write_report(figs, out: str | Path | None = None, reuse: bool = False, latent_n: int | None = None) -> Path:
    """Render the applicable figures (or reuse those in RUN/figures/ with ``reuse``) and write the page.

    Args:
        figs: ``vaelab.viz.render.RunFigures`` of the run.
        out: HTML path (default ``RUN/report.html``); written atomically, mode 0644.
        reuse: take a kind's files from ``RUN/figures/`` when they are all there (rendered otherwise).
        latent_n: codes in the latent scatter (see ``render_for_report``).

    Returns:
        The path written. The page embeds every figure file of every applicable kind (``data:`` URIs).

    Raises:
        CheckpointError: not a run directory / unreadable checkpoint. DatasetError: the test split is missing.
        ConfigError: a figure cannot be drawn with the run's data (e.g. too few codes), or ``out`` cannot be written
            (a folder, not ``.html``, a file where a folder should be: refused before any figure is drawn).
    """
    from tqdm.auto import tqdm

    run = figs.run
    out = check_output_file(out, (".html", ".htm")) if out else run.path / "report.html"
    metrics, ev = run.read_metrics(), run.read_eval()
    kinds = figs.applicable_kinds()
    figures: list[tuple[str, list[Path]]] = []
    for kind in tqdm(kinds, desc="figures", disable=not figs.progress, leave=False):
        files = _existing(figs, kind) if reuse else None
        figures.append((kind, files or render_for_report(figs, kind, latent_n)))
    context = _page_context(figs, figures, metrics, ev)
    atomic_write_text(out, render_page(context))
    out.chmod(0o644)  # a page to share, not a secret
    return out
