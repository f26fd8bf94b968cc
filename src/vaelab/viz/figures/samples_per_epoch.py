"""The ``samples-per-epoch`` figure of a run (``vaelab plot RUN samples-per-epoch``, ``Run.plot("samples-per-epoch")``):
the same prior noise decoded at each epoch's end.

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.core.errors import ConfigError
from vaelab.viz.style import save_figure
from vaelab.viz.training import epoch_rows, samples_per_epoch_figure

KIND = "samples-per-epoch"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """Samples decoded from the same prior noise at the end of every epoch (``epoch_samples.npy``).

    Args:
        max_rows: most epochs shown (evenly spaced, first and last kept).
        out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

    Returns:
        ``{"figure", "files": [png], "rows" (0-based epochs shown), "canvas", "samples" uint8 (E, n, C, H, W)}``.

    Raises:
        ConfigError: the run saved no samples per epoch.
    """
    arr = figs.run.read_epoch_samples()
    if arr is None:
        raise ConfigError(f"{figs.run.epoch_samples_path}: not found; this run saved no samples per epoch")
    res = samples_per_epoch_figure(
        arr,
        figs.conditional,
        epoch_rows(len(arr), o.max_rows),
        f"{figs.name}: samples at each epoch's end (same noise every epoch)",
    )
    files = [save_figure(res["figure"], out or figs.out("samples-per-epoch.png"), figs.dpi)] if write else []
    return {"figure": res["figure"], "files": files, "rows": res["rows"], "canvas": res["canvas"], "samples": arr}
