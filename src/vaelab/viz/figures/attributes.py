"""The ``attributes`` figure of a run (``vaelab plot RUN attributes``, ``Run.plot("attributes")``): attribute
vectors (mean training code of one labelled group minus another's) added to test images' codes.

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.viz.attributes import render_attributes

KIND = "attributes"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """Attribute vectors from the labels added to test images (``vaelab.viz.attributes.render_attributes``): per
    contrast (``vaelab.evaluate.attribute_vectors.default_contrasts``, e.g. skin tone dark minus light, smiling
    minus not), the mean training code of one group minus the other's, added ``alpha`` times to test codes.

    Args:
        attributes: the attributes contrasted (default all). indices: the test images (default per contrast the
            first ``per_contrast`` of the group the vector points away from). alphas: the multiples.
        out: the file instead of ``RUN/figures/attributes.png``. write: False builds the figure only.

    Returns:
        ``{"figure", "files", "vectors" (attribute_vectors' dicts), "indices" (V, F), "alphas", "codes"
        (V, F, A, D), "images" (V, F, A, C, H, W)}``.

    Raises:
        ConfigError: an unknown attribute, an index out of range, or no contrast with images in both groups.
    """
    return render_attributes(figs, o, out or figs.out("attributes.png"), write)
