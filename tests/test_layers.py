"""The package layers, checked from the source: no module imports a layer above its own.

Bottom to top: leaf helpers; the store (atomic files, cache, lock, progress steps) with YAML and
media; the screenplay, shot list and backend configs; the project; stages, planners and script importers; the
engine and render (``runtime``); the studio (a web app over the runtime); the CLI. Imports inside ``if TYPE_CHECKING:`` are type hints only
and may point up; every other import -- at module top or inside a function -- counts, so a lazy
import cannot hide a cycle.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "director"
LAYERS = [
    {"errors", "ids", "paths", "secrets", "vocab", "resources", "__init__", "__main__"},
    {"store", "yamlpos", "media"},
    {"screenplay", "shots", "backends"},
    {"project"},
    {"stages", "plan", "testing", "importers"},
    {"runtime"},
    {"studio"},
    {"cli"},
]
LEVEL = {name: i for i, names in enumerate(LAYERS) for name in names}
# a project validates its director.yaml's backends (config classes only); the CLI entry starts the CLI
ALLOWED = {("project", "backends"), ("__main__", "cli")}


def _package(module_path: Path) -> str:
    rel = module_path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def _imports(tree: ast.AST):
    """(lineno, imported director package) for every import not under TYPE_CHECKING."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("director."):
            yield node.lineno, node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("director."):
                    yield node.lineno, alias.name.split(".")[1]


def test_every_package_is_in_a_layer():
    packages = {_package(p) for p in ROOT.rglob("*.py")}
    assert packages <= set(LEVEL), packages - set(LEVEL)


def test_no_module_imports_a_layer_above_its_own():
    violations = []
    for path in sorted(ROOT.rglob("*.py")):
        source = _package(path)
        for line, target in _imports(ast.parse(path.read_text(), str(path))):
            if target in LEVEL and LEVEL[target] > LEVEL[source] and (source, target) not in ALLOWED:
                violations.append(f"{path.relative_to(ROOT.parent)}:{line}: {source} (layer {LEVEL[source]}) "
                                  f"imports {target} (layer {LEVEL[target]})")
    assert not violations, "\n".join(violations)


def test_the_store_imports_nothing_but_leaf_helpers():
    for path in (ROOT / "store").rglob("*.py"):
        for line, target in _imports(ast.parse(path.read_text())):
            assert target == "store" or LEVEL[target] == 0, f"{path.name}:{line} imports {target}"


def test_the_stage_order_is_declared_once():
    from director.stages import STAGE_ORDER, STAGES, all_stages
    assert [s.name for s in all_stages()] == list(STAGE_ORDER) == [name for name, _ in STAGES]
    hits = [p for p in ROOT.rglob("*.py") if '"refs", "keyframes", "voice"' in p.read_text()]
    assert hits == [], hits
