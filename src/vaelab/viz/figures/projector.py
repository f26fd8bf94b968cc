"""The ``projector`` figure of a run (``vaelab plot RUN projector``, ``Run.plot("projector")``):
TensorBoard embedding-projector files of the test codes.

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.core.errors import ConfigError
from vaelab.viz.embedding import write_projector

KIND = "projector"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """TensorBoard embedding-projector export of the first ``n`` test codes, sprite and labels
    (``tensorboard --logdir RUN/tensorboard``).

    Args:
        n: number of test codes.
        out: the folder to write instead of ``RUN/tensorboard/projector`` (emptied first).

    Returns:
        ``{"figure": None, "files", "paths" (as from ``write_projector``), "codes" (n, D), "labels" (n,) or
        None}``.

    Raises:
        ConfigError: n < 1, or ``write=False`` (the projector is files for TensorBoard, not a figure).
    """
    if not write:
        raise ConfigError("projector: TensorBoard files, not a figure; write them with vaelab plot RUN projector")
    codes = figs.codes()[: o.n]
    images = figs.test.images[: len(codes)]
    labels = None if figs.labels is None else figs.labels[: len(codes)]
    paths = write_projector(out or figs.run.tensorboard / "projector", codes, labels, images)
    return {
        "figure": None,
        "files": [p for p in paths.values() if p is not None],
        "paths": paths,
        "codes": codes,
        "labels": labels,
    }
