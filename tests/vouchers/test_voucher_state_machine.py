"""A hypothesis state machine over the voucher services, against a model of the programme.

Random appropriations, issues (current and already expired vouchers), bookings, partial and
full completions, cancellations, claims, payment batches, payments, clawbacks and expiry
runs. After every step each figure of the budget equals the model's, the budget equation
holds (appropriated = free + unspent + held + redeemed + in_payment + paid − receivable),
debits equal credits across the ledger and `verify` passes.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select
from voucher_helpers import APPROVER, CODE, FIRM, OPERATOR, PDF, PNG, PROVIDER

from demo.seed import seed_demo
from ledger.budget import budget
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.errors import Conflict, PolicyRefused
from ledger.core.models import Account
from ledger.core.verify import verify
from ledger.payments import batches as payments
from ledger.payments.confirmation import mark_paid
from ledger.programmes.programme import appropriate, create_programme
from ledger.registry.evidence import Upload
from ledger.registry.firms import Certification, add_certification
from ledger.vouchers import claims, clawbacks, expiry, redemptions
from ledger.vouchers import voucher as vouchers
from tests.authorised import authorised_book

EVIDENCE = (Upload("contract", "c.pdf", PDF), Upload("invoice", "i.png", PNG),
            Upload("service_report", "r.pdf", PDF + b"r"))
FIGURES = ("free", "unspent", "held", "redeemed", "in_payment", "paid", "receivable")


@dataclass
class ModelVoucher:
    id: int
    available: int
    expired: bool


@dataclass
class ModelRedemption:
    id: int
    voucher: ModelVoucher
    subsidy: int
    status: str = "booked"
    amount: int = 0
    claim: str = ""  # "", "approved", "batched", "paid"
    claim_id: int = 0


def test_voucher_state_machine(databases, monkeypatch):
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from ledger.registry import users

    monkeypatch.setattr(users, "_hasher",
                        PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),)))

    class VoucherMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.engine = make_engine(databases.fresh_url())
            self.sessions = make_sessionmaker(self.engine)
            self.figures = dict.fromkeys(FIGURES, 0)
            self.appropriated = 0
            self.vouchers: list[ModelVoucher] = []
            self.redemptions: list[ModelRedemption] = []

        def teardown(self) -> None:
            self.engine.dispose()

        def _move(self, **changes: int) -> None:
            for name, delta in changes.items():
                self.figures[name] += delta

        @initialize()
        def programme(self):
            with transaction(self.sessions) as s:
                seed_demo(s)
                add_certification(s, 1, Certification("tech_sme", 2025, dt.date(2025, 3, 1)))
                create_programme(s, code=CODE, name="状态机", fiscal_year=2026, policy="LN-CXQ",
                                 by=OPERATOR)

        @rule(amount=st.integers(min_value=1, max_value=5_000_000))
        def appropriate(self, amount):
            with transaction(self.sessions) as s:
                appropriate(s, CODE, amount, by=OPERATOR)
            self.appropriated += amount
            self._move(free=amount)

        @rule(amount=st.integers(min_value=1, max_value=2_000_000), old=st.booleans())
        def issue(self, amount, old):
            try:
                with transaction(self.sessions) as s:
                    v = vouchers.issue_voucher(s, CODE, 1, amount, by=OPERATOR,
                                               issued_on=dt.date(2025, 6, 1) if old else None)
            except PolicyRefused as refused:
                assert refused.code == "budget_exhausted" and amount > self.figures["free"]
                return
            assert amount <= self.figures["free"]
            self.vouchers.append(ModelVoucher(v.id, amount, old))
            self._move(free=-amount, unspent=amount)

        @precondition(lambda self: self.vouchers)
        @rule(index=st.integers(min_value=0), half=st.integers(min_value=1, max_value=500_000))
        def book(self, index, half):
            voucher = self.vouchers[index % len(self.vouchers)]
            try:
                with transaction(self.sessions) as s:
                    r = authorised_book(s, voucher_id=voucher.id, provider_id=1,
                                        category="testing", cost_fen=2 * half,
                                        description="", by=PROVIDER)
            except (PolicyRefused, Conflict) as refused:
                # An expired voucher: the policy refuses, or (once expiry has run) the firm
                # cannot authorise a booking on it at all; both say voucher_expired.
                expected = "voucher_expired" if voucher.expired else "insufficient_balance"
                assert refused.code == expected
                assert isinstance(refused, PolicyRefused) or voucher.expired
                assert voucher.expired or voucher.available == 0
                return
            subsidy = min(half, voucher.available)
            assert not voucher.expired and r.subsidy_fen == subsidy
            voucher.available -= subsidy
            self.redemptions.append(ModelRedemption(r.id, voucher, subsidy))
            self._move(unspent=-subsidy, held=subsidy)

        def _pick(self, index, *statuses):
            chosen = [r for r in self.redemptions if r.status in statuses]
            return chosen[index % len(chosen)] if chosen else None

        @rule(index=st.integers(min_value=0),
              percent=st.one_of(st.none(), st.integers(min_value=1, max_value=100)))
        def complete(self, index, percent):
            r = self._pick(index, "booked")
            if r is None:
                return
            amount = None if percent is None else max(1, r.subsidy * percent // 100)
            with transaction(self.sessions) as s:
                redemptions.complete(s, r.id, provider_id=1, by=PROVIDER, amount_fen=amount)
            r.status, r.amount = "completed", r.subsidy if amount is None else amount
            r.voucher.available += r.subsidy - r.amount
            self._move(held=-r.subsidy, redeemed=r.amount, unspent=r.subsidy - r.amount)

        @rule(index=st.integers(min_value=0))
        def cancel(self, index):
            r = self._pick(index, "booked")
            if r is None:
                return
            with transaction(self.sessions) as s:
                redemptions.cancel(s, r.id, by=OPERATOR)
            r.status = "cancelled"
            r.voucher.available += r.subsidy
            self._move(held=-r.subsidy, unspent=r.subsidy)

        @rule(index=st.integers(min_value=0))
        def claim_and_approve(self, index):
            chosen = [r for r in self.redemptions if r.status == "completed" and not r.claim]
            if not chosen:
                return
            r = chosen[index % len(chosen)]
            with transaction(self.sessions) as s:
                redemptions.confirm(s, r.id, firm_id=1, by=FIRM)
                c = claims.file_claim(s, r.id, provider_id=1, files=EVIDENCE, by=PROVIDER)
                claims.approve(s, c.id, by=APPROVER)
            r.claim, r.claim_id = "approved", c.id

        @rule()
        def batch_and_maybe_pay(self):
            approved = [r for r in self.redemptions if r.claim == "approved"]
            try:
                with transaction(self.sessions) as s:
                    payments.create_batch(s, CODE, by=OPERATOR)
            except Conflict as refused:
                assert refused.code == "nothing_to_pay" and not approved
                return
            total = sum(r.amount for r in approved)
            for r in approved:
                r.claim = "batched"
            self._move(redeemed=-total, in_payment=total)

        @rule()
        def pay_open_batches(self):
            with transaction(self.sessions) as s:
                open_ids = [b.id for b in payments.list_batches(s, limit=100).items
                            if b.status == "created"]
                for batch_id in open_ids:
                    payments.release_batch(s, batch_id, by=APPROVER)
                    mark_paid(s, batch_id, by=OPERATOR, reference=f"B{batch_id}",
                              value_date=dt.date(2026, 6, 1))
            batched = [r for r in self.redemptions if r.claim == "batched"]
            total = sum(r.amount for r in batched)
            for r in batched:
                r.claim = "paid"
            self._move(in_payment=-total, paid=total)

        @rule(index=st.integers(min_value=0))
        def clawback(self, index):
            r = self._pick(index, "completed", "clawed_back")
            if r is None:
                return
            try:
                with transaction(self.sessions) as s:
                    clawbacks.clawback(s, r.id, by=APPROVER, reason="抽查不实")
            except Conflict as refused:
                expected = {"clawed_back": "already_clawed_back", "completed": "in_payment"}
                assert refused.code == expected[r.status]
                assert r.status == "clawed_back" or r.claim == "batched"
                return
            assert r.status == "completed" and r.claim != "batched"
            if r.claim == "paid":
                self._move(receivable=r.amount, unspent=r.amount)
            else:
                self._move(redeemed=-r.amount, unspent=r.amount)
            r.status, r.claim = "clawed_back", "" if r.claim != "paid" else "paid"
            r.voucher.available += r.amount

        @rule()
        def expire(self):
            with transaction(self.sessions) as s:
                result = expiry.expire(s, CODE, by=OPERATOR)
            returned = sum(v.available for v in self.vouchers if v.expired)
            assert result.returned_fen == returned
            for v in self.vouchers:
                if v.expired:
                    v.available = 0
            self._move(free=returned, unspent=-returned)

        @invariant()
        def budget_agrees(self):
            if not hasattr(self, "figures") or (not self.vouchers and not self.appropriated):
                return
            with transaction(make_sessionmaker(self.engine, read_only=True)) as s:
                b = budget(s, CODE)
                sums = s.execute(select(
                    func.sum(Account.debits_posted), func.sum(Account.credits_posted),
                    func.sum(Account.debits_pending), func.sum(Account.credits_pending))).one()
                report = verify(s)
            assert {name: getattr(b, name) for name in FIGURES} == self.figures
            assert b.appropriated == self.appropriated and b.balanced
            assert sums[0] == sums[1] and sums[2] == sums[3]
            assert report.ok, (report.first_break, report.mismatches)

    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        VoucherMachine,
        settings=settings(
            max_examples=int(os.environ.get("VOUCHER_LEDGER_STATEFUL_EXAMPLES", "100")),
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
