"""The literature leaderboard: papers' test NLLs next to vaelab's, generated from the result files runs write.

``vaelab reproduce RECIPE`` writes ``RUN/result.json`` (its format: ``vaelab.runs.results``). ``vaelab leaderboard``
collects such files (``vaelab.runs.results.collect_results``) and renders one Markdown table with a row per recipe
(``render_leaderboard``); nothing in it is typed by hand, and the same result files always give the same bytes (no
dates, fixed number formats, a fixed row order).
"""

from __future__ import annotations

import re
from pathlib import Path

from vaelab.core.errors import ConfigError
from vaelab.runs.recipes import Recipe
from vaelab.runs.relay import format_duration, read_status


def collect_relays(folders) -> list[dict]:
    """The relay status files (``*/relay/status.json``) directly under each of ``folders``."""
    found = (read_status(p) for folder in folders for p in sorted(Path(folder).glob("*/relay")))
    return [s for s in found if s is not None and "recipe" in s and "epochs_done" in s]


def _natural(text: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _hardware(r: dict) -> str:
    """Where a result ran: its ``hardware``, or, for a row carried by the relay across machines of different kinds,
    each kind with the epochs it ran (``A: epochs 1-3,032; B: epochs 3,033-3,280``, consecutive segments merged)."""
    spans: list[list] = []  # [hardware, first epoch, last epoch]
    for seg in r.get("segments") or []:
        hw, first, last = seg.get("hardware", "?"), int(seg["from_epoch"]) + 1, int(seg["to_epoch"])
        if spans and spans[-1][0] == hw:
            spans[-1][2] = last
        else:
            spans.append([hw, first, last])
    if len(spans) < 2:
        return str(r.get("hardware", "?"))
    return "; ".join(f"{hw}: epochs {_count(a)}-{_count(b)}" for hw, a, b in spans)


def sample_details(s: dict | None) -> list[str]:
    """A row's sample scores (``vaelab evaluate --samples``) as note text, each beside its floor (training images
    against the test images); empty without them."""
    if not s:
        return []
    ref = s["reference"]
    return [
        f"{s['name']} {s['frechet_distance']:.3f} (floor {ref['frechet_distance']:.3f}), precision "
        f"{s['precision']:.3f} / recall {s['recall']:.3f} (floor {ref['precision']:.3f} / {ref['recall']:.3f}; "
        f"k = {s['k']}, {s['n_samples']} samples)"
    ]


def best_result(results: list[dict]) -> dict | None:
    """Of several results of one recipe, the one that ran the most epochs (then: more test images, lower NLL)."""
    if not results:
        return None
    return min(results, key=lambda r: (-int(r["epochs_run"]), -int(r.get("n_test") or 0), float(r["nll"])))


def _by_recipe(results: list[dict]) -> dict[str, list[dict]]:
    by_recipe: dict[str, list[dict]] = {}
    for r in results:
        by_recipe.setdefault(r["recipe"], []).append(r)
    return by_recipe


def _rows(recipes: list[Recipe], by_recipe: dict[str, list[dict]]) -> tuple[dict, dict, list[str]]:
    """The leaderboard's rows ``{recipe: (cite, table, paper_nll, paper_k)}`` (results of unknown recipes get rows
    from their own files), the papers ``{cite: title}`` and the row order (by paper, then table row)."""
    rows = {rec.name: (rec.cite, rec.table, rec.paper_nll, rec.paper_k) for rec in recipes}
    papers = {rec.cite: rec.paper for rec in recipes}
    for name, rs in by_recipe.items():
        r = rs[0]
        if name not in rows:
            papers.setdefault(r.get("cite") or r.get("paper", "?"), r.get("paper", "?"))
            rows[name] = (
                r.get("cite") or r.get("paper", "?"),
                r.get("table", "?"),
                r.get("paper_nll"),
                r.get("paper_k"),
            )
    order = sorted(rows, key=lambda n: (_natural(rows[n][0]), _natural(rows[n][1]), n))
    return rows, papers, order


def render_relays(statuses: list[dict]) -> list[str]:
    """Markdown lines for the rows still being trained through the relay (``vaelab.runs.relay`` status files):
    epochs reached of the protocol's, the latest rate and device, and the ETA at that rate."""
    if not statuses:
        return []
    lines = [
        "",
        "## In progress through the relay",
        "",
        "Rows being trained to the protocol's full length across machines (`make relay`; the snapshot is "
        "`docs/results/<recipe>/relay/`). The ETA assumes the latest segment's rate continues.",
        "",
        "| recipe | epochs reached | per epoch (last machine) | ETA | segments | continuations bit-exact |",
        "|---|---|---|---|---|---|",
    ]
    for s in sorted(statuses, key=lambda s: s["recipe"]):
        rate = s.get("seconds_per_epoch")
        per = "?" if rate is None else f"{rate:.1f} s ({s.get('device')}, {s.get('hardware')})"
        exact = "yes" if s.get("bit_exact") else "no"
        lines.append(
            f"| `{s['recipe']}` | {_count(s['epochs_done'])} of {_count(s['epochs_total'])} | {per} | "
            f"{format_duration(s.get('eta_seconds'))} | {s.get('segments', '?')} | {exact} |"
        )
    return lines


def render_evaluations(records: list[dict]) -> list[str]:
    """Markdown lines for the measured runs outside the papers' protocols (``collect_evaluations``): test NLL in
    nats per image and bits per dimension, and the sample scores beside their floors where measured."""
    if not records:
        return []
    lines = [
        "",
        "## Other measured runs",
        "",
        "Runs that follow no paper's protocol, measured by `vaelab evaluate` (their `make` targets copy `eval.json`, "
        "`config.json` and `metrics.jsonl` to `docs/results/<run>/`). Their NLLs are of other data or likelihoods "
        "than the rows above: compare them only with runs of the same dataset and likelihood. Bits per dimension "
        "of a density (`gaussian`, `continuous-bernoulli`) add the 8 bits of a pixel's 256 bins and are an "
        "approximation; the sample scores are in the features of vaelab's own classifier for the dataset, not FID.",
        "",
        "| run | model | dataset (likelihood) | epochs run | test NLL (nats per image) | bits/dim | sample scores |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(records, key=lambda r: r["name"]):
        images = f"{_count(r.get('n_images'))} {r.get('split', '?')} images"
        nll = f"{r['nll']:.2f} ± {r['nll_stderr']:.2f} (K = {_count(r['k'])}, {images})"
        bpd = f"{r['bits_per_dim']:.3f} ± {r['bits_per_dim_stderr']:.3f}" if "bits_per_dim" in r else "not measured"
        scores = "; ".join(sample_details(r.get("samples"))) or "not measured"
        lines.append(
            f"| `{r['name']}` | {r.get('model', '?')} | {r.get('dataset', '?')} ({r.get('likelihood', '?')}) | "
            f"{_count(r['epochs_run'])} | {nll} | {bpd} | {scores} |"
        )
    return lines


def render_leaderboard(
    recipes: list[Recipe], results: list[dict], relays: list[dict] = (), evaluations: list[dict] = ()
) -> str:
    """The leaderboard as Markdown: one row per recipe (the paper's number and, where a result exists, vaelab's),
    then each row's deviations from the paper's protocol.

    Args:
        recipes: every known recipe (rows without a result say so).
        results: ``collect_results``'s records; results of recipes not in ``recipes`` get rows of their own.
        relays: the status files of rows in progress through the relay (``collect_relays``).
        evaluations: the measured runs outside the papers' protocols (``collect_evaluations``).
    """
    by_recipe = _by_recipe(results)
    rows, papers, order = _rows(recipes, by_recipe)
    lines = [
        "# Leaderboard: vaelab against the literature",
        "",
        "Generated by `vaelab leaderboard` from the `result.json` files that `vaelab reproduce RECIPE` writes (and, "
        "for the other measured runs, their `eval.json`); do not edit by hand. Test NLL in nats per image (lower is "
        "better), ± one standard error over the test images. "
        "A row whose run was shorter than the paper's protocol says so: its number is not comparable with the "
        "paper's yet.",
        "",
        "| recipe | paper (table row) | paper NLL | vaelab NLL | K | split (train / val / test) | binarization "
        "(train; test) | epochs run | wall time | hardware |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for name in order:
        paper, table, paper_nll, paper_k = rows[name]
        paper_cell = f"{paper_nll:.2f} (K = {paper_k})" if paper_nll is not None else "?"
        r = best_result(by_recipe.get(name, []))
        if r is None:
            lines.append(f"| `{name}` | {paper}, {table} | {paper_cell} | not run yet | | | | | | |")
            continue
        short = bool(r.get("shorter_than_protocol"))
        nll = f"{r['nll']:.2f} ± {r['nll_stderr']:.2f}" + (" (short run)" if short else "")
        epochs = f"{_count(r['epochs_run'])} of {_count(r.get('epochs_protocol'))}"
        if short:
            epochs += " (shorter than the protocol)"
        if r.get("stopped_early"):
            epochs += " (stopped early, as the protocol does)"
        if r.get("checkpoint") == "best":
            epochs += f"; tested: epoch {_count(r.get('checkpoint_epoch'))}, the best validation ELBO"
        split = f"{_count(r.get('n_train'))} / {_count(r.get('n_val'))} / {_count(r.get('n_test'))} ({r.get('split')})"
        test_bin = str(r.get("binarization_test", "?")).split(":")[0]
        binarization = f"{r.get('binarization_train', '?')}; {test_bin}"
        lines.append(
            f"| `{name}` | {paper}, {table} | {paper_cell} | **{nll}** | {_count(r['k'])} | {split} | {binarization} | "
            f"{epochs} | {format_duration(r.get('wall_seconds'))} | {_hardware(r)} |"
        )
        details = _row_details(r)
        notes.append(f"- `{name}` ({'; '.join(details)}); differs from the paper's protocol in:")
        notes += [f"  - {d}" for d in r.get("deviations", [])]
    lines += render_relays(list(relays))
    lines += render_evaluations(list(evaluations))
    lines += ["", "Papers:", ""] + [f"- {cite}: {paper}" for cite, paper in sorted(papers.items())]
    if notes:
        lines += ["", "## What each measured row did differently from the paper", "", *notes]
    return "\n".join(lines) + "\n"


def _row_details(r: dict) -> list[str]:
    """A measured row's note: active units per layer (and the paper's), NLL vs K, bits/dim, sample scores."""
    per_layer = [str(v["active_units"]) for v in (r.get("layers") or {}).values()]
    details = [f"active units {'+'.join(per_layer) or r.get('active_units')}"]
    if r.get("paper_active_units"):
        details[-1] += f" (paper: {r['paper_active_units']})"
    if r.get("nll_vs_k"):
        details.append("NLL vs K: " + ", ".join(f"{e['k']:,}: {e['nll']:.2f}" for e in r["nll_vs_k"]))
    if r.get("bits_per_dim") is not None:
        details.append(f"{r['bits_per_dim']:.4f} bits/dim")
    return details + sample_details(r.get("samples"))


# the README's summary block ------------------------------------------------------------------------------------
README_BEGIN = (
    "<!-- leaderboard:begin (generated by `vaelab leaderboard --readme README.md` from docs/results/*/result.json; "
    "do not edit by hand) -->"
)
README_END = "<!-- leaderboard:end -->"
README_BEGIN_PREFIX = "<!-- leaderboard:begin"  # how a begin line is recognised (the rest of it is kept as written)


def render_summary(recipes: list[Recipe], results: list[dict]) -> str:
    """The README's summary of the measured rows as Markdown: for each recipe with a result (the one
    ``best_result`` picks, as the leaderboard does), vaelab's test NLL against the paper's, the ELBO and its gap to
    the NLL, active units per stochastic layer, epochs run and time; then the NLL-vs-K estimates of each row.

    Args:
        recipes: every known recipe (the rows come in the leaderboard's order: by paper, then table row).
        results: ``collect_results``'s records.

    Returns:
        The block's text, without the ``README_BEGIN`` / ``README_END`` markers; nats per image. The same result
        files always give the same bytes.
    """
    by_recipe = _by_recipe(results)
    _, _, order = _rows(recipes, by_recipe)
    rows = [best_result(by_recipe[n]) for n in order if n in by_recipe]
    if not rows:
        return "No recipe has a measured result yet (`vaelab reproduce RECIPE`, then `vaelab leaderboard --add`).\n"
    lines = [
        "Test NLL in nats per image (lower is better), ± one standard error over the test images; the ELBO - NLL "
        "gap is -ELBO minus the NLL estimate. Every figure is read "
        "from `docs/results/<recipe>/result.json`; [the leaderboard](docs/results/leaderboard.md) adds the split, "
        "the binarization and each row's differences from the paper's protocol. " + _full_length(rows),
        "",
        "| recipe | paper NLL | vaelab NLL | vaelab - paper | epochs run (of the protocol's) | test ELBO | "
        "ELBO - NLL gap | active units (paper) | training + evaluation | hardware |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_summary_row(r) for r in rows]
    lines += _nll_vs_k_table(rows)
    return "\n".join(lines) + "\n"


def _full_length(rows: list[dict]) -> str:
    """One sentence: which rows ran their protocol's full length (the others say how far they ran)."""
    full = [f"`{r['recipe']}`" for r in rows if not r.get("shorter_than_protocol")]
    if not full:
        return "No row has run its protocol's full length yet; each says how far it ran."
    return f"Run to the protocol's full length: {', '.join(full)}; the others say how far they ran."


def _summary_row(r: dict) -> str:
    """One measured row of ``render_summary``'s table."""
    paper = r.get("paper_nll")
    nll = f"**{r['nll']:.2f} ± {r['nll_stderr']:.2f}** (K = {_count(r['k'])})"
    paper_cell = "?" if paper is None else f"{paper:.2f}"
    diff = "?" if paper is None else f"{r['nll'] - paper:+.2f}"
    epochs = f"{_count(r['epochs_run'])} of {_count(r.get('epochs_protocol'))}"
    if r.get("shorter_than_protocol"):
        epochs += " (short run)"
    if r.get("stopped_early"):
        epochs += " (stopped early)"
    if r.get("checkpoint") == "best":
        epochs += f"; tested: epoch {_count(r.get('checkpoint_epoch'))}"
    elbo = r.get("elbo")
    elbo_cell = "?" if elbo is None else f"{elbo:.2f}"
    gap = "?" if elbo is None else f"{-elbo - r['nll']:.2f}"
    layers = r.get("layers") or {}
    units = " + ".join(f"{v['active_units']} of {v['latent_dim']}" for v in layers.values())
    units = units or str(r.get("active_units", "?"))
    if r.get("paper_active_units"):
        units += f" ({r['paper_active_units']})"
    time_cell = f"{format_duration(r.get('train_seconds'))} + {format_duration(r.get('eval_seconds'))}"
    return (
        f"| `{r['recipe']}` | {paper_cell} | {nll} | {diff} | {epochs} | {elbo_cell} | {gap} | {units} | "
        f"{time_cell} | {_hardware(r)} |"
    )


def _nll_vs_k_table(rows: list[dict]) -> list[str]:
    """The lines of the NLL-vs-K table under ``render_summary``'s (none when no row has ``nll_vs_k``)."""
    ks = sorted({int(e["k"]) for r in rows for e in (r.get("nll_vs_k") or [])})
    if not ks:
        return []
    lines = [
        "",
        "The NLL estimate with the first K of the same importance samples (one pass; it falls towards the true NLL "
        "as K grows):",
        "",
        "| recipe | " + " | ".join(f"K = {k:,}" for k in ks) + " |",
        "|---|" + "---|" * len(ks),
    ]
    for r in rows:
        at = {int(e["k"]): e for e in (r.get("nll_vs_k") or [])}
        cells = [f"{at[k]['nll']:.2f} ± {at[k]['nll_stderr']:.2f}" if k in at else "" for k in ks]
        lines.append(f"| `{r['recipe']}` | " + " | ".join(cells) + " |")
    return lines


def replace_readme_block(text: str, block: str, where: str) -> str:
    """``text`` with what stands between its begin line (one that starts with ``README_BEGIN_PREFIX``, such as
    ``README_BEGIN``) and its ``README_END`` line replaced by ``block``; the two lines themselves are kept.

    Args:
        text: the README's text. block: the new content (``render_summary``). where: the file's name, for errors.

    Raises:
        ConfigError: the markers are missing, repeated or out of order (names ``where`` and the expected lines).
    """
    lines = text.split("\n")
    begins = [i for i, line in enumerate(lines) if line.strip().startswith(README_BEGIN_PREFIX)]
    ends = [i for i, line in enumerate(lines) if line.strip() == README_END]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ConfigError(
            f"{where}: expected one line starting {README_BEGIN_PREFIX!r} and, after it, one line {README_END!r} "
            f"around the generated summary (found {len(begins)} and {len(ends)})"
        )
    new = [*lines[: begins[0] + 1], *block.rstrip("\n").split("\n"), *lines[ends[0] :]]
    return "\n".join(new)
