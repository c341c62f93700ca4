"""Vouchers: issued to an eligible firm as decided by the policy, each its own account.

Issuing moves the amount `P:voucher:V` ← `P:budget`. The serial `V` counts up per programme
(the programme row is locked while it is drawn); the expiry date comes from the policy in
force on the issue date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    UniqueConstraint,
    bindparam,
    false,
    func,
    insert,
    literal_column,
    select,
    union,
    update,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from ledger.core.accounts import Balance, balance, open_accounts
from ledger.core.acting import By, now, today
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import InvalidInput, NotFound
from ledger.core.journal import EntryRequest, Move, post_entry
from ledger.core.models import Account, JournalEntry, Transfer
from ledger.core.paging import Page, check_page, count_of, ids_of_page
from ledger.core.search import starts_with
from ledger.programmes.decisions import refused
from ledger.programmes.programme import Programme, account, policies, programme_row
from ledger.registry.firms import Firm, FirmCertification
from ledger.registry.names import firms_matching
from ledger.vouchers.voucher_totals import record_issue
from rules import IssueFacts, decide_issue, voucher_expiry

FLOW_ISSUE = "voucher.issue"


class Voucher(Base):
    """A voucher: its serial, firm, amount, validity and what expiry returned."""

    __tablename__ = "vouchers"
    __table_args__ = (
        UniqueConstraint("programme_id", "serial", name="uq_vouchers_programme_serial"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("status IN ('active', 'expired')", name="status_known"),
        Index("ix_vouchers_firm_year", "firm_id", "issued_year"),
        Index("ix_vouchers_programme_issued", "programme_id", "issued_on"),  # audit edge days
        # `q` by serial across programmes (prefix LIKE on PostgreSQL needs pattern ops); the id
        # in it lets PostgreSQL find and sort a search's ids from the index alone.
        Index("ix_vouchers_serial", "serial", "id",
              postgresql_ops={"serial": "text_pattern_ops"}),
        # A programme's list pages its ids in order from the index alone (see list_vouchers).
        Index("ix_vouchers_programme_order", "programme_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    serial: Mapped[str] = mapped_column(String(16))
    account_code: Mapped[str] = mapped_column(String(160), unique=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    issued_year: Mapped[int] = mapped_column(Integer)
    expires_on: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16))
    expired_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    issue_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    issued_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The table itself, for the issue's Core INSERT (no ORM unit of work on the hot path).
_VOUCHERS = Voucher.__table__


@dataclass(frozen=True)
class VoucherView:
    """A voucher with its current balance (available = not spent and not held)."""

    id: int
    programme: str
    serial: str
    account: str
    firm_id: int
    amount_fen: int
    issued_on: dt.date
    expires_on: dt.date
    status: str
    available_fen: int
    held_fen: int
    spent_fen: int
    expired_fen: int
    firm_name: str = ""


@dataclass(frozen=True)
class HistoryLine:
    """One movement on a voucher's account."""

    entry_id: int
    posted_at: datetime
    flow: str
    ref: str
    kind: str
    amount_fen: int
    direction: str  # "in" (debit) or "out" (credit)


def _view(session: Session, row: Any, programme: str, b: Balance | None = None,
          firm_name: str | None = None) -> VoucherView:
    b = balance(session, row.account_code) if b is None else b
    # Out of the account: redeemed and expired; back in beyond the issued amount: what
    # clawbacks returned (a clawed-back redemption is no longer spent).
    spent = b.credits_posted - row.expired_fen - (b.debits_posted - row.amount_fen)
    if firm_name is None:
        firm_name = session.scalar(select(Firm.name).where(Firm.id == row.firm_id)) or ""
    return VoucherView(row.id, programme, row.serial, row.account_code, row.firm_id,
                       row.amount_fen, row.issued_on, row.expires_on, row.status, b.available,
                       b.credits_pending, spent, row.expired_fen, firm_name)


def firm_facts(session: Session, firm_id: int) -> tuple[str, tuple[tuple[str, int], ...]]:
    """The firm's status and (kind, year) certifications, or NotFound."""
    facts = _firm(session, _FIRM, firm_id)
    return facts.status, facts.certifications


@dataclass(frozen=True)
class _FirmFacts:
    status: str
    name: str
    certifications: tuple[tuple[str, int], ...]
    issued_fen: int


def _firm(session: Session, statement: Select[Any], firm_id: int,
          **values: object) -> _FirmFacts:
    """The firm's facts as `statement` (`_FIRM` or `_ISSUE_FIRM`) reads them, or NotFound."""
    rows = session.execute(statement, {"firm_id": firm_id, **values}).all()
    if not rows:
        raise NotFound(f"no firm {firm_id}", firm_id=firm_id)
    first = rows[0]
    return _FirmFacts(first.status, first.name,
                      tuple((r.kind, r.year) for r in rows if r.kind is not None),
                      int(first.issued or 0))


def _firm_statement(issued: Any) -> Select[Any]:
    return (select(Firm.status, Firm.name, FirmCertification.kind, FirmCertification.year,
                   issued.label("issued"))
            .outerjoin(FirmCertification, FirmCertification.firm_id == Firm.id)
            .where(Firm.id == bindparam("firm_id"))
            .order_by(FirmCertification.year, FirmCertification.kind))


# The statements of an issue, built once (bound values named): a call binds and runs them.
_FIRM = _firm_statement(literal_column("0"))
"""The firm's status, name and certifications (a row each, by year and kind)."""
_ISSUE_FIRM = _firm_statement(
    select(func.coalesce(func.sum(Voucher.amount_fen), 0)).where(
        Voucher.firm_id == bindparam("firm_id"), Voucher.programme_id == bindparam("programme_id"),
        Voucher.issued_year == bindparam("year")).scalar_subquery()
).with_for_update(of=Firm)
"""`_FIRM` with the firm's row locked and what the programme issued it in the year."""


def _programme_statement(where: ColumnElement[bool]) -> Select[Any]:
    return (select(Programme.id, Programme.code, Programme.policy, Programme.vouchers_issued)
            .where(where).with_for_update())


_PROGRAMME_BY_CODE = _programme_statement(Programme.code == bindparam("programme"))
"""The programme's row, locked while the serial is drawn."""
_PROGRAMME_BY_ID = _programme_statement(Programme.id == bindparam("programme"))
# The budget's totals in a statement of their own, after the programme's lock: on PostgreSQL
# a statement that waits for a row lock re-reads only the locked row, so totals joined to it
# would be those from before the wait (a concurrent issue's posting missing).
_BUDGET = select(Account.debits_posted, Account.credits_posted, Account.credits_pending).where(
    Account.code == bindparam("budget"))
_COUNTED = (update(Programme.__table__)
            .where(Programme.__table__.c.id == bindparam("programme_id"))
            .values(vouchers_issued=bindparam("vouchers_issued")))
_INSERT = insert(_VOUCHERS).returning(_VOUCHERS.c.id)


@dataclass(frozen=True)
class _Drawn:
    """The locked programme an issue draws its serial from, and its free budget."""

    id: int
    code: str
    policy: str
    vouchers_issued: int
    budget_free_fen: int | None  # None: the budget account is missing


def _locked_programme(session: Session, statement: Select[Any], programme: str | int
                      ) -> _Drawn:
    """The programme as `statement` (one of the two above) reads it, or NotFound."""
    row = session.execute(statement, {"programme": programme}).first()
    if row is None:
        raise NotFound(f"no programme {programme}", programme=programme)
    budget = session.execute(_BUDGET, {"budget": account(row.code, "budget")}).first()
    free = (None if budget is None
            else budget.debits_posted - budget.credits_posted - budget.credits_pending)
    return _Drawn(row.id, row.code, row.policy, row.vouchers_issued, free)


def issue_voucher(
    session: Session,
    programme: str,
    firm_id: int,
    amount_fen: int,
    *,
    by: By,
    issued_on: dt.date | None = None,
) -> VoucherView:
    """Issue a voucher to a firm if the policy allows it: `P:voucher:V` ← `P:budget`."""
    day = _issue_day(issued_on)
    prog = _locked_programme(session, _PROGRAMME_BY_CODE, programme)
    return _issue(session, prog, firm_id, amount_fen, by, day)


def issue_in_programme(
    session: Session,
    programme_id: int,
    firm_id: int,
    amount_fen: int,
    *,
    by: By,
    issued_on: dt.date | None = None,
) -> VoucherView:
    """`issue_voucher` in the programme named by its id (an approved application's)."""
    day = _issue_day(issued_on)
    prog = _locked_programme(session, _PROGRAMME_BY_ID, programme_id)
    return _issue(session, prog, firm_id, amount_fen, by, day)


def _issue_day(issued_on: dt.date | None) -> dt.date:
    day = issued_on or today()
    if day > today():
        raise InvalidInput("issued_on lies in the future", field="issued_on")
    return day


def _issue(session: Session, prog: _Drawn, firm_id: int, amount_fen: int, by: By,
           day: dt.date) -> VoucherView:
    """Decide on the firm's facts (its row locked after the programme's), then post, count
    and insert the voucher; the view is built from the values written, not read back."""
    firm = _firm(session, _ISSUE_FIRM, firm_id, programme_id=prog.id, year=day.year)
    if prog.budget_free_fen is None:
        raise NotFound(f"no account {account(prog.code, 'budget')}",
                       code_value=account(prog.code, "budget"))
    decision = decide_issue(policies(), IssueFacts(
        programme=prog.policy, on=day, amount_fen=amount_fen, firm_status=firm.status,
        firm_certifications=firm.certifications,
        firm_issued_this_year_fen=firm.issued_fen,
        budget_free_fen=max(0, prog.budget_free_fen)))
    if not decision.allowed:
        raise refused(decision)
    number = prog.vouchers_issued + 1
    serial = f"V{number:06d}"
    code = account(prog.code, "voucher", serial)
    session.execute(_COUNTED, {"programme_id": prog.id, "vouchers_issued": number})
    # A programme the session holds as an object reads the new count on its next use.
    held = session.identity_map.get(session.identity_key(Programme, prog.id))
    if held is not None:
        session.expire(held, ["vouchers_issued"])
    open_accounts(session, [code], prog.code, credits_must_not_exceed_debits=True)
    entry = post_entry(session, EntryRequest(
        (Move(code, account(prog.code, "budget"), amount_fen),),
        flow=FLOW_ISSUE, ref=f"voucher:{prog.code}:{serial}", actor=by.label,
        memo=f"firm {firm_id}"))
    expires_on = voucher_expiry(policies(), prog.policy, day)
    voucher_id = session.scalar(_INSERT, {
        "programme_id": prog.id, "serial": serial, "account_code": code, "firm_id": firm_id,
        "amount_fen": amount_fen, "issued_on": day, "issued_year": day.year,
        "expires_on": expires_on, "status": "active", "expired_fen": 0,
        "issue_entry_id": entry.id, "issued_by": by.label, "created_at": now()})
    record_issue(session, prog.id, day, amount_fen, entry.posted_at)
    # A new account holds the issue alone: available = amount, nothing held, spent or expired.
    return VoucherView(int(voucher_id), prog.code, serial, code, firm_id, amount_fen, day,
                       expires_on, "active", amount_fen, 0, 0, 0, firm.name)


def voucher_row(session: Session, voucher_id: int, *, firm_id: int | None = None) -> Voucher:
    """The voucher, or NotFound (also when `firm_id` is given and the voucher is another's)."""
    row = session.get(Voucher, voucher_id)
    if row is None or (firm_id is not None and row.firm_id != firm_id):
        raise NotFound(f"no voucher {voucher_id}", voucher_id=voucher_id)
    return row


def voucher_by_serial(session: Session, serial: str, *, firm_id: int | None = None,
                      programme: str | None = None) -> Voucher:
    """The voucher a person names by its serial (V000262), or NotFound (also when `firm_id` is
    given and it is another's). A serial is unique within a programme: when it names vouchers
    of several programmes, `programme` must say which."""
    cleaned = serial.strip().upper() if isinstance(serial, str) else ""
    statement = select(Voucher).where(Voucher.serial == cleaned)
    if firm_id is not None:
        statement = statement.where(Voucher.firm_id == firm_id)
    if programme is not None:
        statement = statement.join(Programme, Programme.id == Voucher.programme_id).where(
            Programme.code == programme)
    rows = list(session.scalars(statement.limit(2)))
    if not rows:
        raise NotFound(f"no voucher {serial}", field="voucher")
    if len(rows) > 1:
        raise InvalidInput(f"voucher: {cleaned} names vouchers of several programmes; "
                           "give the programme", field="program")
    return rows[0]


def _programme_code(session: Session, programme_id: int) -> str:
    return session.scalar(select(Programme.code).where(Programme.id == programme_id)) or ""


def get_voucher(session: Session, voucher_id: int, *, firm_id: int | None = None) -> VoucherView:
    """One voucher with its balance; a firm (`firm_id`) sees only its own."""
    row = voucher_row(session, voucher_id, firm_id=firm_id)
    return _view(session, row, _programme_code(session, row.programme_id))


def list_vouchers(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    programme: str | None = None,
    firm_id: int | None = None,
    status: str | None = None,
    city: str | None = None,
    q: str | None = None,
) -> Page[VoucherView]:
    """Vouchers newest first, filtered by programme, firm, status, the firm's city and `q`
    (a prefix of the serial, or of the firm's name or credit code)."""
    check_page(limit, offset)
    condition = []
    prog = programme_row(session, programme) if programme is not None else None
    if prog is not None:
        condition.append(Voucher.programme_id == prog.id)
    if firm_id is not None:
        condition.append(Voucher.firm_id == firm_id)
    if status is not None:
        condition.append(Voucher.status == status)
    if city is not None:
        condition.append(Voucher.firm_id.in_(select(Firm.id).where(Firm.city == city)))
    ids = select(Voucher.id).where(*condition)
    sort = False
    if q is not None:
        ids, total, sort = _searched(session, ids, q, one_firm=firm_id is not None)
    elif firm_id is None and status is None and city is None:
        # Every voucher is issued by issue_voucher, which counts it on its programme's row in
        # the same transaction (the serial is that count) and none is ever deleted: the
        # total of a programme, or of all, without counting 100,000 index entries.
        # int(): PostgreSQL's sum() of a bigint is numeric (a Decimal to Python).
        total = prog.vouchers_issued if prog is not None else int(session.scalar(
            select(func.coalesce(func.sum(Programme.vouchers_issued), 0))) or 0)
    else:
        total = count_of(session, ids)
    page = ids_of_page(session, ids, limit=limit, offset=offset, total=total, sort=sort)
    rows = session.execute(
        select(*_LISTED, Programme.code, Firm.name)
        .join(Programme, Programme.id == Voucher.programme_id)
        .join(Firm, Firm.id == Voucher.firm_id)
        .where(Voucher.id.in_(page)).order_by(Voucher.id.desc())
    ).all() if page else []
    # The page's balances in one query, not one per voucher.
    totals = {code: Balance(*t) for code, *t in session.execute(
        select(Account.code, Account.debits_pending, Account.debits_posted,
               Account.credits_pending, Account.credits_posted)
        .where(Account.code.in_([v.account_code for v in rows]))).all()} if rows else {}
    return Page([_view(session, v, v.code, totals.get(v.account_code), v.name)
                 for v in rows], total, limit, offset)


# What a list row reads of a voucher: the columns `_view` shows, not the whole mapped row.
_LISTED = (Voucher.id, Voucher.serial, Voucher.account_code, Voucher.firm_id,
           Voucher.amount_fen, Voucher.issued_on, Voucher.expires_on, Voucher.status,
           Voucher.expired_fen)


# A firm search matching more vouchers than this pages by walking the id order (a page reads
# about limit / share-of-matches rows); a smaller one sorts its matches, found by the index.
# Serial matches are sorted always: serials count up with the ids, so they lie in one run
# that a walk from either end could take long to reach.
SORT_AT_MOST = 2_000


def _count(ids: Select[Any]) -> Any:
    """How many rows the id query gives, as a scalar subquery."""
    return select(func.count()).select_from(ids.subquery()).scalar_subquery()


def _searched(session: Session, ids: Select[Any], q: str, *, one_firm: bool = False
              ) -> tuple[Select[Any], int, bool]:
    """The ids matching `q` (serial prefix, or the firm's name or credit code), their count,
    and whether to page them by sorting (see SORT_AT_MOST) rather than walking the ids.

    Each way of matching is counted from its index; the union of both, which must sort to
    drop repeats, is built only when both find vouchers (a firm named like a serial).
    """
    # Within one firm's vouchers the firm's index is the narrow one: `|| ''` keeps the
    # engine off the serial index (a short prefix such as "V" spans every voucher there).
    serial = ids.where(starts_with(Voucher.serial + "" if one_firm else Voucher.serial,
                                   q.upper()))
    firm = ids.where(Voucher.firm_id.in_(firms_matching(q)))
    # Both counts in one statement (each from its own index): a statement less to build.
    counts = list(session.execute(select(_count(serial), _count(firm))).one())
    walk = counts[0] == 0 and counts[1] > SORT_AT_MOST
    if walk:
        # `+ 0` keeps the engine off the firm_id index: walk the ids, test each voucher's firm.
        firm = ids.where((Voucher.firm_id + 0).in_(firms_matching(q)))
    chosen = [way for way, n in zip((serial, firm), counts, strict=True) if n]
    if not chosen:
        return ids.where(false()), 0, False
    if len(chosen) == 1:
        return chosen[0], sum(counts), not walk
    found = union(*chosen).subquery()
    both = select(found.c.id)
    return both, count_of(session, both), True


def voucher_history(
    session: Session, voucher_id: int, *, firm_id: int | None = None
) -> list[HistoryLine]:
    """Every transfer on the voucher's account, oldest first (a voucher has few)."""
    row = voucher_row(session, voucher_id, firm_id=firm_id)
    account_id = session.scalar(select(Account.id).where(Account.code == row.account_code))
    debit = aliased(Account)
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.posted_at, JournalEntry.flow, JournalEntry.ref,
               Transfer.kind, Transfer.amount, debit.id)
        .join(Transfer, Transfer.entry_id == JournalEntry.id)
        .join(debit, debit.id == Transfer.debit_account_id)
        .where((Transfer.debit_account_id == account_id)
               | (Transfer.credit_account_id == account_id))
        .order_by(Transfer.id)
    ).all()
    return [HistoryLine(e, at, flow, ref, kind, amount, "in" if d == account_id else "out")
            for e, at, flow, ref, kind, amount, d in rows]


def issued_and_expired(session: Session, programme: str) -> tuple[int, int]:
    """Total issued and total returned by expiry in the programme (SQL sums)."""
    prog = programme_row(session, programme)
    issued, expired = session.execute(
        select(func.coalesce(func.sum(Voucher.amount_fen), 0),
               func.coalesce(func.sum(Voucher.expired_fen), 0))
        .where(Voucher.programme_id == prog.id)
    ).one()
    return int(issued), int(expired)
