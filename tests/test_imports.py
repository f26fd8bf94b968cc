"""Every import in src/vaelab, function-local ones included, read with ``ast``: none goes to a higher layer or to a
sibling of the same floor, none imports the package root from inside the package, the modules form no cycle, and a
function-local import of vaelab's own modules says why (a comment naming its import cost).

import-linter (``make lint``) checks the same layers from the module graph; this test also sees what runs only
when a function is called, and reads the layers from the same declaration, pyproject's [tool.importlinter].
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _layers() -> dict[str, tuple[int, str]]:
    """``{package: (floor, package)}``: floor 0 is the lowest (``vaelab.core``)."""
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    out = {}
    for floor, line in enumerate(reversed(layers)):
        for package in line.split("|"):
            out[package.strip()] = (floor, package.strip())
    return out


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """``(line, imported module, function-local, comment says import cost)`` for each vaelab import in ``path``."""
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    local = {
        id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            names = [base] if base != "vaelab" else [_root_name(a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name == "vaelab" or name.startswith("vaelab."):
                yield node.lineno, name, id(node) in local, _says_import_cost(lines, node.lineno)


def _root_name(name: str) -> str:
    """``from vaelab import name``: the submodule ``vaelab.name`` if there is one, else the package root."""
    here = SRC / "vaelab" / name
    return f"vaelab.{name}" if here.is_dir() or here.with_suffix(".py").is_file() else "vaelab"


def _says_import_cost(lines: list[str], lineno: int) -> bool:
    """A comment with "import cost" on the import's line, or above the block of imports it belongs to."""
    i = lineno - 1
    if "import cost" in lines[i]:
        return True
    while i > 0 and lines[i - 1].strip().startswith(("from ", "import ", "#")):
        i -= 1
        if "import cost" in lines[i]:
            return True
    return False


def _floor(module: str, layers: dict) -> tuple[int, str] | None:
    for package, where in layers.items():
        if module == package or module.startswith(package + "."):
            return where
    return None


def _all_imports():
    for path in sorted((SRC / "vaelab").rglob("*.py")):
        for line, target, local, commented in _imports(path):
            yield path, _module_name(path), line, target, local, commented


def test_no_import_goes_up_or_sideways():
    layers = _layers()
    wrong = []
    for path, module, line, target, _, _ in _all_imports():
        if module in ("vaelab", "vaelab.__main__"):
            continue  # the package root loads the API lazily, ``python -m vaelab`` runs the CLI: no layers
        if target == "vaelab":
            wrong.append(f"{path.relative_to(ROOT)}:{line}: imports the package root (use vaelab.core.version)")
            continue
        here, there = _floor(module, layers), _floor(target, layers)
        if here is None or there is None:
            wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} -> {target}: a package no layer names")
        elif there[0] > here[0] or (there[0] == here[0] and there[1] != here[1]):
            wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} ({here[1]}) imports {target} ({there[1]})")
    assert wrong == []


def test_forbidden_contracts_hold_for_function_local_imports_too():
    wrong = []
    for contract in (c for c in _contracts() if c["type"] == "forbidden"):
        for path, module, line, target, _, _ in _all_imports():
            inside = any(module == s or module.startswith(s + ".") for s in contract["source_modules"])
            if inside and any(target == f or target.startswith(f + ".") for f in contract["forbidden_modules"]):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} -> {target} ({contract['name']})")
    assert wrong == []


def test_modules_import_each_other_in_no_cycle():
    """Tarjan's strongly connected components of the module graph (every import, function-local ones included)."""
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p) for p in (SRC / "vaelab").rglob("*.py")}
    for _, module, _, target, _, _ in _all_imports():
        while target not in modules and "." in target:  # ``from vaelab.x import name`` of a non-module name
            target = target.rpartition(".")[0]
        if module != "vaelab" and target != module and not module.startswith(target + "."):
            graph.setdefault(module, set()).add(target)  # a module importing its own package's __init__ is no cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == []


def test_function_local_imports_of_vaelab_say_why():
    unexplained = [
        f"{path.relative_to(ROOT)}:{line}: {target}"
        for path, module, line, target, local, commented in _all_imports()
        if local and not commented
    ]
    assert unexplained == []
