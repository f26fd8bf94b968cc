"""One typed configuration of a run: the model family and its options, training, data, and the run's name.

Every option is declared once, as a field of a typed class (``vaelab.core.options.Options``):

* ``TrainConfig`` and ``DataConfig`` below, and each model family's config class (``vaelab.models``), whose
  fields are that family's options;
* ``RunSpec`` bundles them for one run; ``config.json`` is ``RunSpec.to_config()``, and ``RunSpec.from_config``
  reads it back with the same checks.

Options come from a TOML file (``load_toml``; tables ``[model]``, ``[train]``, ``[data]`` or flat keys) overridden
by command-line flags (``resolve``). Errors name the flag (``--epochs``) or the TOML key (``c.toml: [train]
epochs``), whichever the bad value came from.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from vaelab.core.device import environment_info
from vaelab.core.errors import ConfigError
from vaelab.core.naming import flag_style, option, options
from vaelab.core.options import (
    Bool,
    NonNegativeFloat,
    NonNegativeInt,
    Options,
    PositiveFloat,
    PositiveInt,
    Seed,
    Str,
    describe_errors,
)
from vaelab.core.suggest import suggest
from vaelab.data import DATASET_NAMES, check_dataset_name, dataset_image_shape, dataset_label, takes_image_size
from vaelab.models.base import ModelConfig
from vaelab.models.registry import MODELS, model_names

RUN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")
CONFIG_FORMAT = 2  # version of config.json's layout


class TrainConfig(Options):
    """How a model is trained (each field's meaning is the docstring under it)."""

    epochs: PositiveInt = 10
    """passes over the training split"""
    batch_size: PositiveInt = 128
    """images per Adam step"""
    lr: PositiveFloat = 1e-3
    """Adam's learning rate"""
    seed: Seed = 0
    """seeds the run's one generator (permutations, binarization, noise) and the initial weights"""
    binarize: Literal["dynamic", "static", "none"] | None = None
    """dynamic (a fresh Bernoulli sample per batch), static (one fixed sample) or none (grey pixels);
    default: dynamic for Bernoulli models, none otherwise"""
    device: Str = "auto"
    """auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps"""
    samples_per_epoch: NonNegativeInt = 10
    """images decoded from fixed prior noise at each epoch end (epoch_samples.npy)"""
    progress: Bool = True
    """progress bars and one line per epoch on stderr"""
    shuffle: Bool = True
    """visit the training images in a new seeded random order every epoch; false: in their stored order every epoch
    (Burda et al.'s code)"""

    # optimisation (vaelab.training.schedules): the learning rate and beta are set at the start of every epoch
    lr_schedule: Literal["constant", "step", "exponential", "cosine", "burda"] = "constant"
    """learning-rate schedule per epoch: constant; step (x lr_gamma every lr_step_size epochs); exponential (x lr_gamma
    per epoch); cosine (from lr to lr_min over the epochs after the warm-up); burda (Burda et al. 2015: stage i = 0..7
    lasts 3^i epochs at lr x round(10^(1 - i/7), 1) / 10, i.e. 1e-3 ... 1e-4 for lr = 1e-3; 3,280 epochs)"""
    warmup_epochs: NonNegativeInt = 0
    """linear learning-rate warm-up: epoch e < warmup_epochs runs at (e + 1) / warmup_epochs of the schedule's rate"""
    lr_step_size: PositiveInt = 30
    """step schedule: epochs between decays"""
    lr_gamma: PositiveFloat = 0.1
    """step / exponential schedules: the decay factor"""
    lr_min: NonNegativeFloat = 0.0
    """cosine schedule: the final learning rate"""
    kl_warmup_epochs: NonNegativeInt = 0
    """KL warm-up (Bowman et al. 2016; Sonderby et al. 2016): beta rises linearly from 0 at epoch 1 to its value at
    epoch kl_warmup_epochs + 1 (0: off)"""
    early_stopping_patience: PositiveInt | None = None
    """stop when the validation score (ELBO, else minus the loss) has not improved for this many epochs (best.pt
    keeps the best epoch); default: off"""
    grad_clip: PositiveFloat | None = None
    """clip the gradient's global L2 norm to this value before each step; default: off"""
    optimizer: Literal["adam", "burda-adam"] = "adam"
    """adam (PyTorch's Adam on the minibatch's mean loss) or burda-adam (the Adam of Burda et al.'s published code:
    second moment started at ones, the update made with the previous step's moments, the gradient of the
    minibatch's summed loss; vaelab.training.optimizers)"""
    adam_beta1: Annotated[float, Field(strict=True, ge=0, lt=1)] = 0.9
    """Adam's beta1 (Burda et al.'s code uses 0.99)"""
    adam_beta2: Annotated[float, Field(strict=True, ge=0, lt=1)] = 0.999
    """Adam's beta2"""
    adam_eps: PositiveFloat = 1e-8
    """Adam's epsilon (Burda et al. used 1e-4)"""
    precision: Literal["fp32", "bf16"] = "fp32"
    """bf16: run the forward pass under bfloat16 autocast (for GPUs; weights, Adam and the loss sums stay float32)"""
    compile: Literal["off", "default", "reduce-overhead"] = "off"
    """torch.compile the model for the training steps; reduce-overhead also captures CUDA graphs (small batches on
    a GPU, where launching kernels costs more than the arithmetic)"""
    backward: Literal["autograd", "manual"] = "autograd"
    """how the gradients are computed: autograd (PyTorch's) or manual (written out by hand for the MLP vae with k = 1,
    the elbo objective, the standard prior, a Bernoulli decoder and a tanh, sigmoid or relu activation: faster steps
    on a CPU at small batches, equal to autograd's up to float32 rounding; vaelab.models.manual_grad)"""
    checkpoint_every: PositiveFloat | None = None
    """minutes: also write checkpoints/last.pt mid-epoch once this much time has passed since the last one, so that
    a kill -9 loses at most that much work on long epochs; default: only at epoch ends and on a stop signal"""
    dist_timeout: PositiveInt = 120
    """torchrun only: seconds a process waits for the others at a collective before it stops with an error"""


def _image_size(value):
    """``"HxW"`` (a flag or TOML string) -> ``(H, W)``; lists and tuples pass through to the tuple check."""
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value)
        if not m or int(m[1]) < 1 or int(m[2]) < 1:
            raise PydanticCustomError("image_size", "expected HxW: height and width in pixels >= 1, e.g. 28x28")
        return (int(m[1]), int(m[2]))
    return value


ImageSize = Annotated[tuple[PositiveInt, PositiveInt], BeforeValidator(_image_size)]
"""An image size ``(H, W)`` in pixels, written ``HxW`` on the command line (``--image-size 64x48``)."""


class DataConfig(Options):
    """Which images a run trains on."""

    dataset: Str = "mnist"
    """mnist, fashion-mnist, frey-face, olivetti-faces, sklearn-digits, emoji, emoji-faces (and -twitter / -google),
    celeba, or folder:PATH (your images; sub-folders = classes); see the datasets guide"""
    val_size: NonNegativeInt | None = None
    """validation images carved from the end of the training split (default: the dataset's, 10,000 for MNIST)"""
    limit: PositiveInt | None = None
    """train on the first N training images only"""
    data_dir: Str | None = None
    """folder holding <dataset>/<files>, searched before $VAELAB_DATA and the cache"""
    image_size: ImageSize | None = None
    """folder:PATH, emoji* and celeba: resize every image to HxW pixels, e.g. 32x32 (default: a folder's first
    image's size, 64x64 for emoji and celeba)"""
    image_channels: Literal[1, 3] | None = None
    """folder:PATH only: 1 (grey) or 3 (RGB) channels (default: the first image's)"""
    skip_bad_images: Bool = False
    """folder:PATH only: leave out files that are not readable images (listed in config.json) instead of failing"""
    strict_data: Bool = False
    """folder:PATH only: refuse a folder with a symbolic-link loop or unreadable files or folders (default: warn in
    one line, follow each folder once and leave unreadable files out)"""

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        try:
            return check_dataset_name(value)
        except ConfigError:
            raise PydanticCustomError(
                "dataset_name",
                "expected one of {names} or folder:PATH (a folder of images){hint}",
                {"names": ", ".join(DATASET_NAMES), "hint": suggest(value, DATASET_NAMES)},
            ) from None

    @property
    def is_folder(self) -> bool:
        """Whether the dataset is a folder of images (``folder:PATH``)."""
        return self.dataset.startswith("folder:")

    def check(self) -> None:
        if not self.is_folder:
            keys = ("image_channels", "skip_bad_images", "strict_data")
            keys = keys if takes_image_size(self.dataset) else ("image_size", *keys)
            given = [k for k in keys if getattr(self, k) not in (None, False)]
            if given:
                raise ConfigError(
                    f"{options(*given)}: only for {option('dataset', 'folder:PATH')} (a folder of images); not an "
                    f"option of {self.dataset}"
                )

    def loader_options(self) -> dict:
        """The keyword arguments of ``vaelab.data.load_dataset`` for the image size and a folder's channels, bad
        files and strictness."""
        size = self.image_size
        return {
            "image_size": None if size is None else tuple(size),
            "channels": self.image_channels,
            "skip_bad_images": self.skip_bad_images,
            "strict_data": self.strict_data,
        }

    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the dataset's images (a folder's from the options, else from its first image).

        Raises:
            ConfigError: a missing or empty folder. DatasetError: its first file is not a readable image.
        """
        return dataset_image_shape(
            self.dataset, self.image_size, self.image_channels, self.skip_bad_images, self.strict_data
        )


# options that may change when a run is resumed; everything else is fixed by the run's config.json
RESUMABLE_OPTIONS = (
    "epochs",
    "device",
    "progress",
    "data_dir",
    "dist_timeout",
    "precision",
    "compile",
    "backward",
    "checkpoint_every",
)


def patience_exhausted(patience: int | None, epochs_done: int, best_epoch: int) -> bool:
    """The early-stopping rule: ``patience`` epochs (``early_stopping_patience``; None: never) have passed since the
    best epoch. ``epochs_done`` and ``best_epoch`` count epochs from 1 (as ``metrics.jsonl`` does)."""
    return patience is not None and epochs_done - best_epoch >= patience


def check_run_name(name: str) -> str:
    """Return ``name`` if it is one path component of safe characters, else raise ``ConfigError``.

    A run name is letters, digits, ``-``, ``_`` and ``.``, does not start with a dot, and has at most 100
    characters, so that ``runs/<name>`` always stays inside the runs folder.
    """
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name):
        raise ConfigError(
            f"{option('name', name)}: expected 1-100 letters, digits, '-', '_' or '.', not starting with '.' "
            f"(one folder name inside {option('runs_dir')})"
        )
    return name


@dataclass
class RunSpec:
    """Everything that defines a run: its name, model family and options, training and data configuration."""

    name: str
    model: str
    model_config: ModelConfig
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)

    def to_config(self, n_train: int | None = None, n_val: int | None = None, data_info: dict | None = None) -> dict:
        """The run's ``config.json``: every option, the dataset sizes, the machine and versions.

        Args:
            n_train, n_val: the sizes of the training and validation splits.
            data_info: what the data loader reports beyond the options (``ImageDataset.info``: a folder's class
                names, file-list hash and skipped files), recorded in the ``dataset`` section.
        """
        data = self.data.to_dict()
        dataset = {
            "name": data.pop("dataset"),
            **data,
            "n_train": n_train,
            "n_val": n_val,
        }
        dataset.update({k: v for k, v in (data_info or {}).items() if k != "cached"})
        return {
            "format": CONFIG_FORMAT,
            "name": self.name,
            "model": self.model,
            "model_config": self.model_config.to_dict(),
            "train": self.train.to_dict(),
            "dataset": dataset,
            "environment": environment_info(self.train.device),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    @classmethod
    def from_config(cls, config: dict, path: Path | str = "config.json") -> RunSpec:
        """Read a run's ``config.json`` (as a dict) back into a checked ``RunSpec``.

        Raises:
            ConfigError: a missing section or an option of the wrong type, naming ``path``.
        """
        where = f"{path}: "
        try:
            model, model_cfg, train_cfg, ds = (
                config["model"],
                config["model_config"],
                config["train"],
                config["dataset"],
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"{where}missing section {exc}; expected model, model_config, train, dataset") from exc
        if model not in MODELS:
            raise ConfigError(f"{where}model {model!r}: expected one of {model_names()}")
        data = {"dataset": ds.get("name")}
        data.update({k: ds[k] for k in DataConfig.model_fields if k != "dataset" and ds.get(k) is not None})
        return cls(
            name=str(config.get("name") or Path(path).parent.name),
            model=model,
            model_config=MODELS[model][0].from_dict(model_cfg, where=f"{where}[model_config] "),
            train=TrainConfig.from_dict(train_cfg, where=f"{where}[train] "),
            data=DataConfig.from_dict(data, where=f"{where}[dataset] "),
        )


# TOML ------------------------------------------------------------------------------------------------------
def load_toml(path: Path) -> dict:
    """Read a TOML configuration file.

    Raises:
        ConfigError: the file is missing, unreadable or not valid TOML (naming the file).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{option('config', str(path))}: file not found") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{option('config', str(path))}: is a directory; expected a TOML file") from exc
    except PermissionError as exc:
        raise ConfigError(f"{option('config', str(path))}: permission denied") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{option('config', str(path))}: not valid TOML (not UTF-8 text)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{option('config', str(path))}: not valid TOML ({exc})") from exc


SECTIONS = ("model", "train", "data")


def split_toml(doc: dict, path: Path, family: str | None) -> tuple[str | None, str | None, dict[str, dict]]:
    """Sort a TOML document into ``(name, family, {"model": {...}, "train": {...}, "data": {...}})``.

    Tables ``[model]`` (with ``family = "vae"`` optionally), ``[train]``, ``[data]``; a top-level ``name``; flat
    keys (no tables) are sorted by which configuration declares them (a flat ``model = "vae"`` names the family).

    Raises:
        ConfigError: an unknown table or key, naming the file.
    """
    sections: dict[str, dict] = {s: {} for s in SECTIONS}
    name = doc.get("name")
    for key, value in doc.items():
        if key == "name":
            continue
        if isinstance(value, dict):
            if key not in SECTIONS:
                raise ConfigError(f"{path}: unknown table [{key}]; expected [model], [train] or [data]")
            sections[key].update(value)
        elif key == "model":
            family = family or value
        else:  # a flat key
            sections[_section_of(key, path)][key] = value
    file_family = sections["model"].pop("family", None)
    if file_family is not None and not isinstance(file_family, str):
        raise ConfigError(f"{path}: [model] family = {file_family!r}: expected one of {model_names()}")
    return name, family or file_family, sections


def _section_of(key: str, path: Path) -> str:
    if key in TrainConfig.model_fields:
        return "train"
    if key in DataConfig.model_fields:
        return "data"
    if any(key in cfg.model_fields for cfg, _ in MODELS.values()):
        return "model"
    raise ConfigError(f"{path}: unknown option {key!r}; see `vaelab train --help` for the options")


# resolution ------------------------------------------------------------------------------------------------
@dataclass
class Sources:
    """Where each option's value came from, to name it in an error: a flag or a key of a TOML file."""

    path: Path | None = None
    flags: set[str] = field(default_factory=set)

    def names(self, section: str, keys) -> dict[str, str]:
        out = {}
        for key in keys:
            if key in self.flags:  # a flag, or a Python keyword (``name=value`` by default)
                out[key] = option(key) if flag_style() else key
            elif self.path is not None:
                out[key] = f"{self.path}: [{section}] {key}"
        return out


def validate_section(cls: type[Options], section: str, values: dict, sources: Sources) -> Options:
    """Validate one section's merged options into ``cls``, naming offending options by their source."""
    from pydantic import ValidationError

    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(describe_errors(cls, exc, sources.names(section, values))) from exc


def _model_section(family: str, values: dict, image_shape: tuple, sources: Sources):
    """The family's checked model configuration: options of other families, fixed options given another value and
    options that do not apply (``OnlyWhen``) are refused, each named by its source."""
    config_cls = MODELS[family][0]
    foreign = [k for k in values if k not in config_cls.model_fields or k == "image_shape"]
    if foreign:
        key = foreign[0]
        owners = [n for n, (c, _) in MODELS.items() if key in c.model_fields and key != "image_shape"]
        label = option(key) if key in sources.flags else sources.names("model", [key]).get(key, key)
        hint = f"; it belongs to {option('model')} {', '.join(owners)}" if owners else ""
        raise ConfigError(f"{label}: not an option of {option('model', family)}{hint}")
    owner = option("model", family)
    for key, why in config_cls.fixed_options(values, owner):  # refused, not ignored
        label = option(key) if key in sources.flags else sources.names("model", [key]).get(key, key)
        raise ConfigError(f"{label}: {why}")
    model_config = validate_section(config_cls, "model", {**values, "image_shape": image_shape}, sources)
    for key, why in model_config.inapplicable(values):
        raise ConfigError(f"{sources.names('model', [key]).get(key, key)}: {why}")
    return model_config


def resolve(
    family: str | None,
    name: str | None,
    model_flags: dict,
    train_flags: dict,
    data_flags: dict,
    config_path: Path | None = None,
    image_shape: tuple[int, int, int] | None = None,
    config_doc: dict | None = None,
) -> RunSpec:
    """Merge a TOML file (if any) and command-line flags (which win) into one checked ``RunSpec``.

    Args:
        family: ``--model`` (None: the file's, else ``vae``).
        name: ``--name`` (None: the file's, else ``<model>-<dataset>-z<D>``).
        model_flags, train_flags, data_flags: options given as flags (only those given).
        config_path: ``--config``.
        config_doc: the TOML document already parsed (e.g. a recipe with its own tables removed); read instead
            of ``config_path``, which then only names the source in errors.
        image_shape: the dataset's (C, H, W); None takes it from the data options (``DataConfig.image_shape``:
            the catalogue's, or a folder's ``image_size`` / ``image_channels``, else its first image's).

    Raises:
        ConfigError: an unknown family, option or table; a wrong type or range; an option that the chosen
            model family does not have (naming the families that do); a missing or empty image folder.
        DatasetError: the first file of an image folder is not a readable image.
    """
    sections: dict[str, dict] = {s: {} for s in SECTIONS}
    sources = Sources(path=config_path, flags=set(model_flags) | set(train_flags) | set(data_flags))
    file_name = None
    if config_path is not None or config_doc is not None:
        doc = load_toml(config_path) if config_doc is None else config_doc
        file_name, family, sections = split_toml(doc, config_path or Path("<config>"), family)
    family = family or "vae"
    if family not in MODELS:
        raise ConfigError(f"{option('model', family)}: expected one of {model_names()}{suggest(family, model_names())}")
    sections["model"].update(model_flags)
    sections["train"] = {**MODELS[family][1].train_defaults, **sections["train"], **train_flags}
    sections["data"].update(data_flags)
    data = validate_section(DataConfig, "data", sections["data"], sources)
    if image_shape is None:
        image_shape = data.image_shape()
        if data.is_folder:  # record the decoded size in config.json: later loads decode to exactly this
            data.image_size, data.image_channels = (image_shape[1], image_shape[2]), image_shape[0]
    model_config = _model_section(family, sections["model"], image_shape, sources)
    train = validate_section(TrainConfig, "train", sections["train"], sources)
    if name is None:
        name = file_name or f"{family}-{dataset_label(data.dataset)}-z{getattr(model_config, 'latent_dim', 'd')}"
    return RunSpec(check_run_name(name), family, model_config, train, data)
