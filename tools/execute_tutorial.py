"""Execute docs/tutorial.ipynb in place, as the manual renders it (its outputs are the numbers the manual quotes).

    VAELAB_DATA=/path/to/data .venv/bin/python tools/execute_tutorial.py [NOTEBOOK]

The kernel runs in a temporary folder (the notebook's runs/, shared/ and manifold.png go there, not into docs/), on
the ``python3`` kernel of this environment with two threads, as tests/test_notebook.py runs it. The stored
notebook then holds the outputs of that one execution; run this again after a change to the code it shows.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else ROOT / "docs" / "tutorial.ipynb"
    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    with tempfile.TemporaryDirectory(prefix="vaelab-tutorial-") as tmp:
        client = NotebookClient(
            nb, timeout=600, kernel_name="python3", record_timing=False, resources={"metadata": {"path": tmp}}
        )
        t0 = time.perf_counter()
        client.execute()
    for cell in nb.cells:  # the temporary folder's name is no part of the result
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = out["text"].replace(tmp, ".")
    nbformat.write(nb, path)
    print(f"{path}: executed in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
