"""The rooms and their arrows (docs/architecture.md), read from the code's own imports.

Every module under the project's packages is parsed with `ast`; every import (top-level or
inside a function) becomes an arrow. The test fails on an arrow a room may not have, on a
circle between modules, and on an imported private name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ledger", "api", "reports", "rules", "demo", "migrations")

CORE = "ledger.core"
REGISTRY = "ledger.registry"
PROGRAMMES = "ledger.programmes"
VOUCHERS = "ledger.vouchers"
AWARDS = "ledger.awards"
PAYMENTS = "ledger.payments"
BUDGET = "ledger.budget"
READING = "ledger.reading"
SCHEMA = "ledger.schema"

# What each room may import besides itself; the order of docs/architecture.md.
_BELOW_FLOWS = {"rules", CORE, REGISTRY, PROGRAMMES}
ALLOWED: dict[str, set[str]] = {
    "rules": set(),
    "ledger": set(),  # the package itself; every module lives in a room below it
    CORE: set(),
    REGISTRY: {"rules", CORE},
    PROGRAMMES: {"rules", CORE, REGISTRY},
    VOUCHERS: _BELOW_FLOWS,
    AWARDS: _BELOW_FLOWS,
    PAYMENTS: _BELOW_FLOWS | {VOUCHERS, AWARDS},
    BUDGET: _BELOW_FLOWS | {VOUCHERS, AWARDS},
    READING: _BELOW_FLOWS | {VOUCHERS, AWARDS, PAYMENTS, BUDGET},
    SCHEMA: _BELOW_FLOWS | {VOUCHERS, AWARDS, PAYMENTS, READING},
    # Reports read through the read models and the budget, never the flows that write.
    "reports": {"rules", CORE, REGISTRY, PROGRAMMES, BUDGET, READING},
    "demo": _BELOW_FLOWS | {VOUCHERS, AWARDS, PAYMENTS, BUDGET, READING},
    # The Alembic scripts build the schema that every ledger room declares.
    "migrations": _BELOW_FLOWS | {VOUCHERS, AWARDS, PAYMENTS, BUDGET, READING, SCHEMA},
    "api": {"rules", CORE, REGISTRY, PROGRAMMES, VOUCHERS, AWARDS, PAYMENTS, BUDGET, READING,
            SCHEMA, "reports", "demo", "migrations"},
}
ROOMS = sorted(ALLOWED, key=len, reverse=True)


def room_of(module: str) -> str | None:
    """The room a project module lives in (the longest room name that prefixes it)."""
    for room in ROOMS:
        if module == room or module.startswith(room + "."):
            return room
    return None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str) -> list[tuple[str, str, int]]:
    """(imported project module, imported name or '', line) for every import in `module`."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names
                      if a.name.split(".")[0] in PACKAGES]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if target.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                # `from pkg import module` imports the module itself.
                sub = f"{target}.{alias.name}"
                found.append((sub, "", node.lineno) if sub in MODULES
                             else (target, alias.name, node.lineno))
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_module_belongs_to_a_room():
    assert [m for m in MODULES if room_of(m) is None] == []


def test_arrows_point_one_way():
    wrong = []
    for module, imports in GRAPH.items():
        room = room_of(module)
        for target, _, line in imports:
            other = room_of(target)
            if other is not None and other != room and other not in ALLOWED[room]:
                wrong.append(f"{module}:{line} imports {target} ({room} -> {other})")
    assert wrong == []


def test_no_private_name_crosses_a_module():
    private = [
        f"{module}:{line} imports {name} from {target}"
        for module, imports in GRAPH.items()
        for target, name, line in imports
        if name.startswith("_") and target != module
    ]
    assert private == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, imports in GRAPH.items():
        for target, _, _ in imports:
            # A package's __init__ that imports its own modules is no circle of theirs.
            if target in MODULES and target != module and not module.startswith(target + "."):
                graph[module].add(target)
    return graph


def test_no_import_circle():
    assert _cycles(_module_graph()) == []


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
])
def test_the_circle_finder_finds_circles(graph, expected):
    assert _cycles(graph) == expected


def test_the_arrow_check_knows_a_wrong_arrow():
    # core importing a flow would be caught: the room map itself says so.
    assert room_of("ledger.vouchers.voucher") == VOUCHERS
    assert VOUCHERS not in ALLOWED[CORE] and VOUCHERS not in ALLOWED["reports"]
