"""The latent scatter: test codes coloured by class, each class's centre labelled (the seeds' 2-D MNIST picture).

Codes are the encoder's means ``mu(x)`` (the code itself for deterministic models). Codes above 2-D are first
mapped to 2-D by ``vaelab.viz.embedding.reduce_2d`` (t-SNE, UMAP or PCA), named in the title.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.patheffects as pe
import numpy as np
import torch

from vaelab.viz.style import class_colors, new_figure, save_figure, styled


@torch.no_grad()
def encode_codes(model, images: torch.Tensor, batch_size: int = 1000, progress: bool = False) -> np.ndarray:
    """Encoder means of ``images`` ``(N, C, H, W)`` in [0, 1]: float32 array ``(N, D)``.

    Works for any model with ``encode(x) -> (mu, logvar|None)``.

    Args:
        model: the model (its ``device`` is used; ``latent_dim`` gives D when there are no images).
        images: ``(N, C, H, W)`` tensor in [0, 1].
        batch_size: images per ``encode`` call.
        progress: tqdm bar.

    Returns:
        float32 ``(N, D)`` codes ``mu(x)`` on the CPU (``(0, D)`` for no images).
    """
    from tqdm.auto import tqdm

    device = model.device
    out = []
    for i in tqdm(range(0, len(images), batch_size), desc="encoding", disable=not progress, leave=False):
        mu, _ = model.encode(images[i : i + batch_size].to(device))
        out.append(mu.detach().float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, model.latent_dim), np.float32)


def class_centres(coords: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """Centre of each class: the coordinate-wise median of its points (the median, not the mean, so that a class
    split over two t-SNE islands still gets its label on the larger one).

    Args:
        coords: ``(N, 2)`` points.
        labels: ``(N,)`` integer classes.

    Returns:
        ``{label: (2,) median}`` for every label present.
    """
    labels = np.asarray(labels)
    return {int(c): np.median(coords[labels == c], axis=0) for c in np.unique(labels)}


def latent_figure(
    coords: np.ndarray,
    labels: np.ndarray | None,
    title: str,
    axis_labels: tuple[str, str] = ("$z_1$", "$z_2$"),
    point_size: float = 4.0,
    class_names: list[str] | None = None,
) -> dict:
    """Scatter 2-D points coloured by class with each class's centre labelled: the figure, not yet written.

    Args:
        coords: ``(N, 2)`` codes (or their 2-D embedding); ``(N, 1)`` codes are plotted against the class.
        labels: ``(N,)`` integer classes, or None (one colour, no centres).
        title / axis_labels: text of the figure (the method goes in the title).
        point_size: marker area in points^2.
        class_names: names of classes ``0..K-1`` for the legend (e.g. an image folder's sub-folders); default the
            class numbers. The centres are labelled with the numbers.

    Returns:
        ``{"figure", "coords", "centres"}``: a ``vaelab.viz.style.Figure``; ``coords`` ``(N, 2)`` as drawn (1-D
        codes with their jittered class as y); ``centres`` as from ``class_centres`` (empty without labels).
        Without labels the points are the offsets of ``figure.axes[0].collections[0]``; with labels,
        collection ``i`` holds the points of the i-th class present, in increasing class order.

    Raises:
        ValueError: ``coords`` is not ``(N, 2)`` or ``(N, 1)``.
    """
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] not in (1, 2):
        raise ValueError(f"coords of shape {coords.shape}: expected (N, 2) or (N, 1)")
    if coords.shape[1] == 1:  # 1-D codes: z against the class (jittered), so classes do not overlap
        rng = np.random.default_rng(0)
        y = np.asarray(labels, dtype=np.float64) if labels is not None else np.zeros(len(coords))
        coords = np.stack([coords[:, 0], y + rng.uniform(-0.3, 0.3, len(coords))], 1)
        axis_labels = (axis_labels[0], "class (jittered)")
    centres: dict[int, np.ndarray] = {}
    with styled():
        fig = new_figure((8, 7))
        ax = fig.subplots()
        if labels is None:
            ax.scatter(coords[:, 0], coords[:, 1], s=point_size, c="#0173B2", alpha=0.6, linewidths=0, rasterized=True)
        else:
            centres = _scatter_classes(ax, coords, np.asarray(labels), point_size, class_names)
        ax.set_xlabel(axis_labels[0])
        ax.set_ylabel(axis_labels[1])
        ax.set_title(title)
    return {"figure": fig, "coords": coords, "centres": centres}


def _scatter_classes(ax, coords: np.ndarray, labels: np.ndarray, point_size: float, class_names) -> dict:
    """One scatter collection per class present (increasing class order), each centre labelled with its class
    number, a legend for up to 10 classes; returns the centres (``class_centres``)."""
    classes = np.unique(labels)
    colors = class_colors(int(classes.max()) + 1 if len(classes) else 1)
    for c in classes:
        m = labels == c
        name = class_names[int(c)] if class_names is not None and int(c) < len(class_names) else str(int(c))
        ax.scatter(
            coords[m, 0],
            coords[m, 1],
            s=point_size,
            color=colors[int(c)],
            alpha=0.6,
            linewidths=0,
            label=name,
            rasterized=True,
        )
    centres = class_centres(coords, labels)
    halo = [pe.withStroke(linewidth=4, foreground="white")]
    for c, xy in centres.items():
        ax.text(*xy, str(c), fontsize=18, fontweight="bold", ha="center", va="center", color="black", path_effects=halo)
    if len(classes) <= 10:
        title = "digit" if len(classes) == 10 and class_names is None else "class"
        leg = ax.legend(title=title, markerscale=4, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        for h in leg.legend_handles:
            h.set_alpha(1)
    return centres


def plot_latent(
    coords: np.ndarray,
    labels: np.ndarray | None,
    path: str | Path,
    title: str,
    axis_labels: tuple[str, str] = ("$z_1$", "$z_2$"),
    dpi: int = 150,
    point_size: float = 4.0,
) -> dict:
    """``latent_figure`` written as a PNG.

    Args:
        coords, labels, title, axis_labels, point_size: as for ``latent_figure``.
        path: PNG path. dpi: PNG resolution (at least 100 is written).

    Returns:
        ``{"path", "coords", "centres"}`` (see ``latent_figure``).

    Raises:
        ValueError: ``coords`` is not ``(N, 2)`` or ``(N, 1)``.
    """
    res = latent_figure(coords, labels, title, axis_labels, point_size)
    out = save_figure(res["figure"], path, dpi)
    return {"path": out, "coords": res["coords"], "centres": res["centres"]}
