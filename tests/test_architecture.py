"""The layers of backend_app, enforced: docs/architecture.md draws them, this test keeps them.

Every import counts, at module level or inside a function: an import moved into a function to
dodge a cycle is still a cycle. The graph is read from the source (ast), nothing is imported.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "backend_app"

# The layers, top to bottom. A module may import its own layer's modules and any layer below it;
# siblings joined by "|" are independent (neither imports the other). Every module of the
# package belongs to exactly one layer (test_every_module_has_a_layer).
LAYERS: list[tuple[str, ...]] = [
    ("backend_app", "backend_app.cli"),  # the app factory and the command line: wiring
    ("backend_app.api", "|", "backend_app.web", "|", "backend_app.jobs"),  # delivery: HTTP and the queue
    (
        "backend_app.auth",
        "backend_app.canary",
        "backend_app.variant",
        "backend_app.http",
        "backend_app.validation",
        "backend_app.security_headers",
    ),
    ("backend_app.services",),  # use cases: own the transaction, return data
    ("backend_app.queue", "|", "backend_app.tenancy"),  # the enqueue seam and RQ's state; tenant-scoped queries
    ("backend_app.models", "|", "backend_app.adapters"),  # tables; cv2/av/openai/boto3 behind small interfaces
    (
        "backend_app.settings",
        "backend_app.extensions",
        "backend_app.errors",
        "backend_app.wording",
        "backend_app.observability",
        "backend_app.local_redis",
        "backend_app.migration_filter",
        "backend_app.filenames",
        "backend_app.local_secrets",
        "backend_app.failure_codes",
    ),  # core
]
# Lower layers a layer may still not reach into: views go through services for pixels, models and queues.
SKIPS_FORBIDDEN: dict[str, tuple[str, ...]] = {
    "backend_app.api": ("backend_app.adapters", "backend_app.queue"),
    "backend_app.web": ("backend_app.adapters", "backend_app.queue"),
    **{glue: ("backend_app.adapters", "backend_app.queue") for glue in LAYERS[2]},
}
# Third-party packages only some layers may import.
THIRD_PARTY: dict[str, tuple[str, ...]] = {
    "cv2": ("backend_app.adapters",),
    "av": ("backend_app.adapters",),
    "numpy": ("backend_app.adapters",),
    "openai": ("backend_app.adapters",),
    "boto3": ("backend_app.adapters",),
    "botocore": ("backend_app.adapters",),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module (of ours) that an imported dotted name lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> list[tuple[str, int]]:
    """Every (imported name, line) in a module, wherever the import statement sits."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}:{node.lineno}: relative import (ruff TID252 should have said so)"
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module in MODULES:
        for name, _line in imports_of(module):
            target = _owner(name) if name.startswith(PACKAGE) else None
            if target and target != module and not module.startswith(target + "."):
                edges[module].add(target)
    return edges


def _in(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes if p != "|")


def layer_of(module: str) -> tuple[int, str] | None:
    """(layer number, the sibling prefix) of the most specific prefix that holds the module."""
    best = None
    for number, layer in enumerate(LAYERS):
        for prefix in layer:
            if prefix != "|" and _in(module, (prefix,)) and (best is None or len(prefix) > len(best[1])):
                best = (number, prefix)
    return best


def _independent(layer: tuple[str, ...]) -> bool:
    return "|" in layer


def may_import(importer: str, imported: str) -> bool:
    (mine, my_part), (theirs, their_part) = layer_of(importer), layer_of(imported)
    if any(_in(imported, forbidden) for layer, forbidden in SKIPS_FORBIDDEN.items() if _in(importer, (layer,))):
        return False
    if theirs > mine:
        return True
    return theirs == mine and (my_part == their_part or not _independent(LAYERS[mine]))


def layer_violations() -> list[str]:
    problems = []
    for module in MODULES:
        for name, line in imports_of(module):
            where = f"{MODULES[module].relative_to(ROOT)}:{line}"
            if name.startswith(PACKAGE + ".") or name == PACKAGE:
                target = _owner(name) or name
                if target != module and not may_import(module, target):
                    problems.append(f"{where}: {module} imports {target}, which its layer may not import")
            else:
                allowed = THIRD_PARTY.get(name.split(".")[0])
                if allowed and not _in(module, allowed):
                    problems.append(f"{where}: {module} imports {name} (only {', '.join(allowed)} may)")
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in MODULES:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer_of(m) is None] == []


def test_layers_import_only_downwards():
    assert layer_violations() == []


def test_no_import_cycle_counting_imports_inside_functions():
    assert cycles(graph()) == []


def test_the_contract_catches_a_violation():
    """The checks above can fail: a cycle and an upward import made up here are both found."""
    edges = defaultdict(
        set, {"backend_app.settings": {"backend_app.extensions"}, "backend_app.extensions": {"backend_app.settings"}}
    )
    assert cycles(edges) == [["backend_app.extensions", "backend_app.settings"]]
    assert not may_import("backend_app.api.chat", "backend_app.adapters.llm")
    assert not may_import("backend_app.models.user", "backend_app.adapters.storage")
    assert may_import("backend_app.services.video.pipeline", "backend_app.adapters.vision.probe")


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_ruff(command):
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed in this environment (requirements-dev.txt pins it)")
    result = subprocess.run([str(ruff), *command], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
