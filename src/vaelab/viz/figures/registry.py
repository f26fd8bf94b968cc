"""The figure kinds and the module that draws each: ``FIGURES[kind]`` is its ``draw(figs, o, out, write)``.

A kind's options are declared once, in ``vaelab.core.commands.PLOT_KINDS`` (argparse, the API's keywords and the
docs derive from that declaration); ``render`` validates them and calls the kind's ``draw``. A new figure is a
new module here plus its entry in ``PLOT_KINDS``.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.core.commands import KINDS, PLOT_KINDS
from vaelab.core.errors import ConfigError
from vaelab.core.paths import FIGURE_SUFFIXES, IMAGE_SUFFIXES, check_output_file, check_output_folder
from vaelab.core.suggest import suggest
from vaelab.viz.figures import (
    all_pairs,
    attributes,
    curves,
    interpolate,
    latent,
    manifold,
    nll_vs_k,
    projector,
    reconstructions,
    samples,
    samples_per_epoch,
    traversals,
)

FIGURES = {
    m.KIND: m.draw
    for m in (
        latent,
        manifold,
        interpolate,
        all_pairs,
        samples_per_epoch,
        curves,
        projector,
        reconstructions,
        samples,
        nll_vs_k,
        traversals,
        attributes,
    )
}
assert set(FIGURES) == set(KINDS), "every kind declared in PLOT_KINDS has a module, and no other"

# what ``out`` may end in, by kind: image grids are written by Pillow, figures by matplotlib; interpolate takes a
# stem (it writes a GIF and a PNG beside each other), projector a folder
OUT_SUFFIXES = {"samples": IMAGE_SUFFIXES, "reconstructions": IMAGE_SUFFIXES, "interpolate": ()}


def check_out(kind: str, out: Path) -> None:
    """Refuse an ``out`` that cannot be written before anything is drawn (``vaelab.core.paths``)."""
    if kind == "projector":
        check_output_folder(out)
    else:
        check_output_file(out, OUT_SUFFIXES.get(kind, FIGURE_SUFFIXES))


def render(figs, kind: str, *, out: Path | None = None, write: bool = True, **options) -> dict:
    """Draw figure ``kind`` of a run.

    Args:
        figs: the run's ``vaelab.viz.render.RunFigures``.
        kind: one of ``KINDS``.
        out: the file (or folder, for ``projector``) to write instead of the default in ``RUN/figures/``.
        write: False builds the figure only (nothing is written; ``files`` is empty).
        **options: the kind's options by their Python names (``PLOT_KINDS[kind]``).

    Returns:
        The kind's dict, always with ``figure`` (a matplotlib ``Figure``, or None for ``projector``) and ``files``.

    Raises:
        ConfigError: an unknown kind or option (with the closest name), a bad value, an ``out`` that cannot be
            written (a folder, another file ending, a file where a folder should be), or as the kind raises.
    """
    if kind not in FIGURES:
        raise ConfigError(f"figure kind {kind!r}{suggest(kind, KINDS)}; expected one of {', '.join(KINDS)}")
    o = PLOT_KINDS[kind][0].from_dict(options, f"{kind}: ")
    if out is not None and write:
        check_out(kind, Path(out))
    return FIGURES[kind](figs, o, out=out, write=write)
