"""``vaelab pack RUN OUT``: a run as a folder to share: safetensors weights (no pickle), ``config.json`` and a
model card ``README.md`` in the Hugging Face Hub's format (``vaelab.runs.packed``). Every command that takes a run
also takes that folder. ``vaelab push RUN REPO_ID``: upload it to the Hub (``vaelab.export.hub``)."""

from __future__ import annotations

from pathlib import Path


def cmd_pack(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.api import load_run
    from vaelab.cli.declared import options_from
    from vaelab.core.commands import PackOptions

    o = options_from(args, PackOptions)
    packed = load_run(args.run).pack(args.out, o.checkpoint, o.license)
    files = sorted(p.name for p in packed.path.iterdir() if p.is_file())
    print(f"{packed.path}/: {', '.join(files)}")
    print(f"load it with vaelab.load({str(packed.path)!r}) or any command, e.g. vaelab sample {packed.path}")
    return 0


def cmd_push(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.api import load_run
    from vaelab.cli.declared import options_from
    from vaelab.core.commands import PackOptions

    o = options_from(args, PackOptions)
    run = load_run(args.run)
    url = run.push(
        args.repo_id,
        license=o.license,
        checkpoint=o.checkpoint,
        private=args.private or None,
        commit_message=args.message,
        revision=args.revision,
    )
    print(f"{args.run} -> https://huggingface.co/{args.repo_id} ({url})")
    print(f"load it with vaelab.load({args.repo_id!r})")
    return 0


def _add_pack(p) -> None:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import add_options
    from vaelab.cli.parser import run_folder
    from vaelab.core.commands import PackOptions

    p.description = (
        "Write OUT/: model.safetensors (the weights; safetensors format, no pickle), config.json, README.md (a model "
        "card in the Hugging Face Hub's format: library_name, license, tags, datasets, and model-index with the test "
        "NLL with K, split and binarization or the reconstruction error), eval.json, metrics.jsonl and "
        "epoch_samples.npy. Evaluate the run first (vaelab evaluate RUN). Every command that takes a run (evaluate, "
        "sample, reconstruct, plot, report, export, explore) takes OUT."
    )
    p.add_argument("run", type=run_folder, metavar="RUN", help="run folder")
    p.add_argument("out", type=Path, metavar="OUT", help="the folder to write (new or empty)")
    add_options(p, PackOptions)
    p.set_defaults(func=cmd_pack)


def _add_push(p) -> None:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import add_options
    from vaelab.cli.parser import run_folder
    from vaelab.core.commands import PackOptions

    p.description = (
        "Upload RUN to the Hugging Face Hub model repository REPO_ID (ORG/NAME; created if needed) with "
        "huggingface_hub: a packed folder as it is, a run folder packed first into a temporary folder (with "
        "--checkpoint and --license, as vaelab pack). Needs a token with write access (hf auth login, or HF_TOKEN). "
        "Load it with vaelab.load('ORG/NAME')."
    )
    p.add_argument(
        "run",
        type=run_folder,
        metavar="RUN",
        help="run folder or packed folder (evaluated: the card states its numbers)",
    )
    p.add_argument("repo_id", metavar="REPO_ID", help="the Hub repository, ORG/NAME")
    add_options(p, PackOptions)
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--message", help="the commit message")
    p.add_argument("--revision", help="the branch to commit to (default main)")
    p.set_defaults(func=cmd_push)


COMMANDS = {
    "pack": (
        "a run as a folder to share: model.safetensors (no pickle), config.json, model card README.md",
        _add_pack,
    ),
    "push": ("upload a run (packed first) or a packed folder to the Hugging Face Hub", _add_push),
}
