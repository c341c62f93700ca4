"""Run every YAML policy case in rules/cases against the shipped policy files."""

from __future__ import annotations

import pytest

from rules.casefile import Case, load_cases, run_case
from rules.loader import PolicySet

CASES = load_cases()


def test_enough_cases_cover_every_kind() -> None:
    """The issue asks for at least 40 cases; every decision kind has some."""
    assert len(CASES) >= 40
    assert {c.kind for c in CASES} == {
        "issue", "application", "booking", "claim", "award", "expiry"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(policies: PolicySet, case: Case) -> None:
    """The decision matches the case's expectations; a refusal always carries a code."""
    decision, problems = run_case(policies, case)
    assert not problems, f"{case.path.name}: {case.name}: " + "; ".join(problems)
    assert decision.trace
    assert (decision.code is None) == decision.allowed


def test_runner_reports_a_wrong_expectation(policies: PolicySet) -> None:
    """A case whose expectation is wrong is reported, not silently passed."""
    base = next(c for c in CASES if c.name == "booking_one_fen_over_per_order_cap_is_cut")
    wrong = Case(
        name="wrong",
        kind=base.kind,
        facts=base.facts,
        expect={
            "amount": "20000.01",
            "bound": None,
            "trace_includes": [["booking.ratio", "fail"], "no.such.rule"],
        },
        path=base.path,
    )
    _, problems = run_case(policies, wrong)
    assert any(p.startswith("amount_fen") for p in problems)
    assert any(p.startswith("bound") for p in problems)
    assert "trace lacks booking.ratio with outcome fail" in problems
    assert "trace lacks rule no.such.rule" in problems
