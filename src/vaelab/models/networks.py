"""Building blocks: MLPs with a chosen activation."""

from __future__ import annotations

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


def activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(f"activation={name!r}: expected one of {sorted(ACTIVATIONS)}") from None


def mlp(sizes: list[int], act: str = "relu", final_activation: bool = False) -> nn.Sequential:
    """``Linear(sizes[0], sizes[1]), act, ..., Linear(sizes[-2], sizes[-1])`` (+ act if ``final_activation``)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or final_activation:
            layers.append(activation(act))
    return nn.Sequential(*layers)


def check_mlp_options(latent_dim, hidden, act: str) -> None:
    """Validate an MLP model's options; raises ``ConfigError`` naming the bad one."""
    if int(latent_dim) < 1:
        raise ConfigError(f"latent_dim={latent_dim}: expected an integer >= 1")
    if any(int(h) < 1 for h in hidden):
        raise ConfigError(f"hidden={list(hidden)}: expected layer sizes >= 1")
    if act not in ACTIVATIONS:
        raise ConfigError(f"activation={act!r}: expected one of {sorted(ACTIVATIONS)}")
