"""The ``all-pairs`` figure of a run (``vaelab plot RUN all-pairs``, ``Run.plot("all-pairs")``):
interpolation strips between every pair of classes.

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaelab.core.errors import ConfigError
from vaelab.viz.interpolation import all_pairs, all_pairs_figure, representative_indices
from vaelab.viz.style import save_figure

KIND = "all-pairs"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """The table of interpolation strips between every ordered pair of classes (default 0..9).

    Args:
        steps: codes per strip. spherical: slerp instead of linear.
        classes: the classes (default: the first 10 present in the test labels).
        out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

    Returns:
        ``{"figure", "files": [png], "strips" (K, K, steps, C, H, W), "classes", "indices" {class: test index},
        "reps" {class: code (D,)}}``.

    Raises:
        ConfigError: the dataset has no labels, a class has no test image, or steps < 2.
    """
    steps, spherical, classes = o.steps, o.spherical, o.classes
    if figs.labels is None:
        raise ConfigError(f"all-pairs: {figs.config['dataset']['name']} has no labels")
    present = sorted(int(c) for c in np.unique(figs.labels))
    classes = present[:10] if classes is None else [int(c) for c in classes]
    codes = figs.codes()
    reps_idx = representative_indices(codes, figs.labels, classes)
    reps = {c: codes[i] for c, i in reps_idx.items()}
    strips = all_pairs(figs.model, reps, steps, spherical, progress=figs.progress)
    how = "spherical" if spherical else "linear"
    fig = all_pairs_figure(
        strips,
        classes,
        f"{figs.name}: {how} interpolations between every pair of {figs.label_text()}s",
        dpi=figs.dpi,
    )
    files = [save_figure(fig, out or figs.out("all-pairs.png"), figs.dpi)] if write else []
    return {"figure": fig, "files": files, "strips": strips, "classes": classes, "indices": reps_idx, "reps": reps}
