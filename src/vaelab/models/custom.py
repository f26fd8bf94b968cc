"""A VAE with your own encoder and decoder networks (``vaelab.train(encoder=..., decoder=...)``; family
``custom-vae``).

The interface, as in pythae's custom ``BaseEncoder`` / ``BaseDecoder`` (Chadebec et al., *Pythae*, NeurIPS 2022),
with plain tensors in and out:

* ``encoder``: an ``nn.Module`` mapping images ``x (N, C, H, W)`` in [0, 1] to ``(mu, logvar)``, two tensors
  ``(N, D)``: the mean and log-variance of the diagonal Gaussian q(z|x) (Kingma & Welling 2014);
* ``decoder``: an ``nn.Module`` mapping codes ``z (N, D)`` to ``(N, C, H, W)`` or ``(N, C*H*W)``: the logits of
  p(x|z) for the Bernoulli likelihood (the default), the pre-sigmoid means for the Gaussian one (the identity
  means with ``decoder_mean = "identity"``).

Everything else is ``GaussianEncoderVAE``'s: the prior (N(0, I) or the VampPrior), the ELBO or IWAE objective with
``k`` samples and ``beta``, the importance weights for the NLL, ``sample`` and ``decode``. The modules given are
copied (``copy.deepcopy``): the trained ones are ``model.encoder`` and ``model.decoder`` of the run's model.

Re-creating the model from ``config.json`` alone: the config records each module's class as an import path
(``module:QualName``); for a run folder of yours, ``networks_from_config`` imports the classes and builds them with
no arguments (as ``vaelab train --model custom-vae --encoder pkg.nets:Encoder`` does). Classes defined in
``__main__`` or a notebook, or whose constructor needs arguments, cannot be re-created that way: open such a run
with the modules again (``vaelab.load_run(path, encoder=..., decoder=...)``). A packed folder is untrusted input:
its config's import paths are never imported, so loading a pack of a ``custom-vae`` always takes ``encoder=`` and
``decoder=``. ``describe_networks`` records which case a run is in.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
from dataclasses import dataclass
from typing import Literal

import torch
from pydantic import field_validator
from torch import nn

from vaelab.core.errors import CheckpointError, ConfigError
from vaelab.core.naming import option, options
from vaelab.core.options import NonNegativeFloat, PositiveFloat, PositiveInt, Str
from vaelab.models.base import ModelConfig
from vaelab.models.vae import GaussianEncoderVAE

NOT_IMPORTABLE = ("__main__", "__mp_main__", "builtins")


class CustomVAEConfig(ModelConfig):
    """Options of a VAE with your own encoder and decoder (each field's meaning is the docstring under it)."""

    encoder: Str | None = None
    """the encoder's class as module:QualName, built with no arguments (set by vaelab.train(encoder=...))"""
    decoder: Str | None = None
    """the decoder's class as module:QualName, built with no arguments (set by vaelab.train(decoder=...))"""
    latent_dim: PositiveInt = 20
    """D, the size of z (found from the encoder's output when the modules are given)"""
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    """decoder p(x|z): bernoulli (the decoder gives logits) or gaussian (the decoder gives pre-sigmoid means)"""
    decoder_std: PositiveFloat | None = None
    """gaussian only: the fixed decoder std, or 'learned' (one shared learned std)"""
    decoder_mean: Literal["sigmoid", "identity"] = "sigmoid"
    """gaussian only: sigmoid (means in [0, 1]) or identity (the decoder's output is the mean)"""
    beta: NonNegativeFloat = 1.0
    """weight of the KL term (1 gives the ELBO)"""
    k: PositiveInt = 1
    """Monte-Carlo samples of z per image in the training loss"""
    objective: Literal["elbo", "iwae"] = "elbo"
    """training objective with k samples: elbo or iwae (Burda et al.'s importance-weighted bound L_k)"""
    prior: Literal["standard", "vampprior"] = "standard"
    """p(z): standard (N(0, I)) or vampprior (mixture of q(z|u) at learned pseudo-inputs)"""
    pseudo_inputs: PositiveInt = 500
    """vampprior only: C, the number of learned pseudo-inputs"""
    kl_estimate: Literal["analytic", "monte-carlo"] = "analytic"
    """the elbo objective's KL term: analytic or monte-carlo (log q(z|x) - log p(z) at the samples)"""

    @field_validator("decoder_std", mode="before")
    @classmethod
    def _learned_std(cls, value):
        return None if value == "learned" else value


@dataclass
class Networks:
    """The encoder and decoder modules a custom VAE is built with (copied on every build)."""

    encoder: nn.Module
    decoder: nn.Module


def import_path(module: nn.Module) -> str:
    """``module``'s class as ``module:QualName`` (what ``CustomVAEConfig.encoder`` records)."""
    cls = type(module)
    return f"{cls.__module__}:{cls.__qualname__}"


def networks_from_config(config: CustomVAEConfig) -> Networks:
    """The encoder and decoder built from the classes ``config`` names, each with no arguments (a run folder's own
    config only: this imports and runs code the config names).

    Raises:
        ConfigError: no class recorded.
        CheckpointError: a class that cannot be imported (defined in a script or notebook), is not
            an ``nn.Module`` subclass, or cannot be built with no arguments; one line saying to pass the modules.
    """
    if not config.encoder or not config.decoder:
        raise ConfigError(
            f"{option('model', 'custom-vae')} needs {options('encoder', 'decoder')}: your nn.Modules from Python "
            "(encoder=, decoder=), or on the command line their classes as module:Class (built with no arguments)"
        )
    return Networks(_import(config.encoder, "encoder"), _import(config.decoder, "decoder"))


def _import(path: str, keyword: str) -> nn.Module:
    """Build the module of class ``path`` (``module:QualName``) with no arguments, or raise ``CheckpointError``."""
    module_name, _, qualname = path.partition(":")
    how = (
        f"give the module again (vaelab.load_run(RUN, encoder=..., decoder=...)), or make {path} importable and "
        "constructible with no arguments"
    )
    if not importable(path):
        raise CheckpointError(f"{keyword} {path}: defined in a script or notebook, so it cannot be imported; {how}")
    try:
        cls = importlib.import_module(module_name)
        for part in qualname.split("."):
            cls = getattr(cls, part)
    except Exception as exc:  # any failure importing the user's code
        raise CheckpointError(f"{keyword} {path}: cannot be imported ({type(exc).__name__}: {exc}); {how}") from exc
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise CheckpointError(f"{keyword} {path}: not an nn.Module class; {how}")
    try:
        return cls()
    except Exception as exc:  # the user's constructor needs arguments or fails
        raise CheckpointError(f"{keyword} {path}: cannot be built ({type(exc).__name__}: {exc}); {how}") from exc


class CustomVAE(GaussianEncoderVAE):
    """A VAE whose encoder and decoder are given modules (module docstring for their interface).

    Args:
        config: ``CustomVAEConfig``. networks: the modules (copied; ``networks_from_config`` builds them from the
            config's classes).
    """

    config_class = CustomVAEConfig
    takes_networks = True

    def __init__(self, config: CustomVAEConfig, networks: Networks):
        super().__init__(config)
        self.encoder = copy.deepcopy(networks.encoder)
        self.decoder = copy.deepcopy(networks.decoder)
        self._init_likelihood(config)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (N, C, H, W)`` -> ``mu, logvar`` each ``(N, D)`` (the encoder's two outputs)."""
        mu, logvar = self.encoder(x)
        return mu, logvar

    def decoder_params(self, z: torch.Tensor) -> torch.Tensor:
        """Raw decoder output ``(..., P)`` for ``z (..., D)``: the leading axes are flattened into one batch axis for
        the decoder, whose ``(M, C, H, W)`` or ``(M, P)`` output is reshaped back."""
        lead = z.shape[:-1]
        out = self.decoder(z.reshape(-1, z.shape[-1]))
        return out.reshape(*lead, self.num_pixels)


def check_networks(encoder, decoder, images: torch.Tensor) -> int:
    """Check the modules against the interface (module docstring) on two of the training ``images`` and return D.

    Args:
        encoder, decoder: what was given as ``encoder=`` / ``decoder=``. images: ``(N, C, H, W)`` in [0, 1].

    Returns:
        D, the latent size the encoder gives.

    Raises:
        ConfigError: not an ``nn.Module``, a failing call, or outputs of the wrong kind or shape (naming the keyword,
            what came out and what was expected).
    """
    for keyword, module in (("encoder", encoder), ("decoder", decoder)):
        if not isinstance(module, nn.Module):
            raise ConfigError(f"{keyword}=: got {type(module).__name__}; expected a torch.nn.Module")
    x = images[:2]
    n, (c, h, w) = len(x), tuple(images.shape[1:])
    enc, dec = copy.deepcopy(encoder).eval(), copy.deepcopy(decoder).eval()  # the user's modules stay untouched
    expected_enc = f"expected (mu, logvar), two tensors (N, D), for images x (N, C, H, W) = {tuple(x.shape)}"
    with torch.no_grad():
        out = _call(enc, x, "encoder", expected_enc)
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
            raise ConfigError(f"encoder=: returned {_describe(out)}; {expected_enc}")
        mu, logvar = out
        if mu.ndim != 2 or mu.shape[0] != n or mu.shape != logvar.shape:
            got = f"shapes {tuple(mu.shape)} and {tuple(logvar.shape)}"
            raise ConfigError(f"encoder=: returned {got}; {expected_enc}")
        d = int(mu.shape[1])
        expected_dec = f"expected logits or means of shape ({n}, {c}, {h}, {w}) or ({n}, {c * h * w}) for z ({n}, {d})"
        out = _call(dec, mu, "decoder", expected_dec)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) not in ((n, c, h, w), (n, c * h * w)):
            raise ConfigError(f"decoder=: returned {_describe(out)}; {expected_dec}")
    return d


def check_model(model: CustomVAE, images: torch.Tensor) -> None:
    """``check_networks`` on a built model's modules, and its ``latent_dim`` against the D they give (a run
    configured by import paths, e.g. from the command line, where D is not read from the encoder).

    Raises:
        ConfigError: as ``check_networks``; ``latent_dim`` other than D.
    """
    d = check_networks(model.encoder, model.decoder, images)
    if d != model.latent_dim:
        raise ConfigError(
            f"{option('latent_dim', model.latent_dim)}: the encoder {model.config.encoder} gives D = {d}; pass "
            f"{option('latent_dim', d)}"
        )


def _call(module: nn.Module, x: torch.Tensor, keyword: str, expected: str):
    try:
        return module(x)
    except Exception as exc:  # the user's module failed on the probe batch
        raise ConfigError(f"{keyword}=: failed on a probe batch ({type(exc).__name__}: {exc}); {expected}") from exc


def _describe(out) -> str:
    if isinstance(out, torch.Tensor):
        return f"a tensor of shape {tuple(out.shape)}"
    if isinstance(out, (tuple, list)):
        return f"a {type(out).__name__} of {len(out)} items"
    return f"a {type(out).__name__}"


def importable(path: str | None) -> bool:
    """Whether the class ``path`` (``module:QualName``) can be imported by name at all: not defined in ``__main__``
    (a script or notebook) nor inside a function. (Whether its module is installed is only known by importing it.)"""
    return bool(path) and path.split(":")[0] not in NOT_IMPORTABLE and "<locals>" not in path


def architecture_digest(module: nn.Module) -> str:
    """Hex SHA-256 of a module's parameter and buffer names and shapes: its architecture, not its weights."""
    shapes = "\n".join(f"{k} {tuple(v.shape)}" for k, v in module.state_dict().items())
    return hashlib.sha256(shapes.encode()).hexdigest()


def describe_networks(model: CustomVAE) -> dict:
    """What ``config.json`` records about a custom VAE's modules (its ``networks`` section): per module its class
    (``module:QualName``), whether that class can be imported by name (``importable``), its parameter count and
    ``architecture_digest``."""
    out = {}
    for key in ("encoder", "decoder"):
        module = getattr(model, key)
        path = import_path(module)
        out[key] = {
            "class": path,
            "importable": importable(path),
            "parameters": sum(p.numel() for p in module.parameters()),
            "architecture_sha256": architecture_digest(module),
        }
    return out


def check_architecture(recorded: dict, networks: Networks) -> None:
    """Refuse modules given again (``vaelab.load_run(path, encoder=..., decoder=...)``) whose architecture differs
    from the one ``config.json``'s ``networks`` section recorded (their weights would not load).

    Raises:
        ConfigError: naming the keyword, the class given and the class recorded.
    """
    for key in ("encoder", "decoder"):
        module, want = getattr(networks, key), (recorded or {}).get(key) or {}
        if want.get("architecture_sha256") and architecture_digest(module) != want["architecture_sha256"]:
            raise ConfigError(
                f"{key}=: a {type(module).__name__} whose parameters (names and shapes) do not fit the run's weights; "
                f"expected the architecture of {want.get('class')} the run was trained with"
            )


__all__ = [
    "CustomVAE",
    "CustomVAEConfig",
    "Networks",
    "check_networks",
    "describe_networks",
    "architecture_digest",
    "check_architecture",
    "check_model",
    "import_path",
    "importable",
    "networks_from_config",
]
