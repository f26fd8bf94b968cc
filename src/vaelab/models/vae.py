"""The MLP variational autoencoder (Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014).

Encoder q(z|x) = N(mu(x), diag(exp(logvar(x)))), prior p(z) = N(0, I), decoder p(x|z) Bernoulli (logits) or
Gaussian (mean sigmoid(.), fixed or learned std). Training minimises, per image, in nats:

    loss = recon_nll + beta * kl,   recon_nll = -1/k sum_i log p(x | z_i),   z_i = mu + exp(logvar / 2) * eps_i

with the reparameterization trick and the analytic KL to N(0, I). ``beta`` = 1 gives the negative ELBO.
``log_weights`` gives the importance weights of the importance-weighted bound (Burda et al. 2015).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import field_validator
from torch import nn

from vaelab.core import noise
from vaelab.core.likelihoods import (
    bernoulli_log_prob,
    diagonal_normal_log_prob,
    gaussian_kl_standard_normal,
    gaussian_log_prob,
    standard_normal_log_prob,
)
from vaelab.core.options import NonNegativeFloat, PositiveFloat, PositiveInt
from vaelab.models.base import LatentModel, ModelConfig, ModelOutput
from vaelab.models.networks import Activation, mlp


class VAEConfig(ModelConfig):
    """Hyper-parameters of the MLP VAE (each field's meaning is the docstring under it)."""

    hidden: tuple[PositiveInt, ...] = (400,)
    """sizes of the encoder's hidden layers, e.g. 512,256 (the decoder mirrors them)"""
    latent_dim: PositiveInt = 20
    """D, the size of the latent z"""
    activation: Activation = "relu"
    """hidden-layer activation"""
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    """decoder p(x|z): bernoulli (binarized pixels; the literature's NLL) or gaussian (grey pixels)"""
    decoder_std: PositiveFloat | None = None
    """gaussian only: the fixed decoder std (the seeds' c), or 'learned' (one shared learned std)"""
    beta: NonNegativeFloat = 1.0
    """weight of the KL term (1 gives the ELBO; the seeds' C)"""
    k: PositiveInt = 1
    """Monte-Carlo samples of z per image in the training loss"""
    decoder_mean: Literal["sigmoid", "identity"] = "sigmoid"
    """gaussian only: sigmoid (means in [0, 1]) or identity (with no hidden layer: probabilistic PCA)"""

    @field_validator("decoder_std", mode="before")
    @classmethod
    def _learned_std(cls, value):
        return None if value == "learned" else value  # the word for "learn one shared std"


class GaussianEncoderVAE(LatentModel):
    """Shared part of the VAEs whose encoder is a diagonal Gaussian q(z|x) and whose decoder is a network.

    Subclasses build the networks and define ``encode(x) -> (mu, logvar)`` and ``decoder_params(z)`` (raw decoder
    output ``(..., P)`` for ``z (..., D)``); this class gives the likelihood, the loss (module docstring),
    ``decode`` and the importance weights. Their config needs ``likelihood``, ``decoder_std``, ``beta``, ``k``.
    """

    has_importance_weights = True

    def _init_likelihood(self, config) -> None:
        self.likelihood = config.likelihood
        if config.likelihood == "gaussian" and config.decoder_std is None:
            self.log_std = nn.Parameter(torch.zeros(1))  # one learned std shared by all pixels
        else:
            self.register_buffer("log_std", torch.tensor([math.log(config.decoder_std or 1.0)]))

    def decoder_params(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decoder_params_for(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Decoder output for codes ``z (k, N, D)`` or ``(N, D)`` of images ``x``; a conditional decoder overrides
        this."""
        return self.decoder_params(z)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """Mean of p(x|z) from the decoder's raw output (sigmoid, or identity for ``decoder_mean='identity'``)."""
        if self.likelihood == "gaussian" and self.config.decoder_mean == "identity":
            return params
        return torch.sigmoid(params)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z (N, D)`` -> pixel means ``(N, C, H, W)`` (in [0, 1] unless ``decoder_mean='identity'``)."""
        return self.mean(self.decoder_params(z)).view(-1, *self.image_shape)

    def log_likelihood(self, params: torch.Tensor, x_flat: torch.Tensor) -> torch.Tensor:
        """log p(x|z) in nats, ``(...)``, from decoder params ``(..., P)`` and targets ``(..., P)``."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_prob(params, x_flat)
        return gaussian_log_prob(self.mean(params), self.log_std, x_flat)

    @staticmethod
    def reparameterize(mu, logvar, k: int = 1, generator=None) -> torch.Tensor:
        """``z = mu + exp(logvar / 2) * eps``, eps ~ N(0, I); returns ``(k, N, D)``."""
        eps = noise.randn((k, *mu.shape), generator, batch_axis=1, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(self, x: torch.Tensor, y=None, generator=None) -> ModelOutput:
        """Per-image loss terms for ``x (N, C, H, W)`` (binarized beforehand for the Bernoulli likelihood)."""
        mu, logvar = self.encode(x)
        k = int(self.config.k)
        z = self.reparameterize(mu, logvar, k, generator)
        if k == 1:  # the common case on 2-D tensors: ~3% faster training than with a k axis of size 1
            recon_nll = -self.log_likelihood(self.decoder_params_for(x, z[0]), x.flatten(1))
        else:
            recon_nll = -self.log_likelihood(self.decoder_params_for(x, z), x.flatten(1)).mean(0)
        kl = gaussian_kl_standard_normal(mu, logvar)
        loss = recon_nll + self.kl_scale * float(self.config.beta) * kl
        return ModelOutput(loss, recon_nll, kl, mu, logvar, z, elbo=-(recon_nll + kl))

    def log_weights(self, x: torch.Tensor, k: int, generator=None) -> torch.Tensor:
        """Importance log-weights log p(x, z_i) - log q(z_i | x), z_i ~ q(z|x): ``(k, N)`` in nats.

        ``logsumexp(w, 0) - log k`` is the importance-weighted bound of Burda et al. (2015) on log p(x).
        """
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, k, generator)
        log_px_z = self.log_likelihood(self.decoder_params_for(x, z), x.flatten(1))
        return log_px_z + standard_normal_log_prob(z) - diagonal_normal_log_prob(z, mu, logvar)


class VAE(GaussianEncoderVAE):
    """MLP VAE on images ``(N, C, H, W)``; see the module docstring for the objective."""

    config_class = VAEConfig

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        P, D, H = self.num_pixels, int(config.latent_dim), [int(h) for h in config.hidden]
        self.encoder = mlp([P, *H], config.activation, final_activation=True) if H else nn.Identity()
        last = H[-1] if H else P
        self.fc_mu = nn.Linear(last, D)
        self.fc_logvar = nn.Linear(last, D)
        self.decoder = mlp([D, *reversed(H), P], config.activation)
        self._init_likelihood(config)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (N, C, H, W)`` -> ``mu, logvar`` each ``(N, D)``."""
        h = self.encoder(x.flatten(1))
        return self.fc_mu(h), self.fc_logvar(h)

    def decoder_params(self, z: torch.Tensor) -> torch.Tensor:
        """Raw decoder output ``(..., P)`` for ``z (..., D)``: logits (Bernoulli) or pre-sigmoid means."""
        return self.decoder(z)
