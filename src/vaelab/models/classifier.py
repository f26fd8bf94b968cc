"""The reference MNIST classifier: a small CNN used to judge generated digits (``vaelab classifier train``).

Architecture: Conv(1->32, 3x3, pad 1) ReLU MaxPool2 -> Conv(32->64, 3x3, pad 1) ReLU MaxPool2 -> Flatten ->
Linear(64*7*7 -> 128) ReLU Dropout(0.25) -> Linear(128 -> 10). Input ``(N, 1, 28, 28)`` grey pixels in [0, 1];
output logits ``(N, 10)``. It is not a latent-variable model, so it is not in the model registry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from vaelab.errors import ConfigError


@dataclass
class ClassifierConfig:
    """Attributes: image_shape (C, H, W); channels of the two conv layers; hidden units; num_classes."""

    image_shape: tuple[int, int, int] = (1, 28, 28)
    channels: tuple[int, int] = (32, 64)
    hidden: int = 128
    num_classes: int = 10
    dropout: float = 0.25

    def validate(self) -> None:
        if len(self.image_shape) != 3 or self.image_shape[0] < 1 or min(self.image_shape[1:]) < 4:
            raise ConfigError(f"image_shape={self.image_shape}: expected (C, H, W) of at least 4x4")
        if len(self.channels) != 2 or min(self.channels) < 1 or int(self.hidden) < 1 or int(self.num_classes) < 2:
            raise ConfigError("classifier: expected 2 positive channel counts, hidden >= 1, num_classes >= 2")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ClassifierConfig":
        cfg = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
        cfg.validate()
        return cfg


class DigitClassifier(nn.Module):
    """Small CNN (module docstring). ``forward(x (N, C, H, W)) -> logits (N, num_classes)``."""

    def __init__(self, config: ClassifierConfig | None = None):
        super().__init__()
        self.config = config or ClassifierConfig()
        self.config.validate()
        c, h, w = self.config.image_shape
        c1, c2 = self.config.channels
        self.features = nn.Sequential(
            nn.Conv2d(c, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(c2 * (h // 4) * (w // 4), self.config.hidden), nn.ReLU(), nn.Dropout(self.config.dropout),
            nn.Linear(self.config.hidden, self.config.num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """Softmax probabilities ``(N, num_classes)`` for images ``x (N, C, H, W)`` in [0, 1] (eval mode)."""
        was = self.training
        self.eval()
        dev = next(self.parameters()).device
        out = torch.cat([torch.softmax(self(x[i : i + batch_size].to(dev)), -1).cpu()
                         for i in range(0, len(x), batch_size)]) if len(x) else torch.zeros(0, self.config.num_classes)
        self.train(was)
        return out
