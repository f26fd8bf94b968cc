"""The ``manifold`` figure of a run (``vaelab plot RUN manifold``, ``Run.plot("manifold")``):
decoded images over a grid of codes, with an optional path.

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.core.errors import ConfigError
from vaelab.core.naming import option
from vaelab.viz.interpolation import interpolate_codes
from vaelab.viz.manifold import manifold_figure, render_manifold
from vaelab.viz.style import save_figure

KIND = "manifold"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """Decoded images over a ``size x size`` grid of codes on ``[lo, hi]^2`` (default [-2, 2]); optional
    interpolation path (between two classes' representative images, or two test images) in red.

    The picture of Kingma & Welling 2014, Fig. 4 (see ``vaelab.viz.manifold``).

    Args:
        size: tiles per side.
        lo, hi: grid range in latent units (default [-2, 2]; for a deterministic encoder the 1st and 99th
            percentiles of the test codes' first two dimensions).
        spacing: ``linear`` or ``ppf`` (equal prior mass per tile).
        dims: the two latent dimensions that vary; the others are 0.
        path_from, path_to: classes whose representative test images end the red path.
        path_from_index, path_to_index: test image indices instead of classes.
        spherical: slerp path instead of a straight one.
        out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

    Returns:
        ``render_manifold``'s dict plus ``figure`` (its image is ``canvas``), ``files`` ``[png]`` and
        ``path_codes`` ``(50, D)`` or None.

    Raises:
        ConfigError: a bad grid or dimensions, only one end of the path, a class without test images or
            an index out of range.
    """
    size, spacing, dims, spherical = o.size, o.spacing, o.dims, o.spherical
    path_from, path_to, path_from_index, path_to_index = o.from_digit, o.to_digit, o.from_index, o.to_index
    lo, hi = o.range if o.range is not None else figs.default_range()
    rendered = render_manifold(figs.model, size, lo, hi, spacing, dims, progress=figs.progress)
    path_codes = labels = None
    if path_from is not None or path_from_index is not None or path_to is not None or path_to_index is not None:
        if (path_from is None and path_from_index is None) or (path_to is None and path_to_index is None):
            raise ConfigError(
                f"{option('from_digit', flag='--from')} / {option('to_digit', flag='--to')}: give both ends of the "
                "path (digits or test indices)"
            )
        za, la, _ = figs.class_code(path_from, path_from_index, option("from_digit", flag="--from"))
        zb, lb, _ = figs.class_code(path_to, path_to_index, option("to_digit", flag="--to"))
        path_codes = interpolate_codes(za, zb, 50, spherical)
        labels = (la, lb)
    grid = "inverse-normal-CDF" if spacing == "ppf" else "even"
    title = f"{figs.name}: decoded {size} x {size} grid on [{lo:.2g}, {hi:.2g}]$^2$ ({grid} spacing)"
    fig = manifold_figure(rendered, title, path_codes, labels)
    files = [save_figure(fig, out or figs.out("manifold.png"), figs.dpi)] if write else []
    rendered.update(figure=fig, files=files, path_codes=path_codes)
    return rendered
