"""``vaelab report RUN``: one self-contained HTML page about a run, readable offline.

The page holds the run's configuration (``config.json``), its numbers (``eval.json``: importance-weighted NLL
with K, ELBO, reconstruction, KL, active units; ``metrics.jsonl``: every epoch's train and validation terms) and
every figure that applies to its model (``RunFigures.applicable_kinds``), each embedded as a base64 ``data:``
URI. It loads nothing from anywhere: no scripts, fonts, style sheets or images outside the file.
"""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path

import numpy as np

from vaelab.core.io import atomic_write_text

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
}
MIME = {".png": "image/png", ".gif": "image/gif"}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } .sub { color: #555; margin-top: 0; }
h2 { border-bottom: 2px solid #0173B2; padding-bottom: 0.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.92rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f2f5f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; } figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; height: auto;
border: 1px solid #ddd; } figcaption { color: #444; font-size: 0.92rem; margin-top: 0.3rem; }
.big { font-size: 1.3rem; font-weight: 600; } code { background: #f4f4f4; padding: 0 0.2rem; }
nav a { margin-right: 0.8rem; }
"""


def data_uri(path: str | Path) -> str:
    """``data:<mime>;base64,...`` of a PNG or GIF file."""
    path = Path(path)
    mime = MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _fmt(v) -> str:
    if isinstance(v, bool) or v is None:
        return html.escape(str(v))
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e-2 or abs(v) >= 1e5 else f"{v:.2f}" if abs(v) >= 10 else f"{v:.4f}"
    if isinstance(v, (list, tuple)):
        return html.escape(", ".join(str(x) for x in v))
    if isinstance(v, dict):
        return html.escape(json.dumps(v))
    return html.escape(str(v))


def _kv_table(d: dict) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>" for k, v in d.items())
    return f"<table>{rows}</table>"


def _eval_section(ev: dict | None, latent_dim: int) -> str:
    if not ev:
        return (
            "<p>No <code>eval.json</code>: run <code>vaelab evaluate RUN</code> for the test-set NLL, ELBO, KL "
            "and active units.</p>"
        )
    parts = []
    if "nll" in ev:
        parts.append(
            f'<p class="big">NLL = {ev["nll"]:.2f} ± {ev.get("nll_stderr", float("nan")):.2f} nats '
            f"per image (importance-weighted, K = {ev.get('k')}, {ev.get('n_images')} {ev.get('split')} images)</p>"
        )
    rows = []
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
            rows.append(f"<tr><th>{html.escape(text)}</th><td class='num'>{val}</td><td>nats per image</td></tr>")
    if "active_units" in ev:
        rows.append(
            f"<tr><th>active units (Cov_x E_q[z_u] &gt; {ev.get('active_unit_threshold', 0.01)})</th>"
            f"<td class='num'>{ev['active_units']} / {ev.get('latent_dim', latent_dim)}</td><td></td></tr>"
        )
    for key in ("k", "split", "n_images", "binarization", "likelihood", "checkpoint", "seed", "seconds"):
        if key in ev:
            rows.append(f"<tr><th>{key}</th><td colspan='2'>{_fmt(ev[key])}</td></tr>")
    known = {k for k, _ in labels} | {
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
    }
    for key, value in ev.items():  # numbers other models add (e.g. classifier accuracy)
        if key not in known:
            rows.append(f"<tr><th>{html.escape(key)}</th><td colspan='2'>{_fmt(value)}</td></tr>")
    parts.append(f"<table>{''.join(rows)}</table>")
    return "".join(parts)


def _training_section(metrics: list[dict], cfg: dict) -> str:
    if not metrics:
        return "<p>No epoch records in <code>metrics.jsonl</code>.</p>"
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
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td class='num'>{_fmt(r.get(c, ''))}</td>" for c in cols) + "</tr>" for r in metrics
    )
    return (
        _kv_table(summary) + "<p>Per epoch (nats per image; <code>train_*</code> averaged over the epoch's "
        "mini-batches, <code>val_*</code> at its end):</p>"
        f"<div class='scroll'><table><tr>{head}</tr>{body}</table></div>"
    )


def _existing(figs, kind: str) -> list[Path] | None:
    f = figs.run.figures
    if kind == "latent":
        cands = [f / "latent.png"] if figs.latent_dim <= 2 else [f / "latent-tsne.png"]
    elif kind == "interpolate":
        cands = [f / "interpolate-0-7.gif", f / "interpolate-0-7.png"]
    else:
        cands = [f / f"{kind}.png"]
    return cands if all(p.is_file() for p in cands) else None


def render_for_report(figs, kind: str, latent_n: int | None = None) -> list[Path]:
    """Render ``kind`` with the report's settings; returns the files written."""
    if kind == "latent":
        return figs.latent(n=latent_n)["files"]
    if kind == "manifold":
        if figs.labels is not None and {0, 7} <= set(np.unique(figs.labels).tolist()):
            return figs.manifold(path_from=0, path_to=7)["files"]
        return figs.manifold(path_from_index=0, path_to_index=1)["files"]
    if kind == "interpolate":
        if figs.labels is not None and {0, 7} <= set(np.unique(figs.labels).tolist()):
            return figs.interpolate(0, 7)["files"]
        return figs.interpolate(from_index=0, to_index=1)["files"]
    return figs.render(kind)["files"]


def write_report(figs, out: str | Path | None = None, reuse: bool = False, latent_n: int | None = None) -> Path:
    """Render the applicable figures (or reuse those in RUN/figures/ with ``reuse``) and write the page.

    Args:
        figs: ``vaelab.viz.render.RunFigures`` of the run.
        out: HTML path (default ``RUN/report.html``).

    Returns:
        The path written. The page embeds every figure file of every applicable kind (``data:`` URIs).
    """
    from tqdm.auto import tqdm

    run, cfg = figs.run, figs.config
    metrics, ev = run.read_metrics(), run.read_eval()
    kinds = figs.applicable_kinds()
    figures: list[tuple[str, list[Path]]] = []
    for kind in tqdm(kinds, desc="figures", disable=not figs.progress, leave=False):
        files = _existing(figs, kind) if reuse else None
        figures.append((kind, files or render_for_report(figs, kind, latent_n)))
    out = Path(out) if out else run.path / "report.html"

    ds = cfg["dataset"]
    title = f"vaelab run {cfg.get('name') or run.path.name}"
    h = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><link rel='icon' href='data:,'><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='sub'>model <b>{html.escape(cfg['model'])}</b>, "
        f"{figs.latent_dim}-D latent, trained on {html.escape(ds['name'])} ({ds.get('n_train')} training / "
        f"{ds.get('n_val')} validation images); created {html.escape(str(cfg.get('created', '')))}; "
        f"report written {time.strftime('%Y-%m-%d %H:%M')}, checkpoint <code>{html.escape(figs.checkpoint)}"
        "</code>.</p>",
        "<nav><a href='#numbers'>Numbers</a><a href='#training'>Training</a><a href='#figures'>Figures</a>"
        "<a href='#config'>Configuration</a></nav>",
        "<h2 id='numbers'>Test-set numbers (eval.json)</h2>",
        _eval_section(ev, figs.latent_dim),
        "<h2 id='training'>Training (metrics.jsonl)</h2>",
        _training_section(metrics, cfg),
        "<h2 id='figures'>Figures</h2>",
    ]
    for kind, files in figures:
        h.append(f"<h3 id='fig-{kind}'>{html.escape(TITLES.get(kind, kind))}</h3>")
        for path in files:
            h.append(
                f"<figure data-kind='{kind}' data-file='{html.escape(path.name)}'>"
                f"<img alt='{html.escape(kind)}: {html.escape(path.name)}' src='{data_uri(path)}'>"
                f"<figcaption>{html.escape(CAPTIONS.get(kind, ''))} <code>figures/{html.escape(path.name)}"
                "</code></figcaption></figure>"
            )
    projector = run.tensorboard / "projector" / "projector_config.pbtxt"
    h.append(
        "<p>TensorBoard: <code>tensorboard --logdir " + html.escape(str(run.tensorboard)) + "</code> shows the "
        "scalars"
        + (
            " and the embedding projector of the test codes."
            if projector.is_file()
            else "; <code>vaelab plot RUN projector</code> adds the embedding projector."
        )
        + "</p>"
    )
    h.append("<h2 id='config'>Configuration (config.json)</h2>")
    h.append(f"<h3>model: {html.escape(cfg['model'])}</h3>" + _kv_table(cfg.get("model_config", {})))
    h.append("<h3>training</h3>" + _kv_table(cfg.get("train", {})))
    h.append("<h3>data</h3>" + _kv_table(ds))
    h.append("<h3>environment</h3>" + _kv_table(cfg.get("environment", {})))
    h.append("</body></html>\n")
    atomic_write_text(out, "\n".join(h))
    out.chmod(0o644)  # a page to share, not a secret
    return out
