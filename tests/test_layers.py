"""The import graph of the package has no circle, function-level and type-checking imports included.

Every ``import pinnkan.x`` / ``from pinnkan.x import y`` anywhere in a module (at the top, inside a function,
under ``if TYPE_CHECKING``) is an edge; a package's ``__init__`` counts as the package, and a module's own
enclosing packages (initialised before it) are no edge. A strongly connected component of more than one
module is a circle, which this test names.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pinnkan"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for t in targets:
                while t and t not in modules:
                    t = t.rsplit(".", 1)[0] if "." in t else ""
                # a module's own packages are imported before it: not an edge (from pinnkan.training import x)
                if t and t != name and not name.startswith(t + "."):
                    graph[name].add(t)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_package_imports_form_no_circle():
    graph = imports()
    # a package's __init__ re-exports its modules (pinnkan -> pinnkan.solve -> ...): leave the top package out,
    # it is the entry point and imports everything
    graph.pop("pinnkan", None)
    for deps in graph.values():
        deps.discard("pinnkan")
    found = circles(graph)
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_bottom_modules_import_nothing_above_them():
    graph = imports()
    for bottom in ("pinnkan.keys", "pinnkan.errors", "pinnkan.layout", "pinnkan.univariate"):
        assert not {d for d in graph[bottom] if d != "pinnkan.errors"}, (bottom, graph[bottom])
