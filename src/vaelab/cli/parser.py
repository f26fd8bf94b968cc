"""The command line's argument parser: one line per mistake, with a "did you mean" where one is close.

``VaelabParser`` is argparse's parser with two changes:

* ``error`` raises ``UsageError`` instead of printing the usage and exiting; ``vaelab.cli.main`` prints it as one
  line, ``vaelab train: error: <what> (see `vaelab train --help`)``, and exits with status 2;
* a value outside an argument's choices (a command, a figure kind, ``--model``, ``--method`` ...) is reported with
  the closest choice (``difflib``, through ``vaelab.core.options.suggest``).

``unknown_option`` words the same for a flag the command does not have (``--latent_dim`` -> ``--latent-dim``).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from vaelab.core.suggest import suggest


class UsageError(Exception):
    """Bad input caught while parsing: ``prog`` is the (sub)command, ``message`` one line."""

    def __init__(self, prog: str, message: str):
        super().__init__(message)
        self.prog, self.message = prog, message

    def line(self) -> str:
        return f"{self.prog}: error: {self.message} (see `{self.prog} --help`)"


_REWORD = (
    (re.compile(r"^argument (\S+?)(?:/\S+)*: invalid int value: (.*)$"), r"\1 \2: expected an integer"),
    (re.compile(r"^argument (\S+?)(?:/\S+)*: invalid float value: (.*)$"), r"\1 \2: expected a number"),
    (re.compile(r"^argument (\S+?)(?:/\S+)*: expected one argument$"), r"\1: expected a value"),
    (re.compile(r"^argument (-\S+?)(?:/\S+)*: ('[^']*'): (.*)$"), r"\1 \2: \3"),  # the type's message has the value
    (re.compile(r"^argument [^-\s]\S*: (.*)$"), r"\1"),  # a positional: its type's message names the value
    (re.compile(r"^argument (\S+?)(?:/\S+)*: (.*)$"), r"\1: \2"),
)


def reword(message: str) -> str:
    """argparse's wording -> vaelab's (``--epochs 'x': expected an integer``)."""
    for pattern, repl in _REWORD:
        if pattern.match(message):
            return pattern.sub(repl, message)
    return message


class VaelabParser(argparse.ArgumentParser):
    """argparse's parser whose errors are one line (``UsageError``) and whose choices suggest the closest."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_defaults(_parser=self)  # the innermost parser used ends up in the namespace (for unknown_option)

    def error(self, message: str):
        raise UsageError(self.prog, reword(message))

    def _check_value(self, action, value):  # argparse's hook for choices (also the sub-command names)
        if action.choices is None or value in action.choices:
            return
        choices = [str(c) for c in action.choices]
        hint = suggest(value, choices)
        if isinstance(action, argparse._SubParsersAction):
            what = "figure kind" if action.dest == "kind" else "command"
            listed = f"; expected one of {', '.join(choices)}" if not hint else ""
            raise argparse.ArgumentError(None, f"unknown {what} {value!r}{hint}{listed}")
        flag = action.option_strings[0] if action.option_strings else (action.metavar or action.dest)
        raise argparse.ArgumentError(None, f"{flag} {value!r}: expected one of {', '.join(choices)}{hint}")


def unknown_option(parser: argparse.ArgumentParser, extras: list[str]) -> UsageError:
    """The error for arguments ``parser`` (the innermost command's) did not take: the first unknown flag with the
    closest flag it has, or the first unexpected word."""
    flags = [s for s in parser._option_string_actions if s not in ("-h", "--help")]
    first = next((e for e in extras if e.startswith("-")), None)
    if first is None:
        return UsageError(parser.prog, f"unexpected argument {extras[0]!r}")
    name = first.split("=", 1)[0]
    return UsageError(parser.prog, f"unknown option {name}{suggest(name, flags)}")


def run_folder(text: str) -> Path:
    """An argparse type: a path that exists (a run folder or a packed run). A path that does not exist is bad input
    (exit 2); a folder that exists is checked by the command (a damaged pack is a failure, exit 1)."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: not a vaelab run directory (no such folder)")
    return path
