"""PCA behind the encode / decode interface (Pearson 1901; Hotelling 1933; seed 001).

PCA finds the D-dimensional linear subspace that keeps the most variance, i.e. whose orthogonal projection has
the smallest squared reconstruction error. With the training images flattened to ``x (N, P)``, mean ``m`` and
the top-D right singular vectors ``W (D, P)`` (orthonormal rows) of ``x - m``:

    encode(x) = (x - m) W^T          (N, D) coordinates in the principal basis
    decode(z) = z W + m              (N, P), clipped to [0, 1] for images (``decode_linear`` does not clip)

It is fitted in closed form by scikit-learn (``sklearn.decomposition.PCA``, eigendecomposition of the P x P
covariance, ``svd_solver="covariance_eigh"``), not by SGD
(``closed_form = True``; ``vaelab train --model pca`` calls ``fit``). Signs: scikit-learn's ``svd_flip``
convention, which makes the largest-magnitude loading of each component positive; it is deterministic, and on
seed 001's five points it gives A a negative code as in the seed.

Sampling: PCA has no prior; ``sample`` draws z ~ N(0, diag(explained_variance)), the Gaussian with the training
codes' covariance (the zero-noise limit of probabilistic PCA, Tipping & Bishop 1999), and decodes it.
"""

from __future__ import annotations

import numpy as np
import torch

from vaelab.core.errors import ConfigError
from vaelab.core.options import PositiveInt
from vaelab.models.base import LatentModel, ModelConfig, ModelOutput


class PCAConfig(ModelConfig):
    latent_dim: PositiveInt = 20
    """D, the number of principal components kept"""

    def check(self) -> None:
        c, h, w = self.image_shape
        if self.latent_dim > c * h * w:
            raise ConfigError(f"latent_dim={self.latent_dim}: expected 1 <= latent_dim <= {c * h * w} pixels")


class PCAModel(LatentModel):
    """PCA with buffers ``components (D, P)``, ``mean (P,)``, ``explained_variance (D,)`` (see module doc)."""

    config_class = PCAConfig
    probabilistic = False
    likelihood = "mse"
    closed_form = True

    def __init__(self, config: PCAConfig):
        super().__init__(config)
        D, P = int(config.latent_dim), self.num_pixels
        self.register_buffer("components", torch.zeros(D, P))
        self.register_buffer("mean", torch.zeros(P))
        self.register_buffer("explained_variance", torch.ones(D))

    def fit(self, x: torch.Tensor) -> PCAModel:
        """Fit to images ``(N, C, H, W)`` (or points ``(N, P)``) with scikit-learn's PCA.

        Raises:
            ConfigError: fewer images than components.
        """
        from sklearn.decomposition import PCA

        flat = x.reshape(len(x), -1).detach().cpu().double().numpy()
        D = int(self.config.latent_dim)
        if len(flat) < D:
            raise ConfigError(f"latent_dim={D}: PCA needs at least {D} training images, got {len(flat)}")
        pca = PCA(n_components=D, svd_solver="covariance_eigh").fit(flat)
        dev = self.device
        self.components.copy_(torch.from_numpy(pca.components_).float().to(dev))
        self.mean.copy_(torch.from_numpy(pca.mean_).float().to(dev))
        self.explained_variance.copy_(torch.from_numpy(np.asarray(pca.explained_variance_)).float().to(dev))
        return self

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """``x (N, C, H, W)`` -> codes ``(N, D)`` (and None: PCA is deterministic)."""
        return (x.flatten(1) - self.mean) @ self.components.T, None

    def decode_linear(self, z: torch.Tensor) -> torch.Tensor:
        """``z (N, D)`` -> ``z W + m`` as ``(N, C, H, W)``, not clipped (the exact inverse transform)."""
        return (z @ self.components + self.mean).view(-1, *self.image_shape)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z (N, D)`` -> images ``(N, C, H, W)``, clipped to [0, 1]."""
        return self.decode_linear(z).clamp(0, 1)

    def forward(self, x: torch.Tensor, y=None, generator=None) -> ModelOutput:
        """Loss = squared reconstruction error per image, summed over pixels (of the unclipped projection)."""
        code, _ = self.encode(x)
        err = (self.decode_linear(code) - x).flatten(1).pow(2).sum(1)
        return ModelOutput(err, err, torch.zeros_like(err), code, None, code[None])

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` codes z ~ N(0, diag(explained_variance)): ``(n, C, H, W)`` in [0, 1]."""
        z = torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        return self.decode(z * self.explained_variance.sqrt())


SEED_001_POINTS = ((-0.50, -0.40), (-0.40, -0.10), (0.10, 0.00), (0.30, 0.30), (0.50, 0.20))


def pca_example(points=SEED_001_POINTS, latent_dim: int = 1) -> dict:
    """Seed 001's worked example: fit PCA to 2-D ``points`` and return their codes and reconstructions.

    Returns: ``{"points": [[x, y], ...], "codes": [[z], ...], "reconstructions": [[x', y'], ...],
    "component": [...], "mean": [...], "explained_variance": [...]}`` (plain floats).
    """
    pts = torch.tensor(points, dtype=torch.float64).float()
    model = PCAModel(PCAConfig(image_shape=(1, 1, pts.shape[1]), latent_dim=latent_dim)).fit(pts)
    codes, _ = model.encode(pts)
    rec = model.decode_linear(codes).reshape(len(pts), -1)
    return {
        "points": pts.tolist(),
        "codes": codes.tolist(),
        "reconstructions": rec.tolist(),
        "component": model.components.tolist(),
        "mean": model.mean.tolist(),
        "explained_variance": model.explained_variance.tolist(),
    }
