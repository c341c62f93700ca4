"""The demo year: every state present, the books balanced, a re-run adds nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli import app
from demo.seed import build_demo
from ledger.awards.award import Award
from ledger.budget import award_budget, budget
from ledger.core.acting import SHANGHAI, today
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.errors import Conflict
from ledger.core.models import Account, JournalEntry
from ledger.core.oplog import Operation
from ledger.core.verify import verify
from ledger.payments.batches import PaymentBatch, PaymentReturn
from ledger.registry.users import User, create_user
from ledger.vouchers.authorisations import Authorisation
from ledger.vouchers.claims import Claim
from ledger.vouchers.redemptions import Redemption
from ledger.vouchers.voucher import Voucher
from tests.demo.conftest import FIRMS, PROVIDERS

runner = CliRunner()


def _count(session, *where, model=Voucher) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_every_voucher_state_is_present(demo):
    available = Account.debits_posted - Account.credits_posted - Account.credits_pending
    with_account = select(Voucher.id).join(Account, Account.code == Voucher.account_code)
    has_redemption = select(Redemption.voucher_id)
    with transaction(demo.sessions) as s:
        states = {
            "fresh": _count(s, Voucher.status == "active", Voucher.id.not_in(has_redemption)),
            "partly used": _count(s, Voucher.id.in_(with_account.where(
                Account.credits_posted > Voucher.expired_fen, available > 0))),
            "held": _count(s, Voucher.id.in_(with_account.where(Account.credits_pending > 0))),
            "expired": _count(s, Voucher.status == "expired", Voucher.expired_fen > 0),
            "clawed back": _count(s, Voucher.id.in_(
                select(Redemption.voucher_id).where(Redemption.status == "clawed_back"))),
        }
    assert all(states.values()), states


def test_every_booking_and_claim_state_is_present(demo):
    with transaction(demo.sessions) as s:
        bookings = {
            "held": _count(s, Redemption.status == "booked", model=Redemption),
            "cancelled": _count(s, Redemption.status == "cancelled", model=Redemption),
            "awaiting the firm": _count(s, Redemption.status == "completed",
                                        Redemption.confirmed_at.is_(None), model=Redemption),
            "confirmed": _count(s, Redemption.status == "completed",
                                Redemption.confirmed_at.is_not(None), model=Redemption),
            "clawed back": _count(s, Redemption.status == "clawed_back", model=Redemption),
        }
        unpaid_batches = select(PaymentBatch.id).where(PaymentBatch.status == "created")
        claims = {
            "filed": _count(s, Claim.status == "filed", model=Claim),
            "approved": _count(s, Claim.status == "approved", Claim.batch_id.is_(None),
                               model=Claim),
            "in a payment batch": _count(s, Claim.status == "approved",
                                         Claim.batch_id.in_(unpaid_batches), model=Claim),
            "rejected": _count(s, Claim.status == "rejected", model=Claim),
            "paid": _count(s, Claim.status == "paid", model=Claim),
            "withdrawn": _count(s, Claim.status == "withdrawn", model=Claim),
        }
        batches = {status: _count(s, PaymentBatch.status == status, model=PaymentBatch)
                   for status in ("created", "released", "paid")}
        returned = _count(s, model=PaymentReturn)
    assert all(bookings.values()), bookings
    assert all(claims.values()), claims
    assert all(batches.values()) and returned == 1, (batches, returned)


def test_every_booking_went_through_the_firms_authorisation(demo):
    """Each redemption used one authorisation of its own voucher and provider; firms also
    withdrew some before granting again."""
    with transaction(demo.sessions) as s:
        used = s.execute(select(Redemption.id, Redemption.voucher_id, Redemption.provider_id,
                                Authorisation.voucher_id, Authorisation.provider_id,
                                Authorisation.status)
                         .outerjoin(Authorisation, Authorisation.redemption_id == Redemption.id)
                         ).all()
        withdrawn = _count(s, Authorisation.status == "withdrawn", model=Authorisation)
        logged = _count(s, Operation.action == "authorisations.create", model=Operation)
    assert used and all(r[1:3] == r[3:5] and r[5] == "used" for r in used)
    assert withdrawn >= 1 and logged >= len(used) + withdrawn


def test_every_award_tier_in_every_state(demo):
    with transaction(demo.sessions) as s:
        found = set(s.execute(select(Award.tier, Award.status).distinct()).all())
        recorders = set(s.scalars(select(Award.recorded_by).distinct()))
        deciders = set(s.scalars(select(Award.decided_by).where(Award.decided_by.is_not(None))
                                 .distinct()))
    tiers = ("gazelle", "unicorn", "specialised", "little_giant")
    states = ("applied", "approved", "rejected", "in_payment", "paid", "clawed_back")
    assert {(t, st) for t in tiers for st in states} <= found
    assert len(recorders) == 1 and len(deciders) == 1 and recorders.isdisjoint(deciders)


def test_voucher_applications_in_every_state(demo):
    from ledger.vouchers.applications import VoucherApplication

    with transaction(demo.sessions) as s:
        rows = s.execute(select(VoucherApplication.status, VoucherApplication.code,
                                VoucherApplication.voucher_id)).all()
        firm = s.scalar(select(User.firm_id).where(User.username == "demo-firm"))
        mine = _count(s, VoucherApplication.firm_id == firm, model=VoucherApplication)
    assert {status for status, _, _ in rows} == {"applied", "approved", "rejected", "refused"}
    assert {code for status, code, _ in rows if status == "refused"} == {"amount_not_allowed"}
    assert all(voucher is not None for status, _, voucher in rows if status == "approved")
    assert mine >= 3  # the demo firm's sign-in shows a refused, a rejected and an approved one


def test_refusals_are_in_the_operation_log(demo):
    with transaction(demo.sessions) as s:
        codes = set(s.scalars(select(Operation.code).where(Operation.outcome == "refused")))
    assert {"related_party", "cap_exceeded", "voucher_expired", "not_eligible"} <= codes


def test_maker_checker_uses_distinct_demo_users(demo):
    with transaction(demo.sessions) as s:
        ids = dict(s.execute(select(User.username, User.id)).all())
        deciders = set(s.scalars(select(Claim.decided_by).where(Claim.decided_by.is_not(None))))
        issuers = set(s.scalars(select(Voucher.issued_by)))
        self_checked = _count(s, Claim.filed_by == Claim.decided_by, model=Claim)
    assert deciders == {f"user:{ids['demo-approver']}:demo-approver"}
    # The approver issues only by approving a firm's application (申领).
    assert issuers == {f"user:{ids['demo-operator']}:demo-operator",
                       f"user:{ids['demo-approver']}:demo-approver"}
    assert self_checked == 0


def test_the_books_balance_and_verify_is_ok(demo):
    code, award_code = demo.built.year.voucher_programme, demo.built.year.award_programme
    with transaction(demo.sessions) as s:
        figures = budget(s, code)
        awards = award_budget(s, award_code)
        report = verify(s)
    assert figures.balanced and awards.balanced
    assert min(figures.expired, figures.held, figures.redeemed, figures.in_payment,
               figures.paid, figures.receivable, figures.free) > 0
    assert min(awards.awarded, awards.promised, awards.in_payment, awards.paid) > 0
    assert report.ok and report.entries > 0


def test_the_year_is_posted_and_decided_on_its_own_days(demo):
    # Built in seconds, the year still happened on its days: each voucher's issue entry is
    # posted on its issue day (Beijing time), claims are decided on the days they were,
    # so a report for the first half-year sees the first half-year's money.
    code = demo.built.year.voucher_programme
    with transaction(demo.sessions) as s:
        issue_days = {f"voucher:{code}:{serial}": day for serial, day in
                      s.execute(select(Voucher.serial, Voucher.issued_on))}
        issued = [(issue_days[ref], at) for ref, at in s.execute(
            select(JournalEntry.ref, JournalEntry.posted_at)
            .where(JournalEntry.flow == "voucher.issue")) if ref in issue_days]
        decided = s.execute(select(Claim.filed_on, Claim.decided_at)
                            .where(Claim.decided_at.is_not(None))).all()
        first_post = s.scalar(select(func.min(JournalEntry.posted_at)))
        opened = s.scalar(select(Account.opened_at).where(Account.code == f"{code}:budget"))
        first_voucher = s.scalar(select(func.min(Account.opened_at)).where(
            Account.code.like(f"{code}:voucher:%")))
    assert issued and decided
    off_day = [(i, p) for i, p in issued if p.astimezone(SHANGHAI).date() != i]
    assert not off_day, off_day[:3]
    assert opened <= first_voucher  # the programme opens before its first voucher
    assert all(d.astimezone(SHANGHAI).date() >= f for f, d in decided)
    assert all(d.astimezone(SHANGHAI).date() < today() for f, d in decided[: len(decided) // 2])
    assert first_post.astimezone(SHANGHAI).date() < today()
    assert opened.astimezone(SHANGHAI).date() <= first_post.astimezone(SHANGHAI).date()


def test_the_firm_and_provider_sign_ins_have_work_waiting(demo):
    with transaction(demo.sessions) as s:
        firm = s.scalar(select(User.firm_id).where(User.username == "demo-firm"))
        provider = s.scalar(select(User.provider_id).where(User.username == "demo-provider"))
        waiting = _count(s, Redemption.firm_id == firm, Redemption.status == "completed",
                         Redemption.confirmed_at.is_(None), model=Redemption)
        held = _count(s, Redemption.firm_id == firm, Redemption.status == "booked",
                      model=Redemption)
        provider_bookings = _count(s, Redemption.provider_id == provider, model=Redemption)
        vouchers = _count(s, Voucher.firm_id == firm)
    assert waiting >= 1 and held >= 1 and vouchers >= 2 and provider_bookings >= 3


def test_a_second_run_adds_nothing(demo):
    with transaction(demo.sessions) as s:
        before = (_count(s, model=JournalEntry), _count(s, model=Operation))
        again = build_demo(s, firms=FIRMS, providers=PROVIDERS)
        after = (_count(s, model=JournalEntry), _count(s, model=Operation))
    assert again.year is None and again.built_before == demo.built.year.voucher_programme
    assert (again.firms_added, again.providers_added, again.registry.users_added) == (0, 0, 0)
    assert before == after


def test_publicity_lists_end_before_payment_and_one_has_an_objection(demo):
    from ledger.awards.publicity import (
        AwardObjection,
        AwardPublication,
        AwardPublicationItem,
        get_publication,
    )

    with transaction(demo.sessions) as s:
        ids = list(s.scalars(select(AwardPublication.id).order_by(AwardPublication.id)))
        pubs = [get_publication(s, i) for i in ids]
        objections = list(s.scalars(select(AwardObjection)))
        # Every award paid or in payment was on a list whose period had ended.
        batched = set(s.scalars(select(Award.id).where(Award.status.in_(("in_payment", "paid")))))
        ended = set(s.scalars(
            select(AwardPublicationItem.award_id)
            .join(AwardPublication, AwardPublication.id == AwardPublicationItem.publication_id)
            .where(AwardPublication.ends_on < today())))
    assert batched and batched <= ended and len(pubs) >= 2
    assert all(p.programme == demo.built.year.award_programme and p.items for p in pubs)
    assert all(len(p.head_hash) == 64 and set(p.head_hash) != {"0"} for p in pubs)
    assert all(p.ends_on < today() for p in pubs)
    # The year's last list: approved awards still to be paid, with one dismissed objection.
    last = pubs[-1]
    assert all(i.status == "approved" for i in last.items)
    assert [(o.publication_id, o.award_id, o.status) for o in objections] == [
        (last.id, last.items[0].award_id, "dismissed")]
    assert last.starts_on <= objections[0].raised_on <= last.ends_on


def test_the_command_builds_prints_and_rebuilds_nothing(db_url):
    first = runner.invoke(app, ["demo", "--url", db_url, "--firms", "8", "--providers", "6"])
    assert first.exit_code == 0, first.output
    assert "added 8 firms, 6 providers, 5 users" in first.output
    assert "console: http://127.0.0.1:8000/" in first.output
    assert "demo-firm-2026" in first.output and "demo-provider-2026" in first.output
    second = runner.invoke(app, ["demo", "--url", db_url, "--firms", "8", "--providers", "6"])
    assert second.exit_code == 0, second.output
    assert "added 0 firms, 0 providers, 0 users" in second.output
    assert "already built" in second.output and "nothing added" in second.output
    engine = make_engine(db_url)
    with transaction(make_sessionmaker(engine)) as s:
        assert _count(s, model=JournalEntry) > 0 and verify(s).ok
    engine.dispose()


def test_refuses_a_database_with_other_users(sessions):
    with transaction(sessions) as s:
        create_user(s, username="chief", password="a strong passphrase", role="operator")
    with pytest.raises(Conflict), transaction(sessions) as s:
        build_demo(s, firms=8, providers=5)
    with transaction(sessions) as s:
        assert _count(s, model=JournalEntry) == 0


