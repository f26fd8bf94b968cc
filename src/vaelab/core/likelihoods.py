"""Decoder likelihoods log p(x | z), in nats, summed over pixels.

Both take the decoder's raw output ``params`` of shape ``(..., P)`` (P = C*H*W) and targets ``x`` of shape
``(..., P)`` (broadcastable), and return ``(...)``.

* Bernoulli (``params`` = logits): log p(x|z) = sum_j x_j l_j - softplus(l_j). Its NLL on binarized MNIST is the
  number the literature reports.
* Gaussian with mean sigmoid(params) and std ``sigma`` (fixed, as the seeds' ``decoder_std``; or learned, one
  shared value, as in the sigma-VAE of Rybkin et al. 2021). On continuous pixels this is a density, so its NLL is
  not comparable with Bernoulli NLLs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


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
