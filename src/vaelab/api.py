"""The Python API, for notebooks and scripts: train a model, load a run, evaluate it, draw its figures, serve its
explorer, pack it to share. The command line calls the same functions (``vaelab evaluate`` is ``evaluate_run``;
``vaelab plot`` and ``Run.plot`` both draw through ``vaelab.viz.render.RunFigures``), so the numbers and pictures
are the same either way.

    import vaelab

    run = vaelab.train(model="vae", latent_dim=2, epochs=5, limit=10_000, name="vae-z2")
    run.evaluate(k=100)               # {"nll": ..., "elbo": ..., "k": 100, ...}; also written to eval.json
    run.plot("manifold")              # a matplotlib Figure (shown inline in Jupyter)
    run.plot("latent", save="latent.png")
    run.model                         # the torch.nn.Module (encode, decode, sample)
    run.pack("shared/vae-z2")         # safetensors weights + config.json + model card
    vaelab.load_run("shared/vae-z2")  # a run folder or a packed folder
    vaelab.load("ORG/NAME")           # a local folder, else a model repository on the Hugging Face Hub
    run.push("ORG/NAME")              # pack and upload (huggingface_hub)

``vaelab/__init__.py`` exposes ``train``, ``load``, ``load_run``, ``Run`` and ``Explorer`` lazily, so ``import vaelab``
stays light (no torch) until one of them is used.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

from vaelab.core.commands import (
    PLOT_KINDS,
    EvaluateOptions,
    ExploreOptions,
    ExportOptions,
    FigureOptions,
    PackOptions,
    SampleOptions,
)
from vaelab.core.device import select_device
from vaelab.core.errors import ConfigError
from vaelab.core.naming import option
from vaelab.core.options import keywords_from
from vaelab.core.paths import check_can_write
from vaelab.core.suggest import suggest
from vaelab.data import load_dataset_from_config, memory
from vaelab.evaluate import evaluate
from vaelab.evaluate.sample_quality import evaluate_samples
from vaelab.export.hub import check_repo_id, download, upload
from vaelab.export.onnx import export_run
from vaelab.export.serve import make_server
from vaelab.export.site import build_site
from vaelab.models.custom import Networks, check_architecture, check_networks, import_path
from vaelab.models.registry import MODELS
from vaelab.runs.files import RunFiles
from vaelab.runs.folder import RunDir
from vaelab.runs.open import open_run
from vaelab.runs.packed import pack_run, refresh_card
from vaelab.runs.recreate import missing_pieces
from vaelab.runs.spec import DataConfig, TrainConfig, resolve
from vaelab.training.lifecycle import create_run, resume_run

with warnings.catch_warnings():  # in Jupyter without ipywidgets tqdm.auto warns once on import and uses text bars
    warnings.simplefilter("ignore")
    import tqdm.auto  # noqa: F401


def _rundir(run) -> RunFiles:
    if isinstance(run, Run):
        return run.dir
    return open_run(run)


def _sections(family: str, options: dict) -> tuple[dict, dict, dict]:
    """Sort keyword options into the model / train / data sections by which configuration declares them."""
    model, train_opts, data = {}, {}, {}
    model_keys = {k for cfg, _ in MODELS.values() for k in cfg.model_fields if k != "image_shape"}
    for key, value in options.items():
        if isinstance(value, Path):
            value = str(value)
        if key in TrainConfig.model_fields:
            train_opts[key] = value
        elif key in DataConfig.model_fields:
            data[key] = value
        elif key in model_keys:
            model[key] = value  # ``resolve`` names the families that have it when ``family`` does not
        else:
            known = sorted({*TrainConfig.model_fields, *DataConfig.model_fields, *model_keys})
            raise ConfigError(f"vaelab.train: unknown option {key}={value!r}; expected some of: {', '.join(known)}")
    return model, train_opts, data


def train(
    model: str | None = None,
    *,
    name: str | None = None,
    dataset: str | None = None,
    data=None,
    val_data=None,
    test_data=None,
    encoder=None,
    decoder=None,
    runs_dir: str | Path = "runs",
    config: str | Path | None = None,
    resume: bool = False,
    callbacks: list = (),
    **options,
) -> Run:
    """Train a model into ``runs_dir/name`` and return the ``Run``: what ``vaelab train`` does, from Python.

    Your own images and networks (docs/guide/coming-from-pythae.md), as pythae's ``TrainingPipeline(train_data=...,
    eval_data=...)`` and custom encoders take them:

        run = vaelab.train(data=(images, labels), test_data=test_images, encoder=MyEncoder(), decoder=MyDecoder())

    Args:
        model: the model family (``vae``, the default; ``conv-vae``, ``ae``, ``dae``, ``linear-ae``, ``pca``,
            ``guided-vae``, ``vae-2layer``; ``custom-vae`` with ``encoder`` and ``decoder``).
        name: the run's name (default ``<model>-<dataset>-z<D>``); the run is written to ``runs_dir/name``.
        dataset: ``mnist`` (default), ``frey-face``, ``olivetti-faces``, ``sklearn-digits``, ... or ``folder:PATH``.
        data: your training images instead of ``dataset``: a tensor or numpy array ``(N, C, H, W)`` or ``(N, H, W)``
            with values in [0, 1] (or uint8 0..255), an ``(images, labels)`` pair with integer labels ``(N,)``, or a
            ``torch.utils.data.Dataset`` of images or ``(image, label)`` pairs (``vaelab.data.memory``).
        val_data, test_data: the validation and test images, in the same forms; a split not given is carved from
            ``data`` (test: a fixed, seeded 10 %; validation: the last ``val_size`` images of the rest, default 10 %).
        encoder, decoder: your ``nn.Module``s (both; family ``custom-vae``, ``vaelab.models.custom``): the encoder
            maps ``x (N, C, H, W)`` to ``(mu, logvar)``, each ``(N, D)``; the decoder maps ``z (N, D)`` to
            ``(N, C, H, W)`` or ``(N, C*H*W)`` Bernoulli logits (Gaussian pre-sigmoid means with
            ``likelihood="gaussian"``). D is read from the encoder. They are copied: the trained ones are
            ``run.model.encoder`` / ``run.model.decoder``.
        runs_dir: the folder of runs.
        config: a TOML file of options (tables ``[model]``, ``[train]``, ``[data]``); keyword options win.
        resume: if the run ``name`` exists, continue it (to ``epochs``) or, when it is complete, just return it;
            every other option given must equal the saved one (``vaelab.training.lifecycle.resume_options``). If
            it does not exist, it is trained. Handy in notebooks: running the cell again does not train again.
        callbacks: extra ``vaelab.training.callbacks.Callback`` objects told of every step and epoch.
        **options: any option of ``vaelab train`` by its Python name: model options (``latent_dim=2``,
            ``hidden=(512, 256)``, ``beta``, ``likelihood``, ``channels`` ...), training options (``epochs``,
            ``batch_size``, ``lr``, ``seed``, ``binarize``, ``device``, ``progress``, ...) and data options
            (``limit``, ``val_size``, ``data_dir``, ``image_size="64x64"``, ``image_channels``,
            ``skip_bad_images``).

    Returns:
        The trained ``Run``.

    Raises:
        ConfigError: an unknown or bad option (named as its keyword, e.g. ``latent_dim=0``), bad ``data`` /
            ``encoder`` / ``decoder`` (one line naming the keyword and what was expected), an existing run that
            reached a checkpoint (without ``resume``), a missing image folder.
        CheckpointError: ``resume`` of a ``custom-vae`` run whose modules must be given again.
        DatasetError, TrainingError, StorageError, RunBusyError: as ``vaelab train``.
    """

    mem = _own_data(options, dataset, data, val_data, test_data)
    family, networks = _own_networks(model, encoder, decoder, options)
    model_flags, train_flags, data_flags = _sections(family or "vae", options)
    spec = resolve(family, name, model_flags, train_flags, data_flags, Path(config) if config else None)
    if networks is not None:
        spec = _fit_latent_dim(spec, networks, family, name, (model_flags, train_flags, data_flags), config)
    path = Path(runs_dir) / spec.name
    run = RunDir(path)
    if resume and run.exists():
        explicit = {*model_flags, *train_flags, *data_flags} | ({"model"} if family is not None else set())
        overrides = _resumable(run, spec, explicit, train_flags, data_flags, networks)
        result = resume_run(path, overrides, list(callbacks), networks=networks)
    else:
        result = create_run(spec, runs_dir, callbacks=list(callbacks), networks=networks)
    out = Run(result.run.path, encoder=encoder, decoder=decoder)
    out._memory = mem or out._memory
    out.interrupted = result.interrupted
    return out


def _own_data(options: dict, dataset, data, val_data, test_data):
    """``data=`` / ``val_data=`` / ``test_data=`` checked and registered (``vaelab.data.memory.build``) as the
    dataset option; returns the ``MemoryData`` (the caller keeps it alive) or None."""
    if data is None:
        for key, value in (("val_data", val_data), ("test_data", test_data)):
            if value is not None:
                raise ConfigError(f"{key}=: only with data= (your training images)")
        if dataset is not None:
            options["dataset"] = dataset
        return None
    if dataset is not None:
        raise ConfigError(f"dataset={dataset!r} and data=: give one (a named dataset, or your images)")
    mem = memory.build(data, val_data, test_data, options.pop("val_size", None))
    options["dataset"] = mem.key
    return mem


def _own_networks(model, encoder, decoder, options: dict):
    """``(family, Networks or None)`` for ``encoder=`` / ``decoder=``: both given (family ``custom-vae``, their
    import paths as its options), or neither."""
    from torch import nn

    if encoder is None and decoder is None:
        return model, None
    if encoder is None or decoder is None:
        raise ConfigError("encoder= and decoder=: give both (nn.Module), or neither for the built-in networks")
    if model not in (None, "vae", "custom-vae"):
        raise ConfigError(
            f"encoder= / decoder=: your modules make a VAE (model='custom-vae'), not model={model!r}, which builds "
            "its own networks"
        )
    for key, module in (("encoder", encoder), ("decoder", decoder)):
        if not isinstance(module, nn.Module):
            raise ConfigError(f"{key}=: got {type(module).__name__}; expected a torch.nn.Module")
        options[key] = import_path(module)
    return "custom-vae", Networks(encoder, decoder)


def _fit_latent_dim(spec, networks, family, name, sections, config):
    """Check the modules on a probe batch of the data's image shape (``check_networks``) and resolve the spec
    again with the latent size D their output has (``latent_dim=`` given must agree)."""
    import torch

    model_flags, train_flags, data_flags = sections
    d = check_networks(networks.encoder, networks.decoder, torch.rand(2, *spec.model_config.image_shape))
    if model_flags.get("latent_dim", d) != d:
        raise ConfigError(
            f"{option('latent_dim', model_flags['latent_dim'])}: the encoder gives D = {d} (mu and logvar of shape "
            f"(N, {d})); leave latent_dim out or make them agree"
        )
    model_flags = {**model_flags, "latent_dim": d}
    return resolve(family, name, model_flags, train_flags, data_flags, Path(config) if config else None)


def _resumable(run, spec, explicit: set, train_flags: dict, data_flags: dict, networks) -> dict:
    """For ``resume=True``: what was given, by Python name and typed, for ``resume_run``, whose one resume rule
    (``vaelab.training.lifecycle.resume_options``) refuses an option that differs from the saved run; modules of
    another architecture are refused here."""
    if networks is not None:
        check_architecture(run.load_config().get("networks"), networks)
    flat = {"model": spec.model, **spec.model_config.to_dict(), **spec.train.to_dict(), **spec.data.to_dict()}
    return {k: flat[k] for k in sorted(explicit | {"progress"}) if k in flat}


def load_run(path: str | Path, **given) -> Run:
    """Open a run folder (``runs/<name>``) or a packed model folder (``vaelab pack``).

    Args:
        path: the folder.
        **given: for a run trained from Python with your own data or networks, what its config cannot re-create
            (``data``, ``val_data``, ``test_data``, ``encoder``, ``decoder``; see ``Run``). Without them it warns.

    Raises:
        CheckpointError: no ``config.json`` there. PackError: a packed folder with a malformed field.
        ConfigError: data or modules given that differ from the recorded ones.
    """
    return Run(path, **given)


def load(
    path_or_repo_id: str | Path,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    token: str | bool | None = None,
    local_files_only: bool = False,
    **given,
) -> Run:
    """Open a model the way diffusers' ``from_pretrained`` does: a local run folder or packed folder, or else a
    model repository on the Hugging Face Hub (``ORG/NAME``), downloaded into the Hub's cache with
    ``huggingface_hub.snapshot_download`` (``vaelab.export.hub.download``). Every file of a pack is checked before
    use (``vaelab.runs.pack_read``).

    Args:
        path_or_repo_id: a folder, or a Hub repository id.
        revision: the repository's branch, tag or commit (default ``main``).
        cache_dir: the Hub cache (default ``HF_HUB_CACHE``, else ``~/.cache/huggingface/hub``).
        token: for private repositories (default: the token ``hf auth login`` saved, or ``HF_TOKEN``).
        local_files_only: use the cache only, as when ``HF_HUB_OFFLINE=1``.
        **given: ``encoder``, ``decoder`` (a ``custom-vae``: a pack's classes are never imported) and ``data``,
            ``val_data``, ``test_data`` (a model trained on your images), as for ``Run``.

    Returns:
        A ``Run`` (``run.model`` is the ``torch.nn.Module``).

    Raises:
        RunNotFoundError: a path (it starts with ``.``, ``/`` or ``~``, or has more than one ``/``) that is no
            folder, or a folder that holds no run. CheckpointError: not obtainable from the Hub (offline with no
            cached copy: one line), or a damaged file. ConfigError: not a str or path, or an invalid repository id.
            PackError: a malformed field of the pack.
    """
    if not isinstance(path_or_repo_id, (str, os.PathLike)):
        raise ConfigError(f"path_or_repo_id={path_or_repo_id!r}: expected a folder or a Hub repository id (a str)")
    text = str(path_or_repo_id)
    path = Path(text).expanduser()
    if path.exists() or isinstance(path_or_repo_id, Path) or text.startswith((".", "/", "~")) or text.count("/") > 1:
        return Run(path, **given)
    return Run(download(text, revision, cache_dir, token, local_files_only), **given)


@keywords_from(EvaluateOptions)
def evaluate_run(run, **options) -> dict:
    """Evaluate a run on a split and write ``eval.json``: what ``vaelab evaluate`` and ``Run.evaluate`` call.

    Probabilistic models get the importance-weighted NLL with ``k`` samples (in nats per image and bits per
    dimension), the ELBO, KL and active units; deterministic ones the reconstruction error and PSNR
    (``vaelab.evaluate.evaluate``). With ``samples`` = N > 0, ``result["samples"]`` holds the Fréchet distance,
    precision and recall of N prior samples against the test images in the features of the dataset's reference
    classifier, with training images against test images as the floor (``vaelab.evaluate.sample_quality``).

    Args:
        run: a ``Run``, a run opened by ``vaelab.runs.open.open_run`` or a path (a run or a packed folder).
        **options: ``vaelab.core.commands.EvaluateOptions`` (the options of ``vaelab evaluate``): ``k``
            (importance samples K, default ``DEFAULT_K`` = 1000), ``split`` (``test``, ``val`` or ``train``),
            ``limit`` (the first N images of the split), ``batch_size``, ``checkpoint`` (``best`` or ``last``),
            ``seed``, ``data_dir``, ``device`` (``auto``, ``cpu``, ``cuda``, ...), ``progress`` (a bar with the
            time left), ``samples`` (N prior samples to score; 0: none; labelled datasets only).

    Returns:
        The numbers as a JSON-ready dict (nats per image, with the split, binarization, K and seed), also written
        to ``RUN/eval.json``.

    Raises:
        ConfigError: an unknown option (with the closest name) or a bad value (K < 1, an unknown split or
            checkpoint), naming the keyword; a run folder that cannot be written into (read-only), before any
            work. CheckpointError, DatasetError: as loading the run.
    """
    o = EvaluateOptions.from_dict(options, "evaluate: ")
    rd = _rundir(run)
    rd.check_writable("evaluate (it writes eval.json)")
    check_can_write(rd.path, str(rd.path), "eval.json")  # a read-only folder: refused before the long NLL pass
    model = rd.load_model(o.checkpoint, select_device(o.device))
    data = load_dataset_from_config(rd.load_config()["dataset"], o.split, o.data_dir, o.limit)
    scores = None
    if o.samples:  # first: a dataset without labels stops before the long NLL pass
        ds = rd.load_config()["dataset"]
        scores = evaluate_samples(model, ds, o.samples, o.data_dir, seed=o.seed, progress=o.progress)
    result = evaluate(model, data, k=o.k, batch_size=o.batch_size, seed=o.seed, progress=o.progress)
    if scores is not None:
        result["samples"] = scores
    result["checkpoint"] = "packed" if rd.is_packed else o.checkpoint
    rd.save_eval(result)
    if rd.is_packed:  # the card states the pack's numbers: those just written
        refresh_card(rd)
    return result


def _given_data(config: dict, data, val_data, test_data):
    """The ``MemoryData`` of a run trained on images given from Python: restored from what is given (checked against
    the record, ``vaelab.data.memory.restore``), else the one still loaded in this process, else None."""
    ds = config.get("dataset") or {}
    name, given = ds.get("name"), {"data": data, "val_data": val_data, "test_data": test_data}
    if not memory.is_memory_name(name):
        for key, value in given.items():
            if value is not None:
                raise ConfigError(f"{key}=: the run was trained on dataset {name!r}, which it loads itself")
        return None
    if all(value is None for value in given.values()):
        return memory.loaded(name)
    return memory.restore(name, ds.get("memory") or {}, data, val_data, test_data)


def _warn_missing(path: Path, config: dict, packed: bool, networks_given: bool) -> None:
    """Warn when the run cannot be re-created from its config alone and what is missing was not given
    (``vaelab.runs.recreate``; a pack's data is not asked for: its numbers are in its eval.json)."""
    missing = missing_pieces(config, packed, networks_given, data=not packed)
    if missing:
        warnings.warn(
            f"{path}: cannot be re-created from its config.json alone: {'; '.join(missing)} "
            "(pass them to vaelab.load_run / vaelab.load)",
            UserWarning,
            stacklevel=4,
        )


class Explorer:
    """The explorer page of a run, served on ``url`` by a background thread (``Run.explore``).

    In Jupyter it shows as a link to the page. ``stop()`` ends serving; ``wait()`` serves until Ctrl-C (for
    scripts). Also a context manager (``with run.explore() as page: ...``).

    Attributes:
        url: the page's address. site: the folder served. server: the ``http.server`` object.
    """

    def __init__(self, site: Path, server):
        self.site, self.server = site, server
        host, port = server.server_address[:2]
        self.url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"
        self._thread = threading.Thread(target=server.serve_forever, name="vaelab-explorer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()

    def wait(self) -> None:
        """Block until Ctrl-C, then stop."""
        try:
            self._thread.join()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Explorer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Explorer({self.url!r}, site={str(self.site)!r})"

    def _repr_html_(self) -> str:
        return f'<a href="{self.url}" target="_blank">vaelab explorer: {self.url}</a> (serving {self.site})'


class Run:
    """A trained run (``runs/<name>``) or a packed model folder, for notebooks and scripts.

    A run trained from Python with your own images or networks (``vaelab.train(data=..., encoder=...)``) records
    what it can in ``config.json`` (``vaelab.runs.recreate``); opened in a new session it takes again what the config
    cannot re-create, each checked against the record, and warns (``UserWarning``) naming what is missing.

    Args:
        path: the folder.
        data, val_data, test_data: the images the run was trained on, as ``vaelab.train`` took them (a split
            carved from ``data`` comes back with ``data``); each is checked against the recorded SHA-256.
        encoder, decoder: a ``custom-vae``'s modules, built as for training (the run's weights are loaded into
            copies); needed when their classes cannot be imported by name, and always for a packed folder.

    Attributes:
        path: the folder. dir: its ``vaelab.runs.folder.RunDir`` or ``vaelab.runs.pack_read.PackedRun``.
        interrupted: training was stopped early (Ctrl-C) by the ``vaelab.train`` call that returned this run.

    Raises:
        CheckpointError: no ``config.json`` in ``path``.
        ConfigError: data or modules given that differ from the recorded ones, or given to a run that did not
            use them.
    """

    def __init__(self, path: str | Path, *, data=None, val_data=None, test_data=None, encoder=None, decoder=None):
        if (encoder is None) != (decoder is None):
            raise ConfigError("encoder= and decoder=: give both (nn.Module) or neither")
        networks = None if encoder is None else Networks(encoder, decoder)
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(f"path={path!r}: expected a run or packed folder (a str or pathlib.Path)")
        self.dir = open_run(path, networks)
        self.path = self.dir.path
        self.interrupted = False
        self._models: dict = {}
        self._figures: dict = {}
        config = self.dir.load_config()
        if networks is not None:
            if config.get("model") != "custom-vae":
                raise ConfigError(
                    f"encoder= / decoder=: {self.path} is a {config.get('model')} run, with its own networks"
                )
            check_architecture(config.get("networks"), networks)
        self._memory = _given_data(config, data, val_data, test_data)  # holds the images registered in memory
        _warn_missing(self.path, config, self.dir.is_packed, networks is not None)

    def __repr__(self) -> str:
        cfg = self.config
        ev = self.eval_result or {}
        score = f", test NLL {ev['nll']:.2f} (K={ev['k']})" if "nll" in ev else ""
        if "sq_error" in ev:
            score = f", test squared error {ev['sq_error']:.2f}"
        epochs = self.metrics[-1]["epoch"] if self.metrics else 0
        return (
            f"Run({str(self.path)!r}: {cfg['model']} on {cfg['dataset']['name']}, "
            f"z={cfg['model_config'].get('latent_dim')}, {epochs} epochs{score})"
        )

    # what the run is ----------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The run's name (``config.json``'s, else the folder's)."""
        return self.config.get("name") or self.path.name

    @property
    def config(self) -> dict:
        """``config.json`` as a dict (read afresh)."""
        return self.dir.load_config()

    @property
    def metrics(self) -> list[dict]:
        """The ``metrics.jsonl`` records, one per epoch (nats per image)."""
        return self.dir.read_metrics()

    @property
    def eval_result(self) -> dict | None:
        """The last ``eval.json`` (None before ``evaluate``)."""
        return self.dir.read_eval()

    @property
    def packed(self) -> bool:
        """Whether this is a packed model folder."""
        return self.dir.is_packed

    def load_model(self, checkpoint: str = "best", device: str = "cpu"):
        """The model with the weights of checkpoint ``best`` or ``last`` (a packed folder has one set), in eval mode.

        Returns:
            a ``vaelab.models.LatentModel`` (a ``torch.nn.Module``): ``encode(x) -> (mu, logvar)``,
            ``decode(z)``, ``sample(n, generator)``, ``reconstruct(x)``; images ``(N, C, H, W)`` in [0, 1].

        Raises:
            CheckpointError: no or an unreadable checkpoint.
        """
        key = (checkpoint, str(device))
        if key not in self._models:
            self._models[key] = self.dir.load_model(checkpoint, device)
        return self._models[key]

    @property
    def model(self):
        """The model of the best checkpoint on the CPU, in eval mode (``load_model()``; loaded once)."""
        return self.load_model()

    def data(self, split: str = "test", limit: int | None = None):
        """A split of the run's dataset: a ``vaelab.data.ImageDataset`` that unpacks as ``images, labels =
        run.data("test")`` (``images (N, C, H, W)`` float32 in [0, 1], ``labels (N,)`` int64 or None; also
        ``.images``, ``.labels``, ``.info``; ``len()`` is N). The ``train`` split is the run's own training images.

        Raises:
            DatasetError: the data cannot be loaded (for images given from Python: not given again).
        """
        return load_dataset_from_config(self.config["dataset"], split, None, limit)

    # numbers ------------------------------------------------------------------------------------------------
    @keywords_from(EvaluateOptions)
    def evaluate(self, **options) -> dict:
        """The test numbers as a dict, also written to ``eval.json`` (``evaluate_run``; same as ``vaelab
        evaluate``).

        Args:
            k, split, limit, batch_size, checkpoint, seed, data_dir, device, progress, samples: the options of
                ``vaelab evaluate`` (``vaelab.core.commands.EvaluateOptions``; ``evaluate_run`` says what each is).

        Returns:
            A JSON-ready dict: for a probabilistic model ``nll`` and ``nll_stderr`` (nats per image, K = ``k``),
            ``bits_per_dim``, ``nll_vs_k``, ``elbo``, ``kl``, ``active_units``, ``layers``, with ``split``,
            ``binarization``, ``k`` and ``seed``; for a deterministic one the squared error per image and PSNR; with
            ``samples`` > 0 also ``samples`` (Fréchet distance, precision, recall).

        Raises:
            ConfigError: an unknown option, a bad value or an empty split, naming the keyword. CheckpointError,
                DatasetError: as loading the run and its data.
        """
        return evaluate_run(self.dir, **options)

    # pictures -----------------------------------------------------------------------------------------------
    def figures(
        self,
        checkpoint: str = FigureOptions.default("checkpoint"),
        dpi: int = FigureOptions.default("dpi"),
        data_dir=None,
        progress: bool = FigureOptions.default("progress"),
    ):
        """The run's ``vaelab.viz.render.RunFigures`` (cached per checkpoint, dpi, data folder and progress)."""
        from vaelab.viz.render import RunFigures  # import cost: matplotlib and scikit-learn (1.4 s), for figures only

        key = (checkpoint, int(dpi), str(data_dir), bool(progress))
        if key not in self._figures:
            self._figures[key] = RunFigures(self.dir, checkpoint, data_dir, dpi, progress=progress)
        return self._figures[key]

    def plot(
        self,
        kind: str,
        save: str | Path | None = None,
        *,
        checkpoint: str = FigureOptions.default("checkpoint"),
        dpi: int = FigureOptions.default("dpi"),
        progress: bool = FigureOptions.default("progress"),
        **options,
    ):
        """A figure of the run as a matplotlib ``Figure``: the same figure ``vaelab plot RUN KIND`` writes.

        Args:
            kind: ``latent``, ``manifold``, ``interpolate`` (the strip; ``save`` also writes the GIF),
                ``all-pairs``, ``samples-per-epoch``, ``curves``, ``reconstructions``, ``samples``, ``nll-vs-k``.
            save: also write it there (a PNG path; for ``interpolate`` the path without suffix of the GIF and
                PNG), exactly as the command line does.
            checkpoint: ``best`` or ``last``. dpi: resolution of a saved PNG. progress: progress bars, and the
                expected time of a slow step (t-SNE) before it starts.
            **options: the options of the kind, declared in ``vaelab.core.commands.PLOT_KINDS`` (``vaelab plot RUN
                KIND --help`` lists the same ones as flags), e.g. ``size=15``, ``from_digit=0, to_digit=7``,
                ``method="pca"``, ``n=64``, ``seed=1``.

        Returns:
            A ``matplotlib.figure.Figure`` (``vaelab.viz.style.Figure``, shown inline in Jupyter; ``.savefig``
            writes it anywhere).

        Raises:
            ConfigError: an unknown kind or option (with the closest name), a bad value (naming the keyword), or a
                kind the run's data cannot draw (e.g. ``all-pairs`` without labels); ``projector`` (TensorBoard
                files, not a figure).
        """
        if kind not in PLOT_KINDS:
            raise ConfigError(
                f"run.plot: figure kind {kind!r}{suggest(kind, PLOT_KINDS)}; expected one of {list(PLOT_KINDS)}"
            )
        figs = self.figures(checkpoint, dpi, progress=progress)
        out = Path(save) if save is not None else None
        return figs.render(kind, out=out, write=save is not None, **options)["figure"]

    def sample(self, n: int = SampleOptions.default("n"), seed: int = SampleOptions.default("seed")):
        """``n`` images decoded from the prior, ``(n, C, H, W)`` in [0, 1] (a seeded CPU generator; as ``vaelab
        sample``; ``vaelab.core.commands.SampleOptions``).

        Raises:
            ConfigError: n < 1, a seed that is not an integer, or more images than fit in memory, naming the keyword.
        """
        import torch

        from vaelab.viz.gallery import check_samples_fit  # import cost: the figures' modules, for a sample only

        o = SampleOptions.from_dict({"n": n, "seed": seed}, "run.sample: ")
        check_samples_fit(self.model, o.n)
        with torch.no_grad():
            return self.model.sample(o.n, generator=torch.Generator().manual_seed(o.seed))

    def encode(self, x):
        """The posterior of images ``x``, checked first: ``(mu, logvar)``, each ``(N, D)`` float32 on the CPU
        (``logvar`` is None for a deterministic model: an autoencoder or PCA). ``run.model.encode`` is the raw
        ``nn.Module`` method, for float tensors of the right shape on the model's device.

        Args:
            x: images as ``vaelab.train(data=...)`` takes them: a tensor or numpy array ``(N, C, H, W)`` or
                ``(N, H, W)``, float in [0, 1] or uint8 (0..255), of this model's ``(C, H, W)``.

        Raises:
            ConfigError: anything else, in one line naming ``x`` and what this model takes.
        """
        import torch

        model = self.model
        images = memory.images_from(x, "x")[0]
        if tuple(images.shape[1:]) != model.image_shape:
            raise ConfigError(
                f"x=: images of shape {tuple(images.shape[1:])}; this model takes (N, *{model.image_shape}) (C, H, W)"
            )
        with torch.no_grad():
            mu, logvar = model.encode(images.to(model.device))
        return mu.cpu(), None if logvar is None else logvar.cpu()

    def decode(self, z):
        """Pixel means ``(N, C, H, W)`` in [0, 1] of latent codes ``z``, checked first (``run.model.decode`` is the
        raw ``nn.Module`` method).

        Args:
            z: a float tensor or numpy array ``(N, D)`` (or ``(D,)``: one code) of this model's latent size D.

        Raises:
            ConfigError: another shape or type, or values that are not finite, naming ``z``.
        """
        import numpy as np
        import torch

        model, d = self.model, self.model.latent_dim
        if isinstance(z, np.ndarray) and z.dtype.kind in "fiu":
            z = torch.from_numpy(np.asarray(z, dtype=np.float32))
        if not isinstance(z, torch.Tensor) or not (z.is_floating_point() or z.dtype in (torch.int32, torch.int64)):
            raise ConfigError(f"z=: got {type(z).__name__}; expected a float tensor (N, {d}) of latent codes")
        z = z.detach().float().cpu()
        z = z[None] if z.ndim == 1 else z
        if z.ndim != 2 or z.shape[1] != d or len(z) == 0:
            raise ConfigError(f"z=: shape {tuple(z.shape)}; expected (N, {d}): this model's latent size is {d}")
        if not torch.isfinite(z).all():
            raise ConfigError("z=: holds NaN or infinite values; expected finite latent codes")
        with torch.no_grad():
            return model.decode(z.to(model.device)).cpu()

    def report(self, out: str | Path | None = None, **kwargs) -> Path:
        """Write the run's HTML report (``vaelab report``) and return its path.

        Args:
            out: the HTML path (default ``RUN/report.html``). **kwargs: ``reuse``, ``latent_n`` of
                ``vaelab.viz.report.write_report``.
        """
        from vaelab.viz.report import write_report  # import cost: matplotlib and jinja2, for a report only

        return write_report(self.figures(), out, **kwargs)

    # sharing ------------------------------------------------------------------------------------------------
    @keywords_from(ExportOptions)
    def export(self, **options) -> dict:
        """ONNX encoder and decoder (checked with onnxruntime) and the test codes into ``RUN/export/``, as
        ``vaelab export`` (options: ``vaelab.core.commands.ExportOptions``: ``checkpoint``, ``n_codes``,
        ``data_dir``); returns ``meta.json`` as a dict."""
        o = ExportOptions.from_dict(options, "run.export: ")
        return export_run(self.dir, o.checkpoint, o.data_dir, o.n_codes)

    def pack(
        self,
        out: str | Path,
        checkpoint: str = PackOptions.default("checkpoint"),
        license: str | None = PackOptions.default("license"),
    ) -> Run:
        """Pack the run to share it (``vaelab pack``): ``model.safetensors``, ``config.json`` and a model card in
        the Hugging Face Hub's format in ``out``; returns the packed folder as a ``Run``
        (``vaelab.runs.packed.pack_run``; ``license``: a Hub licence id, default the training data's terms where
        known)."""

        o = PackOptions.from_dict({"checkpoint": checkpoint, "license": license}, "run.pack: ")
        nets = self.dir.networks
        modules = {} if nets is None else {"encoder": nets.encoder, "decoder": nets.decoder}
        return Run(pack_run(self.dir, out, o.checkpoint, o.license), **modules)

    def push(
        self,
        repo_id: str,
        *,
        license: str | None = PackOptions.default("license"),
        checkpoint: str = PackOptions.default("checkpoint"),
        private: bool | None = None,
        token: str | bool | None = None,
        commit_message: str | None = None,
        revision: str | None = None,
    ) -> str:
        """Upload the model to the Hugging Face Hub repository ``repo_id`` (``vaelab push``): a packed folder as
        it is, a run packed first into a temporary folder (``pack``, with ``checkpoint`` and ``license``); through
        ``huggingface_hub`` (``vaelab.export.hub.upload``: ``create_repo``, then ``upload_folder``).

        Returns:
            The commit's URL.

        Raises:
            ConfigError: a malformed ``repo_id``, an unknown licence, ``license`` given for a packed folder (its
                card states one: repack to change it). CheckpointError: the Hub is switched off, unreachable or
                refuses the upload. As ``pack``.
        """
        import tempfile

        check_repo_id(repo_id)
        options = {"private": private, "token": token, "commit_message": commit_message, "revision": revision}
        if self.packed:
            if license is not None:
                raise ConfigError(
                    f"{option('license', license)}: {self.path} is a packed folder whose card states its licence; "
                    f"pack the run again with {option('license')} to change it"
                )
            return upload(self.path, repo_id, **options)
        with tempfile.TemporaryDirectory(prefix="vaelab-push-") as tmp:
            packed = self.pack(Path(tmp) / self.name, checkpoint, license)
            return upload(packed.path, repo_id, **options)

    def explore(
        self,
        port: int = 0,
        host: str = ExploreOptions.default("host"),
        export: bool | None = None,
        open_browser: bool = ExploreOptions.default("open"),
    ):
        """Build the explorer site (exporting first if needed) and serve it in a background thread.

        Args:
            port: the TCP port (here 0 by default: a free one, as a notebook may serve several runs; ``vaelab
                explore``: 8000). host: the address to bind (loopback by default).
            export: True re-exports the run; None exports when ``RUN/export`` is missing or stale.
            open_browser: open the page in the default web browser (``vaelab explore --open``).

        Returns:
            An ``Explorer`` (``url``, ``stop()``, ``wait()``).

        Raises:
            ConfigError: a port outside 0..65535 or one that cannot be bound. ExportError: as ``vaelab explore``.
        """
        ExploreOptions.from_dict({"port": port, "host": host, "open": open_browser}, "run.explore: ")
        site = build_site(self.dir, export=export, log=lambda *_: None)
        try:
            server = make_server(site, host, port)
        except OSError as exc:
            raise ConfigError(f"port {port} on {host}: cannot listen there ({exc.strerror or exc})") from exc
        page = Explorer(site, server)
        if open_browser:
            import webbrowser

            webbrowser.open(page.url)
        return page


__all__ = ["Explorer", "Run", "evaluate_run", "load", "load_run", "train"]
