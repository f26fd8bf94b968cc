"""``vaelab evaluate`` (test NLL / reconstruction numbers into eval.json; ``vaelab.api.evaluate_run``, as
``Run.evaluate``) and ``vaelab info`` (what a run is)."""

from __future__ import annotations

import json
from pathlib import Path


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="test ELBO, KL, active units and importance-weighted NLL; writes eval.json")
    p.add_argument("run", type=Path)
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


def cmd_evaluate(args) -> int:
    from vaelab.api import evaluate_run
    from vaelab.runs.open import open_run

    run = open_run(args.run)
    result = evaluate_run(
        run,
        k=args.k,
        split=args.split,
        limit=args.limit,
        batch_size=args.batch_size,
        checkpoint=args.checkpoint,
        seed=args.seed,
        data_dir=args.data_dir,
        device=args.device,
        progress=not args.no_progress,
    )
    print(f"{run.eval_path}:")
    print(f"  {result['split']} split, {result['n_images']} images, binarization {result['binarization']}")
    if "nll" in result:
        print(f"  NLL (K={result['k']}) = {result['nll']:.2f} ± {result['nll_stderr']:.2f} nats")
    print_diagnostics(result)
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


def _add_info(sub):
    p = sub.add_parser("info", help="what a run is: model, data, epochs, best validation score, eval numbers")
    p.add_argument("run", type=Path)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    from vaelab.runs.open import open_run

    run = open_run(args.run)
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
        "packed": run.is_packed,
        "eval": ev,
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
    if ev:
        if "nll" in ev:
            print(
                f"eval       NLL {ev['nll']:.2f} ± {ev['nll_stderr']:.2f} nats (K={ev['k']}, {ev['split']}), "
                f"ELBO {ev['elbo']:.2f}, KL {ev['kl']:.2f}, active units {ev['active_units']}"
            )
        else:
            print("eval       " + ", ".join(f"{k}={v}" for k, v in ev.items()))
    return 0


def register(sub) -> None:
    _add_evaluate(sub)
    _add_info(sub)
