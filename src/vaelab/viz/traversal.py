"""Latent traversals: one latent dimension at a time swept over a range of values, the others held at a base code,
each code decoded (Higgins et al., *beta-VAE: Learning Basic Visual Concepts with a Constrained Variational
Framework*, ICLR 2017, Figs. 1-2 and 7; the lecture's "perturb one latent variable" figure).

Row ``r`` of the figure is dimension ``dims[r]``; column ``c`` decodes ``z`` with ``z[dims[r]] = values[c]`` and every
other entry as in the base code. The dimensions shown by default are those whose posterior means vary most over the
test images (the active units of Burda et al. 2016, ``Cov_x(E_q[z_d])``; the unused ones decode the same image
along the whole row).
"""

from __future__ import annotations

import numpy as np

from vaelab.core.errors import ConfigError
from vaelab.viz.manifold import decode_codes, tile
from vaelab.viz.style import Figure, new_figure, save_figure, styled


def traversal_codes(z, dims, values) -> np.ndarray:
    """Codes of a traversal grid.

    Args:
        z: ``(D,)`` the base code.
        dims: ``R`` latent dimensions (0-based) to sweep, one per row.
        values: ``K`` values each dimension takes, one per column.

    Returns:
        float32 ``(R, K, D)``: ``out[r, c]`` is ``z`` with entry ``dims[r]`` set to ``values[c]``.

    Raises:
        ConfigError: a dimension outside ``0..D-1``, no dimension or no value.
    """
    z = np.asarray(z, np.float32).ravel()
    dims, values = [int(d) for d in dims], np.asarray(values, np.float32).ravel()
    if not dims or not len(values):
        raise ConfigError("latent traversal: expected at least one dimension and one value")
    bad = [d for d in dims if not 0 <= d < len(z)]
    if bad:
        raise ConfigError(f"--dims {bad}: expected latent dimensions 0..{len(z) - 1}")
    out = np.repeat(np.repeat(z[None, None], len(dims), 0), len(values), 1)
    for r, d in enumerate(dims):
        out[r, :, d] = values
    return out


def most_varied_dims(codes, n: int) -> list[int]:
    """The ``n`` dimensions whose codes vary most across images (largest variance), most varied first.

    Args:
        codes: ``(N, D)`` codes (e.g. the test split's posterior means).
        n: how many (at most D).

    Returns:
        0-based dimension indices.
    """
    var = np.asarray(codes, np.float64).var(0)
    return [int(d) for d in np.argsort(-var, kind="stable")[: max(1, min(int(n), len(var)))]]


def traversal_figure(images: np.ndarray, dims, values, title: str, variances=None) -> Figure:
    """The traversal grid: one row per dimension, labelled ``z<d+1>`` (and its codes' variance), values below.

    Args:
        images: ``(R, K, C, H, W)`` decodings in [0, 1] (``traversal_codes`` decoded).
        dims: the ``R`` dimensions (0-based). values: the ``K`` values.
        title: the figure title.
        variances: ``(R,)`` the variance of each row's dimension over the test codes, or None.

    Returns:
        A ``vaelab.viz.style.Figure``; ``figure.axes[0].images[0].get_array()`` is ``tile(images)``.
    """
    canvas = tile(images)
    r, k, _, h, w = images.shape
    with styled():
        fig = new_figure((max(4.0, 0.62 * k + 1.2), 0.62 * r + 1.0))
        ax = fig.subplots()
        ax.imshow(canvas, cmap="gray" if canvas.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks(
            (np.arange(r) + 0.5) * h,
            [f"z{d + 1}" + ("" if variances is None else f" ({variances[i]:.2g})") for i, d in enumerate(dims)],
        )
        ax.set_xticks((np.arange(k) + 0.5) * w, [f"{v:.3g}" for v in values])
        ax.set_xlabel("value of the dimension (the others held at the base code)")
        for s in ("left", "bottom", "top", "right"):
            ax.spines[s].set_visible(False)
        ax.tick_params(length=0)
        ax.set_title(title)
    return fig


def render_traversals(figs, o, path, write: bool = True) -> dict:
    """``vaelab plot RUN traversals``: the traversal grid of a run (``RunFigures.traversals`` documents it).

    Args:
        figs: a ``vaelab.viz.render.RunFigures``. o: a ``vaelab.core.commands.TraversalsPlot``.
        path: the PNG to write. write: False builds the figure only.

    Raises:
        ConfigError: an index out of range, a dimension outside 0..D-1, or LO >= HI.
    """
    lo, hi = o.range
    if not lo < hi:
        raise ConfigError(f"--range {lo} {hi}: expected LO < HI")
    base, _, idx = figs.class_code(None, o.index, "--index")
    test_codes = figs.codes()
    dims = most_varied_dims(test_codes, o.n_dims) if o.dims is None else list(o.dims)
    values = np.linspace(lo, hi, o.steps)
    codes = traversal_codes(base, dims, values)
    images = decode_codes(figs.model, codes)
    variances = test_codes.var(0)[dims]
    title = f"{figs.name}: latent traversals of test image {idx} (in brackets: the variance of the test codes)"
    fig = traversal_figure(images, dims, values, title, variances)
    files = [save_figure(fig, path, figs.dpi)] if write else []
    out = {"figure": fig, "files": files, "dims": dims, "values": values, "codes": codes, "images": images}
    return {**out, "base": base, "variances": variances}
