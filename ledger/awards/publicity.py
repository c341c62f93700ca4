"""公示: approved awards of a programme published as a list for a period, with objections.

An operator publishes approved awards (one publication = one list with a start date; the end
date follows the award policy's `publicity` rule, calendar or working days). While the period
runs anyone may object; an operator records the objection (who raised it, what it says) on a
day inside the period. An approver who did not record it decides it once: dismissed, or
upheld, which rejects the award by a reversal linked to its approval entry (never an edit).
When the award policy in force states a publicity period, an approved award is payable only
once it is on a publication whose period ended before the payment day, with no pending
objection (an upheld one has rejected it); without one, only a running period or a pending
objection holds it back. Dates default to `today()` of this module, which tests replace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from ledger.awards.award import Award, AwardView, award_programme, award_row, award_view
from ledger.core.acting import By, now, today
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from ledger.core.journal import reverse_entry
from ledger.core.models import LedgerHead
from ledger.core.paging import Page, check_page
from ledger.core.seal import seal_visible
from ledger.programmes.programme import Programme, policies
from ledger.registry.firms import Firm
from rules import NoPolicyInForce, PolicySet, award_publicity, publicity_end

FLOW_OBJECTION = "award.objection"
OBJECTION_STATUSES = ("pending", "upheld", "dismissed")
DECISIONS = ("upheld", "dismissed")


class AwardPublication(Base):
    """One 公示 list of a programme: its period and the journal head when it was published."""

    __tablename__ = "award_publications"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        CheckConstraint("days > 0", name="days_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date, index=True)
    days: Mapped[int] = mapped_column(Integer)
    working_days: Mapped[bool] = mapped_column(Boolean)
    policy_version: Mapped[str] = mapped_column(String(32))
    head_hash: Mapped[str] = mapped_column(String(64))
    published_by_user: Mapped[int] = mapped_column(BigInteger)
    published_by: Mapped[str] = mapped_column(String(160))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AwardPublicationItem(Base):
    """An award on a publication; an award is published once."""

    __tablename__ = "award_publication_items"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("award_publications.id"), index=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), unique=True)


class AwardObjection(Base):
    """An objection to a published award: who raised it, what it says, and its decision."""

    __tablename__ = "award_objections"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'upheld', 'dismissed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("award_publications.id"), index=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    raised_by: Mapped[str] = mapped_column(String(200))
    raised_on: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(String(2000))
    recorded_by_user: Mapped[int] = mapped_column(BigInteger)
    recorded_by: Mapped[str] = mapped_column(String(160))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_by_user: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_reason: Mapped[str] = mapped_column(String(500), default="")
    reversal_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entries.id"), nullable=True)


@dataclass(frozen=True)
class PublishedAward:
    """One line of a 公示 list: what the public sees (no personal data)."""

    award_id: int
    firm_name: str
    credit_code: str
    tier: str
    amount_fen: int
    status: str


@dataclass(frozen=True)
class ObjectionView:
    """An objection as services return it."""

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


@dataclass(frozen=True)
class PublicationView:
    """A publication: its programme, period, head hash, its awards and their objections."""

    id: int
    programme: str
    starts_on: dt.date
    ends_on: dt.date
    days: int
    working_days: bool
    policy_version: str
    head_hash: str
    published_by: str
    items: tuple[PublishedAward, ...]
    objections: tuple[ObjectionView, ...]

    def state(self, on: dt.date) -> str:
        """`scheduled` before its start, `open` during the period, `ended` after it."""
        if on < self.starts_on:
            return "scheduled"
        return "open" if on <= self.ends_on else "ended"

    @property
    def total_fen(self) -> int:
        """The amount of the list's awards."""
        return sum(i.amount_fen for i in self.items)


def _objection_view(row: AwardObjection) -> ObjectionView:
    return ObjectionView(row.id, row.publication_id, row.award_id, row.raised_by, row.raised_on,
                         row.text, row.recorded_by, row.status, row.decided_by,
                         row.decision_reason, row.reversal_entry_id)


def publication_row(session: Session, publication_id: int) -> AwardPublication:
    """The publication, or NotFound."""
    row = session.get(AwardPublication, publication_id)
    if row is None:
        raise NotFound(f"no publication {publication_id}", publication_id=publication_id)
    return row


def get_publication(session: Session, publication_id: int) -> PublicationView:
    """One publication with its awards (firm name, credit code, tier, amount) and objections."""
    row = publication_row(session, publication_id)
    code = session.scalar(select(Programme.code).where(Programme.id == row.programme_id)) or ""
    items = tuple(PublishedAward(*r) for r in session.execute(
        select(Award.id, Firm.name, Firm.credit_code, Award.tier, Award.amount_fen,
               Award.status)
        .join(AwardPublicationItem, AwardPublicationItem.award_id == Award.id)
        .join(Firm, Firm.id == Award.firm_id)
        .where(AwardPublicationItem.publication_id == row.id).order_by(Award.id)))
    objections = tuple(_objection_view(o) for o in session.scalars(
        select(AwardObjection).where(AwardObjection.publication_id == row.id)
        .order_by(AwardObjection.id)))
    return PublicationView(row.id, code, row.starts_on, row.ends_on, row.days, row.working_days,
                           row.policy_version, row.head_hash, row.published_by, items,
                           objections)


def list_publications(session: Session, *, limit: int, offset: int = 0,
                      programme: str | None = None) -> Page[PublicationView]:
    """Publications newest first, optionally of one programme."""
    check_page(limit, offset)
    condition = []
    if programme is not None:
        condition.append(AwardPublication.programme_id == award_programme(session, programme).id)
    total = session.scalar(
        select(func.count()).select_from(AwardPublication).where(*condition)) or 0
    ids = session.scalars(select(AwardPublication.id).where(*condition)
                          .order_by(AwardPublication.id.desc()).limit(limit).offset(offset))
    return Page([get_publication(session, i) for i in ids], total, limit, offset)


def publish_awards(
    session: Session,
    programme: str,
    *,
    by: By,
    award_ids: Sequence[int] | None = None,
    on: dt.date | None = None,
    policy_set: PolicySet | None = None,
) -> PublicationView:
    """Publish approved awards (exactly `award_ids`, or every approved unpublished one) as a
    list whose period starts on `on` (today by default) and ends as the policy says."""
    day = on or today()
    if day > today():
        raise InvalidInput("a publication starts today or earlier", field="starts_on")
    if award_ids is not None and (not award_ids or len(set(award_ids)) != len(award_ids)):
        raise InvalidInput("award_ids: at least one award, each once", field="award_ids")
    prog = award_programme(session, programme, lock=True)
    try:
        policy, rule = award_publicity(policy_set or policies(), prog.policy, day)
    except NoPolicyInForce as exc:
        raise Conflict(str(exc), code="no_publicity_rule", field="programme") from exc
    published = select(AwardPublicationItem.award_id)
    statement = select(Award).where(Award.programme_id == prog.id)
    if award_ids is None:
        statement = statement.where(Award.status == "approved", Award.id.not_in(published))
    else:
        statement = statement.where(Award.id.in_(list(award_ids)))
    rows = list(session.scalars(statement.order_by(Award.id).with_for_update()))
    if award_ids is not None:
        found = {r.id for r in rows}
        missing = [i for i in award_ids if i not in found]
        if missing:
            raise NotFound(f"no award {missing[0]} in {programme}", award_id=missing[0])
        again = set(session.scalars(published.where(
            AwardPublicationItem.award_id.in_(list(award_ids)))))
        for row in rows:
            if row.id in again:
                raise AlreadyExists(f"award {row.id} is already published",
                                    code="already_published", award_id=row.id)
            if row.status != "approved":
                raise Conflict(f"award {row.id} is {row.status}, not approved; only approved "
                               "awards are published", code="award_not_approved",
                               award_id=row.id)
    if not rows:
        raise Conflict(f"{programme} has no approved, unpublished award", code="nothing_to_publish")
    # The list states the chain's head: seal what this transaction can see first (another
    # sealer holding the head leaves it as it is), so the hash covers the approvals listed.
    seal_visible(session)
    head = session.scalar(select(LedgerHead.head_hash)) or ""
    row = AwardPublication(
        programme_id=prog.id, starts_on=day, ends_on=publicity_end(rule, day), days=rule.days,
        working_days=rule.working_days, policy_version=policy.version, head_hash=head,
        published_by_user=by.user_id, published_by=by.label, published_at=now())
    session.add(row)
    session.flush()
    session.add_all([AwardPublicationItem(publication_id=row.id, award_id=a.id) for a in rows])
    session.flush()
    return get_publication(session, row.id)


def _check_text(value: object, field: str, limit: int, what: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > limit:
        raise InvalidInput(f"{field}: {what} (1–{limit} characters)", field=field)
    return text


def record_objection(
    session: Session,
    publication_id: int,
    *,
    award_id: int,
    raised_by: str,
    text: str,
    by: By,
    on: dt.date | None = None,
) -> ObjectionView:
    """Record an objection to an award of the publication, raised on `on` (today by default),
    which must lie inside the period; the award must still be approved."""
    who = _check_text(raised_by, "raised_by", 200, "who raised it: a name or organisation")
    what = _check_text(text, "text", 2000, "what the objection says")
    day = on or today()
    if day > today():
        raise InvalidInput("an objection is recorded on today or earlier", field="raised_on")
    pub = publication_row(session, publication_id)
    if not pub.starts_on <= day <= pub.ends_on:
        raise Conflict(f"publication {pub.id} runs {pub.starts_on} to {pub.ends_on}; an objection "
                       f"on {day} is outside it", code="outside_publicity_period",
                       starts_on=pub.starts_on.isoformat(), ends_on=pub.ends_on.isoformat())
    if session.scalar(select(AwardPublicationItem.id).where(
            AwardPublicationItem.publication_id == pub.id,
            AwardPublicationItem.award_id == award_id)) is None:
        raise NotFound(f"award {award_id} is not on publication {pub.id}", award_id=award_id)
    award = award_row(session, award_id, lock=True)
    if award.status != "approved":
        raise Conflict(f"award {award.id} is {award.status}; objections concern approved awards",
                       code=f"award_{award.status}", award_id=award.id)
    row = AwardObjection(
        publication_id=pub.id, award_id=award.id, raised_by=who, raised_on=day, text=what,
        recorded_by_user=by.user_id, recorded_by=by.label, recorded_at=now(), status="pending",
        decision_reason="")
    session.add(row)
    session.flush()
    return _objection_view(row)


def objection_row(session: Session, objection_id: int, *, lock: bool = False) -> AwardObjection:
    """The objection, or NotFound."""
    statement = select(AwardObjection).where(AwardObjection.id == objection_id)
    if lock:
        statement = statement.with_for_update()
    row = session.execute(statement).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no objection {objection_id}", objection_id=objection_id)
    return row


def decide_objection(session: Session, objection_id: int, *, decision: str, reason: str,
                     by: By) -> tuple[ObjectionView, AwardView]:
    """Decide a pending objection once (not by whoever recorded it): `dismissed`, or `upheld`,
    which rejects the award by reversing its approval entry."""
    if decision not in DECISIONS:
        raise InvalidInput(f"decision: one of {', '.join(DECISIONS)}", field="decision")
    why = _check_text(reason, "reason", 500, "say why")
    row = objection_row(session, objection_id, lock=True)
    if row.status != "pending":
        raise Conflict(f"objection {row.id} was already {row.status}",
                       code="objection_already_decided", decision=row.status)
    if by.user_id == row.recorded_by_user:
        raise PermissionDenied("maker-checker: whoever recorded the objection may not decide it",
                               code="self_approval")
    award = award_row(session, row.award_id, lock=True)
    stamp = now()
    if decision == "upheld":
        if award.status != "approved":
            # An award in an open batch keeps its money there; decide once the batch is paid
            # (then claw it back) or the line is returned.
            raise Conflict(f"award {award.id} is {award.status}; only an approved award is "
                           "rejected by an upheld objection", code=f"award_{award.status}",
                           award_id=award.id)
        assert award.approve_entry_id is not None
        entry = reverse_entry(session, award.approve_entry_id, flow=FLOW_OBJECTION,
                              ref=f"award:{award.id}", actor=by.label,
                              memo=f"objection {row.id}: {why}")
        row.reversal_entry_id = entry.id
        award.status = "rejected"
        award.decided_by = by.label
        award.decided_at = award.updated_at = stamp
        award.reason = f"objection {row.id} upheld: {why}"[:500]
    row.status = decision
    row.decided_by_user = by.user_id
    row.decided_by = by.label
    row.decided_at = stamp
    row.decision_reason = why
    session.flush()
    return _objection_view(row), award_view(session, award)


def publicity_required(programme: Programme, on: dt.date | None = None,
                       policy_set: PolicySet | None = None) -> bool:
    """Whether the award policy in force for `programme` on `on` (today by default) states a
    publicity period; then an award is payable only after its 公示 has ended."""
    try:
        award_publicity(policy_set or policies(), programme.policy, on or today())
    except NoPolicyInForce:
        return False
    return True


def held_awards(on: dt.date | None = None, *, required: bool = False) -> ColumnElement[bool]:
    """SQL condition: the award is not payable on `on` (today by default) — on a publication
    whose period has not ended, with a pending objection, or (when `required`) unpublished."""
    on = on or today()
    pending = select(AwardObjection.award_id).where(AwardObjection.status == "pending")
    items = select(AwardPublicationItem.award_id).join(
        AwardPublication, AwardPublication.id == AwardPublicationItem.publication_id)
    if required:
        ended = items.where(AwardPublication.ends_on < on)
        return or_(Award.id.not_in(ended), Award.id.in_(pending))
    running = items.where(AwardPublication.ends_on >= on)
    return or_(Award.id.in_(running), Award.id.in_(pending))


def check_payable(session: Session, programme: Programme, award_ids: Sequence[int],
                  on: dt.date | None = None) -> None:
    """Refuse an award of `programme` that is not on a 公示 list when its policy requires one
    (`award_not_published`), whose period has not ended by `on` (`award_in_publicity`) or
    that has a pending objection (`award_objection_pending`)."""
    day = on or today()
    if not award_ids:
        return
    ids = list(award_ids)
    if publicity_required(programme, day):
        published = set(session.scalars(select(AwardPublicationItem.award_id)
                                        .where(AwardPublicationItem.award_id.in_(ids))))
        unpublished = sorted(set(ids) - published)
        if unpublished:
            raise Conflict(f"award {unpublished[0]} has not been published (公示); "
                           f"{programme.code}'s policy makes an award payable only once its "
                           "publicity period has ended",
                           code="award_not_published", award_id=unpublished[0])
    running = session.execute(
        select(AwardPublicationItem.award_id, AwardPublication.id, AwardPublication.ends_on)
        .join(AwardPublication, AwardPublication.id == AwardPublicationItem.publication_id)
        .where(AwardPublicationItem.award_id.in_(ids), AwardPublication.ends_on >= day)
        .order_by(AwardPublicationItem.award_id)).first()
    if running is not None:
        award_id, publication_id, ends_on = running
        raise Conflict(f"award {award_id} is under publication {publication_id} until "
                       f"{ends_on.isoformat()}; it is payable once the period has ended",
                       code="award_in_publicity", award_id=award_id,
                       publication_id=publication_id, ends_on=ends_on.isoformat())
    pending = session.execute(
        select(AwardObjection.award_id, AwardObjection.id)
        .where(AwardObjection.award_id.in_(ids), AwardObjection.status == "pending")
        .order_by(AwardObjection.award_id)).first()
    if pending is not None:
        raise Conflict(f"award {pending[0]} has pending objection {pending[1]}; it is payable "
                       "once the objection is dismissed", code="award_objection_pending",
                       award_id=pending[0], objection_id=pending[1])


def waiting_awards(session: Session, programme: Programme, on: dt.date | None = None
                   ) -> dict[str, int]:
    """How many approved awards of `programme` are not payable on `on` (today by default), by
    the code that refuses them (as `check_payable` would, the first reason that applies)."""
    on = on or today()
    published = select(AwardPublicationItem.award_id)
    running = published.join(
        AwardPublication, AwardPublication.id == AwardPublicationItem.publication_id
    ).where(AwardPublication.ends_on >= on)
    pending = select(AwardObjection.award_id).where(AwardObjection.status == "pending")
    reasons = [(Award.id.in_(running), "award_in_publicity"),
               (Award.id.in_(pending), "award_objection_pending")]
    if publicity_required(programme, on):
        reasons.insert(0, (Award.id.not_in(published), "award_not_published"))
    held = select(case(*reasons, else_=None).label("code")).where(
        Award.programme_id == programme.id, Award.status == "approved").subquery()
    return {code: count for code, count in session.execute(
        select(held.c.code, func.count()).where(held.c.code.is_not(None))
        .group_by(held.c.code).order_by(held.c.code))}


def publications_of_award(session: Session, award_id: int) -> list[int]:
    """The publication an award is on (at most one), as a list of ids."""
    return list(session.scalars(select(AwardPublicationItem.publication_id)
                                .where(AwardPublicationItem.award_id == award_id)))


def publication_programme(session: Session, publication_id: int) -> str:
    """The code of the publication's programme."""
    row = publication_row(session, publication_id)
    return session.scalar(select(Programme.code).where(Programme.id == row.programme_id)) or ""


__all__ = [
    "AwardObjection",
    "AwardPublication",
    "AwardPublicationItem",
    "ObjectionView",
    "PublicationView",
    "PublishedAward",
    "check_payable",
    "decide_objection",
    "get_publication",
    "held_awards",
    "list_publications",
    "publicity_required",
    "publish_awards",
    "record_objection",
    "waiting_awards",
]
