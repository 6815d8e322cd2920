"""The package import graph: acyclic, and no package imports one above it in the layering of
docs/architecture.md (utils at the bottom, the entry layer cli/ at the top). The wall between a client's
private data and the server's view is a boundary: attacks/ imports from fl/ only the Observation, the
public-knowledge record and the functional training maths; nothing on the server side reaches the client
module; no module outside attacks/ names an attack; and --help imports no torch."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("utils", "data", "models", "defenses", "fl", "attacks", "evaluation", "flower", "cli")
ATTACKS_MAY_IMPORT_FROM_FL = {"fl.observation", "fl.knowledge", "fl.functional"}
SERVER_SIDE = (
    "attacks",
    "evaluation",
    "fl/server.py",
    "fl/view.py",
    "fl/secure_aggregation.py",
    "flower/strategy.py",
    "flower/audit.py",
)
CLIENT_SIDE = {"fl.client", "fl.exchange"}  # the client's computation, and the harness that runs it


def packages() -> list[str]:
    return sorted(p.parent.name for p in ROOT.glob("*/__init__.py") if not p.parent.name.startswith("."))


def imported_modules(path: Path) -> set[str]:
    """The repository modules a file imports anywhere (module level or inside functions), as `package.module`
    (`fedprivacy.` dropped; a bare package name for `from fedprivacy.fl import x`-style imports)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.removeprefix("fedprivacy.") for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module = node.module.removeprefix("fedprivacy.")
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}  # `from package import module`
    return names


def imported(path: Path) -> set[str]:
    """Top-level package names a file imports."""
    return {name.split(".")[0] for name in imported_modules(path)}


def graph() -> dict[str, set[str]]:
    """Package -> the other packages it imports."""
    known = set(packages())
    edges = {}
    for package in known:
        names = {name for path in (ROOT / package).rglob("*.py") for name in imported(path)}
        edges[package] = (names & known) - {package}
    return edges


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def module_graph() -> dict[str, set[str]]:
    """Repository module -> the repository modules it imports."""
    files = {module_of(path): path for package in packages() for path in (ROOT / package).rglob("*.py")}
    return {module: imported_modules(path) & set(files) for module, path in files.items()}


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


def test_attacks_import_from_fl_only_the_observation_the_public_knowledge_and_the_training_maths() -> None:
    modules = module_graph()
    crossing = {
        f"{module} -> {target}"
        for module, targets in modules.items()
        if module.startswith("attacks")
        for target in targets
        if target.startswith("fl.") and target not in ATTACKS_MAY_IMPORT_FROM_FL
    }
    assert crossing == set()


def test_nothing_on_the_server_side_reaches_the_client_module() -> None:
    modules = module_graph()
    server = {m for m in modules for side in SERVER_SIDE if m == side.removesuffix(".py").replace("/", ".") or
              m.startswith(f"{side}.")}  # fmt: skip
    assert {"flower.strategy", "fl.view", "attacks.dlg", "evaluation.runner"} <= server
    reached: dict[str, str] = {}
    todo = [(module, module) for module in server]
    while todo:  # every module a server-side module imports, directly or through others
        module, origin = todo.pop()
        for target in modules[module]:
            if target not in reached:
                reached[target] = origin
                todo.append((target, origin))
    assert {f"{reached[client]} reaches {client}" for client in CLIENT_SIDE if client in reached} == set()


def test_no_module_outside_attacks_names_an_attack() -> None:
    """An attack's rules are declared by the attack and read by the entry layer, never tested by name (the
    benchmarks and tests may name attacks, as data)."""
    from fedprivacy.attacks import ATTACKS

    named = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for package in packages()
        if package not in ("attacks", "benchmarks")
        for path in (ROOT / package).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in ATTACKS
    ]
    named += [
        f"{path.name}:{node.lineno} {node.value!r}"
        for path in ROOT.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in ATTACKS
    ]
    assert named == []


def test_help_imports_no_torch() -> None:
    """--help (and every flag check the parser makes) reads the registries without loading torch or an attack."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = [sys.argv[1], '--help']\n"
        "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except SystemExit as stop:\n    assert stop.code == 0, stop.code\n"
        "heavy = sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'fedprivacy.attacks.dlg')))\n"
        "print('loaded:', heavy)\n"
    )
    for script in ("main_grad.py", "main_fed.py"):
        done = subprocess.run(
            [sys.executable, "-c", probe, script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
        )
        assert done.stdout.strip().splitlines()[-1] == "loaded: []", script
        assert "--cpa.temperature" in done.stdout and "only with --attack cpa" in done.stdout


def test_the_installed_package_holds_every_package_of_the_root() -> None:
    """pyproject.toml installs the root as `fedprivacy`; every package folder but the benchmarks must be in it."""
    import tomllib

    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    expected = {"fedprivacy"} | {f"fedprivacy.{name}" for name in packages() if name != "benchmarks"}
    expected |= {
        f"fedprivacy.{p.parent.relative_to(ROOT).as_posix().replace('/', '.')}" for p in ROOT.glob("*/*/__init__.py")
    }
    assert set(listed) == expected
