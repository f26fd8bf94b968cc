"""Decoder likelihoods log p(x | z), in nats, summed over pixels, and the bits-per-dimension conversion.

Each takes the decoder's output of shape ``(..., P)`` (P = C*H*W) and targets ``x`` of shape ``(..., P)``
(broadcastable), pixels in [0, 1], and returns ``(...)``.

* Bernoulli (``params`` = logits): log p(x|z) = sum_j x_j l_j - softplus(l_j). Its NLL on binarized MNIST is the
  number the literature reports.
* Gaussian with mean sigmoid(params) and std ``sigma`` (fixed, as the seeds' ``decoder_std``; or learned: one
  shared value, as in the sigma-VAE of Rybkin et al. 2021, or one per colour channel). On continuous pixels this
  is a density, so its NLL is not comparable with Bernoulli NLLs.
* Discretized logistic (Salimans et al., *PixelCNN++*, ICLR 2017, eq. 2, with one mixture component): the
  probability of the 8-bit value k = 255 x under a logistic of location mu and scale s, integrated over the bin
  [x - 1/510, x + 1/510]; the bins of 0 and 255 take the tails (-inf and +inf). A probability, not a density.
* Continuous Bernoulli (Loaiza-Ganem & Cunningham, *The continuous Bernoulli*, NeurIPS 2019, eq. 1): the
  Bernoulli formula made a normalised density on [0, 1], p(x | l) = C(l) sigmoid(l)^x (1 - sigmoid(l))^(1 - x)
  with C(l) = l / tanh(l / 2) in terms of the logit l (= 2 artanh(1 - 2 lambda) / (1 - 2 lambda), C(0) = 2).

Bits per dimension (``bits_per_dim``): NLL_nats / (D ln 2) for a discrete model. A density on [0, 1] pixels
that were 8-bit values k / 255 is turned into a probability of the 256 values by the bin width 1 / 256:
-log P(k) ~ -log p(x) + D ln 256 (Theis, van den Oord & Bethge, *A note on the evaluation of generative models*,
ICLR 2016), so bits/dim = (NLL_nats + D ln 256) / (D ln 2) = NLL_nats / (D ln 2) + 8 (``discretization_offset``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)
PIXEL_LEVELS = 256  # 8-bit pixels: the values k / 255, k = 0..255
DISCRETE_LIKELIHOODS = ("bernoulli", "discretized-logistic")
"""likelihoods that give probabilities of the data's values (binary pixels; 8-bit values), not densities"""
CONTINUOUS_LIKELIHOODS = ("gaussian", "continuous-bernoulli")
"""likelihoods that are densities on [0, 1] pixels (their bits/dim adds the discretization offset)"""


def bernoulli_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log Bernoulli(x | sigmoid(logits)) summed over the last axis; ``x`` may be any value in [0, 1]."""
    return -bernoulli_nll(logits, x)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(x | sigmoid(logits)) summed over the last axis (``bernoulli_log_prob`` negated, bit for bit,
    one operation fewer)."""
    return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)


def gaussian_log_prob(mean: torch.Tensor, log_std: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log N(x | mean, exp(log_std)^2) summed over the last axis (``log_std`` broadcastable)."""
    log_std = log_std.expand_as(mean)
    return (-0.5 * ((x - mean) * torch.exp(-log_std)) ** 2 - log_std - 0.5 * LOG_2PI).sum(-1)


def gaussian_kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Analytic KL( N(mu, exp(logvar)) || N(0, I) ) in nats, summed over the last axis (Kingma & Welling 2014, B)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def diagonal_normal_log_prob(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z | mu, diag(exp(logvar))) summed over the last axis."""
    return (-0.5 * ((z - mu) ** 2 * torch.exp(-logvar) + logvar + LOG_2PI)).sum(-1)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z | 0, I) summed over the last axis."""
    return (-0.5 * (z * z + LOG_2PI)).sum(-1)


def discretized_logistic_log_prob(
    mean: torch.Tensor, log_scale: torch.Tensor, x: torch.Tensor, levels: int = PIXEL_LEVELS
) -> torch.Tensor:
    """log P(x | mean, exp(log_scale)) of 8-bit pixels under a discretized logistic, summed over the last axis.

    Salimans, Karpathy, Chen & Kingma, *PixelCNN++*, ICLR 2017, eq. 2 with one mixture component, written for
    pixels x = k / (levels - 1) in [0, 1] (their x in [-1, 1] rescaled): with the bin half-width h = 1 / (2 (levels
    - 1)), a = (x - mean + h) / s and b = (x - mean - h) / s,

        P(k) = sigmoid(a) - sigmoid(b)      for 0 < k < levels - 1,
        P(0) = sigmoid(a),   P(levels - 1) = 1 - sigmoid(b)   (the edge bins take the tails).

    The interior difference is computed without cancellation as log sigmoid(a) + log sigmoid(-b) + log(1 -
    exp(-(a - b))), an identity (sigmoid(a) - sigmoid(b) = sigmoid(a) sigmoid(-b) (1 - exp(b - a))); PixelCNN++'s
    code instead switches to the density at the bin centre when the difference falls under 1e-5.

    Args:
        mean: ``(..., P)`` locations mu (in [0, 1] for a sigmoid decoder).
        log_scale: log s, broadcastable to ``mean`` (one per pixel, per channel or shared).
        x: ``(..., P)`` pixels in [0, 1]; values within h of 0 or 1 are the edge bins.
        levels: the number of pixel values (256 for 8-bit images).

    Returns:
        ``(...)`` log-probabilities in nats (<= 0).
    """
    half = 0.5 / (levels - 1)
    inv_scale = torch.exp(-log_scale)
    centred = x - mean
    upper = (centred + half) * inv_scale
    lower = (centred - half) * inv_scale
    interior = F.logsigmoid(upper) + F.logsigmoid(-lower) + _log1mexp((2 * half) * inv_scale).expand_as(upper)
    out = torch.where(x < half, F.logsigmoid(upper), torch.where(x > 1 - half, F.logsigmoid(-lower), interior))
    return out.sum(-1)


def _log1mexp(d: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(-d)) for d > 0, accurate for small and large d (Maechler 2012, *Accurately computing
    log(1 - exp(-|a|))*)."""
    return torch.where(d < math.log(2), torch.log(-torch.expm1(-d)), torch.log1p(-torch.exp(-d)))


_CB_TAYLOR = 1e-3  # |logit| below which C(l) and the mean use their Taylor series around l = 0


def continuous_bernoulli_log_norm(logits: torch.Tensor) -> torch.Tensor:
    """log C(l) of the continuous Bernoulli, elementwise: C(l) = l / tanh(l / 2) (Loaiza-Ganem & Cunningham 2019,
    eq. 3, written with the logit l = log(lambda / (1 - lambda))); log 2 + l^2 / 12 near l = 0."""
    small = logits.abs() < _CB_TAYLOR
    safe = torch.where(small, torch.ones_like(logits), logits)
    exact = torch.log(safe / torch.tanh(safe / 2))
    return torch.where(small, math.log(2.0) + logits.pow(2) / 12, exact)


def continuous_bernoulli_log_prob(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log CB(x | sigmoid(logits)) of pixels ``x`` in [0, 1], summed over the last axis: the Bernoulli formula
    (``bernoulli_log_prob``) plus the normaliser log C(l) (``continuous_bernoulli_log_norm``); a density, in nats.

    Source: Loaiza-Ganem & Cunningham, *The continuous Bernoulli: fixing a pervasive error in variational
    autoencoders*, NeurIPS 2019, eq. 1."""
    return bernoulli_log_prob(logits, x) + continuous_bernoulli_log_norm(logits).sum(-1)


def continuous_bernoulli_mean(logits: torch.Tensor) -> torch.Tensor:
    """E[x] of the continuous Bernoulli, elementwise: lambda / (2 lambda - 1) + 1 / (2 artanh(1 - 2 lambda)) =
    sigmoid(l) / tanh(l / 2) - 1 / l (Loaiza-Ganem & Cunningham 2019, section 3); 1/2 + l / 12 near l = 0.
    Computed in float64 (the two terms nearly cancel for small l)."""
    l64 = logits.double()
    small = l64.abs() < 1e-2
    safe = torch.where(small, torch.ones_like(l64), l64)
    exact = torch.sigmoid(safe) / torch.tanh(safe / 2) - 1.0 / safe
    return torch.where(small, 0.5 + l64 / 12, exact).to(logits.dtype)


def discretization_offset(likelihood: str, dims: int, levels: int = PIXEL_LEVELS) -> float:
    """Nats per image added to a continuous density's NLL to make it the NLL of ``levels``-valued pixels:
    ``dims * ln(levels)`` for the densities of ``CONTINUOUS_LIKELIHOODS`` (pixels x = k / 255 in [0, 1], bins of
    width 1 / levels; Theis et al. 2016), 0 for the discrete likelihoods. ``dims`` = D = C*H*W."""
    return dims * math.log(levels) if likelihood in CONTINUOUS_LIKELIHOODS else 0.0


def bits_per_dim(nll_nats: float, dims: int, offset_nats: float = 0.0) -> float:
    """Bits per dimension from an NLL in nats per image: (NLL_nats + offset_nats) / (D ln 2), D = ``dims`` (the
    literature's unit for colour images, e.g. van den Oord et al. 2016; ``offset_nats`` from
    ``discretization_offset``). A standard error converts with ``offset_nats = 0``."""
    return (float(nll_nats) + float(offset_nats)) / (int(dims) * math.log(2))
