"""``vaelab reproduce RECIPE`` (a paper's protocol: train, evaluate, write result.json) and ``vaelab leaderboard``
(the Markdown table of papers' numbers next to vaelab's, from result files).

A recipe is a TOML file of ``configs/recipes/`` (``vaelab.runs.recipes``). ``reproduce`` trains it into
``--runs-dir/<recipe>`` (or ``--name``), evaluates the parameters the protocol tests (the last ones, or with
``[recipe] checkpoint = "best"`` those of the best validation epoch) on the test split with the recipe's K and
writes ``eval.json`` and ``result.json`` (``vaelab.runs.results.result_record``); everything it does differently
from the paper (the recipe's known deviations, options this vaelab cannot apply yet, ``--epochs`` shorter than the
protocol, another K, fewer images) is listed in both files.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from pathlib import Path

from vaelab.cli.args import table

RECIPE_INFO = "recipe.json"  # RUN/recipe.json: which recipe made the run, and what of it was not applied
SUMMARY_RECORDS = 40  # metrics records kept in a published metrics-summary.json


def hardware_description(device) -> str:
    """Where a run trained (``device``: a ``torch.device``), in words: the GPU's name, or the CPU's model, cores and
    torch threads."""
    import torch  # here, not at the top: `vaelab --help` imports this module and must stay light

    if device.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(device)}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = torch.get_num_threads()
    return f"{os.cpu_count()}-core CPU ({cpu}), {threads} torch thread{'' if threads == 1 else 's'}"


def _add_reproduce(p) -> None:
    p.description = (
        "Train a named recipe (a paper's protocol, configs/recipes/RECIPE.toml) into RUNS_DIR/RECIPE, "
        "evaluate the parameters the protocol tests (the last, or the best validation epoch's where the recipe "
        "says so) on the test split with the recipe's K (5000 for the papers here) and write "
        "eval.json and result.json, which list every difference from the paper's protocol. --list shows the "
        "recipes with their papers' numbers."
    )
    p.add_argument("recipe", nargs="?", help="recipe name, e.g. burda-iwae-1layer-k5 (see --list)")
    p.add_argument("--list", action="store_true", help="list the recipes with their papers' numbers and exit")
    p.add_argument("--epochs", type=int, help="train this many epochs instead of the protocol's (labelled shorter)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"), help="parent folder of runs (default runs/)")
    p.add_argument("--name", help="run name (default: the recipe's name)")
    p.add_argument("--resume", action="store_true", help="continue the recipe's run (e.g. with more --epochs)")
    p.add_argument("--recipes", type=Path, help="folder of recipe files (default: configs/recipes of the source)")
    p.add_argument("--eval-k", type=int, help="importance samples of the test NLL (default: the recipe's, 5000)")
    p.add_argument("--limit", type=int, help="train on the first N training images only (labelled)")
    p.add_argument("--eval-limit", type=int, help="evaluate on the first N test images only (labelled)")
    p.add_argument("--data-dir", type=Path, help="folder holding <dataset>/<files>")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument(
        "--compile",
        choices=("off", "default", "reduce-overhead"),
        help="torch.compile the training steps (reduce-overhead: also CUDA graphs); may change when resuming",
    )
    p.add_argument(
        "--backward",
        choices=("autograd", "manual"),
        help="how gradients are computed: autograd, or manual (by hand, for the plain MLP VAE with k = 1: faster "
        "steps on a CPU, equal to autograd's up to float32 rounding); may change when resuming",
    )
    p.add_argument(
        "--reuse-eval",
        action="store_true",
        help="with --resume on a finished run: rewrite result.json from its eval.json instead of evaluating again "
        "(e.g. after the recipe's notes changed)",
    )
    p.add_argument(
        "--relay",
        type=Path,
        metavar="DIR",
        help="keep a relay snapshot (snapshot.safetensors, pickle-free) of the run in DIR and continue from it when "
        "it is further than the run folder, on any machine; evaluates only once the protocol's epochs are done "
        "(e.g. docs/results/RECIPE/relay; see make relay)",
    )
    p.add_argument(
        "--relay-every",
        type=float,
        default=10.0,
        metavar="MINUTES",
        help="with --relay: the least time between two snapshots, written at epoch ends (default 10); one is also "
        "written after the last epoch and on Ctrl-C, SIGTERM or SIGUSR1",
    )
    p.add_argument(
        "--stop-after",
        type=float,
        metavar="MINUTES",
        help="stop cleanly (checkpoint and snapshot written) once this much training time has passed",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars or per-epoch lines")
    p.set_defaults(func=cmd_reproduce)


def print_recipes(recipes) -> None:
    rows = [
        [
            r.name,
            f"{r.paper_nll:.2f}",
            r.paper_k,
            r.epochs,
            r.doc.get("model", {}).get("family", "vae"),
            f"{r.paper}, {r.table}",
        ]
        for r in recipes
    ]
    print(table(rows, ["recipe", "paper NLL", "paper K", "epochs", "model", "paper (table row)"]))


def _check_positive(value, flag: str) -> None:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.errors import ConfigError

    if value is not None and int(value) < 1:
        raise ConfigError(f"{flag} {value}: expected an integer >= 1")


def cmd_reproduce(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.commands import MAX_K
    from vaelab.core.errors import ConfigError
    from vaelab.runs.recipes import list_recipes, load_recipe, recipe_spec

    if args.list:
        print_recipes(list_recipes(args.recipes))
        return 0
    if not args.recipe:
        raise ConfigError("expected a RECIPE name (see vaelab reproduce --list)")
    for value, flag in ((args.epochs, "--epochs"), (args.eval_k, "--eval-k"), (args.limit, "--limit")):
        _check_positive(value, flag)
    _check_positive(args.eval_limit, "--eval-limit")
    if args.eval_k is not None and args.eval_k > MAX_K:
        raise ConfigError(f"--eval-k {args.eval_k}: expected an integer from 1 to {MAX_K:,}")
    if args.stop_after is not None and not args.stop_after > 0:
        raise ConfigError(f"--stop-after {args.stop_after}: expected minutes > 0")
    recipe = load_recipe(args.recipe, args.recipes)
    train_flags = {
        k: v
        for k, v in (
            ("epochs", args.epochs),
            ("device", args.device),
            ("compile", args.compile),
            ("backward", args.backward),
        )  # fmt: skip
        if v is not None
    }
    if args.no_progress:
        train_flags["progress"] = False
    data_flags = {"data_dir": str(args.data_dir)} if args.data_dir is not None else {}
    if args.limit is not None:
        data_flags["limit"] = args.limit
    spec, not_applied = recipe_spec(recipe, args.name, train_flags, data_flags)
    run_path = args.runs_dir / spec.name
    if args.relay is not None:
        return _relay(args, spec, recipe, not_applied, run_path)
    result = _train(args, spec, recipe, not_applied, run_path, _stop_after(args))
    if result.interrupted:
        print(
            f"interrupted; continue with: vaelab reproduce {recipe.name} --runs-dir {args.runs_dir} --resume",
            file=sys.stderr,
        )
        return result.exit_status
    return _evaluate(args, recipe, result.run)


def _stop_after(args) -> list:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.training.callbacks import StopAfter

    return [] if args.stop_after is None else [StopAfter(args.stop_after)]


def _relay(args, spec, recipe, not_applied, run_path: Path) -> int:
    """``reproduce --relay DIR``: continue from the furthest of the run folder and DIR's snapshot, keep the snapshot
    current, and evaluate (then publish the result and remove the snapshot) once the protocol is complete."""
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.device import select_device
    from vaelab.core.errors import ConfigError
    from vaelab.core.paths import check_can_write
    from vaelab.runs.folder import RunDir
    from vaelab.training.relay import RelayWriter, prepare_run

    if args.epochs is not None and args.epochs != recipe.epochs:
        raise ConfigError(
            f"--epochs {args.epochs}: a relay runs the protocol's {recipe.epochs:,} epochs; use --stop-after"
        )
    if args.relay_every <= 0:
        raise ConfigError(f"--relay-every {args.relay_every}: expected minutes > 0")
    # before any training: a file given as the folder, or one that cannot be written, was found only at the first
    # snapshot (after all the epochs of a short run)
    check_can_write(args.relay, f"--relay {args.relay}", "the relay snapshot")
    run = RunDir(run_path)
    device = select_device(args.device or spec.train.device)
    note = prepare_run(args.relay, recipe.name, run, device)
    if note:
        print(note, file=sys.stderr)
    args.resume = run.exists()
    writer = RelayWriter(args.relay, recipe.name, run, hardware_description(device), args.relay_every)
    result = _train(args, spec, recipe, not_applied, run_path, [writer, *_stop_after(args)])
    again = f"vaelab reproduce {recipe.name} --relay {args.relay} --runs-dir {args.runs_dir}"
    if result.interrupted and result.signal is not None:
        print(f"stopped; snapshot saved in {args.relay}; continue with: {again}", file=sys.stderr)
        return result.exit_status
    if result.trainer.epoch < recipe.epochs:
        print(
            f"relay: epoch {result.trainer.epoch:,} of {recipe.epochs:,} saved in {args.relay}; continue with: {again}"
        )
        return 0
    status = _evaluate(args, recipe, result.run)
    _publish_complete(result.run.path, Path(args.relay), recipe.name)
    return status


def _publish_complete(run_path: Path, relay: Path, recipe: str) -> None:
    """The row is complete: publish its result files beside the relay folder (when that is docs/results/<recipe>/relay)
    and remove the snapshot, which the repository holds only while a row is in progress."""
    if relay.name != "relay" or relay.parent.name != recipe:
        return
    print(f"published {publish_run(run_path, relay.parent.parent)}")
    shutil.rmtree(relay, ignore_errors=True)
    print(f"removed {relay}: the row is complete (its result files stay)")


def _train(args, spec, recipe, not_applied, run_path, callbacks=()):
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.errors import ConfigError
    from vaelab.core.io import atomic_write_text
    from vaelab.runs.folder import RunDir
    from vaelab.training.lifecycle import create_run, resume_run

    info = {"recipe": recipe.name, "recipe_file": str(recipe.path), "left_out_by_this_vaelab": not_applied}
    if args.resume:
        run = RunDir(run_path)
        if run.exists():
            saved = run.load_config()
            same = saved.get("model") == spec.model and (
                type(spec.model_config).from_dict(saved.get("model_config", {})).to_dict()
                == spec.model_config.to_dict()
            )
            if not same:
                raise ConfigError(f"--resume: {run.path} was not made from recipe {recipe.name} (another model)")
        given = ("device", "progress", "compile") + (("backward",) if args.backward else ())
        overrides = {k: v for k, v in spec.train.to_dict().items() if k in given}
        if args.epochs is not None:
            overrides["epochs"] = args.epochs
        if args.data_dir is not None:
            overrides["data_dir"] = str(args.data_dir)
        result = resume_run(run_path, overrides, callbacks=list(callbacks))
    else:
        result = create_run(spec, args.runs_dir, run_dir=run_path, callbacks=list(callbacks))
    atomic_write_text(result.run.path / RECIPE_INFO, json.dumps(info, indent=2) + "\n")
    return result


def _evaluate(args, recipe, run) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.evaluate import print_diagnostics
    from vaelab.core.device import select_device
    from vaelab.core.io import atomic_write_text
    from vaelab.data import load_dataset
    from vaelab.evaluate import evaluate
    from vaelab.runs.recipes import unapplied_options
    from vaelab.runs.results import RESULT_FILE, checkpoint_epoch, result_record

    config, metrics = run.load_config(), run.read_metrics()
    device = select_device(config["train"].get("device", "auto") if args.device is None else args.device)
    ds = config["dataset"]
    full = load_dataset(ds["name"], "test", args.data_dir or ds.get("data_dir"), val_size=ds.get("val_size"))
    test = full.subset(args.eval_limit)
    hardware = hardware_description(device)
    if args.reuse_eval:  # rewrite result.json from the evaluation already there
        evaluation = _reusable_eval(run, recipe.name, len(full))
        hardware = _previous_hardware(run.path / RESULT_FILE, hardware)
        test = full.subset(evaluation["n_images"])
        args.eval_limit = evaluation["n_images"] if evaluation["n_images"] < len(full) else None
        k = evaluation["k"]
        which = evaluation.get("checkpoint", "last")
    else:
        which = recipe.checkpoint
        model = run.load_model(which, device)
        k = int(args.eval_k or recipe.eval_k)
        evaluation = evaluate(model, test, k=k, progress=not args.no_progress)
    epochs_run = int(metrics[-1]["epoch"]) if metrics else 0
    extra = _command_deviations(args, recipe, config, metrics, k, len(test))
    not_applied = unapplied_options(recipe, config)
    evaluation.update(checkpoint=which, checkpoint_epoch=checkpoint_epoch(metrics, which))
    record = result_record(recipe, config, metrics, evaluation, not_applied, extra, hardware)
    _add_segments(record, run)
    evaluation.update(recipe=recipe.name, paper_nll=recipe.paper_nll, protocol_deviations=record["deviations"])
    run.save_eval(evaluation)
    atomic_write_text(run.path / RESULT_FILE, json.dumps(record, indent=2) + "\n")
    print(f"{run.path / RESULT_FILE}:")
    print(
        f"  {recipe.name}: test NLL {record['nll']:.2f} ± {record['nll_stderr']:.2f} nats (K = {k:,}, "
        f"{len(test):,} test images), {epochs_run:,} of {recipe.epochs:,} epochs"
        + (" (shorter than the protocol)" if record["shorter_than_protocol"] else "")
    )
    if record["stopped_early"]:
        print(f"  stopped early by the protocol's rule (early_stopping_patience) after epoch {epochs_run:,}")
    if which == "best":
        print(f"  evaluated the parameters of epoch {record['checkpoint_epoch']:,}, the best validation ELBO")
    print(f"  paper: {recipe.paper_nll:.2f} ({recipe.paper}, {recipe.table})")
    print_diagnostics(evaluation)
    print(f"  {len(record['deviations'])} differences from the paper's protocol are listed in result.json")
    _draw_nll_vs_k(run)
    return 0


def _reusable_eval(run, recipe: str, n_test: int) -> dict:
    """``RUN/eval.json`` for ``--reuse-eval``: an evaluation of ``recipe`` with the fields result.json is made from.

    Raises:
        ConfigError: it holds no evaluation of this recipe. CheckpointError: it is unreadable, or a field is missing
            or of another type (one line naming the file; run without --reuse-eval to evaluate again).
    """
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.errors import CheckpointError, ConfigError

    evaluation = run.read_eval()  # CheckpointError naming the file when it is not JSON
    again = "run without --reuse-eval to evaluate again"
    if evaluation is not None and not isinstance(evaluation, dict):
        raise CheckpointError(f"{run.eval_path}: expected a JSON object, found {type(evaluation).__name__}; {again}")
    if not evaluation or evaluation.get("recipe") != recipe:
        raise ConfigError(f"--reuse-eval: {run.eval_path} holds no evaluation of recipe {recipe}")
    fields = {
        "n_images": (f"an integer from 1 to {n_test:,}", lambda v: _is_int(v) and 1 <= v <= n_test),
        "k": ("an integer >= 1", lambda v: _is_int(v) and v >= 1),
        "nll": ("a number", lambda v: _is_int(v) or isinstance(v, float)),
        "nll_stderr": ("a number", lambda v: _is_int(v) or isinstance(v, float)),
        "split": ("a string", lambda v: isinstance(v, str)),
        "binarization": ("a string", lambda v: isinstance(v, str)),
        "layers": (
            "an object of {active_units, latent_dim} objects",
            lambda v: (
                v is None or (isinstance(v, dict) and all(_has(x, "active_units", "latent_dim") for x in v.values()))
            ),
        ),
    }
    for key, (expected, ok) in fields.items():
        value = evaluation.get(key)
        if not ok(value):
            found = json.dumps(value)[:60] if key in evaluation else "nothing"
            raise CheckpointError(f"{run.eval_path}: field {key}: expected {expected}, found {found}; {again}")
    return evaluation


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _has(value, *keys: str) -> bool:
    return isinstance(value, dict) and all(k in value for k in keys)


def _previous_hardware(path: Path, hardware: str) -> str:
    """Where the evaluation being reused ran, from the result.json it is rewriting (``hardware`` when there is none;
    a damaged one is said on stderr: it is about to be rewritten)."""
    if not path.is_file():
        return hardware
    try:
        doc = json.loads(path.read_text())
        return str(doc.get("hardware", hardware)) if isinstance(doc, dict) else hardware
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(
            f"{path}: unreadable ({type(exc).__name__}); rewriting it, with this machine as its hardware",
            file=sys.stderr,
        )
        return hardware


def _draw_nll_vs_k(run) -> None:
    """Draw RUN/figures/nll-vs-k.png from the evaluation just written; ``publish_run`` copies it with the result."""
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.viz.render import RunFigures

    print(f"  {RunFigures(run.path, progress=False).render('nll-vs-k')['files'][0]}")


def _command_deviations(args, recipe, config: dict, metrics: list[dict], k: int, n_test: int) -> list[str]:
    """What this command did differently from the paper's protocol: fewer epochs, another K, fewer images."""
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.runs.results import shorter_than_protocol

    extra = []
    epochs_run = int(metrics[-1]["epoch"]) if metrics else 0
    if shorter_than_protocol(config, metrics, recipe):
        extra.append(f"trained {epochs_run:,} of the protocol's {recipe.epochs:,} epochs (--epochs)")
    if k != recipe.paper_k:
        extra.append(f"test NLL with K = {k:,} importance samples, not the paper's {recipe.paper_k:,}")
    if config["dataset"].get("limit"):
        extra.append(f"trained on the first {config['dataset']['limit']:,} training images only (--limit)")
    if args.eval_limit:
        extra.append(f"evaluated on the first {n_test:,} test images only (--eval-limit)")
    return extra


def _add_segments(record: dict, run) -> None:
    """A relayed run's result says which epochs ran where, and whether every continuation was bit-exact."""
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.runs.relay import read_segments

    segments = [s for s in read_segments(run) if "from_epoch" in s]
    if not segments:
        return
    record["segments"] = segments
    inexact = [s for s in segments[1:] if not s.get("bit_exact", True)]
    if inexact:
        where = ", ".join(f"epochs {s['from_epoch'] + 1:,}-{s['to_epoch']:,} on {s['device']}" for s in inexact)
        record["deviations"].append(
            f"trained on several machines through the relay; not bit-exact at the continuation into {where} "
            "(random streams re-seeded at a change of device, or other hardware)"
        )


# leaderboard ----------------------------------------------------------------------------------------------
def _add_leaderboard(p) -> None:
    p.description = (
        "Collect RUNS_DIR/*/result.json (written by vaelab reproduce) and write the leaderboard: one row "
        "per recipe with the paper's number and vaelab's, then the runs of the same folders that follow no recipe "
        "(*/eval.json beside a config.json and no result.json: NLL, bits/dim, sample scores). --add RUN first "
        "copies a run's small files (config.json, "
        "eval.json, result.json, a metrics summary, figures/nll-vs-k.png if drawn) into the first --runs-dir / "
        "<recipe>/."
    )
    p.add_argument(
        "--runs-dir",
        type=Path,
        action="append",
        help="folder whose */result.json are collected; repeatable (default docs/results)",
    )
    p.add_argument("--out", type=Path, help="Markdown file to write (default docs/results/leaderboard.md; - prints)")
    p.add_argument("--recipes", type=Path, help="folder of recipe files (default: configs/recipes of the source)")
    p.add_argument(
        "--readme",
        type=Path,
        metavar="FILE",
        help="also rewrite the summary of the measured rows between FILE's leaderboard:begin / leaderboard:end "
        "comment lines (e.g. README.md)",
    )
    p.add_argument(
        "--add",
        type=Path,
        action="append",
        default=[],
        metavar="RUN",
        help="publish a reproduce run's small files into the first --runs-dir first; repeatable",
    )
    p.set_defaults(func=cmd_leaderboard)


def publish_run(run_path: Path, results_dir: Path) -> Path:
    """Copy a reproduce run's small files into ``results_dir/<recipe>/``: config.json, eval.json, result.json, the
    NLL-vs-K figure (drawn by the evaluation, or by ``vaelab plot RUN nll-vs-k``), and ``metrics-summary.json`` (at most
    ``SUMMARY_RECORDS`` epoch records, evenly spaced, first and last kept).

    Raises:
        CheckpointError: ``run_path`` is not a run or has no result.json (run ``vaelab reproduce`` first).
    """
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.errors import CheckpointError
    from vaelab.core.io import atomic_write_text
    from vaelab.runs.folder import RunDir
    from vaelab.runs.results import RESULT_FILE

    run = RunDir(run_path).require()
    result_path = run.path / RESULT_FILE
    if not result_path.is_file():
        raise CheckpointError(f"{result_path}: not found; make it with vaelab reproduce RECIPE")
    recipe = json.loads(result_path.read_text())["recipe"]
    dest = results_dir / recipe
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "eval.json", RESULT_FILE, "figures/nll-vs-k.png"):
        if (run.path / name).is_file():
            shutil.copyfile(run.path / name, dest / Path(name).name)
    metrics = run.read_metrics()
    if len(metrics) > SUMMARY_RECORDS:
        step = (len(metrics) - 1) / (SUMMARY_RECORDS - 1)
        metrics = [metrics[round(i * step)] for i in range(SUMMARY_RECORDS)]
    summary = {"epochs": len(run.read_metrics()), "records": metrics}
    atomic_write_text(dest / "metrics-summary.json", json.dumps(summary, indent=1) + "\n")
    return dest


def cmd_leaderboard(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.errors import ConfigError
    from vaelab.core.io import atomic_write_text
    from vaelab.runs.recipes import list_recipes
    from vaelab.runs.results import collect_evaluations, collect_results
    from vaelab.viz.leaderboard import collect_relays, render_leaderboard, render_summary, replace_readme_block

    folders = args.runs_dir or [Path("docs/results")]
    for run in args.add:
        print(f"published {publish_run(run, folders[0])}")
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError(f"--runs-dir {folder}: no such folder; expected one holding <recipe>/result.json files")
    recipes, results = list_recipes(args.recipes), collect_results(folders)
    if args.readme is not None:  # first: a README without its markers stops before any file is written
        try:
            readme = args.readme.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--readme {args.readme}: cannot read it ({exc})") from exc
        atomic_write_text(args.readme, replace_readme_block(readme, render_summary(recipes, results), args.readme))
        print(args.readme)
    text = render_leaderboard(recipes, results, collect_relays(folders), collect_evaluations(folders))
    if args.out is not None and str(args.out) == "-":
        sys.stdout.write(text)
        return 0
    out = args.out or Path("docs/results/leaderboard.md")
    atomic_write_text(out, text)
    print(out)
    return 0


COMMANDS = {
    "reproduce": ("train and evaluate a paper's protocol (a recipe); writes RUN/result.json", _add_reproduce),
    "leaderboard": ("the Markdown leaderboard (papers' NLLs next to vaelab's) from result files", _add_leaderboard),
}
