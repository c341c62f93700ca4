"""The engine's public API beyond the YAML cases: expiry, upgrade modes, facts, JSON."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from rules import (
    AwardFacts,
    BookingFacts,
    FactsError,
    IssueFacts,
    NoPolicyInForce,
    PolicySet,
    authorisation_expiry,
    decide_award,
    decide_booking,
    decide_issue,
    facts_from_mapping,
    load_policies,
    voucher_expiry,
)
from rules.loader import SHIPPED_POLICIES


def test_voucher_expiry_follows_the_version_of_the_issue_date(policies: PolicySet) -> None:
    """End of year under 2024.12; twelve months under 2026.1."""
    assert voucher_expiry(policies, "LN-CXQ", dt.date(2025, 12, 20)) == dt.date(2025, 12, 31)
    assert voucher_expiry(policies, "LN-CXQ", dt.date(2026, 1, 31)) == dt.date(2027, 1, 30)
    assert voucher_expiry(policies, "LN-CXQ", dt.date(2026, 3, 31)) == dt.date(2027, 3, 30)


def test_voucher_expiry_without_policy_raises(policies: PolicySet) -> None:
    """No version in force (or an award programme) is an explicit error."""
    with pytest.raises(NoPolicyInForce):
        voucher_expiry(policies, "LN-CXQ", dt.date(2024, 1, 1))
    with pytest.raises(NoPolicyInForce):
        voucher_expiry(policies, "LN-AWARD", dt.date(2025, 1, 1))


def _award_set(tmp_path: Path, upgrade: str) -> PolicySet:
    """The shipped award file with its upgrade mode replaced."""
    data = yaml.safe_load((SHIPPED_POLICIES / "LN-AWARD-2022.yaml").read_text(encoding="utf-8"))
    data["upgrade"] = upgrade
    (tmp_path / "award.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return load_policies(tmp_path)


UPGRADE = AwardFacts(
    programme="LN-AWARD",
    on=dt.date(2025, 6, 1),
    tier="unicorn",
    certified_on=dt.date(2025, 5, 1),
    firm_awards=(("gazelle", 20_000_000),),
    budget_free_fen=10**10,
)


@pytest.mark.parametrize(("mode", "fen"), [("difference", 30_000_000), ("full", 50_000_000)])
def test_upgrade_mode_is_the_files(tmp_path: Path, mode: str, fen: int) -> None:
    """Moving up from gazelle to unicorn pays the difference or the full amount, as filed."""
    decision = decide_award(_award_set(tmp_path, mode), UPGRADE)
    assert decision.allowed
    assert decision.amount_fen == fen
    upgrade = next(line for line in decision.trace if line.rule == "award.upgrade")
    assert upgrade.figures["mode"] == mode
    assert upgrade.figures["already_paid_fen"] == 20_000_000


BOOKING = BookingFacts(
    programme="LN-CXQ",
    on=dt.date(2025, 3, 1),
    category="testing",
    cost_fen=10_000_000,
    voucher_balance_fen=50_000_000,
    voucher_issued_on=dt.date(2025, 1, 1),
    voucher_expires_on=dt.date(2025, 12, 31),
    firm_credit_code="F",
    provider_credit_code="P",
    provider_categories=("testing",),
)


def test_decision_to_dict_is_json_with_yuan(policies: PolicySet) -> None:
    """to_dict renders the policy reference, amounts in fen and yuan, and every trace line."""
    decision = decide_booking(policies, BOOKING)
    data = json.loads(json.dumps(decision.to_dict(), ensure_ascii=False))
    assert data["allowed"] is True
    assert data["amount_fen"] == 3_000_000 and data["amount_yuan"] == "30000.00"
    assert data["bound"] == "per_order_cap"
    assert data["policy"]["file"] == "LN-CXQ-2024.yaml"
    assert len(data["policy"]["sha256"]) == 64
    cut = next(line for line in data["trace"] if line["rule"] == "booking.per_order_cap")
    assert cut["outcome"] == "cut"
    assert cut["figures"]["limit_yuan"] == "30000.00"
    assert all(line["file"] == "LN-CXQ-2024.yaml" for line in data["trace"])


def _related(decision: object) -> dict[str, object]:
    line = next(t for t in decision.trace if t.rule == "booking.related_party")  # type: ignore[attr-defined]
    return {"outcome": line.outcome, **line.figures}


def test_related_party_across_roles_names_the_matched_people(policies: PolicySet) -> None:
    """One side's legal representative holding shares of the other is related; the trace
    names who matched (after NFKC and spaces), for either direction."""
    firm_rep_holds = replace(BOOKING, firm_legal_rep="张三", provider_legal_rep="王五",
                             provider_shareholders=("赵六", " 张三　"))
    related = _related(decide_booking(policies, firm_rep_holds))
    assert related["outcome"] == "fail" and related["legal_rep_shareholder"] == "张三"
    provider_rep_holds = replace(BOOKING, provider_legal_rep="Ｗａｎｇ Ｗｕ",
                                 firm_shareholders=("Wang  Wu",))
    decision = decide_booking(policies, provider_rep_holds)
    assert decision.code == "related_party"
    assert _related(decision)["legal_rep_shareholder"] == "Wang Wu"
    both = replace(BOOKING, firm_shareholders=("孙七",), provider_shareholders=("孙七 ",))
    assert _related(decide_booking(policies, both))["shareholder"] == "孙七"
    unrelated = replace(BOOKING, firm_legal_rep="张三", firm_shareholders=("张三",))
    assert _related(decide_booking(policies, unrelated))["outcome"] == "pass"


def test_authorisation_expiry_comes_from_the_version_in_force(policies: PolicySet) -> None:
    """The file's `booking.authorisation_days` from the grant day."""
    assert authorisation_expiry(policies, "LN-CXQ", dt.date(2025, 3, 1)) == dt.date(2025, 3, 31)
    with pytest.raises(NoPolicyInForce):
        authorisation_expiry(policies, "LN-AWARD", dt.date(2025, 3, 1))


def test_refusal_trace_names_all_failures(policies: PolicySet) -> None:
    """A refusal's code is the first failure, and later failures are traced as well."""
    facts = IssueFacts(
        programme="LN-CXQ",
        on=dt.date(2025, 3, 1),
        amount_fen=20_000_000,
        firm_status="suspended",
        firm_certifications=(),
        firm_issued_this_year_fen=0,
        budget_free_fen=0,
    )
    decision = decide_issue(policies, facts)
    assert decision.code == "not_eligible"
    failed = [line.rule for line in decision.trace if line.outcome == "fail"]
    assert failed == [
        "issue.firm_status",
        "issue.certification",
        "issue.per_voucher_cap",
        "issue.budget",
    ]


def test_facts_refuse_negative_fen() -> None:
    """Negative money in facts is a caller's bug and raises at once."""
    with pytest.raises(FactsError, match="cost_fen is negative"):
        BookingFacts(
            programme="LN-CXQ",
            on=dt.date(2025, 3, 1),
            category="testing",
            cost_fen=-1,
            voucher_balance_fen=0,
            voucher_issued_on=dt.date(2025, 1, 1),
            voucher_expires_on=dt.date(2025, 12, 31),
            firm_credit_code="F",
            provider_credit_code="P",
            provider_categories=(),
        )


def test_facts_from_mapping_reads_yuan_dates_and_lists() -> None:
    """YAML facts: yuan without the _fen suffix, ISO dates, lists to tuples."""
    facts = facts_from_mapping(
        "issue",
        {
            "programme": "LN-CXQ",
            "on": "2025-03-01",
            "amount": "1500.50",
            "firm_status": "active",
            "firm_certifications": [["tech_sme", 2025]],
            "firm_issued_this_year": 0,
            "budget_free_fen": 99,
        },
    )
    assert facts == IssueFacts(
        programme="LN-CXQ",
        on=dt.date(2025, 3, 1),
        amount_fen=150_050,
        firm_status="active",
        firm_certifications=(("tech_sme", 2025),),
        firm_issued_this_year_fen=0,
        budget_free_fen=99,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"programme": "X", "issued_on": "2025-13-01"}, "not a date"),
        ({"programme": "X"}, "issued_on: missing"),
        ({"programme": "X", "issued_on": "2025-01-01", "colour": 1}, "unknown fact"),
    ],
)
def test_facts_from_mapping_errors(data: dict[str, object], message: str) -> None:
    """Bad facts name the field at fault."""
    with pytest.raises(FactsError, match=message):
        facts_from_mapping("expiry", data)


def test_facts_from_mapping_refuses_bad_yuan() -> None:
    """Amounts in facts follow the same yuan rules as policy files."""
    with pytest.raises(FactsError, match="amount"):
        facts_from_mapping(
            "claim",
            {
                "programme": "LN-CXQ",
                "on": "2025-03-01",
                "completed_on": "2025-03-01",
                "evidence": [],
                "claimed": "1.001",
                "booked": "2",
            },
        )


def _voucher_file(tmp_path: Path, windows: list[dict[str, object]]) -> Path:
    """The shipped 2026 voucher file with its application windows replaced."""
    data = yaml.safe_load((SHIPPED_POLICIES / "LN-CXQ-2026.yaml").read_text(encoding="utf-8"))
    data["applications"] = {"windows": windows}
    path = tmp_path / "voucher.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, default_flow_style=False), "utf-8")
    return path


WINDOW = {"id": "w1", "name_zh": "第一批", "opens": "2026-02-01", "closes": "2026-03-01",
          "amounts": [50000], "documents": ["business_licence", "plan"]}


@pytest.mark.parametrize(
    ("windows", "key", "reason"),
    [
        ([WINDOW, {**WINDOW, "id": "w2", "opens": "2026-03-01", "closes": "2026-04-01"}],
         "applications.windows", "overlap"),
        ([{**WINDOW, "closes": "2026-01-01"}], "applications.windows.0", "before it opens"),
        ([{**WINDOW, "amounts": ["50000.001"]}], "applications.windows.0.amounts.0", ""),
        ([{**WINDOW, "amounts": [50000, 50000]}], "applications.windows.0.amounts",
         "listed twice"),
        ([{**WINDOW, "documents": ["tax_return"]}], "applications.windows.0.documents.0", ""),
        ([{**WINDOW, "amounts": [200000]}], "(file)", "over per_voucher_cap"),
    ],
)
def test_bad_application_windows_are_refused_with_key(
    tmp_path: Path, windows: list[dict[str, object]], key: str, reason: str
) -> None:
    """Overlapping windows, a window closing before it opens, a bad or duplicated amount, an
    unknown document and an amount over the per-voucher cap are refused, naming the key."""
    from rules.loader import PolicyErrors, load_policy_file

    with pytest.raises(PolicyErrors) as caught:
        load_policy_file(_voucher_file(tmp_path, windows))
    error = caught.value.errors[0]
    assert error.key.startswith(key), error
    assert reason in error.reason, error
