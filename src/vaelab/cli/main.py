"""The ``vaelab`` command line. Each command group is a module of ``vaelab.cli`` with ``register(sub)``, which adds
its sub-parsers with ``set_defaults(func=cmd_...)``. Errors of vaelab's own types are printed as one clear line
(no traceback): exit status 2 for bad input (``ConfigError``), 1 for failures during work, 128 + the signal's number
for a stop by a signal (130 Ctrl-C, 143 SIGTERM, 138 SIGUSR1). During training a signal is a stop request (the
trainer saves a checkpoint first); anywhere else SIGTERM and SIGUSR1 unwind like Ctrl-C, so that locks are released
and no file is left half-written."""

from __future__ import annotations

import argparse
import signal
import sys

from vaelab.cli import classifier, compare, evaluate, figures, images, relay, reproduce, share, train, web
from vaelab.core.errors import ConfigError, VaelabError

COMMAND_GROUPS = (train, evaluate, images, figures, compare, classifier, web, share, reproduce, relay)


def build_parser() -> argparse.ArgumentParser:
    from vaelab.core.version import __version__

    parser = argparse.ArgumentParser(prog="vaelab", description="Variational autoencoders on image data.")
    parser.add_argument("--version", action="version", version=f"vaelab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


class SignalExit(BaseException):
    """SIGTERM or SIGUSR1 outside the training loop: unwinds the stack (releasing locks) like Ctrl-C does."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_signal_exit(signum, frame):
    raise SignalExit(signum)


def _catch_stop_signals() -> dict:
    """Install the unwinding handler where the signal has its default action; returns the handlers replaced."""
    replaced = {}
    for name in ("SIGTERM", "SIGUSR1"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
            try:
                replaced[signum] = signal.signal(signum, _raise_signal_exit)
            except ValueError:  # not the main thread
                pass
    return replaced


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.raw_argv = list(sys.argv[1:] if argv is None else argv)  # as given (vaelab train --nproc re-runs it)
    replaced = _catch_stop_signals()
    try:
        return int(args.func(args) or 0)
    except SignalExit as exc:
        print(f"vaelab {args.command}: stopped by {signal.Signals(exc.signum).name}", file=sys.stderr)
        return 128 + exc.signum
    except ConfigError as exc:
        print(f"vaelab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except VaelabError as exc:
        print(f"vaelab {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"vaelab {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        for signum, handler in replaced.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    raise SystemExit(main())
