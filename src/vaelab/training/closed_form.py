"""Fitting a closed-form model (PCA) and writing its run like one epoch of training, with the trainer's helpers.

The model's ``fit(images)`` runs on the training split (grey pixels); then the same record (``epoch_record``),
checkpoint (``checkpoint_state``), per-epoch samples and metrics callbacks as a trained model's write
``metrics.jsonl`` (one record with the mean training and validation loss terms), ``checkpoints/best.pt`` =
``last.pt`` and ``epoch_samples.npy``.
"""

from __future__ import annotations

import time

import torch

from vaelab.core.device import select_device
from vaelab.data import ImageDataset
from vaelab.models import LatentModel
from vaelab.runs.spec import TrainConfig
from vaelab.training.loop import VAL_NOISE_SEED, FitResult, checkpoint_state, epoch_record, mean_terms


class ClosedFormFit:
    """The trainer's face of a closed-form fit, for the callbacks: ``model``, ``config``, ``epoch`` and
    ``state_dict()`` (the fitted buffers; nothing to resume)."""

    def __init__(self, model: LatentModel, model_name: str, config: TrainConfig, callbacks=()):
        self.model, self.model_name, self.config, self.callbacks = model, model_name, config, list(callbacks)
        self.epoch = 0
        self.device = select_device(config.device)

    def state_dict(self) -> dict:
        return checkpoint_state(self.model_name, self.model, epoch=self.epoch, closed_form=True)

    @torch.no_grad()
    def fit(self, train: ImageDataset, val: ImageDataset | None) -> FitResult:
        """Fit on ``train`` (grey pixels), measure both splits, and tell the callbacks of the one 'epoch'."""
        t0 = time.perf_counter()
        self.model.to(self.device).fit(train.images.to(self.device))
        seconds = time.perf_counter() - t0
        self.model.eval()
        g = torch.Generator(device=self.device).manual_seed(VAL_NOISE_SEED)

        def terms(ds):
            if ds is None or len(ds) == 0:
                return {}
            labels = None if ds.labels is None else ds.labels.to(self.device)
            return mean_terms(self.model, ds.images.to(self.device), labels, g)

        self.epoch = 1
        record = epoch_record(1, 0, seconds, seconds, len(train), terms(train), terms(val), True, closed_form=True)
        for cb in self.callbacks:
            cb.on_epoch_end(self, record)
        for cb in self.callbacks:
            cb.on_train_end(self)
        return FitResult([record])
