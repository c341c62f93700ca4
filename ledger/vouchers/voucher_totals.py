"""Monthly voucher totals, kept in step with issuing and expiry.

One row per programme and month, updated in the issuing or expiring transaction, so the
programme audit sums at most a row a month instead of reading every voucher. Two bases:
the voucher's own dates (`issued_on`, `expires_on`: what the audit's period activity and
month table count) and the Beijing month the entry was posted (what the budget position
as of a moment counts, exactly as the ledger saw it then).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    ForeignKey,
    Insert,
    func,
    insert,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.acting import SHANGHAI
from ledger.core.base import Base
from ledger.core.models import Account, JournalEntry, Transfer
from ledger.programmes.programme import Programme

# Expiry posts its returns under this flow (ledger/vouchers/expiry.py imports it from here).
FLOW_EXPIRE = "voucher.expire"
COUNTS = ("issued_count", "issued_fen", "expired_count", "expired_fen", "issue_posted_fen",
          "expiry_posted_fen")


class VoucherMonthTotal(Base):
    """Vouchers of one programme and month: by their dates, and by when the ledger moved."""

    __tablename__ = "voucher_month_totals"

    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # its first day
    issued_count: Mapped[int] = mapped_column(BigInteger, default=0)  # issued_on in the month
    issued_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    expired_count: Mapped[int] = mapped_column(BigInteger, default=0)  # expires_on in it,
    expired_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # something returned
    issue_posted_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # entries posted
    expiry_posted_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # in the month


def beijing_month(moment: dt.datetime) -> dt.date:
    """The first day of the Beijing month `moment` falls in."""
    return moment.astimezone(SHANGHAI).date().replace(day=1)


def _add(session: Session, programme_id: int, month: dt.date, **amounts: int) -> None:
    """Add `amounts` to the month's row, creating it if it is the first (one upsert)."""
    values = {"programme_id": programme_id, "month": month,
              **{name: amounts.get(name, 0) for name in COUNTS}}
    upsert = _upsert(session.get_bind().dialect.name, tuple(sorted(amounts)))
    session.execute(upsert, values)


@cache
def _upsert(dialect: str, names: tuple[str, ...]) -> Insert:
    """The month row's upsert adding `names`, built once per engine and set of names (its
    values bound at each call: the compiled form is cached, not rebuilt)."""
    table = VoucherMonthTotal.__table__
    stmt = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
    return stmt.on_conflict_do_update(
        index_elements=["programme_id", "month"],
        set_={name: table.c[name] + stmt.excluded[name] for name in names})


def record_issue(session: Session, programme_id: int, issued_on: dt.date, amount_fen: int,
                 posted_at: dt.datetime) -> None:
    """Count a voucher just issued: in its issue month, and in the month it was posted."""
    record_issues(session, programme_id, issued_on, [(amount_fen, posted_at)])


def record_issues(session: Session, programme_id: int, issued_on: dt.date,
                  issued: list[tuple[int, dt.datetime]]) -> None:
    """Count many vouchers issued on one day at once: (amount_fen, posted_at) each, one upsert
    per month touched (one in all when they were posted in their issue month)."""
    if not issued:
        return
    by_month: dict[dt.date, dict[str, int]] = {issued_on.replace(day=1): {
        "issued_count": len(issued), "issued_fen": sum(amount for amount, _ in issued)}}
    for amount, posted_at in issued:
        posted = by_month.setdefault(beijing_month(posted_at), {})
        posted["issue_posted_fen"] = posted.get("issue_posted_fen", 0) + amount
    for month, amounts in sorted(by_month.items()):
        _add(session, programme_id, month, **amounts)


def record_expiries(session: Session, programme_id: int,
                    returns: list[tuple[dt.date, bool, int, dt.datetime]]) -> None:
    """Count many vouchers' expiry at once: (expires_on, first, returned, posted_at) each,
    one upsert per month touched rather than two per voucher."""
    by_month: dict[dt.date, dict[str, int]] = {}
    for expires_on, first, returned, posted_at in returns:
        if returned <= 0:
            continue
        due = by_month.setdefault(expires_on.replace(day=1), {})
        due["expired_count"] = due.get("expired_count", 0) + (1 if first else 0)
        due["expired_fen"] = due.get("expired_fen", 0) + returned
        posted = by_month.setdefault(beijing_month(posted_at), {})
        posted["expiry_posted_fen"] = posted.get("expiry_posted_fen", 0) + returned
    for month, amounts in sorted(by_month.items()):
        _add(session, programme_id, month, **amounts)


def _sql_beijing_month(column, dialect: str):  # type: ignore[no-untyped-def]
    """The first day of the Beijing month of a UTC timestamp column, in SQL."""
    if dialect == "sqlite":
        return func.date(column, "+8 hours", "start of month")
    return func.date(func.date_trunc("month", func.timezone("Asia/Shanghai", column)))


def _sql_month(column, dialect: str):  # type: ignore[no-untyped-def]
    if dialect == "sqlite":
        return func.date(column, "start of month")
    return func.date(func.date_trunc("month", column))


def fill_from_vouchers(connection: Connection) -> None:
    """Fill the (empty) table from the vouchers and the journal in one INSERT … SELECT.

    The migration and the benchmark's build use it.
    """
    dialect = connection.dialect.name
    # The vouchers module imports this one (its issue hook), so its table is read by name.
    Voucher = Base.metadata.tables["vouchers"].c
    zero = literal_column("0")
    issued_month = _sql_month(Voucher.issued_on, dialect)
    expiry_month = _sql_month(Voucher.expires_on, dialect)
    posted_month = _sql_beijing_month(JournalEntry.posted_at, dialect)
    by_issue = select(
        Voucher.programme_id.label("p"), issued_month.label("m"),
        func.count().label("ic"), func.sum(Voucher.amount_fen).label("if_"),
        zero.label("ec"), zero.label("ef"), zero.label("ip"), zero.label("ep"),
    ).group_by(Voucher.programme_id, issued_month)
    by_expiry = select(
        Voucher.programme_id, expiry_month, zero, zero, func.count(),
        func.sum(Voucher.expired_fen), zero, zero,
    ).where(Voucher.expired_fen > 0).group_by(Voucher.programme_id, expiry_month)
    by_issue_posting = select(
        Voucher.programme_id, posted_month, zero, zero, zero, zero,
        func.sum(Voucher.amount_fen), zero,
    ).join(JournalEntry, JournalEntry.id == Voucher.issue_entry_id).group_by(
        Voucher.programme_id, posted_month)
    # An expiry entry debits the programme's budget account and credits a voucher.
    by_expiry_posting = select(
        Programme.id, posted_month, zero, zero, zero, zero, zero, func.sum(Transfer.amount),
    ).select_from(Transfer).join(JournalEntry, JournalEntry.id == Transfer.entry_id).join(
        Account, Account.id == Transfer.debit_account_id).join(
        Programme, Account.code == Programme.code + ":budget").where(
        JournalEntry.flow == FLOW_EXPIRE).group_by(Programme.id, posted_month)
    parts = union_all(by_issue, by_expiry, by_issue_posting, by_expiry_posting).subquery()
    c = parts.c
    connection.execute(insert(VoucherMonthTotal).from_select(
        ["programme_id", "month", *COUNTS],
        select(c.p, c.m, func.sum(c.ic), func.sum(c.if_), func.sum(c.ec), func.sum(c.ef),
               func.sum(c.ip), func.sum(c.ep)).group_by(c.p, c.m)))

