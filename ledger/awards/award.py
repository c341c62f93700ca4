"""Tiered awards (瞪羚, 独角兽, 专精特新, 小巨人): applications decided by the award policy.

An award programme is a programme whose policy is an award policy (LN-AWARD). A firm, or an
operator for it, applies for a tier citing its certification; the engine decides eligibility
and the amount, with a trace. An approver who did not record the application approves it
(`P:award:F` ← `P:budget`) or rejects it with a reason (nothing posted). Payment goes through
the payment batches of `ledger.payments.batches` (`P:paid` ← `P:award:F`, held while the batch is
open, posted when it is marked paid). A clawback (certification revoked) reverses the approval by a
linked entry; if the award was paid, the firm's account is first refilled from
`P:receivable:firm-F`, whose credit balance is what the firm owes the programme.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    case,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from ledger.core.accounts import balance, ensure_account
from ledger.core.acting import By, now, today
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from ledger.core.journal import EntryRequest, Move, post_entry, reverse_entry
from ledger.core.paging import Page, check_page
from ledger.programmes.decisions import refused
from ledger.programmes.programme import Programme, account, policies, programme_row
from ledger.registry.evidence import EvidenceFile, EvidenceView, Upload, file_bytes, keep
from ledger.registry.firms import Certification, Firm, FirmCertification, add_certification
from ledger.registry.names import firms_matching
from ledger.registry.parties import normalise_city
from rules import AwardFacts, PolicySet, decide_award

TIERS = ("gazelle", "unicorn", "specialised", "little_giant")
LEVELS = ("national", "provincial")
STATUSES = ("applied", "approved", "rejected", "in_payment", "paid", "clawed_back")
# Applications that count for "once per tier" and upgrades.
COUNTING = ("applied", "approved", "in_payment", "paid")
FLOW_APPROVE = "award.approve"
FLOW_CLAWBACK, FLOW_RECEIVABLE = "award.clawback", "award.receivable"


class Award(Base):
    """An application for one tier's award, its decision and what was posted for it."""

    __tablename__ = "awards"
    __table_args__ = (
        UniqueConstraint("programme_id", "firm_id", "tier", "document_no",
                         name="uq_awards_programme_firm_tier_document"),
        CheckConstraint("status IN ('applied', 'approved', 'rejected', 'in_payment', 'paid', "
                        "'clawed_back')", name="status_known"),
        CheckConstraint("tier IN ('gazelle', 'unicorn', 'specialised', 'little_giant')",
                        name="tier_known"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    tier: Mapped[str] = mapped_column(String(16), index=True)
    level: Mapped[str] = mapped_column(String(16))
    document_no: Mapped[str] = mapped_column(String(64))
    certified_on: Mapped[dt.date] = mapped_column(Date)
    certified_year: Mapped[int] = mapped_column(Integer, index=True)
    applied_on: Mapped[dt.date] = mapped_column(Date)
    requested_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)
    decision: Mapped[dict[str, object]] = mapped_column(JSON)
    recorded_by_user: Mapped[int] = mapped_column(BigInteger)
    recorded_by: Mapped[str] = mapped_column(String(160))
    decided_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    approve_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entries.id"), nullable=True)
    pay_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entries.id"), nullable=True)
    clawback_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entries.id"), nullable=True)
    clawback_reason: Mapped[str] = mapped_column(String(500), default="")
    # The payment batch that carries the award (set when batched, kept once paid).
    batch_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AwardDocument(Base):
    """A file attached to an award application, e.g. the certificate (append-only)."""

    __tablename__ = "award_documents"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"))
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime)


DOCUMENT_KINDS = ("award_certificate",)


@dataclass(frozen=True)
class AwardView:
    """An award application as services return it; `decision` carries the engine's trace."""

    id: int
    programme: str
    firm_id: int
    tier: str
    level: str
    document_no: str
    certified_on: dt.date
    applied_on: dt.date
    amount_fen: int
    status: str
    decision: dict[str, object]
    recorded_by: str
    decided_by: str | None
    reason: str
    approve_entry_id: int | None
    pay_entry_id: int | None
    clawback_entry_id: int | None
    clawback_reason: str
    batch_id: int | None
    firm_name: str = ""


@dataclass(frozen=True)
class TierTotal:
    """How many awards of one tier, and their amount in fen."""

    tier: str
    count: int
    amount_fen: int


def _view(row: Award, programme: str, firm_name: str | None = None) -> AwardView:
    if firm_name is None:
        firm_name = object_session_name(row)
    return AwardView(row.id, programme, row.firm_id, row.tier, row.level, row.document_no,
                     row.certified_on, row.applied_on, row.amount_fen, row.status,
                     dict(row.decision), row.recorded_by, row.decided_by, row.reason,
                     row.approve_entry_id, row.pay_entry_id, row.clawback_entry_id,
                     row.clawback_reason, row.batch_id, firm_name)


def object_session_name(row: Award) -> str:
    """The firm's registered name, read through the row's own session."""
    session = object_session(row)
    if session is None:
        return ""
    return session.scalar(select(Firm.name).where(Firm.id == row.firm_id)) or ""


def award_account(programme: str, firm_id: int) -> str:
    """The account holding the firm's approved, unpaid awards: `P:award:F`."""
    return account(programme, "award", firm_id)


def receivable_account(programme: str, firm_id: int) -> str:
    """What a firm owes back after a paid award is clawed back: `P:receivable:firm-F`."""
    return account(programme, "receivable", f"firm-{firm_id}")


def is_award_policy(policy: str) -> bool:
    """True when every version of the named policy is an award policy."""
    versions = policies().versions(policy) if isinstance(policy, str) else []
    return bool(versions) and all(v.model.kind == "award" for v in versions)


def award_programme(session: Session, code: str, *, lock: bool = False) -> Programme:
    """The programme's row if it is an award programme; NotFound or InvalidInput otherwise."""
    row = programme_row(session, code, lock=lock)
    if not is_award_policy(row.policy):
        raise InvalidInput(f"programme {code} follows {row.policy}, not an award policy",
                           code="wrong_programme_kind", field="programme")
    return row


def promised(session: Session, programme_id: int) -> int:
    """What applied, undecided awards of the programme would take from its budget (SQL sum)."""
    return int(session.scalar(
        select(func.coalesce(func.sum(Award.amount_fen), 0))
        .where(Award.programme_id == programme_id, Award.status == "applied")) or 0)


def check_application(tier: str, level: str, document_no: str, certified_on: object,
                      day: dt.date, requested_fen: int | None) -> str:
    """The cleaned document number, or InvalidInput naming the field (also the import's check)."""
    if tier not in TIERS:
        raise InvalidInput(f"tier: one of {', '.join(TIERS)}", field="tier")
    if level not in LEVELS:
        raise InvalidInput(f"level: one of {', '.join(LEVELS)}", field="level")
    if tier == "little_giant" and level != "national":
        raise InvalidInput("level: a 小巨人 certification is national", field="level")
    doc = document_no.strip() if isinstance(document_no, str) else ""
    if not doc or len(doc) > 64 or not doc.isprintable():
        raise InvalidInput("document_no: the certification's document number, 1–64 characters",
                           field="document_no")
    if not isinstance(certified_on, dt.date) or isinstance(certified_on, dt.datetime):
        raise InvalidInput("certified_on: a date", field="certified_on")
    if certified_on > day:
        raise InvalidInput("certified_on lies after the application date", field="certified_on")
    if day > today():
        raise InvalidInput("the application date lies in the future", field="on")
    if requested_fen is not None and (
        isinstance(requested_fen, bool) or not isinstance(requested_fen, int) or requested_fen <= 0
    ):
        raise InvalidInput("requested: a positive amount", field="requested")
    return doc


def apply_award(
    session: Session,
    programme: str,
    *,
    firm_id: int,
    tier: str,
    level: str,
    document_no: str,
    certified_on: dt.date,
    by: By,
    on: dt.date | None = None,
    requested_fen: int | None = None,
    policy_set: PolicySet | None = None,
    attachment: Upload | None = None,
) -> AwardView:
    """Record an application the policy allows (status applied), or raise PolicyRefused.

    The firm's registry gains the cited certification when it does not hold it yet; one of
    the same kind and year with another date is a conflict. `policy_set` defaults to the
    shipped policy files. `attachment` (kind `award_certificate`: a PDF, JPEG or PNG) is kept with
    the application.
    """
    day = on or today()
    doc = check_application(tier, level, document_no, certified_on, day, requested_fen)
    kept = None if attachment is None else keep(session, attachment, DOCUMENT_KINDS)
    prog = award_programme(session, programme, lock=True)
    if session.execute(select(Firm.id).where(Firm.id == firm_id).with_for_update()).first() \
            is None:
        raise NotFound(f"no firm {firm_id}", firm_id=firm_id)
    if session.scalar(select(Award.id).where(
            Award.programme_id == prog.id, Award.firm_id == firm_id, Award.tier == tier,
            Award.document_no == doc)) is not None:
        raise AlreadyExists(f"firm {firm_id} already applied for {tier} citing {doc}",
                            code="already_applied")
    held = session.scalar(select(FirmCertification.certified_on).where(
        FirmCertification.firm_id == firm_id, FirmCertification.kind == tier,
        FirmCertification.year == certified_on.year))
    if held is not None and held != certified_on:
        raise Conflict(f"firm {firm_id} holds {tier} for {certified_on.year} certified on "
                       f"{held.isoformat()}, not {certified_on.isoformat()}",
                       code="certification_mismatch")
    firm_awards = tuple((t, int(a)) for t, a in session.execute(
        select(Award.tier, Award.amount_fen).where(
            Award.programme_id == prog.id, Award.firm_id == firm_id,
            Award.status.in_(COUNTING)).order_by(Award.id)))
    free = balance(session, account(programme, "budget")).available - promised(session, prog.id)
    decision = decide_award(policy_set or policies(), AwardFacts(
        programme=prog.policy, on=day, tier=tier, certified_on=certified_on,
        firm_awards=firm_awards, budget_free_fen=max(0, free), requested_fen=requested_fen))
    if not decision.allowed:
        raise refused(decision)
    if held is None:
        add_certification(session, firm_id, Certification(tier, certified_on.year, certified_on))
    stamp = now()
    row = Award(programme_id=prog.id, firm_id=firm_id, tier=tier, level=level, document_no=doc,
                certified_on=certified_on, certified_year=certified_on.year, applied_on=day,
                requested_fen=requested_fen, amount_fen=decision.amount_fen, status="applied",
                decision=decision.to_dict(), recorded_by_user=by.user_id, recorded_by=by.label,
                reason="", clawback_reason="", created_at=stamp, updated_at=stamp)
    session.add(row)
    session.flush()
    if kept is not None:
        session.add(AwardDocument(award_id=row.id, kind=kept.kind, filename=kept.filename,
                                  sha256=kept.sha256, attached_at=stamp))
        session.flush()
    return _view(row, programme)


def award_documents(session: Session, award_id: int, *, firm_id: int | None = None
                    ) -> list[EvidenceView]:
    """The files attached to the award application (a firm sees only its own)."""
    award_row(session, award_id, firm_id=firm_id)
    rows = session.execute(
        select(AwardDocument.kind, AwardDocument.filename, EvidenceFile.content_type,
               EvidenceFile.size, EvidenceFile.sha256)
        .join(EvidenceFile, EvidenceFile.sha256 == AwardDocument.sha256)
        .where(AwardDocument.award_id == award_id).order_by(AwardDocument.id)).all()
    return [EvidenceView(*r) for r in rows]


def read_award_document(session: Session, award_id: int, kind: str, *,
                        firm_id: int | None = None) -> tuple[EvidenceView, bytes]:
    """The award's attached file of `kind` and its bytes, or NotFound."""
    view = next((d for d in award_documents(session, award_id, firm_id=firm_id)
                 if d.kind == kind), None)
    if view is None:
        raise NotFound(f"award {award_id} has no {kind}")
    return view, file_bytes(session, view.sha256)


def award_row(session: Session, award_id: int, *, firm_id: int | None = None,
              lock: bool = False) -> Award:
    """The award, or NotFound (also when `firm_id` is given and it is another firm's)."""
    statement = select(Award).where(Award.id == award_id)
    if lock:
        statement = statement.with_for_update()
    row = session.execute(statement).scalar_one_or_none()
    if row is None or (firm_id is not None and row.firm_id != firm_id):
        raise NotFound(f"no award {award_id}", award_id=award_id)
    return row


def _code(session: Session, row: Award) -> str:
    return session.scalar(select(Programme.code).where(Programme.id == row.programme_id)) or ""


def award_view(session: Session, row: Award) -> AwardView:
    """The award row as services return it."""
    return _view(row, _code(session, row))


def _decide(session: Session, award_id: int, by: By, reason: str) -> tuple[Award, str]:
    if not isinstance(reason, str) or len(reason) > 500:
        raise InvalidInput("reason: at most 500 characters", field="reason")
    row = award_row(session, award_id, lock=True)
    if by.user_id == row.recorded_by_user:
        raise PermissionDenied("maker-checker: whoever recorded the application may not "
                               "decide it", code="self_approval")
    if row.status != "applied":
        raise Conflict(f"award {row.id} is {row.status}, not applied", code=f"award_{row.status}")
    return row, _code(session, row)


def approve_award(session: Session, award_id: int, *, by: By, reason: str = "") -> AwardView:
    """Approve an application (not by whoever recorded it): `P:award:F` ← `P:budget`."""
    row, code = _decide(session, award_id, by, reason)
    target = award_account(code, row.firm_id)
    ensure_account(session, target, code, limited=True)
    entry = post_entry(session, EntryRequest(
        (Move(target, account(code, "budget"), row.amount_fen),),
        flow=FLOW_APPROVE, ref=f"award:{row.id}", actor=by.label,
        memo=f"{row.tier} firm {row.firm_id} {row.document_no}"))
    row.status = "approved"
    row.approve_entry_id = entry.id
    row.decided_by = by.label
    row.decided_at = row.updated_at = now()
    row.reason = reason
    session.flush()
    return _view(row, code)


def reject_award(session: Session, award_id: int, *, by: By, reason: str) -> AwardView:
    """Reject an application with a reason (not by whoever recorded it); nothing is posted."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("reason: say why the award is rejected", field="reason")
    row, code = _decide(session, award_id, by, reason)
    row.status = "rejected"
    row.decided_by = by.label
    row.decided_at = row.updated_at = now()
    row.reason = reason
    session.flush()
    return _view(row, code)


def clawback_award(session: Session, award_id: int, *, by: By, reason: str) -> AwardView:
    """Claw back an approved or paid award (certification revoked), once, by a linked reversal.

    An award in an open payment batch is refused (`award_in_payment`): the batch holds its
    money until it is marked paid. A paid award first refills `P:award:F` from
    `P:receivable:firm-F` (what the firm owes); then the approval entry is reversed,
    returning the amount to `P:budget`.
    """
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise InvalidInput("reason: say why (1–500 characters)", field="reason")
    row = award_row(session, award_id, lock=True)
    if row.status == "clawed_back":
        raise Conflict(f"award {row.id} was already clawed back", code="already_clawed_back")
    if row.status == "in_payment":
        raise Conflict(f"award {row.id} is in open payment batch {row.batch_id}; claw it back "
                       "once the batch is paid", code="award_in_payment", batch_id=row.batch_id)
    if row.status not in ("approved", "paid"):
        raise Conflict(f"award {row.id} is {row.status}; only an approved or paid award is "
                       "clawed back", code=f"award_{row.status}")
    if by.user_id == row.recorded_by_user:
        raise PermissionDenied("maker-checker: whoever recorded the application may not claw "
                               "it back", code="self_approval")
    assert row.approve_entry_id is not None
    code = _code(session, row)
    ref = f"award:{row.id}"
    if row.status == "paid":
        receivable = receivable_account(code, row.firm_id)
        ensure_account(session, receivable, code, limited=False)
        post_entry(session, EntryRequest(
            (Move(award_account(code, row.firm_id), receivable, row.amount_fen),),
            flow=FLOW_RECEIVABLE, ref=ref, actor=by.label, memo=reason))
    entry = reverse_entry(session, row.approve_entry_id, flow=FLOW_CLAWBACK, ref=ref,
                          actor=by.label, memo=reason)
    row.status = "clawed_back"
    row.clawback_entry_id = entry.id
    row.clawback_reason = reason
    row.updated_at = now()
    session.flush()
    return _view(row, code)


def get_award(session: Session, award_id: int, *, firm_id: int | None = None) -> AwardView:
    """One award; a firm (`firm_id`) sees only its own."""
    row = award_row(session, award_id, firm_id=firm_id)
    return _view(row, _code(session, row))


def _conditions(
    session: Session, programme: str | None, tier: str | None, status: str | None,
    city: str | None, year: int | None, firm_id: int | None,
) -> list[object]:
    condition: list[object] = []
    if programme is not None:
        condition.append(Award.programme_id == award_programme(session, programme).id)
    if tier is not None:
        if tier not in TIERS:
            raise InvalidInput(f"tier: one of {', '.join(TIERS)}", field="tier")
        condition.append(Award.tier == tier)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"status: one of {', '.join(STATUSES)}", field="status")
        condition.append(Award.status == status)
    if city is not None:
        condition.append(Award.firm_id.in_(
            select(Firm.id).where(Firm.city == normalise_city(city))))
    if year is not None:
        condition.append(Award.certified_year == year)
    if firm_id is not None:
        condition.append(Award.firm_id == firm_id)
    return condition


def list_awards(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    programme: str | None = None,
    tier: str | None = None,
    status: str | None = None,
    city: str | None = None,
    year: int | None = None,
    firm_id: int | None = None,
    q: str | None = None,
) -> Page[AwardView]:
    """Awards newest first, filtered (year = the certification's calendar year; `q` a prefix
    of the firm's name or credit code)."""
    check_page(limit, offset)
    condition = _conditions(session, programme, tier, status, city, year, firm_id)
    if q is not None:
        condition.append(Award.firm_id.in_(firms_matching(q)))
    total = session.scalar(select(func.count()).select_from(Award).where(*condition)) or 0
    rows = session.execute(
        select(Award, Programme.code, Firm.name)
        .join(Programme, Programme.id == Award.programme_id)
        .join(Firm, Firm.id == Award.firm_id)
        .where(*condition).order_by(Award.id.desc()).limit(limit).offset(offset)
    ).all()
    return Page([_view(a, code, name) for a, code, name in rows], total, limit, offset)


def totals_by_tier(
    session: Session,
    *,
    programme: str | None = None,
    tier: str | None = None,
    status: str | None = None,
    city: str | None = None,
    year: int | None = None,
    firm_id: int | None = None,
) -> list[TierTotal]:
    """Count and amount per tier of the awards the filters select, summed in SQL."""
    condition = _conditions(session, programme, tier, status, city, year, firm_id)
    order = case({t: i for i, t in enumerate(TIERS)}, value=Award.tier)
    rows = session.execute(
        select(Award.tier, func.count(), func.coalesce(func.sum(Award.amount_fen), 0))
        .where(*condition).group_by(Award.tier).order_by(order)
    ).all()
    return [TierTotal(t, int(n), int(amount)) for t, n, amount in rows]
