"""Building blocks: MLPs with a chosen activation."""

from __future__ import annotations

from typing import Literal

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
