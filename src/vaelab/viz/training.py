"""Pictures of training: loss curves from ``metrics.jsonl`` and the samples decoded at each epoch's end.

The curves show, per epoch, the training average (over the epoch's mini-batches, as the model trained) and the
validation value (end of epoch) of: the total loss, the reconstruction term, the KL term, and any other term the
model logs (e.g. a classifier's cross-entropy), each in nats per image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaelab.viz.manifold import tile
from vaelab.viz.style import TRAIN_COLOR, VAL_COLOR, new_figure, save_figure, styled

TERM_TITLES = {
    "loss": "total loss",
    "recon_nll": "reconstruction (-log p(x|z))",
    "kl": "KL(q(z|x) || p(z))",
    "class_ce": "classifier cross-entropy",
}
SKIPPED_TERMS = ("elbo",)  # -(recon + KL): the loss itself at beta = 1, shown by "loss"


def curve_terms(metrics: list[dict]) -> list[str]:
    """Terms with a curve: loss, recon_nll, kl first, then any other ``train_*`` / ``val_*`` term (not elbo).

    Args:
        metrics: the epoch records of ``metrics.jsonl``.

    Returns:
        Term names without the ``train_`` / ``val_`` prefix, e.g. ``["loss", "recon_nll", "kl"]``.
    """
    found = []
    for rec in metrics:
        for key, value in rec.items():
            if key.startswith(("train_", "val_")) and isinstance(value, (int, float)):
                term = key.split("_", 1)[1]
                if term not in found and term not in SKIPPED_TERMS:
                    found.append(term)
    first = [t for t in ("loss", "recon_nll", "kl") if t in found]
    return first + [t for t in found if t not in first]


def plot_curves(metrics: list[dict], path: str | Path, title: str = "", dpi: int = 150) -> dict:
    """``curves_figure`` written as a PNG.

    Args:
        metrics, title: as for ``curves_figure``.
        path: the PNG to write. dpi: PNG resolution (at least 100 is written).

    Returns:
        ``{"path", "data"}`` (``data`` as from ``curves_figure``).

    Raises:
        ValueError: no epoch records.
    """
    res = curves_figure(metrics, title)
    return {"path": save_figure(res["figure"], path, dpi), "data": res["data"]}


def curves_figure(metrics: list[dict], title: str = "") -> dict:
    """One panel per term, train and validation against epoch.

    Args:
        metrics: the epoch records of ``metrics.jsonl`` (``epoch``, ``train_<term>``, ``val_<term>`` in nats
            per image).
        title: the figure's title (none if empty).

    Returns:
        ``{"figure", "data"}``: a ``vaelab.viz.style.Figure`` and ``data[term][split] = (epochs, values)`` read
        back from the drawn lines.

    Raises:
        ValueError: no epoch records.
    """
    from matplotlib.ticker import MaxNLocator

    if not metrics:
        raise ValueError("no epoch records in metrics.jsonl: train the run first")
    terms = curve_terms(metrics)
    data: dict[str, dict[str, tuple[list, list]]] = {}
    with styled():
        ncol = len(terms)
        fig = new_figure((max(4.2 * ncol, 8), 4.2))
        axes = fig.subplots(1, ncol, squeeze=False)
        for ax, term in zip(axes[0], terms, strict=True):  # one panel per term
            data[term] = {}
            for split, color, style in (("train", TRAIN_COLOR, "-"), ("val", VAL_COLOR, "--")):
                pts = [(r["epoch"], r[f"{split}_{term}"]) for r in metrics if f"{split}_{term}" in r]
                if not pts:
                    continue
                (line,) = ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    style,
                    color=color,
                    marker="o",
                    ms=3,
                    lw=2,
                    label="train" if split == "train" else "validation",
                )
                data[term][split] = (list(line.get_xdata()), list(line.get_ydata()))
            ax.set_title(TERM_TITLES.get(term, term))
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel("nats per image")
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        if title:
            fig.suptitle(title, y=1.04)
    return {"figure": fig, "data": data}


def epoch_rows(n_epochs: int, max_rows: int = 20) -> list[int]:
    """Which epochs (0-based rows) to show: all if <= ``max_rows``, else evenly spaced, first and last kept.

    Args:
        n_epochs: epochs saved. max_rows: most rows wanted.

    Returns:
        Increasing 0-based epoch indices.
    """
    if n_epochs <= max_rows:
        return list(range(n_epochs))
    return sorted(set(np.linspace(0, n_epochs - 1, max_rows).round().astype(int).tolist()))


def plot_samples_per_epoch(
    samples: np.ndarray,
    path: str | Path,
    conditional: bool = False,
    rows: list[int] | None = None,
    title: str = "",
    dpi: int = 150,
) -> dict:
    """``samples_per_epoch_figure`` written as a PNG.

    Args:
        samples, conditional, rows, title: as for ``samples_per_epoch_figure``.
        path: the PNG to write. dpi: PNG resolution (at least 100 is written).

    Returns:
        ``{"path", "rows", "canvas"}`` (see ``samples_per_epoch_figure``).

    Raises:
        ValueError: ``samples`` is not 5-D.
    """
    res = samples_per_epoch_figure(samples, conditional, rows, title)
    return {"path": save_figure(res["figure"], path, dpi), "rows": res["rows"], "canvas": res["canvas"]}


def samples_per_epoch_figure(
    samples: np.ndarray, conditional: bool = False, rows: list[int] | None = None, title: str = ""
) -> dict:
    """Rows are epochs, columns the fixed samples (digits 0..9 for a class-conditional model, where sample i
    is digit i % 10, else fixed prior draws). ``samples`` is ``epoch_samples.npy``: uint8 ``(E, n, C, H, W)``.

    Args:
        samples: uint8 ``(E, n, C, H, W)``, one row of ``n`` samples per epoch.
        conditional: label the columns with the digit asked for (i % 10) instead of the sample number.
        rows: 0-based epochs to show (default ``epoch_rows(E)``).
        title: the figure's title.

    Returns:
        ``{"figure", "rows" (0-based epochs shown), "canvas"}``; canvas row block r is epoch ``rows[r] + 1``;
        ``canvas`` is float32 ``(len(rows) * H, n * W)`` (a trailing 3 for RGB) in [0, 1], the image of
        ``figure.axes[0]``.

    Raises:
        ValueError: ``samples`` is not 5-D.
    """
    samples = np.asarray(samples)
    if samples.ndim != 5:
        raise ValueError(f"epoch samples of shape {samples.shape}: expected (epochs, n, C, H, W)")
    rows = epoch_rows(len(samples)) if rows is None else list(rows)
    shown = samples[rows].astype(np.float32) / 255.0
    canvas = tile(shown)
    e, n, c, h, w = shown.shape
    with styled():
        fig = new_figure((max(6.0, 0.5 * n + 1.5), max(3.0, 0.5 * e + 1.2)))
        ax = fig.subplots()
        ax.imshow(canvas, cmap="gray" if canvas.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks((np.arange(e) + 0.5) * h, [str(r + 1) for r in rows])
        ax.set_ylabel("epoch")
        ax.set_xticks((np.arange(n) + 0.5) * w, [str(i % 10) if conditional else str(i + 1) for i in range(n)])
        ax.set_xlabel("digit asked for" if conditional else "fixed prior sample")
        for s in ax.spines.values():
            s.set_visible(False)
        ax.set_title(title or "Samples at the end of each epoch (same noise every epoch)")
    return {"figure": fig, "rows": rows, "canvas": canvas}
