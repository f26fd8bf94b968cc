"""vaelab: variational autoencoders on image data (MNIST first).

    import vaelab
    run = vaelab.train(model="vae", latent_dim=2, epochs=5, limit=10_000)   # a vaelab.Run
    run.evaluate(k=100); run.plot("manifold"); run.model
    vaelab.load_run("runs/vae-mnist-z2")
    vaelab.load("ORG/NAME")        # a local folder, else a packed model on the Hugging Face Hub

Layers, lowest first: ``core`` -> ``data`` -> ``models`` -> ``runs`` -> ``training`` | ``evaluate`` -> ``viz`` |
``export`` -> ``api`` -> ``cli``. Nothing lower imports anything higher.

``import vaelab`` is light: it imports neither torch nor the rest of the package. The API names (``train``,
``load_run``, ``Run``, ``Explorer``, from ``vaelab.api``) are loaded on first use. ``vaelab.train`` is the API
function ``vaelab.api.train``; the training loop and a run's life are the ``vaelab.training`` subpackage.
"""

from __future__ import annotations

from vaelab.core.errors import CheckpointError, ConfigError, DatasetError, PackError, TrainingError, VaelabError
from vaelab.core.version import __version__

_API_NAMES = ("train", "load", "load_run", "Run", "Explorer")

__all__ = [
    "__version__",
    "train",
    "load",
    "load_run",
    "Run",
    "Explorer",
    "VaelabError",
    "DatasetError",
    "ConfigError",
    "CheckpointError",
    "PackError",
    "TrainingError",
]


def __getattr__(name: str):
    """``train``, ``load``, ``load_run``, ``Run`` and ``Explorer`` from ``vaelab.api``, imported on first use (it
    imports torch)."""
    if name in _API_NAMES:
        # import cost: vaelab.api imports torch; ``import vaelab`` stays light until an API name is used
        from vaelab import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vaelab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
