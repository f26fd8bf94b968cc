"""A run's life: creating one and resuming one, crash-safe.

* ``create_run(spec)``: everything that can fail on bad input (options, data files, memory) is checked before
  anything is written. Then, holding the run's lock, ``config.json`` is written atomically: from that moment the
  run is resumable, also if it dies before its first checkpoint (``--resume`` then starts it from its saved
  configuration). A folder that holds a run which never reached a checkpoint does not block a new start with the
  same name: it is started afresh.
* ``resume_run(path)``: the saved configuration is used; only the number of epochs, the device, the progress
  display and the data folder may be given anew. The run continues from ``last.pt`` (bit-exact on the same
  device), or from the start if it has none.

Both hold the run's exclusive lock while training (a second trainer is refused with the holder's process id),
remove temporary files left by interrupted writes, and refuse a model that would not fit in memory.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from vaelab.core.device import select_device
from vaelab.core.errors import CheckpointError, ConfigError, TrainingError
from vaelab.core.io import load_checkpoint, remove_stale_temporaries
from vaelab.core.naming import option, options
from vaelab.core.resources import check_fits, training_memory
from vaelab.data import ImageDataset, load_dataset
from vaelab.models import LatentModel, build_model
from vaelab.models.custom import Networks, check_model, describe_networks
from vaelab.models.registry import MODELS
from vaelab.runs.folder import RunDir
from vaelab.runs.pack_read import is_packed
from vaelab.runs.spec import RESUMABLE_OPTIONS, DataConfig, RunSpec, TrainConfig, check_run_name
from vaelab.training.callbacks import Callback, run_callbacks
from vaelab.training.closed_form import ClosedFormFit
from vaelab.training.distributed import Distributed
from vaelab.training.loop import NonFiniteLoss, Trainer


@dataclass
class TrainResult:
    """The outcome of ``create_run`` / ``resume_run``.

    Attributes:
        run: the run folder.
        trainer: the ``Trainer`` (or ``ClosedFormFit`` for PCA) after training, holding the model.
        records: the ``metrics.jsonl`` records of the epochs this call finished.
        interrupted: a stop request (Ctrl-C, SIGTERM, SIGUSR1) ended training early; ``last.pt`` holds where it
            stopped.
        signal: the signal that asked for the stop (None for another stop request or none).
    """

    run: RunDir
    trainer: Trainer | ClosedFormFit
    records: list[dict]
    interrupted: bool = False
    signal: int | None = None

    @property
    def exit_status(self) -> int:
        """The shell's convention: 0, or 128 + the signal that stopped training (130 Ctrl-C, 143 SIGTERM)."""
        import signal

        if not self.interrupted:
            return 0
        return 128 + int(self.signal or signal.SIGINT)

    def __iter__(self):  # ``run, trainer, records = train_run(...)``
        return iter((self.run, self.trainer, self.records))


def load_splits(data: DataConfig) -> tuple[ImageDataset, ImageDataset]:
    """The training and validation splits a ``DataConfig`` describes (raises ``DatasetError``)."""
    kw = {"val_size": data.val_size, **data.loader_options()}
    train = load_dataset(data.dataset, "train", data.data_dir, limit=data.limit, **kw)
    val = load_dataset(data.dataset, "val", data.data_dir, **kw)
    return train, val


def _check_resources(spec: RunSpec, n_train: int, networks: Networks | None = None) -> None:
    make = functools.partial(build_model, spec.model, networks=networks)  # builds on the meta device
    estimate = training_memory(make, spec.model_config, spec.train.batch_size, n_train)
    check_fits(estimate, select_device(spec.train.device), options("latent_dim", "hidden", "batch_size", "k"))


def _check_labels(spec: RunSpec, *splits: ImageDataset) -> None:
    """A model that needs labels gets them, each below its ``num_classes`` (checked before any step)."""
    if not MODELS[spec.model][1].needs_labels:
        return
    classes = getattr(spec.model_config, "num_classes", None)
    for split in splits:
        if split.labels is None:
            raise ConfigError(
                f"{option('model', spec.model)} needs class labels; the {split.split} split of dataset "
                f"{spec.data.dataset!r} has none"
            )
        top = int(split.labels.max()) if len(split.labels) else -1
        if classes is not None and top >= classes:
            raise ConfigError(
                f"{option('num_classes', classes)}: the {split.split} split has label {top}; expected labels "
                f"0..{classes - 1} (set {option('num_classes', top + 1)})"
            )


def _has_progress(run: RunDir) -> bool:
    """Whether the run reached a checkpoint (then a new start with its name is refused)."""
    return run.last_ckpt.is_file() or run.best_ckpt.is_file()


@contextlib.contextmanager
def _created_or_removed(run: RunDir):
    """If the block fails before ``config.json`` exists, remove the folders this start made (the run's, and its
    parents when they are left empty)."""
    made = [p for p in (run.path, *run.path.parents) if not p.exists()]
    try:
        yield
    except BaseException:
        if made and not run.exists():
            shutil.rmtree(run.path, ignore_errors=True)
            for parent in made[1:]:
                with contextlib.suppress(OSError):
                    parent.rmdir()
        raise


def _refuse_files_without_config(run: RunDir) -> None:
    """A folder holding a run's files but no ``config.json`` is no run to start afresh: its files may be all that is
    left of one (refused with one line, nothing touched)."""
    if run.exists() or not run.path.is_dir():
        return
    found = run.run_files()
    if found:
        raise ConfigError(
            f"{run.path}: holds run files ({', '.join(found)}) but no config.json; nothing in it was touched. "
            "Choose another --name, or restore its config.json to --resume it"
        )


def _refuse_packed(run: RunDir) -> None:
    """A packed model (``vaelab pack``) holds trained weights but no training state: neither a new start nor
    ``--resume`` may write into it (refused with one line, nothing touched)."""
    if run.path.is_dir() and is_packed(run.path):
        raise ConfigError(
            f"{run.path}: a packed model (vaelab pack) holds the trained weights but no training state; it cannot be "
            f"trained further, and nothing in it was touched. Choose another {option('name')}, or resume the run "
            "folder it was packed from"
        )


def resume_options(saved: RunSpec, given: dict, where: Path) -> dict:
    """The one resume rule (``vaelab train --resume`` and ``vaelab.train(resume=True)``): the options of
    ``RESUMABLE_OPTIONS`` may take new values; every other option given must equal the run's saved one, compared
    after both are typed by their configuration (so re-running the command that made the run is accepted).

    Args:
        saved: the run's ``RunSpec`` (its ``config.json``).
        given: options given now, by Python name (``model`` for the family), typed or as flag values.
        where: the run's folder, named in the error.

    Returns:
        The resumable options among ``given`` (new values of ``epochs``, ``device``, ``data_dir``, ...).

    Raises:
        ConfigError: an option that differs from the saved one, naming its flag and both values.
    """
    have = {"model": saved.model}
    want = {}
    for key, value in given.items():
        if key in RESUMABLE_OPTIONS:
            continue
        have[key], want[key] = _saved_and_typed(saved, key, value)
        if want[key] != have[key]:
            memory = isinstance(want[key], str) and want[key].startswith("memory:")
            if memory and str(have[key]).startswith("memory:"):
                raise ConfigError(
                    f"{option('data')}: not the images the run {where} was trained on ({have[key]}, these are "
                    f"{want[key]}); give the same images to continue it, or choose another {option('name')}"
                )
            what = f"{option('data')} holds other images ({want[key]})" if memory else option(key, want[key])
            raise ConfigError(
                f"{option(key)}: cannot change when resuming ({option('resume', True)} with {what} but the run "
                f"{where} was made with {have[key]!r}); only {options(*RESUMABLE_OPTIONS)} can; choose another "
                f"{option('name')} to train a new run"
            )
    return {k: v for k, v in given.items() if k in RESUMABLE_OPTIONS}


def _saved_and_typed(saved: RunSpec, key: str, value) -> tuple:
    """The saved value of option ``key`` and ``value`` typed as that option (``ConfigError`` for a bad value; an
    option the run's family does not have compares as absent)."""
    if key == "model":
        return saved.model, value
    sections = [(saved.train, TrainConfig), (saved.data, DataConfig), (saved.model_config, type(saved.model_config))]
    for current, cls in sections:
        if key in cls.model_fields:
            old = current.to_dict()
            return old[key], cls.from_dict({**old, key: value}).to_dict()[key]
    return "<absent>", value


def create_run(
    spec: RunSpec,
    runs_dir: str | Path = "runs",
    run_dir: str | Path | None = None,
    callbacks: list[Callback] = (),
    dist: Distributed | None = None,
    networks: Networks | None = None,
) -> TrainResult:
    """Create the run ``runs_dir/spec.name`` (or ``run_dir``) and train it.

    Args:
        networks: a ``custom-vae``'s encoder and decoder modules (copied; their initial weights are the run's).

    Raises:
        ConfigError: the folder already holds a run that reached a checkpoint, or run files without
            ``config.json`` (then nothing in it is touched); labels or memory missing.
        CheckpointError: a checkpoint path that is not a file.
        RunBusyError: another process trains a run in that folder.
        DatasetError, StorageError, TrainingError: see ``resume_run``.
    """
    run = RunDir(run_dir if run_dir is not None else Path(runs_dir) / check_run_name(spec.name))
    _refuse_packed(run)  # before the lock: nothing in a pack is touched
    _refuse_files_without_config(run)
    with _created_or_removed(run), run.lock():  # first: a second trainer is refused at once
        run.check_checkpoint_files()
        if run.exists() and _has_progress(run):
            raise ConfigError(
                f"{run.path} already holds a run; continue it with {option('resume', True)} or choose another "
                f"{option('name')}"
            )
        train, val = load_splits(spec.data)
        _check_labels(spec, train, val)
        _check_resources(spec, len(train), networks)
        if run.exists():
            print(f"{run.path}: holds a run that never reached a checkpoint; starting it afresh", file=sys.stderr)
            for stale in (run.metrics_path, run.epoch_samples_path, run.config_path):
                stale.unlink(missing_ok=True)
        remove_stale_temporaries(run.path)
        model = _new_model(spec, train, networks)
        config = spec.to_config(len(train), len(val), train.info)
        if model.takes_networks:
            config["networks"] = describe_networks(model)
        if model.closed_form:
            config["train"]["binarize"] = "none"
            config["closed_form"] = True
        else:
            config["train"]["binarize"] = spec.train.binarize or (
                "dynamic" if model.likelihood == "bernoulli" else "none"
            )
        run.save_config(config)  # the commit point: from here the run is resumable
        return _fit(run, spec, model, train, val, None, callbacks, dist)


def _new_model(spec: RunSpec, train: ImageDataset, networks: Networks | None = None) -> LatentModel:
    torch.manual_seed(spec.train.seed)  # initial weights
    model = build_model(spec.model, spec.model_config, networks)
    if model.takes_networks:
        check_model(model, train.images)
    model.init_from_data(train.images)
    return model


def resume_run(
    run_dir: str | Path,
    given: dict | None = None,
    callbacks: list[Callback] = (),
    dist: Distributed | None = None,
    networks: Networks | None = None,
) -> TrainResult:
    """Continue the run in ``run_dir`` from its last checkpoint (or from the start if it has none).

    Args:
        given: options given now, by Python name: new values of ``RESUMABLE_OPTIONS`` (``epochs``, ``device``,
            ``progress``, ``data_dir``, ...); any other must equal the saved one (``resume_options``).
        networks: a ``custom-vae``'s encoder and decoder modules (None: built from the classes its config names).

    Raises:
        ConfigError: no run there, a packed model (no training state), an option that differs from the saved
            one, or a closed-form run that is complete.
        CheckpointError: ``last.pt`` unreadable, not a file, or made with another configuration than
            ``config.json``.
        RunBusyError: another process trains this run.
        DatasetError: a data file missing or corrupt. StorageError: the disk is full.
        TrainingError: the loss became non-finite (the message names the checkpoint that exists).
    """
    run = RunDir(run_dir)
    if not run.exists():
        raise ConfigError(
            f"{option('resume', True)}: {run.path} is not a run directory (no config.json); check "
            f"{options('name', 'runs_dir')} (a start stopped before it saved anything has nothing to resume: start it "
            f"again without {option('resume', True)})"
        )
    _refuse_packed(run)
    with run.lock():  # first: a second trainer is refused at once
        run.check_checkpoint_files()
        spec = RunSpec.from_config(run.load_config(), run.config_path)
        overrides = resume_options(spec, dict(given or {}), run.path)
        if "data_dir" in overrides:
            spec.data = DataConfig.from_dict({**spec.data.to_dict(), "data_dir": overrides.pop("data_dir")})
        spec.train = TrainConfig.from_dict({**spec.train.to_dict(), **overrides})
        train, val = load_splits(spec.data)
        _check_resources(spec, len(train), networks)
        remove_stale_temporaries(run.path)
        state = None
        if run.last_ckpt.is_file():
            state = load_checkpoint(run.last_ckpt)
            run.check_checkpoint(state, run.last_ckpt)
            if state.get("closed_form"):
                raise ConfigError(
                    f"{option('resume', True)}: {run.path} holds a closed-form model ({spec.model}), fitted already; "
                    "nothing to resume"
                )
        config = run.load_config()
        done = int(state.get("epoch", 0)) if state is not None else 0
        if config["train"]["epochs"] != spec.train.epochs and spec.train.epochs >= done:  # never below what ran
            config["train"]["epochs"] = spec.train.epochs
            run.save_config(config)
        if state is None:
            model = _new_model(spec, train, networks)
        else:
            model = build_model(spec.model, spec.model_config, networks)
        return _fit(run, spec, model, train, val, state, callbacks, dist)


def join_run(run_dir: str | Path, dist: Distributed, overrides: dict | None = None) -> TrainResult:
    """A torchrun process other than rank 0: wait until rank 0 has created or prepared the run, then train the
    same model on this process's shards, writing nothing (rank 0 writes everything). Needs the run folder on a
    file system all processes see."""
    dist.barrier()  # rank 0 has written config.json (and holds the run's lock)
    run = RunDir(run_dir)
    spec = RunSpec.from_config(run.load_config(), run.config_path)
    overrides = {k: v for k, v in (overrides or {}).items() if k in ("device", "dist_timeout")}
    spec.train = TrainConfig.from_dict({**spec.train.to_dict(), **overrides, "progress": False})
    train, val = load_splits(spec.data)
    state = load_checkpoint(run.last_ckpt) if run.last_ckpt.is_file() else None
    model = _new_model(spec, train) if state is None else build_model(spec.model, spec.model_config)
    return _fit(run, spec, model, train, val, state, [], dist, writes=False)


def _fit(
    run: RunDir,
    spec: RunSpec,
    model: LatentModel,
    train: ImageDataset,
    val: ImageDataset,
    state: dict | None,
    extra: list[Callback],
    dist: Distributed | None = None,
    writes: bool = True,
) -> TrainResult:
    cfg = spec.train
    callbacks = (
        run_callbacks(run, cfg.samples_per_epoch, cfg.seed, cfg.progress, cfg.checkpoint_every) if writes else []
    )
    callbacks += list(extra)
    if model.closed_form:
        if dist is not None:
            raise ConfigError(f"{option('model', spec.model)} is fitted in closed form: run it without torchrun")
        fitter = ClosedFormFit(model, spec.model, cfg, callbacks)
        return TrainResult(run, fitter, fitter.fit(train, val).records)
    if dist is not None and writes:
        dist.barrier()  # the other processes may now read config.json and last.pt (see join_run)
    trainer = Trainer(model, spec.model, cfg, train, val, callbacks, dist)
    if state is not None:
        try:
            trainer.load_state_dict(state)
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{run.last_ckpt}: cannot resume from it ({type(exc).__name__}: {exc})") from exc
    if writes:
        run.truncate_metrics(trainer.epoch)  # records written after the checkpoint this run starts from

    if trainer.epoch >= cfg.epochs:  # not a progress line: the command did nothing, and says why
        print(
            f"{run.path}: already trained {trainer.epoch} epochs; pass a larger {option('epochs')} (> {trainer.epoch}) "
            "to train longer",
            file=sys.stderr,
        )
    try:
        result = trainer.fit()
    except NonFiniteLoss as exc:
        if run.last_ckpt.is_file():
            kept = f"the last good checkpoint is kept: {run.last_ckpt} (epoch {trainer.epoch})"
        else:
            kept = (
                "no checkpoint exists yet, so nothing is lost: run the same command again, e.g. with a lower "
                f"{option('lr')} (a run without a checkpoint starts afresh)"
            )
        raise TrainingError(f"{exc}; stopped. {kept}. A lower {option('lr')} often helps") from exc
    return TrainResult(run, trainer, result.records, result.interrupted, result.signal)


def train_run(
    run_dir,
    model_name: str = "vae",
    model_options: dict | None = None,
    train_config: TrainConfig | None = None,
    dataset: str = "mnist",
    data_dir=None,
    val_size: int | None = None,
    limit: int | None = None,
    resume: bool = False,
    callbacks: list[Callback] = (),
) -> TrainResult:
    """Create (or, with ``resume``, continue) the run in folder ``run_dir`` and train it: the Python entry point
    behind ``vaelab train``.

    Args:
        run_dir: the run's folder (its name is the run's name).
        model_name: the model family; model_options: its options (the dataset's image shape is added).
        train_config: ``TrainConfig`` (defaults: the family's preferred ones over ``TrainConfig``'s).
        dataset, data_dir, val_size, limit: the data (``DataConfig``).
        resume: continue an existing run; then only ``train_config``'s epochs / device / progress are used.

    Returns:
        ``TrainResult`` (unpacks as ``run, trainer, records``).
    """
    if resume:
        overrides = {}
        if train_config is not None:
            overrides = {
                "epochs": train_config.epochs,
                "device": train_config.device,
                "progress": train_config.progress,
            }
        return resume_run(run_dir, overrides, callbacks)
    data = DataConfig.from_dict(
        {
            "dataset": dataset,
            "val_size": val_size,
            "limit": limit,
            "data_dir": None if data_dir is None else str(data_dir),
        }
    )
    options = {**(model_options or {}), "image_shape": data.image_shape()}
    model_config = MODELS[model_name][0].from_dict(options) if model_name in MODELS else None
    if model_config is None:
        build_model(model_name, options)  # raises the ConfigError naming the families
    if train_config is None:
        train_config = TrainConfig.from_dict(MODELS[model_name][1].train_defaults)
    spec = RunSpec(Path(run_dir).name, model_name, model_config, train_config, data)
    return create_run(spec, run_dir=run_dir, callbacks=callbacks)
