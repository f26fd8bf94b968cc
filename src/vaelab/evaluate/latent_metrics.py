"""Measured properties of a latent space, for comparing models (``vaelab compare``, ``vaelab subspace``).

* completeness: the share of codes z ~ N(0, I) whose decoded image the reference classifier labels with
  confidence >= 0.9 (a decoded image that no class fits well is taken as a "hole" in the latent space); also
  ``completeness_fitted``, the same with z drawn from a Gaussian fitted to the model's training codes (the
  model's own scale); and ``classes_reached``, how many classes receive at least 1% of the prior samples
  (confidently): a latent space whose prior region decodes to only a few digits is not complete either;
* continuity: for z ~ N(0, I) and a random unit direction u, the mean absolute pixel change
  ``mean_j |decode(z + h u)_j - decode(z)_j| / h`` (pixels in [0, 1], per unit of latent distance, h = 0.05);
  reported as its mean and spread (standard deviation and 95th percentile) over the pairs: a large spread means
  the decoder jumps somewhere;
* k-NN accuracy of the codes: a k-nearest-neighbour classifier (scikit-learn, k = 5, Euclidean) fitted on the
  codes (encoder means) of training images, scored on test codes;
* reconstruction error: squared error per image summed over pixels of decode(mu(x)) against the grey test
  image, with the per-pixel MSE and the PSNR (10 log10(1 / MSE) per image, averaged).
* subspace comparison (linear autoencoder vs PCA): principal angles between the decoder's column space and
  PCA's subspace (scipy.linalg.subspace_angles), and how far the decoder's basis is from PCA's basis.
"""

from __future__ import annotations

import math

import numpy as np
import torch

COMPLETENESS_CONFIDENCE = 0.9
CONTINUITY_STEP = 0.05
CLASS_REACHED_SHARE = 0.01  # a class is "reached" if >= 1% of the prior samples decode confidently to it


@torch.no_grad()
def encode_means(model, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Encoder means (the code of a deterministic model) ``(N, D)`` on the CPU for ``images (N, C, H, W)``."""
    dev = model.device
    return torch.cat(
        [model.encode(images[i : i + batch_size].to(dev))[0].cpu() for i in range(0, len(images), batch_size)]
    )


@torch.no_grad()
def decode_batched(model, z: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    dev = model.device
    return torch.cat([model.decode(z[i : i + batch_size].to(dev)).cpu() for i in range(0, len(z), batch_size)])


@torch.no_grad()
def reconstruction_error(model, images: torch.Tensor, batch_size: int = 500) -> dict:
    """Squared error of ``decode(mu(x))`` per image (sum over pixels), per-pixel MSE and PSNR in dB.

    ``images (N, C, H, W)`` grey pixels in [0, 1]. Returns floats: ``sq_error`` (mean over images),
    ``mse_per_pixel``, ``psnr_db`` (mean over images of 10 log10(1 / per-image MSE)).
    """
    dev = model.device
    errs = []
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(dev)
        errs.append((model.reconstruct(x) - x).flatten(1).pow(2).sum(1).cpu())
    err = torch.cat(errs).double()
    return _error_summary(err, images[0].numel())


def _error_summary(err: torch.Tensor, pixels: int) -> dict:
    mse = err / pixels
    return {"sq_error": float(err.mean()), "mse_per_pixel": float(mse.mean()), "psnr_db": psnr(mse)}


def psnr(mse_per_image: torch.Tensor) -> float:
    """Mean over images of 10 log10(1 / MSE) (pixels in [0, 1]); MSE floored at 1e-10."""
    return float((10 * torch.log10(1.0 / mse_per_image.double().clamp_min(1e-10))).mean())


@torch.no_grad()
def completeness(
    model,
    classifier,
    n: int = 2000,
    seed: int = 0,
    confidence: float = COMPLETENESS_CONFIDENCE,
    codes: torch.Tensor | None = None,
) -> dict:
    """Share of n codes z ~ N(0, I) whose decoding ``classifier`` labels with max softmax >= ``confidence``.

    With ``codes (M, D)`` (e.g. encoder means of training images), z is drawn instead from the Gaussian fitted to
    them, N(mean, cov): the same question asked at the model's own scale (an autoencoder's codes need not be
    near N(0, I)).

    Returns: ``completeness`` (share), ``n``, ``confidence``, ``class_counts`` (confident labels per class).
    """
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.latent_dim, generator=g)
    if codes is not None:  # a Gaussian fitted to the model's own codes: mean + Cholesky(cov) @ eps
        c = codes.double()
        cov = torch.cov(c.T).reshape(c.shape[1], c.shape[1]) + 1e-9 * torch.eye(c.shape[1], dtype=c.dtype)
        z = (c.mean(0) + z.double() @ torch.linalg.cholesky(cov).T).float()
    probs = classifier.predict_proba(decode_batched(model, z))
    conf, label = probs.max(1)
    ok = conf >= confidence
    counts = torch.bincount(label[ok], minlength=probs.shape[1]).tolist()
    reached = sum(c >= CLASS_REACHED_SHARE * n for c in counts)
    return {
        "completeness": float(ok.double().mean()),
        "n": n,
        "confidence": confidence,
        "class_counts": counts,
        "classes_reached": int(reached),
    }


@torch.no_grad()
def continuity(model, n: int = 2000, step: float = CONTINUITY_STEP, seed: int = 0) -> dict:
    """Mean absolute pixel change of the decoded image per unit step in latent space (module docstring).

    Returns: ``continuity_mean``, ``continuity_std``, ``continuity_p95`` (pixel change per unit of z), ``n``,
    ``step``.
    """
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.latent_dim, generator=g)
    u = torch.randn(n, model.latent_dim, generator=g)
    u = u / u.norm(dim=1, keepdim=True)
    a, b = decode_batched(model, z), decode_batched(model, z + step * u)
    rate = (b - a).abs().flatten(1).mean(1).double() / step
    return {
        "continuity_mean": float(rate.mean()),
        "continuity_std": float(rate.std()),
        "continuity_p95": float(rate.quantile(0.95)),
        "n": n,
        "step": step,
    }


def knn_accuracy(train_codes, train_labels, test_codes, test_labels, k: int = 5) -> float:
    """Test accuracy of scikit-learn's k-NN classifier (Euclidean) fitted on the training codes."""
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=k).fit(np.asarray(train_codes), np.asarray(train_labels))
    return float(knn.score(np.asarray(test_codes), np.asarray(test_labels)))


def latent_properties(
    model, classifier, train, test, n_prior: int = 2000, knn_train: int = 10000, k: int = 5, seed: int = 0
) -> dict:
    """All the properties of the module docstring for one model: ``train`` / ``test`` are ``ImageDataset``s with
    labels (grey pixels); ``classifier`` a reference classifier (``predict_proba``)."""
    tr = train.subset(knn_train)
    out = {"latent_dim": model.latent_dim}
    out.update(completeness(model, classifier, n_prior, seed))
    out.update(continuity(model, n_prior, seed=seed))
    train_codes = encode_means(model, tr.images)
    fitted = completeness(model, classifier, n_prior, seed, codes=train_codes)
    out["completeness_fitted"] = fitted["completeness"]
    out["knn_k"] = k
    out["knn_train_images"] = len(tr)
    out["knn_accuracy"] = knn_accuracy(train_codes, tr.labels, encode_means(model, test.images), test.labels, k)
    out.update(reconstruction_error(model, test.images))
    return out


def subspace_comparison(decoder_weight: torch.Tensor, pca_components: torch.Tensor) -> dict:
    """Linear autoencoder's decoder ``W (P, D)`` against PCA's components ``V (D, P)`` (orthonormal rows).

    Returns lists (one entry per dimension, floats in degrees unless said):
      ``principal_angles_deg``: between span(W) and span(V^T), largest first;
      ``column_norms``: |w_i| (PCA's basis vectors have norm 1);
      ``angle_to_pc_i_deg``: angle between w_i and the i-th principal component (sign ignored);
      ``closest_pc`` and ``closest_pc_angle_deg``: the best-aligned principal component of each w_i;
      ``max_column_cosine``: the largest |cos| between two different columns (0 for an orthogonal basis).
    """
    from scipy.linalg import subspace_angles

    W = decoder_weight.detach().double().cpu().numpy()
    V = pca_components.detach().double().cpu().numpy()
    angles = np.degrees(subspace_angles(W, V.T))
    Wn = W / np.linalg.norm(W, axis=0, keepdims=True)
    cos = np.abs(Wn.T @ V.T)  # (D, D): |cos(w_i, v_j)|
    gram = np.abs(Wn.T @ Wn) - np.eye(W.shape[1])
    deg = lambda c: float(math.degrees(math.acos(min(1.0, float(c)))))  # noqa: E731
    return {
        "principal_angles_deg": [float(a) for a in angles],
        "max_principal_angle_deg": float(angles.max()),
        "column_norms": [float(v) for v in np.linalg.norm(W, axis=0)],
        "angle_to_pc_i_deg": [deg(cos[i, i]) for i in range(W.shape[1])],
        "closest_pc": [int(j) + 1 for j in cos.argmax(1)],
        "closest_pc_angle_deg": [deg(c) for c in cos.max(1)],
        "max_column_cosine": float(gram.max()) if W.shape[1] > 1 else 0.0,
    }
