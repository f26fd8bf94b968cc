"""Shared look of vaelab's matplotlib figures: a colour-blind-safe palette, slide-sized fonts, PNG output at
>= 100 dpi, and the ``Figure`` class every figure maker returns.

Figures are made as ``vaelab.viz.style.Figure`` objects (a ``matplotlib.figure.Figure`` that pyplot does not
manage): the same object is written to PNG by the command line (``save_figure``) and returned by the Python API,
where Jupyter shows it inline (``Figure._repr_png_``) without pyplot drawing it a second time. Outside a Jupyter
kernel pyplot is switched to the Agg backend (no display needed); inside one the notebook's backend is kept.

The 10-class palette is seaborn's ``colorblind`` palette (Waskom, seaborn documentation, "Choosing color
palettes"; derived from Wong, *Points of view: Color blindness*, Nature Methods 8:441, 2011), written out here as
constants so seaborn is not needed. matplotlib's default ``tab10`` is not designed to be colour-blind safe.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import matplotlib.figure

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # no display needed; must come before pyplot is imported (a notebook keeps its own)

import matplotlib.pyplot as plt  # noqa: E402

from vaelab.core.io import atomic_path
from vaelab.core.paths import FIGURE_SUFFIXES, check_output_file  # noqa: E402

COLORBLIND10 = (
    "#0173B2",  # blue
    "#DE8F05",  # orange
    "#029E73",  # green
    "#D55E00",  # vermillion
    "#CC78BC",  # reddish purple
    "#CA9161",  # brown
    "#FBAFE4",  # pink
    "#949494",  # grey
    "#ECE133",  # yellow
    "#56B4E9",  # sky blue
)
"""Colour of class ``k`` (k = 0..9): seaborn's ``colorblind`` palette."""

PATH_COLOR = "#D00000"  # the interpolation path drawn on the manifold ("in red")
TRAIN_COLOR, VAL_COLOR = COLORBLIND10[0], COLORBLIND10[1]
DEFAULT_DPI = 150
MIN_DPI = 100

RC = {
    "font.size": 12,
    "axes.titlesize": 14,
    "axes.labelsize": 12,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.1,
    "figure.facecolor": "white",
}


def class_colors(n_classes: int) -> list[str]:
    """``n_classes`` colours: the colour-blind palette for <= 10 classes, else evenly spaced on 'cividis'
    (a colour-vision-deficiency-optimised colormap, Nuñez et al. 2018).

    Args:
        n_classes: number of classes.

    Returns:
        ``n_classes`` hex colours ``#RRGGBB``; colour ``k`` is class ``k``'s.
    """
    if n_classes <= len(COLORBLIND10):
        return list(COLORBLIND10[:n_classes])
    cmap = matplotlib.colormaps["cividis"]
    return [matplotlib.colors.to_hex(cmap(i / max(n_classes - 1, 1))) for i in range(n_classes)]


def styled():
    """Context manager: vaelab's rc settings while a figure is built and saved (``with styled(): ...``)."""
    return plt.rc_context(RC)


class Figure(matplotlib.figure.Figure):
    """A matplotlib ``Figure`` that pyplot does not manage (no ``plt.show`` needed, never shown twice), as every
    vaelab figure maker returns it. In Jupyter it is shown inline as a PNG (``_repr_png_``, rendered with
    vaelab's style at ``display_dpi``); ``fig.savefig(path)`` or ``save_figure(fig, path)`` write it."""

    display_dpi = 100

    def _repr_png_(self) -> bytes:
        import io

        buf = io.BytesIO()
        with styled():
            self.savefig(buf, format="png", dpi=self.display_dpi)
        return buf.getvalue()


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A new ``Figure`` of ``figsize`` inches (call inside ``styled()`` so that vaelab's fonts apply)."""
    return Figure(figsize=figsize)


COMPACT = {"on": False}
"""Set ``COMPACT["on"] = True`` (``vaelab plot --compact``) to write 256-colour PNGs: a few times smaller,
visually the same for these figures (grey images, a few line colours)."""


def save_figure(fig, path: str | Path, dpi: int = DEFAULT_DPI, compact: bool | None = None) -> Path:
    """Save ``fig`` as PNG (``dpi`` >= 100) and close it.

    Args:
        fig: a matplotlib figure (closed afterwards).
        path: the PNG to write (parent folders are made).
        dpi: resolution in dots per inch; values below ``MIN_DPI`` (100) are raised to it.
        compact: quantize to a 256-colour palette with Pillow (default ``COMPACT["on"]``).

    Returns:
        ``path`` as a ``Path``.
    """
    compact = COMPACT["on"] if compact is None else compact
    path = check_output_file(path, (".png",) if compact else FIGURE_SUFFIXES)
    path.parent.mkdir(parents=True, exist_ok=True)
    with styled():
        if compact:
            import io

            from PIL import Image

            buf = io.BytesIO()
            fig.savefig(buf, dpi=max(int(dpi), MIN_DPI), format="png")
            buf.seek(0)
            with Image.open(buf) as im:
                info = {"dpi": im.info.get("dpi", (dpi, dpi))}
                small = im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
                with atomic_path(path) as tmp:  # never a half-written figure (a stop mid-write)
                    small.save(tmp, format="PNG", optimize=True, **info)
        else:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, dpi=max(int(dpi), MIN_DPI), format=path.suffix[1:].lower())
    plt.close(fig)
    return path
