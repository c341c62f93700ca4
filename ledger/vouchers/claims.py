"""Claims: after a confirmed completion the provider claims payment with its evidence.

The policy decides (deadline after completion, required evidence, amount); an approver who
neither filed the claim nor booked the service approves or rejects it with a reason.
Maker-checker is enforced here, whatever channel calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Row,
    Select,
    String,
    bindparam,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from ledger.core.acting import By, now, today
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from ledger.core.paging import Page, check_page, count_of, ids_of_page
from ledger.programmes.decisions import refused
from ledger.programmes.programme import Programme, policies
from ledger.registry import evidence
from ledger.registry.firms import Firm
from ledger.registry.names import firms_matching, providers_matching
from ledger.registry.providers import Provider
from ledger.vouchers.redemptions import Redemption, serial_matching
from ledger.vouchers.voucher import Voucher

STATUSES = ("filed", "approved", "rejected", "paid", "withdrawn")


class Claim(Base):
    """A provider's claim for one completed redemption."""

    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint("status IN ('filed', 'approved', 'rejected', 'paid', 'withdrawn')",
                        name="status_known"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemptions.id"), unique=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)
    filed_on: Mapped[dt.date] = mapped_column(Date)
    filed_by_user: Mapped[int] = mapped_column(BigInteger)
    filed_by: Mapped[str] = mapped_column(String(160))
    decided_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    batch_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The table itself, for the filing's Core INSERT (no ORM unit of work on the hot path).
_CLAIMS = Claim.__table__


@dataclass(frozen=True)
class ClaimView:
    """A claim with its evidence."""

    id: int
    programme: str
    redemption_id: int
    provider_id: int
    amount_fen: int
    status: str
    filed_on: dt.date
    decided_by: str | None
    reason: str
    batch_id: int | None
    evidence: tuple[evidence.EvidenceView, ...]
    provider_name: str = ""
    firm_name: str = ""
    voucher_serial: str = ""


def _view(row: Any, programme: str, files: Sequence[evidence.EvidenceView],
          names: tuple[str, str, str]) -> ClaimView:
    return ClaimView(row.id, programme, row.redemption_id, row.provider_id, row.amount_fen,
                     row.status, row.filed_on, row.decided_by, row.reason, row.batch_id,
                     tuple(files), *names)


def _named(query: Select[Any]) -> Select[Any]:
    """The query joined to the names a claim shows: provider, firm and voucher serial."""
    return (query.join(Redemption, Redemption.id == Claim.redemption_id)
            .join(Provider, Provider.id == Claim.provider_id)
            .join(Firm, Firm.id == Redemption.firm_id)
            .join(Voucher, Voucher.id == Redemption.voucher_id))


# The statements of the filing and the decision, built once (bound values named): each call
# only binds its values and runs the cached compiled form.
_FILING = (
    select(Redemption.id, Redemption.provider_id, Redemption.status, Redemption.confirmed_at,
           Redemption.completed_on, Redemption.amount_fen, Redemption.programme_id,
           Programme.code, Programme.policy, Provider.name.label("provider_name"),
           Firm.name.label("firm_name"), Voucher.serial,
           select(Claim.id).where(Claim.redemption_id == Redemption.id).exists()
           .label("claimed"))
    .join(Programme, Programme.id == Redemption.programme_id)
    .join(Provider, Provider.id == Redemption.provider_id)
    .join(Firm, Firm.id == Redemption.firm_id)
    .join(Voucher, Voucher.id == Redemption.voucher_id)
    .where(Redemption.id == bindparam("redemption_id"))
    # The redemption stays as read until the claim is in (a clawback waits).
    .with_for_update(of=Redemption))
"""What a claim is filed on: the redemption's state, the programme's policy, whether it is
claimed, the names the claim shows; one statement, the redemption's row locked."""

# The claim's INSERT; a redemption claimed meanwhile inserts nothing (its unique key).
_FILE = {
    "sqlite": sqlite.insert(_CLAIMS).on_conflict_do_nothing(index_elements=["redemption_id"])
    .returning(_CLAIMS.c.id),
    "postgresql": postgresql.insert(_CLAIMS)
    .on_conflict_do_nothing(index_elements=["redemption_id"]).returning(_CLAIMS.c.id),
}

_DECIDING = (
    _named(select(Claim.id, Claim.redemption_id, Claim.provider_id, Claim.amount_fen,
                  Claim.status, Claim.filed_on, Claim.batch_id, Claim.filed_by_user,
                  Redemption.booked_by_user, Programme.code,
                  Provider.name.label("provider_name"), Firm.name.label("firm_name"),
                  Voucher.serial, evidence.ClaimEvidence.kind,
                  evidence.ClaimEvidence.filename, evidence.EvidenceFile.content_type,
                  evidence.EvidenceFile.size, evidence.EvidenceFile.sha256)
           .join(Programme, Programme.id == Claim.programme_id))
    .outerjoin(evidence.ClaimEvidence, evidence.ClaimEvidence.claim_id == Claim.id)
    .outerjoin(evidence.EvidenceFile,
               evidence.EvidenceFile.sha256 == evidence.ClaimEvidence.sha256)
    .where(Claim.id == bindparam("claim_id")).order_by(evidence.ClaimEvidence.id)
    .with_for_update(of=Claim))
"""The claim with its row locked, who booked its service, the names it shows and its
evidence (a row per file, in the order attached): one statement."""

_DECISION = ("status", "decided_by", "decided_at", "reason")
_DECIDED = (update(_CLAIMS).where(_CLAIMS.c.id == bindparam("claim_id"))
            .values({name: bindparam(name) for name in _DECISION}))


def view(session: Session, row: Claim) -> ClaimView:
    """The plain view of a claim row, with the provider's and firm's names and the serial."""
    code, provider, firm, serial = session.execute(_named(
        select(Programme.code, Provider.name, Firm.name, Voucher.serial)
        .select_from(Claim).join(Programme, Programme.id == Claim.programme_id))
        .where(Claim.id == row.id)).one()
    return _view(row, code, evidence.attached(session, row.id), (provider, firm, serial))


def file_claim(
    session: Session,
    redemption_id: int,
    *,
    provider_id: int,
    files: Sequence[evidence.Upload],
    by: By,
    on: dt.date | None = None,
) -> ClaimView:
    """File a claim for a completed, firm-confirmed redemption, with its evidence files."""
    from rules import ClaimFacts, decide_claim

    day = on or today()
    # The files are checked and hashed before the redemption's row is locked; a bad file is
    # reported after the redemption's own refusals, as it always was.
    described, bad_file = _described(files)
    facts = _filing_facts(session, redemption_id, provider_id)
    if facts.status != "completed":
        raise Conflict(f"redemption {facts.id} is {facts.status}, not completed",
                       code="not_completed")
    if facts.confirmed_at is None:
        raise Conflict(f"the firm has not confirmed redemption {facts.id}", code="not_confirmed")
    if facts.claimed:
        raise Conflict(f"redemption {facts.id} is already claimed", code="already_claimed")
    if bad_file is not None:
        raise bad_file
    assert facts.completed_on is not None
    decision = decide_claim(policies(), ClaimFacts(
        programme=facts.policy, on=day, completed_on=facts.completed_on,
        evidence=tuple(f.kind for f in files), claimed_fen=facts.amount_fen,
        booked_fen=facts.amount_fen))
    if not decision.allowed:
        raise refused(decision)
    claim_id = _insert_claim(session, facts, provider_id, by, day)
    evidence.keep_all(session, list(zip(files, described, strict=True)))
    evidence.attach(session, claim_id, described)
    return ClaimView(claim_id, facts.code, facts.id, provider_id, facts.amount_fen, "filed", day,
                     None, "", None, tuple(described), facts.provider_name, facts.firm_name,
                     facts.serial)


def _described(files: Sequence[evidence.Upload]
               ) -> tuple[list[evidence.EvidenceView], DomainError | None]:
    """The files checked and described, or the first refusal among them (one per kind)."""
    kinds = [f.kind for f in files]
    if len(set(kinds)) != len(kinds):
        return [], InvalidInput("one file per evidence kind", field="files")
    try:
        return [evidence.described(upload) for upload in files], None
    except DomainError as refusal:
        return [], refusal


def _filing_facts(session: Session, redemption_id: int, provider_id: int) -> Row[Any]:
    """What a claim is filed on (`_FILING`), or NotFound (also when another provider's)."""
    row = session.execute(_FILING, {"redemption_id": redemption_id}).first()
    if row is None or row.provider_id != provider_id:
        raise NotFound(f"no redemption {redemption_id}", redemption_id=redemption_id)
    return row


def _insert_claim(session: Session, facts: Row[Any], provider_id: int, by: By,
                  day: dt.date) -> int:
    """Insert the filed claim and return its id; Conflict if another transaction claimed the
    redemption since the facts were read (its claim was not yet committed then)."""
    claim_id = session.scalar(_FILE[session.get_bind().dialect.name], {
        "redemption_id": facts.id, "programme_id": facts.programme_id,
        "provider_id": provider_id, "amount_fen": facts.amount_fen, "status": "filed",
        "filed_on": day, "filed_by_user": by.user_id, "filed_by": by.label, "reason": "",
        "created_at": now()})
    if claim_id is None:
        raise Conflict(f"redemption {facts.id} is already claimed", code="already_claimed")
    return int(claim_id)


def claim_row(
    session: Session, claim_id: int, *, provider_id: int | None = None, lock: bool = False
) -> Claim:
    """The claim, or NotFound (also when it is not the given provider's)."""
    statement = select(Claim).where(Claim.id == claim_id)
    if lock:
        statement = statement.with_for_update()
    row = session.execute(statement).scalar_one_or_none()
    if row is None or (provider_id is not None and row.provider_id != provider_id):
        raise NotFound(f"no claim {claim_id}", claim_id=claim_id)
    return row


def _deciding_facts(session: Session, claim_id: int) -> list[Row[Any]]:
    """The claim and what its decision needs (`_DECIDING`), or NotFound."""
    rows = session.execute(_DECIDING, {"claim_id": claim_id}).all()
    if not rows:
        raise NotFound(f"no claim {claim_id}", claim_id=claim_id)
    return list(rows)


def _decide(session: Session, claim_id: int, by: By, reason: str, status: str) -> ClaimView:
    if not isinstance(reason, str) or len(reason) > 500:
        raise InvalidInput("reason: at most 500 characters", field="reason")
    rows = _deciding_facts(session, claim_id)
    row = rows[0]
    if by.user_id in (row.filed_by_user, row.booked_by_user):
        raise PermissionDenied("maker-checker: the approver filed this claim or booked its "
                               "service", code="self_approval")
    if row.status != "filed":
        raise Conflict(f"claim {row.id} is {row.status}, not filed", code=f"claim_{row.status}")
    session.execute(_DECIDED, {"claim_id": row.id, "status": status, "decided_by": by.label,
                               "decided_at": now(), "reason": reason})
    # A claim the session holds as an object reads the decision on its next use.
    held = session.identity_map.get(session.identity_key(Claim, row.id))
    if held is not None:
        session.expire(held, list(_DECISION))
    files = tuple(evidence.EvidenceView(r.kind, r.filename, r.content_type, r.size, r.sha256)
                  for r in rows if r.kind is not None)
    return ClaimView(row.id, row.code, row.redemption_id, row.provider_id, row.amount_fen,
                     status, row.filed_on, by.label, reason, row.batch_id, files,
                     row.provider_name, row.firm_name, row.serial)


def approve(session: Session, claim_id: int, *, by: By, reason: str = "") -> ClaimView:
    """Approve a filed claim (not by whoever filed it or booked its service)."""
    return _decide(session, claim_id, by, reason, "approved")


def reject(session: Session, claim_id: int, *, by: By, reason: str) -> ClaimView:
    """Reject a filed claim with a reason (not by whoever filed it or booked its service)."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("reason: say why the claim is rejected", field="reason")
    return _decide(session, claim_id, by, reason, "rejected")


def get_claim(session: Session, claim_id: int, *, provider_id: int | None = None) -> ClaimView:
    """One claim; a provider sees only its own."""
    return view(session, claim_row(session, claim_id, provider_id=provider_id))


# What a list row reads of a claim (the columns `_view` shows, not the whole mapped row).
_LISTED = (Claim.id, Claim.redemption_id, Claim.provider_id, Claim.amount_fen, Claim.status,
           Claim.filed_on, Claim.decided_by, Claim.reason, Claim.batch_id)
# The claim's redemption probed by a search, aliased once (see redemptions._SERIAL_VOUCHER).
_CLAIMED = aliased(Redemption, name="claimed_redemption")


def list_claims(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    provider_id: int | None = None,
    status: str | None = None,
    q: str | None = None,
) -> Page[ClaimView]:
    """Claims newest first, filtered (`q`: a prefix of the provider's or the firm's name or
    credit code, or of the voucher's serial)."""
    check_page(limit, offset)
    condition = []
    if provider_id is not None:
        condition.append(Claim.provider_id == provider_id)
    if status is not None:
        condition.append(Claim.status == status)
    if q is not None:
        # The claim's redemption probed by its key (the serial by the voucher's key too):
        # `IN (serials matching)` built a list of every voucher for a short prefix.
        redemption = _CLAIMED
        condition.append(or_(Claim.provider_id.in_(providers_matching(q)),
                             exists().where(
                                 redemption.id == Claim.redemption_id,
                                 or_(redemption.firm_id.in_(firms_matching(q)),
                                     serial_matching(q, redemption.voucher_id))
                             ).correlate_except(redemption)))
    # The page's ids from the claims alone, then the names for just those rows: joined
    # first, the engine paired every claim with every redemption before the filter.
    ids = select(Claim.id).where(*condition)
    total = count_of(session, ids)
    page = ids_of_page(session, ids, limit=limit, offset=offset, total=total)
    rows = session.execute(_named(
        select(*_LISTED, Programme.code, Provider.name, Firm.name, Voucher.serial)
        .join(Programme, Programme.id == Claim.programme_id))
        .where(Claim.id.in_(page)).order_by(Claim.id.desc())).all() if page else []
    # The page's evidence in one query, not one per claim.
    files = evidence.attached_to(session, [row.id for row in rows])
    return Page([_view(row, row[-4], files.get(row.id, []), tuple(row[-3:]))  # type: ignore[arg-type]
                 for row in rows], total, limit, offset)
