"""The reference MNIST classifier: a small CNN that judges generated digits; train, save and load it
(``vaelab classifier train``; default ``runs/mnist-classifier``).

The folder looks like a run: ``config.json``, ``checkpoints/best.pt`` (``{"model": "mnist-classifier",
"model_config", "model_state"}``, read with ``weights_only=True``), ``metrics.jsonl`` (one record per epoch with
the training loss and validation accuracy) and ``eval.json`` (test accuracy on the full 10,000-image test set).
Architecture: Conv(1->32, 3x3, pad 1) ReLU MaxPool2 -> Conv(32->64, 3x3, pad 1) ReLU MaxPool2 -> Flatten ->
Linear(64*7*7 -> 128) ReLU Dropout(0.25) -> Linear(128 -> 10). Input ``(N, 1, 28, 28)`` grey pixels in [0, 1];
output logits ``(N, 10)``. It is not a latent-variable model, so it is not in the model registry.

It judges generated digits (``vaelab compare``'s completeness, the guided VAE's test).
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vaelab.core.errors import CheckpointError, ConfigError
from vaelab.core.io import append_line, atomic_write_text, load_checkpoint, save_checkpoint

DEFAULT_CLASSIFIER_DIR = Path("runs") / "mnist-classifier"
CLASSIFIER_NAME = "mnist-classifier"


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
    def from_dict(cls, values: dict) -> ClassifierConfig:
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
            nn.Conv2d(c, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(c2 * (h // 4) * (w // 4), self.config.hidden),
            nn.ReLU(),
            nn.Dropout(self.config.dropout),
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
        out = (
            torch.cat(
                [torch.softmax(self(x[i : i + batch_size].to(dev)), -1).cpu() for i in range(0, len(x), batch_size)]
            )
            if len(x)
            else torch.zeros(0, self.config.num_classes)
        )
        self.train(was)
        return out


@torch.no_grad()
def accuracy(model: DigitClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``images (N, C, H, W)`` whose argmax class equals ``labels (N,)``."""
    probs = model.predict_proba(images)
    return float((probs.argmax(1) == labels).double().mean()) if len(labels) else float("nan")


def train_classifier(
    out_dir=DEFAULT_CLASSIFIER_DIR,
    dataset: str = "mnist",
    data_dir=None,
    epochs: int = 2,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    limit: int | None = None,
    val_size: int | None = None,
    channels: tuple[int, int] = (32, 64),
    progress: bool = True,
) -> dict:
    """Train the small CNN of ``vaelab.evaluate.reference_classifier`` with Adam on grey images; write ``out_dir``.

    ``channels`` are the two conv layers' widths (smaller for quick tests); ``limit`` keeps the first N training
    images; the test accuracy is always measured on the full test split.

    Returns: the ``eval.json`` dict (``test_accuracy`` on the full test split, ``val_accuracy``, epochs, seconds).

    Raises:
        ConfigError: bad epochs / batch size, an unlabelled dataset, or ``out_dir`` already holding a run.
    """
    from tqdm.auto import tqdm

    from vaelab.data import load_dataset

    if int(epochs) < 1 or int(batch_size) < 1:
        raise ConfigError(f"--epochs {epochs} / --batch-size {batch_size}: expected integers >= 1")
    out = Path(out_dir)  # laid out like a run folder (config.json, checkpoints/best.pt, metrics.jsonl, eval.json)
    if (out / "config.json").is_file():
        raise ConfigError(f"{out} already holds a run; remove it or choose another --out")
    train = load_dataset(dataset, "train", data_dir, val_size=val_size, limit=limit)
    val = load_dataset(dataset, "val", data_dir, val_size=val_size)
    test = load_dataset(dataset, "test", data_dir)
    if train.labels is None:
        raise ConfigError(f"--dataset {dataset}: has no labels; the classifier needs a labelled dataset")
    torch.manual_seed(int(seed))
    cfg = ClassifierConfig(
        image_shape=train.image_shape, channels=tuple(channels), num_classes=int(train.labels.max()) + 1
    )
    model = DigitClassifier(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(int(seed))
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "name": out.name,
        "model": CLASSIFIER_NAME,
        "model_config": cfg.to_dict(),
        "train": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed},
        "dataset": {"name": dataset, "limit": limit, "val_size": val_size, "n_train": len(train), "n_val": len(val)},
    }
    atomic_write_text(out / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    t_start = time.perf_counter()
    n = len(train)
    for epoch in range(1, int(epochs) + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=g)
        total, steps = 0.0, math.ceil(n / batch_size)
        for i in tqdm(range(steps), desc=f"classifier epoch {epoch}/{epochs}", disable=not progress, leave=False):
            idx = perm[i * batch_size : (i + 1) * batch_size]
            loss = F.cross_entropy(model(train.images[idx]), train.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        record = {
            "epoch": epoch,
            "train_ce": total / n,
            "val_accuracy": accuracy(model, val.images, val.labels) if len(val) else None,
            "time_s": time.perf_counter() - t0,
        }
        append_line(out / "metrics.jsonl", json.dumps(record))
        if progress:
            print(
                f"epoch {epoch}/{epochs} train_ce={record['train_ce']:.4f} val_accuracy={record['val_accuracy']}",
                file=sys.stderr,
            )
    state = {"model": CLASSIFIER_NAME, "model_config": cfg.to_dict(), "model_state": model.state_dict()}
    save_checkpoint(out / "checkpoints" / "best.pt", state)
    result = {
        "dataset": dataset,
        "split": "test",
        "n_images": len(test),
        "test_accuracy": accuracy(model, test.images, test.labels),
        "val_accuracy": record["val_accuracy"],
        "epochs": int(epochs),
        "n_train": n,
        "seconds": time.perf_counter() - t_start,
        "threads": torch.get_num_threads(),
    }
    atomic_write_text(out / "eval.json", json.dumps(result, indent=2) + "\n")
    return result


def load_classifier(path=DEFAULT_CLASSIFIER_DIR) -> DigitClassifier:
    """The reference classifier saved in folder ``path`` (eval mode, CPU).

    Raises:
        CheckpointError: no classifier there (the message says how to train one) or an unreadable checkpoint.
    """
    ckpt = Path(path) / "checkpoints" / "best.pt"
    if not ckpt.is_file():
        raise CheckpointError(
            f"{path}: no reference classifier (no checkpoints/best.pt); train one with "
            f"`vaelab classifier train --out {path}`"
        )
    state = load_checkpoint(ckpt)
    if state.get("model") != CLASSIFIER_NAME:
        raise CheckpointError(f"{ckpt}: holds model {state.get('model')!r}, not the reference classifier")
    model = DigitClassifier(ClassifierConfig.from_dict(state["model_config"]))
    try:
        model.load_state_dict(state["model_state"])
    except RuntimeError as exc:
        raise CheckpointError(f"{ckpt}: weights do not fit the classifier ({exc})") from exc
    return model.eval()
