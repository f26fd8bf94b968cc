"""One exception type per family; every message names the file or option and what was expected."""


class VaelabError(Exception):
    """Base class of every error vaelab raises on purpose (the CLI prints these without a traceback)."""


class DatasetError(VaelabError):
    """A dataset file is missing, corrupt, truncated or does not match its catalogue entry."""


class ConfigError(VaelabError, ValueError):
    """An option or configuration value is unknown or impossible (names the option and what was expected)."""


class CheckpointError(VaelabError):
    """A checkpoint or run directory cannot be read (names the file)."""


class RunNotFoundError(CheckpointError, ConfigError):
    """The path given as a run does not exist: bad input, so the command line exits 2; it is also a
    ``CheckpointError`` (a run directory that cannot be read), as it was before it had a type of its own. (A folder
    that exists without ``config.json`` is a damaged run: ``CheckpointError``, exit 1.)"""


class PackError(ConfigError):
    """A packed model folder (``vaelab pack``, or one downloaded from the Hugging Face Hub) holds a readable file
    with a malformed field: a wrong type or value, an unknown format version, weights that do not fit the model or
    are not finite, a pickled array, a symbolic link leading out of the folder (names the file and the field; the
    command line exits 2). A file that cannot be read at all (missing, truncated, not JSON) is a
    ``CheckpointError`` (exit 1)."""


class TrainingError(VaelabError):
    """Training cannot go on, e.g. the loss became non-finite (the last good checkpoint is kept)."""


class StorageError(VaelabError):
    """A file could not be written (disk full, no permission); names the file. What was saved before stays
    loadable, and a run continues with ``--resume`` once the problem is fixed."""


class RunBusyError(VaelabError):
    """Another process holds the run (a second trainer on one run); names the run and the holder's process id."""


class ExportError(VaelabError):
    """A run cannot be exported for the browser: the ONNX export fails, onnxruntime disagrees with PyTorch by more
    than the tolerance, there is no current export of the run, or a file the explorer site needs is missing (names
    the file and, where there is one, the command that makes it)."""


def raise_if_interrupted(exc: BaseException) -> None:
    """Re-raise the Ctrl-C (``KeyboardInterrupt``) or stop signal that ``exc`` wraps, if any.

    Some libraries catch everything and wrap it (``torch.export`` turns a Ctrl-C during tracing into a
    ``TorchExportError`` whose ``__cause__`` is the ``KeyboardInterrupt``); code that turns a library's exceptions
    into one line calls this first, so that an interrupt stays an interrupt (exit 130) and not a failure (exit 1).
    Walks the ``__cause__`` / ``__context__`` chain; an exception that is not an ``Exception`` (``KeyboardInterrupt``,
    the command line's signal stop) is raised as it is.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if not isinstance(current, Exception):
            raise current.with_traceback(current.__traceback__) from None
        current = current.__cause__ or current.__context__
