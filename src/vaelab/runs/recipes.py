"""Named recipes: a paper's training protocol as a TOML file under ``configs/recipes/``, run by ``vaelab reproduce``.

A recipe file is an ordinary vaelab configuration (tables ``[model]`` with ``family``, ``[train]``, ``[data]``, as
``vaelab train --config`` reads) plus one table of its own, ``[recipe]``, which says what the run reproduces::

    [recipe]
    paper = "Burda, Grosse & Salakhutdinov, Importance Weighted Autoencoders, ICLR 2016"
    cite = "Burda et al. 2016"  # optional: the short form for tables
    table = "Table 1, MNIST, 1 stochastic layer, VAE, k = 1"
    paper_nll = 86.76          # the paper's test NLL, nats per image
    paper_k = 5000             # importance samples behind the paper's number
    eval_k = 5000              # importance samples vaelab's evaluation uses
    paper_active_units = "19"  # optional
    checkpoint = "last"        # optional: which parameters the protocol tests, "last" (default) or "best"
                               # (the epoch of the best validation ELBO, as protocols with early stopping do)
    deviations = ["...", ...]  # what vaelab does differently from the paper, each one sentence

``load_recipe`` splits the ``[recipe]`` table off; ``recipe_spec`` hands the rest to the normal loader
(``vaelab.runs.spec.resolve``). Training options a recipe names that this vaelab's ``TrainConfig`` does not have
yet (learning-rate schedules, Adam's betas, ... ``PENDING_TRAIN_OPTIONS``) are left out and returned, so the run
can say which parts of the protocol it did not apply, instead of failing.

Recipes are looked for in ``--recipes DIR``, then ``$VAELAB_RECIPES``, then ``configs/recipes`` of the source
checkout vaelab runs from, then ``./configs/recipes``.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from vaelab.core.errors import ConfigError
from vaelab.core.suggest import suggest
from vaelab.models.registry import MODELS
from vaelab.runs.spec import RunSpec, TrainConfig, load_toml, resolve

RECIPE_TABLE = "recipe"
# TrainConfig options that the paper protocols need and that are being added to TrainConfig (the trainer's
# branch); until they exist, a recipe's values for them are reported as not applied.
PENDING_TRAIN_OPTIONS = (
    "lr_schedule",
    "warmup_epochs",
    "lr_step_size",
    "lr_gamma",
    "lr_min",
    "kl_warmup_epochs",
    "early_stopping_patience",
    "grad_clip",
    "adam_beta1",
    "adam_beta2",
    "adam_eps",
)
REQUIRED_KEYS = ("paper", "table", "paper_nll", "paper_k")
CHECKPOINTS = ("last", "best")  # [recipe] checkpoint: the parameters a protocol tests


@dataclass
class Recipe:
    """One recipe file (module docstring).

    Attributes:
        name: the file's stem, e.g. ``burda-vae-1layer-k1``.
        path: the TOML file.
        paper: the citation; cite: its short form (default ``paper``); table: which row of which table;
            paper_nll: the paper's test NLL (nats per image); paper_k: the importance samples behind it;
            eval_k: vaelab's evaluation K.
        deviations: what vaelab does differently from the paper's protocol (sentences).
        paper_active_units: the paper's active units, as it states them (or None).
        checkpoint: the parameters the protocol tests: ``"last"`` (after the last epoch) or ``"best"`` (those of
            the epoch with the best validation ELBO, the run's ``checkpoints/best.pt``).
        doc: the rest of the TOML document (``[model]``, ``[train]``, ``[data]``).
    """

    name: str
    path: Path
    paper: str
    table: str
    paper_nll: float
    paper_k: int
    eval_k: int
    deviations: list[str] = field(default_factory=list)
    paper_active_units: str | None = None
    doc: dict = field(default_factory=dict)
    cite: str = ""
    checkpoint: str = "last"

    @property
    def epochs(self) -> int:
        """The protocol's number of epochs (passes over the training images)."""
        return int(self.doc.get("train", {}).get("epochs", TrainConfig().epochs))


def recipes_dir(explicit: str | Path | None = None) -> Path:
    """The folder of recipe files (module docstring for the search order).

    Raises:
        ConfigError: ``explicit`` (``--recipes``) or ``$VAELAB_RECIPES`` is not a folder, or none is found.
    """
    if explicit is not None:
        path = Path(explicit)
        if not path.is_dir():
            raise ConfigError(f"--recipes {path}: not a folder of recipe files")
        return path
    env = os.environ.get("VAELAB_RECIPES")
    if env:
        if not Path(env).is_dir():
            raise ConfigError(f"$VAELAB_RECIPES={env}: not a folder of recipe files")
        return Path(env)
    for candidate in (Path(__file__).resolve().parents[3] / "configs" / "recipes", Path("configs") / "recipes"):
        if candidate.is_dir():
            return candidate
    raise ConfigError(
        "no recipes folder found: pass --recipes DIR or set $VAELAB_RECIPES to the folder holding "
        "configs/recipes/*.toml of the vaelab source"
    )


def parse_recipe(doc: dict, path: Path) -> Recipe:
    """A ``Recipe`` from a parsed recipe file ``doc`` (read from ``path``).

    Raises:
        ConfigError: no ``[recipe]`` table, or a missing or mistyped key of it (naming the file and key).
    """
    doc = copy.deepcopy(doc)
    meta = doc.pop(RECIPE_TABLE, None)
    if not isinstance(meta, dict):
        raise ConfigError(f"{path}: no [{RECIPE_TABLE}] table; a recipe says which paper and number it reproduces")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise ConfigError(f"{path}: [{RECIPE_TABLE}] {missing[0]}: missing; expected {', '.join(REQUIRED_KEYS)}")
    try:
        paper_nll = float(meta["paper_nll"])
        paper_k, eval_k = int(meta["paper_k"]), int(meta.get("eval_k", meta["paper_k"]))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: [{RECIPE_TABLE}] paper_nll / paper_k / eval_k: expected numbers ({exc})") from exc
    if not math.isfinite(paper_nll) or paper_k < 1 or eval_k < 1:
        raise ConfigError(f"{path}: [{RECIPE_TABLE}]: expected a finite paper_nll and paper_k, eval_k >= 1")
    deviations = meta.get("deviations", [])
    if not isinstance(deviations, list) or not all(isinstance(d, str) for d in deviations):
        raise ConfigError(f"{path}: [{RECIPE_TABLE}] deviations: expected a list of strings")
    units = meta.get("paper_active_units")
    checkpoint = meta.get("checkpoint", "last")
    if checkpoint not in CHECKPOINTS:
        raise ConfigError(f"{path}: [{RECIPE_TABLE}] checkpoint = {checkpoint!r}: expected 'last' or 'best'")
    return Recipe(
        name=path.stem,
        path=path,
        paper=str(meta["paper"]),
        table=str(meta["table"]),
        paper_nll=paper_nll,
        paper_k=paper_k,
        eval_k=eval_k,
        deviations=list(deviations),
        paper_active_units=None if units is None else str(units),
        doc=doc,
        cite=str(meta.get("cite") or meta["paper"]),
        checkpoint=checkpoint,
    )


def list_recipes(folder: str | Path | None = None) -> list[Recipe]:
    """Every recipe of the folder (``recipes_dir``), sorted by name.

    Raises:
        ConfigError: a recipe file that is not valid TOML or lacks its ``[recipe]`` table.
    """
    folder = recipes_dir(folder)
    return [parse_recipe(load_toml(p), p) for p in sorted(folder.glob("*.toml"))]


def load_recipe(name: str, folder: str | Path | None = None) -> Recipe:
    """The recipe ``name`` (a file stem of the recipes folder).

    Raises:
        ConfigError: no such recipe (naming the ones there are), or a bad recipe file.
    """
    folder = recipes_dir(folder)
    path = folder / f"{name}.toml"
    if not name or "/" in name or not path.is_file():
        stems = [p.stem for p in sorted(folder.glob("*.toml"))]
        hint = suggest(name, stems)
        known = "" if hint else f"; expected one of: {', '.join(stems)}"
        raise ConfigError(f"recipe {name!r}: no such recipe{hint}{known} (see vaelab reproduce --list)")
    return parse_recipe(load_toml(path), path)


def recipe_spec(
    recipe: Recipe,
    name: str | None = None,
    train_flags: dict | None = None,
    data_flags: dict | None = None,
) -> tuple[RunSpec, dict]:
    """The checked ``RunSpec`` of a recipe, with flags (e.g. ``epochs``, ``device``, ``data_dir``) overriding it.

    Args:
        recipe: the recipe. name: the run's name (default: the recipe's).
        train_flags, data_flags: options that override the recipe's (as ``vaelab train`` flags do).

    Returns:
        ``(spec, not_applied)``: ``not_applied`` maps each ``[train]`` option of the recipe that this vaelab's
        ``TrainConfig`` does not have (``PENDING_TRAIN_OPTIONS``) to the recipe's value.

    Raises:
        ConfigError: an unknown option (other than the pending ones) or a bad value, naming the recipe file.
    """
    doc = copy.deepcopy(recipe.doc)
    train = doc.get("train", {})
    not_applied = {
        k: train.pop(k) for k in list(train) if k in PENDING_TRAIN_OPTIONS and k not in TrainConfig.model_fields
    }
    spec = resolve(
        None,
        name or recipe.name,
        {},
        dict(train_flags or {}),
        dict(data_flags or {}),
        config_path=recipe.path,
        config_doc=doc,
    )
    return spec, not_applied


ABSENT = "<absent>"
RUN_SET_OPTIONS = ("epochs", "device", "progress", "data_dir", "limit")  # set per run by flags, reported apart


def unapplied_options(recipe: Recipe, config: dict) -> dict[str, tuple]:
    """The recipe's ``[model]`` / ``[train]`` / ``[data]`` options that a run's ``config.json`` does not hold with
    the recipe's value: ``{option: (recipe value, the run's value or ABSENT)}``.

    Comparing with the run's own configuration (not with this vaelab's options) stays right for a run trained by an
    older vaelab and resumed or evaluated by a newer one. Options set per run by flags (``RUN_SET_OPTIONS``:
    epochs, device, ...) are left out; the caller reports those. An option absent from an older run's
    configuration counts as applied when the recipe asks for its default (the behaviour the option was added
    with, e.g. ``lr_schedule = "constant"``, ``init = "pytorch"``).
    """
    family = recipe.doc.get("model", {}).get("family", config.get("model"))
    model_fields = MODELS[family][0].model_fields if family in MODELS else {}
    sections = {
        "model": (config.get("model_config", {}), model_fields),
        "train": (config.get("train", {}), TrainConfig.model_fields),
        "data": (config.get("dataset", {}), {}),
    }
    out = {}
    for section, (held, fields) in sections.items():
        for key, value in recipe.doc.get(section, {}).items():
            if key in RUN_SET_OPTIONS:
                continue
            if (section, key) == ("model", "family"):
                got = config.get("model", ABSENT)
            else:
                got = held.get("name" if (section, key) == ("data", "dataset") else key, ABSENT)
            if isinstance(got, list | tuple) and isinstance(value, list | tuple):
                got, value = list(got), list(value)
            default = fields[key].default if key in fields else ABSENT
            if got == ABSENT and value == default:
                continue  # an older vaelab without the option behaved as its default does
            if got != value:
                out[key] = (value, got)
    return out
