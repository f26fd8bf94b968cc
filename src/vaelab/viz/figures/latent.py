"""The ``latent`` figure of a run (``vaelab plot RUN latent``, ``Run.plot("latent")``):
test codes coloured by class (t-SNE, UMAP or PCA above 2-D).

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.core.errors import ConfigError
from vaelab.core.naming import option
from vaelab.viz.embedding import METHOD_TITLES, reduce_2d
from vaelab.viz.latent import latent_figure
from vaelab.viz.style import save_figure

KIND = "latent"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """Test codes coloured by class, class centres labelled; codes above 2-D through ``method``.

    Args:
        n: first n test images (default: all for 2-D codes, 5,000 for an embedding).
        method: ``tsne``, ``umap`` or ``pca`` (codes above 2-D; see ``vaelab.viz.embedding.reduce_2d``).
        perplexity: t-SNE perplexity. seed: random state of the embedding.
        out: the file to write instead of the default in ``RUN/figures/``. write: False builds the figure only.

    Returns:
        ``{"figure", "files": [latent.png or latent-<method>.png], "coords" (n, 2), "centres" {class: (2,)},
        "codes" (n, D), "labels" (n,) or None}``.

    Raises:
        ConfigError: fewer than 3 codes, an unknown method, or UMAP not installed.
    """
    n, method, perplexity, seed = o.n, o.method, o.perplexity, o.seed
    codes, labels = figs.codes(), figs.labels
    d = codes.shape[1]
    n = int(n) if n is not None else (len(codes) if d <= 2 else 5000)
    if n < 3:
        raise ConfigError(f"{option('n', n)}: expected at least 3 codes")
    codes = codes[:n]
    labels = None if labels is None else labels[:n]
    kind = "posterior means" if figs.probabilistic else "codes"
    if d <= 2:
        coords, axis, title = codes, ("$z_1$", "$z_2$"), f"{len(codes):,} test {kind}, {d}-D latent"
        path = out or figs.out("latent.png")
    else:
        if figs.progress:
            slow = (
                f", minutes on a CPU for thousands (fewer with {option('n')}; {option('method', 'pca')} takes seconds)"
            )
            print(
                f"{METHOD_TITLES[method]} of {len(codes):,} {d}-D codes{slow if method == 'tsne' else ''} ...",
                flush=True,
            )
        coords = reduce_2d(codes, method, seed=seed, perplexity=perplexity, progress=figs.progress)
        m = METHOD_TITLES[method]
        axis, title = (f"{m} 1", f"{m} 2"), f"{m} of {len(codes):,} test {kind} ({d}-D latent)"
        path = out or figs.out(f"latent-{method}.png")
    res = latent_figure(
        coords,
        labels,
        f"{figs.name}: {title}",
        axis,
        point_size=4.0 if len(codes) > 3000 else 10.0,
        class_names=figs.class_names,
    )
    return {
        "figure": res["figure"],
        "files": [save_figure(res["figure"], path, figs.dpi)] if write else [],
        "coords": res["coords"],
        "centres": res["centres"],
        "codes": codes,
        "labels": labels,
    }
