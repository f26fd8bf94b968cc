"""What happens around the training loop, one callback per role.

A ``Callback`` is told of five events by ``Trainer.fit`` (each receives the trainer): ``on_epoch_start(trainer,
steps)``, ``on_step_end(trainer)``, ``on_epoch_end(trainer, record)`` (``record`` is the epoch's line of
``metrics.jsonl``), ``on_stop(trainer)`` (a stop request, e.g. Ctrl-C, mid-epoch) and ``on_train_end(trainer)``.
The run-writing callbacks are listed by ``run_callbacks`` in the order they must act at an epoch end: metrics,
TensorBoard, samples, epoch codes (the explorer's time-lapse), then checkpoints (so a checkpoint never refers to an
epoch the metrics do not have).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from vaelab.core.errors import CheckpointError, StorageError, VaelabError
from vaelab.core.io import save_checkpoint
from vaelab.core.naming import option
from vaelab.data import load_dataset_from_config
from vaelab.runs.files import EPOCH_CODES_N, SAMPLE_NOISE_OFFSET, read_epoch_codes
from vaelab.runs.folder import RunDir


class Callback:
    """Base class: every event does nothing; subclasses override the events they act on."""

    def on_epoch_start(self, trainer, steps: int) -> None: ...

    def on_step_end(self, trainer) -> None: ...

    def on_epoch_end(self, trainer, record: dict) -> None: ...

    def on_stop(self, trainer) -> None: ...

    def on_train_end(self, trainer) -> None: ...


def run_time_left(trainer, steps: int, seconds_per_step: float) -> float:
    """Seconds left in the whole run at ``seconds_per_step`` (wall time per step, validation included once an
    epoch has ended): the rest of this epoch and every epoch still to come."""
    left = (steps - trainer.step_in_epoch) + max(0, trainer.config.epochs - trainer.epoch - 1) * steps
    return left * seconds_per_step


class ProgressBar(Callback):
    """A tqdm bar per epoch (with its own time left), the running mean loss and the time left in the whole run every
    ``every`` steps (from the wall time per step measured since this process started training)."""

    def __init__(self, every: int = 20):
        self.every, self.bar = every, None
        self.t0, self.steps_done, self.steps = None, 0, 0

    def on_epoch_start(self, trainer, steps: int) -> None:
        from tqdm.auto import tqdm

        if self.t0 is None:
            self.t0 = time.monotonic()
        self.steps = steps
        self.bar = tqdm(
            total=steps,
            initial=trainer.step_in_epoch,
            leave=False,
            dynamic_ncols=True,
            desc=f"epoch {trainer.epoch + 1}/{trainer.config.epochs}",
        )

    def on_step_end(self, trainer) -> None:
        from tqdm import tqdm

        self.bar.update(1)
        self.steps_done += 1
        if trainer.step_in_epoch % self.every == 0:
            loss = trainer.sums.means().get("loss", float("nan"))
            per_step = (time.monotonic() - self.t0) / self.steps_done
            left = tqdm.format_interval(run_time_left(trainer, self.steps, per_step))
            self.bar.set_postfix_str(f"loss={loss:.2f}, run {left} left")

    def on_epoch_end(self, trainer, record: dict) -> None:
        self.on_train_end(trainer)

    def on_stop(self, trainer) -> None:
        self.on_train_end(trainer)

    def on_train_end(self, trainer) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class EpochPrinter(Callback):
    """One line per epoch on stderr: the training loss, the validation terms, the epoch's wall time and the time
    left in the whole run (the mean epoch time of this process times the epochs to come)."""

    def __init__(self):
        self.times: list[float] = []

    def on_epoch_end(self, trainer, record: dict) -> None:
        from tqdm import tqdm

        shown = {k: v for k, v in record.items() if k.startswith(("train_loss", "val_"))}
        what = (
            "fitted in closed form" if record.get("closed_form") else f"epoch {record['epoch']}/{trainer.config.epochs}"
        )
        self.times.append(float(record.get("time_s", 0.0)))
        to_come = max(0, trainer.config.epochs - int(record["epoch"]))
        eta = f"; run {tqdm.format_interval(to_come * sum(self.times) / len(self.times))} left" if to_come else ""
        print(
            f"{what} " + " ".join(f"{k}={v:.3f}" for k, v in shown.items()) + f" ({record['time_s']:.1f}s{eta})",
            file=sys.stderr,
        )


class MetricsLog(Callback):
    """Appends each epoch's record to ``metrics.jsonl``."""

    def __init__(self, run: RunDir):
        self.run = run

    def on_epoch_end(self, trainer, record: dict) -> None:
        self.run.append_metrics(record)


class TensorBoardLog(Callback):
    """Writes the ``train_*`` / ``val_*`` terms, the learning rate and the effective beta of each epoch as
    TensorBoard scalars (``RUN/tensorboard``)."""

    def __init__(self, run: RunDir):
        """Raises ``StorageError`` before any training when ``RUN/tensorboard`` is a file, not a folder."""
        self.run, self.writer = run, None
        if run.tensorboard.exists() and not run.tensorboard.is_dir():
            raise StorageError(
                f"{run.tensorboard}: is a file, expected the folder of TensorBoard's logs; move the file away and run "
                "it again"
            )

    def on_epoch_end(self, trainer, record: dict) -> None:
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run.tensorboard), purge_step=record["step"])
        for key, value in record.items():
            if key.startswith(("train_", "val_")) and isinstance(value, float):
                split, term = key.split("_", 1)
                self.writer.add_scalar(f"{term}/{split}", value, record["epoch"])
        for key in ("lr", "beta"):  # the schedule's learning rate and the effective (warmed-up) beta
            if key in record:
                self.writer.add_scalar(f"optim/{key}", record[key], record["epoch"])
        self.writer.flush()

    def on_train_end(self, trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def decode_epoch_samples(model, n: int, seed: int) -> np.ndarray:
    """``n`` images decoded from the same prior noise (seed ``seed + 1``) as uint8 ``(n, C, H, W)``."""
    g = torch.Generator(device="cpu").manual_seed(seed + SAMPLE_NOISE_OFFSET)
    was_training = model.training
    model.eval()
    imgs = model.sample(n, generator=g).detach().cpu().clamp(0, 1).mul(255).round().to(torch.uint8)
    model.train(was_training)
    return imgs.numpy()


class EpochSamples(Callback):
    """Appends each epoch's decodings of fixed prior noise to ``epoch_samples.npy`` (``(epochs, n, C, H, W)``)."""

    def __init__(self, run: RunDir, n: int, seed: int):
        self.run, self.n, self.seed = run, n, seed

    def on_epoch_end(self, trainer, record: dict) -> None:
        if self.n == 0:
            return
        imgs = decode_epoch_samples(trainer.model, self.n, self.seed)
        try:
            prev = self.run.read_epoch_samples()
        except CheckpointError as exc:  # a figure's data, not the training state: written afresh from here
            print(f"{exc}; it is written again from epoch {record['epoch']}", file=sys.stderr)
            prev = None
        keep = prev is not None and prev.shape[1:] == imgs.shape and len(prev) >= record["epoch"] - 1
        arr = np.concatenate([prev[: record["epoch"] - 1], imgs[None]]) if keep else imgs[None]
        self.run.save_epoch_samples(arr)


class EpochCodes(Callback):
    """The training time-lapse of a model with a 2-D latent space: at each epoch end, the codes (encoder mean) of
    a fixed subset of the test split, the first ``n`` images, go into ``RUN/epoch_codes.npz`` (written atomically;
    its arrays: ``vaelab.runs.files.read_epoch_codes``).

    ``vaelab export`` copies it for the explorer's epoch slider. Models with another latent size, or runs whose
    test split cannot be read, write nothing (the latter with one line on stderr). A resumed run keeps the rows of
    the epochs before the one it restarts from. The encoder runs in eval mode without gradients and draws no
    random numbers, so training is unchanged.
    """

    def __init__(self, run: RunDir, n: int = EPOCH_CODES_N):
        self.run, self.n = run, n
        self.images = self.labels = None
        self.off = n <= 0

    @property
    def path(self):
        return self.run.epoch_codes_path

    def _load(self) -> bool:
        try:  # the run's own test split (an image folder's size, channels and skipped files included)
            test = load_dataset_from_config(self.run.load_config()["dataset"], "test", limit=self.n)
        except (VaelabError, KeyError, TypeError) as exc:
            print(f"{self.path}: not written, the test split is not readable ({exc})", file=sys.stderr)
            return False
        self.images, self.labels = test.images, test.labels
        return True

    @torch.no_grad()
    def on_epoch_end(self, trainer, record: dict) -> None:
        model = trainer.model
        if self.off or getattr(model, "latent_dim", None) != 2:
            self.off = True
            return
        if self.images is None and not self._load():
            self.off = True
            return
        was_training = model.training
        model.eval()
        try:
            chunks = [self.images[i : i + 500].to(model.device) for i in range(0, len(self.images), 500)]
            codes = torch.cat([model.encode(x)[0].float().cpu() for x in chunks]).numpy()
        finally:
            model.train(was_training)
        epoch = int(record["epoch"])
        prev = read_epoch_codes(self.path)
        if prev is None and self.path.is_file() and epoch > 1:
            print(f"{self.path}: damaged; the time-lapse is written again from epoch {epoch}", file=sys.stderr)
        if prev is not None and prev["codes"].shape[1:] == codes.shape:
            keep = prev["epochs"] < epoch
            rows, epochs = prev["codes"][keep], prev["epochs"][keep]
        else:
            rows, epochs = np.zeros((0, *codes.shape), np.float16), np.zeros(0, np.int32)
        arrays = {
            "codes": np.concatenate([rows, codes[None].astype(np.float16)]),
            "epochs": np.concatenate([epochs, [epoch]]).astype(np.int32),
            "index": np.arange(len(codes), dtype=np.int32),
        }
        if self.labels is not None:
            arrays["labels"] = self.labels.numpy().astype(np.uint8)
        self.run.save_epoch_codes(arrays)


class StopAfter(Callback):
    """Asks the trainer to stop (as a stop signal does: the checkpoint is written) once ``minutes`` of wall time have
    passed since training started (``--stop-after``)."""

    def __init__(self, minutes: float):
        self.limit, self.t0 = minutes * 60, time.monotonic()

    def on_step_end(self, trainer) -> None:
        if not trainer.stop_requested and time.monotonic() - self.t0 >= self.limit:
            trainer.request_stop()
            print(f"\n--stop-after: {self.limit / 60:g} minutes passed; stopping after this step", file=sys.stderr)


class Checkpoints(Callback):
    """Saves ``best.pt`` when the epoch is the best so far and ``last.pt`` at every epoch end, ``last.pt`` mid-epoch
    on a stop request (then prints how to continue) and, with ``every_minutes``, ``last.pt`` mid-epoch once that
    much time has passed since the last write (``--checkpoint-every``)."""

    def __init__(self, run: RunDir, every_minutes: float | None = None):
        self.run = run
        self.every = None if every_minutes is None else every_minutes * 60
        self.t_last = time.monotonic()

    def on_step_end(self, trainer) -> None:
        if self.every is not None and time.monotonic() - self.t_last >= self.every:
            self._save_last(trainer)

    def on_epoch_end(self, trainer, record: dict) -> None:
        state = trainer.state_dict()
        if record["best"]:
            save_checkpoint(self.run.best_ckpt, state)
        save_checkpoint(self.run.last_ckpt, state)
        self.t_last = time.monotonic()

    def on_stop(self, trainer) -> None:
        self._save_last(trainer)
        print(
            f"\ninterrupted: saved {self.run.last_ckpt} (epoch {trainer.epoch + 1}, step "
            f"{trainer.step_in_epoch}); continue with {option('resume', True)}",
            file=sys.stderr,
        )

    def _save_last(self, trainer) -> None:
        save_checkpoint(self.run.last_ckpt, trainer.state_dict())
        self.t_last = time.monotonic()


def run_callbacks(
    run: RunDir, samples_per_epoch: int, seed: int, progress: bool, checkpoint_every: float | None = None
) -> list[Callback]:
    """The callbacks of a training run writing into ``run``, in the order they must act (``checkpoint_every``:
    minutes between mid-epoch checkpoints, or None)."""
    writers: list[Callback] = [
        MetricsLog(run),
        TensorBoardLog(run),
        EpochSamples(run, samples_per_epoch, seed),
        EpochCodes(run),
        Checkpoints(run, checkpoint_every),
    ]
    return ([ProgressBar()] if progress else []) + writers + ([EpochPrinter()] if progress else [])
