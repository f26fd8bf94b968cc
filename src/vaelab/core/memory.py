"""The machine's free memory, without importing torch (the IDX reader checks declared sizes against it before
any payload is read; ``vaelab.core.resources`` checks a training run's estimate against it)."""

from __future__ import annotations

import os

from vaelab.core.errors import ConfigError


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation: ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the
    free physical pages from ``os.sysconf``; None if neither is known."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits_in_memory(nbytes: int, shown: str, what: str) -> None:
    """Refuse, before any work, a size whose arrays cannot fit in the memory available now.

    Args:
        nbytes: an estimate of the bytes the work holds at once.
        shown: the option and its value as the caller knows it (``vaelab.core.naming.option``: ``-n 100000000``).
        what: what would be made, for the message (``100,000,000 images of 1x28x28``).

    Raises:
        ConfigError: ``nbytes`` exceeds the available memory (one line naming the option; exit status 2).
    """
    free = available_memory()
    if free is not None and nbytes > free:
        raise ConfigError(
            f"{shown}: {what} need about {nbytes / 2**30:,.1f} GiB of memory, and {free / 2**30:,.1f} GiB is "
            "available; ask for fewer"
        )
