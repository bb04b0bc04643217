"""The package's layers, checked: every import in ``sim/`` (at module level or inside a
function) goes to its own layer or a lower one, packages of one layer do not import
each other, executor backends import their base and never the reverse, and no two
modules import each other, directly or through others (``docs/architecture.md``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"

#: Lowest first. A module may import its own package, and anything of a lower layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("sim.errors", "sim.fileio", "sim.terminal", "sim.arrow"),
    ("sim.scenario.spec",),
    ("sim.model",),
    ("sim.scenario",),
    ("sim.stats",),
    ("sim.batch",),
    ("sim.studies", "sim.calibration", "sim.campaign"),
    ("sim.viz",),
    ("sim.report", "sim.teach"),
    ("sim.cli",),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every ``sim`` module the file imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("sim.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sim" or node.module.startswith("sim."):
                # "from sim.model import rules" imports the module sim.model.rules
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    found.add(candidate if _exists(candidate) else node.module)
    return found


def _exists(module: str) -> bool:
    base = SIM.parent / Path(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def home(module: str) -> tuple[int, str]:
    """The module's layer and the package that owns it there (longest prefix)."""
    best = None
    for level, packages in enumerate(LAYERS):
        for package in packages:
            if module == package or module.startswith(package + "."):
                if best is None or len(package) > len(best[1]):
                    best = (level, package)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


MODULES = {module_name(p): p for p in sorted(SIM.rglob("*.py"))}
GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "sim"))
def test_imports_go_down_the_layers(module):
    level, package = home(module)
    for target in GRAPH[module]:
        target_level, target_package = home(target)
        assert target_level < level or target_package == package, (
            f"{module} (layer {level}, {package}) imports {target} "
            f"(layer {target_level}, {target_package})")


def test_executor_backends_import_their_base_never_the_reverse():
    base = GRAPH["sim.batch.executors.base"]
    assert not {m for m in base if m.startswith("sim.batch.executors")}
    for backend in ("sim.batch.executors.local", "sim.batch.executors.dask"):
        others = {m for m in GRAPH[backend] if m.startswith("sim.batch.executors")}
        assert others <= {"sim.batch.executors.base"}, (backend, others)


def test_no_import_cycles():
    """Depth-first search for a back edge in the module graph (imports of a package
    count as imports of its ``__init__``)."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH.get(module, ())):
            if target == module or target not in GRAPH:
                continue
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def test_the_model_does_no_file_io():
    """``sim.model`` is numpy and Mesa only: no open(), no pathlib, no file readers."""
    banned = {"open", "Path", "read_text", "write_text", "read_parquet", "to_parquet"}
    for name, path in MODULES.items():
        if not name.startswith("sim.model"):
            continue
        tree = ast.parse(path.read_text())
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not used & banned, (name, used & banned)
