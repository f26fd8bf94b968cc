"""The result of a paper's reproduction, ``RUN/result.json``: its format, written by ``vaelab reproduce RECIPE``
(``result_record``) and read back by ``vaelab leaderboard`` (``collect_results``).

A result holds the recipe, the paper's number, vaelab's NLL with its standard error, K, split, binarization,
epochs run against the protocol's, wall time, hardware and every deviation from the paper's protocol (nats per
image, seconds). ``checkpoint_epoch`` and ``stopped_early`` read a run's ``metrics.jsonl`` records for it.
"""

from __future__ import annotations

import json
from pathlib import Path

from vaelab.core.errors import CheckpointError
from vaelab.runs.recipes import ABSENT, Recipe
from vaelab.runs.spec import patience_exhausted

RESULT_FORMAT = 1
RESULT_FILE = "result.json"


def checkpoint_epoch(metrics: list[dict], which: str) -> int | None:
    """The epoch whose parameters a run's ``which`` checkpoint holds (``"last"`` or ``"best"``), from its
    ``metrics.jsonl`` records (``best.pt`` is written at every record marked ``best``); None without records."""
    if which == "best":
        return max((int(r["epoch"]) for r in metrics if r.get("best")), default=None)
    return int(metrics[-1]["epoch"]) if metrics else None


def stopped_early(config: dict, metrics: list[dict]) -> bool:
    """Whether a run ended by its early-stopping rule: ``early_stopping_patience`` epochs without a better
    validation score after its best epoch (``config`` is the run's ``config.json``)."""
    best = checkpoint_epoch(metrics, "best")
    if not metrics or best is None:
        return False
    return patience_exhausted(config.get("train", {}).get("early_stopping_patience"), metrics[-1]["epoch"], best)


def shorter_than_protocol(config: dict, metrics: list[dict], recipe: Recipe) -> bool:
    """Whether a run ended before the protocol would have: fewer epochs than the recipe's (``--epochs``), unless
    the protocol's own early-stopping rule ended it."""
    epochs_run = int(metrics[-1]["epoch"]) if metrics else 0
    return epochs_run < recipe.epochs and not stopped_early(config, metrics)


def result_record(
    recipe: Recipe,
    config: dict,
    metrics: list[dict],
    evaluation: dict,
    not_applied: dict,
    extra_deviations: list[str],
    hardware: str,
) -> dict:
    """The ``result.json`` of a reproduce run, JSON-ready.

    Args:
        recipe: what the run reproduces. config: the run's ``config.json``. metrics: its ``metrics.jsonl`` records.
        evaluation: its ``eval.json`` (``vaelab.evaluate.evaluate``, with ``checkpoint`` and
            ``checkpoint_epoch``: which parameters were tested). not_applied: recipe options the run does
            not hold with the recipe's value, ``{option: (recipe value, run value or "<absent>")}``
            (``vaelab.runs.recipes.unapplied_options``). extra_deviations: further differences from the protocol
            made by the command (fewer epochs, another K, fewer images). hardware: where it ran, in words.

    Returns:
        ``{"format", "recipe", "paper", "table", "paper_nll", "paper_k", "paper_active_units", "nll",
        "nll_stderr", "k", "split", "n_test", "n_train", "n_val", "binarization_train", "binarization_test",
        "epochs_run", "epochs_protocol", "shorter_than_protocol", "stopped_early", "checkpoint",
        "checkpoint_epoch", "train_seconds", "eval_seconds",
        "wall_seconds", "hardware", "elbo", "active_units", "layers", "nll_vs_k", "deviations", "model",
        "model_config"}`` and, where ``evaluation`` has them, ``bits_per_dim`` and ``samples`` (the sample scores);
        nats per image, seconds.
    """
    epochs_run = int(metrics[-1]["epoch"]) if metrics else 0
    train_seconds = float(sum(r.get("time_s", 0.0) for r in metrics))
    layers = {
        name: {"active_units": v["active_units"], "latent_dim": v["latent_dim"]}
        for name, v in evaluation.get("layers", {}).items()
    }
    deviations = _deviations(recipe, not_applied, extra_deviations)
    ds = config["dataset"]
    return {
        "format": RESULT_FORMAT,
        "recipe": recipe.name,
        "paper": recipe.paper,
        "cite": recipe.cite,
        "table": recipe.table,
        "paper_nll": recipe.paper_nll,
        "paper_k": recipe.paper_k,
        "paper_active_units": recipe.paper_active_units,
        "nll": evaluation["nll"],
        "nll_stderr": evaluation["nll_stderr"],
        "k": evaluation["k"],
        "split": evaluation["split"],
        "n_test": evaluation["n_images"],
        "n_train": ds.get("n_train"),
        "n_val": ds.get("n_val"),
        "binarization_train": config["train"].get("binarize"),
        "binarization_test": evaluation["binarization"],
        "epochs_run": epochs_run,
        "epochs_protocol": recipe.epochs,
        "shorter_than_protocol": shorter_than_protocol(config, metrics, recipe),
        "stopped_early": stopped_early(config, metrics),
        "checkpoint": evaluation.get("checkpoint", "last"),
        "checkpoint_epoch": evaluation.get("checkpoint_epoch", epochs_run),
        "train_seconds": train_seconds,
        "eval_seconds": evaluation.get("seconds"),
        "wall_seconds": train_seconds + float(evaluation.get("seconds") or 0.0),
        "hardware": hardware,
        "elbo": evaluation.get("elbo"),
        "active_units": evaluation.get("active_units"),
        "layers": layers,
        "nll_vs_k": evaluation.get("nll_vs_k"),
        "deviations": deviations,
        "model": config["model"],
        "model_config": config["model_config"],
        **{key: evaluation[key] for key in ("bits_per_dim", "samples") if key in evaluation},
    }


def _deviations(recipe: Recipe, not_applied: dict, extra: list[str]) -> list[str]:
    """The recipe's own deviations, then one per recipe option the run does not hold, then the command's."""
    deviations = list(recipe.deviations)
    for key, (wanted, got) in not_applied.items():
        held = "has no such option (its vaelab did not have it)" if got == ABSENT else f"has {key} = {got!r}"
        deviations.append(f"not applied: {key} = {wanted!r} (the run's config.json {held})")
    return deviations + list(extra)


def collect_results(folders) -> list[dict]:
    """Every ``*/result.json`` directly under each of ``folders`` (run folders or ``docs/results``), each with
    its ``path`` added.

    Raises:
        CheckpointError: a result file that is not JSON or lacks the keys a leaderboard row needs.
    """
    results = []
    for folder in folders:
        for path in sorted(Path(folder).glob(f"*/{RESULT_FILE}")):
            try:
                record = json.loads(path.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise CheckpointError(f"{path}: cannot read it as JSON ({exc})") from exc
            missing = [k for k in ("recipe", "nll", "nll_stderr", "k", "epochs_run") if k not in record]
            if missing:
                raise CheckpointError(f"{path}: not a vaelab result file (no {missing[0]!r})")
            record["path"] = str(path)
            results.append(record)
    return results


def collect_evaluations(folders) -> list[dict]:
    """The measured runs that follow no paper's protocol: every ``*/eval.json`` directly under each of ``folders``
    whose folder holds a ``config.json`` and no ``result.json`` (``docs/results/emoji-faces-conv-vae/``, for
    example, copied there by the ``make`` target that measured it).

    Returns:
        one record per run: ``name``, ``model``, ``dataset``, ``epochs_run`` (the lines of its ``metrics.jsonl``),
        and from ``eval.json`` ``nll``, ``nll_stderr`` (nats per image), ``k``, ``split``, ``n_images``,
        ``likelihood``, ``binarization``, and where measured ``bits_per_dim``, ``bits_per_dim_stderr`` and
        ``samples`` (``vaelab evaluate --samples``).

    Raises:
        CheckpointError: an ``eval.json`` or ``config.json`` that is not JSON or lacks the keys a row needs.
    """
    records = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*/eval.json")):
            run = path.parent
            if (run / RESULT_FILE).exists() or not (run / "config.json").is_file():
                continue
            ev, config = _read_json(path), _read_json(run / "config.json")
            missing = [k for k in ("nll", "nll_stderr", "k") if not isinstance(ev.get(k), (int, float))]
            if missing or not isinstance(config.get("dataset"), dict):
                raise CheckpointError(f"{path}: not a vaelab evaluation (no {(missing or ['dataset'])[0]!r})")
            metrics = run / "metrics.jsonl"
            epochs = sum(1 for line in metrics.read_text().splitlines() if line.strip()) if metrics.is_file() else 0
            record = {"name": run.name, "model": config.get("model"), "dataset": config["dataset"].get("name")}
            record["epochs_run"] = epochs
            keys = ("nll", "nll_stderr", "k", "split", "n_images", "likelihood", "binarization")
            keys += ("bits_per_dim", "bits_per_dim_stderr", "samples")
            record.update({k: ev[k] for k in keys if k in ev})
            records.append(record)
    return records


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot read it as JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: expected a JSON object, not {type(value).__name__}")
    return value
