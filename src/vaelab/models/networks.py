"""Building blocks: MLPs with a chosen activation, and Burda et al.'s initialisation."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from vaelab.core.errors import ConfigError

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "softplus": nn.Softplus,
    "leaky_relu": nn.LeakyReLU,
}


Activation = Literal["relu", "tanh", "sigmoid", "elu", "gelu", "softplus", "leaky_relu"]


def activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError as exc:
        raise ConfigError(f"activation={name!r}: expected one of {sorted(ACTIVATIONS)}") from exc


def mlp(sizes: list[int], act: str = "relu", final_activation: bool = False) -> nn.Sequential:
    """``Linear(sizes[0], sizes[1]), act, ..., Linear(sizes[-2], sizes[-1])`` (+ act if ``final_activation``)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or final_activation:
            layers.append(activation(act))
    return nn.Sequential(*layers)


BURDA_INIT_SEED = 123  # Burda et al.'s nnet.py: every Linear.random draws from np.random.RandomState(123)


@torch.no_grad()
def burda_init_(module: nn.Module, output: nn.Linear | None = None, images: torch.Tensor | None = None) -> None:
    """Initialise every ``nn.Linear`` inside ``module`` as Burda et al.'s published code does (yburda/iwae,
    ``nnet.py``, ``Linear.random``): the weight ``(in, out)`` uniform on ±sqrt(6 / (in + out)) (Glorot & Bengio
    2010) drawn from a *fresh* ``numpy.random.RandomState(123)`` for each layer (so layers of one shape start equal),
    stored transposed as PyTorch's ``(out, in)``; biases zero. With ``output`` and ``images (N, ...)``, the output
    layer's bias is then ``mean_pixel_logit(images)`` (the code's Bernoulli decoders)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            n_out, n_in = layer.weight.shape
            scale = np.sqrt(6.0 / (n_in + n_out))
            w = np.random.RandomState(BURDA_INIT_SEED).uniform(low=-scale, high=scale, size=(n_in, n_out))
            layer.weight.copy_(torch.from_numpy(w.T.astype(np.float32)))
            if layer.bias is not None:
                layer.bias.zero_()
    if output is not None and images is not None:
        output.bias.copy_(mean_pixel_logit(images))


def mean_pixel_logit(x: torch.Tensor) -> torch.Tensor:
    """``logit(clip(mean pixel, 0.001, 0.999))`` of images ``x (N, ...)`` with pixels in [0, 1]: a ``(P,)`` float32
    tensor, the initial output bias of a Bernoulli decoder in Burda et al.'s code (``get_train_bias_np``), whose
    initial reconstructions are then the mean image."""
    mean = x.detach().flatten(1).double().mean(0).clamp(0.001, 0.999)
    return torch.log(mean / (1.0 - mean)).float()
