"""The ``vaelab`` command line. Each command group is a module of ``vaelab.cli`` with ``register(sub)``, which adds
its sub-parsers with ``set_defaults(func=cmd_...)``. Errors of vaelab's own types are printed as one clear line
(no traceback): exit status 2 for bad input (``ConfigError``), 1 for failures during work, 130 for Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from vaelab.cli import classifier, compare, evaluate, figures, images, reproduce, share, train, web
from vaelab.core.errors import ConfigError, VaelabError

COMMAND_GROUPS = (train, evaluate, images, figures, compare, classifier, web, share, reproduce)


def build_parser() -> argparse.ArgumentParser:
    from vaelab import __version__

    parser = argparse.ArgumentParser(prog="vaelab", description="Variational autoencoders on image data.")
    parser.add_argument("--version", action="version", version=f"vaelab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"vaelab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except VaelabError as exc:
        print(f"vaelab {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"vaelab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
