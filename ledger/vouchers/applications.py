"""Voucher applications (申领): a firm applies in a window the policy file states; an approver
approves (the voucher is issued in the same transaction) or rejects with a reason.

The policy decides at application time (`rules.decide_application`): window, eligibility,
one pending or approved application per firm and window, an amount the window offers, the
firm's yearly cap and the documents to attach. A refused application is kept too (status
`refused`, with its trace), written in a transaction of its own like the operation log's
refusals, so the firm and the bureau see why.

Who reviews: the approver. Approving an application spends budget on a firm's request, as
approving an award does; the approver's queue is where the bureau decides what others asked
for, while operators keep issuing vouchers directly (a paper application). The reviewer is
never the applicant's own user (maker-checker, checked on the user id).
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
    Index,
    String,
    func,
    select,
    union,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.acting import By, now, today
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ledger.core.paging import MAX_ID, Page, check_page, count_of, ids_of_page
from ledger.core.search import starts_with
from ledger.programmes.decisions import refused
from ledger.programmes.programme import Programme, policies, programme_row
from ledger.registry.evidence import EvidenceView, Upload, file_bytes, keep
from ledger.registry.firms import Firm
from ledger.registry.names import firms_matching
from ledger.vouchers.voucher import Voucher, firm_facts, issue_in_programme
from rules import ApplicationFacts, Decision, PolicySet, application_window, decide_application
from rules.schema import APPLICATION_DOCUMENTS

STATUSES = ("applied", "approved", "rejected", "refused")
# Applications that hold the firm's place in a window ("a second application" is refused).
HOLDING = ("applied", "approved")
DOCUMENTS = APPLICATION_DOCUMENTS


class VoucherApplication(Base):
    """A firm's application for a voucher in one window, its decision and its review."""

    __tablename__ = "voucher_applications"
    __table_args__ = (
        CheckConstraint("status IN ('applied', 'approved', 'rejected', 'refused')",
                        name="status_known"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        CheckConstraint("(status = 'approved') = (voucher_id IS NOT NULL)",
                        name="voucher_iff_approved"),
        Index("ix_voucher_applications_firm_window", "firm_id", "programme_id", "window_id"),
        # `q` by the serial of the voucher an approval issued.
        Index("ix_voucher_applications_voucher_id", "voucher_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    # The window open on the day applied (None when none was: refused outside a window).
    # (`window` is a reserved word in SQL, hence the column's name.)
    window: Mapped[str | None] = mapped_column("window_id", String(32), nullable=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)
    code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision: Mapped[dict[str, object]] = mapped_column(JSON)
    applied_on: Mapped[dt.date] = mapped_column(Date)
    applicant_user: Mapped[int] = mapped_column(BigInteger)
    applicant: Mapped[str] = mapped_column(String(160))
    reviewed_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApplicationDocument(Base):
    """A file attached to an application (append-only: a trigger refuses change)."""

    __tablename__ = "application_documents"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("voucher_applications.id"),
                                                index=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"))
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class ApplicationView:
    """An application as services return it; `decision` carries the policy's trace."""

    id: int
    programme: str
    firm_id: int
    firm_name: str
    window: str | None
    amount_fen: int
    status: str
    code: str | None
    decision: dict[str, object]
    applied_on: dt.date
    applicant: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    reason: str
    voucher_id: int | None
    voucher_serial: str | None
    documents: list[EvidenceView]


def _documents(session: Session, ids: list[int]) -> dict[int, list[EvidenceView]]:
    from ledger.registry.evidence import EvidenceFile

    found: dict[int, list[EvidenceView]] = {}
    if not ids:
        return found
    rows = session.execute(
        select(ApplicationDocument.application_id, ApplicationDocument.kind,
               ApplicationDocument.filename, EvidenceFile.content_type, EvidenceFile.size,
               EvidenceFile.sha256)
        .join(EvidenceFile, EvidenceFile.sha256 == ApplicationDocument.sha256)
        .where(ApplicationDocument.application_id.in_(ids)).order_by(ApplicationDocument.id)
    ).all()
    for application_id, *fields in rows:
        found.setdefault(application_id, []).append(EvidenceView(*fields))
    return found


def _views(session: Session, rows: list[VoucherApplication]) -> list[ApplicationView]:
    """Views of several applications with their names, serials and documents in few queries."""
    ids = [r.id for r in rows]
    docs = _documents(session, ids)
    codes = dict(session.execute(select(Programme.id, Programme.code).where(
        Programme.id.in_({r.programme_id for r in rows}))).all()) if rows else {}
    names = dict(session.execute(select(Firm.id, Firm.name).where(
        Firm.id.in_({r.firm_id for r in rows}))).all()) if rows else {}
    voucher_ids = {r.voucher_id for r in rows if r.voucher_id is not None}
    serials = dict(session.execute(select(Voucher.id, Voucher.serial).where(
        Voucher.id.in_(voucher_ids))).all()) if voucher_ids else {}
    return [ApplicationView(
        r.id, codes.get(r.programme_id, ""), r.firm_id, names.get(r.firm_id, ""), r.window,
        r.amount_fen, r.status, r.code, dict(r.decision), r.applied_on, r.applicant,
        r.reviewed_by, r.reviewed_at, r.reason, r.voucher_id,
        serials.get(r.voucher_id) if r.voucher_id is not None else None, docs.get(r.id, []),
    ) for r in rows]


def _view(session: Session, row: VoucherApplication) -> ApplicationView:
    return _views(session, [row])[0]


def _check_amount(amount_fen: object) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise InvalidInput("amount: a positive amount", field="amount")
    return amount_fen


def _decide(
    session: Session, programme: str, firm_id: int, amount_fen: int,
    documents: tuple[str, ...], day: dt.date, policy_set: PolicySet | None,
) -> tuple[Programme, Decision]:
    """Gather the facts (with the firm's row locked) and ask the policy."""
    prog = programme_row(session, programme)
    # One application at a time per firm: the lock serialises "a second in the same window".
    if session.execute(select(Firm.id).where(Firm.id == firm_id).with_for_update()).first() \
            is None:
        raise NotFound(f"no firm {firm_id}", firm_id=firm_id)
    status, certs = firm_facts(session, firm_id)
    windows = tuple(w for (w,) in session.execute(
        select(VoucherApplication.window).where(
            VoucherApplication.firm_id == firm_id, VoucherApplication.programme_id == prog.id,
            VoucherApplication.status.in_(HOLDING), VoucherApplication.window.is_not(None))
        .distinct()))
    issued = session.scalar(select(func.coalesce(func.sum(Voucher.amount_fen), 0)).where(
        Voucher.firm_id == firm_id, Voucher.programme_id == prog.id,
        Voucher.issued_year == day.year)) or 0
    decision = decide_application(policy_set or policies(), ApplicationFacts(
        programme=prog.policy, on=day, amount_fen=amount_fen, documents=documents,
        firm_status=status, firm_certifications=certs, firm_windows_applied=windows,
        firm_issued_this_year_fen=int(issued)))
    return prog, decision


def _row(prog: Programme, firm_id: int, decision: Decision, amount_fen: int, day: dt.date,
         by: By, status: str) -> VoucherApplication:
    stamp = now()
    return VoucherApplication(
        programme_id=prog.id, firm_id=firm_id, window=decision.window, amount_fen=amount_fen,
        status=status, code=decision.code, decision=decision.to_dict(), applied_on=day,
        applicant_user=by.user_id, applicant=by.label, reason="", created_at=stamp,
        updated_at=stamp)


def apply_for_voucher(
    session: Session,
    programme: str,
    *,
    firm_id: int,
    amount_fen: int,
    documents: list[Upload],
    by: By,
    on: dt.date | None = None,
    policy_set: PolicySet | None = None,
) -> ApplicationView:
    """Record an application the policy allows (status applied) with its documents, or raise
    PolicyRefused carrying the decision (then call `record_refusal` in a new transaction)."""
    day = on or today()
    if day > today():
        raise InvalidInput("the application date lies in the future", field="on")
    amount = _check_amount(amount_fen)
    kinds = [d.kind for d in documents]
    if len(set(kinds)) != len(kinds):
        raise InvalidInput("each document is attached once", field="documents")
    checked = [keep(session, d, DOCUMENTS) for d in documents]
    prog, decision = _decide(session, programme, firm_id, amount, tuple(kinds), day, policy_set)
    if not decision.allowed:
        raise refused(decision)
    row = _row(prog, firm_id, decision, amount, day, by, "applied")
    session.add(row)
    session.flush()
    for view in checked:
        session.add(ApplicationDocument(application_id=row.id, kind=view.kind,
                                        filename=view.filename, sha256=view.sha256,
                                        attached_at=now()))
    session.flush()
    return _view(session, row)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def record_refusal(
    session: Session,
    programme: str,
    *,
    firm_id: int,
    amount_fen: int,
    decision: dict[str, object],
    by: By,
    on: dt.date | None = None,
) -> ApplicationView:
    """Keep a refused application (status refused, the policy's code and trace), no files."""
    prog = programme_row(session, programme)
    stamp = now()
    row = VoucherApplication(
        programme_id=prog.id, firm_id=firm_id, window=_text(decision.get("window")),
        amount_fen=amount_fen, status="refused",
        code=_text(decision.get("code")) or "policy_refused",
        decision=decision, applied_on=on or today(), applicant_user=by.user_id,
        applicant=by.label, reason="", created_at=stamp, updated_at=stamp)
    session.add(row)
    session.flush()
    return _view(session, row)


def application_row(session: Session, application_id: int, *, firm_id: int | None = None,
                    lock: bool = False) -> VoucherApplication:
    """The application, or NotFound (also when `firm_id` is given and it is another's)."""
    statement = select(VoucherApplication).where(VoucherApplication.id == application_id)
    if lock:
        statement = statement.with_for_update()
    row = session.execute(statement).scalar_one_or_none()
    if row is None or (firm_id is not None and row.firm_id != firm_id):
        raise NotFound(f"no application {application_id}", application_id=application_id)
    return row


def _reviewable(session: Session, application_id: int, by: By, reason: str
                ) -> VoucherApplication:
    if not isinstance(reason, str) or len(reason) > 500:
        raise InvalidInput("reason: at most 500 characters", field="reason")
    # Locked first: of two approvals racing, the second sees `approved` and is refused.
    row = application_row(session, application_id, lock=True)
    if by.user_id == row.applicant_user:
        raise PermissionDenied("maker-checker: the applicant may not review its own "
                               "application", code="self_approval")
    if row.status != "applied":
        raise Conflict(f"application {row.id} is {row.status}, not applied",
                       code=f"application_{row.status}")
    return row


def approve_application(session: Session, application_id: int, *, by: By, reason: str = "",
                        on: dt.date | None = None) -> ApplicationView:
    """Approve: the voucher is issued (`P:voucher:V` ← `P:budget`) in this same transaction.

    The issue policy decides again on the day of approval (`on`, default today: budget, the
    firm's status), so a refusal there leaves the application applied.
    """
    row = _reviewable(session, application_id, by, reason)
    voucher = issue_in_programme(session, row.programme_id, row.firm_id, row.amount_fen, by=by,
                                 issued_on=on)
    row.status = "approved"
    row.voucher_id = voucher.id
    row.reviewed_by = by.label
    row.reviewed_at = row.updated_at = now()
    row.reason = reason
    session.flush()
    return _view(session, row)


def reject_application(session: Session, application_id: int, *, by: By, reason: str
                       ) -> ApplicationView:
    """Reject with a reason; nothing is posted and the firm may apply again in the window."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("reason: say why the application is rejected", field="reason")
    row = _reviewable(session, application_id, by, reason)
    row.status = "rejected"
    row.reviewed_by = by.label
    row.reviewed_at = row.updated_at = now()
    row.reason = reason.strip()
    session.flush()
    return _view(session, row)


def get_application(session: Session, application_id: int, *, firm_id: int | None = None
                    ) -> ApplicationView:
    """One application; a firm (`firm_id`) sees only its own."""
    return _view(session, application_row(session, application_id, firm_id=firm_id))


def list_applications(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    programme: str | None = None,
    status: str | None = None,
    firm_id: int | None = None,
    q: str | None = None,
) -> Page[ApplicationView]:
    """Applications newest first (the review queue: `status='applied'`, oldest are last);
    `q`: a prefix of the firm's name or credit code or of the issued voucher's serial, or
    the application's number."""
    check_page(limit, offset)
    condition = []
    if programme is not None:
        condition.append(VoucherApplication.programme_id == programme_row(session, programme).id)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"status: one of {', '.join(STATUSES)}", field="status")
        condition.append(VoucherApplication.status == status)
    if firm_id is not None:
        condition.append(VoucherApplication.firm_id == firm_id)
    ids = select(VoucherApplication.id).where(*condition)
    if q is not None:
        # Each way of matching is one index's range (firm_id, voucher_id, the primary key).
        # The serial as a join, not `voucher_id IN (...)`: a short prefix ("V") names every
        # voucher, and a firm's few applications are better looked up one by one.
        ways = [ids.where(VoucherApplication.firm_id.in_(firms_matching(q))),
                ids.join(Voucher, Voucher.id == VoucherApplication.voucher_id)
                .where(starts_with(Voucher.serial, q.upper()))]
        if q.isdecimal() and int(q) <= MAX_ID:
            ways.append(ids.where(VoucherApplication.id == int(q)))
        found = union(*ways).subquery()
        ids = select(found.c.id)
    total = count_of(session, ids)
    page = ids_of_page(session, ids, limit=limit, offset=offset, total=total)
    rows = list(session.scalars(select(VoucherApplication)
                                .where(VoucherApplication.id.in_(page))
                                .order_by(VoucherApplication.id.desc()))) if page else []
    return Page(_views(session, rows), total, limit, offset)


def read_document(session: Session, application_id: int, kind: str, *,
                  firm_id: int | None = None) -> tuple[EvidenceView, bytes]:
    """The document of `kind` attached to the application, and its bytes."""
    view = next((d for d in get_application(session, application_id, firm_id=firm_id).documents
                 if d.kind == kind), None)
    if view is None:
        raise NotFound(f"application {application_id} has no {kind}")
    return view, file_bytes(session, view.sha256)


@dataclass(frozen=True)
class OpenWindow:
    """A voucher programme's window open on a day: what a firm may ask and must attach."""

    programme: str
    window: str
    name_zh: str
    opens: dt.date
    closes: dt.date
    amounts_fen: tuple[int, ...]
    documents: tuple[str, ...]


def open_windows(session: Session, *, on: dt.date | None = None,
                 policy_set: PolicySet | None = None) -> list[OpenWindow]:
    """Every voucher programme whose policy has a window open on `on` (default today)."""
    day = on or today()
    found = []
    for code, policy in session.execute(select(Programme.code, Programme.policy)
                                        .order_by(Programme.code)).all():
        window = application_window(policy_set or policies(), policy, day)
        if window is not None:
            found.append(OpenWindow(code, window.id, window.name_zh, window.opens,
                                    window.closes, tuple(sorted(window.amounts)),
                                    tuple(window.documents)))
    return found

