"""Request and response bodies of the award programme: amounts are yuan strings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from api.schemas import JsonInt, Strict
from api.voucher_schemas import Yuan
from ledger.awards.award import AwardView, TierTotal
from ledger.awards.publicity import ObjectionView, PublicationView
from ledger.core.money import fen_to_yuan
from ledger.core.paging import MAX_ID

Tier = Literal["gazelle", "unicorn", "specialised", "little_giant"]
Level = Literal["national", "provincial"]
AwardStatus = Literal["applied", "approved", "rejected", "in_payment", "paid", "clawed_back"]


class AwardIn(Strict):
    """An application for one tier's award, citing the certification."""

    program: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$",
                                  examples=["LN-AWARD-2022"])]
    firm_id: Annotated[JsonInt | None, Field(
        ge=1, le=MAX_ID, description="The firm applying; a firm user may leave it out (itself)"
    )] = None
    tier: Tier
    level: Level
    document_no: Annotated[str, Field(min_length=1, max_length=64,
                                      description="The certification's document number (文号)",
                                      examples=["辽科发〔2026〕12号"])]
    certified_on: dt.date
    requested: Annotated[Yuan | None, Field(
        description="Less than an 'up to' tier pays (专精特新, 小巨人); default: the full amount"
    )] = None
    applied_on: Annotated[dt.date | None, Field(
        description="Default today; an earlier day records a paper application (bureau only)"
    )] = None


class ClawbackIn(Strict):
    """Why the award is clawed back (the certification was revoked, …)."""

    reason: Annotated[str, Field(min_length=1, max_length=500)]


class AwardOut(BaseModel):
    """An award application, its decision (with the policy's trace) and what was posted."""

    id: int
    program: str
    firm_id: int
    firm_name: str
    tier: str
    level: str
    document_no: str
    certified_on: dt.date
    applied_on: dt.date
    amount: str
    status: str
    decision: dict[str, Any]
    recorded_by: str
    decided_by: str | None
    reason: str
    batch_id: int | None
    approve_entry_id: int | None
    pay_entry_id: int | None
    clawback_entry_id: int | None
    clawback_reason: str


def award_out(a: AwardView) -> dict[str, Any]:
    """As JSON."""
    return AwardOut(id=a.id, program=a.programme, firm_id=a.firm_id, firm_name=a.firm_name,
                    tier=a.tier, level=a.level,
                    document_no=a.document_no, certified_on=a.certified_on,
                    applied_on=a.applied_on, amount=fen_to_yuan(a.amount_fen), status=a.status,
                    decision=a.decision, recorded_by=a.recorded_by, decided_by=a.decided_by,
                    reason=a.reason, batch_id=a.batch_id, approve_entry_id=a.approve_entry_id,
                    pay_entry_id=a.pay_entry_id, clawback_entry_id=a.clawback_entry_id,
                    clawback_reason=a.clawback_reason).model_dump(mode="json")


class TierTotalOut(BaseModel):
    """How many awards of one tier, and their amount."""

    tier: str
    count: int
    amount: str


class TotalsOut(BaseModel):
    """Totals by tier of the awards the filters select, and over all tiers."""

    tiers: list[TierTotalOut]
    count: int
    amount: str


def totals_out(totals: list[TierTotal]) -> dict[str, Any]:
    """As JSON."""
    return TotalsOut(
        tiers=[TierTotalOut(tier=t.tier, count=t.count, amount=fen_to_yuan(t.amount_fen))
               for t in totals],
        count=sum(t.count for t in totals),
        amount=fen_to_yuan(sum(t.amount_fen for t in totals)),
    ).model_dump(mode="json")


# ------------------------------------------------------------------------------ 公示


class PublishIn(Strict):
    """Which approved awards of the programme to publish (default: every unpublished one)."""

    program: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$",
                                  examples=["LN-AWARD-2022"])]
    award_ids: Annotated[list[Annotated[JsonInt, Field(ge=1, le=MAX_ID)]] | None, Field(
        min_length=1, max_length=1000,
        description="Exactly these approved awards; default: every approved, unpublished one"
    )] = None


class ObjectionIn(Strict):
    """An objection raised during the period: who raised it and what it says."""

    award_id: Annotated[JsonInt, Field(ge=1, le=MAX_ID)]
    raised_by: Annotated[str, Field(min_length=1, max_length=200,
                                    description="Who raised it: a name or an organisation")]
    text: Annotated[str, Field(min_length=1, max_length=2000,
                               description="What the objection says")]
    raised_on: Annotated[dt.date | None, Field(
        description="Default today; an earlier day of the period records a letter received then"
    )] = None


class DecisionIn(Strict):
    """The decision on an objection: upheld (the award is rejected) or dismissed."""

    decision: Literal["upheld", "dismissed"]
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class PublishedAwardOut(BaseModel):
    """One line of a 公示 list."""

    award_id: int
    firm_name: str
    credit_code: str
    tier: str
    amount: str
    status: str


class ObjectionOut(BaseModel):
    """An objection and its decision."""

    id: int
    publication_id: int
    award_id: int
    raised_by: str
    raised_on: dt.date
    text: str
    recorded_by: str
    status: str
    decided_by: str | None
    decision_reason: str
    reversal_entry_id: int | None


class PublicationOut(BaseModel):
    """A 公示 list: its period, the journal head hash when published, awards, objections."""

    id: int
    program: str
    starts_on: dt.date
    ends_on: dt.date
    days: int
    working_days: bool
    policy_version: str
    head_hash: str
    published_by: str
    amount: str
    items: list[PublishedAwardOut]
    objections: list[ObjectionOut]


def objection_out(o: ObjectionView) -> dict[str, Any]:
    """As JSON."""
    return ObjectionOut(
        id=o.id, publication_id=o.publication_id, award_id=o.award_id, raised_by=o.raised_by,
        raised_on=o.raised_on, text=o.text, recorded_by=o.recorded_by, status=o.status,
        decided_by=o.decided_by, decision_reason=o.decision_reason,
        reversal_entry_id=o.reversal_entry_id).model_dump(mode="json")


def publication_out(p: PublicationView) -> dict[str, Any]:
    """As JSON."""
    return PublicationOut(
        id=p.id, program=p.programme, starts_on=p.starts_on, ends_on=p.ends_on, days=p.days,
        working_days=p.working_days, policy_version=p.policy_version, head_hash=p.head_hash,
        published_by=p.published_by, amount=fen_to_yuan(p.total_fen),
        items=[PublishedAwardOut(award_id=i.award_id, firm_name=i.firm_name,
                                 credit_code=i.credit_code, tier=i.tier,
                                 amount=fen_to_yuan(i.amount_fen), status=i.status)
               for i in p.items],
        objections=[ObjectionOut.model_validate(objection_out(o)) for o in p.objections],
    ).model_dump(mode="json")
