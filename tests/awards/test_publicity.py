"""公示 of awards through their services: the period, objections, and when an award is payable."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from sqlalchemy import func, select

from ledger.awards import award as awards
from ledger.awards import publicity
from ledger.budget import award_budget
from ledger.core.db import transaction
from ledger.core.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from ledger.core.models import JournalEntry, LedgerHead
from ledger.core.verify import verify
from ledger.payments import batches as payments
from rules import load_policies, publicity_end
from rules.loader import SHIPPED_POLICIES, PolicyErrors, load_policy_file
from rules.schema import Publicity
from tests.awards.support import APPROVER, CERTIFIED, CODE, ON, OPERATOR, OTHER, YUAN

START = dt.date(2022, 12, 2)  # a Friday: five working days end on Thursday 8 December
END = dt.date(2022, 12, 8)


@pytest.fixture
def clock(monkeypatch):
    """The day the 公示 services take as today; tests move it."""
    day = {"today": START}
    monkeypatch.setattr(publicity, "today", lambda: day["today"])
    return day


def _approved(sessions, firm_id, tier="gazelle"):
    with transaction(sessions) as s:
        view = awards.apply_award(s, CODE, firm_id=firm_id, tier=tier, level="provincial",
                                  document_no=f"辽科发〔2022〕{firm_id}号", certified_on=CERTIFIED,
                                  by=OPERATOR, on=ON)
        return awards.approve_award(s, view.id, by=APPROVER)


def _error(sessions, kind, call, *args, **kw):
    with transaction(sessions) as s, pytest.raises(kind) as info:
        call(s, *args, **kw)
    return info.value


def test_the_period_counts_working_days_or_calendar_days():
    five = Publicity(days=5)
    assert publicity_end(five, START) == END
    # A start on a Saturday begins the count on Monday; listed holidays do not count.
    assert publicity_end(five, dt.date(2022, 12, 3)) == dt.date(2022, 12, 9)
    assert publicity_end(Publicity(days=5, holidays=[dt.date(2022, 12, 5)]), START) == \
        dt.date(2022, 12, 9)
    assert publicity_end(Publicity(days=7, working_days=False), START) == dt.date(2022, 12, 8)
    assert publicity_end(Publicity(days=1, working_days=False), START) == START


def test_the_policy_file_states_the_period_and_a_bad_one_is_refused(tmp_path):
    shipped = load_policies(SHIPPED_POLICIES).in_force("LN-AWARD", START)
    assert shipped is not None and shipped.model.publicity == Publicity(days=5, working_days=True)
    data = yaml.safe_load((SHIPPED_POLICIES / "LN-AWARD-2022.yaml").read_text("utf-8"))
    data["publicity"] = {"days": 0, "weekends": True}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyErrors) as info:
        load_policy_file(path)
    keys = {(e.key, e.reason.split(":")[0]) for e in info.value.errors}
    assert any(k.startswith("publicity.days") for k, _ in keys)
    assert any(k.startswith("publicity.weekends") for k, _ in keys)


def test_published_awards_wait_for_the_period_then_are_paid(sessions, programme, firms, clock):
    first, second = _approved(sessions, firms[0]), _approved(sessions, firms[1], "unicorn")
    with transaction(sessions) as s:
        head = s.scalar(select(LedgerHead.head_hash))
        pub = publicity.publish_awards(s, CODE, by=OPERATOR)
    assert (pub.starts_on, pub.ends_on, pub.days, pub.working_days) == (START, END, 5, True)
    assert pub.head_hash == head and pub.policy_version == "2022.1"
    assert [(i.award_id, i.tier, i.amount_fen) for i in pub.items] == [
        (first.id, "gazelle", 200_000 * YUAN), (second.id, "unicorn", 500_000 * YUAN)]
    assert pub.items[0].firm_name == "测试企业0有限公司" and len(pub.items[0].credit_code) == 18
    assert pub.state(START) == "open" and pub.state(END + dt.timedelta(days=1)) == "ended"
    # During the period: not payable, not even listed as payable.
    assert _error(sessions, Conflict, payments.create_batch, CODE, by=OTHER,
                  award_ids=[first.id]).code == "award_in_publicity"
    assert _error(sessions, Conflict, payments.create_batch, CODE,
                  by=OTHER).code == "nothing_to_pay"
    with transaction(sessions) as s:
        assert payments.list_payable(s, CODE, payments.PayableFilter(), limit=10).total == 0
    clock["today"] = END
    assert _error(sessions, Conflict, payments.create_batch, CODE, by=OTHER,
                  award_ids=[first.id]).code == "award_in_publicity"
    clock["today"] = END + dt.timedelta(days=1)
    with transaction(sessions) as s:
        assert payments.list_payable(s, CODE, payments.PayableFilter(), limit=10).total == 2
        batch = payments.create_batch(s, CODE, by=OTHER)
    assert {x.award_id for x in batch.lines} == {first.id, second.id}


def test_an_upheld_objection_rejects_the_award_by_a_linked_reversal(sessions, programme, firms,
                                                                    clock):
    kept, objected = _approved(sessions, firms[0]), _approved(sessions, firms[1])
    with transaction(sessions) as s:
        pub = publicity.publish_awards(s, CODE, by=OPERATOR, award_ids=[kept.id, objected.id])
    clock["today"] = dt.date(2022, 12, 5)
    with transaction(sessions) as s:
        objection = publicity.record_objection(
            s, pub.id, award_id=objected.id, raised_by="某科技公司", text="认定材料与实际不符",
            by=OPERATOR)
    assert (objection.status, objection.raised_on) == ("pending", dt.date(2022, 12, 5))
    # After the period, the award with a pending objection still waits; the other is paid.
    clock["today"] = END + dt.timedelta(days=1)
    assert _error(sessions, Conflict, payments.create_batch, CODE, by=OTHER,
                  award_ids=[objected.id]).code == "award_objection_pending"
    with transaction(sessions) as s:
        batch = payments.create_batch(s, CODE, by=OTHER)
    assert [x.award_id for x in batch.lines] == [kept.id]
    # Maker-checker: the operator who recorded it may not decide it.
    assert _error(sessions, PermissionDenied, publicity.decide_objection, objection.id,
                  decision="upheld", reason="核实", by=OPERATOR).code == "self_approval"
    before = award_budget_free(sessions)
    with transaction(sessions) as s:
        decided, award = publicity.decide_objection(s, objection.id, decision="upheld",
                                                    reason="经核实认定不成立", by=APPROVER)
        reversal = s.get(JournalEntry, decided.reversal_entry_id)
    assert (decided.status, decided.decided_by, award.status) == (
        "upheld", APPROVER.label, "rejected")
    assert (reversal.flow, reversal.ref, reversal.reverses_entry_id) == (
        "award.objection", f"award:{objected.id}", objected.approve_entry_id)
    assert award_budget_free(sessions) == before + 200_000 * YUAN
    assert _error(sessions, Conflict, publicity.decide_objection, objection.id,
                  decision="dismissed", reason="再议", by=APPROVER
                  ).code == "objection_already_decided"
    assert _error(sessions, Conflict, payments.create_batch, CODE, by=OTHER,
                  award_ids=[objected.id]).code == "award_not_approved"
    with transaction(sessions) as s:
        assert verify(s).ok
        assert award_budget(s, CODE).balanced


def award_budget_free(sessions) -> int:
    with transaction(sessions) as s:
        return award_budget(s, CODE).free


def test_a_dismissed_objection_lets_the_award_be_paid(sessions, programme, firms, clock):
    award = _approved(sessions, firms[0])
    with transaction(sessions) as s:
        pub = publicity.publish_awards(s, CODE, by=OPERATOR)
        objection = publicity.record_objection(s, pub.id, award_id=award.id, raised_by="匿名",
                                               text="质疑", by=OPERATOR)
    clock["today"] = END + dt.timedelta(days=3)
    with transaction(sessions) as s:
        decided, view = publicity.decide_objection(s, objection.id, decision="dismissed",
                                                   reason="材料齐全", by=APPROVER)
        assert (decided.status, decided.reversal_entry_id, view.status) == (
            "dismissed", None, "approved")
        batch = payments.create_batch(s, CODE, by=OTHER, award_ids=[award.id])
    assert [x.award_id for x in batch.lines] == [award.id]
    with transaction(sessions) as s:
        shown = publicity.get_publication(s, pub.id)
        page = publicity.list_publications(s, limit=10, programme=CODE)
    assert [o.status for o in shown.objections] == ["dismissed"]
    assert [p.id for p in page.items] == [pub.id] and page.total == 1


def test_refusals(sessions, programme, firms, clock):
    award = _approved(sessions, firms[0])
    with transaction(sessions) as s:
        applied = awards.apply_award(s, CODE, firm_id=firms[1], tier="gazelle",
                                     level="provincial", document_no="辽科发〔2022〕x号",
                                     certified_on=CERTIFIED, by=OPERATOR, on=ON)
    assert _error(sessions, Conflict, publicity.publish_awards, CODE, by=OPERATOR,
                  award_ids=[applied.id]).code == "award_not_approved"
    assert _error(sessions, NotFound, publicity.publish_awards, CODE, by=OPERATOR,
                  award_ids=[999]).detail["award_id"] == 999
    assert _error(sessions, InvalidInput, publicity.publish_awards, CODE, by=OPERATOR,
                  award_ids=[]).detail["field"] == "award_ids"
    assert _error(sessions, InvalidInput, publicity.publish_awards, CODE, by=OPERATOR,
                  on=START + dt.timedelta(days=1)).detail["field"] == "starts_on"
    with transaction(sessions) as s:
        pub = publicity.publish_awards(s, CODE, by=OPERATOR)
    assert [i.award_id for i in pub.items] == [award.id]
    assert _error(sessions, AlreadyExists, publicity.publish_awards, CODE, by=OPERATOR,
                  award_ids=[award.id]).code == "already_published"
    assert _error(sessions, Conflict, publicity.publish_awards, CODE,
                  by=OPERATOR).code == "nothing_to_publish"
    # Objections: inside the period only, on an award of the list, with who and what.
    clock["today"] = END + dt.timedelta(days=1)
    late = _error(sessions, Conflict, publicity.record_objection, pub.id, award_id=award.id,
                  raised_by="某人", text="迟到的异议", by=OPERATOR)
    assert late.code == "outside_publicity_period" and late.detail["ends_on"] == "2022-12-08"
    assert _error(sessions, Conflict, publicity.record_objection, pub.id, award_id=award.id,
                  raised_by="某人", text="早于公示", by=OPERATOR,
                  on=START - dt.timedelta(days=1)).code == "outside_publicity_period"
    assert _error(sessions, NotFound, publicity.record_objection, pub.id, award_id=applied.id,
                  raised_by="某人", text="不在名单", by=OPERATOR,
                  on=START).detail == {"award_id": applied.id}
    assert _error(sessions, InvalidInput, publicity.record_objection, pub.id,
                  award_id=award.id, raised_by=" ", text="x", by=OPERATOR,
                  on=START).detail["field"] == "raised_by"
    assert _error(sessions, NotFound, publicity.record_objection, 999, award_id=award.id,
                  raised_by="某人", text="x", by=OPERATOR, on=START).detail == {
        "publication_id": 999}
    with transaction(sessions) as s:
        objection = publicity.record_objection(s, pub.id, award_id=award.id, raised_by="某人",
                                               text="补录的异议", by=OPERATOR, on=END)
    assert _error(sessions, InvalidInput, publicity.decide_objection, objection.id,
                  decision="maybe", reason="x", by=APPROVER).detail["field"] == "decision"
    assert _error(sessions, InvalidInput, publicity.decide_objection, objection.id,
                  decision="upheld", reason="", by=APPROVER).detail["field"] == "reason"
    assert _error(sessions, NotFound, publicity.decide_objection, 999, decision="upheld",
                  reason="x", by=APPROVER).detail == {"objection_id": 999}


def test_a_programme_whose_policy_states_no_period_is_not_published(sessions, programme, firms,
                                                                    clock, tmp_path):
    _approved(sessions, firms[0])
    data = yaml.safe_load((SHIPPED_POLICIES / "LN-AWARD-2022.yaml").read_text("utf-8"))
    del data["publicity"]
    (tmp_path / "LN-AWARD-2022.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                                 encoding="utf-8")
    bare = load_policies(tmp_path)
    refused = _error(sessions, Conflict, publicity.publish_awards, CODE, by=OPERATOR,
                     policy_set=bare)
    assert refused.code == "no_publicity_rule"


def test_an_unpublished_award_is_not_payable_when_the_policy_states_a_period(
        sessions, programme, firms, clock):
    listed, unlisted = _approved(sessions, firms[0]), _approved(sessions, firms[1])
    with transaction(sessions) as s:
        publicity.publish_awards(s, CODE, by=OPERATOR, award_ids=[listed.id])
        before = s.scalar(select(func.count()).select_from(JournalEntry))
    # Running: neither is listed as payable, each is refused with its own code.
    with transaction(sessions) as s:
        assert payments.list_payable(s, CODE, payments.PayableFilter(), limit=10).total == 0
    unpublished = _error(sessions, Conflict, payments.create_batch, CODE, by=OTHER,
                         award_ids=[listed.id, unlisted.id])
    assert (unpublished.code, unpublished.detail) == ("award_not_published",
                                                      {"award_id": unlisted.id})
    assert _error(sessions, Conflict, payments.create_batch, CODE, by=OTHER,
                  award_ids=[listed.id]).code == "award_in_publicity"
    assert _error(sessions, Conflict, payments.create_batch, CODE,
                  by=OTHER).code == "nothing_to_pay"
    # Ended: the listed award is payable; the unlisted one still waits for a list of its own.
    clock["today"] = END + dt.timedelta(days=1)
    assert _error(sessions, Conflict, payments.create_batch, CODE, by=OTHER,
                  award_ids=[unlisted.id]).code == "award_not_published"
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(JournalEntry)) == before
        payable = payments.list_payable(s, CODE, payments.PayableFilter(), limit=10)
        batch = payments.create_batch(s, CODE, by=OTHER)
    assert [p.id for p in payable.items] == [listed.id]
    assert [x.award_id for x in batch.lines] == [listed.id]


def test_without_a_period_in_the_policy_an_unlisted_award_is_paid_as_before(
        sessions, programme, firms, clock, monkeypatch, tmp_path):
    listed, unlisted = _approved(sessions, firms[0]), _approved(sessions, firms[1])
    with transaction(sessions) as s:
        publicity.publish_awards(s, CODE, by=OPERATOR, award_ids=[listed.id])
    data = yaml.safe_load((SHIPPED_POLICIES / "LN-AWARD-2022.yaml").read_text("utf-8"))
    del data["publicity"]
    (tmp_path / "LN-AWARD-2022.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                                 encoding="utf-8")
    bare = load_policies(tmp_path)
    monkeypatch.setattr(publicity, "policies", lambda: bare)
    # A list already published still holds its awards until its period ends.
    with transaction(sessions) as s:
        payable = payments.list_payable(s, CODE, payments.PayableFilter(), limit=10)
        batch = payments.create_batch(s, CODE, by=OTHER)
    assert [p.id for p in payable.items] == [unlisted.id]
    assert [x.award_id for x in batch.lines] == [unlisted.id]
    assert _error(sessions, Conflict, payments.create_batch, CODE, by=OTHER,
                  award_ids=[listed.id]).code == "award_in_publicity"
