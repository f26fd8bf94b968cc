"""ONNX export of a run's encoder and decoder, checked against PyTorch with onnxruntime, plus the data the
explorer page needs.

``export_run(run)`` writes into ``RUN/export/``:

    encoder.onnx   input ``x`` float32 (N, C, H, W) in [0, 1] -> ``mu`` (N, D) and, for a probabilistic encoder,
                   ``logvar`` (N, D)
    decoder.onnx   input ``z`` float32 (N, D) -> ``x_mean`` (N, C, H, W) pixel probabilities / means in [0, 1]
    codes.bin      encoder ``mu`` of the test split, float32 little-endian, row-major (n_codes, D)
    labels.bin     the test split's labels, uint8 (n_codes,) (absent for unlabelled datasets)
    meta.json      latent_dim, model, dataset, image_shape, probabilistic, nll (from eval.json if present),
                   n_codes, code_range, pca (for D > 2), epoch_codes, the onnxruntime check's max absolute
                   differences
    epoch_codes.bin  the training time-lapse of a 2-D model (``RUN/epoch_codes.npz``, written by the trainer's
                   ``EpochCodes`` callback), float32 little-endian (epochs, n, 2); epoch_labels.bin uint8 (n,)
    pick.bin       the first test images as uint8, for the page's image panel; with meta.json's ``preprocess`` and
                   ``attributes`` (``vaelab.export.inputs``)

Both models have a dynamic batch axis and are single files (no external data). They are exported with
``torch.onnx.export(..., dynamo=True)`` (the torch.export-based exporter of torch >= 2.9) and run with
onnxruntime on real test images / codes; a max absolute difference above ``TOLERANCE`` raises ``ExportError``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vaelab.core.errors import (
    ExportError,
    raise_if_interrupted,
)  # also imported from here: `from vaelab.export.onnx import ExportError`
from vaelab.core.io import atomic_write_bytes, atomic_write_text
from vaelab.data import load_dataset_from_config, public_dataset_name
from vaelab.export.inputs import attribute_meta, preprocess_meta, write_pick
from vaelab.runs.files import RunFiles
from vaelab.runs.open import open_run

TOLERANCE = 1e-4  # max |onnxruntime - PyTorch| accepted, on pixel probabilities and codes
OPSET = 20
EXPORT_FILES = ("encoder.onnx", "decoder.onnx", "codes.bin", "meta.json", "pick.bin")


class _Encoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        mu, logvar = self.model.encode(x)
        return (mu, logvar) if logvar is not None else mu


class _Decoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, z):
        return self.model.decode(z)


def _onnx_export(
    module: nn.Module, example: torch.Tensor, path: Path, input_name: str, output_names: list[str]
) -> None:
    """``torch.onnx.export`` with the dynamo exporter, batch axis dynamic, one self-contained file."""
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    quiet = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            warnings.simplefilter("ignore")
            logging.getLogger("torch.onnx").setLevel(logging.ERROR)
            torch.onnx.export(
                module.eval(),
                (example,),
                str(tmp),
                input_names=[input_name],
                output_names=output_names,
                dynamic_shapes=({0: batch},),
                dynamo=True,
                external_data=False,
                opset_version=OPSET,
                verbose=False,
            )
        # the first file of a new export replaces one of an older export: that one is no longer whole, so its
        # meta.json (written last, export_is_current's mark) goes; an export stopped before its own meta.json is
        # then redone by the next command, never mixed with the older one's files (stopped during the ONNX export
        # itself, the slow part, the older export stays whole)
        path.with_name("meta.json").unlink(missing_ok=True)
        tmp.replace(path)
    except Exception as exc:  # the exporter raises many types
        tmp.unlink(missing_ok=True)
        raise_if_interrupted(exc)  # torch.export wraps a Ctrl-C during tracing: it stays an interrupt (exit 130)
        raise ExportError(f"{path}: ONNX export failed ({type(exc).__name__}: {str(exc)[:300]})") from exc
    finally:
        for extra in path.parent.glob(tmp.name + "*"):  # stray external-data files, if any
            extra.unlink(missing_ok=True)


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def export_onnx(model, out_dir: str | Path, x_check: torch.Tensor) -> dict:
    """Write ``encoder.onnx`` and ``decoder.onnx`` of ``model`` into ``out_dir`` and check them.

    Args:
        model: a ``LatentModel`` (``encode`` / ``decode`` as in ``vaelab.models.base``), on the CPU.
        out_dir: the folder to write into.
        x_check: images ``(N, C, H, W)`` in [0, 1] to compare onnxruntime with PyTorch on (N > 2, so the
            dynamic batch axis is exercised with a batch other than the export examples' 2).

    Returns:
        ``{"encoder_max_abs_diff": ..., "decoder_max_abs_diff": ..., "probabilistic": bool}``.

    Raises:
        ExportError: the export fails or a max absolute difference exceeds ``TOLERANCE``.
    """
    out_dir = Path(out_dir)
    model = model.cpu().eval()
    # the export examples have a batch of 2: torch.export specializes a size-1 axis to a constant
    with torch.no_grad():
        mu, logvar = model.encode(x_check[:2])
    probabilistic = logvar is not None
    enc_out = ["mu", "logvar"] if probabilistic else ["mu"]
    _onnx_export(_Encoder(model), x_check[:2].float(), out_dir / "encoder.onnx", "x", enc_out)
    _onnx_export(_Decoder(model), mu.detach().float(), out_dir / "decoder.onnx", "z", ["x_mean"])

    with torch.no_grad():
        ref_mu, ref_logvar = model.encode(x_check)
        z = torch.cat([ref_mu, torch.randn(len(ref_mu), ref_mu.shape[1], generator=torch.Generator().manual_seed(0))])
        ref_x = model.decode(z)
    try:
        enc = _session(out_dir / "encoder.onnx").run(None, {"x": x_check.float().numpy()})
        dec = _session(out_dir / "decoder.onnx").run(None, {"z": z.numpy()})
    except Exception as exc:  # onnxruntime raises its own exception types
        raise_if_interrupted(exc)
        raise ExportError(
            f"{out_dir}: onnxruntime cannot run the exported models on a batch of {len(z)} "
            f"({type(exc).__name__}: {str(exc)[:300]})"
        ) from exc
    enc_diff = float(np.abs(enc[0] - ref_mu.numpy()).max())
    if probabilistic:
        enc_diff = max(enc_diff, float(np.abs(enc[1] - ref_logvar.numpy()).max()))
    dec_diff = float(np.abs(dec[0] - ref_x.numpy()).max())
    for name, diff in (("encoder.onnx", enc_diff), ("decoder.onnx", dec_diff)):
        if not diff <= TOLERANCE:
            raise ExportError(
                f"{out_dir / name}: onnxruntime differs from PyTorch by {diff:.3g} "
                f"(max absolute difference; at most {TOLERANCE:g} expected)"
            )
    return {"encoder_max_abs_diff": enc_diff, "decoder_max_abs_diff": dec_diff, "probabilistic": probabilistic}


def _pca_plane(codes: np.ndarray) -> dict | None:
    """The 2-D PCA plane of the codes (scikit-learn): mean (D,), components (2, D), explained variance ratio."""
    if codes.shape[1] <= 2:
        return None
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=0).fit(codes.astype(np.float64))
    return {
        "mean": pca.mean_.round(6).tolist(),
        "components": pca.components_.round(6).tolist(),
        "explained_variance_ratio": pca.explained_variance_ratio_.round(6).tolist(),
    }


def export_model(
    model,
    out: str | Path,
    images: torch.Tensor,
    labels: torch.Tensor | None = None,
    info: dict | None = None,
    epoch_codes: dict | None = None,
    batch_size: int = 1000,
    attributes: dict | None = None,
    data_info: dict | None = None,
) -> dict:
    """Export a model for the explorer into ``out`` (see the module docstring for the files).

    Args:
        model: a ``LatentModel`` on the CPU.
        out: the folder to write into.
        images: the test images ``(N, C, H, W)`` in [0, 1] (N > 2) whose codes the map shows; the first 64 check
            onnxruntime against PyTorch.
        labels: their labels ``(N,)`` (0-255), or None.
        info: fields copied into ``meta.json`` (``run``, ``model``, ``model_config``, ``dataset``, ``checkpoint``,
            ``nll``, ``nll_stderr``, ``nll_k``, ``nll_split``, ``elbo``); missing ones are null.
        epoch_codes: ``vaelab.runs.files.read_epoch_codes`` of the run (the training time-lapse), or None.
        batch_size: images per ``encode`` call.
        attributes: the images' attributes ``{name: (N,)}`` (``ImageDataset.attributes``), or None.
        data_info: the dataset's ``info`` (attribute value names, class names), or None.

    Returns:
        the meta dict written to ``meta.json``.

    Raises:
        ExportError: the export or its onnxruntime check fails.
    """
    out = Path(out)
    info = info or {}
    model = model.cpu().eval()
    check = export_onnx(model, out, images[:64])
    codes = _write_codes(model, out, images, labels, batch_size)
    timelapse = _write_timelapse(out, epoch_codes, codes.shape[1])
    inputs = {
        "pick": write_pick(images, out),
        "preprocess": preprocess_meta(info.get("dataset"), model.image_shape),
        "attributes": attribute_meta(codes, labels, attributes, data_info),
    }
    meta = _meta(model, codes, labels is not None, info, check, timelapse, inputs)
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=1) + "\n")
    return meta


def _write_codes(model, out: Path, images: torch.Tensor, labels, batch_size: int) -> np.ndarray:
    """``codes.bin`` (the encoder means ``(N, D)``, little-endian float32) and ``labels.bin`` (uint8, or removed
    for unlabelled data); returns the codes."""
    with torch.no_grad():
        codes = (
            torch.cat([model.encode(images[i : i + batch_size])[0] for i in range(0, len(images), batch_size)])
            .numpy()
            .astype("<f4")
        )
    atomic_write_bytes(out / "codes.bin", codes.tobytes())
    if labels is not None:
        atomic_write_bytes(out / "labels.bin", labels.numpy().astype(np.uint8).tobytes())
    else:
        (out / "labels.bin").unlink(missing_ok=True)
    return codes


def _write_timelapse(out: Path, epoch_codes: dict | None, latent_dim: int) -> dict | None:
    """``epoch_codes.bin`` / ``epoch_labels.bin`` from the run's time-lapse when its codes have the model's size
    (stale copies removed otherwise); returns ``meta.json``'s ``epoch_codes`` entry or None."""
    timelapse = None
    if epoch_codes is not None and epoch_codes["codes"].shape[-1] == latent_dim:
        arr = np.ascontiguousarray(epoch_codes["codes"], dtype="<f4")  # float16 -> float32: exact
        atomic_write_bytes(out / "epoch_codes.bin", arr.tobytes())
        if "labels" in epoch_codes:
            atomic_write_bytes(out / "epoch_labels.bin", epoch_codes["labels"].astype(np.uint8).tobytes())
        timelapse = {
            "file": "epoch_codes.bin",
            "dtype": "float32",
            "byteorder": "little",
            "shape": list(arr.shape),
            "epochs": [int(e) for e in epoch_codes["epochs"]],
            "labels": "epoch_labels.bin" if "labels" in epoch_codes else None,
            "what": "encoder mu of the first test images at each epoch end (the training time-lapse)",
        }
    if timelapse is None or timelapse["labels"] is None:
        (out / "epoch_labels.bin").unlink(missing_ok=True)
    if timelapse is None:
        (out / "epoch_codes.bin").unlink(missing_ok=True)
    return timelapse


def _meta(
    model, codes: np.ndarray, labelled: bool, info: dict, check: dict, timelapse: dict | None, inputs: dict
) -> dict:
    """``meta.json``: what the explorer reads about the model, its codes and the ONNX check; ``inputs`` holds the
    entries about the page's inputs (``pick``, ``preprocess``, ``attributes``)."""
    return {
        "format": 1,
        "run": info.get("run"),
        "model": info.get("model"),
        "model_config": info.get("model_config", {}),
        "dataset": public_dataset_name(info.get("dataset")),  # an image folder's base name, never its path
        "image_shape": list(model.image_shape),
        "latent_dim": int(codes.shape[1]),
        "probabilistic": check["probabilistic"],
        "likelihood": model.likelihood,
        "checkpoint": info.get("checkpoint"),
        **{k: info.get(k) for k in ("nll", "nll_stderr", "nll_k", "nll_split", "elbo")},
        "n_codes": int(codes.shape[0]),
        "codes": {
            "file": "codes.bin",
            "dtype": "float32",
            "byteorder": "little",
            "shape": list(codes.shape),
            "what": "encoder mu of the test split",
        },
        "labels": {"file": "labels.bin", "dtype": "uint8"} if labelled else None,
        "code_range": {"min": codes.min(0).round(4).tolist(), "max": codes.max(0).round(4).tolist()},
        "pca": _pca_plane(codes),
        "epoch_codes": timelapse,
        **inputs,
        "onnx_check": {
            "encoder_max_abs_diff": check["encoder_max_abs_diff"],
            "decoder_max_abs_diff": check["decoder_max_abs_diff"],
            "tolerance": TOLERANCE,
        },
    }


def export_run(
    run: RunFiles | str | Path,
    checkpoint: str = "best",
    data_dir=None,
    n_codes: int | None = None,
    batch_size: int = 1000,
) -> dict:
    """Export a run for the explorer into ``RUN/export/`` (see the module docstring for the files).

    Args:
        run: the run directory.
        checkpoint: ``best`` or ``last``.
        data_dir: folder with the dataset (default: the run's config, then ``$VAELAB_DATA``).
        n_codes: encode only the first ``n_codes`` test images (default: the whole test split).
        batch_size: test images per ``encode`` call when computing ``codes.bin``.

    Returns:
        the meta dict written to ``meta.json``.

    Raises:
        CheckpointError: not a run directory / unreadable checkpoint. DatasetError: the test split is missing.
        ExportError: the export or its onnxruntime check fails.
    """
    run = open_run(run)
    run.check_writable("vaelab export (it writes export/)")
    cfg = run.load_config()
    model = run.load_model(checkpoint, "cpu")
    ds_cfg = cfg["dataset"]
    test = load_dataset_from_config(ds_cfg, "test", data_dir, limit=n_codes)
    ev = run.read_eval() or {}
    info = {
        "run": run.path.name,
        "model": cfg["model"],
        "model_config": cfg.get("model_config", {}),
        "dataset": ds_cfg["name"],
        "checkpoint": checkpoint,
        "nll": ev.get("nll"),
        "nll_stderr": ev.get("nll_stderr"),
        "nll_k": ev.get("k"),
        "nll_split": ev.get("split"),
        "elbo": ev.get("elbo"),
    }
    epoch_codes = run.read_epoch_codes()
    return export_model(
        model, run.export, test.images, test.labels, info, epoch_codes, batch_size, test.attributes, test.info
    )


def export_is_current(run: RunFiles) -> bool:
    """True if ``RUN/export/`` has every file and is newer than the run's checkpoints.

    Args:
        run: the run directory.

    Returns:
        True when every file of ``EXPORT_FILES`` exists and the oldest is no older (mtime) than the newest
        ``RUN/checkpoints/*.pt``; False otherwise (then ``export_run`` is due).
    """
    files = [run.export / f for f in EXPORT_FILES]
    if not all(f.is_file() for f in files):
        return False
    newest_ckpt = max((p.stat().st_mtime for p in run.checkpoints.glob("*.pt")), default=0.0)
    return min(f.stat().st_mtime for f in files) >= newest_ckpt
