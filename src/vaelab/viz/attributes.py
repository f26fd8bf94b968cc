"""Attribute vectors added to faces: for each contrast (``vaelab.evaluate.attribute_vectors``: e.g. the mean code of
skin tone 5 minus that of skin tone 1; smiling minus not smiling) and each chosen test image, the image, then the
decodings of ``z + alpha * v`` for a row of ``alpha`` (0 is the reconstruction). White, *Sampling Generative
Networks* (2016); Larsen et al. (ICML 2016), Fig. 6.
"""

from __future__ import annotations

import numpy as np

from vaelab.core.errors import ConfigError
from vaelab.core.suggest import suggest
from vaelab.evaluate.attribute_vectors import attribute_table, attribute_vectors, dataset_contrasts
from vaelab.viz.manifold import decode_codes, tile
from vaelab.viz.style import Figure, new_figure, save_figure, styled


def attribute_codes(codes, vectors, alphas) -> np.ndarray:
    """Codes ``z_f + alpha_a * v_c`` for every contrast ``c``, face ``f`` and multiple ``a``.

    Args:
        codes: ``(F, D)`` the faces' codes. vectors: ``(V, D)`` attribute vectors. alphas: ``(A,)``.

    Returns:
        float32 ``(V, F, A, D)`` (sums in float64).
    """
    z = np.asarray(codes, np.float64)[None, :, None, :]
    v = np.asarray(vectors, np.float64)[:, None, None, :]
    a = np.asarray(alphas, np.float64)[None, None, :, None]
    return (z + a * v).astype(np.float32)


def attribute_figure(inputs: np.ndarray, decoded: np.ndarray, names: list[str], alphas, title: str) -> Figure:
    """One block of rows per contrast: each face's image, then its decodings along the contrast's vector.

    Args:
        inputs: ``(V, F, C, H, W)`` each contrast's faces in [0, 1].
        decoded: ``(V, F, A, C, H, W)`` decodings of ``attribute_codes``.
        names: ``V`` contrast names (row labels). alphas: the ``A`` multiples (column labels).
        title: the figure title.

    Returns:
        A ``vaelab.viz.style.Figure`` whose image is ``tile`` of ``(V * F, 1 + A, C, H, W)``: column 0 the faces,
        then the decodings, contrast by contrast.
    """
    v, f, a, c, h, w = decoded.shape
    rows = np.concatenate([np.asarray(inputs, decoded.dtype)[:, :, None], decoded], axis=2)
    canvas = tile(rows.reshape(v * f, a + 1, c, h, w))
    with styled():
        fig = new_figure((max(4.0, 0.62 * (a + 1) + 2.2), 0.62 * v * f + 1.0))
        ax = fig.subplots()
        ax.imshow(canvas, cmap="gray" if canvas.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks((np.arange(a + 1) + 0.5) * w, ["image"] + [f"{x:+.3g}" for x in alphas])
        ax.set_yticks((np.arange(v) * f + f / 2) * h, names)
        for k in range(1, v):
            ax.axhline(k * f * h - 0.5, color="white", lw=3)
        ax.axvline(w - 0.5, color="white", lw=3)
        ax.set_xlabel("alpha in z + alpha · v")
        for s in ("left", "bottom", "top", "right"):
            ax.spines[s].set_visible(False)
        ax.tick_params(length=0)
        ax.set_title(title)
    return fig


def _vectors(figs, attributes) -> list[dict]:
    """The attribute vectors of a run, from its training codes (only the ``attributes`` named, if any)."""
    train_codes, train = figs.train_codes()
    contrasts = dataset_contrasts(train)
    known = sorted({c.attribute for c in contrasts})
    if attributes:
        unknown = [a for a in attributes if a not in known]
        if unknown:
            hint = suggest(unknown[0], known)
            raise ConfigError(f"--attributes {','.join(unknown)}{hint}: expected some of {', '.join(known) or 'none'}")
        contrasts = [c for c in contrasts if c.attribute in attributes]
    vectors = attribute_vectors(train_codes, attribute_table(train), contrasts)
    if not vectors:
        raise ConfigError(f"attributes: {figs.config['dataset']['name']} has no labelled groups to contrast")
    return vectors


def _faces(figs, vector: dict, indices, per_contrast: int) -> list[int]:
    """The test images a contrast is applied to: ``indices``, else the first of the group it points away from."""
    n = len(figs.codes())
    if indices is not None:
        bad = [i for i in indices if not 0 <= int(i) < n]
        if bad:
            raise ConfigError(f"--indices {bad}: expected test images 0..{n - 1}")
        return [int(i) for i in indices]
    values = attribute_table(figs.test)[vector["attribute"]]
    chosen = np.flatnonzero(np.isin(values, vector["negative"])).tolist()
    return (chosen + [i for i in range(n) if i not in chosen])[:per_contrast]


def render_attributes(figs, o, path, write: bool = True) -> dict:
    """``vaelab plot RUN attributes``: attribute vectors added to test images (``RunFigures.attributes``).

    Args:
        figs: a ``vaelab.viz.render.RunFigures``. o: a ``vaelab.core.commands.AttributesPlot``.
        path: the PNG to write. write: False builds the figure only.

    Raises:
        ConfigError: an unknown attribute, an index out of range, or no contrast with images in both groups.
    """
    vectors = _vectors(figs, o.attributes)
    faces = np.asarray([_faces(figs, v, o.indices, o.per_contrast) for v in vectors])  # (V, F)
    test_codes = figs.codes()
    codes = np.stack(
        [attribute_codes(test_codes[f], v["vector"][None], o.alphas)[0] for f, v in zip(faces, vectors, strict=True)]
    )
    images = decode_codes(figs.model, codes)
    names = [f"{v['name']}\n({v['n_positive']} vs {v['n_negative']} images)" for v in vectors]
    title = f"{figs.name}: attribute vectors (means of training codes) added to test images"
    fig = attribute_figure(figs.test.images.numpy()[faces], images, names, o.alphas, title)
    files = [save_figure(fig, path, figs.dpi)] if write else []
    out = {"figure": fig, "files": files, "vectors": vectors, "indices": faces, "alphas": list(o.alphas)}
    return {**out, "codes": codes, "images": images}
