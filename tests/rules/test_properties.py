"""Properties: no decision allows more than a cap, a balance or the budget; no silent refusal."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.amounts import apply_ratio
from rules.decision import Decision
from rules.engine import decide_award, decide_booking, decide_claim, decide_issue
from rules.facts import AwardFacts, BookingFacts, ClaimFacts, IssueFacts
from rules.loader import load_policies
from rules.schema import CATEGORIES, TIERS

POLICIES = load_policies()
fen = st.integers(min_value=0, max_value=2_000_000_000)
days = st.dates(min_value=dt.date(2024, 12, 1), max_value=dt.date(2026, 6, 30))
names = st.sampled_from(["甲", "乙", "丙", ""])
codes = st.sampled_from(["C1", "C2", "C3"])


def assert_not_silent(decision: Decision) -> None:
    """A refusal has a code and a failing trace line; an allowance has neither."""
    assert decision.trace
    if decision.allowed:
        assert decision.code is None
        assert all(line.outcome != "fail" for line in decision.trace)
    else:
        assert isinstance(decision.code, str) and decision.code
        assert decision.amount_fen == 0
        assert any(line.outcome == "fail" for line in decision.trace)


booking_facts = st.builds(
    BookingFacts,
    programme=st.just("LN-CXQ"),
    on=days,
    category=st.sampled_from([*CATEGORIES, "consulting"]),
    cost_fen=fen,
    voucher_balance_fen=fen,
    voucher_issued_on=days,
    voucher_expires_on=days,
    firm_credit_code=codes,
    provider_credit_code=codes,
    provider_categories=st.lists(st.sampled_from(CATEGORIES), max_size=5).map(tuple),
    firm_used_this_year_fen=fen,
    firm_used_in_category_this_year_fen=fen,
    firm_legal_rep=names,
    firm_shareholders=st.lists(st.one_of(names, codes), max_size=3).map(tuple),
    provider_legal_rep=names,
    provider_shareholders=st.lists(st.one_of(names, codes), max_size=3).map(tuple),
)


@settings(max_examples=400)
@given(booking_facts)
def test_booking_never_exceeds_a_bound(facts: BookingFacts) -> None:
    """An allowed subsidy is positive and within every cap, the balance and cost × ratio."""
    decision = decide_booking(POLICIES, facts)
    assert_not_silent(decision)
    if not decision.allowed:
        return
    policy = POLICIES.in_force(facts.programme, facts.on)
    assert policy is not None
    model = policy.model
    service = model.services[facts.category]  # type: ignore[union-attr]
    amount = decision.amount_fen
    raw = apply_ratio(facts.cost_fen, service.ratio)
    assert 0 < amount <= raw
    assert amount <= service.per_order_cap
    assert amount + facts.firm_used_in_category_this_year_fen <= service.per_firm_year_cap
    assert amount + facts.firm_used_this_year_fen <= model.booking.per_firm_year_cap  # type: ignore[union-attr]
    assert amount <= facts.voucher_balance_fen
    assert facts.voucher_issued_on <= facts.on <= facts.voucher_expires_on
    assert (decision.bound is None) == (amount == raw)


issue_facts = st.builds(
    IssueFacts,
    programme=st.just("LN-CXQ"),
    on=days,
    amount_fen=fen,
    firm_status=st.sampled_from(["active", "suspended", "blacklisted"]),
    firm_certifications=st.lists(
        st.tuples(st.sampled_from(["tech_sme", "high_tech"]), st.integers(2024, 2026)),
        max_size=3,
    ).map(tuple),
    firm_issued_this_year_fen=fen,
    budget_free_fen=fen,
)


@settings(max_examples=300)
@given(issue_facts)
def test_issue_never_exceeds_caps_or_budget(facts: IssueFacts) -> None:
    """An issued voucher fits the per-voucher cap, the firm's yearly cap and the budget."""
    decision = decide_issue(POLICIES, facts)
    assert_not_silent(decision)
    if decision.allowed:
        policy = POLICIES.in_force(facts.programme, facts.on)
        issuance = policy.model.issuance  # type: ignore[union-attr]
        assert 0 < decision.amount_fen <= issuance.per_voucher_cap
        assert facts.firm_issued_this_year_fen + decision.amount_fen <= issuance.per_firm_year_cap
        assert decision.amount_fen <= facts.budget_free_fen
        assert facts.firm_status == "active"


award_facts = st.builds(
    AwardFacts,
    programme=st.just("LN-AWARD"),
    on=days,
    tier=st.sampled_from([*TIERS, "eagle"]),
    certified_on=days,
    firm_awards=st.lists(
        st.tuples(st.sampled_from(TIERS), st.integers(0, 120_000_000)), max_size=3
    ).map(tuple),
    budget_free_fen=fen,
    requested_fen=st.one_of(st.none(), st.integers(0, 120_000_000)),
)


@settings(max_examples=300)
@given(award_facts)
def test_award_never_exceeds_tier_or_budget(facts: AwardFacts) -> None:
    """An award is at most its tier's amount (less what the ladder already paid) and the budget."""
    decision = decide_award(POLICIES, facts)
    assert_not_silent(decision)
    if decision.allowed:
        model = POLICIES.in_force(facts.programme, facts.on).model  # type: ignore[union-attr]
        tier = model.tiers[facts.tier]  # type: ignore[union-attr]
        assert 0 < decision.amount_fen <= tier.amount
        assert decision.amount_fen <= facts.budget_free_fen
        assert facts.tier not in {t for t, _ in facts.firm_awards}
        ladder_paid = sum(
            a
            for t, a in facts.firm_awards
            if model.tiers[t].ladder == tier.ladder  # type: ignore[union-attr]
        )
        assert ladder_paid + decision.amount_fen <= tier.amount


claim_facts = st.builds(
    ClaimFacts,
    programme=st.just("LN-CXQ"),
    on=days,
    completed_on=days,
    evidence=st.lists(st.sampled_from(["contract", "invoice", "service_report"])).map(tuple),
    claimed_fen=fen,
    booked_fen=fen,
)


@settings(max_examples=300)
@given(claim_facts)
def test_claim_never_exceeds_booking(facts: ClaimFacts) -> None:
    """An allowed claim is within the booked subsidy, on time and fully evidenced."""
    decision = decide_claim(POLICIES, facts)
    assert_not_silent(decision)
    if decision.allowed:
        assert 0 < decision.amount_fen == facts.claimed_fen <= facts.booked_fen
        assert facts.completed_on <= facts.on
        assert {"contract", "invoice", "service_report"} <= set(facts.evidence)
