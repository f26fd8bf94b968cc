"""The importance-weighted estimate of log p(x), ELBO terms and active units of probabilistic models.

The importance-weighted bound (Burda, Grosse & Salakhutdinov, *Importance Weighted Autoencoders*, 2015):

    log p(x) >= L_K = E[ log 1/K sum_k p(x, z_k) / q(z_k | x) ],   z_k ~ q(z | x)

is used, as in the literature, as the estimate of log p(x) with a large K (default 1000). It is computed per
image, vectorised over a batch of images and over K in chunks, with a running logsumexp. All numbers are nats
per image, averaged over the split; standard errors are over images (std / sqrt(N)).
"""

from __future__ import annotations

import math
import time

import torch

from vaelab.core.errors import ConfigError
from vaelab.core.likelihoods import gaussian_kl_standard_normal
from vaelab.data import ImageDataset
from vaelab.data.binarize import STATIC_TEST_SEED, binarize_static
from vaelab.models import LatentModel

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. 2015: unit u is active if Cov_x(E_q[z_u]) > 0.01


@torch.inference_mode()
def iw_log_likelihood(model, x: torch.Tensor, k: int, chunk: int = 100, generator=None):
    """Per-image importance-weighted estimate of log p(x) and the K-sample ELBO estimate.

    Args:
        model: a model with ``log_weights(x, k, generator) -> (k, N)``.
        x: ``(N, C, H, W)`` on the model's device (binarized for a Bernoulli model).
        k: number of importance samples K.
        chunk: samples drawn at once (memory ~ chunk * N * pixels floats).

    Returns:
        ``(log_px, elbo)``, each ``(N,)`` in nats: logsumexp_k(w_k) - log K, and mean_k(w_k).
    """
    lse_parts, sums = [], torch.zeros(x.shape[0], device=x.device, dtype=torch.float64)
    done = 0
    while done < k:
        c = min(chunk, k - done)
        w = model.log_weights(x, c, generator=generator)  # (c, N)
        lse_parts.append(torch.logsumexp(w, 0))
        sums += w.double().sum(0)
        done += c
    log_px = torch.logsumexp(torch.stack(lse_parts), 0) - math.log(k)
    return log_px, (sums / k).float()


def _binarize_for(model: LatentModel, images: torch.Tensor, binarize: str | None):
    mode = binarize or ("static" if model.likelihood == "bernoulli" else "none")
    if mode == "static":
        return binarize_static(
            images, STATIC_TEST_SEED
        ), f"static: one Bernoulli sample of the grey images, seed {STATIC_TEST_SEED}"
    if mode == "none":
        return images, "none: grey pixels in [0, 1]"
    raise ConfigError(f"binarize={binarize!r}: expected 'static' or 'none' for evaluation")


def evaluate_nll(
    model: LatentModel,
    data: ImageDataset,
    k: int = 1000,
    batch_size: int = 100,
    chunk: int | None = None,
    seed: int = 0,
    binarize: str | None = None,
    progress: bool = True,
) -> dict:
    """Test-set numbers of a probabilistic model, as a JSON-ready dict.

    Returns: ``nll`` (-log p(x) estimate with K samples) and ``nll_stderr``, ``elbo``, ``recon_nll``, ``kl``
    (analytic), ``active_units``, all nats per image averaged over the split, plus what they were measured on.

    Raises:
        ConfigError: K < 1, or a model without a probabilistic encoder (use its own evaluation).
    """
    from tqdm.auto import tqdm

    if int(k) < 1:
        raise ConfigError(f"--k {k}: expected an integer >= 1 importance samples")
    if not model.has_importance_weights:
        raise ConfigError(f"model {type(model).__name__} has no importance weights (not a VAE); no NLL to estimate")
    device = model.device
    model.eval()
    x_all, bin_note = _binarize_for(model, data.images, binarize)
    P = model.num_pixels
    chunk = chunk or max(1, min(int(k), 4_000_000 // (batch_size * P) or 1))
    g = torch.Generator(device=device).manual_seed(seed)
    log_px, elbo, kl, mus = [], [], [], []
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in tqdm(range(0, len(x_all), batch_size), desc=f"log p(x), K={k}", disable=not progress, leave=False):
            x = x_all[i : i + batch_size].to(device)
            lp, el = iw_log_likelihood(model, x, int(k), chunk, g)
            mu, logvar = model.encode(x)
            log_px.append(lp.cpu())
            elbo.append(el.cpu())
            kl.append(gaussian_kl_standard_normal(mu, logvar).cpu())
            mus.append(mu.cpu())
    seconds = time.perf_counter() - t0
    log_px, elbo, kl, mus = torch.cat(log_px), torch.cat(elbo), torch.cat(kl), torch.cat(mus)
    n = len(log_px)
    se = lambda t: float(t.double().std() / math.sqrt(n)) if n > 1 else float("nan")  # noqa: E731
    return {
        "dataset": data.name,
        "split": data.split,
        "n_images": n,
        "likelihood": model.likelihood,
        "binarization": bin_note,
        "k": int(k),
        "units": "nats per image (sum over pixels), mean over the split",
        "nll": float(-log_px.double().mean()),
        "nll_stderr": se(log_px),
        "elbo": float(elbo.double().mean()),
        "elbo_stderr": se(elbo),
        "recon_nll": float(-(elbo + kl).double().mean()),
        "kl": float(kl.double().mean()),
        "active_units": active_units(mus),
        "active_unit_threshold": ACTIVE_UNIT_THRESHOLD,
        "latent_dim": int(mus.shape[1]),
        "seed": seed,
        "seconds": seconds,
    }


def active_units(mu: torch.Tensor, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """Number of latent dimensions u with Var_x(mu_u(x)) > ``threshold`` (``mu`` is ``(N, D)``)."""
    return int((mu.double().var(0) > threshold).sum())
