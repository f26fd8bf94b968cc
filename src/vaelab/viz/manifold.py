"""The learned manifold: decoded images over a grid of codes (Kingma & Welling 2014, Fig. 4; the Keras VAE seed).

A ``n x n`` grid over two latent dimensions (the other dimensions held at 0, the prior mean), either evenly
spaced on ``[lo, hi]`` or, with ``spacing="ppf"``, through the inverse normal CDF: values
``Phi^-1(p)`` for ``p`` evenly spaced on ``[Phi(lo), Phi(hi)]``, so each tile covers the same prior mass (the
paper's picture uses ``p`` on [0.05, 0.95]). Row 0 of the picture is the largest ``z_2`` (up is up).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.patheffects as pe
import numpy as np
import torch

from vaelab.core.errors import ConfigError
from vaelab.core.memory import check_fits_in_memory
from vaelab.core.naming import option
from vaelab.viz.style import PATH_COLOR, Figure, new_figure, save_figure, styled


def grid_values(n: int, lo: float = -2.0, hi: float = 2.0, spacing: str = "linear") -> np.ndarray:
    """``n`` increasing values on ``[lo, hi]``: evenly spaced (``linear``) or equal prior mass (``ppf``).

    Args:
        n: number of values (grid size along one axis).
        lo, hi: the first and last value, latent units.
        spacing: ``linear``, or ``ppf``: ``Phi^-1(p)`` for p evenly spaced on ``[Phi(lo), Phi(hi)]`` (Kingma &
            Welling 2014, Fig. 4).

    Returns:
        float64 ``(n,)`` values, ``lo`` first and ``hi`` last.

    Raises:
        ConfigError: n < 2, lo >= hi, or an unknown spacing.
    """
    from scipy.stats import norm

    if int(n) < 2:
        raise ConfigError(f"{option('size', n)}: expected a grid of at least 2 x 2")
    if not lo < hi:
        raise ConfigError(f"{option('range', (lo, hi), flag_value=f'{lo} {hi}')}: expected lo < hi")
    if spacing == "linear":
        return np.linspace(lo, hi, int(n))
    if spacing == "ppf":
        return norm.ppf(np.linspace(norm.cdf(lo), norm.cdf(hi), int(n)))
    raise ConfigError(f"{option('spacing', spacing)}: expected 'linear' or 'ppf'")


def manifold_codes(
    latent_dim: int,
    n: int = 20,
    lo: float = -2.0,
    hi: float = 2.0,
    spacing: str = "linear",
    dims: tuple[int, int] = (0, 1),
) -> np.ndarray:
    """Codes of the grid: float32 ``(n, n, D)``; ``codes[i, j]`` has ``z[dims[0]] = v[j]`` (columns, left to
    right) and ``z[dims[1]] = v[n - 1 - i]`` (rows, top to bottom), every other coordinate 0.

    Args:
        latent_dim: D. n, lo, hi, spacing: the grid values, as for ``grid_values``.
        dims: the two latent dimensions that vary (x, y).

    Raises:
        ConfigError: latent_dim < 2 or bad ``dims``.
    """
    if latent_dim < 2:
        raise ConfigError(f"the manifold needs a latent space of >= 2 dimensions (this model has {latent_dim})")
    a, b = (int(d) for d in dims)
    if a == b or not (0 <= a < latent_dim and 0 <= b < latent_dim):
        raise ConfigError(
            f"{option('dims', (a, b), flag_value=f'{a},{b}')}: expected two different dimensions in 0..{latent_dim - 1}"
        )
    v = grid_values(n, lo, hi, spacing)
    codes = np.zeros((n, n, latent_dim), np.float32)
    codes[:, :, a] = v[None, :]
    codes[:, :, b] = v[::-1][:, None]
    return codes


@torch.no_grad()
def decode_codes(model, codes: np.ndarray, batch_size: int = 500, progress: bool = False) -> np.ndarray:
    """``decode`` of ``(..., D)`` codes in batches: float32 ``(..., C, H, W)`` in [0, 1].

    Args:
        model: a model with ``decode`` and ``device``.
        codes: array ``(..., D)`` (any leading shape).
        batch_size: codes per ``decode`` call. progress: tqdm bar.

    Returns:
        float32 ``(..., C, H, W)`` decoded pixel means on the CPU, the leading shape of ``codes``.
    """
    from tqdm.auto import tqdm

    flat = np.asarray(codes, np.float32).reshape(-1, codes.shape[-1])
    device = model.device
    out = []
    for i in tqdm(range(0, len(flat), batch_size), desc="decoding", disable=not progress, leave=False):
        out.append(model.decode(torch.from_numpy(flat[i : i + batch_size]).to(device)).float().cpu())
    imgs = torch.cat(out).numpy()
    return imgs.reshape(*codes.shape[:-1], *imgs.shape[1:])


def tile(images: np.ndarray) -> np.ndarray:
    """``(R, K, C, H, W)`` -> ``(R * H, K * W)`` (C = 1) or ``(R * H, K * W, 3)`` without padding, so tile
    ``[i, j]`` is ``canvas[i*H:(i+1)*H, j*W:(j+1)*W]``.

    Args:
        images: ``(R, K, C, H, W)`` array, C = 1 or 3.

    Returns:
        The canvas, same dtype as ``images``.
    """
    r, k, c, h, w = images.shape
    canvas = images.transpose(0, 3, 1, 4, 2).reshape(r * h, k * w, c)
    return canvas[..., 0] if c == 1 else canvas


def render_manifold(
    model,
    n: int = 20,
    lo: float = -2.0,
    hi: float = 2.0,
    spacing: str = "linear",
    dims: tuple[int, int] = (0, 1),
    progress: bool = False,
) -> dict:
    """Decode the grid of ``manifold_codes`` (Kingma & Welling 2014, Fig. 4).

    Args:
        model: a model with ``decode``, ``device`` and ``latent_dim``.
        n, lo, hi, spacing, dims: the grid, as for ``manifold_codes``.
        progress: tqdm bar.

    Returns:
        ``{"codes" (n, n, D), "values" (n,), "images" (n, n, C, H, W), "canvas", "dims", "spacing"}`` where
        ``canvas`` is ``tile(images)``: float32 ``(n * H, n * W)`` in [0, 1].

    Raises:
        ConfigError: a bad grid (see ``grid_values`` and ``manifold_codes``), or one too large for the memory.
    """
    with torch.no_grad():  # one decoded code gives the image size of any model (not all declare image_shape)
        pixels = model.decode(torch.zeros(1, model.latent_dim, device=model.device)).numel()
    # the images (float32), their list and the tiled canvas: ~3 copies
    check_fits_in_memory(int(n) ** 2 * (4 * model.latent_dim + 12 * pixels), option("size", n), f"{n:,} x {n:,} images")
    codes = manifold_codes(model.latent_dim, n, lo, hi, spacing, dims)
    images = decode_codes(model, codes, progress=progress)
    return {
        "codes": codes,
        "values": grid_values(n, lo, hi, spacing),
        "images": images,
        "canvas": tile(images),
        "dims": tuple(int(d) for d in dims),
        "spacing": spacing,
    }


def plot_manifold(
    rendered: dict,
    path: str | Path,
    title: str = "",
    path_codes: np.ndarray | None = None,
    path_labels: tuple[str, str] | None = None,
    dpi: int = 150,
) -> Path:
    """``manifold_figure`` written as a PNG.

    Args:
        rendered, title, path_codes, path_labels: as for ``manifold_figure``.
        path: the PNG to write. dpi: PNG resolution (at least 100 is written).

    Returns:
        ``path`` as a ``Path``.
    """
    return save_figure(manifold_figure(rendered, title, path_codes, path_labels), path, dpi)


def manifold_figure(
    rendered: dict,
    title: str = "",
    path_codes: np.ndarray | None = None,
    path_labels: tuple[str, str] | None = None,
) -> Figure:
    """Draw ``render_manifold``'s canvas with its axes in latent units and, optionally, an interpolation path.

    Args:
        rendered: the dict of ``render_manifold``.
        title: the figure title (default: names the grid size).
        path_codes: ``(T, D)`` codes of a path (e.g. ``interpolation.interpolate_codes``), drawn in red through
            their coordinates on the two plotted dimensions; ``path_labels`` names its two ends.

    Returns:
        A ``vaelab.viz.style.Figure``; ``figure.axes[0].images[0].get_array()`` is ``rendered["canvas"]``.
    """
    canvas, v, (a, b) = rendered["canvas"], rendered["values"], rendered["dims"]
    n = len(v)
    h, w = rendered["images"].shape[-2:]
    to_x, to_y = _pixel_maps(rendered, w, h)
    with styled():
        fig = new_figure((8, 8))
        ax = fig.subplots()
        cmap = "gray" if canvas.ndim == 2 else None
        ax.imshow(canvas, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        if rendered["spacing"] == "linear":  # round values at their place on the affine axis
            tv = np.linspace(v[0], v[-1], 5)
            ax.set_xticks(to_x(tv), [f"{t:.3g}" for t in tv])
            ax.set_yticks(to_y(tv), [f"{t:.3g}" for t in tv])
        else:  # uneven grid: label some tiles with their value
            ticks = np.unique(np.linspace(0, n - 1, min(n, 5)).round().astype(int))
            ax.set_xticks((ticks + 0.5) * w, [f"{v[j]:.2g}" for j in ticks])
            ax.set_yticks((ticks + 0.5) * h, [f"{v[::-1][i]:.2g}" for i in ticks])
        ax.set_xlabel(f"$z_{{{a + 1}}}$")
        ax.set_ylabel(f"$z_{{{b + 1}}}$")
        if path_codes is not None:
            pc = np.asarray(path_codes)
            _draw_path(ax, to_x(pc[:, a]), to_y(pc[:, b]), path_labels, canvas.shape, w)
        ax.set_title(title or f"Decoded images over a {n} x {n} grid of codes")
    return fig


def _pixel_maps(rendered: dict, w: int, h: int):
    """``(to_x, to_y)``: the pixel position of latent values on the canvas's two axes. Tile j's centre is
    ``(j + 0.5) * w`` (row i holds ``values[n - 1 - i]``); the grid is evenly spaced in z (linear) or in Phi(z)
    (ppf), so the position is affine in that coordinate, also outside the grid: a straight path in z is drawn where
    its codes really fall."""
    from scipy.stats import norm  # import cost: scipy, only for a ppf-spaced grid's axes

    v = rendered["values"]
    warp = (lambda z: np.asarray(z, np.float64)) if rendered["spacing"] == "linear" else norm.cdf

    def to_px(z, vals, tile):
        u = warp(vals)
        return tile * 0.5 + (warp(z) - u[0]) / (u[1] - u[0]) * tile

    return (lambda z: to_px(z, v, w)), (lambda z: to_px(z, v[::-1], h))


def _draw_path(ax, px: np.ndarray, py: np.ndarray, labels, canvas_shape, w: int) -> None:
    """The interpolation path in red through pixel positions ``px, py``, its ends marked and named; the view is
    widened (white around the grid) when the path leaves the grid."""
    ax.plot(px, py, "-", color=PATH_COLOR, lw=2.5)
    ax.plot(px[[0, -1]], py[[0, -1]], "o", color=PATH_COLOR, ms=9, mec="white", mew=1.5)
    halo = [pe.withStroke(linewidth=3, foreground="white")]
    for (x, y), text in zip([(px[0], py[0]), (px[-1], py[-1])], labels or (), strict=False):
        ax.annotate(
            text,
            (x, y),
            xytext=(8, 8),
            textcoords="offset points",
            color=PATH_COLOR,
            fontsize=14,
            fontweight="bold",
            path_effects=halo,
        )
    margin = 0.5 * w
    ax.set_xlim(min(-0.5, px.min() - margin), max(canvas_shape[1] - 0.5, px.max() + margin))
    ax.set_ylim(max(canvas_shape[0] - 0.5, py.max() + margin), min(-0.5, py.min() - margin))
