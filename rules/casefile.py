"""Policy test cases: YAML files of facts in, expected decision and trace lines out.

A case file (rules/cases/*.yaml) is a list of
`{name, kind, facts, expect: {allowed, code, amount, bound, version, expires_on, window,
trace_includes}}`; `trace_includes` lists rule ids or [rule id, outcome] pairs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

from rules.amounts import parse_yuan
from rules.decision import Decision
from rules.engine import decide
from rules.facts import FACT_KINDS, facts_from_mapping
from rules.loader import PolicySet

SHIPPED_CASES = Path(__file__).resolve().parent / "cases"
EXPECT_KEYS = {
    "allowed", "code", "amount", "bound", "version", "expires_on", "window", "trace_includes",
}


class CaseFileError(ValueError):
    """A malformed case file (its path and what is wrong)."""


@dataclass(frozen=True, slots=True)
class Case:
    """One policy test case."""

    name: str
    kind: str
    facts: dict[str, object]
    expect: dict[str, object]
    path: Path


def load_cases(directory: Path | str | None = None) -> list[Case]:
    """Read every case file in `directory` (default: the shipped rules/cases)."""
    cases: list[Case] = []
    names: set[str] = set()
    for path in sorted(Path(directory or SHIPPED_CASES).glob("*.yaml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(entries, list):
            raise CaseFileError(f"{path}: a case file is a list of cases")
        for entry in entries:
            if not isinstance(entry, dict) or set(entry) != {"name", "kind", "facts", "expect"}:
                raise CaseFileError(f"{path}: each case has exactly name, kind, facts, expect")
            name = str(entry["name"])
            if name in names:
                raise CaseFileError(f"{path}: case {name} is defined twice")
            names.add(name)
            if entry["kind"] not in FACT_KINDS:
                raise CaseFileError(f"{path}: {name}: unknown kind {entry['kind']!r}")
            unknown = set(entry["expect"]) - EXPECT_KEYS
            if unknown:
                raise CaseFileError(f"{path}: {name}: unknown expect keys {sorted(unknown)}")
            cases.append(Case(name, entry["kind"], entry["facts"], entry["expect"], path))
    return cases


def run_case(policies: PolicySet, case: Case) -> tuple[Decision, list[str]]:
    """Decide the case and list every way the decision differs from what it expects."""
    decision = decide(policies, case.kind, facts_from_mapping(case.kind, case.facts))
    expect = case.expect
    problems: list[str] = []

    def differ(what: str, wanted: object, got: object) -> None:
        if wanted != got:
            problems.append(f"{what}: expected {wanted!r}, got {got!r}")

    if "allowed" in expect:
        differ("allowed", expect["allowed"], decision.allowed)
    if "code" in expect:
        differ("code", expect["code"], decision.code)
    if "amount" in expect:
        differ("amount_fen", parse_yuan(expect["amount"]), decision.amount_fen)
    if "bound" in expect:
        differ("bound", expect["bound"], decision.bound)
    if "window" in expect:
        differ("window", expect["window"], decision.window)
    if "version" in expect:
        differ("version", expect["version"], decision.policy.version if decision.policy else None)
    if "expires_on" in expect:
        wanted = expect["expires_on"]
        if isinstance(wanted, str):
            wanted = dt.date.fromisoformat(wanted)
        differ("expires_on", wanted, decision.expires_on)
    seen = {(line.rule, line.outcome) for line in decision.trace}
    rules_seen = {rule for rule, _ in seen}
    for item in expect.get("trace_includes", []) or []:  # type: ignore[attr-defined]
        if isinstance(item, str):
            if item not in rules_seen:
                problems.append(f"trace lacks rule {item}")
        elif tuple(item) not in seen:
            problems.append(f"trace lacks {item[0]} with outcome {item[1]}")
    return decision, problems
