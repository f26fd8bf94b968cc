"""The model card of a packed model (``README.md``), in the Hugging Face Hub's model-card format.

The front matter is the Hub's model-card metadata (https://huggingface.co/docs/hub/model-cards), built with
``huggingface_hub.ModelCardData`` and ``EvalResult``:

* ``library_name: vaelab``, ``license`` (``--license``; default: the training data's terms where known,
  ``DATASET_TERMS``, else ``unknown``), ``tags``, ``datasets`` (the Hub's id of the training data, where it has
  one), ``pipeline_tag`` (``unconditional-image-generation`` for models that sample);
* ``model-index``: one metric entry per number ``vaelab evaluate`` measured (``eval.json``): the NLL with K, the
  split and the binarization in its ``args`` (and the split in the dataset entry), bits per dimension, the ELBO,
  KL, active units, or a deterministic model's reconstruction error and PSNR; with ``--samples``, the Fréchet
  distance, precision and recall of the samples, each with its floor (training against test images) in ``args``;
* ``vaelab``: what the Hub has no field for (model family, image shape, latent dimension, training time, hardware,
  the checkpoint's epoch).

Then a short description and how to load the model (``vaelab.load``).
"""

from __future__ import annotations

import difflib

from vaelab.core.errors import ConfigError
from vaelab.data import dataset_label, public_dataset_name
from vaelab.models.registry import MODELS

# The training data's terms (Hub licence id, the Hub's dataset id or None, where the terms are stated).
DATASET_TERMS = {
    "mnist": ("cc-by-sa-3.0", "ylecun/mnist", "the copyright notice of http://yann.lecun.com/exdb/mnist/"),
    "sklearn-digits": (
        "cc-by-4.0",
        None,
        "UCI Machine Learning Repository, Optical Recognition of Handwritten Digits (CC BY 4.0)",
    ),
    "fashion-mnist": (
        "mit",
        "zalando-datasets/fashion_mnist",
        "https://github.com/zalandoresearch/fashion-mnist (MIT)",
    ),
    "celeba": ("other", None, "CelebA's agreement: non-commercial research and educational use only"),
}
# The emoji sets: Twemoji's graphics are CC BY 4.0, Noto Emoji's Apache 2.0; a mix of the two is "other".
_TWEMOJI = ("cc-by-4.0", None, "Twemoji graphics, Copyright Twitter, Inc. and other contributors (CC BY 4.0)")
_NOTO = ("apache-2.0", None, "Noto Emoji, Google (Apache License 2.0)")
_BOTH = ("other", None, "Twemoji graphics (CC BY 4.0) and Noto Emoji (Apache License 2.0)")
for _base in ("emoji", "emoji-faces"):
    DATASET_TERMS.update({_base: _BOTH, f"{_base}-twitter": _TWEMOJI, f"{_base}-google": _NOTO})
# The Hub's licence identifiers (https://huggingface.co/docs/hub/repositories-licenses).
HUB_LICENSES = (
    "apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0 bigcode-openrail-m "
    "afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0 "
    "cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 "
    "cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0 "
    "cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 agpl-3.0 gfdl gpl "
    "gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc lppl-1.3c ms-pl mpl-2.0 odc-by odbl openrail++ osl-3.0 postgresql "
    "ofl-1.1 ncsa unlicense zlib pddl lgpl-lr deepfloyd-if-license llama2 gemma unknown other"
).split()
# (metric type, eval.json key, name on the Hub)
METRICS = (
    ("nll", "nll", "NLL (importance-weighted, nats per image)"),
    ("bits_per_dim", "bits_per_dim", "NLL in bits per dimension"),
    ("elbo", "elbo", "ELBO (nats per image)"),
    ("kl", "kl", "KL(q(z|x) || p(z)) (nats per image)"),
    ("active_units", "active_units", "active units"),
    ("squared_error", "sq_error", "reconstruction error (squared, summed over pixels, per image)"),
    ("mse", "mse_per_pixel", "mean squared error per pixel"),
    ("psnr", "psnr_db", "PSNR (dB)"),
    ("psnr", "psnr_noisy_db", "PSNR of the noisy input (dB)"),
    ("psnr", "psnr_denoised_db", "PSNR of the denoised output (dB)"),
    ("accuracy", "classifier_accuracy", "reference classifier's accuracy on samples"),
    ("frechet_distance", "samples.frechet_distance", "samples.name"),
    ("precision", "samples.precision", "precision of the samples (Kynkäänniemi et al. 2019, k-NN manifolds)"),
    ("recall", "samples.recall", "recall of the samples (Kynkäänniemi et al. 2019, k-NN manifolds)"),
)


def default_license(dataset: str) -> str:
    """The licence a pack of a model trained on ``dataset`` gets without ``--license``: the data's terms where
    ``DATASET_TERMS`` knows them, else ``unknown``."""
    return DATASET_TERMS.get(dataset, ("unknown",))[0]


def check_license(license: str) -> str:
    """``license`` if it is one of the Hub's licence identifiers, else ``ConfigError`` (with the closest ones)."""
    if license in HUB_LICENSES:
        return license
    close = difflib.get_close_matches(str(license), HUB_LICENSES, n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise ConfigError(
        f"license {license!r}: expected one of the Hugging Face Hub's licence identifiers (e.g. mit, apache-2.0, "
        f"cc-by-4.0; 'other' for any other licence, 'unknown'){hint}"
    )


def _eval_results(config: dict, ev: dict | None, probabilistic: bool) -> list:
    """One ``huggingface_hub.EvalResult`` per number of ``eval.json`` (``METRICS``)."""
    from huggingface_hub import EvalResult

    if not ev:
        return []
    name = public_dataset_name(config["dataset"]["name"])  # an image folder's base name, never its path
    hub_id = DATASET_TERMS.get(name, (None, None))[1]
    out = []
    for metric, key, label in METRICS:
        raw = _lookup(ev, key)
        if raw is None:
            continue
        args = {"split": ev.get("split"), "binarization": ev.get("binarization")}
        if key == "nll":  # the NLL's entry states its K, split and binarization itself
            args = {"k": ev.get("k"), "stderr": ev.get("nll_stderr"), **args}
        if key.startswith("samples."):  # vaelab evaluate --samples: N, k and the floor (training vs test images)
            s, field = ev["samples"], key.split(".")[1]
            args = {"n_samples": s["n_samples"], "k": s["k"], "floor": round(s["reference"][field], 4), **args}
            label = _lookup(ev, label) if label.startswith("samples.") else label
        value = raw if isinstance(raw, int) else round(float(raw), 4)
        out.append(
            EvalResult(
                task_type="unconditional-image-generation" if probabilistic else "image-to-image",
                dataset_type=hub_id or name,
                dataset_name=name,
                dataset_split=ev.get("split"),
                dataset_args={"binarization": ev.get("binarization"), "n_images": ev.get("n_images")},
                metric_type=metric,
                metric_value=value,
                metric_name=f"{label}, K = {ev.get('k')}" if key == "nll" else label,
                metric_args={k: v for k, v in args.items() if v is not None},
            )
        )
    return out


def _lookup(ev: dict, key: str):
    """``ev[key]``, or ``ev[a][b]`` for a dotted key ``a.b``; None where absent."""
    for part in key.split("."):
        ev = ev.get(part) if isinstance(ev, dict) else None
    return ev


def card_data(config: dict, ev: dict | None, metrics: list[dict], epoch: int | None, license: str | None = None):
    """The card's front matter as a ``huggingface_hub.ModelCardData`` (module docstring).

    Args:
        config: the run's ``config.json``. ev: its ``eval.json`` (or None). metrics: its ``metrics.jsonl``
            records (training time is the sum of their ``time_s``). epoch: the packed checkpoint's epoch.
        license: a Hub licence id (default ``default_license`` of the dataset).

    Raises:
        ConfigError: ``license`` is not a Hub licence identifier.
    """
    from huggingface_hub import ModelCardData

    family, ds = config["model"], public_dataset_name(config["dataset"]["name"])
    probabilistic = bool(MODELS[family][1].probabilistic)
    kind = "variational-autoencoder" if probabilistic else "pca" if family == "pca" else "autoencoder"
    hub_id = DATASET_TERMS.get(ds, (None, None))[1]
    return ModelCardData(
        library_name="vaelab",
        license=check_license(license or default_license(ds)),
        tags=["vaelab", family, kind, dataset_label(ds)],
        datasets=[hub_id] if hub_id else None,
        pipeline_tag="unconditional-image-generation" if probabilistic else None,
        model_name=config.get("name"),
        eval_results=_eval_results(config, ev, probabilistic) or None,
        vaelab=_vaelab_section(config, ev, metrics, epoch),
    )


def _vaelab_section(config: dict, ev: dict | None, metrics: list[dict], epoch: int | None) -> dict:
    """What the Hub's metadata has no field for: family, data, image shape, training time and hardware."""
    env, train, mc = config.get("environment", {}), config.get("train", {}), config.get("model_config", {})
    seconds = sum(float(r.get("time_s", 0.0)) for r in metrics)
    return {
        "version": env.get("vaelab"),
        "model_family": config["model"],
        "run_name": config.get("name"),
        "dataset": public_dataset_name(config["dataset"]["name"]),
        "n_train": config["dataset"].get("n_train"),
        "image_shape": list(mc.get("image_shape", [])),
        "latent_dim": mc.get("latent_dim"),
        "likelihood": (ev or {}).get("likelihood", mc.get("likelihood")),
        "training": {
            "epochs": metrics[-1]["epoch"] if metrics else None,
            "checkpoint_epoch": epoch,
            "seconds": float(f"{seconds:.3g}"),  # 3 significant digits: a run of 0.04 s is not "0.0 s"
            "batch_size": train.get("batch_size"),
            "lr": train.get("lr"),
            "seed": train.get("seed"),
            "binarize": train.get("binarize"),
            "device": train.get("device"),
            "hardware": f"{env.get('processor', '?')}, {env.get('threads', '?')} torch threads, "
            f"{env.get('platform', '?')}",
            "torch": env.get("torch"),
        },
        "weights": "model.safetensors",
    }


def _numbers(ev: dict | None) -> str:
    if ev and "nll" in ev:
        return (
            f"Test NLL **{ev['nll']:.2f} ± {ev['nll_stderr']:.2f} nats** per image (importance-weighted, "
            f"K = {ev['k']}, {ev['split']} split of {ev['n_images']} images, binarization: {ev['binarization']}); "
            f"ELBO {ev['elbo']:.2f}."
            + (f" In bits per dimension: {ev['bits_per_dim']:.4f}." if "bits_per_dim" in ev else "")
            + _sample_sentence(ev.get("samples"))
        )
    if ev and "sq_error" in ev:
        psnr = f", PSNR {ev['psnr_db']:.2f} dB" if "psnr_db" in ev else ""
        return (
            f"Test reconstruction error **{ev['sq_error']:.2f}** (squared error per image, summed over pixels)"
            f"{psnr} ({ev['split']} split of {ev['n_images']} images)."
        )
    return "Not evaluated."


def _sample_sentence(s: dict | None) -> str:
    """The card's sentence on ``vaelab evaluate --samples``: the scores and their floor; empty without them."""
    if not s:
        return ""
    ref = s["reference"]
    return (
        f" Samples ({s['n_samples']}): {s['name']} {s['frechet_distance']:.3f}, precision {s['precision']:.3f}, "
        f"recall {s['recall']:.3f} (k = {s['k']}; {ref['what']}: {ref['frechet_distance']:.3f}, "
        f"{ref['precision']:.3f}, {ref['recall']:.3f})."
    )


def model_card(config: dict, ev: dict | None, metrics: list[dict], epoch: int | None, license: str | None = None):
    """``README.md`` of a packed model: the front matter (``card_data``), then what the model is and how to use it.

    Returns:
        The card's text (a ``huggingface_hub.ModelCard``'s content).
    """
    from huggingface_hub import ModelCard

    data = card_data(config, ev, metrics, epoch, license)
    v = data.vaelab
    t = v["training"]
    body = [
        f"# {v['run_name']}: a vaelab `{v['model_family']}` on `{v['dataset']}`",
        "",
        f"Latent dimension {v['latent_dim']}, images {'x'.join(map(str, v['image_shape']))} "
        "(C x H x W, pixels in [0, 1]).",
        "",
        _numbers(ev),
        "",
        f"Trained {t['epochs']} epoch{'' if t['epochs'] == 1 else 's'} ({t['seconds']} s on {t['hardware']}; "
        f"device setting {t['device']}); these weights are from epoch {t['checkpoint_epoch']}.",
        "",
        f"Licence: `{data.license}` (the training data's terms where vaelab knows them; check them before reuse)."
        + (f" Training data: {DATASET_TERMS[v['dataset']][2]}." if v["dataset"] in DATASET_TERMS else ""),
        "",
        "## Use",
        "",
        "```python",
        "import vaelab",
        "run = vaelab.load('ORG/NAME')   # this repository on the Hugging Face Hub, or a local folder",
        "model = run.model               # a torch.nn.Module: model.encode(x), model.decode(z), model.sample(n)",
        "```",
        "",
        "or `vaelab sample FOLDER`, `vaelab evaluate FOLDER`, `vaelab explore FOLDER` on a downloaded copy.",
        "",
        "The weights are `model.safetensors` (safetensors: no pickle); `config.json` holds every option.",
        "",
    ]
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body)))


__all__ = ["DATASET_TERMS", "HUB_LICENSES", "card_data", "check_license", "default_license", "model_card"]
