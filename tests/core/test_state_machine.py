"""A hypothesis state machine: random valid and invalid operations against a model.

After every step: debits equal credits (posted and pending separately), no limited account
passes its limit, stored totals equal the model's and those recomputed from transfers, and
`verify` passes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from ledger.core.accounts import open_account
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.errors import Conflict, InsufficientBalance, InvalidInput
from ledger.core.journal import (
    EntryRequest,
    Move,
    create_hold,
    post_entry,
    post_hold,
    reverse_entry,
    void_hold,
)
from ledger.core.models import Account
from ledger.core.verify import verify

# Drawn amounts, or ("edge", d): the limited account's remaining room plus d fen.
AMOUNTS = st.one_of(
    st.integers(min_value=-5, max_value=2_000),
    st.tuples(st.just("edge"), st.integers(min_value=-1, max_value=1)),
)
FLAGS = ("none", "credits_must_not_exceed_debits", "debits_must_not_exceed_credits")


@dataclass
class ModelAccount:
    flag: str
    totals: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # dp, dpo, cp, cpo

    def fits(self) -> bool:
        dp, dpo, cp, cpo = self.totals
        if self.flag == "credits_must_not_exceed_debits":
            return cp + cpo <= dpo
        if self.flag == "debits_must_not_exceed_credits":
            return dp + dpo <= cpo
        return True


def _apply(model: dict[str, ModelAccount], changes: list[tuple[str, int, int]]) -> bool:
    """Apply (account, index, delta) changes to a copy; commit them only if limits hold."""
    trial = {code: list(acc.totals) for code, acc in model.items()}
    for code, index, delta in changes:
        trial[code][index] += delta
    if not all(ModelAccount(model[c].flag, trial[c]).fits() for c in {c for c, _, _ in changes}):
        return False
    for code, totals in trial.items():
        model[code].totals = totals
    return True


def test_ledger_state_machine(databases):
    class LedgerMachine(RuleBasedStateMachine):
        accounts = Bundle("accounts")
        holds = Bundle("holds")
        entries = Bundle("entries")

        def __init__(self) -> None:
            super().__init__()
            self.engine = make_engine(databases.fresh_url())
            self.sessions = make_sessionmaker(self.engine)
            self.model: dict[str, ModelAccount] = {}
            self.hold_state: dict[int, tuple[str, str, int]] = {}  # open holds
            self.entry_moves: dict[int, tuple[str, str, int]] = {}
            self.reversed: set[int] = set()

        def teardown(self) -> None:
            self.engine.dispose()

        @initialize(target=accounts)
        def open_source(self):
            # An unlimited source so that money can enter the system.
            with transaction(self.sessions) as s:
                open_account(s, "T:source", "T")
            self.model["T:source"] = ModelAccount("none")
            return "T:source"

        @rule(target=accounts, flag=st.sampled_from(FLAGS))
        def open(self, flag):
            code = f"T:a{len(self.model)}"
            with transaction(self.sessions) as s:
                open_account(
                    s,
                    code,
                    "T",
                    credits_must_not_exceed_debits=flag == FLAGS[1],
                    debits_must_not_exceed_credits=flag == FLAGS[2],
                )
            self.model[code] = ModelAccount(flag)
            return code

        def _amount(self, debit, credit, choice):
            """A drawn amount, or one at the edge of the first limited account's room."""
            if isinstance(choice, int):
                return choice
            room = None
            if self.model[credit].flag == FLAGS[1]:
                dp, dpo, cp, cpo = self.model[credit].totals
                room = dpo - cpo - cp
            elif self.model[debit].flag == FLAGS[2]:
                dp, dpo, cp, cpo = self.model[debit].totals
                room = cpo - dpo - dp
            if room is None:
                return 100
            return room + choice[1]

        def _move(self, debit, credit, amount, pending):
            offset = 0 if pending else 1
            return [(debit, offset, amount), (credit, 2 + offset, amount)]

        @rule(target=entries, debit=accounts, credit=accounts, amount=AMOUNTS)
        def post(self, debit, credit, amount):
            amount = self._amount(debit, credit, amount)
            expect_invalid = debit == credit or amount <= 0
            try:
                with transaction(self.sessions) as s:
                    entry = post_entry(s, EntryRequest((Move(debit, credit, amount),), flow="t"))
            except InvalidInput:
                assert expect_invalid
                return multiple()
            except InsufficientBalance:
                assert not expect_invalid
                assert not _apply(self.model, self._move(debit, credit, amount, False))
                return multiple()
            assert not expect_invalid
            assert _apply(self.model, self._move(debit, credit, amount, False))
            self.entry_moves[entry.id] = (debit, credit, amount)
            return entry.id

        @rule(target=holds, debit=accounts, credit=accounts, amount=AMOUNTS)
        def hold(self, debit, credit, amount):
            amount = self._amount(debit, credit, amount)
            try:
                with transaction(self.sessions) as s:
                    entry = create_hold(s, debit, credit, amount, flow="t")
            except InvalidInput:
                assert debit == credit or amount <= 0
                return multiple()
            except InsufficientBalance:
                assert not _apply(self.model, self._move(debit, credit, amount, True))
                return multiple()
            assert _apply(self.model, self._move(debit, credit, amount, True))
            hold_id = entry.transfers[0].id
            self.hold_state[hold_id] = (debit, credit, amount)
            return hold_id

        @rule(
            target=entries,
            hold_id=consumes(holds),
            fraction=st.one_of(st.none(), st.integers(min_value=1, max_value=120)),
        )
        def post_pending(self, hold_id, fraction):
            debit, credit, held = self.hold_state[hold_id]
            amount = None if fraction is None else max(1, held * fraction // 100)
            try:
                with transaction(self.sessions) as s:
                    entry = post_hold(s, hold_id, amount, flow="t")
            except InvalidInput:
                assert amount is not None and amount > held
                self.hold_state[hold_id] = (debit, credit, held)
                return multiple()
            posted = held if amount is None else amount
            assert posted <= held
            del self.hold_state[hold_id]
            assert _apply(
                self.model,
                [(debit, 0, -held), (credit, 2, -held), (debit, 1, posted), (credit, 3, posted)],
            )
            self.entry_moves[entry.id] = (debit, credit, posted)
            return entry.id

        @rule(hold_id=consumes(holds))
        def void(self, hold_id):
            debit, credit, held = self.hold_state.pop(hold_id)
            with transaction(self.sessions) as s:
                void_hold(s, hold_id, flow="t")
            assert _apply(self.model, [(debit, 0, -held), (credit, 2, -held)])

        @rule(entry_id=entries)
        def reverse(self, entry_id):
            debit, credit, amount = self.entry_moves[entry_id]
            try:
                with transaction(self.sessions) as s:
                    reverse_entry(s, entry_id, flow="t")
            except Conflict:
                assert entry_id in self.reversed
                return
            except InsufficientBalance:
                assert entry_id not in self.reversed
                assert not _apply(self.model, self._move(credit, debit, amount, False))
                return
            assert entry_id not in self.reversed
            assert _apply(self.model, self._move(credit, debit, amount, False))
            self.reversed.add(entry_id)

        @invariant()
        def ledger_agrees(self):
            with transaction(make_sessionmaker(self.engine, read_only=True)) as s:
                sums = s.execute(
                    select(
                        func.coalesce(func.sum(Account.debits_posted), 0),
                        func.coalesce(func.sum(Account.credits_posted), 0),
                        func.coalesce(func.sum(Account.debits_pending), 0),
                        func.coalesce(func.sum(Account.credits_pending), 0),
                    )
                ).one()
                rows = s.execute(
                    select(
                        Account.code,
                        Account.debits_pending,
                        Account.debits_posted,
                        Account.credits_pending,
                        Account.credits_posted,
                    )
                ).all()
                report = verify(s)
            assert sums[0] == sums[1] and sums[2] == sums[3]
            for code, *totals in rows:
                assert totals == self.model[code].totals, code
                assert ModelAccount(self.model[code].flag, totals).fits(), code
            assert report.ok, (report.first_break, report.mismatches)

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=int(os.environ.get("VOUCHER_LEDGER_STATEFUL_EXAMPLES", "100")),
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
