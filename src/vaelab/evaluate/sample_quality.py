"""How good a model's samples are: the Fréchet distance and k-NN precision and recall in the feature space of the
dataset's own reference classifier (``vaelab.evaluate.reference_classifier``).

* Fréchet distance between the Gaussians fitted to two feature sets (Dowson & Landau 1982; used on Inception
  features by Heusel et al. 2017 as "FID"):

      d^2 = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))

  with the matrix square root of scipy.linalg.sqrtm. vaelab computes it on the 128 penultimate-layer features of
  its own classifier of the dataset, never on Inception features, so it is named "Fréchet distance, vaelab
  <dataset> classifier features" and is not comparable with published FIDs.
* Precision and recall of Kynkäänniemi, Karras, Laine, Lehtinen & Aila, *Improved Precision and Recall Metric for
  Assessing Generative Models*, NeurIPS 2019: each set's manifold is the union of balls around its points whose
  radius is the distance to the point's k-th nearest neighbour in the same set (k = 3 by default). Precision is
  the share of samples inside the real images' manifold (are the samples realistic?), recall the share of real
  images inside the samples' manifold (is the data's variety covered?).

The reference floor: the same numbers for N training images against the test images, what a model that
reproduced the data exactly would score at this N (the Fréchet distance is biased upwards at small N).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.linalg
import torch

from vaelab.core.errors import ConfigError
from vaelab.data import dataset_label, load_dataset_from_config
from vaelab.evaluate.reference_classifier import classifier_for_dataset

DEFAULT_K = 3
DISPLAY_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "emoji": "emoji", "celeba": "CelebA"}


def feature_statistics(features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(F,)`` and covariance ``(F, F)`` (unbiased, float64) of features ``(N, F)``, N >= 2."""
    x = features.double().numpy()
    return x.mean(0), np.cov(x, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet (2-Wasserstein) distance squared between N(mu1, sigma1) and N(mu2, sigma2) (module docstring).

    Args:
        mu1, mu2: means ``(F,)``. sigma1, sigma2: covariances ``(F, F)``.

    Returns:
        d^2 >= 0 (in squared feature units). When the product of the covariances is singular (scipy warns), 1e-6
        is added to their diagonals (as pytorch-fid does); a negligible imaginary part of the root is dropped.

    Raises:
        ConfigError: shapes that do not match.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ConfigError(f"Fréchet distance: means {mu1.shape}/{mu2.shape} and covariances {s1.shape}/{s2.shape}")
    covmean = _sqrtm(s1 @ s2)
    if covmean is None:  # singular (features that never vary, such as dead ReLU units)
        eps = 1e-6 * np.eye(len(mu1))
        covmean = _sqrtm((s1 + eps) @ (s2 + eps), strict=False)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean), 0.0))


def _sqrtm(a: np.ndarray, strict: bool = True) -> np.ndarray | None:
    """scipy.linalg.sqrtm of ``a``; None if ``strict`` and scipy finds ``a`` singular or the result not finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("error" if strict else "ignore", scipy.linalg.LinAlgWarning)
        try:
            root = scipy.linalg.sqrtm(a)
        except scipy.linalg.LinAlgWarning:
            return None
    return root if np.isfinite(root).all() or not strict else None


def knn_radii(features: torch.Tensor, k: int = DEFAULT_K, chunk: int = 1024) -> torch.Tensor:
    """Distance of each point of ``features (N, F)`` to its k-th nearest other point (Euclidean; torch.cdist in
    chunks of ``chunk`` rows): ``(N,)``. Raises ConfigError unless 1 <= k < N."""
    n = len(features)
    if not 1 <= int(k) < n:
        raise ConfigError(f"k = {k}: expected 1 <= k < {n} (the number of points)")
    x = features.double()
    # the (k + 1)-th smallest distance of a row: the point itself is its own nearest, at 0
    return torch.cat([torch.cdist(x[i : i + chunk], x).kthvalue(int(k) + 1, 1).values for i in range(0, n, chunk)])


def manifold_coverage(query: torch.Tensor, support: torch.Tensor, radii: torch.Tensor, chunk: int = 1024) -> float:
    """Share of ``query (M, F)`` points inside the union of balls around ``support (N, F)`` of radii ``(N,)``
    (Kynkäänniemi et al. 2019, eq. 1-2)."""
    if len(query) == 0:
        return float("nan")
    s = support.double()
    inside = [
        (torch.cdist(query[i : i + chunk].double(), s) <= radii[None]).any(1) for i in range(0, len(query), chunk)
    ]
    return float(torch.cat(inside).double().mean())


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = DEFAULT_K) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of ``fake (M, F)`` against ``real (N, F)``
    features: ``(precision, recall)``, each in [0, 1]."""
    return (
        manifold_coverage(fake, real, knn_radii(real, k)),
        manifold_coverage(real, fake, knn_radii(fake, k)),
    )


def compare_features(real: torch.Tensor, fake: torch.Tensor, k: int = DEFAULT_K) -> dict:
    """Fréchet distance, precision and recall of ``fake`` against ``real`` features, as a JSON-ready dict."""
    precision, recall = precision_recall(real, fake, k)
    return {
        "frechet_distance": frechet_distance(*feature_statistics(fake), *feature_statistics(real)),
        "precision": precision,
        "recall": recall,
    }


@torch.no_grad()
def draw_samples(model, n: int, seed: int = 0, batch_size: int = 500) -> torch.Tensor:
    """``n`` samples of ``model`` (its ``sample``: decoder means at codes drawn from the prior), ``(n, C, H, W)``
    on the CPU, drawn in batches from one CPU generator seeded with ``seed``."""
    model.eval()
    g = torch.Generator().manual_seed(int(seed))
    parts = [model.sample(min(batch_size, n - i), g).float().cpu() for i in range(0, n, batch_size)]
    return torch.cat(parts).clamp(0.0, 1.0)


def sample_scores(model, classifier, train, test, n: int, k: int = DEFAULT_K, seed: int = 0) -> dict:
    """The sample scores of ``model`` on a dataset: what ``vaelab evaluate --samples N`` adds to eval.json.

    Args:
        model: a model with ``sample(n, generator)``. classifier: the dataset's reference classifier (``embed``).
        train, test: ``ImageDataset`` splits (pixels in [0, 1]); the first ``min(n, len(test))`` test images are the
            reference set, ``n`` training images drawn with ``seed`` the floor's.
        n: number of samples N (>= k + 1). k: the neighbourhood size of precision and recall.

    Returns:
        ``{"n_samples", "n_test", "name", "feature_space", "frechet_distance", "precision", "recall", "k",
        "reference": {"what", "frechet_distance", "precision", "recall"}, "samples", "seed", "seconds"}``.

    Raises:
        ConfigError: n < k + 1, or images whose shape the classifier was not built for.
    """
    n = int(n)
    if n < int(k) + 1:
        raise ConfigError(f"--samples {n}: expected at least k + 1 = {int(k) + 1} samples")
    shape = tuple(classifier.config.image_shape)
    if tuple(test.image_shape) != shape:
        raise ConfigError(f"images {test.image_shape}: the reference classifier was built for {shape}")
    t0 = time.perf_counter()
    label = DISPLAY_NAMES.get(test.name, dataset_label(test.name))
    real = classifier.embed(test.images[:n])
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(int(seed)))[: len(real)]
    floor = compare_features(real, classifier.embed(train.images[pick]), k)
    scores = compare_features(real, classifier.embed(draw_samples(model, n, seed)), k)
    return {
        "n_samples": n,
        "n_test": len(real),
        "name": f"Fréchet distance, vaelab {label} classifier features",
        "feature_space": f"the {real.shape[1]} penultimate-layer features of vaelab's {label} reference classifier "
        "(not Inception features: not comparable with published FIDs)",
        **scores,
        "k": int(k),
        "reference": {"what": f"{len(pick)} training images against the test images", **floor},
        "samples": "decoder means at codes drawn from the prior (model.sample), clamped to [0, 1]",
        "seed": int(seed),
        "seconds": time.perf_counter() - t0,
    }


def evaluate_samples(model, dataset: dict, n: int, data_dir=None, k: int = DEFAULT_K, seed: int = 0, progress=True):
    """``sample_scores`` of a run's model on the data it was trained on, with the dataset's cached reference
    classifier (trained on first use: ``reference_classifier.classifier_for_dataset``).

    Args:
        model: the run's model. dataset: its ``config.json`` ``dataset`` section. n: samples N. data_dir: where
            the data lives (default: as recorded). k, seed: as ``sample_scores``. progress: training messages.

    Returns:
        ``sample_scores``'s dict plus ``classifier`` (its folder) and ``classifier_test_accuracy``.

    Raises:
        ConfigError: an unlabelled dataset (no classifier can be trained), or as ``sample_scores``.
    """
    train = load_dataset_from_config(dataset, "train", data_dir)
    if train.labels is None:
        raise ConfigError(
            f"--samples: dataset {dataset['name']} has no labels, so it has no reference classifier to give the "
            "sample scores' feature space; expected a labelled dataset (e.g. mnist)"
        )
    test = load_dataset_from_config(dataset, "test", data_dir)
    classifier, path, info = classifier_for_dataset(dataset, data_dir, progress=progress)
    out = sample_scores(model, classifier, train, test, n, k, seed)
    out["classifier"] = str(path)
    out["classifier_test_accuracy"] = info.get("test_accuracy")
    return out
