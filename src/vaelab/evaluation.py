"""Evaluation: ELBO terms, the importance-weighted estimate of log p(x), active units; reconstruction error and
PSNR for deterministic models (``evaluate`` picks what fits the model).

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

from vaelab.data import ImageDataset
from vaelab.data.binarize import STATIC_TEST_SEED, binarize_static
from vaelab.errors import ConfigError
from vaelab.likelihoods import gaussian_kl_standard_normal
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
        return binarize_static(images, STATIC_TEST_SEED), f"static: one Bernoulli sample of the grey images, seed {STATIC_TEST_SEED}"
    if mode == "none":
        return images, "none: grey pixels in [0, 1]"
    raise ConfigError(f"binarize={binarize!r}: expected 'static' or 'none' for evaluation")


def evaluate(
    model: LatentModel,
    data: ImageDataset,
    k: int = 1000,
    batch_size: int = 100,
    chunk: int | None = None,
    seed: int = 0,
    binarize: str | None = None,
    progress: bool = True,
) -> dict:
    """Test-set numbers of any model, as a JSON-ready dict (what ``vaelab evaluate`` writes to eval.json).

    * models with importance weights (``vae``, ``conv-vae``, ``guided-vae``): ``evaluate_nll`` (NLL, ELBO, KL,
      active units); the guided VAE adds its classifier's test accuracy (``classifier_accuracy``);
    * deterministic models and PCA: ``evaluate_reconstruction`` (squared error per image, per-pixel MSE, PSNR);
      the denoising autoencoder adds PSNR of noisy vs denoised images (``denoising_psnr``).

    Raises:
        ConfigError: K < 1 or a bad ``binarize``.
    """
    if hasattr(model, "log_weights"):
        result = evaluate_nll(model, data, k, batch_size, chunk, seed, binarize, progress)
        if hasattr(model, "classify") and data.labels is not None:
            result["classifier_accuracy"] = classifier_accuracy(model, data)
            result["classifier_note"] = "test accuracy of the guided VAE's own classifier on grey images"
        if model.likelihood == "gaussian":
            result["nll_note"] = ("Gaussian density of grey pixels (continuous): not comparable to Bernoulli NLLs "
                                  "on binarized MNIST" + ("; conditional on the classifier's softmax"
                                                          if hasattr(model, "classify") else ""))
        return result
    return evaluate_reconstruction(model, data, seed=seed)


def evaluate_reconstruction(model: LatentModel, data: ImageDataset, seed: int = 0) -> dict:
    """Test reconstruction numbers of a deterministic model (autoencoders, PCA) on grey pixels.

    Returns: ``sq_error`` (squared error per image summed over pixels, mean over images), ``mse_per_pixel``,
    ``psnr_db`` (mean over images of 10 log10(1 / MSE), pixels in [0, 1]), ``active_units`` (code dims with
    variance > 0.01), and for a denoising autoencoder the ``denoising_psnr`` numbers.
    """
    from vaelab.latent_metrics import encode_means, reconstruction_error

    t0 = time.perf_counter()
    model.eval()
    result = {
        "dataset": data.name,
        "split": data.split,
        "n_images": len(data),
        "likelihood": model.likelihood,
        "binarization": "none: grey pixels in [0, 1]",
        "units": "sq_error: squared error per image summed over pixels; mse_per_pixel; psnr_db in dB",
    }
    result.update(reconstruction_error(model, data.images))
    mus = encode_means(model, data.images)
    result["active_units"] = active_units(mus)
    result["active_unit_threshold"] = ACTIVE_UNIT_THRESHOLD
    result["latent_dim"] = int(mus.shape[1])
    if getattr(model, "denoising", False):
        result.update(denoising_psnr(model, data.images, seed))
    result["seed"] = seed
    result["seconds"] = time.perf_counter() - t0
    return result


@torch.no_grad()
def denoising_psnr(model, images: torch.Tensor, seed: int = 0, batch_size: int = 500) -> dict:
    """PSNR (dB, mean over images) of the model's corrupted images and of their denoised versions, both against
    the clean ``images (N, C, H, W)``; the corruption is the model's own (``model.corrupt``) with seed ``seed``."""
    from vaelab.latent_metrics import psnr

    g = torch.Generator(device=model.device).manual_seed(seed)
    noisy_err, den_err = [], []
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(model.device)
        xn = model.corrupt(x, g)
        noisy_err.append((xn - x).flatten(1).pow(2).mean(1).cpu())
        den_err.append((model.reconstruct(xn) - x).flatten(1).pow(2).mean(1).cpu())
    return {"noise": model.config.noise, "noise_level": float(model.config.noise_level),
            "psnr_noisy_db": psnr(torch.cat(noisy_err)), "psnr_denoised_db": psnr(torch.cat(den_err))}


@torch.no_grad()
def classifier_accuracy(model, data: ImageDataset, batch_size: int = 1000) -> float:
    """Share of ``data`` images whose ``model.classify`` argmax equals the label."""
    correct = 0
    for i in range(0, len(data), batch_size):
        logits = model.classify(data.images[i : i + batch_size].to(model.device))
        correct += int((logits.argmax(-1).cpu() == data.labels[i : i + batch_size]).sum())
    return correct / max(len(data), 1)


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
    if not hasattr(model, "log_weights"):
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
