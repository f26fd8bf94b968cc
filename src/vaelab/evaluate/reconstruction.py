"""Reconstruction numbers of deterministic models (autoencoders, PCA) and of denoising: squared error, PSNR."""

from __future__ import annotations

import time

import torch

from vaelab.data import ImageDataset
from vaelab.evaluate.latent_metrics import encode_means, psnr, reconstruction_error
from vaelab.evaluate.nll import ACTIVE_UNIT_THRESHOLD, active_units
from vaelab.models import LatentModel


def evaluate_reconstruction(model: LatentModel, data: ImageDataset, seed: int = 0) -> dict:
    """Test reconstruction numbers of a deterministic model (autoencoders, PCA) on grey pixels.

    Returns: ``sq_error`` (squared error per image summed over pixels, mean over images), ``mse_per_pixel``,
    ``psnr_db`` (mean over images of 10 log10(1 / MSE), pixels in [0, 1]), ``active_units`` (code dims with
    variance > 0.01), and for a denoising autoencoder the ``denoising_psnr`` numbers.
    """
    t0 = time.perf_counter()
    model.eval()
    result = {
        "dataset": data.name,
        "split": data.split,
        "n_images": len(data),
        "likelihood": model.likelihood,
        "binarization": "none: pixel values in [0, 1] (grey or colour)",
        "units": "sq_error: squared error per image summed over pixels; mse_per_pixel; psnr_db in dB",
    }
    result.update(reconstruction_error(model, data.images))
    mus = encode_means(model, data.images)
    result["active_units"] = active_units(mus)
    result["active_unit_threshold"] = ACTIVE_UNIT_THRESHOLD
    result["latent_dim"] = int(mus.shape[1])
    if model.denoising:
        result.update(denoising_psnr(model, data.images, seed))
    result["seed"] = seed
    result["seconds"] = time.perf_counter() - t0
    return result


@torch.no_grad()
def denoising_psnr(model, images: torch.Tensor, seed: int = 0, batch_size: int = 500) -> dict:
    """PSNR (dB, mean over images) of the model's corrupted images and of their denoised versions, both against
    the clean ``images (N, C, H, W)``; the corruption is the model's own (``model.corrupt``) with seed ``seed``."""
    g = torch.Generator(device=model.device).manual_seed(seed)
    noisy_err, den_err = [], []
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(model.device)
        xn = model.corrupt(x, g)
        noisy_err.append((xn - x).flatten(1).pow(2).mean(1).cpu())
        den_err.append((model.reconstruct(xn) - x).flatten(1).pow(2).mean(1).cpu())
    return {
        "noise": model.config.noise,
        "noise_level": float(model.config.noise_level),
        "psnr_noisy_db": psnr(torch.cat(noisy_err)),
        "psnr_denoised_db": psnr(torch.cat(den_err)),
    }


@torch.no_grad()
def classifier_accuracy(model, data: ImageDataset, batch_size: int = 1000) -> float:
    """Share of ``data`` images whose ``model.classify`` argmax equals the label."""
    correct = 0
    for i in range(0, len(data), batch_size):
        logits = model.classify(data.images[i : i + batch_size].to(model.device))
        correct += int((logits.argmax(-1).cpu() == data.labels[i : i + batch_size]).sum())
    return correct / max(len(data), 1)
