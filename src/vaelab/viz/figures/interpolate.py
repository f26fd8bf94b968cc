"""The ``interpolate`` figure of a run (``vaelab plot RUN interpolate``, ``Run.plot("interpolate")``):
decodings along a path between two codes (GIF and strip).

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaelab.core.naming import option
from vaelab.viz.interpolation import gif_frames, interpolate_codes, save_gif, strip_figure
from vaelab.viz.manifold import decode_codes
from vaelab.viz.style import save_figure

KIND = "interpolate"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """Codes z(t) from one test image's code to another's; a looping GIF and a strip PNG of the frames.

    Args:
        from_digit, to_digit: classes whose representative test images (code nearest the class's mean code)
            are the ends; the seeds' animation goes from 0 to 7.
        from_index, to_index: test image indices instead of classes.
        steps: frames, t evenly spaced on [0, 1]. spherical: slerp instead of linear.
        scale: integer enlargement of the GIF. duration_ms: display time of a GIF frame, milliseconds.
        out: the GIF / PNG path without suffix instead of ``RUN/figures/interpolate-<from>-<to>[-slerp]``.
        write: False builds the strip figure only (no GIF, no PNG).

    Returns:
        ``{"figure" (the strip), "files": [gif, png], "codes" (steps, D), "images" (steps, C, H, W),
        "frames", "z_from" (D,), "z_to" (D,), "indices" (from, to)}``.

    Raises:
        ConfigError: scale < 1, steps < 2, a class without test images, an index out of range, or classes
            asked of an unlabelled dataset.
    """
    from_digit, to_digit, from_index, to_index = o.from_digit, o.to_digit, o.from_index, o.to_index
    steps, spherical, scale, duration_ms = o.steps, o.spherical, o.scale, o.duration_ms
    za, la, ia = figs.class_code(
        from_digit if from_index is None else None, from_index, option("from_digit", flag="--from")
    )
    zb, lb, ib = figs.class_code(to_digit if to_index is None else None, to_index, option("to_digit", flag="--to"))
    codes = interpolate_codes(za, zb, steps, spherical)
    images = decode_codes(figs.model, codes)
    stem = (
        out.with_suffix("")
        if out
        else figs.out(f"interpolate-{la.replace('#', 'i')}-{lb.replace('#', 'i')}" + ("-slerp" if spherical else ""))
    )
    frames = gif_frames(images, scale)
    how = "spherical" if spherical else "linear"
    t = np.linspace(0, 1, len(codes))
    fig = strip_figure(images, t, f"{figs.name}: {how} interpolation {la} → {lb} (test images {ia} → {ib})")
    files = []
    if write:
        files = [save_gif(frames, stem.with_suffix(".gif"), duration_ms)]
        files.append(save_figure(fig, stem.with_suffix(".png"), figs.dpi))
    return {
        "figure": fig,
        "files": files,
        "codes": codes,
        "images": images,
        "frames": frames,
        "z_from": za,
        "z_to": zb,
        "indices": (ia, ib),
    }
