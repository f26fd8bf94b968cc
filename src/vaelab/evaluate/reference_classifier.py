"""The reference classifier of a labelled dataset: a small CNN that judges generated images and gives the feature
space of the sample scores (``vaelab.evaluate.sample_quality``); train, save and load it (``vaelab classifier
train``; default ``runs/mnist-classifier``), or get the one cached per dataset (``classifier_for_dataset``).

It is dataset-agnostic: ``fit_classifier`` takes images ``(N, C, H, W)`` in [0, 1] and labels ``(N,)`` of any
size and number of classes; ``classifier_for_dataset`` trains it once per dataset on the dataset's training split
and keeps it in the per-user cache (``CACHE/reference-classifiers/<dataset>-<hash>/``).

The folder looks like a run: ``config.json``, ``checkpoints/best.pt`` (``{"model": "mnist-classifier",
"model_config", "model_state"}``, read with ``weights_only=True``), ``metrics.jsonl`` (one record per epoch with
the training loss and validation accuracy) and ``eval.json`` (test accuracy on the full 10,000-image test set).
Architecture: Conv(C->32, 3x3, pad 1) ReLU MaxPool2 -> Conv(32->64, 3x3, pad 1) ReLU MaxPool2 -> Flatten ->
Linear(64*(H/4)*(W/4) -> 128) ReLU Dropout(0.25) -> Linear(128 -> classes). Input ``(N, C, H, W)`` pixels in
[0, 1] (MNIST: ``(N, 1, 28, 28)``, 10 classes); output logits. ``embed`` gives the 128 features after the hidden
ReLU (the penultimate layer), the space of the Fréchet distance and of precision and recall. It is not a
latent-variable model, so it is not in the model registry.

It judges generated digits (``vaelab compare``'s completeness, the guided VAE's test) and scores samples.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vaelab.core.errors import CheckpointError, ConfigError
from vaelab.core.io import append_line, atomic_write_text, load_checkpoint, save_checkpoint
from vaelab.core.naming import option
from vaelab.core.options import check_seed
from vaelab.core.paths import check_output_folder
from vaelab.data import dataset_label, load_dataset_from_config
from vaelab.data.catalog import cache_dir

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


class ReferenceClassifier(nn.Module):
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
    def embed(self, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """The penultimate layer's features (after the hidden ReLU, before dropout and the output layer) of images
        ``x (N, C, H, W)`` in [0, 1]: ``(N, hidden)`` float32 on the CPU, computed in eval mode in batches."""
        was = self.training
        self.eval()
        dev = next(self.parameters()).device
        parts = [
            self.head[:2](self.features(x[i : i + batch_size].to(dev))).float().cpu()
            for i in range(0, len(x), batch_size)
        ]
        self.train(was)
        return torch.cat(parts) if parts else torch.zeros(0, int(self.config.hidden))

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


DigitClassifier = ReferenceClassifier  # the name it had when it judged digits only


@torch.no_grad()
def accuracy(model: ReferenceClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``images (N, C, H, W)`` whose argmax class equals ``labels (N,)``."""
    probs = model.predict_proba(images)
    return float((probs.argmax(1) == labels).double().mean()) if len(labels) else float("nan")


def fit_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    val_images: torch.Tensor | None = None,
    val_labels: torch.Tensor | None = None,
    epochs: int = 2,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    channels: tuple[int, int] = (32, 64),
    progress: bool = True,
    on_epoch=None,
) -> ReferenceClassifier:
    """Train the reference CNN (module docstring) with Adam and cross-entropy on any labelled images.

    Args:
        images: ``(N, C, H, W)`` float pixels in [0, 1] (any C, H, W >= 4). labels: ``(N,)`` int64 classes 0..K-1.
        val_images, val_labels: an optional validation split (its accuracy is logged each epoch).
        epochs, batch_size, lr, seed: training; ``channels``: the two conv layers' widths.
        on_epoch: called with each epoch's record ``{"epoch", "train_ce", "val_accuracy", "time_s"}``.

    Returns:
        The trained classifier (eval mode).

    Raises:
        ConfigError: epochs or batch size < 1, a learning rate that is not finite and > 0, no labels, or labels
            that do not fit the images.
    """
    _check_training_options(epochs, batch_size, lr)
    if labels is None or len(labels) != len(images) or len(images) == 0:
        raise ConfigError("classifier: expected one label per image (a labelled dataset with images)")
    torch.manual_seed(int(seed))
    cfg = ClassifierConfig(
        image_shape=tuple(images.shape[1:]), channels=tuple(channels), num_classes=max(2, int(labels.max()) + 1)
    )
    model = ReferenceClassifier(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(int(seed))
    for epoch in range(1, int(epochs) + 1):
        t0 = time.perf_counter()
        train_ce = _epoch(model, opt, images, labels, batch_size, g, f"classifier epoch {epoch}/{epochs}", progress)
        has_val = val_images is not None and len(val_images) > 0
        record = {
            "epoch": epoch,
            "train_ce": train_ce,
            "val_accuracy": accuracy(model, val_images, val_labels) if has_val else None,
            "time_s": time.perf_counter() - t0,
        }
        if on_epoch is not None:
            on_epoch(record)
    return model.eval()


def _epoch(model, opt, images, labels, batch_size: int, g: torch.Generator, desc: str, progress: bool) -> float:
    """One epoch of Adam on the cross-entropy, minibatches in the order ``g`` draws; the mean training loss."""
    from tqdm.auto import tqdm

    model.train()
    n = len(images)
    perm = torch.randperm(n, generator=g)
    total, steps = 0.0, math.ceil(n / batch_size)
    for i in tqdm(range(steps), desc=desc, disable=not progress, leave=False):
        idx = perm[i * batch_size : (i + 1) * batch_size]
        loss = F.cross_entropy(model(images[idx]), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
    return total / n


def _check_training_options(epochs: int, batch_size: int, lr: float) -> None:
    """Refuse what cannot train, before anything is written (one line naming the option)."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if int(value) < 1:
            raise ConfigError(f"{option(name, value)}: expected an integer >= 1")
    if not (math.isfinite(float(lr)) and float(lr) > 0):
        raise ConfigError(f"{option('lr', lr)}: expected a finite learning rate > 0")


def _check_start(out: Path, epochs: int, batch_size: int, lr: float, limit: int | None, seed: int) -> Path:
    """Everything ``train_classifier`` refuses, checked before it writes anything."""
    check_output_folder(out)
    _check_training_options(epochs, batch_size, lr)
    check_seed(seed)
    if limit is not None and int(limit) < 1:
        raise ConfigError(f"{option('limit', limit)}: expected an integer >= 1 (or no limit)")
    if (out / "checkpoints" / "best.pt").is_file():
        raise ConfigError(f"{out} already holds a classifier; remove it or choose another {option('out')}")
    return out


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
    dataset_config: dict | None = None,
) -> dict:
    """Train the reference classifier on a labelled dataset's training split (``fit_classifier``); write
    ``out_dir``.

    ``dataset_config`` (a run's ``config.json`` ``dataset`` section: name, image size, ...) replaces ``dataset``
    and ``val_size`` when given; ``channels`` are the two conv layers' widths (smaller for quick tests); ``limit``
    keeps the first N training images; the test accuracy is always measured on the full test split.

    Returns: the ``eval.json`` dict (``test_accuracy`` on the full test split, ``val_accuracy``, epochs, seconds).

    Raises:
        ConfigError: epochs or batch size < 1, a seed outside 0..2**63 - 1, a learning rate that is not finite and
            > 0, a limit < 1, an unlabelled dataset, ``out_dir`` already holding a classifier (its checkpoint; a start
            that never reached one is started afresh), or a file where ``out_dir`` or a folder above it should be.
    """
    out = _check_start(Path(out_dir), epochs, batch_size, lr, limit, seed)  # laid out like a run folder
    ds = {"name": dataset, "val_size": val_size} if dataset_config is None else dict(dataset_config)
    ds.pop("limit", None)
    train, val, test = _splits(ds, data_dir, limit)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.jsonl").unlink(missing_ok=True)  # of a start that never reached its checkpoint
    config = {
        "name": out.name,
        "model": CLASSIFIER_NAME,
        "train": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed, "channels": list(channels)},
        "dataset": {**ds, "limit": limit, "n_train": len(train), "n_val": len(val)},
    }
    atomic_write_text(out / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    t_start = time.perf_counter()
    records: list[dict] = []
    log = functools.partial(_log_epoch, out / "metrics.jsonl", records, epochs, progress)
    model = fit_classifier(
        train.images, train.labels, val.images, val.labels, epochs, batch_size, lr, seed, channels, progress, log
    )
    cfg = model.config.to_dict()
    atomic_write_text(out / "config.json", json.dumps({**config, "model_config": cfg}, indent=2, sort_keys=True) + "\n")
    result = _test_result(model, ds["name"], test, records[-1], int(epochs), len(train), time.perf_counter() - t_start)
    atomic_write_text(out / "eval.json", json.dumps(result, indent=2) + "\n")
    # the checkpoint last: a stop before it leaves a start that never reached its checkpoint (started afresh when
    # run again), never a classifier without its eval.json that a second run refuses to complete
    save_checkpoint(
        out / "checkpoints" / "best.pt",
        {"model": CLASSIFIER_NAME, "model_config": cfg, "model_state": model.state_dict()},
    )
    return result


def _log_epoch(path: Path, records: list[dict], epochs: int, progress: bool, record: dict) -> None:
    """Keep an epoch's record, append it to ``metrics.jsonl`` and, with ``progress``, print it."""
    records.append(record)
    append_line(path, json.dumps(record))
    if progress:
        print(
            f"epoch {record['epoch']}/{epochs} train_ce={record['train_ce']:.4f} val_accuracy={record['val_accuracy']}",
            file=sys.stderr,
        )


def _test_result(model, name: str, test, last: dict, epochs: int, n_train: int, seconds: float) -> dict:
    """The classifier's ``eval.json``: accuracy on the whole test split, the last validation accuracy, seconds."""
    return {
        "dataset": name,
        "split": "test",
        "n_images": len(test),
        "test_accuracy": accuracy(model, test.images, test.labels),
        "val_accuracy": last["val_accuracy"],
        "epochs": epochs,
        "n_train": n_train,
        "seconds": seconds,
        "threads": torch.get_num_threads(),
    }


def _splits(ds: dict, data_dir, limit: int | None) -> tuple:
    """The training (first ``limit`` images), validation and whole test splits of dataset section ``ds``;
    ``ConfigError`` without labels."""
    train = load_dataset_from_config(ds, "train", data_dir, limit)
    val = load_dataset_from_config(ds, "val", data_dir)
    test = load_dataset_from_config(ds, "test", data_dir)
    if train.labels is None:
        raise ConfigError(f"--dataset {ds['name']}: has no labels; the classifier needs a labelled dataset")
    return train, val, test


def load_classifier(path=DEFAULT_CLASSIFIER_DIR) -> ReferenceClassifier:
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
    model = ReferenceClassifier(ClassifierConfig.from_dict(state["model_config"]))
    try:
        model.load_state_dict(state["model_state"])
    except RuntimeError as exc:
        raise CheckpointError(f"{ckpt}: weights do not fit the classifier ({exc})") from exc
    return model.eval()


CACHE_FOLDER = "reference-classifiers"
_IDENTIFYING_KEYS = ("name", "image_size", "image_channels")
"""the keys of a run's dataset section that say which dataset and image size a classifier is for"""


def classifier_cache_path(dataset: dict | str) -> Path:
    """Where the reference classifier of ``dataset`` (a name, or a run's ``config.json`` ``dataset`` section) is
    cached: ``CACHE/reference-classifiers/<dataset label>-<10 hex digits of SHA-256 of its name, image size and
    channels>`` (``CACHE``: ``vaelab.data.catalog.cache_dir()``). One per dataset and image size, whatever run
    asks."""
    ds = {"name": dataset} if isinstance(dataset, str) else dict(dataset)
    ident = {k: ds[k] for k in _IDENTIFYING_KEYS if ds.get(k) is not None}
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:10]
    return cache_dir() / CACHE_FOLDER / f"{dataset_label(ds['name'])}-{digest}"


def classifier_for_dataset(dataset: dict | str, data_dir=None, progress: bool = True, **train_options):
    """The reference classifier of a labelled dataset, trained on first use and cached (``classifier_cache_path``).

    Args:
        dataset: a dataset name or a run's ``config.json`` ``dataset`` section.
        data_dir: where the data lives (default: as recorded / the usual places).
        train_options: ``train_classifier``'s options for a first training (epochs, limit, channels, ...); a cached
            classifier is used as it is.

    Returns:
        ``(classifier, path, info)``: the model (eval mode, CPU), its folder and its ``eval.json`` (test accuracy).

    Raises:
        ConfigError: an unlabelled dataset.
        DatasetError: the data cannot be loaded.
        CheckpointError: a cached classifier that cannot be read (the message names the folder to remove).
    """
    from filelock import FileLock

    path = classifier_cache_path(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not (path / "checkpoints" / "best.pt").is_file():
            ds = {"name": dataset} if isinstance(dataset, str) else dict(dataset)
            tmp = path.with_name(f"{path.name}.partial-{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            if progress:
                print(f"training the reference classifier of {ds['name']} once, into {path}", file=sys.stderr)
            train_classifier(tmp, data_dir=data_dir, progress=progress, dataset_config=ds, **train_options)
            shutil.rmtree(path, ignore_errors=True)  # a folder left without a checkpoint by an interrupted run
            os.replace(tmp, path)
    try:
        info = json.loads((path / "eval.json").read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}/eval.json: unreadable ({exc}); remove {path} to train it again") from exc
    return load_classifier(path), path, info
