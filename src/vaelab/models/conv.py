"""Convolutional VAE: strided convolutions down, transposed convolutions up (as in DCGAN-style VAEs).

Encoder: for each entry of ``channels``, ``Conv2d(k=4, stride=2, padding=1)`` + activation, which halves the
height and width (rounding down); then a fully connected layer of ``hidden`` units and the linear heads mu and
logvar. Decoder: the mirror image, a fully connected layer to the last feature map, then
``ConvTranspose2d(k=4, stride=2, padding=1)`` layers whose ``output_padding`` (0 or 1) restores exactly the sizes
the encoder saw, so any image size works (28x28 MNIST, 28x20 Frey Face, 64x64 Olivetti faces). The objective,
likelihoods (Bernoulli or Gaussian with fixed or learned std), beta, k and the importance weights are the MLP
VAE's (``vaelab.models.vae.GaussianEncoderVAE``).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from vaelab.core.errors import ConfigError
from vaelab.core.options import PositiveInt
from vaelab.models.networks import activation
from vaelab.models.vae import GaussianEncoderVAE, VAEConfig


class ConvVAEConfig(VAEConfig):
    """The VAE's options plus the convolutions'; ``hidden`` is the one fully connected layer between the last
    feature map and mu / logvar."""

    channels: tuple[PositiveInt, ...] = (32, 64)
    """feature maps of each stride-2 convolution, e.g. 32,64"""
    hidden: tuple[PositiveInt, ...] = (256,)
    latent_dim: PositiveInt = 16
    init: Literal["pytorch"] = "pytorch"
    """the conv VAE starts from PyTorch's initialisation (Burda et al.'s is for MLPs)"""

    def check(self) -> None:
        super().check()
        if not self.channels:
            raise ConfigError("channels=[]: expected one or more positive channel counts")
        if len(self.hidden) > 1:
            raise ConfigError(f"hidden={list(self.hidden)}: the conv VAE takes at most one fully connected size")
        _, h, w = self.image_shape
        if min(h, w) >> len(self.channels) < 1:
            raise ConfigError(
                f"channels={list(self.channels)}: {len(self.channels)} stride-2 layers shrink a "
                f"{h}x{w} image below 1 pixel; use fewer layers"
            )


class ConvVAE(GaussianEncoderVAE):
    """Convolutional VAE on images ``(N, C, H, W)`` (module docstring)."""

    config_class = ConvVAEConfig

    def __init__(self, config: ConvVAEConfig):
        super().__init__(config)
        c_in, h, w = self.image_shape
        chans = [int(c) for c in config.channels]
        D = int(config.latent_dim)
        sizes = [(h, w)]
        enc: list[nn.Module] = []
        prev = c_in
        for c in chans:
            enc += [nn.Conv2d(prev, c, 4, stride=2, padding=1), activation(config.activation)]
            prev = c
            sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))
        self.feature_shape = (chans[-1], *sizes[-1])
        flat = chans[-1] * sizes[-1][0] * sizes[-1][1]
        H = [int(v) for v in config.hidden]
        fc = [nn.Flatten(), *([nn.Linear(flat, H[0]), activation(config.activation)] if H else [])]
        self.encoder = nn.Sequential(*enc, *fc)
        last = H[0] if H else flat
        self.fc_mu = nn.Linear(last, D)
        self.fc_logvar = nn.Linear(last, D)
        dec_fc = (
            [nn.Linear(D, H[0]), activation(config.activation), nn.Linear(H[0], flat)] if H else [nn.Linear(D, flat)]
        )
        self.decoder_fc = nn.Sequential(*dec_fc, activation(config.activation))
        dec: list[nn.Module] = []
        outs = list(reversed(chans[:-1])) + [c_in]
        prev = chans[-1]
        for i, c in enumerate(outs):
            src, dst = sizes[len(chans) - i], sizes[len(chans) - i - 1]
            pad = (dst[0] - 2 * src[0], dst[1] - 2 * src[1])  # 0 or 1: undo the encoder's rounding down
            dec.append(nn.ConvTranspose2d(prev, c, 4, stride=2, padding=1, output_padding=pad))
            if i < len(outs) - 1:
                dec.append(activation(config.activation))
            prev = c
        self.decoder = nn.Sequential(*dec)
        self._init_likelihood(config)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (N, C, H, W)`` -> ``mu, logvar`` each ``(N, D)``."""
        h = self.encoder(x)
        return self.fc_mu(h), self.variance(self.fc_logvar(h))

    def decoder_params(self, z: torch.Tensor) -> torch.Tensor:
        """Raw decoder output ``(..., P)`` for ``z (..., D)``: logits (Bernoulli) or pre-sigmoid means."""
        lead = z.shape[:-1]
        h = self.decoder_fc(z.reshape(-1, z.shape[-1])).view(-1, *self.feature_shape)
        return self.decoder(h).reshape(*lead, self.num_pixels)
