"""The VAE / IWAE with two stochastic layers of Burda, Grosse & Salakhutdinov (*Importance Weighted Autoencoders*,
ICLR 2016, section 5 and Table 1).

Architecture (the paper's, MNIST; every deterministic layer tanh, every stochastic layer a diagonal Gaussian whose
mean and log-variance are linear heads):

    q(z1 | x)  : x  -> 200 -> 200 -> z1 (100)        p(z2)      = N(0, I), z2 of 50 units
    q(z2 | z1) : z1 -> 100 -> 100 -> z2 (50)         p(z1 | z2) : z2 -> 100 -> 100 -> z1 (100)
                                                     p(x | z1)  : z1 -> 200 -> 200 -> x, Bernoulli (logits)

Per image, in nats, with z1_k ~ q(z1|x), z2_k ~ q(z2|z1_k) reparameterized (k = 1..K):

    log w_k = log p(x | z1_k) + log p(z1_k | z2_k) + log p(z2_k) - log q(z1_k | x) - log q(z2_k | z1_k)

``objective = "elbo"``: loss = recon_nll + beta * (kl_z1 + kl_z2), recon_nll = -mean_k log p(x|z1_k),
kl_z2 = mean_k KL(q(z2|z1_k) || N(0, I)) (analytic given z1_k), kl_z1 = mean_k [-H(q(z1|x)) - log p(z1_k|z2_k)]
(analytic entropy, Monte-Carlo cross term); with ``kl_estimate = "monte-carlo"`` loss = -mean_k log w_k (every
term sampled, as Burda et al.'s code trains its VAEs; the logged kl terms stay the ones above).
``objective = "iwae"``: loss = -L_K = -(logsumexp_k log w_k - log K) (eq. 8; gradient of eq. 14 through the
reparameterized samples), with beta scaling the prior-minus-posterior part of log w_k as in the one-layer VAE.

The code shown to the explorer, plots and ONNX export is the **top layer z2**: ``encode(x)`` returns the mean and
log-variance of q(z2 | z1 = mean of q(z1|x)), and ``decode(z2)`` the pixel probabilities of p(x | z1 = mean of
p(z1 | z2)). z2 is the layer whose prior is N(0, I), so prior samples, the manifold grid on [-2, 2]^2 and
interpolations mean what they mean for the one-layer VAE; z1's prior depends on z2.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
from torch import nn

from vaelab.core import noise
from vaelab.core.likelihoods import (
    LOG_2PI,
    bernoulli_log_prob,
    diagonal_normal_log_prob,
    gaussian_kl_standard_normal,
    standard_normal_log_prob,
)
from vaelab.core.options import NonNegativeFloat, OnlyWhen, PositiveInt
from vaelab.models.base import LatentModel, ModelConfig, ModelOutput
from vaelab.models.networks import Activation, burda_init_, mlp


class TwoLayerVAEConfig(ModelConfig):
    """Hyper-parameters of the two-stochastic-layer VAE (defaults: Burda et al.'s MNIST architecture)."""

    hidden: tuple[PositiveInt, ...] = (200, 200)
    """hidden sizes between x and z1 (q: x -> ... -> z1; p mirrors them: z1 -> ... -> x)"""
    z1_dim: PositiveInt = 100
    """size of the lower stochastic layer z1"""
    hidden_z: tuple[PositiveInt, ...] = (100, 100)
    """hidden sizes between z1 and z2 (q: z1 -> ... -> z2; p: z2 -> ... -> z1)"""
    latent_dim: PositiveInt = 50
    """size of the top stochastic layer z2 (the code that encode / decode use)"""
    activation: Activation = "tanh"
    """hidden-layer activation"""
    likelihood: Literal["bernoulli"] = "bernoulli"
    """decoder p(x|z1): Bernoulli on binarized pixels"""
    beta: NonNegativeFloat = 1.0
    """weight of the KL terms (1 gives the ELBO / the importance-weighted bound)"""
    k: PositiveInt = 1
    """Monte-Carlo samples of (z1, z2) per image in the training loss"""
    objective: Literal["elbo", "iwae"] = "elbo"
    """training objective with k samples: elbo or iwae (Burda et al.'s bound L_k)"""
    kl_estimate: Annotated[Literal["analytic", "monte-carlo"], OnlyWhen("objective", ("elbo",))] = "analytic"
    """the KL terms of the elbo objective's loss: analytic where there is a closed form (H(q(z1|x)) and
    KL(q(z2|z1) || N(0, I))) or monte-carlo (log q - log p at the samples, as Burda et al.'s code trains its VAEs)"""
    variance_head: Literal["logvar", "log_std"] = "logvar"
    """what every Gaussian layer's variance head outputs: logvar (log sigma^2) or log_std (log sigma, as Burda et
    al.'s code; logvar = 2 x the output)"""
    init: Literal["pytorch", "burda"] = "pytorch"
    """initial weights: pytorch (nn.Linear's default, seeded by --seed) or burda (Burda et al.'s code: every linear
    layer Glorot-uniform from numpy's RandomState(123), zero biases, the output bias at the logit of the training
    images' mean pixel)"""


class GaussianLayer(nn.Module):
    """A stochastic layer's network: an MLP (activation after every layer) then linear heads for the mean and the
    log-variance of a diagonal Gaussian, ``(..., D_in) -> (mu, logvar)`` each ``(..., D_out)``."""

    def __init__(self, d_in: int, hidden: list[int], d_out: int, act: str, log_std_head: bool = False):
        super().__init__()
        self.net = mlp([d_in, *hidden], act, final_activation=True) if hidden else nn.Identity()
        last = hidden[-1] if hidden else d_in
        self.mu = nn.Linear(last, d_out)
        self.logvar = nn.Linear(last, d_out)  # log sigma^2, or log sigma when log_std_head
        self.log_std_head = log_std_head

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(h)
        head = self.logvar(h)
        return self.mu(h), 2.0 * head if self.log_std_head else head


def _normal_log_prob_per_dim(z, mu, logvar):
    """log N(z_d | mu_d, exp(logvar_d)) per dimension (no sum), nats."""
    return -0.5 * ((z - mu) ** 2 * torch.exp(-logvar) + logvar + LOG_2PI)


class TwoLayerVAE(LatentModel):
    """VAE / IWAE with two stochastic layers (module docstring) on images ``(N, C, H, W)``."""

    config_class = TwoLayerVAEConfig
    has_importance_weights = True

    def __init__(self, config: TwoLayerVAEConfig):
        super().__init__(config)
        P, D1, D2 = self.num_pixels, int(config.z1_dim), int(config.latent_dim)
        H, HZ, act = [int(h) for h in config.hidden], [int(h) for h in config.hidden_z], config.activation
        log_std = config.variance_head == "log_std"
        self.q_z1 = GaussianLayer(P, H, D1, act, log_std)
        self.q_z2 = GaussianLayer(D1, HZ, D2, act, log_std)
        self.p_z1 = GaussianLayer(D2, list(reversed(HZ)), D1, act, log_std)
        self.p_x = mlp([D1, *reversed(H), P], act)  # logits of p(x | z1)

    def init_from_data(self, x: torch.Tensor) -> None:
        """``init = "burda"``: Burda et al.'s initial weights (``networks.burda_init_``) and the output bias of
        p(x|z1) at ``networks.mean_pixel_logit(x)`` of the training images ``x (N, C, H, W)``."""
        if self.config.init == "burda":
            burda_init_(self, self.p_x[-1], x)

    @property
    def z1_dim(self) -> int:
        return int(self.config.z1_dim)

    # the code: the top layer z2 ------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (N, C, H, W)`` -> ``mu, logvar`` each ``(N, D2)`` of q(z2 | z1 = E[z1 | x]) (module docstring)."""
        mu1, _ = self.q_z1(x.flatten(1))
        return self.q_z2(mu1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Top-layer codes ``z (N, D2)`` -> pixel probabilities ``(N, C, H, W)`` of p(x | z1 = E[z1 | z2])."""
        mu1, _ = self.p_z1(z)
        return torch.sigmoid(self.p_x(mu1)).view(-1, *self.image_shape)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Ancestral samples: z2 ~ N(0, I), z1 ~ p(z1|z2), returning the pixel probabilities of p(x | z1),
        ``(n, C, H, W)``. The noise is drawn on the CPU from ``generator``."""
        like = self.p_z1.mu.weight  # the parameters' device and dtype
        z2 = torch.randn(n, self.latent_dim, generator=generator, device="cpu").to(like)
        mu1, logvar1 = self.p_z1(z2)
        eps = torch.randn(n, self.z1_dim, generator=generator, device="cpu").to(like)
        return torch.sigmoid(self.p_x(mu1 + torch.exp(0.5 * logvar1) * eps)).view(-1, *self.image_shape)

    # sampling and the objective ------------------------------------------------------------------------------
    def _draw(self, x: torch.Tensor, k: int, generator=None) -> dict[str, torch.Tensor]:
        """k reparameterized samples per image: eps1 ``(k, N, D1)`` is drawn from ``generator`` first, then eps2
        ``(k, N, D2)`` (through ``vaelab.core.noise``, so data-parallel runs draw the same numbers); returns every
        distribution parameter and sample (``(k, N, .)`` except ``mu1, logvar1``)."""
        mu1, logvar1 = self.q_z1(x.flatten(1))
        eps1 = noise.randn((k, *mu1.shape), generator, batch_axis=1, device=mu1.device, dtype=mu1.dtype)
        z1 = mu1 + torch.exp(0.5 * logvar1) * eps1
        mu2, logvar2 = self.q_z2(z1)
        eps2 = noise.randn(mu2.shape, generator, batch_axis=1, device=mu2.device, dtype=mu2.dtype)
        z2 = mu2 + torch.exp(0.5 * logvar2) * eps2
        pmu1, plogvar1 = self.p_z1(z2)
        return {
            "mu1": mu1,
            "logvar1": logvar1,
            "z1": z1,
            "mu2": mu2,
            "logvar2": logvar2,
            "z2": z2,
            "pmu1": pmu1,
            "plogvar1": plogvar1,
            "log_px_z1": bernoulli_log_prob(self.p_x(z1), x.flatten(1)),  # (k, N)
        }

    @staticmethod
    def _log_terms(s: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(log p(z1|z2) + log p(z2), log q(z1|x) + log q(z2|z1)) at the samples, each ``(k, N)``."""
        log_p = diagonal_normal_log_prob(s["z1"], s["pmu1"], s["plogvar1"]) + standard_normal_log_prob(s["z2"])
        log_q = diagonal_normal_log_prob(s["z1"], s["mu1"], s["logvar1"]) + diagonal_normal_log_prob(
            s["z2"], s["mu2"], s["logvar2"]
        )
        return log_p, log_q

    def forward(self, x: torch.Tensor, y=None, generator=None) -> ModelOutput:
        """Per-image loss terms for binarized ``x (N, C, H, W)``.

        Returns:
            ``ModelOutput``: ``loss`` (N,) nats, the negative ELBO (with beta) or -L_K (module docstring);
            ``recon_nll``, ``kl`` = kl_z1 + kl_z2 and ``elbo`` are the ELBO's terms for both objectives (extra
            ``kl_z1``, ``kl_z2``); ``mu``, ``logvar`` are q(z1|x)'s and ``z`` the z1 samples ``(k, N, D1)``.
        """
        k = int(self.config.k)
        s = self._draw(x, k, generator)
        recon_nll = -s["log_px_z1"].mean(0)
        kl_z2 = gaussian_kl_standard_normal(s["mu2"], s["logvar2"]).mean(0)
        entropy1 = 0.5 * (1.0 + s["logvar1"] + LOG_2PI).sum(-1)  # H(q(z1|x)), analytic
        kl_z1 = -entropy1 - diagonal_normal_log_prob(s["z1"], s["pmu1"], s["plogvar1"]).mean(0)
        kl = kl_z1 + kl_z2
        scale = self.kl_scale * float(self.config.beta)
        if self.config.objective == "iwae":
            log_p, log_q = self._log_terms(s)
            log_w = s["log_px_z1"] + scale * (log_p - log_q)
            loss = -(torch.logsumexp(log_w, 0) - math.log(k))
        elif self.config.kl_estimate == "monte-carlo":  # Burda et al.'s VAE: the gradient of mean_k log w_k
            log_p, log_q = self._log_terms(s)
            loss = -(s["log_px_z1"] + scale * (log_p - log_q)).mean(0)
        else:
            loss = recon_nll + scale * kl
        return ModelOutput(
            loss,
            recon_nll,
            kl,
            s["mu1"],
            s["logvar1"],
            s["z1"],
            elbo=-(recon_nll + kl),
            extra={"kl_z1": kl_z1, "kl_z2": kl_z2},
        )

    def log_weights(self, x: torch.Tensor, k: int, generator=None) -> torch.Tensor:
        """log p(x, z1, z2) - log q(z1, z2 | x) at k samples per image (drawn as in ``_draw``): ``(k, N)`` nats.
        ``logsumexp(w, 0) - log k`` is Burda et al.'s bound L_k on log p(x)."""
        s = self._draw(x, k, generator)
        log_p, log_q = self._log_terms(s)
        return s["log_px_z1"] + log_p - log_q

    @torch.no_grad()
    def latent_statistics(self, x: torch.Tensor, generator=None, samples: int = 10) -> dict[str, dict]:
        """Per stochastic layer, for images ``x``, with ``samples`` draws of (z1, z2) per image.

        Returns:
            ``{"z1": {...}, "z2": {...}}``, each ``{"mu": (N, D_l), "kl": (N,), "kl_per_dim": (N, D_l)}``:

            z1: ``mu`` = E_q[z1|x]; ``kl_per_dim[:, d]`` = E_q[log q(z1_d|x) - log p(z1_d|z2)] (analytic entropy,
            Monte-Carlo cross term).

            z2: ``mu`` = E_q[z2|x] = E_{z1}[mean of q(z2|z1)] (Monte-Carlo; Burda et al.'s active units of the
            second layer use it); ``kl_per_dim[:, d]`` = E_{z1}[KL(q(z2_d|z1) || N(0, 1))].

            The two layers' ``kl`` sum to KL(q(z1, z2|x) || p(z1, z2)), the ELBO's KL term.
        """
        s = self._draw(x, samples, generator)
        entropy1 = 0.5 * (1.0 + s["logvar1"] + LOG_2PI)  # (N, D1)
        kl1 = -entropy1 - _normal_log_prob_per_dim(s["z1"], s["pmu1"], s["plogvar1"]).mean(0)
        kl2 = (0.5 * (s["mu2"].pow(2) + s["logvar2"].exp() - 1.0 - s["logvar2"])).mean(0)
        return {
            "z1": {"mu": s["mu1"], "kl": kl1.sum(-1), "kl_per_dim": kl1},
            "z2": {"mu": s["mu2"].mean(0), "kl": kl2.sum(-1), "kl_per_dim": kl2},
        }
