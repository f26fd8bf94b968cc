"""Argument helpers shared by the command modules: list and pair types, run folders, splits, tables."""

from __future__ import annotations

import argparse


def int_list(text: str) -> tuple[int, ...]:
    """``"512,256"`` -> ``(512, 256)``; an argparse type (bad text is one clear line)."""
    try:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers, e.g. 512,256") from None


def float_list(text: str) -> tuple[float, ...]:
    """``"0,0.5,1"`` -> ``(0.0, 0.5, 1.0)``; an argparse type."""
    try:
        return tuple(float(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated numbers, e.g. 0,0.5,1") from None


def name_list(text: str) -> tuple[str, ...]:
    """``"skin_tone,smiling"`` -> ``("skin_tone", "smiling")``; an argparse type."""
    return tuple(v.strip() for v in text.split(",") if v.strip())


def int_pair(text: str) -> tuple[int, int]:
    """``"0,1"`` -> ``(0, 1)``; an argparse type."""
    values = int_list(text)
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"{text!r}: expected two comma-separated integers, e.g. 0,1")
    return values


def load_split(run, split: str, data_dir=None, limit=None):
    """Split ``split`` of the dataset run ``run`` was trained on (``limit``: the first N images; for the train split
    the run's own ``limit`` when none is given, i.e. the images it was trained on)."""
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.data import load_dataset_from_config

    return load_dataset_from_config(run.load_config()["dataset"], split, data_dir, limit)


def table(rows: list[list], header: list[str]) -> str:
    """A Markdown table (also readable as plain text)."""
    cells = [[str(c) for c in r] for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells[1:])])
