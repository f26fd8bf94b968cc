"""Codes above 2-D: a 2-D embedding for the latent scatter (t-SNE, UMAP, PCA) and TensorBoard's projector.

* t-SNE: van der Maaten & Hinton, *Visualizing Data using t-SNE*, JMLR 2008 (scikit-learn's ``TSNE``).
* UMAP: McInnes, Healy & Melville, 2018 (the ``umap-learn`` package, used only when installed).
* The projector export follows TensorBoard's embedding-projector format (``tensors.tsv``, ``metadata.tsv``,
  ``sprite.png``, ``projector_config.pbtxt``), written by ``torch.utils.tensorboard.SummaryWriter.add_embedding``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
from pathlib import Path

import numpy as np
import torch

from vaelab.core.errors import ConfigError
from vaelab.core.naming import option

METHODS = ("tsne", "umap", "pca")
METHOD_TITLES = {"tsne": "t-SNE", "umap": "UMAP", "pca": "PCA"}


def umap_available() -> bool:
    """True if the optional ``umap-learn`` package can be imported (``--method umap`` needs it)."""
    return importlib.util.find_spec("umap") is not None


def reduce_2d(
    codes: np.ndarray, method: str = "tsne", seed: int = 0, perplexity: float = 30.0, progress: bool = False
) -> np.ndarray:
    """Embed ``(N, D)`` codes in 2-D: ``(N, 2)`` float array.

    Args:
        codes: ``(N, D)`` codes; with D <= 2 they are returned as they are (a 1-D code padded with a zero column).
        method: ``tsne`` (scikit-learn, PCA initialisation), ``umap`` (needs ``umap-learn``) or ``pca``.
        seed: random state of t-SNE / UMAP.
        perplexity: t-SNE perplexity (lowered to (N - 1) / 3 for small N).
        progress: a bar of t-SNE's iterations with the time left (from scikit-learn's own log).

    Returns:
        ``(N, 2)`` coordinates, in the method's own units (not latent units, except for D <= 2).

    Raises:
        ConfigError: unknown method, UMAP not installed, or fewer than 3 codes.
    """
    codes = np.asarray(codes, dtype=np.float32)
    if method not in METHODS:
        raise ConfigError(f"{option('method', method)}: expected one of {list(METHODS)}")
    if len(codes) < 3:
        raise ConfigError(f"{len(codes)} codes: a 2-D embedding needs at least 3 (raise {option('n')})")
    if codes.shape[1] <= 2:
        return codes[:, :2] if codes.shape[1] == 2 else np.concatenate([codes, np.zeros_like(codes)], 1)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(codes)
    if method == "umap":
        if not umap_available():
            raise ConfigError(
                f"{option('method', 'umap')}: the umap-learn package is not installed (pip install umap-learn); use "
                f"{option('method', 'tsne')}"
            )
        import umap

        return np.asarray(umap.UMAP(n_components=2, random_state=seed).fit_transform(codes))
    return _tsne(codes, seed, perplexity, progress)


TSNE_ITERATIONS = 1000  # scikit-learn's default max_iter
TSNE_LINE = re.compile(r"\[t-SNE\] Iteration (\d+):")


class _IterationBar(io.TextIOBase):
    """A text stream for scikit-learn's t-SNE log (``verbose=2``): each ``Iteration N`` line moves a tqdm bar of
    ``TSNE_ITERATIONS`` (with its time left); the other lines are dropped."""

    def __init__(self, n: int):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=TSNE_ITERATIONS, desc=f"t-SNE of {n:,} codes", unit="it", leave=False)

    def write(self, text: str) -> int:
        for match in TSNE_LINE.finditer(text):
            self.bar.update(int(match.group(1)) - self.bar.n)
        return len(text)


def _tsne(codes: np.ndarray, seed: int, perplexity: float, progress: bool) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = min(float(perplexity), (len(codes) - 1) / 3.0)
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, verbose=2 if progress else 0)
    if not progress:
        return tsne.fit_transform(codes)
    stream = _IterationBar(len(codes))
    try:
        with contextlib.redirect_stdout(stream):
            return tsne.fit_transform(codes)
    finally:
        stream.bar.close()


def write_projector(log_dir: str | Path, codes, labels, images, tag: str = "test_codes") -> dict:
    """Export codes for TensorBoard's embedding projector (``tensorboard --logdir <parent of log_dir>``).

    Args:
        log_dir: folder that becomes one TensorBoard run (e.g. ``RUN/tensorboard/projector``); emptied first.
        codes: ``(N, D)`` codes. labels: ``(N,)`` classes or None. images: ``(N, C, H, W)`` in [0, 1], the
            sprite thumbnails (C = 1 or 3).

    Returns:
        ``{"config", "tensors", "metadata", "sprite"}`` paths (metadata None without labels). The metadata file
        has a header row ``label\\tindex`` then one row per code; the sprite is a square grid of ceil(sqrt(N))
        images per side, row-major, no padding, as the projector expects.

    Raises:
        ValueError: ``codes``, ``images`` and ``labels`` differ in length.
    """
    import shutil

    from torch.utils.tensorboard import SummaryWriter

    log_dir = Path(log_dir)
    codes = torch.as_tensor(np.asarray(codes, dtype=np.float32))
    images = torch.as_tensor(images).float().clamp(0, 1)
    if len(codes) != len(images) or (labels is not None and len(labels) != len(codes)):
        raise ValueError(
            f"{len(codes)} codes, {len(images)} images, "
            f"{None if labels is None else len(labels)} labels: expected equal counts"
        )
    if log_dir.exists():
        shutil.rmtree(log_dir)
    writer = SummaryWriter(str(log_dir))
    metadata = None
    if labels is not None:
        metadata = [[int(y), i] for i, y in enumerate(np.asarray(labels).tolist())]
    writer.add_embedding(
        codes,
        metadata=metadata,
        label_img=images,
        global_step=0,
        tag=tag,
        metadata_header=["label", "index"] if metadata is not None else None,
    )
    writer.close()
    sub = log_dir / "00000" / tag
    return {
        "config": log_dir / "projector_config.pbtxt",
        "tensors": sub / "tensors.tsv",
        "metadata": sub / "metadata.tsv" if metadata is not None else None,
        "sprite": sub / "sprite.png",
    }
