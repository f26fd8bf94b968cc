"""The ``nll-vs-k`` figure of a run (``vaelab plot RUN nll-vs-k``, ``Run.plot("nll-vs-k")``):
the test NLL against K importance samples.

Its options are declared once in ``vaelab.core.commands.PLOT_KINDS``; ``vaelab.viz.figures.registry`` validates
them and calls ``draw(figs, o, out, write)`` with the run's ``vaelab.viz.render.RunFigures``.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.core.errors import ConfigError
from vaelab.core.naming import flag_style
from vaelab.viz.nll_k import nll_vs_k_figure
from vaelab.viz.style import save_figure

KIND = "nll-vs-k"


def draw(figs, o, out: Path | None = None, write: bool = True) -> dict:
    """The importance-weighted test NLL against K (``eval.json``'s ``nll_vs_k``: the first K of one pass's
    samples), with standard errors, the -ELBO and, for a recipe run, the paper's number.

    Args:
        out: the file to write instead of the default ``RUN/figures/nll-vs-k.png``. write: False builds the
            figure only.

    Returns:
        ``{"figure", "files": [png], "k", "nll", "nll_stderr"}`` as drawn.

    Raises:
        ConfigError: no eval.json with ``nll_vs_k`` (run ``vaelab evaluate RUN`` first).
    """
    ev = figs.run.read_eval()
    if not ev or not ev.get("nll_vs_k"):
        raise ConfigError(f"{figs.run.eval_path}: no NLL-vs-K values; {_evaluate_first(figs.run.path)}")
    res = nll_vs_k_figure(ev, f"{figs.name}: test NLL vs K")
    files = [save_figure(res["figure"], out or figs.out("nll-vs-k.png"), figs.dpi)] if write else []
    return {
        "figure": res["figure"],
        "files": files,
        "k": res["k"],
        "nll": res["nll"],
        "nll_stderr": res["nll_stderr"],
    }


def _evaluate_first(path) -> str:
    """How to make the NLL-vs-K values, said as the caller knows it: the command, or the method."""
    return f"run vaelab evaluate {path} first" if flag_style() else "run run.evaluate() first"
