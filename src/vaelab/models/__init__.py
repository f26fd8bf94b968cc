"""Models: every one maps images to codes and back (see ``vaelab.models.base``)."""

from vaelab.models.base import LatentModel, ModelConfig, ModelOutput
from vaelab.models.registry import MODELS, build_model, model_names
from vaelab.models.vae import VAE, VAEConfig

__all__ = ["LatentModel", "ModelConfig", "ModelOutput", "MODELS", "build_model", "model_names", "VAE", "VAEConfig"]
