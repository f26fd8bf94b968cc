"""``vaelab pack RUN OUT``: a run as a folder to share: safetensors weights (no pickle), ``config.json`` and a
model card ``README.md`` (``vaelab.train.pack``). Every command that takes a run also takes that folder."""

from __future__ import annotations

from pathlib import Path


def cmd_pack(args) -> int:
    from vaelab.api import load_run

    run = load_run(args.run)
    packed = run.pack(args.out, args.checkpoint)
    files = sorted(p.name for p in packed.path.iterdir() if p.is_file())
    print(f"{packed.path}/: {', '.join(files)}")
    print(f"load it with vaelab.load_run({str(packed.path)!r}) or any command, e.g. vaelab sample {packed.path}")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "pack",
        help="a run as a folder to share: model.safetensors (no pickle), config.json, model card README.md",
        description="Write OUT/: model.safetensors (the weights; safetensors format, no pickle), config.json, "
        "README.md (a model card whose YAML front matter states the model family, dataset, test NLL with K, "
        "split and binarization or the reconstruction error, training time and hardware), eval.json, "
        "metrics.jsonl and epoch_samples.npy. Evaluate the run first (vaelab evaluate RUN). Every command that "
        "takes a run (evaluate, sample, reconstruct, plot, report, export, explore) takes OUT.",
    )
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("out", type=Path, help="the folder to write (new or empty)")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.set_defaults(func=cmd_pack)
