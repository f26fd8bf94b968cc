"""Latent scatter plots of two runs side by side (``vaelab compare``), with matplotlib's Agg backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaelab.core.io import atomic_path


def save_latent_scatters(codes: list, labels, titles: list[str], path, point_size: float = 2.0) -> Path:
    """One scatter per entry of ``codes`` (each ``(N, D)``; the first two dimensions are drawn), coloured by
    ``labels (N,)`` (digits), side by side with a shared colour bar and N(0, I)'s 1- and 2-sigma circles.

    Args:
        codes: one ``(N, D)`` array of codes per run (D >= 2; dimensions 0 and 1 are drawn).
        labels: ``(N,)`` digits 0..9 colouring the points, or None (no colour bar).
        titles: one title per panel.
        path: the PNG to write (80 dpi; parent folders are made).
        point_size: marker area in points^2.

    Returns:
        ``path`` as a ``Path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(codes), figsize=(4.6 * len(codes), 4.2), squeeze=False)
    labels = None if labels is None else np.asarray(labels)
    sc = None
    for ax, z, title in zip(axes[0], codes, titles, strict=False):  # titles may be longer or shorter
        z = np.asarray(z)
        sc = ax.scatter(
            z[:, 0], z[:, 1], c=labels, cmap="tab10", s=point_size, alpha=0.7, vmin=-0.5, vmax=9.5, linewidths=0
        )
        t = np.linspace(0, 2 * np.pi, 200)
        for r in (1, 2):
            ax.plot(r * np.cos(t), r * np.sin(t), "k--", lw=0.7, alpha=0.6)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
        ax.set_aspect("equal", adjustable="datalim")
    if labels is not None and sc is not None:
        cb = fig.colorbar(sc, ax=axes[0].tolist(), ticks=range(10), shrink=0.85)
        cb.set_label("digit")
    with atomic_path(Path(path)) as tmp:  # never a half-written figure (a stop mid-write)
        fig.savefig(tmp, dpi=80, format=Path(path).suffix[1:].lower() or "png")
    plt.close(fig)
    return path
