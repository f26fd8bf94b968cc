"""``open_run(path)``: a run folder or a packed model folder, whichever ``path`` holds.

Every command that reads a run (evaluate, sample, reconstruct, plot, report, export, explore, pack) opens it here,
so each takes both forms alike.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.runs.files import RunFiles
from vaelab.runs.folder import RunDir
from vaelab.runs.pack_read import PackedRun, is_packed


def open_run(path: str | Path | RunFiles, networks=None) -> RunDir | PackedRun:
    """The run in ``path``: a ``PackedRun`` if it is a packed folder (``vaelab.runs.pack_read.is_packed``), else
    a ``RunDir``. A run object given is returned as it is.

    Args:
        path: the folder, or a run object. networks: a ``custom-vae``'s encoder and decoder modules
            (``vaelab.models.custom.Networks``), kept on the run object for building its model.

    Raises:
        CheckpointError: no ``config.json`` in ``path`` (not a vaelab run), or a damaged file of a pack.
        PackError: a malformed field of a pack (every file of a pack is checked when it is opened).
    """
    if isinstance(path, RunFiles):
        if networks is not None:
            path.networks = networks
        return path.require()
    return (PackedRun(path, networks) if is_packed(path) else RunDir(path, networks)).require()
