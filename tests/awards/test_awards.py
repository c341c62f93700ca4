"""Award applications through their services: amounts, upgrades, refusals, money flows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from ledger.awards import award as awards
from ledger.budget import AwardBudget, award_budget
from ledger.core.accounts import balance
from ledger.core.db import transaction
from ledger.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, PolicyRefused
from ledger.core.models import JournalEntry
from ledger.core.verify import verify
from ledger.payments import batches as payments
from ledger.payments.confirmation import mark_paid
from ledger.programmes.programme import appropriate, create_programme
from ledger.registry.firms import get_firm
from rules import load_policies
from rules.loader import SHIPPED_POLICIES
from tests.awards.support import (
    APPROVER,
    CERTIFIED,
    CODE,
    ON,
    OPERATOR,
    OTHER,
    TIER_YUAN,
    YUAN,
    bank_account,
    credit_code,
    publish_ended,
)


def _apply(sessions, firm_id, tier, *, level="provincial", doc=None, certified_on=CERTIFIED,
           **kw):
    with transaction(sessions) as s:
        return awards.apply_award(
            s, CODE, firm_id=firm_id, tier=tier, level=level,
            document_no=doc or f"辽科发〔2022〕{firm_id}-{tier}号", certified_on=certified_on,
            by=OPERATOR, on=ON, **kw)


def _approve(sessions, award_id, by=APPROVER):
    with transaction(sessions) as s:
        return awards.approve_award(s, award_id, by=by)


def _refusal(sessions, *args, **kw) -> PolicyRefused:
    with pytest.raises(PolicyRefused) as info:
        _apply(sessions, *args, **kw)
    return info.value


def _entries(sessions) -> int:
    with transaction(sessions) as s:
        return s.scalar(select(func.count()).select_from(JournalEntry)) or 0


def _budget(sessions) -> AwardBudget:
    with transaction(sessions) as s:
        return award_budget(s, CODE)


def _line(exc: PolicyRefused, rule: str) -> dict:
    trace = exc.detail["decision"]["trace"]
    return next(line for line in trace if line["rule"] == rule)


def test_each_tier_pays_the_files_amount(sessions, programme, firms):
    level = {"little_giant": "national"}
    views = [_apply(sessions, firm, tier, level=level.get(tier, "provincial"))
             for firm, tier in zip(firms, awards.TIERS, strict=False)]
    assert [(v.tier, v.amount_fen, v.status) for v in views] == [
        (t, TIER_YUAN[t] * YUAN, "applied") for t in awards.TIERS]
    assert views[0].decision["allowed"] is True
    assert {line["rule"] for line in views[0].decision["trace"]} >= {
        "award.tier", "award.new_certification", "award.once_per_tier", "award.budget"}
    # 专精特新 pays "up to" its amount: a smaller request is the amount.
    smaller = _apply(sessions, firms[5], "specialised", requested_fen=600_000 * YUAN)
    assert smaller.amount_fen == 600_000 * YUAN
    # The registry now holds the cited certification.
    with transaction(sessions) as s:
        kinds = {(c.kind, c.certified_on) for c in get_firm(s, firms[0]).certifications}
    assert kinds == {("gazelle", CERTIFIED)}
    assert _budget(sessions).promised == 3_300_000 * YUAN
    assert _entries(sessions) == 1  # the appropriation: applications post nothing


def test_gazelle_then_unicorn_pays_the_difference(sessions, programme, firms):
    gazelle = _apply(sessions, firms[0], "gazelle")
    _approve(sessions, gazelle.id)
    unicorn = _apply(sessions, firms[0], "unicorn", certified_on=dt.date(2022, 10, 1))
    assert unicorn.amount_fen == 300_000 * YUAN
    upgrade = next(x for x in unicorn.decision["trace"] if x["rule"] == "award.upgrade")
    assert upgrade["figures"]["already_paid_fen"] == 200_000 * YUAN
    assert upgrade["figures"]["mode"] == "difference"
    # Moving down the ladder is refused: the firm holds a higher tier.
    _apply(sessions, firms[1], "unicorn")
    refused = _refusal(sessions, firms[1], "gazelle")
    assert refused.code == "already_awarded"
    assert _line(refused, "award.once_per_tier")["figures"]["higher"] == "unicorn"
    # Another ladder is independent: a unicorn may also be a 专精特新 firm.
    assert _apply(sessions, firms[1], "specialised").amount_fen == 1_000_000 * YUAN


def test_upgrade_pays_the_full_amount_when_the_file_says_so(sessions, programme, firms,
                                                            tmp_path: Path):
    data = yaml.safe_load((SHIPPED_POLICIES / "LN-AWARD-2022.yaml").read_text("utf-8"))
    data["upgrade"] = "full"
    (tmp_path / "award.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    full = load_policies(tmp_path)
    _apply(sessions, firms[0], "gazelle", policy_set=full)
    unicorn = _apply(sessions, firms[0], "unicorn", policy_set=full)
    assert unicorn.amount_fen == 500_000 * YUAN
    upgrade = next(x for x in unicorn.decision["trace"] if x["rule"] == "award.upgrade")
    assert upgrade["figures"]["mode"] == "full"


def test_a_second_award_in_one_tier_is_refused(sessions, programme, firms):
    _apply(sessions, firms[0], "gazelle", doc="辽科发〔2022〕1号")
    refused = _refusal(sessions, firms[0], "gazelle", doc="辽科发〔2022〕2号")
    assert refused.code == "already_awarded"
    assert _line(refused, "award.once_per_tier")["figures"]["received_fen"] == 200_000 * YUAN
    # The same certification cited twice is a duplicate application, not a policy question.
    with pytest.raises(Exception) as info:
        _apply(sessions, firms[0], "gazelle", doc="辽科发〔2022〕1号")
    assert getattr(info.value, "code", None) == "already_applied"
    # A higher tier held blocks the lower one of the same ladder.
    _apply(sessions, firms[1], "little_giant", level="national")
    assert _refusal(sessions, firms[1], "specialised").code == "already_awarded"


def test_a_certification_older_than_the_window_is_refused(sessions, programme, firms):
    refused = _refusal(sessions, firms[0], "gazelle", certified_on=dt.date(2021, 6, 1))
    assert refused.code == "certification_not_new"
    figures = _line(refused, "award.new_certification")["figures"]
    assert (figures["age_days"], figures["window_days"]) == (548, 365)
    assert _budget(sessions).promised == 0


def test_an_exhausted_budget_is_refused_with_its_figures(sessions, firms):
    with transaction(sessions) as s:
        create_programme(s, code=CODE, name="小预算", fiscal_year=2022, policy="LN-AWARD",
                         by=OPERATOR)
        appropriate(s, CODE, 300_000 * YUAN, by=OPERATOR)
    _apply(sessions, firms[0], "gazelle")  # promised: 200,000 of 300,000
    refused = _refusal(sessions, firms[1], "gazelle")
    assert refused.code == "budget_exhausted"
    figures = _line(refused, "award.budget")["figures"]
    assert (figures["amount_fen"], figures["budget_free_fen"]) == (
        200_000 * YUAN, 100_000 * YUAN)
    assert figures["budget_free_yuan"] == "100000.00"


def test_self_approval_is_refused_and_rejection_posts_nothing(sessions, programme, firms):
    award = _apply(sessions, firms[0], "gazelle")
    with pytest.raises(PermissionDenied) as info:
        _approve(sessions, award.id, by=OPERATOR)
    assert info.value.code == "self_approval"
    before = _entries(sessions)
    with transaction(sessions) as s:
        with pytest.raises(InvalidInput):
            awards.reject_award(s, award.id, by=APPROVER, reason=" ")
        rejected = awards.reject_award(s, award.id, by=APPROVER, reason="文号与公示名单不符")
    assert (rejected.status, rejected.reason) == ("rejected", "文号与公示名单不符")
    assert _entries(sessions) == before
    with pytest.raises(Conflict) as info:
        _approve(sessions, award.id)
    assert info.value.code == "award_rejected"
    # A rejected application no longer counts: the firm may apply again with another filing.
    again = _apply(sessions, firms[0], "gazelle", doc="辽科发〔2022〕99号")
    assert again.amount_fen == 200_000 * YUAN


def _batch(sessions, *award_ids, **kw):
    with transaction(sessions) as s:
        return payments.create_batch(s, CODE, by=OTHER, award_ids=list(award_ids), **kw)


def _paid(sessions, batch_id):
    with transaction(sessions) as s:
        payments.release_batch(s, batch_id, by=APPROVER)
        return mark_paid(s, batch_id, by=OTHER, reference="BANK0001", value_date="2026-05-01")


def _conflict(sessions, call, *args, **kw) -> str:
    with transaction(sessions) as s, pytest.raises(Conflict) as info:
        call(s, *args, **kw)
    return info.value.code


def test_awards_are_paid_once_through_a_payment_batch(sessions, programme, firms):
    award = _apply(sessions, firms[0], "gazelle")
    approved = _approve(sessions, award.id)
    assert approved.status == "approved" and approved.decided_by == APPROVER.label
    with transaction(sessions) as s:
        assert balance(s, awards.award_account(CODE, firms[0])).debit_balance == 200_000 * YUAN
        publish_ended(s)
    batch = _batch(sessions, award.id)
    assert [(x.award_id, x.firm_id, x.claim_id, x.amount_fen) for x in batch.lines] == [
        (award.id, firms[0], None, 200_000 * YUAN)]
    assert _conflict(sessions, payments.bank_file, batch.id) == "batch_not_released"
    with transaction(sessions) as s:
        held = awards.get_award(s, award.id)
        payments.release_batch(s, batch.id, by=APPROVER)
        text = payments.bank_file(s, batch.id)
    assert (held.status, held.batch_id, held.pay_entry_id) == ("in_payment", batch.id, None)
    assert f",{award.id},{credit_code(0)},测试企业0有限公司,辽宁银行,{bank_account(0)},200000.00," \
        in text
    b = _budget(sessions)
    assert (b.awarded, b.in_payment, b.paid) == (0, 200_000 * YUAN, 0) and b.balanced
    # Batched twice, or clawed back while its batch is open: refused.
    assert _conflict(sessions, payments.create_batch, CODE, by=OTHER,
                     award_ids=[award.id]) == "already_in_batch"
    assert _conflict(sessions, awards.clawback_award, award.id, by=APPROVER,
                     reason="认定撤销") == "award_in_payment"
    with transaction(sessions) as s:
        mark_paid(s, batch.id, by=OTHER, reference="BANK0001", value_date="2026-05-01")
    with transaction(sessions) as s:
        paid = awards.get_award(s, award.id)
        entry = s.get(JournalEntry, paid.pay_entry_id)
    assert (paid.status, entry.flow, entry.ref) == (
        "paid", "payment.paid", f"batch:{batch.id}:line:1")
    assert _conflict(sessions, mark_paid, batch.id, by=OTHER, reference="BANK0002",
                     value_date="2026-05-02") == "already_paid"
    assert _conflict(sessions, payments.create_batch, CODE, by=OTHER,
                     award_ids=[award.id]) == "already_paid"
    b = _budget(sessions)
    assert (b.appropriated, b.free, b.awarded, b.in_payment, b.paid, b.receivable) == (
        10_000_000 * YUAN, 9_800_000 * YUAN, 0, 0, 200_000 * YUAN, 0)
    assert b.balanced
    # An applied award cannot be paid; with nothing approved left there is nothing to pay.
    other = _apply(sessions, firms[1], "unicorn")
    assert _conflict(sessions, payments.create_batch, CODE, by=OTHER,
                     award_ids=[other.id]) == "award_not_approved"
    assert _conflict(sessions, payments.create_batch, CODE, by=OTHER) == "nothing_to_pay"
    with transaction(sessions) as s:
        assert verify(s).ok


def test_an_award_to_a_firm_without_a_bank_account_is_not_batched(sessions, programme, firms):
    banked = _approve(sessions, _apply(sessions, firms[0], "gazelle").id)
    unbanked = _approve(sessions, _apply(sessions, firms[-1], "gazelle").id)
    with transaction(sessions) as s:
        publish_ended(s)
    before = _entries(sessions)
    for ids in ([unbanked.id], [banked.id, unbanked.id], None):
        with transaction(sessions) as s, pytest.raises(Conflict) as info:
            payments.create_batch(s, CODE, by=OTHER, award_ids=ids)
        assert (info.value.code, info.value.detail["firm_id"]) == (
            "bank_account_missing", firms[-1])
    assert _entries(sessions) == before
    with pytest.raises(InvalidInput):
        _batch(sessions)  # an empty list of awards
    with pytest.raises(NotFound):
        _batch(sessions, 999)
    assert [x.award_id for x in _batch(sessions, banked.id).lines] == [banked.id]


def test_clawback_once_before_and_after_payment(sessions, programme, firms):
    unpaid = _approve(sessions, _apply(sessions, firms[0], "gazelle").id)
    paid = _approve(sessions, _apply(sessions, firms[1], "unicorn").id)
    with transaction(sessions) as s:
        publish_ended(s, award_ids=[paid.id])
    _paid(sessions, _batch(sessions, paid.id).id)
    with transaction(sessions) as s:
        with pytest.raises(PermissionDenied):
            awards.clawback_award(s, unpaid.id, by=OPERATOR, reason="认定撤销")
        back = awards.clawback_award(s, unpaid.id, by=APPROVER, reason="认定撤销")
        owed = awards.clawback_award(s, paid.id, by=APPROVER, reason="认定撤销（已拨付）")
    assert back.status == owed.status == "clawed_back"
    with transaction(sessions) as s:
        entry = s.get(JournalEntry, back.clawback_entry_id)
        assert entry.reverses_entry_id == unpaid.approve_entry_id
        assert balance(s, awards.receivable_account(CODE, firms[1])).credits_posted == (
            500_000 * YUAN)
    for award in (back, owed):
        assert _conflict(sessions, awards.clawback_award, award.id, by=APPROVER,
                         reason="again") == "already_clawed_back"
    b = _budget(sessions)
    assert (b.free, b.awarded, b.in_payment, b.paid, b.receivable) == (
        10_000_000 * YUAN, 0, 0, 500_000 * YUAN, 500_000 * YUAN)
    assert b.balanced
    with transaction(sessions) as s:
        assert verify(s).ok
    # Clawed back awards no longer count as received: the money went back.
    assert _apply(sessions, firms[0], "gazelle", doc="新文号").amount_fen == 200_000 * YUAN


def test_lists_filter_and_totals_by_tier_in_sql(sessions, programme, firms):
    for firm in firms[:4]:
        _apply(sessions, firm, "gazelle")
    _approve(sessions, _apply(sessions, firms[4], "unicorn").id)
    _apply(sessions, firms[5], "little_giant", level="national",
           certified_on=dt.date(2022, 3, 1))
    with transaction(sessions) as s:
        page = awards.list_awards(s, limit=2, programme=CODE, tier="gazelle")
        assert (page.total, len(page.items)) == (4, 2)
        assert awards.list_awards(s, limit=10, status="approved").total == 1
        # Firms are in 沈阳, 大连, 鞍山 in turn: firms 0 and 3 are in 沈阳.
        assert awards.list_awards(s, limit=10, city="沈阳").total == 2
        assert awards.list_awards(s, limit=10, year=2022).total == 6
        assert awards.list_awards(s, limit=10, year=2021).total == 0
        totals = awards.totals_by_tier(s, programme=CODE)
        assert [(t.tier, t.count, t.amount_fen) for t in totals] == [
            ("gazelle", 4, 800_000 * YUAN), ("unicorn", 1, 500_000 * YUAN),
            ("little_giant", 1, 1_000_000 * YUAN)]
        assert [t.amount_fen for t in awards.totals_by_tier(s, status="approved")] == [
            500_000 * YUAN]
        with pytest.raises(InvalidInput):
            awards.list_awards(s, limit=10, tier="dragon")


def test_awards_need_an_award_programme(sessions, firms):
    with transaction(sessions) as s:
        with pytest.raises(InvalidInput) as info:
            create_programme(s, code="X-1", name="x", fiscal_year=2022, by=OPERATOR,
                             policy="LN-NOPE")
        assert info.value.detail["field"] == "policy"
        assert create_programme(s, code="X-2", name="奖励", fiscal_year=2022, by=OPERATOR,
                                policy="LN-AWARD").policy == "LN-AWARD"
        create_programme(s, code="LN-CXQ-2026", name="券", fiscal_year=2026, policy="LN-CXQ",
                         by=OPERATOR)
        with pytest.raises(InvalidInput) as info:
            awards.apply_award(s, "LN-CXQ-2026", firm_id=firms[0], tier="gazelle",
                               level="provincial", document_no="x", certified_on=CERTIFIED,
                               by=OPERATOR, on=ON)
        assert info.value.code == "wrong_programme_kind"
