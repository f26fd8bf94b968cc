"""The ``vaelab`` command line. Each sub-command is a ``cmd_<name>(args)`` function with its parser set up in
``_add_<name>``; errors of vaelab's own types are printed as one clear line (no traceback), exit status 2 for
bad input and 1 for failures during work."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vaelab.errors import ConfigError, VaelabError


# helpers ---------------------------------------------------------------------------------------------------
def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers, e.g. 512,256") from None
    return values


def _std(text: str):
    if text == "learned":
        return text  # becomes decoder_std=None (learned) in _train_options
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number or 'learned'") from None


def _run_arg(text: str) -> Path:
    return Path(text)


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
    g.add_argument("--hidden", type=_int_list, help="hidden layer sizes, e.g. 512,256 (default 400)")
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
    extra = []
    for mod in _command_modules():
        mod.add_train_flags(g)
        extra += list(mod.TRAIN_MODEL_FLAGS)
    p.set_defaults(func=cmd_train, _extra_model_flags=tuple(extra))


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
    for key in MODEL_FLAGS + tuple(getattr(args, "_extra_model_flags", ())):
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
    from vaelab.training import TrainConfig, train

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


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="test ELBO, KL, active units and importance-weighted NLL; writes eval.json")
    p.add_argument("run", type=_run_arg)
    p.add_argument("--k", type=int, default=1000, help="importance samples K (default 1000)")
    p.add_argument("--split", default="test", choices=["test", "val", "train"])
    p.add_argument("--limit", type=int, help="first N images of the split only")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_evaluate)


def _load_split(run, split: str, data_dir=None, limit=None):
    from vaelab.data import load_dataset

    ds = run.load_config()["dataset"]
    return load_dataset(ds["name"], split, data_dir or ds.get("data_dir"), val_size=ds.get("val_size"), limit=limit)


def cmd_evaluate(args) -> int:
    from vaelab.evaluation import evaluate
    from vaelab.runs import RunDir
    from vaelab.training import select_device

    run = RunDir(args.run).require()
    model = run.load_model(args.checkpoint, select_device(args.device))
    data = _load_split(run, args.split, args.data_dir, args.limit)
    result = evaluate(model, data, k=args.k, batch_size=args.batch_size, seed=args.seed,
                      progress=not args.no_progress)
    result["checkpoint"] = args.checkpoint
    run.save_eval(result)
    print(f"{run.eval_path}:")
    print(f"  {result['split']} split, {result['n_images']} images, binarization {result['binarization']}")
    if "nll" in result:
        print(f"  NLL (K={result['k']}) = {result['nll']:.2f} ± {result['nll_stderr']:.2f} nats")
    for key in ("elbo", "recon_nll", "kl", "active_units", "sq_error", "mse_per_pixel", "psnr_db", "psnr_noisy_db",
                "psnr_denoised_db", "classifier_accuracy"):
        if key in result:
            fmt = ".5f" if key == "mse_per_pixel" else ".4f" if key == "classifier_accuracy" else ".2f"
            print(f"  {key} = {result[key]:{fmt}}" if isinstance(result[key], float) else f"  {key} = {result[key]}")
    return 0


def _add_sample(sub):
    p = sub.add_parser("sample", help="PNG grid of images decoded from prior samples")
    p.add_argument("run", type=_run_arg)
    p.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="PNG path (default RUN/figures/samples.png)")
    p.set_defaults(func=cmd_sample)


def cmd_sample(args) -> int:
    import math

    import torch

    from vaelab.plots.grids import save_grid
    from vaelab.runs import RunDir

    if args.n < 1:
        raise ConfigError(f"-n {args.n}: expected at least 1 sample")
    run = RunDir(args.run).require()
    model = run.load_model()
    imgs = model.sample(args.n, generator=torch.Generator().manual_seed(args.seed))
    out = save_grid(imgs, args.out or run.figures / "samples.png", nrow=int(math.ceil(math.sqrt(args.n))))
    print(out)
    return 0


def _add_reconstruct(sub):
    p = sub.add_parser("reconstruct", help="PNG of test images (odd rows) above their reconstructions (even rows)")
    p.add_argument("run", type=_run_arg)
    p.add_argument("-n", type=int, default=32, help="number of test images (default 32)")
    p.add_argument("--per-row", type=int, default=16)
    p.add_argument("--out", type=Path, help="PNG path (default RUN/figures/reconstructions.png)")
    p.add_argument("--data-dir", type=Path)
    p.set_defaults(func=cmd_reconstruct)


def cmd_reconstruct(args) -> int:
    import torch

    from vaelab.plots.grids import save_grid
    from vaelab.runs import RunDir

    if args.n < 1 or args.per_row < 1:
        raise ConfigError("-n and --per-row: expected integers >= 1")
    run = RunDir(args.run).require()
    model = run.load_model()
    x = _load_split(run, "test", args.data_dir, args.n).images
    with torch.no_grad():
        r = model.reconstruct(x)
    rows = []
    for i in range(0, len(x), args.per_row):
        rows += [x[i : i + args.per_row], r[i : i + args.per_row]]
    out = save_grid(torch.cat(rows), args.out or run.figures / "reconstructions.png", nrow=args.per_row)
    print(out)
    return 0


def _add_info(sub):
    p = sub.add_parser("info", help="what a run is: model, data, epochs, best validation score, eval numbers")
    p.add_argument("run", type=_run_arg)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    from vaelab.runs import RunDir

    run = RunDir(args.run).require()
    cfg, metrics, ev = run.load_config(), run.read_metrics(), run.read_eval()
    info = {
        "run": str(run.path),
        "model": cfg["model"],
        "model_config": cfg["model_config"],
        "dataset": cfg["dataset"],
        "train": cfg["train"],
        "epochs_done": metrics[-1]["epoch"] if metrics else 0,
        "last_epoch": metrics[-1] if metrics else None,
        "checkpoints": sorted(p.name for p in run.checkpoints.glob("*.pt")) if run.checkpoints.is_dir() else [],
        "eval": ev,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"run        {info['run']}")
    print(f"model      {cfg['model']}  " + " ".join(f"{k}={v}" for k, v in cfg["model_config"].items()))
    ds = cfg["dataset"]
    print(f"data       {ds['name']}: {ds.get('n_train')} train / {ds.get('n_val')} val images")
    print(f"training   {info['epochs_done']}/{cfg['train']['epochs']} epochs, batch {cfg['train']['batch_size']}, "
          f"lr {cfg['train']['lr']}, seed {cfg['train']['seed']}, binarize {cfg['train']['binarize']}")
    if metrics:
        last = metrics[-1]
        print("last epoch " + ", ".join(f"{k}={v:.2f}" for k, v in last.items() if k.startswith("val_")))
    print(f"checkpoints {', '.join(info['checkpoints']) or 'none'}")
    if ev:
        if "nll" in ev:
            print(f"eval       NLL {ev['nll']:.2f} ± {ev['nll_stderr']:.2f} nats (K={ev['k']}, {ev['split']}), "
                  f"ELBO {ev['elbo']:.2f}, KL {ev['kl']:.2f}, active units {ev['active_units']}")
        else:
            print("eval       " + ", ".join(f"{k}={v}" for k, v in ev.items()))
    return 0


PARSER_BUILDERS = [_add_train, _add_evaluate, _add_sample, _add_reconstruct, _add_info]


def _command_modules():
    import importlib

    from vaelab.commands import COMMAND_MODULES

    return [importlib.import_module(name) for name in COMMAND_MODULES]


def build_parser() -> argparse.ArgumentParser:
    from vaelab import __version__

    parser = argparse.ArgumentParser(prog="vaelab", description="Variational autoencoders on image data.")
    parser.add_argument("--version", action="version", version=f"vaelab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in PARSER_BUILDERS:
        add(sub)
    for mod in _command_modules():
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"vaelab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except VaelabError as exc:
        print(f"vaelab {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"vaelab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
