"""The ``reconstructions`` figure of a run (``vaelab plot RUN reconstructions``, ``Run.plot("reconstructions")``):
test images above their reconstructions.

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.viz.gallery import reconstruction_grid
from vaelab.viz.grids import grid_figure, save_image

KIND = "reconstructions"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """First ``n`` test images above their reconstructions, as ``vaelab reconstruct``.

    Args:
        n: number of test images. per_row: images per row.
        out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

    Returns:
        ``{"figure", "files": [png], "images" (n, C, H, W), "reconstructions" (n, C, H, W), "grid"}``: the PNG
        is ``grid`` enlarged 2 times; the figure shows ``grid``.

    Raises:
        ConfigError: n or per_row below 1.
    """
    n, per_row = o.n, o.per_row
    x = figs.test.images[: int(n)]
    grid, recon = reconstruction_grid(figs.model, x, int(per_row))
    fig = grid_figure(grid, f"{figs.name}: test images (odd rows) and their reconstructions (even rows)")
    files = [save_image(grid, out or figs.out("reconstructions.png"), scale=2)] if write else []
    return {"figure": fig, "files": files, "images": x, "reconstructions": recon, "grid": grid}
