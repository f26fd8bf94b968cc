"""``vaelab plot RUN KIND [options]`` (every figure of a run, into RUN/figures/) and ``vaelab report RUN``
(one self-contained HTML page with the run's configuration, numbers and figures)."""

from __future__ import annotations

from vaelab.cli.parser import run_folder

COMMON = "options of every figure"


def _add_plot(p) -> None:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import add_options
    from vaelab.core.commands import PLOT_KINDS, FigureOptions

    p.description = "Render one figure of a run into RUN/figures/. KINDS: " + "; ".join(
        f"{k}: {h}" for k, (_, h) in PLOT_KINDS.items()
    )
    p.add_argument("run", type=run_folder, metavar="RUN", help="run folder or packed run")
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    for kind, (cls, help_text) in PLOT_KINDS.items():
        k = kinds.add_parser(kind, help=help_text, description=help_text, prog=f"vaelab plot RUN {kind}")
        add_options(k, cls)
        add_options(k, FigureOptions, title=COMMON)
    p.set_defaults(func=cmd_plot)


def cmd_plot(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import options_from
    from vaelab.core.commands import PLOT_KINDS, FigureOptions
    from vaelab.viz.figures.registry import check_out
    from vaelab.viz.render import RunFigures

    common = options_from(args, FigureOptions)
    options = options_from(args, PLOT_KINDS[args.kind][0])
    if common.out is not None:
        check_out(args.kind, common.out)  # before the model and the data are loaded
    figs = RunFigures(args.run, common.checkpoint, common.data_dir, common.dpi, common.progress, common.compact)
    result = figs.render(args.kind, out=common.out, **options.model_dump())
    for path in result["files"]:
        print(path)
    if args.kind == "projector":
        print(f"view: tensorboard --logdir {figs.run.tensorboard}  (PROJECTOR tab)")
    return 0


def _add_report(p) -> None:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import add_options
    from vaelab.core.commands import ReportOptions

    p.description = (
        "Write RUN/report.html: the run's configuration, its numbers (eval.json, metrics.jsonl) and every figure "
        "that applies to its model, images embedded, readable offline. Figures are rendered afresh into "
        "RUN/figures/ unless --reuse."
    )
    p.add_argument("run", type=run_folder, metavar="RUN", help="run folder or packed run")
    add_options(p, ReportOptions)
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import options_from
    from vaelab.core.commands import ReportOptions
    from vaelab.viz.render import RunFigures
    from vaelab.viz.report import write_report

    o = options_from(args, ReportOptions)
    figs = RunFigures(args.run, o.checkpoint, o.data_dir, o.dpi, progress=o.progress, compact=o.compact)
    path = write_report(figs, o.out, reuse=o.reuse, latent_n=o.latent_n)
    print(path)
    return 0


COMMANDS = {
    "plot": ("figures of a run into RUN/figures/ (latent, manifold, interpolate, ...)", _add_plot),
    "report": ("one self-contained HTML page: configuration, numbers, every figure", _add_report),
}
