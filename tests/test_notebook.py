"""The tutorial notebook (docs/tutorial.ipynb) runs end to end in a fresh kernel on a small slice of MNIST: every
cell, with nbclient on the ``python3`` kernel (ipykernel, started with this interpreter), failing if a cell fails.

It is stored executed (tools/execute_tutorial.py), because the manual renders it as it is and quotes what it printed;
the test checks that a fresh execution prints the numbers the stored one holds, so the manual's numbers are the ones
the code gives now."""

from __future__ import annotations

import copy
import os
import re
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import vaelab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
SRC = Path(vaelab.__file__).resolve().parents[1]


def _printed(nb, snippet: str) -> str:
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(snippet)]
    assert len(cells) == 1, snippet
    return "".join(o.get("text", "") for o in cells[0].outputs if o.get("name") == "stdout")


def _nll(text: str) -> tuple[float, float]:
    match = re.search(r"test NLL (\S+) ± (\S+) nats", text)
    assert match, text
    return float(match[1]), float(match[2])


def test_tutorial_notebook_is_stored_executed():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and [c.execution_count for c in code] == list(range(1, len(code) + 1))  # in order, every cell
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "tmp" not in _printed(nb, "from pathlib import Path")  # no temporary folder of the execution


def test_tutorial_notebook_runs(tmp_path, data_dir, monkeypatch):
    stored = nbformat.read(NOTEBOOK, as_version=4)
    nb = copy.deepcopy(stored)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    # the kernel inherits this environment: the tree under test, the data, the test's cache (no downloads)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("VAELAB_DATA", str(data_dir))
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError (naming the cell and its traceback) if a cell fails
    seconds = time.perf_counter() - t0
    print(f"tutorial notebook: {len(nb.cells)} cells executed in {seconds:.1f} s")
    for cell in nb.cells:
        ex = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            from datetime import datetime

            t = [
                datetime.fromisoformat(ex[k].replace("Z", "+00:00"))
                for k in ("iopub.execute_input", "shell.execute_reply")
            ]
            print(f"  {(t[1] - t[0]).total_seconds():6.1f} s  {cell.source.splitlines()[0][:70]}")

    def outputs(snippet: str) -> list:
        cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(snippet)]
        assert len(cells) == 1, snippet
        return cells[0].outputs

    for snippet in ('vae.plot("manifold", size=15, from_digit', 'ae.plot("latent"', 'vae.plot("samples"'):
        shown = [o for o in outputs(snippet) if "image/png" in o.get("data", {})]
        assert len(shown) == 1, snippet  # the returned Figure is shown inline once
    text = "".join(o.get("text", "") for o in outputs("result = vae.evaluate("))
    assert "test NLL" in text and "(K=100, 1000 images)" in text
    assert (tmp_path / "runs" / "tutorial-vae" / "eval.json").is_file()
    # the stored outputs (what the manual quotes) are what the code gives now, within one standard error
    nll, stderr = _nll(_printed(nb, "result = vae.evaluate("))
    stored_nll, stored_stderr = _nll(_printed(stored, "result = vae.evaluate("))
    assert abs(nll - stored_nll) <= stored_stderr, (
        f"the tutorial now measures NLL {nll:.2f} ± {stderr:.2f}, its stored output says {stored_nll:.2f}: "
        "execute it again (tools/execute_tutorial.py)"
    )
    assert (tmp_path / "manifold.png").is_file() and (
        tmp_path / "shared" / "tutorial-vae" / "model.safetensors"
    ).is_file()
