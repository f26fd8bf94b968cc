"""The ``curves`` figure of a run (``vaelab plot RUN curves``, ``Run.plot("curves")``):
loss terms per epoch, train and validation.

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.core.errors import ConfigError
from vaelab.viz.style import save_figure
from vaelab.viz.training import curves_figure

KIND = "curves"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """Loss terms per epoch (train and validation) from ``metrics.jsonl``, nats per image.

    Args:
        out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

    Returns:
        ``{"figure", "files": [png], "data"}`` with ``data[term][split] = (epochs, values)`` as drawn.

    Raises:
        ConfigError: no epoch records.
    """
    metrics = figs.run.read_metrics()
    if not metrics:
        raise ConfigError(f"{figs.run.metrics_path}: no epoch records; train the run first")
    beta = figs.config["model_config"].get("beta")
    title = f"{figs.name}: training curves" + (f" (beta = {beta})" if beta not in (None, 1, 1.0) else "")
    res = curves_figure(metrics, title)
    files = [save_figure(res["figure"], out or figs.out("curves.png"), figs.dpi)] if write else []
    return {"figure": res["figure"], "files": files, "data": res["data"]}
