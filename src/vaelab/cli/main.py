"""The ``vaelab`` command line. Each command group is a module of ``vaelab.cli`` with a ``COMMANDS`` table
``{name: (one-line help, build)}``; ``build(parser)`` adds the command's arguments and ``set_defaults(func=...)``.

Only the command being run is built (its arguments may need the model registry, hence torch): ``vaelab --help``
lists the commands from the tables alone and imports neither torch nor matplotlib. Errors of vaelab's own types
are printed as one clear line (no traceback), naming options as flags (``--latent-dim 0``; ``vaelab.core.naming``,
while Python callers see keywords): exit status 2 for bad input (a ``UsageError`` while parsing, with
the closest command, option or choice where one is close, or a ``ConfigError``), 1 for failures during work,
128 + the signal's number for a stop by a signal (130 Ctrl-C, 143 SIGTERM, 138 SIGUSR1). During training a signal
is a stop request (the trainer saves a checkpoint first); anywhere else SIGTERM and SIGUSR1 unwind like Ctrl-C, so
that locks are released and no file is left half-written."""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path

from vaelab.cli import classifier, compare, evaluate, figures, images, relay, reproduce, share, train, web
from vaelab.cli.parser import UsageError, VaelabParser, unknown_option
from vaelab.core.errors import ConfigError, VaelabError
from vaelab.core.naming import flag_names

COMMAND_GROUPS = (train, evaluate, images, figures, compare, classifier, web, share, reproduce, relay)


def commands() -> dict[str, tuple]:
    """Every command: ``{name: (help, build)}``, in the order of the help."""
    return {name: entry for group in COMMAND_GROUPS for name, entry in group.COMMANDS.items()}


def build_parser(command: str | None = None, full: bool = False) -> VaelabParser:
    """The parser with ``command``'s arguments (every command's when ``full``; the others are named only).

    Args:
        command: the command to be run (the first word of the arguments that is not an option).
        full: build every command (the help-text test, the generated CLI reference).
    """
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.version import __version__

    parser = VaelabParser(prog="vaelab", description="Variational autoencoders on image data.")
    parser.add_argument("--version", action="version", version=f"vaelab {__version__}", help="the version, then exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (help_text, build) in commands().items():
        p = sub.add_parser(name, help=help_text, description=help_text[:1].upper() + help_text[1:] + ".")
        if full or name == command:
            build(p)
    return parser


def _command_of(argv: list[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def parse(argv: list[str]):
    """Parse ``argv`` into the namespace of its command.

    Raises:
        UsageError: an unknown command, option, choice or bad value (one line, exit status 2).
    """
    parser = build_parser(_command_of(argv))
    args, extras = parser.parse_known_args(argv)
    if extras:
        raise unknown_option(args._parser, extras)
    return args


def _config_error_line(args, exc: ConfigError) -> str:
    """``vaelab CMD: error: MESSAGE``, and where the message is about a flag (a bad value) the help that lists it."""
    text = str(exc)
    hint = f" (see `{args._parser.prog} --help`)" if text.startswith("-") else ""
    return f"vaelab {args.command}: error: {text}{hint}"


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


def _check_data_dir(args) -> None:
    """A ``--data-dir`` given on the command line must be a folder (a run's recorded one may be missing on another
    machine, and the lookup then goes on to ``$VAELAB_DATA``; one typed now is meant)."""
    from pathlib import Path

    data_dir = getattr(args, "data_dir", None) or getattr(args, "data.data_dir", None)  # train: the data section
    if data_dir is not None and not Path(data_dir).is_dir():
        what = "not a folder" if Path(data_dir).exists() else "no such folder"
        raise ConfigError(f"--data-dir {data_dir}: {what}; expected the folder holding <dataset>/<files>")


def _stdout_closed() -> int:
    """The reader of stdout went away (``vaelab info RUN | head``): no traceback, and nothing more is written
    (Python's own advice: point stdout at devnull so the exit's flush cannot fail); 128 + SIGPIPE, as the shell
    reports a program ended by a closed pipe."""
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 128 + getattr(signal, "SIGPIPE", 13)


def _os_error_line(command: str, exc: OSError) -> str:
    """A file-system failure that no check foresaw, as one line naming the file."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"vaelab {command}: error: {where}{exc.strerror or exc}"


def _unsaved(args) -> str:
    """For a train stopped before its run was saved (no ``config.json`` yet): that nothing is saved, and how to start
    it again (``--resume`` has nothing to continue)."""
    run_dir = getattr(args, "run_dir", None)
    if run_dir is None or (Path(run_dir) / "config.json").is_file():
        return ""
    again = " ".join(a for a in getattr(args, "raw_argv", []) if a != "--resume")
    return f" before {run_dir} was saved; nothing to resume: run it again (vaelab {again})"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parse(argv)
    except UsageError as exc:
        print(exc.line(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while the command's modules (torch) are imported
        print(f"vaelab {_command_of(argv) or ''}: interrupted".replace(" :", ":"), file=sys.stderr)
        return 130
    args.raw_argv = list(argv)  # as given (vaelab train --nproc re-runs it)
    replaced = _catch_stop_signals()
    try:
        with flag_names():
            _check_data_dir(args)
            return int(args.func(args) or 0)
    except SignalExit as exc:
        print(f"vaelab {args.command}: stopped by {signal.Signals(exc.signum).name}{_unsaved(args)}", file=sys.stderr)
        return 128 + exc.signum
    except UsageError as exc:
        print(exc.line(), file=sys.stderr)
        return 2
    except ConfigError as exc:  # bad input found by the declarations or the command: one line
        print(_config_error_line(args, exc), file=sys.stderr)
        return 2
    except VaelabError as exc:
        print(f"vaelab {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"vaelab {args.command}: interrupted{_unsaved(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _stdout_closed()
    except OSError as exc:
        print(_os_error_line(args.command, exc), file=sys.stderr)
        return 1
    finally:
        for signum, handler in replaced.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    raise SystemExit(main())
