"""Models you can share: a run packed into a folder of plain files, with no pickle anywhere.

``pack_run(run, out)`` (``vaelab pack RUN OUT``) writes, each file mode 0644 (0666 less the umask)::

    OUT/model.safetensors   the weights (every tensor of the model's state_dict) in the safetensors format
                            (https://github.com/huggingface/safetensors): a JSON header and raw little-endian
                            tensor bytes, loaded without running any code; header metadata names the model family
    OUT/config.json         the run's config.json (family, options, data, versions) plus a "packed" section
    OUT/README.md           the model card in the Hugging Face Hub's format (``vaelab.runs.card``): front matter
                            with library_name, license, tags, datasets and model-index (the test numbers with K,
                            split and binarization), then a short description
    OUT/eval.json           the numbers the card states (from ``vaelab evaluate``)
    OUT/metrics.jsonl       the training curves' records (if any)
    OUT/epoch_samples.npy   samples decoded at each epoch end (uint8 ``.npy``; read with allow_pickle=False)
    OUT/epoch_codes.npz     the explorer's training time-lapse of a 2-D model (``.npz`` of plain arrays), if any

ONNX files may sit beside them (``vaelab export OUT`` writes ``OUT/export/``). A packed folder is a run folder to
every command: ``vaelab.runs.open.open_run(OUT)`` gives a ``vaelab.runs.pack_read.PackedRun``, which checks every
file and field first (a pack is untrusted input), and whose ``load_model`` builds the model from ``config.json``
with the safetensors weights, so ``evaluate``, ``sample``, ``reconstruct``, ``plot``, ``report``, ``export``,
``explore``, ``vaelab.load`` and ``vaelab.load_run`` take it. It cannot be trained further (it holds no optimizer
state).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from vaelab.core.errors import ConfigError
from vaelab.core.io import TMP_SUFFIX, atomic_write_bytes, atomic_write_text, storage_error
from vaelab.core.naming import flag_style
from vaelab.runs.card import check_license, default_license, model_card
from vaelab.runs.files import CONFIG_FILE, EPOCH_CODES_FILE, EPOCH_SAMPLES_FILE, EVAL_FILE, METRICS_FILE, RunFiles

WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
PACK_FORMAT = 1
COPIED = (EVAL_FILE, METRICS_FILE, EPOCH_SAMPLES_FILE, EPOCH_CODES_FILE)


def _check_out(run, out: Path) -> None:
    if out.resolve() == run.path.resolve():
        raise ConfigError(f"{out}: the packed folder must not be the run folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out}: exists and is not an empty folder; choose a new folder to pack into")


def pack_run(run: RunFiles, out: str | Path, checkpoint: str = "best", license: str | None = None) -> Path:
    """Write ``run`` as a packed model folder ``out`` (module docstring for its files).

    Args:
        run: a run (``vaelab.runs.open.open_run``: a run folder or a packed one) that has been evaluated
            (``vaelab evaluate``): the card states its numbers.
        out: the folder to create; it must not exist or be empty.
        checkpoint: ``best`` or ``last``.
        license: the card's licence, a Hugging Face Hub licence id (default: the training data's terms where
            known, else ``unknown``; ``vaelab.runs.card.default_license``).

    Returns:
        ``out`` as a ``Path``.

    Raises:
        ConfigError: ``out`` exists and is not empty, or is the run folder; the run has no ``eval.json``; an
            unknown licence id.
        CheckpointError: not a run directory or an unreadable checkpoint. PackError: a malformed pack to repack.
        StorageError: a file cannot be written.
    """
    run.require()
    out = Path(out)
    _check_out(run, out)
    ev = run.read_eval()
    if ev is None:
        raise ConfigError(
            f"{run.eval_path}: not found; evaluate the run first "
            f"({f'vaelab evaluate {run.path}' if flag_style() else 'run.evaluate()'}): the model card "
            "states its test numbers"
        )
    config = run.load_config()
    license = check_license(license or default_license(config["dataset"]["name"]))
    if run.is_packed:  # a repack keeps the checkpoint it was packed from
        checkpoint = config["packed"].get("checkpoint", checkpoint)
    epoch = run.weights_epoch(checkpoint)
    model = run.load_model(checkpoint)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    card = model_card(config, ev, run.read_metrics(), epoch, license)
    config = dict(config)
    config["packed"] = {
        "format": PACK_FORMAT,
        "weights": WEIGHTS_FILE,
        "from_run": str(run.path),
        "checkpoint": checkpoint,
        "checkpoint_epoch": epoch,
        "packed": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "license": license,
    }
    run.read_epoch_samples()  # a damaged array is named in the run, not in the pack
    copied = [n for n in COPIED if (run.path / n).is_file() and (n != EPOCH_CODES_FILE or run.read_epoch_codes())]
    _write(out, tensors, config, card, run.path, copied)
    return out


def refresh_card(pack: RunFiles) -> None:
    """Write a pack's model card again from its ``eval.json`` (after ``vaelab evaluate`` of the pack), so that the
    card states the numbers the pack holds; its licence and checkpoint epoch are those it was packed with."""
    config = pack.load_config()
    packed = config.get("packed") or {}
    card = model_card(
        config, pack.read_eval(), pack.read_metrics(), packed.get("checkpoint_epoch"), packed.get("license")
    )
    atomic_write_text(pack.path / CARD_FILE, card)


def _write(out: Path, tensors: dict, config: dict, card: str, source: Path, copied: list[str]) -> None:
    """Write the pack's files into a temporary folder beside ``out``, then rename it onto ``out`` (an empty folder
    is replaced), so ``out`` never holds half a pack: the weights (bytes from ``safetensors.torch.save``, mode 0644,
    not the 0600 of safetensors' own ``save_file``), ``config.json``, the card, and copies of ``copied`` (names in
    ``COPIED``) from ``source``."""
    from safetensors.torch import save  # import cost: only packing needs it

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=TMP_SUFFIX, dir=out.parent))
    except OSError as exc:
        raise storage_error(out, exc) from exc
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700
        meta = {"format": f"vaelab-weights-{PACK_FORMAT}", "model": config["model"]}
        atomic_write_bytes(tmp / WEIGHTS_FILE, save(tensors, metadata=meta))
        atomic_write_text(tmp / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True) + "\n")
        atomic_write_text(tmp / CARD_FILE, card)
        for name in copied:
            try:
                shutil.copyfile(source / name, tmp / name)
            except OSError as exc:
                raise storage_error(out / name, exc) from exc
        try:
            if out.is_dir():
                out.rmdir()  # empty (checked): replaced by the complete pack
            os.replace(tmp, out)
        except OSError as exc:
            raise storage_error(out, exc) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["CARD_FILE", "COPIED", "PACK_FORMAT", "WEIGHTS_FILE", "pack_run", "refresh_card"]
