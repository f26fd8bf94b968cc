"""The importance-weighted estimate of log p(x), ELBO terms and active units of probabilistic models.

The importance-weighted bound (Burda, Grosse & Salakhutdinov, *Importance Weighted Autoencoders*, 2015):

    log p(x) >= L_K = E[ log 1/K sum_k p(x, z_k) / q(z_k | x) ],   z_k ~ q(z | x)

is used, as in the literature, as the estimate of log p(x) with a large K (default ``DEFAULT_K`` = 1000, declared
with ``vaelab evaluate``'s options in ``vaelab.core.commands``). It is computed per
image, vectorised over a batch of images and over K in chunks, with a running logsumexp. All numbers are nats
per image, averaged over the split; standard errors are over images (std / sqrt(N)).
"""

from __future__ import annotations

import math
import time

import torch

from vaelab.core.commands import DEFAULT_K
from vaelab.core.errors import ConfigError
from vaelab.core.likelihoods import DISCRETE_LIKELIHOODS, bits_per_dim, discretization_offset
from vaelab.core.naming import option
from vaelab.data import ImageDataset
from vaelab.data.binarize import STATIC_TEST_SEED, binarize_static
from vaelab.models import LatentModel

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. 2015: unit u is active if Cov_x(E_q[z_u]) > 0.01


NESTED_KS = (1, 10, 100, 1000, 5000)  # the K of the NLL-vs-K diagnostic (those <= the requested K, and K itself)


@torch.inference_mode()
def iw_log_likelihood_nested(model, x: torch.Tensor, k: int, ks=(), chunk: int = 100, generator=None):
    """Per-image importance-weighted estimates of log p(x) for K = k and for each K in ``ks``, from one pass.

    The estimates for the K in ``ks`` use the *first* K of the same k drawn log-weights (nested subsets), so they
    cost nothing extra and show the estimate converging: E[L_K] is non-decreasing in K (Burda et al. 2016,
    Theorem 1).

    Args:
        model: a model with ``log_weights(x, k, generator) -> (k, N)``.
        x: ``(N, C, H, W)`` on the model's device (binarized for a Bernoulli model).
        k: number of importance samples K.
        ks: further K values (each 1 <= K <= k) to report from the first K samples.
        chunk: samples drawn at once (memory ~ chunk * N * pixels floats).
        generator: the ``torch.Generator`` the samples are drawn from (the same state gives the same samples).

    Returns:
        ``(log_px, elbo, nested)``: ``log_px (N,)`` = logsumexp_k(w_k) - log k and ``elbo (N,)`` = mean_k(w_k),
        nats; ``nested`` maps each K of ``ks`` (and k) to its ``(N,)`` estimate, the k entry being ``log_px``
        itself.

    Raises:
        ConfigError: a K of ``ks`` outside 1..k.
    """
    bad = [K for K in ks if not 1 <= int(K) <= k]
    if bad:
        raise ConfigError(f"nested K {bad}: expected values in 1..{k} (the number of importance samples)")
    lse_parts, sums = [], torch.zeros(x.shape[0], device=x.device, dtype=torch.float64)
    nested: dict[int, torch.Tensor] = {}
    done = 0
    while done < k:
        c = min(chunk, k - done)
        w = model.log_weights(x, c, generator=generator)  # (c, N)
        for K in sorted({int(K) for K in ks}):
            if done < K < done + c:  # K falls inside this chunk: the first K - done of its samples
                part = torch.logsumexp(w[: K - done], 0)
                nested[K] = torch.logsumexp(torch.stack([*lse_parts, part]), 0) - math.log(K)
        lse_parts.append(torch.logsumexp(w, 0))
        sums += w.double().sum(0)
        done += c
        for K in ks:
            if int(K) == done:
                nested[int(K)] = torch.logsumexp(torch.stack(lse_parts), 0) - math.log(done)
    log_px = torch.logsumexp(torch.stack(lse_parts), 0) - math.log(k)
    nested[int(k)] = log_px
    return log_px, (sums / k).float(), dict(sorted(nested.items()))


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
    log_px, elbo, _ = iw_log_likelihood_nested(model, x, k, (), chunk, generator)
    return log_px, elbo


def _binarize_for(model: LatentModel, images: torch.Tensor, binarize: str | None):
    mode = binarize or ("static" if model.likelihood == "bernoulli" else "none")
    if mode == "static":
        return binarize_static(
            images, STATIC_TEST_SEED
        ), f"static: one Bernoulli sample of the grey images, seed {STATIC_TEST_SEED}"
    if mode == "none":
        return images, "none: pixel values in [0, 1] (grey or colour)"
    raise ConfigError(f"binarize={binarize!r}: expected 'static' or 'none' for evaluation")


def evaluate_nll(
    model: LatentModel,
    data: ImageDataset,
    k: int = DEFAULT_K,
    batch_size: int = 100,
    chunk: int | None = None,
    seed: int = 0,
    binarize: str | None = None,
    progress: bool = True,
    nested_ks=NESTED_KS,
) -> dict:
    """Test-set numbers of a probabilistic model, as a JSON-ready dict.

    Args:
        model: a model with ``has_importance_weights`` (``log_weights`` and ``latent_statistics``).
        data: the split to measure; k: importance samples K; batch_size: images per pass.
        chunk: samples drawn at once (default: as many as fit in ~4 M pixel values per batch).
        seed: seeds the one generator of every sample drawn (the same seed gives the same numbers).
        binarize: ``static`` (default for Bernoulli models) or ``none``.
        nested_ks: the K of the NLL-vs-K diagnostic; those <= k are reported (``nll_vs_k``).

    Returns:
        All nats per image averaged over the split: ``nll`` (-log p(x) estimate with K samples) and ``nll_stderr``; the
        same in bits per dimension, ``bits_per_dim`` = (nll + ``bits_per_dim_offset``) / (D ln 2) and
        ``bits_per_dim_stderr`` (offset D ln 256 for densities on [0, 1], 0 for discrete models;
        ``vaelab.core.likelihoods.bits_per_dim``); ``nll_vs_k``: ``[{"k", "nll", "nll_stderr"}]`` for each K of
        ``nested_ks`` <= k and k itself, from the first K of the same samples (one pass); ``elbo`` (mean of the K
        log-weights) and ``elbo_stderr``; ``elbo_gap`` = -nll - elbo (>= 0 in expectation: how far the ELBO is below the
        estimate of log p(x)); ``recon_nll`` = -(elbo + kl); ``kl`` and, per stochastic layer (``layers``): its KL,
        ``kl_per_dim`` (list of D_l values), ``active_units`` (Var_x E_q[z_u] > 0.01, Burda et al.) and ``latent_dim``;
        top-level ``active_units`` / ``latent_dim`` summed over layers; ``warnings`` (e.g. more than half a layer's
        units inactive: posterior collapse); and what they were measured on.

    Raises:
        ConfigError: K < 1, or a model without a probabilistic encoder (use its own evaluation).
    """
    if int(k) < 1:
        raise ConfigError(f"{option('k', k)}: expected an integer >= 1 importance samples")
    if not model.has_importance_weights:
        raise ConfigError(f"model {type(model).__name__} has no importance weights (not a VAE); no NLL to estimate")
    k = int(k)
    ks = sorted({int(K) for K in nested_ks if int(K) <= k} | {k})
    model.eval()
    x_all, bin_note = _binarize_for(model, data.images, binarize)
    chunk = chunk or max(1, min(k, 4_000_000 // (batch_size * model.num_pixels) or 1))
    t0 = time.perf_counter()
    log_px, elbo, layers = _measure(model, x_all, k, ks, batch_size, chunk, seed, progress)
    seconds = time.perf_counter() - t0
    n = len(elbo)
    layer_out, warnings, kl_total = _layer_summary(layers, n)
    nll_vs_k = [{"k": K, "nll": float(-log_px[K].double().mean()), "nll_stderr": _stderr(log_px[K])} for K in ks]
    nll = float(-log_px[k].double().mean())
    head = _summary(data, model, n, k, bin_note, nll, _stderr(log_px[k]), nll_vs_k)
    terms = _bound_terms(nll, elbo, kl_total, layer_out)
    return {**head, **terms, "warnings": warnings, "seed": seed, "seconds": seconds}


def _bound_terms(nll: float, elbo: torch.Tensor, kl_total: torch.Tensor, layer_out: dict) -> dict:
    """The ELBO, its gap to the NLL estimate, its reconstruction and KL terms and the active units, nats per image."""
    elbo_mean = float(elbo.double().mean())
    kl_mean = float(kl_total.mean())
    return {
        "elbo": elbo_mean,
        "elbo_stderr": _stderr(elbo),
        "elbo_gap": -nll - elbo_mean,
        "recon_nll": -(elbo_mean + kl_mean),
        "kl": kl_mean,
        "active_units": sum(v["active_units"] for v in layer_out.values()),
        "active_unit_threshold": ACTIVE_UNIT_THRESHOLD,
        "latent_dim": sum(v["latent_dim"] for v in layer_out.values()),
        "layers": layer_out,
    }


def _measure(model, x_all, k: int, ks: list[int], batch_size: int, chunk: int, seed: int, progress: bool):
    """One pass over the split: ``log_px[K]`` ``(N,)`` for each K of ``ks`` (the first K of the same samples),
    the ELBO ``(N,)`` and, per stochastic layer, the lists of ``mu``, ``kl`` and ``kl_per_dim`` batches."""
    from tqdm.auto import tqdm

    device = model.device
    g = torch.Generator(device=device).manual_seed(seed)
    g_stats = torch.Generator(device=device).manual_seed(seed + 1)  # the KL / active-unit draws, apart
    nested: dict[int, list] = {K: [] for K in ks}
    elbo, layers = [], {}
    with torch.inference_mode():
        for i in tqdm(range(0, len(x_all), batch_size), desc=f"log p(x), K={k}", disable=not progress, leave=False):
            x = x_all[i : i + batch_size].to(device)
            _, el, by_k = iw_log_likelihood_nested(model, x, k, ks, chunk, g)
            for K in ks:
                nested[K].append(by_k[K].cpu())
            elbo.append(el.cpu())
            for name, stats in model.latent_statistics(x, g_stats).items():
                acc = layers.setdefault(name, {"mu": [], "kl": [], "kl_per_dim": []})
                for key in acc:
                    acc[key].append(stats[key].float().cpu())
    return {K: torch.cat(v) for K, v in nested.items()}, torch.cat(elbo), layers


def _layer_summary(layers: dict, n: int) -> tuple[dict, list[str], torch.Tensor]:
    """Per stochastic layer: its KL, ``kl_per_dim``, active units and size; posterior-collapse warnings; the
    summed KL ``(n,)`` (float64)."""
    layer_out, warnings, kl_total = {}, [], torch.zeros(n, dtype=torch.float64)
    for name, acc in layers.items():
        mu, kl, per_dim = (torch.cat(acc[key]) for key in ("mu", "kl", "kl_per_dim"))
        kl_total += kl.double()
        active, dim = active_units(mu), int(mu.shape[1])
        layer_out[name] = {
            "latent_dim": dim,
            "active_units": active,
            "kl": float(kl.double().mean()),
            "kl_per_dim": [round(float(v), 4) for v in per_dim.double().mean(0)],
        }
        if active < dim / 2:
            warnings.append(
                f"posterior collapse: {dim - active} of {dim} units of layer {name} are inactive "
                f"(Var_x E_q[z_u] <= {ACTIVE_UNIT_THRESHOLD}): they carry no information about x. Partial "
                "collapse is common on MNIST (Burda et al. report 19-26 of 50 units active); a whole layer "
                "inactive is not"
            )
    return layer_out, warnings, kl_total


def _stderr(t: torch.Tensor) -> float:
    """The standard error of the mean of ``t`` ``(n,)`` (NaN for one value)."""
    n = len(t)
    return float(t.double().std() / math.sqrt(n)) if n > 1 else float("nan")


def _summary(data, model, n: int, k: int, bin_note: str, nll: float, nll_se: float, nll_vs_k: list) -> dict:
    """The head of ``evaluate_nll``'s result: what was measured, the NLL in nats per image and in bits per
    dimension (``bits_per_dim_offset`` nats: D ln 256 for a density on [0, 1] pixels, 0 for a discrete model)."""
    dims = model.num_pixels
    offset = discretization_offset(model.likelihood, dims)
    return {
        "dataset": data.name,
        "split": data.split,
        "n_images": n,
        "likelihood": model.likelihood,
        "binarization": bin_note,
        "k": k,
        "units": "nats per image (sum over pixels), mean over the split; bits_per_dim: bits per dimension",
        "nll": nll,
        "nll_stderr": nll_se,
        "bits_per_dim": bits_per_dim(nll, dims, offset),
        "bits_per_dim_stderr": bits_per_dim(nll_se, dims),
        "bits_per_dim_offset": offset,
        "bits_per_dim_note": _bits_note(model.likelihood, dims),
        "nll_vs_k": nll_vs_k,
        "nll_vs_k_note": "the estimate with the first K of the same K_max samples per image (one pass)",
    }


def _bits_note(likelihood: str, dims: int) -> str:
    if likelihood in DISCRETE_LIKELIHOODS:
        unit = "binarized pixels" if likelihood == "bernoulli" else "8-bit pixel values"
        return f"(nll) / ({dims} ln 2): a probability of the {unit}, no offset"
    return (
        f"(nll + {dims} ln 256) / ({dims} ln 2): a density of [0, 1] pixels made a probability of their 256 values "
        "(bins of width 1/256; Theis et al. 2016)"
    )


def active_units(mu: torch.Tensor, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """Number of latent dimensions u with Var_x(mu_u(x)) > ``threshold`` (``mu`` is ``(N, D)``)."""
    return int((mu.double().var(0) > threshold).sum())
