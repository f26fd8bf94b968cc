"""``vaelab train``: train a model into runs/<name>/ (or continue one with --resume)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vaelab.cli.args import int_list
from vaelab.core.errors import ConfigError


def _std(text: str):
    if text == "learned":
        return text  # becomes decoder_std=None (learned) in _train_options
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number or 'learned'") from None


def _load_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"--config {path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config {path}: not valid TOML ({exc})") from None


# model options that the train flags map to (None = not given, the model's default applies)
MODEL_FLAGS = ("latent_dim", "hidden", "activation", "likelihood", "decoder_std", "beta", "k")
FAMILY_FLAGS = ("noise", "noise_level", "loss", "classifier_weight", "classifier_hidden", "channels")
TRAIN_FLAGS = ("epochs", "batch_size", "lr", "seed", "binarize", "device")


def _add_train(sub):
    p = sub.add_parser("train", help="train a model; writes runs/<name>/",
                       description="Train a model into runs/<name>/ (config.json, checkpoints, metrics.jsonl, "
                       "tensorboard/). Options from --config FILE.toml ([model], [train], [data] tables, or flat "
                       "keys) are overridden by flags given on the command line.")
    p.add_argument("--config", type=Path, help="TOML file with options")
    p.add_argument("--model", default=None, help="model family (default vae)")
    p.add_argument("--dataset", default=None, help="mnist, frey-face or olivetti-faces (default mnist)")
    p.add_argument("--data-dir", type=Path, default=None, help="folder with <dataset>/<files> (before $VAELAB_DATA)")
    p.add_argument("--name", default=None, help="run name (default: <model>-<dataset>-z<D>)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"), help="parent folder of runs (default runs/)")
    p.add_argument("--resume", action="store_true", help="continue the run --name from its last checkpoint")
    g = p.add_argument_group("model")
    g.add_argument("--latent-dim", type=int, help="size of z (default 20)")
    g.add_argument("--hidden", type=int_list, help="hidden layer sizes, e.g. 512,256 (default 400)")
    g.add_argument("--activation", help="relu, tanh, sigmoid, elu, gelu, softplus, leaky_relu")
    g.add_argument("--likelihood", help="bernoulli (binarized pixels) or gaussian")
    g.add_argument("--decoder-std", type=_std, help="Gaussian decoder std, or 'learned'")
    g.add_argument("--beta", type=float, help="KL weight (1 = ELBO)")
    g.add_argument("--k", type=int, help="Monte-Carlo samples of z per image in the loss")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--binarize", choices=["dynamic", "static", "none"])
    t.add_argument("--val-size", type=int, help="validation images carved from the end of train")
    t.add_argument("--limit", type=int, help="train on the first N training images only")
    t.add_argument("--device", help="auto (default), cpu, cuda, cuda:N, mps")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_train_flags(g)
    p.set_defaults(func=cmd_train)


def add_train_flags(group) -> None:
    group.add_argument("--noise", choices=["none", "gaussian", "salt-pepper"],
                       help="ae / dae: input corruption (dae default gaussian)")
    group.add_argument("--noise-level", type=float, help="dae: Gaussian sigma or salt-and-pepper rate (default 0.5)")
    group.add_argument("--ae-loss", dest="loss", choices=["mse", "bce"],
                       help="autoencoders: squared error (default) or cross-entropy on grey pixels")
    group.add_argument("--classifier-weight", type=float, help="guided-vae: weight of the cross-entropy (default 10)")
    group.add_argument("--classifier-hidden", type=int_list, help="guided-vae: classifier MLP sizes (default 128)")
    group.add_argument("--channels", type=int_list, help="conv-vae: channels of the stride-2 convolutions (32,64)")


def _train_options(args) -> tuple[str, str, dict, dict, dict]:
    file_cfg = _load_toml(args.config) if args.config else {}
    model_opts = dict(file_cfg.get("model", {}))
    train_opts = dict(file_cfg.get("train", {}))
    data_opts = dict(file_cfg.get("data", {}))
    for key, value in file_cfg.items():  # flat keys
        if not isinstance(value, dict):
            if key in MODEL_FLAGS or key not in TRAIN_FLAGS + ("model", "dataset", "name", "val_size", "limit"):
                model_opts.setdefault(key, value)
            else:
                (train_opts if key in TRAIN_FLAGS else data_opts).setdefault(key, value)
    for key in ("model", "dataset", "name", "val_size", "limit"):
        if key in model_opts:
            data_opts[key] = model_opts.pop(key)
    model_name = args.model or data_opts.pop("model", None) or "vae"
    dataset = args.dataset or data_opts.pop("dataset", None) or "mnist"
    for key in MODEL_FLAGS + FAMILY_FLAGS:
        value = getattr(args, key, None)
        if value is not None:
            model_opts[key] = None if (key == "decoder_std" and value == "learned") else value
    for key in TRAIN_FLAGS:
        if getattr(args, key, None) is not None:
            train_opts[key] = getattr(args, key)
    for key in ("val_size", "limit", "name"):
        if getattr(args, key, None) is not None:
            data_opts[key] = getattr(args, key)
    return model_name, dataset, model_opts, train_opts, data_opts


def cmd_train(args) -> int:
    from vaelab.train.trainer import TrainConfig, train

    model_name, dataset, model_opts, train_opts, data_opts = _train_options(args)
    if args.no_progress:
        train_opts["progress"] = False
    if not args.resume:  # the model family's preferred training defaults (flags and --config override them)
        from vaelab.models.registry import train_defaults

        train_opts = {**train_defaults(model_name), **train_opts}
    train_cfg = TrainConfig.from_dict(train_opts)
    name = data_opts.get("name") or f"{model_name}-{dataset}-z{model_opts.get('latent_dim', 'd')}"
    run_dir = args.runs_dir / name
    if args.resume and not (run_dir / "config.json").is_file():
        raise ConfigError(f"--resume: {run_dir} is not a run directory (no config.json); check --name / --runs-dir")
    run, trainer, records = train(
        run_dir, model_name, model_opts, train_cfg, dataset, args.data_dir,
        data_opts.get("val_size"), data_opts.get("limit"), resume=args.resume,
    )
    metrics = run.read_metrics()
    last = metrics[-1] if metrics else {}
    print(f"run: {run.path}")
    if last:
        shown = ", ".join(f"{k}={last[k]:.2f}" for k in ("val_loss", "val_elbo") if k in last)
        print(f"epoch {last['epoch']}: {shown}")
    return 0


def register(sub) -> None:
    _add_train(sub)
