"""vaelab: variational autoencoders on image data (MNIST first).

    import vaelab
    run = vaelab.train(model="vae", latent_dim=2, epochs=5, limit=10_000)   # a vaelab.Run
    run.evaluate(k=100); run.plot("manifold"); run.model
    vaelab.load_run("runs/vae-mnist-z2")
    vaelab.load("ORG/NAME")        # a local folder, else a packed model on the Hugging Face Hub

Layers, lowest first: ``core`` -> ``data`` -> ``models`` -> ``train`` | ``evaluate`` -> ``viz`` | ``export`` ->
``api`` -> ``cli``. Nothing lower imports anything higher.

``import vaelab`` is light: it imports neither torch nor the rest of the package. The API names (``train``,
``load_run``, ``Run``, ``Explorer``, from ``vaelab.api``) are loaded on first use. ``vaelab.train`` is both the
API function (call it) and the ``vaelab.train`` subpackage (its attributes, e.g. ``vaelab.train.TrainConfig``).
"""

from __future__ import annotations

import importlib
import sys
import types

from vaelab.core.errors import CheckpointError, ConfigError, DatasetError, PackError, TrainingError, VaelabError

__version__ = "0.1.0"

_API_NAMES = ("load", "load_run", "Run", "Explorer")

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
    """``load``, ``load_run``, ``Run`` and ``Explorer`` from ``vaelab.api``, imported on first use (it imports
    torch)."""
    if name in _API_NAMES:
        from vaelab import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vaelab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Train:
    """``vaelab.train``: call it to train a model (``vaelab.api.train``: ``run = vaelab.train(model="vae",
    latent_dim=2, epochs=5)`` returns a ``vaelab.Run``); its attributes are those of the ``vaelab.train``
    subpackage (``TrainConfig``, ``RunDir``, ``create_run``, ...), which is imported on first use."""

    __slots__ = ()

    @staticmethod
    def _package():
        return importlib.import_module("vaelab.train")

    def __call__(self, *args, **kwargs):
        from vaelab.api import train

        return train(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._package(), name)

    def __setattr__(self, name: str, value) -> None:  # e.g. monkeypatching vaelab.train.X reaches the package
        setattr(self._package(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._package(), name)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._package())) | {"__call__"})

    @property
    def __signature__(self):
        import inspect

        from vaelab.api import train

        return inspect.signature(train)

    def __repr__(self) -> str:
        return "<vaelab.train: the API function vaelab.api.train and the vaelab.train subpackage>"


train = _Train()


class _Package(types.ModuleType):
    """The ``vaelab`` module: once the ``vaelab.train`` subpackage is imported, Python binds it as the attribute
    ``vaelab.train``; this keeps that attribute the callable ``_Train`` (which reaches the subpackage)."""

    def __setattr__(self, name: str, value) -> None:
        if name == "train" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
