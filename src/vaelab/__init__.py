"""vaelab: variational autoencoders on image data (MNIST first).

Layers, lowest first: ``data`` -> ``models`` (+ ``likelihoods``) -> ``training`` / ``evaluation`` / ``runs``
-> ``plots`` / ``export`` -> ``cli``. Nothing lower imports anything higher.
"""

__version__ = "0.1.0"

from vaelab.core.errors import CheckpointError, ConfigError, DatasetError, TrainingError, VaelabError

__all__ = ["__version__", "VaelabError", "DatasetError", "ConfigError", "CheckpointError", "TrainingError"]
