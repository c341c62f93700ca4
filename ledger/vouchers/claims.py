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
    Select,
    String,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from ledger.core.acting import By, now, today
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ledger.core.paging import Page, check_page, count_of, ids_of_page
from ledger.programmes.decisions import refused
from ledger.programmes.programme import Programme, policies
from ledger.registry import evidence
from ledger.registry.firms import Firm
from ledger.registry.names import firms_matching, providers_matching
from ledger.registry.providers import Provider
from ledger.vouchers.redemptions import Redemption, redemption_row, serial_matching
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
    red = redemption_row(session, redemption_id, provider_id=provider_id, lock=True)
    if red.status != "completed":
        raise Conflict(f"redemption {red.id} is {red.status}, not completed",
                       code="not_completed")
    if red.confirmed_at is None:
        raise Conflict(f"the firm has not confirmed redemption {red.id}", code="not_confirmed")
    if session.scalar(select(Claim.id).where(Claim.redemption_id == red.id)) is not None:
        raise Conflict(f"redemption {red.id} is already claimed", code="already_claimed")
    kinds = [f.kind for f in files]
    if len(set(kinds)) != len(kinds):
        raise InvalidInput("one file per evidence kind", field="files")
    for upload in files:
        evidence.check_upload(upload)
    prog = session.get(Programme, red.programme_id)
    assert prog is not None and red.completed_on is not None
    decision = decide_claim(policies(), ClaimFacts(
        programme=prog.policy, on=day, completed_on=red.completed_on, evidence=tuple(kinds),
        claimed_fen=red.amount_fen, booked_fen=red.amount_fen))
    if not decision.allowed:
        raise refused(decision)
    row = Claim(redemption_id=red.id, programme_id=red.programme_id, provider_id=provider_id,
                amount_fen=red.amount_fen, status="filed", filed_on=day,
                filed_by_user=by.user_id, filed_by=by.label, reason="", created_at=now())
    session.add(row)
    session.flush()
    for upload in files:
        evidence.store(session, row.id, upload)
    return view(session, row)


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


def _decide(session: Session, claim_id: int, by: By, reason: str, status: str) -> ClaimView:
    if not isinstance(reason, str) or len(reason) > 500:
        raise InvalidInput("reason: at most 500 characters", field="reason")
    row = claim_row(session, claim_id, lock=True)
    red = redemption_row(session, row.redemption_id)
    if by.user_id in (row.filed_by_user, red.booked_by_user):
        raise PermissionDenied("maker-checker: the approver filed this claim or booked its "
                               "service", code="self_approval")
    if row.status != "filed":
        raise Conflict(f"claim {row.id} is {row.status}, not filed", code=f"claim_{row.status}")
    row.status = status
    row.decided_by = by.label
    row.decided_at = now()
    row.reason = reason
    session.flush()
    return view(session, row)


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
