"""Interpolation in latent space: from one digit to another (the seeds' 0 -> 7 animation) and the table of
interpolations between every pair of digits.

Codes along the path: linear ``z(t) = (1 - t) z_from + t z_to``, or spherical (``slerp``, Shoemake 1985; White,
*Sampling Generative Networks*, 2016), which keeps the norm of Gaussian codes typical:
``z(t) = sin((1 - t) W) / sin(W) z_from + sin(t W) / sin(W) z_to`` with ``W`` the angle between the codes.
``t`` runs over ``steps`` evenly spaced values from 0 to 1, so frame 0 decodes ``z_from`` and the last ``z_to``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vaelab.core.errors import ConfigError
from vaelab.core.io import atomic_path
from vaelab.core.naming import option
from vaelab.viz.manifold import decode_codes, tile
from vaelab.viz.style import Figure, new_figure, save_figure, styled


def interpolate_codes(z_from, z_to, steps: int = 20, spherical: bool = False) -> np.ndarray:
    """``(steps, D)`` float32 codes from ``z_from`` to ``z_to`` (both ``(D,)``), linear or spherical.

    Linear: ``z(t) = (1 - t) z_from + t z_to``. Spherical: slerp (Shoemake 1985; White, *Sampling Generative
    Networks*, 2016), falling back to linear when a code is 0 or the two are (anti)parallel.

    Args:
        z_from: ``(D,)`` start code (row 0 of the result, exactly).
        z_to: ``(D,)`` end code (the last row, exactly).
        steps: number of codes, t evenly spaced on [0, 1].
        spherical: slerp instead of the straight line.

    Returns:
        float32 ``(steps, D)`` codes.

    Raises:
        ConfigError: steps < 2.
    """
    if int(steps) < 2:
        raise ConfigError(f"{option('steps', steps)}: expected at least 2 frames")
    a, b = np.asarray(z_from, np.float64), np.asarray(z_to, np.float64)
    t = np.linspace(0.0, 1.0, int(steps))[:, None]
    if spherical:
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        if na > 0 and nb > 0:
            omega = np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0))
            if np.sin(omega) > 1e-6:
                out = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
                out[0], out[-1] = a, b
                return out.astype(np.float32)
    return ((1 - t) * a + t * b).astype(np.float32)


def representative_indices(codes: np.ndarray, labels, classes=None) -> dict[int, int]:
    """For each class, the index of the image whose code is nearest (Euclidean) to the class's mean code: a
    typical example rather than the first one in the file.

    Args:
        codes: ``(N, D)`` codes (e.g. encoder means of the test split).
        labels: ``(N,)`` integer classes.
        classes: the classes wanted (default: every class in ``labels``).

    Returns:
        ``{class: index into codes}``, classes in increasing order.

    Raises:
        ConfigError: a requested class has no image.
    """
    labels = np.asarray(labels)
    classes = sorted(int(c) for c in (np.unique(labels) if classes is None else classes))
    out = {}
    for c in classes:
        idx = np.flatnonzero(labels == c)
        if len(idx) == 0:
            raise ConfigError(
                f"class {c}: no test image has this label (labels present: {sorted(set(labels.tolist()))})"
            )
        d = np.linalg.norm(codes[idx] - codes[idx].mean(0), axis=1)
        out[c] = int(idx[np.argmin(d)])
    return out


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> uint8 of the same shape: ``round(clip(x, 0, 1) * 255)`` (half to even, as ``make_grid``)."""
    return (np.clip(images, 0, 1) * 255).round().astype(np.uint8)


def gif_frames(images: np.ndarray, scale: int = 4, bar: bool = True) -> list[np.ndarray]:
    """uint8 frames for the animation from ``(T, C, H, W)`` images: each enlarged ``scale`` times (nearest
    neighbour), with a progress bar of t below (``max(2, scale)`` rows, grey up to ``t * width``) unless
    ``bar=False``. The image part of frame k is ``frame[:H*scale, :W*scale]``.

    Args:
        images: ``(T, C, H, W)`` frames in [0, 1], C = 1 or 3.
        scale: integer enlargement.
        bar: add the progress bar rows.

    Returns:
        T uint8 arrays ``(H*scale + b, W*scale)`` for C = 1 or ``(H*scale + b, W*scale, 3)`` for C = 3, with
        ``b = max(2, scale)`` bar rows (0 without the bar).
    """
    u8 = to_uint8(images)
    t_count, c, h, w = u8.shape
    frames = []
    for k in range(t_count):
        img = u8[k].transpose(1, 2, 0)
        img = np.repeat(np.repeat(img, scale, 0), scale, 1)
        if bar:
            rows = np.zeros((max(2, scale), img.shape[1], c), np.uint8)
            rows[:, : int(round(k / max(t_count - 1, 1) * img.shape[1]))] = 128
            img = np.concatenate([img, rows], 0)
        frames.append(img[..., 0] if c == 1 else img)
    return frames


def save_gif(frames: list[np.ndarray], path: str | Path, duration_ms: int = 100, pause_ms: int = 600) -> Path:
    """Looping GIF (``loop=0``) of uint8 frames with Pillow; the first and last frames are held ``pause_ms``.

    Grey frames are written losslessly (256 grey levels). Pillow merges consecutive identical frames, which
    the progress bar of ``gif_frames`` prevents for up to ``width`` frames.

    Args:
        frames: uint8 ``(H, W)`` or ``(H, W, 3)`` arrays, all the same shape (as from ``gif_frames``).
        path: the GIF to write (parent folders are made).
        duration_ms: display time of each frame, milliseconds.
        pause_ms: display time of the first and last frames, milliseconds (at least ``duration_ms``).

    Returns:
        ``path`` as a ``Path``.
    """
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ims = [Image.fromarray(f) for f in frames]
    durations = [int(duration_ms)] * len(ims)
    durations[0] = durations[-1] = max(int(pause_ms), int(duration_ms))
    with atomic_path(path) as tmp:  # never a half-written GIF (a stop mid-write)
        ims[0].save(tmp, format="GIF", save_all=True, append_images=ims[1:], duration=durations, loop=0,
                    optimize=False, disposal=1)  # fmt: skip
    return path


def read_gif(path: str | Path, mode: str = "L") -> list[np.ndarray]:
    """Every frame of a GIF as a uint8 array.

    Args:
        path: a GIF file.
        mode: Pillow mode each frame is converted to: ``L`` gives ``(H, W)`` arrays, ``RGB`` ``(H, W, 3)``.

    Returns:
        The frames in order (Pillow has merged consecutive identical frames when writing).
    """
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        return [np.asarray(f.convert(mode)) for f in ImageSequence.Iterator(im)]


def plot_strip(images: np.ndarray, path: str | Path, t: np.ndarray, title: str, dpi: int = 150) -> Path:
    """``strip_figure`` written as a PNG.

    Args:
        images, t, title: as for ``strip_figure``.
        path: the PNG to write. dpi: PNG resolution (at least 100 is written).

    Returns:
        ``path`` as a ``Path``.
    """
    return save_figure(strip_figure(images, t, title), path, dpi)


def strip_figure(images: np.ndarray, t: np.ndarray, title: str) -> Figure:
    """One row of frames with t under each (at most 6 labelled).

    Args:
        images: ``(T, C, H, W)`` frames in [0, 1].
        t: ``(T,)`` interpolation parameter of each frame (the tick labels).
        title: the figure title.

    Returns:
        A ``vaelab.viz.style.Figure``; ``figure.axes[0].images[0].get_array()`` is ``tile(images[None])``.
    """
    canvas = tile(images[None])
    w = images.shape[-1]
    with styled():
        fig = new_figure((max(6.0, 0.55 * len(images)), 1.9))
        ax = fig.subplots()
        ax.imshow(canvas, cmap="gray" if canvas.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        idx = np.unique(np.linspace(0, len(images) - 1, min(len(images), 6)).round().astype(int))
        ax.set_xticks((idx + 0.5) * w, [f"{t[i]:.2g}" for i in idx])
        ax.set_yticks([])
        ax.set_xlabel("t")
        for s in ("left", "bottom"):
            ax.spines[s].set_visible(False)
        ax.set_title(title)
    return fig


def all_pairs(
    model, reps: dict[int, np.ndarray], steps: int = 8, spherical: bool = False, progress: bool = False
) -> np.ndarray:
    """Interpolation strips between every ordered pair of classes.

    Args:
        model: a model with ``decode`` and ``device``.
        reps: ``{class: code (D,)}`` for K classes (sorted by class).
        steps: codes per strip, t evenly spaced on [0, 1]. spherical: slerp instead of linear.
        progress: tqdm bars.

    Returns:
        float32 ``(K, K, steps, C, H, W)``: ``[a, b]`` is the strip from class a's code to class b's.
    """
    from tqdm.auto import tqdm

    keys = sorted(reps)
    codes = np.stack(
        [
            np.stack([interpolate_codes(reps[a], reps[b], steps, spherical) for b in keys])
            for a in tqdm(keys, desc="all pairs", disable=not progress, leave=False)
        ]
    )
    return decode_codes(model, codes, progress=progress)


def all_pairs_canvas(strips: np.ndarray, gap: int = 4) -> np.ndarray:
    """Lay out ``(K, K, T, C, H, W)`` strips: row a, column b, ``gap`` white pixels between cells. Cell
    ``[a, b]`` starts at row ``a * (H + gap)``, column ``b * (T * W + gap)``.

    Args:
        strips: ``(K, K, T, C, H, W)`` in [0, 1], as from ``all_pairs``.
        gap: white pixels between cells.

    Returns:
        float32 ``(K * (H + gap) - gap, K * (T * W + gap) - gap)``, with a trailing 3 for C = 3, white (1.0)
        between cells.
    """
    k, _, t, c, h, w = strips.shape
    cell_w = t * w
    shape = (k * (h + gap) - gap, k * (cell_w + gap) - gap) + ((3,) if c == 3 else ())
    canvas = np.ones(shape, np.float32)
    for a in range(k):
        for b in range(k):
            canvas[a * (h + gap) : a * (h + gap) + h, b * (cell_w + gap) : b * (cell_w + gap) + cell_w] = tile(
                strips[a, b][None]
            )
    return canvas


def plot_all_pairs(
    strips: np.ndarray, classes: list[int], path: str | Path, title: str, gap: int = 4, dpi: int = 150
) -> Path:
    """``all_pairs_figure`` written as a PNG.

    Args:
        strips, classes, title, gap: as for ``all_pairs_figure``.
        path: the PNG to write. dpi: PNG resolution (at least 100 is written); also sizes the figure.

    Returns:
        ``path`` as a ``Path``.
    """
    return save_figure(all_pairs_figure(strips, classes, title, gap, dpi), path, dpi)


def all_pairs_figure(strips: np.ndarray, classes: list[int], title: str, gap: int = 4, dpi: int = 150) -> Figure:
    """Draw ``all_pairs_canvas`` with start class down the side and end class along the top.

    Args:
        strips: ``(K, K, T, C, H, W)`` in [0, 1], as from ``all_pairs``.
        classes: the K class names, in the order of the strips.
        title: the figure title. gap: white pixels between cells.
        dpi: the resolution the figure will be written at: the figure is wide enough (inches) for about one
            screen pixel per image pixel at it.

    Returns:
        A ``vaelab.viz.style.Figure``; ``figure.axes[0].images[0].get_array()`` is ``all_pairs_canvas(strips,
        gap)``.
    """
    canvas = all_pairs_canvas(strips, gap)
    k, _, t, c, h, w = strips.shape
    with styled():
        width_in = max(8.0, canvas.shape[1] / max(int(dpi), 1) * 1.1)
        fig = new_figure((width_in, width_in * canvas.shape[0] / canvas.shape[1] + 0.9))
        ax = fig.subplots()
        ax.imshow(canvas, cmap="gray" if canvas.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks([a * (h + gap) + h / 2 for a in range(k)], [str(x) for x in classes])
        ax.set_xticks([b * (t * w + gap) + t * w / 2 for b in range(k)], [str(x) for x in classes])
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.set_xlabel("to (end digit)")
        ax.set_ylabel("from (start digit)")
        for s in ax.spines.values():
            s.set_visible(False)
        ax.set_title(title, pad=30)
    return fig


def ensure_labels(labels, what: str):
    """``labels`` as an array.

    Args:
        labels: ``(N,)`` classes, or None for an unlabelled dataset.
        what: the option or figure that needs them (starts the error message).

    Returns:
        ``np.asarray(labels)``.

    Raises:
        ConfigError: ``labels`` is None.
    """
    if labels is None:
        raise ConfigError(f"{what}: this dataset has no labels; give image indices instead")
    return np.asarray(labels)


__all__ = [
    "interpolate_codes",
    "representative_indices",
    "gif_frames",
    "save_gif",
    "read_gif",
    "plot_strip",
    "strip_figure",
    "all_pairs",
    "all_pairs_canvas",
    "plot_all_pairs",
    "all_pairs_figure",
    "to_uint8",
]
