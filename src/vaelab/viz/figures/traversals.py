"""The ``traversals`` figure of a run (``vaelab plot RUN traversals``, ``Run.plot("traversals")``): one latent
dimension swept at a time from a test image's code.

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.viz.traversal import render_traversals

KIND = "traversals"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """Latent traversals: each row sweeps one dimension of test image ``index``'s code over ``steps`` values on
    ``range``, the other dimensions held (``vaelab.viz.traversal.render_traversals``).

    Args:
        index: the base test image. dims: the dimensions (default the ``n_dims`` most varied over the test codes).
        range, steps: the values. out: the file instead of ``RUN/figures/traversals.png``. write: False builds
            the figure only.

    Returns:
        ``{"figure", "files", "dims", "values" (K,), "codes" (R, K, D), "images" (R, K, C, H, W), "base" (D,),
        "variances" (R,)}``.

    Raises:
        ConfigError: an index out of range, a dimension outside 0..D-1 or LO >= HI.
    """
    return render_traversals(figs, o, out or figs.out("traversals.png"), write)
