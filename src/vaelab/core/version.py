"""The package's version, in the ground floor so that every layer may read it (``vaelab.__version__``)."""

__version__ = "0.1.0"
