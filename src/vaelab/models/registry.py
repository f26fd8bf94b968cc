"""Model names -> (config class, model class). ``build_model`` is the one way runs and the CLI make models."""

from __future__ import annotations

from vaelab.core.errors import ConfigError
from vaelab.models.autoencoder import (
    Autoencoder,
    AutoencoderConfig,
    DAEConfig,
    DenoisingAutoencoder,
    LinearAEConfig,
    LinearAutoencoder,
)
from vaelab.models.base import LatentModel, ModelConfig
from vaelab.models.conv import ConvVAE, ConvVAEConfig
from vaelab.models.custom import CustomVAE, CustomVAEConfig, Networks
from vaelab.models.guided import GuidedVAE, GuidedVAEConfig
from vaelab.models.hierarchical import TwoLayerVAE, TwoLayerVAEConfig
from vaelab.models.pca import PCAConfig, PCAModel
from vaelab.models.vae import VAE, VAEConfig

MODELS: dict[str, tuple[type[ModelConfig], type[LatentModel]]] = {
    "vae": (VAEConfig, VAE),
    "pca": (PCAConfig, PCAModel),
    "linear-ae": (LinearAEConfig, LinearAutoencoder),
    "ae": (AutoencoderConfig, Autoencoder),
    "dae": (DAEConfig, DenoisingAutoencoder),
    "guided-vae": (GuidedVAEConfig, GuidedVAE),
    "conv-vae": (ConvVAEConfig, ConvVAE),
    "vae-2layer": (TwoLayerVAEConfig, TwoLayerVAE),
    "custom-vae": (CustomVAEConfig, CustomVAE),
}


def model_names() -> list[str]:
    return sorted(MODELS)


def build_model(name: str, config: dict | ModelConfig, networks: Networks | None = None) -> LatentModel:
    """Make the model ``name`` from a config dict (checked) or config object.

    Args:
        networks: for ``custom-vae``, the encoder and decoder modules (copied); None imports the classes its config
            names (``vaelab.models.custom``). Ignored by the other families.

    Raises:
        ConfigError: unknown model name or bad option.
        CheckpointError: a ``custom-vae`` without ``networks`` whose classes cannot be imported or built.
    """
    if name not in MODELS:
        raise ConfigError(f"--model {name!r}: expected one of {model_names()}")
    config_cls, model_cls = MODELS[name]
    if not isinstance(config, ModelConfig):
        config = config_cls.from_dict(dict(config))
    if model_cls.takes_networks:
        return model_cls(config, networks)
    return model_cls(config)


def train_defaults(name: str) -> dict:
    """Training options a model family prefers over ``TrainConfig``'s defaults (e.g. the guided VAE's seed
    settings: 20 epochs, batch 100); flags and config files still override them."""
    if name not in MODELS:
        return {}
    return dict(MODELS[name][1].train_defaults)
