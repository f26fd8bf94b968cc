"""MkDocs hooks of vaelab's manual (``hooks:`` in mkdocs.yml): what the site generates rather than stores.

* ``reference/cli.md``: every command's ``--help``, from vaelab's argparse parser (``vaelab.cli.main.build_parser``)
  at build time, so the reference is the parser.
* ``reference/api/<part>.md``: one API page per subpackage of ``src/vaelab`` (and one for the top-level modules),
  each a list of mkdocstrings ``::: module`` blocks found by walking the source tree, so a moved or new module
  appears without editing anything.
* Numbers: a page whose front matter says ``numbers: true`` is rendered as a Jinja2 template (StrictUndefined:
  a missing key fails the build) with the result files in its context - ``results[recipe]`` and ``evals[name]``
  (docs/results/<name>/result.json, eval.json), ``metrics[name]`` (metrics-summary.json's records, else
  metrics.jsonl), ``recipes`` (configs/recipes, as ``vaelab reproduce --list`` reads them), ``summary`` (the
  results table ``vaelab leaderboard --readme`` writes) and ``notebook(prefix)`` (the text printed by the executed
  tutorial's code cell that starts with ``prefix``). Typed numbers go stale; these cannot.
* The live explorer: ``make docs`` builds the explorer site of a small demo run into build/docs-explorer; it is
  copied to ``explorer/`` of the built site, which the first page embeds.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import shutil

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

import jinja2
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "vaelab"
RESULTS = ROOT / "docs" / "results"
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
EXPLORER = Path(os.environ.get("VAELAB_DOCS_EXPLORER", ROOT / "build" / "docs-explorer"))
log = logging.getLogger("mkdocs.hooks.vaelab")


# generated pages ------------------------------------------------------------------------------------------------
def _commands(parser, prefix="vaelab"):
    """(name, one-line help, parser) of every command and sub-command, in the parser's order."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", helps.get(name) or "", sub
                yield from _commands(sub, f"{prefix} {name}")


def cli_page() -> str:
    """The command-line reference: a table of the commands, then each command's ``--help`` text."""
    os.environ["COLUMNS"] = "110"  # argparse wraps the help text to this width
    from vaelab.cli.main import build_parser

    parser = build_parser(full=True)  # every command built (vaelab builds only the one it runs)
    commands = list(_commands(parser))
    lines = [
        "# Command line",
        "",
        "Generated from vaelab's argparse parser when the site is built: each section is what "
        "`vaelab COMMAND --help` prints. `python -m vaelab ...` works as well as `vaelab ...`.",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    lines += [
        f"| [`{name}`](#{name.replace(' ', '-')}) | {text.replace('|', '&#124;')} |" for name, text, _ in commands
    ]
    lines += ["", "```text", parser.format_help().rstrip(), "```"]
    for name, _, sub in commands:
        lines += ["", f"## {name} {{#{name.replace(' ', '-')}}}", "", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(lines) + "\n"


def _modules(package: Path, dotted: str, nested: bool = True) -> list[str]:
    """The documented modules of ``package``: its own, then (``nested``) those of its subpackages, e.g.
    vaelab.viz.figures on the viz page. The top-level page takes vaelab's own modules only: each subpackage has
    its page, and an object documented twice has two URLs (mkdocs-autorefs warns, --strict fails)."""
    names = []
    for path in sorted(package.glob("*.py")):
        if path.name == "__main__.py" or (path.name.startswith("_") and path.name != "__init__.py"):
            continue
        names.append(dotted if path.name == "__init__.py" else f"{dotted}.{path.stem}")
    for sub in sorted(p for p in package.iterdir() if nested and (p / "__init__.py").is_file()):
        names += _modules(sub, f"{dotted}.{sub.name}")
    return names


def api_pages() -> dict[str, str]:
    """``{path: Markdown}`` of the API reference: one page per subpackage of src/vaelab, plus ``vaelab`` itself
    with its top-level modules (the Python API)."""
    pages = {}
    parts = [("vaelab", SRC, [m for m in _modules(SRC, "vaelab", nested=False) if m != "vaelab"])]
    for sub in sorted(p for p in SRC.iterdir() if (p / "__init__.py").is_file()):
        parts.append((f"vaelab.{sub.name}", sub, _modules(sub, f"vaelab.{sub.name}")))
    index = [
        "# Python API",
        "",
        "Generated from the docstrings (mkdocstrings) when the site is built: one page per layer of the package, "
        "lowest first in [the architecture](../../architecture.md).",
        "",
    ]
    for dotted, _, modules in parts:
        name = dotted.split(".")[-1] if dotted != "vaelab" else "vaelab"
        body = [f"# `{dotted}`", ""]
        for module in modules:
            body += [f"::: {module}", ""]
        pages[f"reference/api/{name}.md"] = "\n".join(body)
        index.append(f"- [`{dotted}`]({name}.md): " + ", ".join(f"`{m.split('.')[-1]}`" for m in modules))
    pages["reference/api/index.md"] = "\n".join(index) + "\n"
    return pages


def on_files(files, config):
    for path, content in {"reference/cli.md": cli_page(), **api_pages()}.items():
        files.append(File.generated(config, path, content=content))
    return files


# numbers from result files ---------------------------------------------------------------------------------------
def _json(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def _metrics(folder: Path) -> list[dict]:
    summary = _json(folder / "metrics-summary.json")
    if summary is not None:
        return summary["records"]
    path = folder / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def _notebook_text(prefix: str) -> str:
    nb = json.loads(NOTEBOOK.read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).startswith(prefix)]
    if len(cells) != 1:
        raise PluginError(f"{NOTEBOOK}: {len(cells)} code cells start with {prefix!r}; expected one")
    text = "".join("".join(o.get("text", "")) for o in cells[0].get("outputs", []) if o.get("name") == "stdout")
    if not text:
        raise PluginError(f"{NOTEBOOK}: the cell {prefix!r} has no printed output; run tools/execute_tutorial.py")
    return text.strip()


def _first_paragraph(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _layers() -> list[dict]:
    """The layer contract of pyproject.toml (lowest first), each layer's packages with the first paragraph of
    their docstring and their modules with theirs: the architecture as built."""
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    layers = []
    for layer in reversed(contract["layers"]):
        packages = []
        for dotted in (name.strip() for name in layer.split("|")):
            path = SRC.parent / dotted.replace(".", "/")
            init = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
            modules = []
            if path.is_dir():
                modules = [
                    (m.stem, _first_paragraph(m)) for m in sorted(path.glob("*.py")) if not m.stem.startswith("_")
                ]
                modules += [  # a subpackage (viz/figures/) is one row, its modules listed in its docstring
                    (f"{sub.name}/", _first_paragraph(sub / "__init__.py"))
                    for sub in sorted(path.iterdir())
                    if (sub / "__init__.py").is_file()
                ]
            packages.append({"name": dotted, "doc": _first_paragraph(init), "modules": modules})
        layers.append({"name": layer, "packages": packages})
    return layers


def _spread(records: list[dict], n: int = 6, key: str = "val_elbo") -> list[dict]:
    """Up to ``n`` of ``records`` that hold ``key``, evenly spread by epoch on a log scale (first and last kept)."""
    rs = [r for r in records if r.get(key) is not None]
    if len(rs) <= n:
        return rs
    first, last = rs[0]["epoch"], rs[-1]["epoch"]
    picks = []
    for i in range(n):
        target = first * (last / first) ** (i / (n - 1)) if first > 0 else first + (last - first) * i / (n - 1)
        best = min(rs, key=lambda r: abs(r["epoch"] - target))
        if best not in picks:
            picks.append(best)
    return sorted(picks, key=lambda r: r["epoch"])


def _web_modules() -> list[tuple[str, str]]:
    """The explorer page's ES modules with their leading ``//`` comment."""
    modules = []
    for path in sorted((SRC / "web").glob("*.js")):
        lines = []
        for line in path.read_text().splitlines():
            if not line.startswith("//"):
                break
            lines.append(line[2:].strip())
        modules.append((path.name, " ".join(lines)))
    return modules


def _context() -> dict:
    from vaelab.runs.recipes import list_recipes
    from vaelab.runs.results import collect_results
    from vaelab.viz.leaderboard import render_summary

    folders = sorted(p for p in RESULTS.iterdir() if p.is_dir())
    recipes = list_recipes(ROOT / "configs" / "recipes")
    results = collect_results([RESULTS])
    return {
        "results": {p.name: _json(p / "result.json") for p in folders if (p / "result.json").is_file()},
        "evals": {p.name: _json(p / "eval.json") for p in folders if (p / "eval.json").is_file()},
        "relays": {
            p.name: _json(p / "relay" / "status.json") for p in folders if (p / "relay" / "status.json").is_file()
        },
        "metrics": {p.name: _metrics(p) for p in folders},
        "recipes": recipes,
        "summary": render_summary(recipes, results),
        "notebook": _notebook_text,
        "layers": _layers(),
        "web_modules": _web_modules(),
        "spread": _spread,
    }


_CONTEXT: dict | None = None


def on_page_markdown(markdown, page, config, files):
    global _CONTEXT
    if not page.meta.get("numbers"):
        return markdown
    if _CONTEXT is None:
        _CONTEXT = _context()
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    try:
        return env.from_string(markdown).render(**_CONTEXT, page_dir=Path(page.file.src_uri).parent)
    except jinja2.TemplateError as exc:
        raise PluginError(f"{page.file.src_uri}: {type(exc).__name__}: {exc}") from exc


def on_startup(command, dirty):
    global _CONTEXT
    _CONTEXT = None  # `mkdocs serve` rebuilds read the files again


# the live explorer -----------------------------------------------------------------------------------------------
def on_post_build(config):
    out = Path(config["site_dir"]) / "explorer"
    if not (EXPLORER / "index.html").is_file() or not (EXPLORER / "models" / "index.json").is_file():
        log.warning(
            f"{EXPLORER}: no explorer site; the first page embeds one. Build the docs with `make docs`, which "
            "trains a small demo run and writes it (or set VAELAB_DOCS_EXPLORER to a folder from `vaelab site`)"
        )
        return
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(EXPLORER, out)
