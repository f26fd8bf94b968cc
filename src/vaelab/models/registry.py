"""Model names -> (config class, model class). ``build_model`` is the one way runs and the CLI make models."""

from __future__ import annotations

from vaelab.core.errors import CheckpointError, ConfigError
from vaelab.core.naming import option
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
from vaelab.models.custom import CustomVAE, CustomVAEConfig, Networks, networks_from_config
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


def build_model(
    name: str, config: dict | ModelConfig, networks: Networks | None = None, import_networks: bool = True
) -> LatentModel:
    """Make the model ``name`` from a config dict (checked) or config object.

    Args:
        networks: for ``custom-vae``, the encoder and decoder modules (copied); None builds them from the classes
            its config names (``vaelab.models.custom.networks_from_config``). Ignored by the other families.
        import_networks: False refuses to import those classes (a packed folder is untrusted input).

    Raises:
        ConfigError: unknown model name or bad option.
        CheckpointError: a ``custom-vae`` without ``networks`` whose classes cannot (or may not) be imported and
            built with no arguments.
    """
    if name not in MODELS:
        raise ConfigError(f"{option('model', name)}: expected one of {model_names()}")
    config_cls, model_cls = MODELS[name]
    if not isinstance(config, ModelConfig):
        config = config_cls.from_dict(dict(config))
    if model_cls.takes_networks:
        if networks is None and not import_networks:
            raise CheckpointError(
                f"{name}: a packed folder's encoder and decoder ({config.encoder}, {config.decoder}) are never "
                "imported from its config.json (a pack is untrusted input); pass encoder= and decoder= (built as for "
                "training) to vaelab.load / vaelab.load_run"
            )
        return model_cls(config, networks if networks is not None else networks_from_config(config))
    return model_cls(config)


def train_defaults(name: str) -> dict:
    """Training options a model family prefers over ``TrainConfig``'s defaults (e.g. the guided VAE's seed
    settings: 20 epochs, batch 100); flags and config files still override them."""
    if name not in MODELS:
        return {}
    return dict(MODELS[name][1].train_defaults)
