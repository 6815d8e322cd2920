"""The package import graph: acyclic, and no package imports one above it in the layering of
docs/architecture.md (utils at the bottom, the entry layer cli/ at the top)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("utils", "data", "models", "defenses", "fl", "attacks", "evaluation", "cli", "flower")


def packages() -> list[str]:
    return sorted(p.parent.name for p in ROOT.glob("*/__init__.py") if not p.parent.name.startswith("."))


def imported(path: Path) -> set[str]:
    """Top-level names a file imports anywhere (module level or inside functions), absolute imports only."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {package_of(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(package_of(node.module))
    return names


def package_of(module: str) -> str:
    """The package a module path names: `fedprivacy.fl.client` -> `fl` (the import name of the root)."""
    parts = module.split(".")
    return parts[1] if parts[0] == "fedprivacy" and len(parts) > 1 else parts[0]


def graph() -> dict[str, set[str]]:
    """Package -> the other packages it imports."""
    known = set(packages())
    edges = {}
    for package in known:
        names = {name for path in (ROOT / package).rglob("*.py") for name in imported(path)}
        edges[package] = (names & known) - {package}
    return edges


def test_no_package_imports_a_layer_above_it() -> None:
    edges = graph()
    assert set(LAYERS) <= set(edges)
    upward = [
        f"{low} -> {high}"
        for low in LAYERS
        for high in edges[low]
        if high not in LAYERS or LAYERS.index(high) > LAYERS.index(low)
    ]
    assert upward == []
    assert edges["utils"] == set()  # leaf helpers only


def test_the_package_graph_is_acyclic() -> None:
    edges, done, path = graph(), set(), []

    def visit(node: str) -> None:
        assert node not in path, f"import cycle: {' -> '.join([*path[path.index(node) :], node])}"
        if node in done:
            return
        path.append(node)
        for neighbour in sorted(edges[node]):
            visit(neighbour)
        path.pop()
        done.add(node)

    for package in edges:
        visit(package)


def test_the_installed_package_holds_every_package_of_the_root() -> None:
    """pyproject.toml installs the root as `fedprivacy`; every package folder but the benchmarks must be in it."""
    import tomllib

    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    expected = {"fedprivacy"} | {f"fedprivacy.{name}" for name in packages() if name != "benchmarks"}
    assert set(listed) == expected
