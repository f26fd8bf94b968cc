"""Models: every one maps images to codes and back (see ``vaelab.models.base``)."""

from vaelab.models.autoencoder import Autoencoder, DenoisingAutoencoder, LinearAutoencoder
from vaelab.models.base import LatentModel, ModelConfig, ModelOutput
from vaelab.models.conv import ConvVAE, ConvVAEConfig
from vaelab.models.custom import CustomVAE, CustomVAEConfig
from vaelab.models.guided import GuidedVAE, GuidedVAEConfig
from vaelab.models.hierarchical import TwoLayerVAE, TwoLayerVAEConfig
from vaelab.models.pca import PCAConfig, PCAModel
from vaelab.models.registry import MODELS, build_model, model_names
from vaelab.models.vae import VAE, GaussianEncoderVAE, VAEConfig

__all__ = [
    "LatentModel",
    "ModelConfig",
    "ModelOutput",
    "MODELS",
    "build_model",
    "model_names",
    "VAE",
    "VAEConfig",
    "GaussianEncoderVAE",
    "Autoencoder",
    "DenoisingAutoencoder",
    "LinearAutoencoder",
    "ConvVAE",
    "ConvVAEConfig",
    "CustomVAE",
    "CustomVAEConfig",
    "GuidedVAE",
    "GuidedVAEConfig",
    "PCAConfig",
    "PCAModel",
    "TwoLayerVAE",
    "TwoLayerVAEConfig",
]
