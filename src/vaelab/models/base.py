"""What every vaelab model shares: the output object and the encode / decode interface.

Every model (VAE, autoencoders, PCA, ...) maps images ``x`` of shape ``(N, C, H, W)`` in [0, 1] to codes and
back:

* ``encode(x) -> (mu, logvar)``: ``mu`` is ``(N, D)``; ``logvar`` is ``(N, D)`` for a probabilistic encoder and
  ``None`` for a deterministic one (then ``mu`` is the code itself).
* ``decode(z) -> x_mean``: ``z`` is ``(N, D)``; returns ``(N, C, H, W)`` pixel means in [0, 1] (Bernoulli
  probabilities or Gaussian means).
* ``forward(x, y=None, generator=None) -> ModelOutput`` with per-image ``loss`` in nats (or the model's loss
  unit), which the trainer averages over the batch and minimises.
* ``sample(n, generator) -> x_mean``: decoded images for codes drawn from the prior (or the model's stand-in).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from vaelab.core.options import Options, PositiveInt


@dataclass
class ModelOutput:
    """The result of a forward pass; every tensor term is per image, shape ``(N,)``, in nats.

    Attributes:
        loss: the objective minimised (e.g. recon_nll + beta * kl, or -L_K for the importance-weighted objective).
        recon_nll: -E_q[log p(x|z)] (Monte-Carlo over the k samples), or the reconstruction error; the ELBO's
            term whatever the objective.
        kl: KL(q(z|x) || p(z)) (the ELBO's term whatever the objective); zeros for deterministic models.
        mu, logvar: encoder outputs ``(N, D)`` (``logvar`` None for deterministic models).
        z: the latent sample(s) used, ``(k, N, D)``.
        elbo: recon_nll + kl negated, ``(N,)``, where the model defines one (None otherwise).
        extra: further per-image loss terms (e.g. ``{"class_ce": ...}``) logged by the trainer.
    """

    loss: torch.Tensor
    recon_nll: torch.Tensor
    kl: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None
    z: torch.Tensor
    elbo: torch.Tensor | None = None
    extra: dict[str, torch.Tensor] = field(default_factory=dict)

    def terms(self) -> dict[str, torch.Tensor]:
        """The per-image scalar terms to log: ``loss``, ``recon_nll``, ``kl``, ``elbo`` (if any) and extras."""
        out = {"loss": self.loss, "recon_nll": self.recon_nll, "kl": self.kl}
        if self.elbo is not None:
            out["elbo"] = self.elbo
        out.update(self.extra)
        return out


class ModelConfig(Options):
    """Base of every model family's configuration (a typed ``vaelab.core.options.Options``): the image shape
    the model is built for. Families add their options as fields, each with its meaning in the docstring under it;
    the CLI flags, TOML keys and ``config.json`` are derived from those fields."""

    image_shape: tuple[PositiveInt, PositiveInt, PositiveInt] = (1, 28, 28)
    """(C, H, W) of the images; set from the dataset, not a flag"""


class LatentModel(nn.Module):
    """Base class: holds the config and defines the interface documented in this module."""

    config_class = ModelConfig
    likelihood = "bernoulli"  # what the trainer binarizes for; "gaussian" / "mse" train on grey pixels
    # Capabilities, declared by each family; code reads these instead of probing for methods with hasattr.
    probabilistic = True  # encode(x) gives a distribution (mu, logvar); False: a deterministic code (logvar None)
    has_importance_weights = False  # log_weights(x, k) -> (k, N): an ELBO and an importance-weighted NLL
    needs_labels = False  # forward(x, y) needs the class labels y (the trainer gathers them per batch)
    conditional = False  # the decoder takes a class: generate(digits); sample(n) gives class i % num_classes
    has_classifier = False  # classify(x) -> class logits (N, num_classes)
    closed_form = False  # fitted by fit(images) in closed form (PCA), not by the trainer's gradient steps
    linear_decoder = False  # decoder_weight (P, D) spans the decoder's subspace (vaelab subspace)
    takes_networks = False  # built as model_cls(config, networks) with given encoder / decoder modules (custom-vae)
    train_defaults: dict = {}  # training options the family prefers over TrainConfig's defaults

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.kl_scale = 1.0  # multiplies beta in the loss: KL warm-up (the trainer sets it each epoch), not saved

    @property
    def denoising(self) -> bool:
        """Whether the model is trained to undo input noise (``corrupt(x)``): a capability that depends on the
        config (an autoencoder with ``noise``), so a property."""
        return False

    @torch.no_grad()
    def init_from_data(self, x: torch.Tensor) -> None:
        """Data-dependent initialisation from the training images ``x (N, C, H, W)`` before the first step; the
        default does nothing (the linear autoencoder overrides it)."""

    @property
    def latent_dim(self) -> int:
        return int(self.config.latent_dim)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.config.image_shape)

    @property
    def device(self) -> torch.device:
        """Where the model's parameters (or, for parameter-free models such as PCA, its buffers) live."""
        for t in self.parameters():
            return t.device
        for t in self.buffers():
            return t.device
        return torch.device("cpu")

    @property
    def num_pixels(self) -> int:
        c, h, w = self.image_shape
        return c * h * w

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x (N, C, H, W)`` float32 in [0, 1] on the model's device -> ``(mu, logvar)``, each ``(N, D)``
        (``logvar`` None when not ``probabilistic``). Unchecked, as any ``nn.Module``: another shape or dtype gives
        torch's error; ``vaelab.Run.encode`` checks and converts its input first."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z (N, D)`` float32 on the model's device -> pixel means ``(N, C, H, W)`` in [0, 1]. Unchecked;
        ``vaelab.Run.decode`` checks its input first."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, generator=None) -> ModelOutput:
        raise NotImplementedError

    def latent_statistics(self, x: torch.Tensor, generator=None, samples: int = 10) -> dict[str, dict]:
        """For models with ``has_importance_weights``: per stochastic layer (name -> dict), the posterior means
        ``mu (N, D_l)`` (active units), ``kl (N,)`` and ``kl_per_dim (N, D_l)`` in nats, for the images ``x``."""
        raise NotImplementedError

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoded posterior mean: ``decode(encode(x)[0])``, shape of ``x``."""
        return self.decode(self.encode(x)[0])

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` codes from the prior N(0, I): ``(n, C, H, W)`` pixel means."""
        z = torch.randn(n, self.latent_dim, generator=generator, device="cpu").to(self.device)
        return self.decode(z)
