"""`rules/` is pure: it imports nothing of the project and no database or network library."""

from __future__ import annotations

import ast
from pathlib import Path

import rules

FORBIDDEN = {
    "ledger",
    "api",
    "reports",
    "sqlalchemy",
    "psycopg",
    "sqlite3",
    "socket",
    "urllib",
    "http",
    "httpx",
    "requests",
    "fastapi",
}


def _imported_roots(path: Path) -> set[str]:
    """Top-level package names a module imports."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_rules_imports_nothing_of_the_project() -> None:
    """No module of rules/ imports ledger, api, reports, a database or a network client."""
    modules = sorted(Path(rules.__file__).parent.glob("*.py"))
    assert len(modules) >= 7
    for module in modules:
        bad = _imported_roots(module) & FORBIDDEN
        assert not bad, f"{module.name} imports {sorted(bad)}"
