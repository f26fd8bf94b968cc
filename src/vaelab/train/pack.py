"""Models you can share: a run packed into a folder of plain files, with no pickle anywhere.

``pack_run(run, out)`` (``vaelab pack RUN OUT``) writes::

    OUT/model.safetensors   the weights (every tensor of the model's state_dict) in the safetensors format
                            (https://github.com/huggingface/safetensors): a JSON header and raw little-endian
                            tensor bytes, loaded without running any code; header metadata names the model family
    OUT/config.json         the run's config.json (family, options, data, versions) plus a "packed" section
    OUT/README.md           the model card: YAML front matter (family, dataset, image shape, the test numbers
                            with K / split / binarization, training time and hardware), then a short description
    OUT/eval.json           the numbers the card states (from ``vaelab evaluate``)
    OUT/metrics.jsonl       the training curves' records (if any)
    OUT/epoch_samples.npy   samples decoded at each epoch end (uint8 ``.npy``; read with allow_pickle=False)
    OUT/epoch_codes.npz     the explorer's training time-lapse of a 2-D model (``.npz`` of plain arrays), if any

ONNX files may sit beside them (``vaelab export OUT`` writes ``OUT/export/``). A packed folder is a run folder to
every command: ``RunDir(OUT).load_model()`` builds the model from ``config.json`` and loads the safetensors
weights (``load_packed_model``), so ``evaluate``, ``sample``, ``reconstruct``, ``plot``, ``report``, ``export``,
``explore`` and ``vaelab.load_run`` take it. It cannot be trained further (it holds no optimizer state).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import torch

from vaelab.core.errors import CheckpointError, ConfigError
from vaelab.core.io import atomic_path, atomic_write_text, load_checkpoint, storage_error
from vaelab.models import LatentModel, build_model

WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
PACK_FORMAT = 1
COPIED = ("eval.json", "metrics.jsonl", "epoch_samples.npy", "epoch_codes.npz")


def is_packed(path: str | Path) -> bool:
    """Whether ``path`` is a packed model folder (it holds ``model.safetensors``)."""
    return (Path(path) / WEIGHTS_FILE).is_file()


def _metrics(eval_result: dict | None) -> dict | None:
    """The card's numbers from ``eval.json``: the NLL with K, split and binarization, or the reconstruction error."""
    if not eval_result:
        return None
    keys = (
        "nll",
        "nll_stderr",
        "k",
        "elbo",
        "kl",
        "active_units",
        "sq_error",
        "mse_per_pixel",
        "psnr_db",
        "psnr_noisy_db",
        "psnr_denoised_db",
        "classifier_accuracy",
        "split",
        "n_images",
        "binarization",
        "likelihood",
        "seed",
        "checkpoint",
    )
    out = {k: eval_result[k] for k in keys if k in eval_result}
    if "k" in out:
        out["nll_k"] = out.pop("k")
    out["units"] = eval_result.get("units", "")
    return out


def card_front_matter(config: dict, eval_result: dict | None, metrics: list[dict], epoch: int | None) -> dict:
    """The model card's front matter as a dict of plain values (what ``README.md`` starts with).

    Args:
        config: the run's ``config.json``.
        eval_result: its ``eval.json`` (or None).
        metrics: its ``metrics.jsonl`` records (training time is the sum of their ``time_s``).
        epoch: the epoch of the packed checkpoint.
    """
    env = config.get("environment", {})
    ds = config.get("dataset", {})
    train = config.get("train", {})
    seconds = sum(float(r.get("time_s", 0.0)) for r in metrics)
    return {
        "library_name": "vaelab",
        "vaelab_version": env.get("vaelab"),
        "model_family": config.get("model"),
        "run_name": config.get("name"),
        "dataset": ds.get("name"),
        "n_train": ds.get("n_train"),
        "image_shape": list(config.get("model_config", {}).get("image_shape", [])),
        "latent_dim": config.get("model_config", {}).get("latent_dim"),
        "likelihood": (eval_result or {}).get("likelihood", config.get("model_config", {}).get("likelihood")),
        "metrics": _metrics(eval_result),
        "training": {
            "epochs": metrics[-1]["epoch"] if metrics else None,
            "checkpoint_epoch": epoch,
            "seconds": round(seconds, 1),
            "batch_size": train.get("batch_size"),
            "lr": train.get("lr"),
            "seed": train.get("seed"),
            "binarize": train.get("binarize"),
            "device": train.get("device"),
            "hardware": f"{env.get('processor', '?')}, {env.get('threads', '?')} torch threads, "
            f"{env.get('platform', '?')}",
            "torch": env.get("torch"),
        },
        "weights": WEIGHTS_FILE,
        "weights_format": "safetensors",
    }


def _yaml(d: dict, indent: str = "") -> list[str]:
    """YAML block mapping whose leaves are JSON values (JSON scalars and flow lists are valid YAML)."""
    lines = []
    for key, value in d.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines += _yaml(value, indent + "  ")
        else:
            lines.append(f"{indent}{key}: {json.dumps(value, ensure_ascii=False)}")
    return lines


def read_front_matter(text: str) -> dict:
    """Parse the front matter ``pack_run`` writes (block mappings of JSON values) back into a dict.

    Args:
        text: the model card (``README.md``), starting with ``---``.

    Raises:
        ConfigError: no front matter, or a line that is not ``key: <JSON>`` / ``key:`` at a known depth.
    """
    lines = text.splitlines()
    if not lines or lines[0] != "---" or "---" not in lines[1:]:
        raise ConfigError("model card: expected YAML front matter between '---' lines")
    body = lines[1 : lines.index("---", 1)]
    root: dict = {}
    stack = [(-1, root)]
    for line in body:
        depth = len(line) - len(line.lstrip(" "))
        key, sep, value = line.strip().partition(":")
        if not sep:
            raise ConfigError(f"model card: front matter line {line!r}: expected 'key: value'")
        while stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1]
        if value.strip() == "":
            parent[key] = {}
            stack.append((depth, parent[key]))
        else:
            try:
                parent[key] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"model card: front matter line {line!r}: value is not JSON") from exc
    return root


def model_card(front: dict, config: dict) -> str:
    """``README.md`` of a packed model: the front matter, then what the model is and how to use it."""
    m = front.get("metrics")
    if m and "nll" in m:
        numbers = (
            f"Test NLL **{m['nll']:.2f} ± {m.get('nll_stderr', float('nan')):.2f} nats** per image "
            f"(importance-weighted, K = {m.get('nll_k')}, {m.get('split')} split of {m.get('n_images')} images, "
            f"binarization: {m.get('binarization')}); ELBO {m.get('elbo', float('nan')):.2f}."
        )
    elif m and "sq_error" in m:
        numbers = (
            f"Test reconstruction error **{m['sq_error']:.2f}** (squared error per image, summed over pixels), "
            f"PSNR {m.get('psnr_db', float('nan')):.2f} dB ({m.get('split')} split of {m.get('n_images')} images)."
        )
    else:
        numbers = "Not evaluated."
    t = front["training"]
    return "\n".join(
        [
            "---",
            *_yaml(front),
            "---",
            "",
            f"# {front.get('run_name')}: a vaelab `{front['model_family']}` on `{front['dataset']}`",
            "",
            f"Latent dimension {front.get('latent_dim')}, images {'x'.join(map(str, front['image_shape']))} "
            "(C x H x W, pixels in [0, 1]).",
            "",
            numbers,
            "",
            f"Trained {t['epochs']} epoch{'' if t['epochs'] == 1 else 's'} ({t['seconds']} s on {t['hardware']}; "
            f"device setting {t['device']}); these weights are from epoch {t['checkpoint_epoch']}.",
            "",
            "## Use",
            "",
            "```python",
            "import vaelab",
            "run = vaelab.load_run('THIS_FOLDER')",
            "model = run.model            # a torch.nn.Module: model.encode(x), model.decode(z), model.sample(n)",
            "```",
            "",
            "or `vaelab sample THIS_FOLDER`, `vaelab evaluate THIS_FOLDER`, `vaelab explore THIS_FOLDER`.",
            "",
            f"The weights are `{WEIGHTS_FILE}` (safetensors: no pickle); `config.json` holds every option.",
            "",
        ]
    )


def pack_run(run, out: str | Path, checkpoint: str = "best") -> Path:
    """Write ``run`` as a packed model folder ``out`` (module docstring for its files).

    Args:
        run: a ``RunDir`` (or its path) that has been evaluated (``vaelab evaluate``): the card states its numbers.
        out: the folder to create; it must not exist or be empty.
        checkpoint: ``best`` or ``last``.

    Returns:
        ``out`` as a ``Path``.

    Raises:
        ConfigError: ``out`` exists and is not empty, or is the run folder; the run has no ``eval.json``.
        CheckpointError: not a run directory or an unreadable checkpoint.
        StorageError: a file cannot be written.
    """
    from safetensors.torch import save_file

    from vaelab.train.rundir import RunDir

    run = (run if isinstance(run, RunDir) else RunDir(run)).require()
    out = Path(out)
    if out.resolve() == run.path.resolve():
        raise ConfigError(f"{out}: the packed folder must not be the run folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out}: exists and is not an empty folder; choose a new folder to pack into")
    ev = run.read_eval()
    if ev is None:
        raise ConfigError(
            f"{run.eval_path}: not found; evaluate the run first (vaelab evaluate {run.path}): the model card "
            "states its test numbers"
        )
    config = run.load_config()
    if run.is_packed:
        state = {"epoch": config.get("packed", {}).get("checkpoint_epoch")}
        model = run.load_model()
    else:
        path = run.checkpoint_path(checkpoint)
        state = load_checkpoint(path)
        run.check_checkpoint(state, path)
        model = run.load_model(checkpoint)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    metrics = run.read_metrics()
    front = card_front_matter(config, ev, metrics, state.get("epoch"))
    config = dict(config)
    config["packed"] = {
        "format": PACK_FORMAT,
        "weights": WEIGHTS_FILE,
        "from_run": str(run.path),
        "checkpoint": checkpoint,
        "checkpoint_epoch": state.get("epoch"),
        "packed": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / WEIGHTS_FILE) as tmp:
        try:
            save_file(tensors, str(tmp), metadata={"format": f"vaelab-weights-{PACK_FORMAT}", "model": config["model"]})
        except OSError as exc:
            raise storage_error(out / WEIGHTS_FILE, exc) from exc
    atomic_write_text(out / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    atomic_write_text(out / CARD_FILE, model_card(front, config))
    for name in COPIED:
        if (run.path / name).is_file():
            try:
                shutil.copyfile(run.path / name, out / name)
            except OSError as exc:
                raise storage_error(out / name, exc) from exc
    return out


def load_packed_model(path: str | Path, config: dict, device: str | torch.device = "cpu") -> LatentModel:
    """The model of a packed folder: built from ``config`` (its ``config.json``) with the safetensors weights.

    Args:
        path: the packed folder.
        config: its ``config.json`` as a dict.
        device: where to put the model.

    Returns:
        The model in eval mode.

    Raises:
        CheckpointError: the weights file is unreadable or does not fit the configured model.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights = Path(path) / WEIGHTS_FILE
    try:
        state = load_file(str(weights))
    except (OSError, SafetensorError, ValueError) as exc:
        raise CheckpointError(f"{weights}: cannot read the weights ({type(exc).__name__}: {exc})") from exc
    try:
        model = build_model(config["model"], config["model_config"])
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{Path(path) / 'config.json'}: model configuration not readable ({exc})") from exc
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{weights}: weights do not fit model {config['model']!r} ({exc})") from exc
    return model.to(device).eval()
