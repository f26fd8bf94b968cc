"""The trainer: the step and epoch loop, and nothing around it.

The whole training split lives on the device as one tensor; every epoch draws a permutation of indices from the
run's one seeded generator (or, with ``shuffle = false``, keeps the stored order), and batches are slices of it (no
DataLoader, no per-sample Python). The same generator drives dynamic binarization and the reparameterization noise;
its state, the epoch's permutation and position and the running sums of the loss terms are in ``state_dict()``, so
a resumed run continues bit for bit where it stopped (on the same device, same seed).

What happens around the loop (progress bar, printing, metrics.jsonl, TensorBoard, per-epoch samples,
checkpoints) is done by callbacks (``vaelab.training.callbacks``); Ctrl-C is turned into a stop request by
``stop_on_signals`` (also SIGTERM and SIGUSR1). The loop itself touches no file.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
from dataclasses import dataclass

import torch

from vaelab.core.device import select_device
from vaelab.core.errors import ConfigError, TrainingError
from vaelab.core.io import CHECKPOINT_FORMAT
from vaelab.core.noise import ShardedGenerator
from vaelab.data import ImageDataset, binarize_dynamic, binarize_static
from vaelab.models import LatentModel
from vaelab.models.manual_grad import elbo_with_grads, manual_backward_problem
from vaelab.runs.spec import TrainConfig, patience_exhausted
from vaelab.training.distributed import Distributed
from vaelab.training.optimizers import make_optimizer
from vaelab.training.schedules import kl_scale, learning_rate

VAL_BINARIZE_SEED = 1  # fixed binarization of the validation split
FINITE_CHECK_STEPS = 200  # on accelerators, steps between reads of the loss sums (each read waits for the device)
VAL_NOISE_SEED = 2  # fixed reparameterization noise for validation
EVAL_BATCH = 500  # images per forward pass when measuring a split


class NonFiniteLoss(TrainingError):
    """The loss became NaN or infinite (``epoch`` and ``step`` say where, 1-based; with ``first_step``, the loss
    was checked for a span of steps at once and became non-finite at one of ``first_step`` .. ``step``)."""

    def __init__(self, value: float, epoch: int, step: int, first_step: int | None = None):
        where = f"step {step}" if first_step is None or first_step == step else f"one of steps {first_step}-{step}"
        super().__init__(f"non-finite loss ({value}) at epoch {epoch}, {where}")
        self.value, self.epoch, self.step, self.first_step = value, epoch, step, first_step


class TermSums:
    """Running sums of a model's per-image loss terms (``ModelOutput.terms()``) over an epoch, kept as one float64
    tensor on the device: adding a step costs no host synchronisation; ``means()`` reads them once."""

    def __init__(self):
        self.keys: list[str] = []
        self.sums: torch.Tensor | None = None
        self.count = 0

    @torch.no_grad()
    def add(self, terms: dict[str, torch.Tensor]) -> None:
        """Add one batch's per-image terms (each ``(N,)``)."""
        step = torch.stack([v.sum() for v in terms.values()]).double()  # no_grad: nothing to detach
        if self.sums is None:
            self.keys, self.sums = list(terms), step
        else:
            self.sums.add_(step)
        self.count += len(next(iter(terms.values())))

    def means(self) -> dict[str, float]:
        """Mean of each term per image (nats per image for likelihood terms)."""
        if self.sums is None or self.count == 0:
            return {}
        return {k: v / self.count for k, v in zip(self.keys, self.sums.tolist(), strict=True)}

    def state_dict(self) -> dict:
        return {"keys": list(self.keys), "sums": self.sums, "count": self.count}

    def total(self, key: str) -> float:
        """The running sum of one term (reads it from the device: a synchronisation); 0 before any step."""
        return 0.0 if self.sums is None else float(self.sums[self.keys.index(key)])

    def all_reduce_(self, dist) -> None:
        """Sum the running sums and counts over the processes of a torchrun job (``Distributed``)."""
        if self.sums is None:
            return
        count = torch.tensor([float(self.count)], dtype=torch.float64, device=self.sums.device)
        dist.all_reduce_sum_(self.sums)
        self.count = int(dist.all_reduce_sum_(count).item())

    def load_state_dict(self, state: dict, device) -> None:
        self.keys, self.count = list(state["keys"]), int(state["count"])
        self.sums = None if state["sums"] is None else state["sums"].to(device)


@torch.no_grad()
def mean_terms(
    model: LatentModel, images: torch.Tensor, labels: torch.Tensor | None, generator=None, batch_size: int = EVAL_BATCH
) -> dict[str, float]:
    """Mean of every loss term of ``model`` over ``images (N, C, H, W)`` (already on the model's device and
    binarized if the model needs it), in eval mode; ``{}`` for no images."""
    sums = TermSums()
    was_training = model.training
    model.eval()
    for i in range(0, len(images), batch_size):
        y = None if labels is None else labels[i : i + batch_size]
        sums.add(model(images[i : i + batch_size], y, generator=generator).terms())
    model.train(was_training)
    return sums.means()


def epoch_record(
    epoch: int,
    step: int,
    seconds: float,
    train_seconds: float,
    images: int,
    train: dict,
    val: dict,
    best: bool,
    **extra,
) -> dict:
    """One line of ``metrics.jsonl``: epoch, global step, wall time, throughput, ``train_*`` and ``val_*`` terms."""
    record = {
        "epoch": epoch,
        "step": step,
        "time_s": seconds,
        "images_per_s": images / max(train_seconds, 1e-9),
        **extra,
    }
    record.update({f"train_{k}": v for k, v in train.items()})
    record.update({f"val_{k}": v for k, v in val.items()})
    record["best"] = best
    return record


def checkpoint_state(model_name: str, model: LatentModel, **extra) -> dict:
    """The common part of every checkpoint: format, model family, its config and weights."""
    return {
        "format": CHECKPOINT_FORMAT,
        "model": model_name,
        "model_config": model.config.to_dict(),
        "model_state": model.state_dict(),
        **extra,
    }


def score(val: dict, train: dict) -> float:
    """Higher is better: the validation ELBO when the model has one, else minus the validation (train) loss."""
    src = val or train
    return src["elbo"] if "elbo" in src else -src["loss"]


def check_manual_backward(model: LatentModel, model_name: str, config: TrainConfig, dist) -> None:
    """Raise ``ConfigError`` (one line) unless ``backward = "manual"`` can train ``model`` with ``config``."""
    problem = manual_backward_problem(model, model_name)
    if problem is None and config.precision != "fp32":
        problem = f"precision = {config.precision!r} (it needs 'fp32')"
    if problem is None and config.compile != "off":
        problem = f"compile = {config.compile!r} (it needs 'off')"
    if problem is None and dist is not None:
        problem = "the run is one of several torchrun processes (it needs one process)"
    if problem is not None:
        raise ConfigError(
            f"backward='manual': the hand-written gradients cover the MLP vae with k = 1, the elbo objective, the "
            f"standard prior and a Bernoulli decoder; here {problem}; use backward='autograd'"
        )


STOP_SIGNALS = tuple(
    s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGTERM", "SIGUSR1")) if s is not None
)  # SIGUSR1 does not exist on Windows


@contextlib.contextmanager
def stop_on_signals(trainer: Trainer):
    """While active, Ctrl-C (SIGINT), SIGTERM and SIGUSR1 (what SLURM and other schedulers send before they kill a
    job) ask ``trainer`` to stop after the current step; the checkpoint callback then saves where it stopped. A
    second Ctrl-C aborts at once with ``KeyboardInterrupt``; a repeated SIGTERM or SIGUSR1 is ignored (torchrun's
    agent forwards the scheduler's signal to its workers). Outside the main thread or on Windows it does nothing.
    """

    def handler(signum, frame):
        if trainer.stop_requested:
            if signum == signal.SIGINT:  # a second Ctrl-C: the user wants out now
                raise KeyboardInterrupt
            return  # a repeated SIGTERM (torchrun forwards the scheduler's): the checkpoint is on its way
        trainer.request_stop(signum)
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        again = " (press it again to abort at once)" if signum == signal.SIGINT else ""
        print(f"\n{name}: saving a checkpoint after this step{again}", file=sys.stderr)

    previous = {}
    if sys.platform != "win32":
        with contextlib.suppress(ValueError):  # not the main thread
            for signum in STOP_SIGNALS:
                previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@dataclass
class FitResult:
    """What ``Trainer.fit`` did: the epoch records it wrote, and whether it stopped early on a stop request."""

    records: list[dict]
    interrupted: bool = False
    signal: int | None = None  # the signal that asked for the stop (None: another stop request)


class Trainer:
    """Trains ``model`` on ``train`` images with Adam (``config.optimizer``), validating on ``val`` at each epoch end.

    Args:
        model: a ``LatentModel`` trained by gradient steps (not ``closed_form``).
        model_name: its family's name (``vae``, ``ae``, ...), written into checkpoints.
        config: ``TrainConfig``.
        train, val: ``ImageDataset`` splits, pixels in [0, 1] (``val`` may be None or empty).
        callbacks: ``vaelab.training.callbacks.Callback`` objects, told of each epoch start, step end, epoch end,
            stop request and the end of training.
        dist: this process's place in a torchrun job (``vaelab.training.distributed``), or None for one process.

    Raises:
        ConfigError: an empty training split, an unavailable device, or ``backward = "manual"`` for a model, a
            precision, ``compile`` or torchrun that it does not support.
    """

    def __init__(
        self,
        model: LatentModel,
        model_name: str,
        config: TrainConfig,
        train: ImageDataset,
        val: ImageDataset | None = None,
        callbacks=(),
        dist: Distributed | None = None,
    ):
        if len(train) == 0:
            raise ConfigError("the training split is empty")
        self.config, self.model_name, self.callbacks, self.dist = config, model_name, list(callbacks), dist
        self.device = select_device(config.device, None if dist is None else dist.local_rank)
        self.model = model.to(self.device)
        self.net = model if dist is None else dist.wrap(model, self.device)  # what the steps call
        self.manual = config.backward == "manual"
        if self.manual:
            check_manual_backward(model, model_name, config, dist)
        if config.compile != "off":
            self.net = torch.compile(self.net, mode=config.compile)
        self.autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16")
        self.binarize = config.binarize or ("dynamic" if model.likelihood == "bernoulli" else "none")
        self.x_train = train.images.to(self.device)
        self.y_train = train.labels.to(self.device) if model.needs_labels and train.labels is not None else None
        if self.binarize == "static":
            self.x_train = binarize_static(self.x_train, config.seed)
        self.x_val = self.y_val = None
        if val is not None and len(val):
            self.x_val = val.images.to(self.device)
            self.y_val = None if val.labels is None else val.labels.to(self.device)
            if self.binarize != "none":
                self.x_val = binarize_static(self.x_val, VAL_BINARIZE_SEED)
        self.optimizer = make_optimizer((p for p in model.parameters() if p.requires_grad), config)
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0  # epochs done; steps done in this epoch
        self.perm: torch.Tensor | None = None
        self.sums = TermSums()
        self.best_score = -math.inf
        self.best_epoch = 0
        self.stop_requested = False
        self.stop_signal: int | None = None
        self.train_seconds = 0.0  # optimisation time of the current epoch so far
        # Each step's loss is read on the host (a synchronisation) on CPUs, where it costs nothing, and under
        # torchrun; on an accelerator, the epoch's loss sum is read every FINITE_CHECK_STEPS steps and before any
        # state leaves the trainer (state_dict, epoch records) instead, so that the device runs ahead of the host.
        self.check_every_step = self.device.type == "cpu" or dist is not None
        self.checked_step = 0  # steps of this epoch whose loss is known to be finite

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.x_train) / self.config.batch_size)

    # state ------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything a resumed run needs, as a checkpoint dict (tensors, numbers, strings, lists, dicts).

        Raises:
            NonFiniteLoss: a step since the last check had a non-finite loss (so no such state is ever saved).
        """
        self.check_finite()
        return checkpoint_state(
            self.model_name,
            self.model,
            optimizer_state=self.optimizer.state_dict(),
            generator_state=self.generator.get_state(),
            epoch=self.epoch,
            step_in_epoch=self.step_in_epoch,
            global_step=self.global_step,
            perm=self.perm,
            sums=self.sums.state_dict(),
            best_score=self.best_score,
            best_epoch=self.best_epoch,
            train_seconds=self.train_seconds,
        )

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict()``. Raises ``KeyError`` / ``RuntimeError`` / ``ValueError`` for a bad one."""
        self.model.load_state_dict(state["model_state"])
        self.optimizer.load_state_dict(state["optimizer_state"])
        self.generator.set_state(state["generator_state"])
        self.epoch, self.step_in_epoch = int(state["epoch"]), int(state["step_in_epoch"])
        self.global_step, self.best_score = int(state["global_step"]), float(state["best_score"])
        self.perm = None if state["perm"] is None else state["perm"].to(self.device)
        self.sums.load_state_dict(state["sums"], self.device)
        self.train_seconds = float(state.get("train_seconds", 0.0))
        self.best_epoch = int(state.get("best_epoch", self.epoch))
        self.checked_step = self.step_in_epoch

    def request_stop(self, signum: int | None = None) -> None:
        """Ask the loop to stop after the current step (what Ctrl-C, SIGTERM and SIGUSR1 do; ``signum`` says which
        signal asked); ``fit`` then returns interrupted."""
        self.stop_requested = True
        self.stop_signal = signum if self.stop_signal is None else self.stop_signal

    # the loop ---------------------------------------------------------------------------------------------
    def step(self) -> None:
        """One Adam step on the next batch of the epoch's permutation (this process's shard of it under torchrun).

        The loss is the mean over the global batch: each process sums its images' losses and divides by the
        global batch size times the number of processes, whose gradients DDP averages.

        Raises:
            NonFiniteLoss: the batch's loss is NaN or infinite (the parameters are not updated); on an accelerator
                outside torchrun, found up to ``FINITE_CHECK_STEPS`` steps later (``check_finite``).
        """
        bs = self.config.batch_size
        idx = self.perm[self.step_in_epoch * bs : (self.step_in_epoch + 1) * bs]
        generator, world = self.generator, 1
        if self.dist is not None:
            start, stop = self.dist.shard(len(idx))
            generator, world = ShardedGenerator(self.generator, start, stop, len(idx)), self.dist.world_size
            idx_local = idx[start:stop]
        else:
            idx_local = idx
        x = self.x_train.index_select(0, idx_local)
        if self.binarize == "dynamic":
            x = binarize_dynamic(x, generator)
        y = None if self.y_train is None else self.y_train.index_select(0, idx_local)
        if self.manual:  # the forward pass, and the gradients written into .grad
            out = elbo_with_grads(self.model, x, generator, world / len(idx))
        else:
            with self.autocast:
                out = self.net(x, y, generator=generator)
        loss = out.loss.float().sum() * (world / len(idx))
        if self.check_every_step:
            value = loss.item()  # on a CPU a plain read; torch.isfinite(loss) costs two operations more
            if not math.isfinite(value):
                raise NonFiniteLoss(value, self.epoch + 1, self.step_in_epoch + 1)
        if not self.manual:
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        if self.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.sums.add(out.terms())
        self.step_in_epoch += 1
        self.global_step += 1
        if self.check_every_step:
            self.checked_step = self.step_in_epoch
        elif self.step_in_epoch - self.checked_step >= FINITE_CHECK_STEPS:
            self.check_finite()

    def check_finite(self) -> None:
        """Raise ``NonFiniteLoss`` if the loss of a step of this epoch not yet checked was NaN or infinite (read
        from the epoch's running loss sum, which any such step makes non-finite)."""
        if self.checked_step == self.step_in_epoch:
            return
        value = self.sums.total("loss")
        if not math.isfinite(value):
            raise NonFiniteLoss(value, self.epoch + 1, self.step_in_epoch, self.checked_step + 1)
        self.checked_step = self.step_in_epoch

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean of every loss term over the validation split (fixed binarization and noise)."""
        if self.x_val is None:
            return {}
        g = torch.Generator(device=self.device).manual_seed(VAL_NOISE_SEED)
        return mean_terms(self.model, self.x_val, self.y_val, g, max(self.config.batch_size, EVAL_BATCH))

    def _start_epoch(self) -> None:
        """Set the epoch's learning rate and KL factor (functions of the epoch: ``vaelab.training.schedules``)."""
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.config, self.epoch)
        self.model.kl_scale = kl_scale(self.config, self.epoch)

    def _end_epoch(self, t0: float) -> dict:
        self.check_finite()
        if self.dist is not None:  # every process's sums, for the one record rank 0 writes
            self.sums.all_reduce_(self.dist)
        train = self.sums.means()
        images = self.sums.count
        val = self.validate()
        self.epoch += 1
        self.step_in_epoch = self.checked_step = 0
        s = score(val, train)
        best = s > self.best_score
        if best:
            self.best_score, self.best_epoch = s, self.epoch
        extra = {"lr": self.optimizer.param_groups[0]["lr"]}
        if "beta" in type(self.model.config).model_fields:  # the families with a KL term
            extra["beta"] = self.model.kl_scale * self.model.config.beta
        return epoch_record(
            self.epoch,
            self.global_step,
            time.perf_counter() - t0,
            self.train_seconds,
            images,
            train,
            val,
            best,
            **extra,
        )

    def _patience_exhausted(self) -> bool:
        return patience_exhausted(self.config.early_stopping_patience, self.epoch, self.best_epoch)

    def _emit(self, event: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, event)(self, *args)  # every Callback has every event (no-ops by default)

    def fit(self) -> FitResult:
        """Train until ``config.epochs`` epochs are done (continuing from the restored state).

        Returns:
            ``FitResult``: the records of the epochs this call finished, and ``interrupted`` if a stop request
            (Ctrl-C) ended it early (callbacks have saved a checkpoint by then).

        Raises:
            NonFiniteLoss: the loss became non-finite; nothing of that epoch is saved.
        """
        records = []
        self.model.train()
        with stop_on_signals(self):
            try:
                while self.epoch < self.config.epochs and not self._patience_exhausted():
                    self._start_epoch()
                    if self.step_in_epoch == 0:
                        n = len(self.x_train)
                        if self.config.shuffle:
                            self.perm = torch.randperm(n, generator=self.generator, device=self.device)
                        else:  # the stored order, every epoch
                            self.perm = torch.arange(n, device=self.device)
                        self.sums, self.train_seconds = TermSums(), 0.0
                    t0 = time.perf_counter()
                    self._emit("on_epoch_start", self.steps_per_epoch)
                    while self.step_in_epoch < self.steps_per_epoch:
                        t_step = time.perf_counter()
                        self.step()
                        self.train_seconds += time.perf_counter() - t_step
                        self._emit("on_step_end")
                        if self.dist is not None:  # every process stops at the same step
                            self.stop_requested = self.dist.any(self.stop_requested)
                        if self.stop_requested:
                            self._emit("on_stop")
                            return FitResult(records, interrupted=True, signal=self.stop_signal)
                    record = self._end_epoch(t0)
                    if self._patience_exhausted():
                        record["early_stopped"] = True
                    self._emit("on_epoch_end", record)
                    records.append(record)
                    if self.stop_requested:
                        return FitResult(records, interrupted=True, signal=self.stop_signal)
            finally:
                self._emit("on_train_end")
        return FitResult(records)
