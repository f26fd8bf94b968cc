"""The MLP variational autoencoder (Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014).

Encoder q(z|x) = N(mu(x), diag(exp(logvar(x)))), prior p(z) = N(0, I), decoder p(x|z) Bernoulli (logits),
Gaussian (mean sigmoid(.), fixed or learned std), discretized logistic (location sigmoid(.), fixed or learned scale;
8-bit pixels) or continuous Bernoulli (logits; ``vaelab.core.likelihoods`` gives each formula). Training
minimises, per image, in nats:

    loss = recon_nll + beta * kl,   recon_nll = -1/k sum_i log p(x | z_i),   z_i = mu + exp(logvar / 2) * eps_i

with the reparameterization trick and the analytic KL to N(0, I) (``kl_estimate = "monte-carlo"``: its one-sample
estimate log q(z_i|x) - log p(z_i), as Burda et al.'s code trains). ``beta`` = 1 gives the negative ELBO.
``log_weights`` gives the importance weights of the importance-weighted bound (Burda et al. 2015).

``objective = "iwae"`` trains on the K-sample importance-weighted bound instead (Burda, Grosse & Salakhutdinov,
*Importance Weighted Autoencoders*, ICLR 2016, eq. 8), with K = ``k``:

    loss = -L_K = -log 1/K sum_k exp(w_k),   w_k = log p(x | z_k) + beta * (log p(z_k) - log q(z_k | x))

whose gradient through the reparameterized z_k is the one of eq. 14 (normalised weights times the gradient of each
log-weight); with beta = 1, L_1 is the one-sample ELBO and L_K rises towards log p(x) with K.

``prior = "vampprior"`` replaces N(0, I) by the VampPrior (Tomczak & Welling, *VAE with a VampPrior*, AISTATS
2018, eq. 9): p(z) = 1/C sum_c q(z | u_c), the mixture of the encoder's posteriors at C learned pseudo-inputs
u_c; its KL has no closed form and is estimated by Monte-Carlo (log q(z|x) - log p(z) at the sampled z).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
from pydantic import field_validator
from torch import nn

from vaelab.core import noise
from vaelab.core.errors import ConfigError
from vaelab.core.likelihoods import (
    LOG_2PI,
    bernoulli_log_prob,
    bernoulli_nll,
    continuous_bernoulli_log_prob,
    continuous_bernoulli_mean,
    diagonal_normal_log_prob,
    discretized_logistic_log_prob,
    gaussian_kl_standard_normal,
    gaussian_log_prob,
    standard_normal_log_prob,
)
from vaelab.core.options import NonNegativeFloat, OnlyWhen, PositiveFloat, PositiveInt
from vaelab.models.base import LatentModel, ModelConfig, ModelOutput
from vaelab.models.networks import Activation, burda_init_, mlp

GAUSSIAN = OnlyWhen("likelihood", ("gaussian",))  # the mean function of a Gaussian p(x|z)
SCALED = OnlyWhen("likelihood", ("gaussian", "discretized-logistic"))  # a decoder std (Gaussian) or scale (logistic)
ELBO_ONLY = OnlyWhen("objective", ("elbo",))  # the KL term exists only in the ELBO objective's loss


class VAEConfig(ModelConfig):
    """Hyper-parameters of the MLP VAE (each field's meaning is the docstring under it)."""

    hidden: tuple[PositiveInt, ...] = (400,)
    """sizes of the encoder's hidden layers, e.g. 512,256 (the decoder mirrors them)"""
    latent_dim: PositiveInt = 20
    """D, the size of the latent z"""
    activation: Activation = "relu"
    """hidden-layer activation"""
    likelihood: Literal["bernoulli", "gaussian", "discretized-logistic", "continuous-bernoulli"] = "bernoulli"
    """decoder p(x|z): bernoulli (binarized pixels; the literature's NLL), gaussian (grey or colour pixels, a
    density), discretized-logistic (8-bit pixels, a probability; PixelCNN++'s with one component) or
    continuous-bernoulli (a density on [0, 1]; Loaiza-Ganem & Cunningham 2019)"""
    decoder_std: Annotated[PositiveFloat | None, SCALED] = None
    """gaussian: the fixed decoder std (the seeds' c); discretized-logistic: the fixed logistic scale s; or
    'learned' (see std_scope)"""
    std_scope: Annotated[Literal["shared", "channel"], SCALED] = "shared"
    """with a learned decoder_std: one learned std (logistic scale) shared by all pixels (the sigma-VAE), or one
    per colour channel"""
    beta: NonNegativeFloat = 1.0
    """weight of the KL term (1 gives the ELBO; the seeds' C)"""
    k: PositiveInt = 1
    """Monte-Carlo samples of z per image in the training loss"""
    decoder_mean: Annotated[Literal["sigmoid", "identity"], GAUSSIAN] = "sigmoid"
    """gaussian only: sigmoid (means in [0, 1]) or identity (with no hidden layer: probabilistic PCA)"""
    objective: Literal["elbo", "iwae"] = "elbo"
    """training objective with k samples: elbo (the k-sample average ELBO) or iwae (Burda et al.'s
    importance-weighted bound L_k); eval numbers are the same for both"""
    prior: Literal["standard", "vampprior"] = "standard"
    """p(z): standard (N(0, I)) or vampprior (mixture of q(z|u) at learned pseudo-inputs; Tomczak & Welling 2018)"""
    pseudo_inputs: Annotated[PositiveInt, OnlyWhen("prior", ("vampprior",))] = 500
    """vampprior only: C, the number of learned pseudo-inputs u_c (images) of the mixture prior"""
    kl_estimate: Annotated[Literal["analytic", "monte-carlo"], ELBO_ONLY] = "analytic"
    """the KL term of the elbo objective's loss: analytic (closed form for N(0, I)) or monte-carlo (log q(z|x) -
    log p(z) at the samples, as Burda et al.'s code trains its VAEs); always monte-carlo for the VampPrior"""
    variance_head: Literal["logvar", "log_std"] = "logvar"
    """what the encoder's variance head outputs: logvar (log sigma^2) or log_std (log sigma, as Burda et al.'s
    code; logvar = 2 x the output). The same family; Adam moves the two scales at different speeds"""
    init: Literal["pytorch", "burda"] = "pytorch"
    """initial weights: pytorch (nn.Linear's default, seeded by --seed) or burda (Burda et al.'s code: every linear
    layer Glorot-uniform from numpy's RandomState(123), zero biases, a Bernoulli decoder's output bias at the logit
    of the training images' mean pixel; the MLP vae family only)"""

    @field_validator("decoder_std", mode="before")
    @classmethod
    def _learned_std(cls, value):
        return None if value == "learned" else value  # the word for "learn the std (std_scope says how many)"

    def check(self) -> None:
        super().check()
        learned = self.likelihood in ("gaussian", "discretized-logistic") and self.decoder_std is None
        if self.std_scope == "channel" and not learned:
            raise ConfigError(
                "std_scope='channel': applies to a learned decoder_std of the gaussian or discretized-logistic "
                f"likelihood (this config has likelihood={self.likelihood!r}, decoder_std={self.decoder_std})"
            )


PSEUDO_INPUT_INIT = (0.05, 0.01)  # mean, std of the pseudo-inputs' initial pixels (Tomczak & Welling's MNIST code)


class GaussianEncoderVAE(LatentModel):
    """Shared part of the VAEs whose encoder is a diagonal Gaussian q(z|x) and whose decoder is a network.

    Subclasses build the networks and define ``encode(x) -> (mu, logvar)`` and ``decoder_params(z)`` (raw decoder
    output ``(..., P)`` for ``z (..., D)``); this class gives the likelihood, the prior (N(0, I) or the VampPrior),
    the loss (module docstring; ELBO or IWAE objective), ``decode``, ``sample`` and the importance weights. Their
    config needs ``likelihood``, ``decoder_std``, ``beta``, ``k``, ``objective``, ``prior``, ``pseudo_inputs``.
    """

    has_importance_weights = True

    def _init_likelihood(self, config) -> None:
        """Set up p(x|z)'s std (or logistic scale) and the prior's parameters (the pseudo-inputs of a VampPrior);
        call it last in ``__init__``.

        ``log_std`` has one entry (shared) or C (``std_scope = "channel"``); a learned one starts at log 1 for the
        shared Gaussian std (as before) and at log 0.1 (a tenth of the pixel range) for the per-channel and the
        logistic scales."""
        self.likelihood = config.likelihood
        scope = getattr(config, "std_scope", "shared")
        if config.likelihood in ("gaussian", "discretized-logistic") and config.decoder_std is None:
            n = self.image_shape[0] if scope == "channel" else 1
            start = 0.0 if (scope, config.likelihood) == ("shared", "gaussian") else math.log(0.1)
            self.log_std = nn.Parameter(torch.full((n,), start))
        else:
            self.register_buffer("log_std", torch.tensor([math.log(config.decoder_std or 1.0)]))
        if config.prior == "vampprior":
            mean, std = PSEUDO_INPUT_INIT
            self.pseudo = nn.Parameter(torch.randn(int(config.pseudo_inputs), *self.image_shape) * std + mean)

    # the prior -----------------------------------------------------------------------------------------------
    @property
    def vampprior(self) -> bool:
        """Whether p(z) is the VampPrior (a config-dependent property, not a class capability)."""
        return self.config.prior == "vampprior"

    def pseudo_inputs(self) -> torch.Tensor:
        """The VampPrior's pseudo-inputs u_c ``(C, ...image_shape)``: the parameters clipped to [0, 1] (Tomczak &
        Welling pass them through a hard tanh onto the pixel range)."""
        return self.pseudo.clamp(0.0, 1.0)

    def prior_components(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The VampPrior's components: ``mu, logvar`` each ``(C, D)`` = ``encode(u_c)``."""
        return self.encode(self.pseudo_inputs())

    def prior_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) in nats, ``(...)`` for ``z (..., D)``.

        Standard prior: log N(z | 0, I). VampPrior (Tomczak & Welling 2018, eq. 9):
        ``logsumexp_c log N(z | mu_c, diag exp(logvar_c)) - log C``, each component's log-density expanded into
        matrix products so that no ``(..., C, D)`` tensor is made.
        """
        if not self.vampprior:
            return standard_normal_log_prob(z)
        mu_c, logvar_c = self.prior_components()
        return mixture_log_prob(z, mu_c, logvar_c)

    def kl(self, mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """KL(q(z|x) || p(z)) per image, ``(N,)`` nats: analytic for N(0, I); for the VampPrior the Monte-Carlo
        estimate mean_k [log q(z_k|x) - log p(z_k)] at the samples ``z (k, N, D)``."""
        if not self.vampprior:
            return gaussian_kl_standard_normal(mu, logvar)
        return (diagonal_normal_log_prob(z, mu, logvar) - self.prior_log_prob(z)).mean(0)

    # decoder ------------------------------------------------------------------------------------------------
    def decoder_params(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decoder_params_for(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Decoder output for codes ``z (k, N, D)`` or ``(N, D)`` of images ``x``; a conditional decoder overrides
        this."""
        return self.decoder_params(z)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """Mean of p(x|z) from the decoder's raw output (sigmoid, or identity for ``decoder_mean='identity'``; the
        continuous Bernoulli's own mean; the discretized logistic's location mu)."""
        if self.likelihood == "gaussian" and self.config.decoder_mean == "identity":
            return params
        if self.likelihood == "continuous-bernoulli":
            return continuous_bernoulli_mean(params)
        return torch.sigmoid(params)

    def decoder_log_std(self) -> torch.Tensor:
        """log of the decoder's std (Gaussian) or scale (logistic), broadcastable to ``(..., P)``: ``(1,)`` when
        shared, ``(P,)`` with each channel's value repeated over its H*W pixels."""
        if self.log_std.numel() == 1:
            return self.log_std
        _, h, w = self.image_shape
        return self.log_std.repeat_interleave(h * w)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z (N, D)`` -> pixel means ``(N, C, H, W)`` (in [0, 1] unless ``decoder_mean='identity'``)."""
        return self.mean(self.decoder_params(z)).view(-1, *self.image_shape)

    def log_likelihood(self, params: torch.Tensor, x_flat: torch.Tensor) -> torch.Tensor:
        """log p(x|z) in nats, ``(...)``, from decoder params ``(..., P)`` and targets ``(..., P)``."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_prob(params, x_flat)
        if self.likelihood == "continuous-bernoulli":
            return continuous_bernoulli_log_prob(params, x_flat)
        if self.likelihood == "discretized-logistic":
            return discretized_logistic_log_prob(torch.sigmoid(params), self.decoder_log_std(), x_flat)
        return gaussian_log_prob(self.mean(params), self.decoder_log_std(), x_flat)

    def reconstruction_nll(self, params: torch.Tensor, x_flat: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) in nats, ``(...)``: ``log_likelihood`` negated (the same bits, one operation fewer)."""
        if self.likelihood == "bernoulli":
            return bernoulli_nll(params, x_flat)
        return -self.log_likelihood(params, x_flat)

    def variance(self, head: torch.Tensor) -> torch.Tensor:
        """The encoder's logvar from its variance head's output ``(N, D)`` (``config.variance_head``)."""
        return 2.0 * head if self.config.variance_head == "log_std" else head

    @staticmethod
    def reparameterize(mu, logvar, k: int = 1, generator=None) -> torch.Tensor:
        """``z = mu + exp(logvar / 2) * eps``, eps ~ N(0, I); returns ``(k, N, D)``."""
        eps = noise.randn((k, *mu.shape), generator, batch_axis=1, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    @staticmethod
    def reparameterize_one(mu, logvar, generator=None) -> torch.Tensor:
        """``reparameterize`` with k = 1, as ``(N, D)``: the same draws and the same numbers."""
        eps = noise.randn((1, *mu.shape), generator, batch_axis=1, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps[0]

    # objective ----------------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, y=None, generator=None) -> ModelOutput:
        """Per-image loss terms for ``x (N, C, H, W)`` (binarized beforehand for the Bernoulli likelihood).

        Returns:
            ``ModelOutput`` with ``loss`` (N,) in nats: ``recon_nll + kl_scale * beta * kl`` for
            ``objective="elbo"``, ``-L_K`` (module docstring, Burda et al. 2016 eq. 8, K = ``k``) for
            ``objective="iwae"``. ``recon_nll``, ``kl`` and ``elbo`` are the ELBO's terms for both objectives
            (``kl`` analytic for N(0, I), Monte-Carlo for the VampPrior), so runs trained either way are
            logged and compared on the same terms.
        """
        mu, logvar = self.encode(x)
        k = int(self.config.k)
        scale = self.kl_scale * float(self.config.beta)
        sampled_kl = self.config.kl_estimate == "monte-carlo" or self.vampprior
        if k == 1 and self.config.objective == "elbo" and not self.vampprior:
            return self._one_sample_elbo(x, mu, logvar, generator, scale, sampled_kl)
        z = self.reparameterize(mu, logvar, k, generator)
        log_px_z = self.log_likelihood(self.decoder_params_for(x, z), x.flatten(1))  # (k, N)
        recon_nll = -log_px_z.mean(0)
        if self.config.objective == "iwae":
            log_pz = self.prior_log_prob(z)
            log_qz = diagonal_normal_log_prob(z, mu, logvar)
            kl = gaussian_kl_standard_normal(mu, logvar) if not self.vampprior else (log_qz - log_pz).mean(0)
            loss = -iwae_bound(log_px_z + scale * (log_pz - log_qz))
        elif sampled_kl and not self.vampprior:  # Burda et al.'s VAE: the gradient of mean_k log w_k
            kl = gaussian_kl_standard_normal(mu, logvar)  # logged: the analytic value of what the loss samples
            loss = recon_nll + scale * (diagonal_normal_log_prob(z, mu, logvar) - self.prior_log_prob(z)).mean(0)
        else:
            kl = self.kl(mu, logvar, z)
            loss = recon_nll + scale * kl
        return ModelOutput(loss, recon_nll, kl, mu, logvar, z, elbo=-(recon_nll + kl))

    def _one_sample_elbo(self, x, mu, logvar, generator, scale: float, sampled_kl: bool) -> ModelOutput:
        """``forward`` for k = 1, the ELBO and p(z) = N(0, I), on 2-D tensors (the k axis of size 1 dropped: the
        same numbers, fewer operations; Burda et al.'s batch-20 step is bound by per-operation overhead on a CPU).
        The KL term of the loss is analytic, or sampled at z (``sampled_kl``: log q(z|x) - log p(z), Burda et al.'s
        VAE); the logged KL is the analytic one, and the logged terms that the loss does not use are computed
        without autograd."""
        z1 = self.reparameterize_one(mu, logvar, generator)
        recon_nll = self.reconstruction_nll(self.decoder_params_for(x, z1), x.flatten(1))
        if sampled_kl:
            kl_term = diagonal_normal_log_prob(z1, mu, logvar) - standard_normal_log_prob(z1)
            with torch.no_grad():
                kl = gaussian_kl_standard_normal(mu, logvar)
        else:
            kl = kl_term = gaussian_kl_standard_normal(mu, logvar)
        loss = recon_nll + (kl_term if scale == 1.0 else scale * kl_term)  # x 1.0 is exact: the same bits without it
        with torch.no_grad():
            elbo = -(recon_nll + kl)
        return ModelOutput(loss, recon_nll, kl, mu, logvar, z1.unsqueeze(0), elbo=elbo)

    def log_weights(self, x: torch.Tensor, k: int, generator=None) -> torch.Tensor:
        """Importance log-weights log p(x, z_i) - log q(z_i | x), z_i ~ q(z|x): ``(k, N)`` in nats.

        ``logsumexp(w, 0) - log k`` is the importance-weighted bound of Burda et al. (2015) on log p(x); p(z) is
        the model's prior (N(0, I) or the VampPrior).
        """
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, k, generator)
        log_px_z = self.log_likelihood(self.decoder_params_for(x, z), x.flatten(1))
        return log_px_z + self.prior_log_prob(z) - diagonal_normal_log_prob(z, mu, logvar)

    @torch.no_grad()
    def latent_statistics(self, x: torch.Tensor, generator=None, samples: int = 10) -> dict[str, dict]:
        """Per stochastic layer (one, ``"z"``), what evaluation reports about the posterior of images ``x``.

        Returns:
            ``{"z": {"mu": (N, D) posterior means (for active units), "kl": (N,) KL(q(z|x) || p(z)) in nats,
            "kl_per_dim": (N, D)}}``. For N(0, I) both are analytic and ``kl_per_dim`` sums to ``kl``. For the
            VampPrior (no closed form) ``kl`` is the Monte-Carlo estimate over ``samples`` draws, and
            ``kl_per_dim[:, d]`` the KL of q(z_d|x) to the prior's one-dimensional marginal in dimension d
            (Monte-Carlo too): a per-unit collapse diagnostic whose sum is not ``kl``.
        """
        mu, logvar = self.encode(x)
        if not self.vampprior:
            per_dim = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
            return {"z": {"mu": mu, "kl": per_dim.sum(-1), "kl_per_dim": per_dim}}
        z = self.reparameterize(mu, logvar, samples, generator)  # (S, N, D)
        log_q = -0.5 * ((z - mu) ** 2 * torch.exp(-logvar) + logvar + LOG_2PI)  # (S, N, D) per dimension
        mu_c, logvar_c = self.prior_components()  # (C, D)
        log_p_dim = torch.stack(
            [
                mixture_log_prob(z[..., d : d + 1], mu_c[:, d : d + 1], logvar_c[:, d : d + 1])
                for d in range(z.shape[-1])
            ],
            -1,
        )  # (S, N, D)
        kl = (log_q.sum(-1) - self.prior_log_prob(z)).mean(0)
        return {"z": {"mu": mu, "kl": kl, "kl_per_dim": (log_q - log_p_dim).mean(0)}}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` codes drawn from the prior: N(0, I), or for the VampPrior a uniformly chosen component
        q(z | u_c) each; ``(n, C, H, W)`` pixel means. The noise is drawn on the CPU from ``generator``."""
        if not self.vampprior:
            return super().sample(n, generator)
        mu_c, logvar_c = self.prior_components()
        c = torch.randint(len(mu_c), (n,), generator=generator, device="cpu").to(self.device)
        eps = torch.randn(n, self.latent_dim, generator=generator, device="cpu").to(mu_c)
        return self.decode(mu_c[c] + torch.exp(0.5 * logvar_c[c]) * eps)


def iwae_bound(log_w: torch.Tensor) -> torch.Tensor:
    """The importance-weighted bound per image from log-weights ``(K, N)``: ``logsumexp_k w_k - log K``, ``(N,)``
    nats (Burda et al. 2016, eq. 8). K = 1 gives the single-sample ELBO."""
    return torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])


def mixture_log_prob(z: torch.Tensor, mu_c: torch.Tensor, logvar_c: torch.Tensor) -> torch.Tensor:
    """log of the equal-weight mixture 1/C sum_c N(z | mu_c, diag exp(logvar_c)), ``(...)`` nats for ``z (..., D)``
    and components ``mu_c, logvar_c (C, D)``.

    Each component's log-density, -1/2 sum_d [(z_d - mu_cd)^2 / var_cd + logvar_cd + log 2 pi], is expanded as
    -1/2 [z^2 . a_c - 2 z . (mu_c a_c) + mu_c^2 . a_c + sum logvar_c + D log 2 pi] with a_c = 1 / var_c: two
    matrix products, memory ``(..., C)`` instead of ``(..., C, D)``.
    """
    a = torch.exp(-logvar_c)  # (C, D)
    const = (mu_c.pow(2) * a).sum(-1) + logvar_c.sum(-1) + z.shape[-1] * LOG_2PI  # (C,)
    quad = z.pow(2) @ a.T - 2.0 * (z @ (mu_c * a).T)  # (..., C)
    return torch.logsumexp(-0.5 * (quad + const), -1) - math.log(mu_c.shape[0])


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
        return self.fc_mu(h), self.variance(self.fc_logvar(h))

    def decoder_params(self, z: torch.Tensor) -> torch.Tensor:
        """Raw decoder output ``(..., P)`` for ``z (..., D)``: logits (Bernoulli) or pre-sigmoid means."""
        return self.decoder(z)

    def init_from_data(self, x: torch.Tensor) -> None:
        """``init = "burda"``: Burda et al.'s initial weights (``networks.burda_init_``) and, for a Bernoulli
        decoder, its output bias at ``networks.mean_pixel_logit(x)`` of the training images ``x (N, C, H, W)``."""
        if self.config.init == "burda":
            burda_init_(self, self.decoder[-1], x if self.likelihood == "bernoulli" else None)
