"""For auditors: the journal, an account's balance at any moment, and verify."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from api.auth import require
from api.schemas import PageOut, page_out
from api.voucher_schemas import EntryOut, entry_out
from ledger.core.accounts import balance, balance_as_of, get_account
from ledger.core.db import transaction
from ledger.core.money import fen_to_yuan
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.core.seal import seal_committed
from ledger.core.verify import verify
from ledger.programmes.programme import programme_row
from ledger.reading.journal_pages import list_entries
from ledger.registry.users import UserView

router = APIRouter(tags=["ledger"])
Bureau = Annotated[UserView, Depends(require("operator", "approver", "auditor"))]
AccountCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,159}$")]


class BalanceOut(BaseModel):
    """An account's totals in yuan (now, or as they stood at `as_of`)."""

    code: str
    as_of: dt.datetime | None
    debits_posted: str
    credits_posted: str
    debits_pending: str
    credits_pending: str
    balance: str
    available: str


class VerifyOut(BaseModel):
    """Whether the hash chain is whole and every account agrees with its transfers."""

    ok: bool
    entries: int
    head_hash: str
    unsealed: list[int] = []
    first_break: dict[str, Any] | None
    mismatches: list[dict[str, Any]]


def _aware(moment: dt.datetime | None, name: str) -> dt.datetime | None:
    from ledger.core.errors import InvalidInput

    if moment is not None and moment.tzinfo is None:
        raise InvalidInput(f"{name} must carry a time zone (e.g. +08:00)", field=name)
    return moment


@router.get("/journal", response_model=PageOut[EntryOut], summary="Read the journal")
def journal(
    request: Request,
    user: Bureau,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    program: Annotated[str | None, Query(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")] = None,
    account: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,159}$")]
    = None,
    since: Annotated[dt.datetime | None, Query(description="From (inclusive), with zone")]
    = None,
    until: Annotated[dt.datetime | None, Query(description="Until (exclusive), with zone")]
    = None,
) -> dict[str, object]:
    """Entries oldest first, with their transfers, hashes and who posted them. A `program` or
    `account` that does not exist is 404, as in the other lists."""
    with transaction(request.app.state.reader) as session:
        if program is not None:
            programme_row(session, program)
        if account is not None:
            get_account(session, account)
        page = list_entries(session, limit=limit, offset=offset, programme=program,
                            account=account, since=_aware(since, "since"),
                            until=_aware(until, "until"))
    return page_out(page, [entry_out(e) for e in page.items])


@router.get("/accounts/{code}/balance", response_model=BalanceOut, summary="Account balance")
def account_balance(
    request: Request,
    user: Bureau,
    code: AccountCode,
    as_of: Annotated[dt.datetime | None, Query(description="A past moment, with zone")] = None,
) -> BalanceOut:
    """The account's totals now, or as they stood at `as_of`."""
    with transaction(request.app.state.reader) as session:
        if as_of is None:
            b = balance(session, code)
        else:
            b = balance_as_of(session, code, _aware(as_of, "as_of"))  # type: ignore[arg-type]
    return BalanceOut(code=code, as_of=as_of, debits_posted=fen_to_yuan(b.debits_posted),
                      credits_posted=fen_to_yuan(b.credits_posted),
                      debits_pending=fen_to_yuan(b.debits_pending),
                      credits_pending=fen_to_yuan(b.credits_pending),
                      balance=fen_to_yuan(b.debit_balance), available=fen_to_yuan(b.available))


@router.get("/ledger/verify", response_model=VerifyOut, summary="Verify the ledger")
def verify_ledger(request: Request, user: Bureau) -> VerifyOut:
    """Seal what is committed, then recompute the hash chain and every account's totals."""
    seal_committed(request.app.state.sessions)
    with transaction(request.app.state.reader) as session:
        report = verify(session)
    brk = report.first_break
    return VerifyOut(
        ok=report.ok, entries=report.entries, head_hash=report.head_hash,
        unsealed=[u.entry_id for u in report.unsealed],
        first_break=None if brk is None else {"entry_id": brk.entry_id, "reason": brk.reason},
        mismatches=[{"code": m.code, "total": m.total, "stored": m.stored,
                     "recomputed": m.recomputed} for m in report.mismatches])
