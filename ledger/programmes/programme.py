"""Programmes: a code, a name, a fiscal year, the policy it follows, and its accounts.

A programme follows a voucher policy (LN-CXQ) or an award policy (LN-AWARD). It owns the
accounts `P:funding`, `P:budget` and `P:paid` from the start, and opens `P:voucher:V`,
`P:provider:S`, `P:award:F` and `P:receivable:…` as vouchers are issued, providers earn and
awards are approved. Appropriations move money `P:budget` ← `P:funding`. The budget breakdown
is read from account balances summed in SQL; see docs/vouchers.md for the equation it
satisfies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import BigInteger, Integer, String, func, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.accounts import open_account
from ledger.core.acting import By, now
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import AlreadyExists, InvalidInput, NotFound
from ledger.core.journal import EntryRequest, Move, PostedEntry, post_entry
from ledger.core.paging import Page, check_page
from rules import PolicySet, load_policies

# Upper-case letters, digits and '-': safe in account codes and in SQL LIKE patterns.
_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,31}")
FLOW_APPROPRIATE = "programme.appropriate"
# The policy kinds a programme may follow.
PROGRAMME_KINDS = ("voucher", "award")


class Programme(Base):
    """A voucher or award programme of one fiscal year."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(64))
    vouchers_issued: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(160))


@dataclass(frozen=True)
class ProgrammeView:
    """A programme as the services return it."""

    id: int
    code: str
    name: str
    fiscal_year: int
    policy: str
    created_at: datetime


@lru_cache(maxsize=1)
def policies() -> PolicySet:
    """The shipped policy files, loaded and validated once per process."""
    return load_policies()


def account(programme: str, *parts: object) -> str:
    """The code of one of the programme's accounts, e.g. account('P', 'voucher', 'V000001')."""
    return ":".join((programme, *(str(p) for p in parts)))


def _view(row: Programme) -> ProgrammeView:
    return ProgrammeView(row.id, row.code, row.name, row.fiscal_year, row.policy, row.created_at)


def programme_kind(policy: str) -> str:
    """`voucher` or `award`: the kind of the programme's policy file."""
    versions = policies().versions(policy)
    return versions[0].model.kind if versions else ""


def create_programme(
    session: Session, *, code: str, name: str, fiscal_year: int, policy: str, by: By
) -> ProgrammeView:
    """Create a voucher or award programme (as its policy's kind) and open its funding, budget
    and paid accounts."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise InvalidInput("code: 2–32 upper-case letters, digits or '-'", field="code")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("name: 1–200 characters", field="name")
    if isinstance(fiscal_year, bool) or not isinstance(fiscal_year, int) or not (
        2000 <= fiscal_year <= 2100
    ):
        raise InvalidInput("fiscal_year: a year between 2000 and 2100", field="fiscal_year")
    versions = policies().versions(policy) if isinstance(policy, str) else []
    kinds = {v.model.kind for v in versions}
    if len(kinds) != 1 or not kinds <= set(PROGRAMME_KINDS):
        raise InvalidInput(f"policy: no voucher or award policy {policy!r}", field="policy")
    if session.scalar(select(Programme.id).where(Programme.code == code)) is not None:
        raise AlreadyExists(f"programme {code} already exists", code_value=code)
    row = Programme(code=code, name=name.strip(), fiscal_year=fiscal_year, policy=policy,
                    vouchers_issued=0, created_at=now(), created_by=by.label)
    session.add(row)
    session.flush()
    open_account(session, account(code, "funding"), code)
    open_account(session, account(code, "budget"), code, credits_must_not_exceed_debits=True)
    open_account(session, account(code, "paid"), code)
    return _view(row)


def programme_row(session: Session, code: str, *, lock: bool = False) -> Programme:
    """The programme's row (locked for update when `lock`), or NotFound."""
    statement = select(Programme).where(Programme.code == code)
    if lock:
        statement = statement.with_for_update()
    row = session.execute(statement).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no programme {code}", programme=code)
    return row


def get_programme(session: Session, code: str) -> ProgrammeView:
    """One programme, or NotFound."""
    return _view(programme_row(session, code))


def list_programmes(session: Session, *, limit: int, offset: int = 0,
                    kind: str | None = None) -> Page[ProgrammeView]:
    """Programmes by code, one page; only those of one `kind` (voucher, award) if given."""
    check_page(limit, offset)
    where = [true()]
    if kind is not None:
        where.append(Programme.policy.in_(
            [name for name in policies().programmes() if programme_kind(name) == kind]))
    total = session.scalar(select(func.count()).select_from(Programme).where(*where)) or 0
    rows = session.execute(
        select(Programme).where(*where).order_by(Programme.code).limit(limit).offset(offset)
    ).scalars()
    return Page([_view(r) for r in rows], total, limit, offset)


def programme_codes(session: Session, *, limit: int = 100) -> list[tuple[str, str]]:
    """The programmes' codes with their policies, by code (pickers): one statement, no count."""
    return [(code, policy) for code, policy in session.execute(
        select(Programme.code, Programme.policy).order_by(Programme.code).limit(limit))]


def appropriate(
    session: Session, code: str, amount_fen: int, *, by: By, memo: str = ""
) -> PostedEntry:
    """Add `amount_fen` to the programme's budget: `P:budget` ← `P:funding`."""
    programme_row(session, code)
    return post_entry(session, EntryRequest(
        (Move(account(code, "budget"), account(code, "funding"), amount_fen),),
        flow=FLOW_APPROPRIATE, ref=f"programme:{code}", actor=by.label, memo=memo,
    ))
