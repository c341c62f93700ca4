"""Monthly redemption totals, kept in step with completions and clawbacks.

The programme audit sums these rows for the whole months of its period instead of reading
every redemption: one row per programme, month, category and provider, and one per
programme, month and firm city. A redemption counts in the month of its completion, as a
clawback of it does; the services update the totals in the redemption's own transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    ForeignKey,
    String,
    Table,
    cast,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.dml import Insert

from ledger.core.base import Base
from ledger.registry.firms import Firm

# What a redemption that reached completion may be now: still completed, or clawed back.
DONE = ("completed", "clawed_back")

class RedemptionTotal(Base):
    """Redemptions completed in one month of a programme, of one category and provider."""

    __tablename__ = "redemption_totals"

    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # its first day
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    completions: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    clawed_back_fen: Mapped[int] = mapped_column(BigInteger)


class RedemptionCityTotal(Base):
    """Redemptions completed in one month of a programme by firms of one city."""

    __tablename__ = "redemption_city_totals"

    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # its first day
    city: Mapped[str] = mapped_column(String(16), primary_key=True)
    completions: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    clawed_back_fen: Mapped[int] = mapped_column(BigInteger)


TotalsModel = type[RedemptionTotal] | type[RedemptionCityTotal]


@cache
def _upsert(dialect: str, table: Table) -> Insert:
    """Add the bound values to the row of the same key, or insert it (one statement, built
    once per dialect and table; the caller binds the values)."""
    stmt = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
    return stmt.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key],
        set_={name: table.c[name] + stmt.excluded[name]
              for name in ("completions", "amount_fen", "clawed_back_fen")})


def _add(
    session: Session, model: TotalsModel, key: dict[str, object], *,
    completions: int, amount: int, clawed_back: int,
) -> None:
    """Add to the row under `key`, creating it if it is the first (one upsert)."""
    dialect = session.get_bind().dialect.name
    session.execute(_upsert(dialect, model.__table__), {  # type: ignore[arg-type]
        **key, "completions": completions, "amount_fen": amount,
        "clawed_back_fen": clawed_back})


class Completed(Protocol):
    """What the totals need of a completed redemption (the redemptions module's row)."""

    programme_id: int
    firm_id: int
    provider_id: int
    category: str
    amount_fen: int
    completed_on: dt.date | None


@dataclass(frozen=True)
class Completion:
    """A completed redemption's facts, for a caller that holds them without an ORM row."""

    programme_id: int
    firm_id: int
    provider_id: int
    category: str
    amount_fen: int
    completed_on: dt.date | None


def _record(session: Session, row: Completed, *, completions: int, amount: int,
            clawed_back: int, city: str | None = None) -> None:
    assert row.completed_on is not None
    month = row.completed_on.replace(day=1)
    if city is None:
        city = session.scalar(select(Firm.city).where(Firm.id == row.firm_id))
    _add(session, RedemptionTotal, {"programme_id": row.programme_id, "month": month,
                                    "category": row.category, "provider_id": row.provider_id},
         completions=completions, amount=amount, clawed_back=clawed_back)
    _add(session, RedemptionCityTotal, {"programme_id": row.programme_id, "month": month,
                                        "city": city},
         completions=completions, amount=amount, clawed_back=clawed_back)


def record_completion(session: Session, row: Completed, *, city: str | None = None) -> None:
    """Count a redemption just completed (its `amount_fen` is what was posted); `city`, the
    firm's, when the caller has already read it."""
    _record(session, row, completions=1, amount=row.amount_fen, clawed_back=0, city=city)


def record_clawback(session: Session, row: Completed) -> None:
    """Count a completed redemption just clawed back, in the month it was completed."""
    _record(session, row, completions=0, amount=0, clawed_back=row.amount_fen)


def month_start(column: ColumnElement[dt.date], dialect: str) -> ColumnElement[dt.date]:
    """The first day of the month of a date column, in SQL."""
    if dialect == "sqlite":
        return func.date(column, "start of month")
    return cast(func.date_trunc("month", column), Date)
