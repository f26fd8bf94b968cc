"""Evaluation: the importance-weighted NLL (``nll``), reconstruction numbers (``reconstruction``), measured
properties of latent spaces (``latent_metrics``) and the reference digit classifier (``reference_classifier``).
``evaluate(model, data)`` picks what fits the model."""

from __future__ import annotations

from vaelab.core.commands import DEFAULT_K
from vaelab.core.errors import ConfigError
from vaelab.core.likelihoods import CONTINUOUS_LIKELIHOODS
from vaelab.core.naming import option
from vaelab.data import ImageDataset
from vaelab.evaluate.nll import evaluate_nll, iw_log_likelihood
from vaelab.evaluate.reconstruction import classifier_accuracy, evaluate_reconstruction
from vaelab.models import LatentModel


def evaluate(
    model: LatentModel,
    data: ImageDataset,
    k: int = DEFAULT_K,
    batch_size: int = 100,
    chunk: int | None = None,
    seed: int = 0,
    binarize: str | None = None,
    progress: bool = True,
) -> dict:
    """Test-set numbers of any model, as a JSON-ready dict (what ``vaelab evaluate`` writes to eval.json).

    * models with importance weights (``vae``, ``conv-vae``, ``guided-vae``, ``vae-2layer``): ``evaluate_nll`` (NLL,
      NLL vs K, ELBO, KL and active units per stochastic layer, warnings); the guided VAE adds its classifier's
      test accuracy (``classifier_accuracy``);
    * deterministic models and PCA: ``evaluate_reconstruction`` (squared error per image, per-pixel MSE, PSNR);
      the denoising autoencoder adds PSNR of noisy vs denoised images (``denoising_psnr``).

    Raises:
        ConfigError: K < 1, a bad ``binarize``, or a split without images (a run trained with ``val_size=0`` has
            no validation images).
    """
    if len(data) == 0:
        raise ConfigError(
            f"{option('split', data.split)}: this run's {data.split} split holds no images (trained with "
            f"{option('val_size', 0)}?); choose another {option('split')}"
        )
    if model.has_importance_weights:
        result = evaluate_nll(model, data, k, batch_size, chunk, seed, binarize, progress)
        if model.has_classifier and data.labels is not None:
            result["classifier_accuracy"] = classifier_accuracy(model, data)
            result["classifier_note"] = "test accuracy of the guided VAE's own classifier on grey images"
        if model.likelihood in CONTINUOUS_LIKELIHOODS:
            name = "Gaussian" if model.likelihood == "gaussian" else "continuous Bernoulli"
            result["nll_note"] = (
                f"{name} density of grey pixels (continuous): not comparable to Bernoulli NLLs "
                "on binarized MNIST" + ("; conditional on the classifier's softmax" if model.has_classifier else "")
            )
        return result
    return evaluate_reconstruction(model, data, seed=seed)


__all__ = ["evaluate", "evaluate_nll", "evaluate_reconstruction", "iw_log_likelihood", "classifier_accuracy"]
