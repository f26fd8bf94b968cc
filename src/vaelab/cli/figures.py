"""``vaelab plot RUN KIND [options]`` (every figure of a run, into RUN/figures/) and ``vaelab report RUN``
(one self-contained HTML page with the run's configuration, numbers and figures)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vaelab.cli.args import int_list, int_pair


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("common")
    g.add_argument("--out", type=Path, help="output path (default: RUN/figures/<kind>.png)")
    g.add_argument("--checkpoint", default="best", choices=["best", "last"])
    g.add_argument("--data-dir", type=Path, help="folder holding <dataset>/<files>")
    g.add_argument("--dpi", type=int, default=150, help="PNG resolution, >= 100 (default 150)")
    g.add_argument("--compact", action="store_true", help="256-colour PNGs (a few times smaller)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


KIND_HELP = {
    "latent": "test codes coloured by class, centres labelled (t-SNE/UMAP/PCA above 2-D)",
    "manifold": "decoded images over a grid of codes, optional interpolation path in red",
    "interpolate": "GIF + strip PNG of decodings along a path between two digits (or test images)",
    "all-pairs": "10 x 10 table of interpolation strips between every pair of digits",
    "samples-per-epoch": "rows are epochs, columns the fixed samples (digits for conditional models)",
    "curves": "loss, reconstruction, KL (and extra terms) per epoch, train and validation",
    "projector": "TensorBoard embedding-projector export (tensorboard --logdir RUN/tensorboard)",
    "reconstructions": "test images above their reconstructions (as vaelab reconstruct)",
    "samples": "decoded prior samples (as vaelab sample)",
    "nll-vs-k": "test NLL against K importance samples, from eval.json (run vaelab evaluate first)",
}


def _add_plot(sub) -> None:
    p = sub.add_parser(
        "plot",
        help="figures of a run into RUN/figures/ (latent, manifold, interpolate, ...)",
        description="Render one figure of a run into RUN/figures/. KINDS: "
        + "; ".join(f"{k}: {v}" for k, v in KIND_HELP.items()),
    )
    p.add_argument("run", type=Path, help="run directory")
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    common = [_common()]
    k = kinds.add_parser("latent", parents=common, help=KIND_HELP["latent"])
    k.add_argument("--n", type=int, help="first N test images (default all for 2-D codes, 5000 otherwise)")
    k.add_argument(
        "--method",
        default="tsne",
        choices=["tsne", "umap", "pca"],
        help="2-D embedding of codes above 2-D (umap needs umap-learn; default tsne)",
    )
    k.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (default 30)")
    k.add_argument("--seed", type=int, default=0)
    k = kinds.add_parser("manifold", parents=common, help=KIND_HELP["manifold"])
    k.add_argument("--size", type=int, default=20, help="grid of SIZE x SIZE images (default 20)")
    k.add_argument(
        "--range",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        help="grid range on both axes (default -2 2; deterministic models: the codes' 1-99th percentiles)",
    )
    k.add_argument(
        "--spacing",
        default="linear",
        choices=["linear", "ppf"],
        help="linear: evenly spaced; ppf: through the inverse normal CDF (equal prior mass per tile)",
    )
    k.add_argument("--dims", type=int_pair, default=(0, 1), help="the two latent dimensions spanned (default 0,1)")
    k.add_argument("--path-from", type=int, metavar="DIGIT", help="draw the interpolation path from this digit")
    k.add_argument("--path-to", type=int, metavar="DIGIT", help="... to this digit")
    k.add_argument("--path-from-index", type=int, metavar="I", help="path from test image I instead")
    k.add_argument("--path-to-index", type=int, metavar="I", help="path to test image I instead")
    k.add_argument("--spherical", action="store_true", help="spherical (slerp) path")
    k = kinds.add_parser("interpolate", parents=common, help=KIND_HELP["interpolate"])
    k.add_argument("--from", dest="from_digit", type=int, default=0, help="start digit (default 0)")
    k.add_argument("--to", dest="to_digit", type=int, default=7, help="end digit (default 7)")
    k.add_argument("--from-index", type=int, help="start at test image I (instead of a digit)")
    k.add_argument("--to-index", type=int, help="end at test image I (instead of a digit)")
    k.add_argument("--steps", type=int, default=20, help="frames, t from 0 to 1 inclusive (default 20)")
    k.add_argument("--spherical", action="store_true", help="spherical interpolation (slerp)")
    k.add_argument("--scale", type=int, default=4, help="GIF enlargement (default 4)")
    k.add_argument("--duration", type=int, default=100, help="ms per GIF frame (default 100)")
    k = kinds.add_parser("all-pairs", parents=common, help=KIND_HELP["all-pairs"])
    k.add_argument("--steps", type=int, default=8, help="images per strip (default 8)")
    k.add_argument("--spherical", action="store_true")
    k.add_argument("--classes", type=int_list, help="classes in the table (default 0..9)")
    k = kinds.add_parser("samples-per-epoch", parents=common, help=KIND_HELP["samples-per-epoch"])
    k.add_argument("--max-rows", type=int, default=20, help="epochs shown, evenly spaced (default 20)")
    kinds.add_parser("curves", parents=common, help=KIND_HELP["curves"])
    k = kinds.add_parser("projector", parents=common, help=KIND_HELP["projector"])
    k.add_argument("--n", type=int, default=5000, help="first N test images (default 5000)")
    k = kinds.add_parser("reconstructions", parents=common, help=KIND_HELP["reconstructions"])
    k.add_argument("-n", type=int, default=32, help="test images (default 32)")
    k.add_argument("--per-row", type=int, default=16)
    k = kinds.add_parser("samples", parents=common, help=KIND_HELP["samples"])
    k.add_argument("-n", type=int, default=64, help="samples (default 64)")
    k.add_argument("--seed", type=int, default=0)
    kinds.add_parser("nll-vs-k", parents=common, help=KIND_HELP["nll-vs-k"])
    p.set_defaults(func=cmd_plot)


def plot_options(args) -> dict:
    """The ``RunFigures`` method options from parsed ``vaelab plot`` arguments."""
    kind, o = args.kind, {"out": args.out}
    if kind == "latent":
        o.update(n=args.n, method=args.method, perplexity=args.perplexity, seed=args.seed)
    elif kind == "manifold":
        lo, hi = args.range if args.range else (None, None)
        o.update(
            size=args.size,
            lo=lo,
            hi=hi,
            spacing=args.spacing,
            dims=args.dims,
            path_from=args.path_from,
            path_to=args.path_to,
            path_from_index=args.path_from_index,
            path_to_index=args.path_to_index,
            spherical=args.spherical,
        )
    elif kind == "interpolate":
        o.update(
            from_digit=args.from_digit,
            to_digit=args.to_digit,
            from_index=args.from_index,
            to_index=args.to_index,
            steps=args.steps,
            spherical=args.spherical,
            scale=args.scale,
            duration_ms=args.duration,
        )
    elif kind == "all-pairs":
        o.update(steps=args.steps, spherical=args.spherical, classes=args.classes)
    elif kind == "samples-per-epoch":
        o.update(max_rows=args.max_rows)
    elif kind == "projector":
        o.update(n=args.n)
    elif kind == "reconstructions":
        o.update(n=args.n, per_row=args.per_row)
    elif kind == "samples":
        o.update(n=args.n, seed=args.seed)
    return o


def cmd_plot(args) -> int:
    from vaelab.viz.render import RunFigures

    figs = RunFigures(
        args.run, args.checkpoint, args.data_dir, args.dpi, progress=not args.no_progress, compact=args.compact
    )
    result = figs.render(args.kind, **plot_options(args))
    for path in result["files"]:
        print(path)
    if args.kind == "projector":
        print(f"view: tensorboard --logdir {figs.run.tensorboard}  (PROJECTOR tab)")
    return 0


def _add_report(sub) -> None:
    p = sub.add_parser(
        "report",
        help="one self-contained HTML page: configuration, numbers, every figure",
        description="Write RUN/report.html: the run's configuration, its numbers (eval.json, "
        "metrics.jsonl) and every figure that applies to its model, images embedded, readable "
        "offline. Figures are rendered afresh into RUN/figures/ unless --reuse.",
    )
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--out", type=Path, help="HTML path (default RUN/report.html)")
    p.add_argument("--reuse", action="store_true", help="use figures already in RUN/figures/ instead of re-rendering")
    p.add_argument("--n", type=int, help="codes in the latent figure (default all for 2-D, 5000 for t-SNE)")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--dpi", type=int, default=150)
    p.add_argument("--compact", action="store_true", help="256-colour PNGs (a smaller page)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from vaelab.viz.render import RunFigures
    from vaelab.viz.report import write_report

    figs = RunFigures(
        args.run, args.checkpoint, args.data_dir, args.dpi, progress=not args.no_progress, compact=args.compact
    )
    path = write_report(figs, args.out, reuse=args.reuse, latent_n=args.n)
    print(path)
    return 0


def register(sub) -> None:
    _add_plot(sub)
    _add_report(sub)
