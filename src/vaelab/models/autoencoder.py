"""Deterministic autoencoders: linear, deep and denoising (seed 001; Vincent et al. 2008 for denoising).

* ``linear-ae``: one linear layer each way, ``z = W_e x + b_e``, ``x' = W_d z + b_d``, trained on squared error.
  Its optimum spans the same subspace as PCA with D components (Baldi & Hornik 1989) but in a basis that is
  neither orthonormal nor ordered by variance; ``vaelab subspace RUN`` measures both.
* ``ae``: MLP encoder P -> 500 -> 120 -> D (ReLU, linear code layer) and decoder D -> 120 -> 500 -> P (ReLU,
  sigmoid output), as in the seed.
* ``dae``: the same network trained to map a corrupted image back to the clean one. Corruption: ``gaussian``
  (x + sigma * eps, clipped to [0, 1]; ``noise_level`` = sigma) or ``salt-pepper`` (each pixel, with probability
  ``noise_level``, set to 0 or 1 with equal chance).

Loss per image: squared error summed over pixels, ``sum_j (x'_j - x_j)^2`` (``loss="mse"``), or the Bernoulli
cross-entropy on grey pixels in nats (``loss="bce"``). There is no KL term (``kl`` = 0) and no ELBO.
Sampling decodes z ~ N(0, I), which is well-defined but not a model of the data: an autoencoder has no prior, and
its codes need not lie where N(0, I) puts mass (the "holes" that ``vaelab compare`` measures).
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
import torch.nn.functional as F

from vaelab.core.errors import ConfigError
from vaelab.core.naming import options
from vaelab.core.noise import rand, randn
from vaelab.core.options import NonNegativeFloat, OnlyWhen, PositiveInt
from vaelab.models.base import LatentModel, ModelConfig, ModelOutput
from vaelab.models.networks import Activation, mlp

NOISES = ("none", "gaussian", "salt-pepper")
NOISY = OnlyWhen("noise", ("gaussian", "salt-pepper"))  # a noise level means something only with a noise


class AutoencoderConfig(ModelConfig):
    """Hyper-parameters of the deterministic autoencoders (each field's meaning is the docstring under it)."""

    hidden: tuple[PositiveInt, ...] = (500, 120)
    """encoder hidden sizes (the decoder mirrors them); () for the linear autoencoder"""
    latent_dim: PositiveInt = 2
    """D, the size of the code"""
    activation: Activation = "relu"
    """hidden-layer activation"""
    loss: Literal["mse", "bce"] = "mse"
    """mse (squared error summed over pixels) or bce (cross-entropy on grey pixels, nats)"""
    noise: Literal["none", "gaussian", "salt-pepper"] = "none"
    """corruption of the input during training and validation"""
    noise_level: Annotated[NonNegativeFloat, NOISY] = 0.0
    """Gaussian sigma, or the salt-and-pepper rate (share of pixels replaced)"""
    output: Literal["sigmoid", "linear"] = "sigmoid"
    """sigmoid (pixels in [0, 1]) or linear (the linear autoencoder)"""

    def check(self) -> None:
        if self.noise == "salt-pepper" and not 0 <= self.noise_level <= 1:
            raise ConfigError(f"noise_level={self.noise_level}: expected a salt-and-pepper rate in [0, 1]")
        if self.output == "linear" and self.loss == "bce":
            raise ConfigError("loss='bce' needs output='sigmoid'")


class LinearAEConfig(AutoencoderConfig):
    hidden: tuple[PositiveInt, ...] = ()
    latent_dim: PositiveInt = 6  # MNIST's eigenvalues 6 and 7 differ by a third: a gap that SGD finds quickly
    output: Literal["linear"] = "linear"
    """the linear autoencoder's decoder is linear"""
    noise: Literal["none"] = "none"
    """the linear autoencoder sees clean inputs"""

    def check(self) -> None:
        super().check()
        if self.hidden or self.output != "linear" or self.noise != "none":
            raise ConfigError(
                "linear-ae: expected hidden=(), output='linear', noise='none' (one linear layer each way)"
            )


class DAEConfig(AutoencoderConfig):
    latent_dim: PositiveInt = 32
    noise: Literal["none", "gaussian", "salt-pepper"] = "gaussian"
    noise_level: Annotated[NonNegativeFloat, NOISY] = 0.5

    def check(self) -> None:
        super().check()
        if self.noise == "none" or self.noise_level == 0:
            raise ConfigError(
                "dae: expected noise 'gaussian' or 'salt-pepper' with noise_level > 0 "
                f"({options('noise', 'noise_level')})"
            )


def corrupt(x: torch.Tensor, noise: str, level: float, generator=None) -> torch.Tensor:
    """Corrupted copy of images ``x`` in [0, 1] (same shape): ``gaussian`` x + level * eps clipped to [0, 1], or
    ``salt-pepper`` with rate ``level`` (each chosen pixel set to 0 or 1 with equal chance); ``none``: ``x``."""
    if noise == "none" or level == 0:
        return x
    if noise == "gaussian":
        eps = randn(x.shape, generator, device=x.device, dtype=x.dtype)
        return (x + float(level) * eps).clamp(0, 1)
    if noise == "salt-pepper":
        u = rand((2, *x.shape), generator, batch_axis=1, device=x.device, dtype=x.dtype)
        return torch.where(u[0] < float(level), (u[1] < 0.5).to(x.dtype), x)
    raise ConfigError(f"noise={noise!r}: expected one of {list(NOISES)}")


class Autoencoder(LatentModel):
    """Deterministic autoencoder on ``(N, C, H, W)`` images (module docstring); ``dae`` adds input noise."""

    config_class = AutoencoderConfig
    probabilistic = False
    likelihood = "mse"  # the trainer feeds grey pixels

    def __init__(self, config: AutoencoderConfig):
        super().__init__(config)
        P, D, H = self.num_pixels, int(config.latent_dim), [int(h) for h in config.hidden]
        self.encoder = mlp([P, *H, D], config.activation)  # linear code layer
        self.decoder = mlp([D, *reversed(H), P], config.activation)

    @property
    def denoising(self) -> bool:
        return self.config.noise != "none" and float(self.config.noise_level) > 0

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """``x (N, C, H, W)`` -> code ``(N, D)`` (and None: the encoder is deterministic)."""
        return self.encoder(x.flatten(1)), None

    def decoder_output(self, z: torch.Tensor) -> torch.Tensor:
        """Raw decoder output ``(N, P)``: logits (sigmoid output) or pixel values (linear output)."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z (N, D)`` -> images ``(N, C, H, W)`` in [0, 1] (a linear output is clipped)."""
        out = self.decoder_output(z)
        out = torch.sigmoid(out) if self.config.output == "sigmoid" else out.clamp(0, 1)
        return out.view(-1, *self.image_shape)

    def corrupt(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        """The model's corruption of ``x`` (identity for a plain autoencoder)."""
        return corrupt(x, self.config.noise, float(self.config.noise_level), generator)

    def forward(self, x: torch.Tensor, y=None, generator=None) -> ModelOutput:
        """Per-image reconstruction loss of the clean ``x`` from its (corrupted, for ``dae``) copy."""
        code, _ = self.encode(self.corrupt(x, generator))
        out = self.decoder_output(code)
        target = x.flatten(1)
        if self.config.loss == "bce":
            err = F.binary_cross_entropy_with_logits(out, target, reduction="none").sum(1)
        else:
            pred = torch.sigmoid(out) if self.config.output == "sigmoid" else out
            err = (pred - target).pow(2).sum(1)
        return ModelOutput(err, err, torch.zeros_like(err), code, None, code[None])

    @torch.no_grad()
    def denoise(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of (noisy) images ``x (N, C, H, W)``: ``decode(encode(x))``."""
        return self.reconstruct(x)


class LinearAutoencoder(Autoencoder):
    """One linear layer each way (``hidden=()``, ``output='linear'``): ``encoder.0`` and ``decoder.0``.

    Initialisation (symmetric, data-dependent): the decoder weight starts as the transpose of the (random)
    encoder weight, and ``init_from_data`` (called by the trainer on the training images before the first step)
    sets the decoder bias to the mean image and the encoder bias so that codes start centred. From there the
    subspace is found in a few hundred full-batch Adam steps; from PyTorch's default (large, unrelated decoder
    weights) it takes far longer (measured: still > 10 degrees from PCA's subspace after 1,000 minibatch steps).
    Training defaults (``train_defaults``): full batch (50,000 = MNIST's training split), lr 1e-2, 300 epochs
    (= 300 steps): minibatch noise keeps the subspace about a degree from PCA's (measured 1.1 degrees with batch
    10,000), full-batch steps reach 0.25 degrees.
    """

    config_class = LinearAEConfig
    linear_decoder = True
    train_defaults = {"batch_size": 50000, "lr": 1e-2, "epochs": 300}

    def __init__(self, config: LinearAEConfig):
        super().__init__(config)
        with torch.no_grad():
            self.decoder[0].weight.copy_(self.encoder[0].weight.T)

    @torch.no_grad()
    def init_from_data(self, x: torch.Tensor) -> None:
        """Decoder bias = mean training image; encoder bias = -W_e mean (codes start centred). ``x (N, C, H, W)``."""
        mean = x.flatten(1).mean(0).to(self.device)
        self.decoder[0].bias.copy_(mean)
        self.encoder[0].bias.copy_(-self.encoder[0].weight @ mean)

    @property
    def decoder_weight(self) -> torch.Tensor:
        """``W_d (P, D)``: its columns span the decoder's subspace (compared with PCA's)."""
        return self.decoder[0].weight


class DenoisingAutoencoder(Autoencoder):
    config_class = DAEConfig


__all__ = [
    "Autoencoder",
    "AutoencoderConfig",
    "DenoisingAutoencoder",
    "DAEConfig",
    "LinearAutoencoder",
    "LinearAEConfig",
    "corrupt",
    "NOISES",
]
