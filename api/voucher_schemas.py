"""Request and response bodies of the voucher programme: amounts are yuan strings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, Field

from api.schemas import Category, JsonInt, Strict
from ledger.budget import Budget
from ledger.core.journal import PostedEntry
from ledger.core.money import fen_to_yuan, yuan_to_fen
from ledger.programmes.programme import ProgrammeView
from ledger.registry.evidence import EvidenceView
from ledger.vouchers.claims import ClaimView
from ledger.vouchers.expiry import ExpiryResult
from ledger.vouchers.redemptions import RedemptionView
from ledger.vouchers.voucher import HistoryLine, VoucherView

Yuan = Annotated[str | JsonInt, Field(description="Yuan, at most two decimals, as a string or an "
                                              "integer (never a float)", examples=["5000.00"])]
ProgrammeCode = Annotated[str, Path(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$",
                                    description="The programme's code, e.g. LN-CXQ-2026")]
Reason = Annotated[str, Field(max_length=500)]


def fen(value: str | int, field: str = "amount") -> int:
    """A yuan amount from a request, in fen (422 when malformed)."""
    return yuan_to_fen(value, field=field)


class ProgrammeIn(Strict):
    """A new programme."""

    code: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$", examples=["LN-CXQ-2026"])]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    fiscal_year: Annotated[JsonInt, Field(ge=2000, le=2100)]
    policy: Annotated[str, Field(min_length=1, max_length=64, examples=["LN-CXQ"])]


class ProgrammeOut(BaseModel):
    """A programme."""

    id: int
    code: str
    name: str
    fiscal_year: int
    policy: str
    created_at: dt.datetime


def programme_out(v: ProgrammeView) -> dict[str, Any]:
    """As JSON."""
    return ProgrammeOut(id=v.id, code=v.code, name=v.name, fiscal_year=v.fiscal_year,
                        policy=v.policy, created_at=v.created_at).model_dump(mode="json")


class AppropriationIn(Strict):
    """Budget added to the programme."""

    amount: Yuan
    memo: Annotated[str, Field(max_length=500)] = ""


class EntryOut(BaseModel):
    """A journal entry as posted."""

    entry_id: int
    posted_at: dt.datetime
    flow: str
    ref: str
    actor: str
    memo: str
    reverses_entry_id: int | None
    hash: str | None = Field(None, description="Its seal's hash; null until the entry is sealed "
                             "(right after its transaction commits)")
    transfers: list[dict[str, Any]]


def entry_out(e: PostedEntry) -> dict[str, Any]:
    """As JSON, amounts in yuan."""
    return EntryOut(
        entry_id=e.id, posted_at=e.posted_at, flow=e.flow, ref=e.ref, actor=e.actor, memo=e.memo,
        reverses_entry_id=e.reverses_entry_id, hash=e.hash,
        transfers=[{"id": t.id, "debit": t.debit, "credit": t.credit,
                    "amount": fen_to_yuan(t.amount), "kind": t.kind, "pending_id": t.pending_id}
                   for t in e.transfers],
    ).model_dump(mode="json")


class BudgetOut(BaseModel):
    """Where the programme's money is, in yuan; `balanced` checks the budget equation
    appropriated = free + unspent + held + redeemed + awarded + in_payment + paid − receivable.
    """

    programme: str
    appropriated: str
    free: str
    issued: str
    unspent: str
    held: str
    redeemed: str
    in_payment: str
    paid: str
    receivable: str
    expired: str
    awarded: str = Field(description="Approved awards not yet in a payment batch")
    promised: str = Field(description="Applied, undecided awards (part of `free`)")
    balanced: bool


def budget_out(b: Budget) -> dict[str, Any]:
    """As JSON."""
    figures = {name: fen_to_yuan(getattr(b, name)) for name in (
        "appropriated", "free", "issued", "unspent", "held", "redeemed", "in_payment", "paid",
        "receivable", "expired", "awarded", "promised")}
    return BudgetOut(programme=b.programme, balanced=b.balanced, **figures).model_dump()


class ExpireIn(Strict):
    """Expire as of a day (default today, Asia/Shanghai; never in the future)."""

    as_of: dt.date | None = None


class OpenHoldOut(BaseModel):
    """An expired voucher still holding a booking."""

    voucher_id: int
    serial: str
    held: str


class ExpiryOut(BaseModel):
    """What an expiry run returned to the budget."""

    programme: str
    as_of: dt.date
    vouchers_expired: int
    returned: str
    open_holds: list[OpenHoldOut]


def expiry_out(r: ExpiryResult) -> dict[str, Any]:
    """As JSON."""
    return ExpiryOut(programme=r.programme, as_of=r.as_of, vouchers_expired=r.vouchers_expired,
                     returned=fen_to_yuan(r.returned_fen),
                     open_holds=[OpenHoldOut(voucher_id=h.voucher_id, serial=h.serial,
                                             held=fen_to_yuan(h.held_fen))
                                 for h in r.open_holds]).model_dump(mode="json")


class VoucherIn(Strict):
    """A voucher to issue."""

    program: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")]
    firm_id: Annotated[JsonInt, Field(ge=1, le=2**63 - 1)]
    amount: Yuan
    issued_on: Annotated[dt.date | None, Field(
        description="Default today; an earlier day records a voucher issued on paper")] = None


class VoucherOut(BaseModel):
    """A voucher and its balance."""

    id: int
    program: str
    serial: str
    account: str
    firm_id: int
    firm_name: str = Field(description="The firm's registered name")
    amount: str
    issued_on: dt.date
    expires_on: dt.date
    status: str
    available: str
    held: str
    spent: str
    expired: str


def voucher_out(v: VoucherView) -> dict[str, Any]:
    """As JSON."""
    return VoucherOut(id=v.id, program=v.programme, serial=v.serial, account=v.account,
                      firm_id=v.firm_id, firm_name=v.firm_name,
                      amount=fen_to_yuan(v.amount_fen), issued_on=v.issued_on,
                      expires_on=v.expires_on, status=v.status,
                      available=fen_to_yuan(v.available_fen), held=fen_to_yuan(v.held_fen),
                      spent=fen_to_yuan(v.spent_fen),
                      expired=fen_to_yuan(v.expired_fen)).model_dump(mode="json")


class VoucherImportOut(BaseModel):
    """How many vouchers a CSV batch issued, their ids and their serials (row order);
    `already_imported`: the same file was imported into the programme before, nothing added."""

    rows: int
    issued: int
    voucher_ids: list[int]
    serials: list[str]
    already_imported: bool = False


class HistoryOut(BaseModel):
    """One movement on a voucher."""

    entry_id: int
    posted_at: dt.datetime
    flow: str
    ref: str
    kind: str
    amount: str
    direction: str


def history_out(lines: list[HistoryLine]) -> list[dict[str, Any]]:
    """As JSON."""
    return [HistoryOut(entry_id=h.entry_id, posted_at=h.posted_at, flow=h.flow, ref=h.ref,
                       kind=h.kind, amount=fen_to_yuan(h.amount_fen), direction=h.direction)
            .model_dump(mode="json") for h in lines]


class BookingIn(Strict):
    """A service booked against a firm's voucher, with the firm's one-time authorisation."""

    voucher: Annotated[str, Field(pattern=r"^[Vv][0-9]{6,15}$", examples=["V000262"],
                                  description="The voucher's serial")]
    authorisation: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{10}$", examples=["K7QXM2PD9H"],
                                        description="The code of the firm's authorisation")]
    category: Category
    cost: Yuan
    description: Annotated[str, Field(max_length=500)] = ""


class CompleteIn(Strict):
    """Completion: post the hold in full, or `amount` of it (the rest is released)."""

    amount: Yuan | None = None


class ReasonIn(Strict):
    """Why."""

    reason: Reason = ""


class DisputeIn(Strict):
    """Why the firm disputes the completion (required)."""

    reason: Annotated[str, Field(min_length=1, max_length=500)]


class RedemptionOut(BaseModel):
    """A booked service and what became of it; `decision` is the policy's, with its trace."""

    id: int
    program: str
    voucher_id: int
    voucher: str  # the serial, as a booking names it
    voucher_serial: str  # the same serial, named as on claims and applications
    firm_id: int
    firm_name: str
    provider_id: int
    provider_name: str
    category: str
    cost: str
    subsidy: str
    amount: str
    description: str
    status: str
    booked_on: dt.date
    completed_on: dt.date | None
    confirmed: bool
    clawback_reason: str | None
    dispute_reason: str | None = None
    decision: dict[str, Any]


def redemption_out(r: RedemptionView) -> dict[str, Any]:
    """As JSON."""
    return RedemptionOut(id=r.id, program=r.programme, voucher_id=r.voucher_id,
                         voucher=r.voucher_serial, voucher_serial=r.voucher_serial,
                         firm_id=r.firm_id,
                         firm_name=r.firm_name, provider_id=r.provider_id,
                         provider_name=r.provider_name, category=r.category,
                         cost=fen_to_yuan(r.cost_fen), subsidy=fen_to_yuan(r.subsidy_fen),
                         amount=fen_to_yuan(r.amount_fen), description=r.description,
                         status=r.status, booked_on=r.booked_on, completed_on=r.completed_on,
                         confirmed=r.confirmed, clawback_reason=r.clawback_reason,
                         dispute_reason=r.dispute_reason,
                         decision=r.decision).model_dump(mode="json")


class EvidenceOut(BaseModel):
    """An evidence file: its SHA-256 names its content."""

    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str


class ClaimOut(BaseModel):
    """A claim and its evidence."""

    id: int
    program: str
    redemption_id: int
    provider_id: int
    provider_name: str
    firm_name: str
    voucher_serial: str
    amount: str
    status: str
    filed_on: dt.date
    decided_by: str | None
    reason: str
    batch_id: int | None
    evidence: list[EvidenceOut]


def evidence_out(e: EvidenceView) -> EvidenceOut:
    """An attached file as JSON's model."""
    return EvidenceOut(kind=e.kind, filename=e.filename, content_type=e.content_type,
                       size=e.size, sha256=e.sha256)


def claim_out(c: ClaimView) -> dict[str, Any]:
    """As JSON."""
    return ClaimOut(id=c.id, program=c.programme, redemption_id=c.redemption_id,
                    provider_id=c.provider_id, provider_name=c.provider_name,
                    firm_name=c.firm_name, voucher_serial=c.voucher_serial,
                    amount=fen_to_yuan(c.amount_fen), status=c.status,
                    filed_on=c.filed_on, decided_by=c.decided_by, reason=c.reason,
                    batch_id=c.batch_id,
                    evidence=[evidence_out(e) for e in c.evidence]).model_dump(mode="json")


