"""``vaelab evaluate`` (test NLL / reconstruction numbers into eval.json; ``vaelab.api.evaluate_run``, as
``Run.evaluate``) and ``vaelab info`` (what a run is)."""

from __future__ import annotations

import json

from vaelab.cli.parser import run_folder


def _add_evaluate(p):
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import add_options
    from vaelab.core.commands import EvaluateOptions

    p.add_argument("run", type=run_folder, metavar="RUN", help="run folder or packed run")
    add_options(p, EvaluateOptions)
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.api import evaluate_run
    from vaelab.cli.declared import options_from
    from vaelab.core.commands import EvaluateOptions
    from vaelab.runs.open import open_run

    options = options_from(args, EvaluateOptions)
    run = open_run(args.run)
    if options.progress:  # the bar that follows shows the time left
        n = "all" if options.limit is None else f"the first {options.limit:,}"
        print(f"evaluating {run.path} on {n} {options.split} images (K = {options.k:,} for the NLL) ...", flush=True)
    result = evaluate_run(run, **options.model_dump())
    print(f"{run.eval_path}:")
    print(f"  {result['split']} split, {result['n_images']} images, binarization {result['binarization']}")
    if "nll" in result:
        print(
            f"  NLL (K={result['k']}) = {result['nll']:.2f} ± {result['nll_stderr']:.2f} nats per image = "
            f"{result['bits_per_dim']:.4f} ± {result['bits_per_dim_stderr']:.4f} bits/dim"
        )
    print_diagnostics(result)
    if "samples" in result:
        for line in sample_lines(result["samples"]):
            print(f"  {line}")
    for key in (
        "elbo",
        "recon_nll",
        "kl",
        "active_units",
        "sq_error",
        "mse_per_pixel",
        "psnr_db",
        "psnr_noisy_db",
        "psnr_denoised_db",
        "classifier_accuracy",
    ):
        if key in result:
            fmt = ".5f" if key == "mse_per_pixel" else ".4f" if key == "classifier_accuracy" else ".2f"
            print(f"  {key} = {result[key]:{fmt}}" if isinstance(result[key], float) else f"  {key} = {result[key]}")
    return 0


def sample_lines(s: dict) -> list[str]:
    """The sample scores of an eval.json (``result["samples"]``) as lines of text, with the floor beside them."""
    ref = s["reference"]
    return [
        f"{s['name']} ({s['n_samples']} samples vs {s['n_test']} test images): {s['frechet_distance']:.3f} "
        f"(floor, {ref['what']}: {ref['frechet_distance']:.3f})",
        f"precision {s['precision']:.3f}, recall {s['recall']:.3f} (k = {s['k']}; floor {ref['precision']:.3f}, "
        f"{ref['recall']:.3f}; classifier test accuracy {s.get('classifier_test_accuracy') or float('nan'):.4f})",
    ]


def print_diagnostics(result: dict) -> None:
    """Print the NLL-vs-K convergence, the ELBO - NLL gap, each stochastic layer's active units and KL, and the
    warnings of an ``evaluate_nll`` result (stdout; warnings on stderr). Prints nothing for other results."""
    import sys

    if "nll_vs_k" in result:
        steps = ", ".join(f"K={r['k']}: {r['nll']:.2f} ± {r['nll_stderr']:.2f}" for r in result["nll_vs_k"])
        print(f"  NLL vs K (first K of the same samples): {steps}")
        print(f"  ELBO - NLL gap = {result['elbo_gap']:.2f} nats (log p(x) estimate minus ELBO)")
    for name, layer in result.get("layers", {}).items():
        per_dim = sorted(layer["kl_per_dim"], reverse=True)
        top = ", ".join(f"{v:.2f}" for v in per_dim[:5])
        print(
            f"  layer {name}: {layer['active_units']}/{layer['latent_dim']} active units, KL {layer['kl']:.2f} "
            f"nats (largest per unit: {top})"
        )
    for warning in result.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)


def _add_info(p):
    p.add_argument("run", type=run_folder, metavar="RUN", help="run folder or packed run")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.runs.open import open_run
    from vaelab.runs.recreate import missing_pieces
    from vaelab.runs.spec import RunSpec

    run = open_run(args.run)
    cfg, metrics, ev = run.load_config(), run.read_metrics(), run.read_eval()
    if not run.is_packed:  # a pack is checked field by field when opened; a run folder's config.json here
        RunSpec.from_config(cfg, run.config_path)
    missing = missing_pieces(cfg, packed=run.is_packed)
    info = {
        "run": str(run.path),
        "model": cfg["model"],
        "model_config": cfg["model_config"],
        "dataset": cfg["dataset"],
        "train": cfg["train"],
        "epochs_done": metrics[-1]["epoch"] if metrics else 0,
        "last_epoch": metrics[-1] if metrics else None,
        "checkpoints": sorted(p.name for p in run.checkpoints.glob("*.pt")) if run.checkpoints.is_dir() else [],
        "packed": run.is_packed,
        "eval": ev,
        "recreate_from_config": not missing,
        "missing_pieces": missing,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"run        {info['run']}")
    print(f"model      {cfg['model']}  " + " ".join(f"{k}={v}" for k, v in cfg["model_config"].items()))
    ds = cfg["dataset"]
    print(f"data       {ds['name']}: {ds.get('n_train')} train / {ds.get('n_val')} val images")
    print(
        f"training   {info['epochs_done']}/{cfg['train']['epochs']} epochs, batch {cfg['train']['batch_size']}, "
        f"lr {cfg['train']['lr']}, seed {cfg['train']['seed']}, binarize {cfg['train']['binarize']}"
    )
    if metrics:
        last = metrics[-1]
        print("last epoch " + ", ".join(f"{k}={v:.2f}" for k, v in last.items() if k.startswith("val_")))
    none = "none (packed: model.safetensors)" if run.is_packed else "none"
    print(f"checkpoints {', '.join(info['checkpoints']) or none}")
    print(f"re-create  {'no: ' + '; '.join(missing) if missing else 'yes, from config.json alone'}")
    if ev:
        if "nll" in ev:
            bits = f" = {ev['bits_per_dim']:.4f} bits/dim" if "bits_per_dim" in ev else ""
            print(
                f"eval       NLL {ev['nll']:.2f} ± {ev['nll_stderr']:.2f} nats{bits} (K={ev['k']}, {ev['split']}), "
                f"ELBO {ev['elbo']:.2f}, KL {ev['kl']:.2f}, active units {ev['active_units']}"
            )
        else:
            print("eval       " + ", ".join(f"{k}={v}" for k, v in ev.items() if k != "samples"))
        if "samples" in ev:
            for line in sample_lines(ev["samples"]):
                print(f"samples    {line}")
    return 0


COMMANDS = {
    "evaluate": ("test ELBO, KL, active units and importance-weighted NLL; writes eval.json", _add_evaluate),
    "info": ("what a run is: model, data, epochs, best validation score, eval numbers", _add_info),
}
