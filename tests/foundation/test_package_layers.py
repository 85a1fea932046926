"""The package's shape, as a newcomer is told it in docs/architecture.md: a kernel that knows no feature,
models on the kernel, features that never reach into another feature's routes, and no circle of packages."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import flowtrack

ROOT = Path(flowtrack.__file__).parent
KERNEL = "core"
MODELS = "models"
OPERATIONS = "ops"  # the CLI and seeds stand above everything, like create_app
ROUTE_MODULES = ("routes", "day_routes", "gauge_routes", "card_routes", "voice_routes")


def _imports() -> list[tuple[str, str, str]]:
    """(importing package, imported module, file) for every flowtrack import, at the top or inside a function."""
    found = []
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        package = parts[0] if len(parts) > 1 else "<top>"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "flowtrack":
                    modules = [f"flowtrack.{alias.name}" for alias in node.names]
                elif node.module.startswith("flowtrack."):
                    modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
                else:
                    continue
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names if alias.name.startswith("flowtrack.")]
            else:
                continue
            found += [(package, module, str(path.relative_to(ROOT))) for module in modules]
    return found


def _package_of(module: str) -> str:
    return module.split(".")[1]


def test_the_top_level_holds_only_the_app_factory_and_packages():
    loose = [p.name for p in ROOT.glob("*.py") if p.name != "__init__.py"]
    assert loose == []


def test_the_kernel_imports_no_feature_and_no_model():
    outside = [(file, module) for package, module, file in _imports()
               if package == KERNEL and _package_of(module) != KERNEL]
    assert outside == [], "the kernel (flowtrack/core) must not import these"


def test_models_stand_on_the_kernel_alone():
    outside = [(file, module) for package, module, file in _imports()
               if package == MODELS and _package_of(module) not in (KERNEL, MODELS)]
    assert outside == []


def test_no_feature_imports_another_features_routes():
    reaching = [(file, module) for package, module, file in _imports()
                if package not in ("<top>", OPERATIONS) and _package_of(module) != package
                and module.split(".")[-1] in ROUTE_MODULES]
    assert reaching == [], "move what both need into a service or the kernel"


def test_no_two_packages_import_each_other_even_through_others():
    graph: dict[str, set[str]] = defaultdict(set)
    for package, module, _ in _imports():
        target = _package_of(module)
        if package != "<top>" and target != package and (ROOT / target).is_dir():
            graph[package].add(target)
    circles = _strongly_connected(graph)
    assert circles == [], "packages in a circle of imports"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of packages that reach each other (only groups of two or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in list(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_checks_above_see_a_circle_when_there_is_one():
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _strongly_connected({"a": {"b"}, "b": set()}) == []
