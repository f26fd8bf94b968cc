"""``vaelab pack RUN OUT``: a run as a folder to share: safetensors weights (no pickle), ``config.json`` and a
model card ``README.md`` in the Hugging Face Hub's format (``vaelab.runs.packed``). Every command that takes a run
also takes that folder. ``vaelab push RUN REPO_ID``: upload it to the Hub (``vaelab.export.hub``)."""

from __future__ import annotations

from pathlib import Path


def cmd_pack(args) -> int:
    from vaelab.api import load_run

    run = load_run(args.run)
    packed = run.pack(args.out, args.checkpoint, args.license)
    files = sorted(p.name for p in packed.path.iterdir() if p.is_file())
    print(f"{packed.path}/: {', '.join(files)}")
    print(f"load it with vaelab.load({str(packed.path)!r}) or any command, e.g. vaelab sample {packed.path}")
    return 0


def cmd_push(args) -> int:
    from vaelab.api import load_run

    run = load_run(args.run)
    url = run.push(
        args.repo_id,
        license=args.license,
        checkpoint=args.checkpoint,
        private=args.private or None,
        commit_message=args.message,
        revision=args.revision,
    )
    print(f"{args.run} -> https://huggingface.co/{args.repo_id} ({url})")
    print(f"load it with vaelab.load({args.repo_id!r})")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "pack",
        help="a run as a folder to share: model.safetensors (no pickle), config.json, model card README.md",
        description="Write OUT/: model.safetensors (the weights; safetensors format, no pickle), config.json, "
        "README.md (a model card in the Hugging Face Hub's format: library_name, license, tags, datasets, and "
        "model-index with the test NLL with K, split and binarization or the reconstruction error), eval.json, "
        "metrics.jsonl and epoch_samples.npy. Evaluate the run first (vaelab evaluate RUN). Every command that "
        "takes a run (evaluate, sample, reconstruct, plot, report, export, explore) takes OUT.",
    )
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("out", type=Path, help="the folder to write (new or empty)")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"], help="which checkpoint's weights")
    p.add_argument(
        "--license",
        help="the card's licence, a Hugging Face Hub licence id (default: the training data's terms where known: "
        "cc-by-sa-3.0 for mnist, cc-by-4.0 for sklearn-digits; else unknown)",
    )
    p.set_defaults(func=cmd_pack)
    q = sub.add_parser(
        "push",
        help="upload a run (packed first) or a packed folder to the Hugging Face Hub",
        description="Upload RUN to the Hugging Face Hub model repository REPO_ID (ORG/NAME; created if needed) "
        "with huggingface_hub: a packed folder as it is, a run folder packed first into a temporary folder. "
        "Needs a token with write access (hf auth login, or HF_TOKEN). Load it with vaelab.load('ORG/NAME').",
    )
    q.add_argument("run", type=Path, help="run directory or packed folder (evaluated: the card states its numbers)")
    q.add_argument("repo_id", help="the Hub repository, ORG/NAME")
    q.add_argument("--license", help="as for vaelab pack (a run folder only; a packed folder's card has one)")
    q.add_argument("--checkpoint", default="best", choices=["best", "last"], help="which checkpoint (run folder)")
    q.add_argument("--private", action="store_true", help="create the repository private")
    q.add_argument("--message", help="the commit message")
    q.add_argument("--revision", help="the branch to commit to (default main)")
    q.set_defaults(func=cmd_push)
