"""``vaelab export``, ``vaelab explore`` and ``vaelab site``: the in-browser latent explorer.

* ``export RUN``: ``RUN/export/{encoder,decoder}.onnx`` checked against PyTorch with onnxruntime, the test set's
  codes and labels, ``meta.json`` (see ``vaelab.export.onnx``).
* ``explore RUN [RUN ...]``: builds the site (``RUN/site/`` for one run, a temporary folder or ``--site`` for up to
  four runs side by side; exporting first where needed) and serves it on 127.0.0.1.
* ``site RUN [RUN ...] OUT``: writes the same self-contained static site into ``OUT`` for publishing anywhere.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import tempfile
from pathlib import Path

from vaelab.cli.parser import run_folder
from vaelab.core.errors import ConfigError


def _print_export(meta: dict, run_path: Path) -> None:
    chk = meta["onnx_check"]
    print(
        f"{run_path / 'export'}/: encoder.onnx, decoder.onnx, codes.bin ({meta['n_codes']} x {meta['latent_dim']} "
        f"float32), {'labels.bin, ' if meta['labels'] else ''}meta.json"
    )
    print(
        f"onnxruntime vs PyTorch, max absolute difference: encoder {chk['encoder_max_abs_diff']:.2e}, "
        f"decoder {chk['decoder_max_abs_diff']:.2e} (tolerance {chk['tolerance']:g})"
    )


def cmd_export(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import options_from
    from vaelab.core.commands import ExportOptions
    from vaelab.export.onnx import export_run
    from vaelab.runs.open import open_run

    o = options_from(args, ExportOptions)
    run = open_run(args.run)
    what = "all test images" if o.n_codes is None else f"the first {o.n_codes:,} test images"
    print(f"exporting {run.path}: ONNX encoder and decoder, checked with onnxruntime, codes of {what} ...", flush=True)
    meta = export_run(run, o.checkpoint, o.data_dir, o.n_codes)
    _print_export(meta, run.path)
    print(f"open the explorer: vaelab explore {run.path} --open")
    return 0


def _check_count(runs: list) -> None:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.export.site import MAX_RUNS

    if len(runs) > MAX_RUNS:
        raise ConfigError(f"{len(runs)} runs given: the explorer shows at most {MAX_RUNS} side by side")


def cmd_site(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.export.site import build_site

    if len(args.paths) < 2:
        raise ConfigError("expected RUN [RUN ...] OUT: one to four run folders and the site folder")
    runs, out = args.paths[:-1], args.paths[-1]
    _check_count(runs)
    out = build_site(runs, out, export=True if args.export else None)
    print(
        f"static site: {out}/ (serve it with any static web server over http, e.g. "
        f"`python -m http.server -d {out}` or GitHub Pages)"
    )
    return 0


def cmd_explore(args) -> int:
    """Serve the explorer until Ctrl-C. Ctrl-C once the site is built is how the server is stopped: one line,
    ``vaelab explore: stopped``, exit status 0. Ctrl-C before that (while the runs are exported) cuts the work short:
    ``vaelab explore: interrupted``, exit status 130, as everywhere in the command line."""
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import options_from
    from vaelab.core.commands import ExploreOptions
    from vaelab.export.site import build_site
    from vaelab.runs.open import open_run

    o = options_from(args, ExploreOptions)
    _check_count(args.runs)
    runs = [open_run(r) for r in args.runs]
    previous, built = None, False
    try:
        # Ctrl-C stops the command even where SIGINT came in ignored (a job started with & by a non-interactive
        # shell), from here on: before the port is bound, during the exports, around the "serving" line
        previous = _stop_on_ctrl_c()
        with contextlib.ExitStack() as stack:
            site_dir = o.site
            if site_dir is None and len(runs) > 1:
                site_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vaelab-site-")))
            # the port is taken before the (slow) exports: a port in use is one line before any work
            server = _listen(site_dir if site_dir is not None else runs[0].site, o)
            stack.callback(server.server_close)
            site = build_site(runs, site_dir, export=True if o.export else None)
            built = True
            _serve(server, site, o)
    except KeyboardInterrupt:
        with contextlib.suppress(ValueError):  # a second Ctrl-C while the line is printed adds nothing
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"vaelab {args.command}: {'stopped' if built else 'interrupted'}", file=sys.stderr)
        return 0 if built else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return 0  # serve_forever returns only when stopped by a signal


def _stop_on_ctrl_c():
    """Make Ctrl-C (SIGINT) raise ``KeyboardInterrupt``, also where it came in ignored; returns the handler it
    replaced (None outside the main thread, where only the main thread's handlers apply)."""
    with contextlib.suppress(ValueError):
        return signal.signal(signal.SIGINT, signal.default_int_handler)
    return None


def _listen(site: Path, args):
    """The server of the site folder ``site`` (which may not exist yet), bound to ``--host`` / ``--port``.

    Raises:
        ConfigError: the address cannot be bound (in use, not an address of this machine).
    """
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.export.serve import make_server

    try:
        return make_server(site, args.host, args.port, quiet=not args.verbose)
    except OSError as exc:
        raise ConfigError(
            f"--host {args.host} --port {args.port}: cannot listen there ({exc.strerror or exc}); "
            "choose another --port (0 = any free port)"
        ) from None


def _serve(server, site: Path, args) -> None:
    """Print the page's address, open it (``--open``) and serve until Ctrl-C (``KeyboardInterrupt``, which the
    caller turns into one line and exit status 0: it is how the server is stopped)."""
    import webbrowser

    host, port = server.server_address[:2]
    url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/"
    print(f"serving {site}/ at {url}  (Ctrl-C stops)", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: --host {args.host} makes the explorer reachable from other machines")
    if args.open:
        webbrowser.open(url)
    server.serve_forever()


def _add_export(p) -> None:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import add_options
    from vaelab.core.commands import ExportOptions

    p.description = (
        "Write RUN/export/: encoder.onnx (x -> mu, logvar), decoder.onnx (z -> pixel probabilities), both with a "
        "dynamic batch axis and checked against PyTorch with onnxruntime (max absolute difference printed; above "
        "1e-4 is an error), codes.bin (test-set mu, float32 little-endian), labels.bin (uint8) and meta.json."
    )
    p.add_argument("run", type=run_folder, metavar="RUN", help="run folder or packed run")
    add_options(p, ExportOptions)
    p.set_defaults(func=cmd_export)


def _add_explore(p) -> None:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import add_options
    from vaelab.core.commands import ExploreOptions

    p.description = (
        "Build the explorer site (exporting each run first if RUN/export/ is missing or older than its "
        "checkpoints) and serve it over http. One run: the site goes into RUN/site/. Two to four runs of one image "
        "shape: one page encodes the drawing with every model, each with its own map; the site goes into a "
        "temporary folder (or --site DIR)."
    )
    p.add_argument("runs", type=run_folder, nargs="+", metavar="RUN", help="run folders (at most 4)")
    add_options(p, ExploreOptions)
    p.set_defaults(func=cmd_explore)


def _add_site(p) -> None:
    p.description = (
        "Write the static explorer site (page, onnxruntime-web files, models, codes) of one run, or of up to four "
        "runs of one image shape side by side, into OUT, ready to publish on any static web host. No CDN or "
        "network access is needed to view it."
    )
    p.add_argument("paths", type=Path, nargs="+", metavar="RUN [RUN ...] OUT", help="run folders, then OUT")
    p.add_argument("--export", action="store_true", help="re-export the run even if RUN/export/ is current")
    p.set_defaults(func=cmd_site)


COMMANDS = {
    "export": ("ONNX encoder/decoder (checked with onnxruntime) + test codes for the explorer", _add_export),
    "explore": ("serve the in-browser latent explorer of 1-4 runs (side by side) on 127.0.0.1", _add_explore),
    "site": ("write the self-contained static explorer site of 1-4 runs into OUT", _add_site),
}
