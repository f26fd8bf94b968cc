"""The ``vaelab`` command line (``main``)."""

from vaelab.cli.main import main

__all__ = ["main"]
