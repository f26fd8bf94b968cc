"""What a run's ``eval.json`` and the records of its ``metrics.jsonl`` hold, checked alike in a run folder
(``vaelab.runs.files.RunFiles``) and a packed folder (``vaelab.runs.pack_read``), so that every reader (``vaelab
info``, the model card, the figures) meets the types it formats. The field kinds are ``vaelab.runs.pack_check``'s.
"""

from __future__ import annotations

from vaelab.core.errors import PackError
from vaelab.runs.pack_check import (
    BOOL,
    INT0,
    INT1,
    NUM,
    SPLITS,
    STR,
    Fields,
    Kind,
    ListOf,
    MapOf,
    check_value,
    is_num,
    one_of,
)

_NUMBERS = ("nll", "nll_stderr", "elbo", "elbo_stderr", "elbo_gap", "recon_nll", "kl", "active_unit_threshold",
            "sq_error", "mse_per_pixel", "psnr_db", "psnr_noisy_db", "psnr_denoised_db", "classifier_accuracy",
            "seconds", "bits_per_dim", "bits_per_dim_stderr", "bits_per_dim_offset")  # fmt: skip
_TEXTS = ("dataset", "likelihood", "binarization", "units", "checkpoint", "nll_vs_k_note", "bits_per_dim_note")
_SCORES = {"frechet_distance": NUM, "precision": NUM, "recall": NUM}
SAMPLE_SCORES = Fields(  # vaelab evaluate --samples (vaelab.evaluate.sample_quality)
    {
        **_SCORES,
        "n_samples": INT1,
        "n_test": INT1,
        "k": INT1,
        "name": STR,
        "feature_space": STR,
        "samples": STR,
        "seed": INT0,
        "seconds": NUM,
        "classifier": STR,
        "classifier_test_accuracy": Kind(lambda v: v is None or is_num(v), "a finite number or null"),
        "reference": Fields({**_SCORES, "what": STR}, required=(*_SCORES, "what")),
    },
    required=(*_SCORES, "n_samples", "n_test", "k", "name", "reference"),
)
EVAL = Fields(
    {
        **dict.fromkeys(_NUMBERS, NUM),
        **dict.fromkeys(_TEXTS, STR),
        "k": INT1,
        "n_images": INT1,
        "latent_dim": INT1,
        "active_units": INT0,
        "seed": INT0,
        "split": one_of(*SPLITS),
        "nll_vs_k": ListOf(Fields({"k": INT1, "nll": NUM, "nll_stderr": NUM}, required=("k", "nll"))),
        "layers": MapOf(Fields({"latent_dim": INT1, "active_units": INT0, "kl": NUM, "kl_per_dim": ListOf(NUM)})),
        "warnings": ListOf(STR),
        "samples": SAMPLE_SCORES,
    },
    required=("split", "n_images"),
)
EVAL_NLL = ("nll_stderr", "k", "elbo", "kl", "active_units", "binarization")  # stated with every NLL
METRICS_RECORD = Fields(
    {"epoch": INT1, "step": INT0, "time_s": NUM, "best": BOOL, "closed_form": BOOL, "early_stopped": BOOL},
    required=("epoch",),
    other=Kind(lambda v: is_num(v) or isinstance(v, bool), "a finite number"),
)


def check_eval(ev, where: str) -> None:
    """``eval.json``'s content ``ev`` against ``EVAL``; an NLL comes with the numbers stated with it (``EVAL_NLL``).

    Raises:
        PackError: a malformed or missing field, naming ``where`` and the field.
    """
    check_value(ev, EVAL, where, "")
    if "nll" in ev:
        for key in EVAL_NLL:
            if key not in ev:
                raise PackError(f"{where}: field {key}: missing (required with nll)")


def check_metrics_record(record, where: str) -> None:
    """One ``metrics.jsonl`` record against ``METRICS_RECORD`` (``PackError`` naming ``where`` and the field)."""
    check_value(record, METRICS_RECORD, where, "")


__all__ = ["EVAL", "EVAL_NLL", "METRICS_RECORD", "SAMPLE_SCORES", "check_eval", "check_metrics_record"]
