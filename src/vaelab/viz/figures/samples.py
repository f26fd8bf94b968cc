"""The ``samples`` figure of a run (``vaelab plot RUN samples``, ``Run.plot("samples")``): decoded prior samples.

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.viz.gallery import sample_grid
from vaelab.viz.grids import grid_figure, save_image

KIND = "samples"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """Prior samples, as ``vaelab sample``.

    Args:
        n: number of samples. seed: seed of the prior draws.
        out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

    Returns:
        ``{"figure", "files": [png], "images" (n, C, H, W), "grid"}``: the PNG is ``grid`` (uint8,
        ``vaelab.viz.grids.make_grid``) enlarged 2 times; the figure shows ``grid``.

    Raises:
        ConfigError: n < 1.
    """
    n, seed = o.n, o.seed
    grid, imgs = sample_grid(figs.model, int(n), seed)
    fig = grid_figure(grid, f"{figs.name}: {int(n)} samples from the prior (seed {seed})")
    files = [save_image(grid, out or figs.out("samples.png"), scale=2)] if write else []
    return {"figure": fig, "files": files, "images": imgs, "grid": grid}
