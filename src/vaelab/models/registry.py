"""Model names -> (config class, model class). ``build_model`` is the one way runs and the CLI make models."""

from __future__ import annotations

from vaelab.errors import ConfigError
from vaelab.models.base import LatentModel, ModelConfig
from vaelab.models.vae import VAE, VAEConfig

MODELS: dict[str, tuple[type[ModelConfig], type[LatentModel]]] = {
    "vae": (VAEConfig, VAE),
}


def model_names() -> list[str]:
    return sorted(MODELS)


def build_model(name: str, config: dict | ModelConfig) -> LatentModel:
    """Make the model ``name`` from a config dict (checked) or config object.

    Raises:
        ConfigError: unknown model name or bad option.
    """
    if name not in MODELS:
        raise ConfigError(f"--model {name!r}: expected one of {model_names()}")
    config_cls, model_cls = MODELS[name]
    if not isinstance(config, ModelConfig):
        config = config_cls.from_dict(dict(config))
    return model_cls(config)
