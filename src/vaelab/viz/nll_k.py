"""The NLL-vs-K figure: how the importance-weighted estimate of -log p(x) converges with the number of samples K.

The values come from ``eval.json`` (``nll_vs_k``, written by ``vaelab evaluate``): for each K, the estimate with
the first K of the same importance samples per image (one pass), with its standard error over images. In
expectation L_K rises with K towards log p(x) (Burda et al. 2016, Theorem 1), so the NLL falls and flattens; the
ELBO (-elbo, the K = 1 bound's expectation) and, for a recipe run, the paper's number are drawn for reference.
"""

from __future__ import annotations

from pathlib import Path

from vaelab.viz.style import COLORBLIND10, new_figure, save_figure, styled


def nll_vs_k_figure(evaluation: dict, title: str = "") -> dict:
    """Test NLL (nats per image) against K on a log axis, with ± 1 standard error bars.

    Args:
        evaluation: an ``eval.json`` dict with ``nll_vs_k`` (``[{"k", "nll", "nll_stderr"}]``), ``elbo`` and
            optionally ``paper_nll``.
        title: the figure's title (default: says the split and the number of images).

    Returns:
        ``{"figure", "k", "nll", "nll_stderr"}``: the ``vaelab.viz.style.Figure`` and the drawn values.

    Raises:
        ValueError: ``evaluation`` has no ``nll_vs_k`` entries.
    """
    rows = evaluation.get("nll_vs_k") or []
    if not rows:
        raise ValueError("no nll_vs_k entries in the evaluation")
    ks = [int(r["k"]) for r in rows]
    nll = [float(r["nll"]) for r in rows]
    se = [float(r["nll_stderr"]) for r in rows]
    with styled():
        fig = new_figure((6.4, 4.2))
        ax = fig.add_subplot()
        ax.errorbar(ks, nll, yerr=se, marker="o", color=COLORBLIND10[0], capsize=3, label="importance-weighted NLL")
        if evaluation.get("elbo") is not None:
            elbo = -float(evaluation["elbo"])
            ax.axhline(elbo, color=COLORBLIND10[7], ls=":", label=f"-ELBO ({elbo:.2f})")
        if evaluation.get("paper_nll") is not None:
            paper = float(evaluation["paper_nll"])
            ax.axhline(paper, color=COLORBLIND10[3], ls="--", label=f"paper ({paper:.2f})")
        if len(ks) > 1:
            ax.set_xscale("log")
        ax.set_xlabel("K, importance samples per image (first K of one pass)")
        ax.set_ylabel("test NLL, nats per image")
        split = evaluation.get("split", "test")
        ax.set_title(title or f"NLL vs K ({split} split, {evaluation.get('n_images', '?')} images)")
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=9)
    return {"figure": fig, "k": ks, "nll": nll, "nll_stderr": se}


def plot_nll_vs_k(evaluation: dict, path: str | Path, title: str = "", dpi: int = 150) -> dict:
    """``nll_vs_k_figure`` written as a PNG at ``path`` (``dpi`` >= 100 is written); returns its dict plus
    ``path``."""
    res = nll_vs_k_figure(evaluation, title)
    res["path"] = save_figure(res["figure"], path, dpi)
    return res
