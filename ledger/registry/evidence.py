"""Evidence files: stored once by content (SHA-256), attached to claims, never changed.

A file must be non-empty, at most MAX_BYTES, and a PDF, JPEG or PNG as its first bytes
show (the declared type is not trusted). Both tables are append-only (database triggers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.acting import now
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import InvalidInput, NotFound

MAX_BYTES = 10 * 1024 * 1024
KINDS = ("contract", "invoice", "service_report")
# Magic numbers of the accepted types.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


class EvidenceFile(Base):
    """The bytes of one file, keyed by their SHA-256."""

    __tablename__ = "evidence_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClaimEvidence(Base):
    """A file attached to a claim as one kind of evidence."""

    __tablename__ = "claim_evidence"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"))
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Built once. ON CONFLICT DO NOTHING, not a read and a savepoint per file: bytes already
# stored, or inserted at once by another transaction, are the same row. (A file stored before
# is sent again and skipped: files are seldom given twice, a round trip is saved each time.)
_STORE = {
    "sqlite": sqlite.insert(EvidenceFile.__table__).on_conflict_do_nothing(
        index_elements=["sha256"]),
    "postgresql": postgresql.insert(EvidenceFile.__table__).on_conflict_do_nothing(
        index_elements=["sha256"]),
}
_ATTACH = insert(ClaimEvidence.__table__)


@dataclass(frozen=True)
class Upload:
    """A file as received: its evidence kind, name and bytes."""

    kind: str
    filename: str
    data: bytes


@dataclass(frozen=True)
class EvidenceView:
    """An attached file: kind, name, type, size and SHA-256."""

    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str


def sniff(data: bytes, field: str | None = None) -> str:
    """The content type the bytes show, or InvalidInput (naming `field`, the file's kind)."""
    for magic, content_type in SIGNATURES:
        if data.startswith(magic):
            return content_type
    prefix = "" if field is None else f"{field}: "
    raise InvalidInput(f"{prefix}evidence must be a PDF, JPEG or PNG file", code="evidence_type",
                       field=field)


def check_upload(upload: Upload, kinds: tuple[str, ...] = KINDS) -> str:
    """Refuse an unknown kind, an empty, oversized or untyped file; return its content type."""
    if upload.kind not in kinds:
        raise InvalidInput(f"evidence kind must be one of {', '.join(kinds)}", field="kind")
    if not upload.data:
        raise InvalidInput(f"{upload.kind}: the file is empty", code="evidence_empty",
                           field=upload.kind)
    if len(upload.data) > MAX_BYTES:
        raise InvalidInput(f"{upload.kind}: larger than {MAX_BYTES} bytes",
                           code="evidence_too_large", field=upload.kind)
    return sniff(upload.data, upload.kind)


def described(upload: Upload, kinds: tuple[str, ...] = KINDS) -> EvidenceView:
    """Check the file and describe it (name, type, size, SHA-256); nothing is stored."""
    content_type = check_upload(upload, kinds)
    name = (upload.filename or upload.kind)[-200:]
    return EvidenceView(upload.kind, name, content_type, len(upload.data),
                        hashlib.sha256(upload.data).hexdigest())


def keep(session: Session, upload: Upload, kinds: tuple[str, ...] = KINDS) -> EvidenceView:
    """Check the file and store its bytes under their SHA-256 (once); attach nothing.

    Other rooms (voucher applications, awards) attach the returned digest in tables of
    their own.
    """
    view = described(upload, kinds)
    keep_all(session, [(upload, view)])
    return view


def keep_all(session: Session, files: Sequence[tuple[Upload, EvidenceView]]) -> None:
    """Store the bytes of described files under their SHA-256, once: one statement, which
    skips those already stored (by this or a concurrent transaction)."""
    wanted = {view.sha256: (upload, view) for upload, view in files}
    if not wanted:
        return
    stamp = now()
    session.execute(_STORE[session.get_bind().dialect.name], [
        {"sha256": view.sha256, "size": view.size, "content_type": view.content_type,
         "data": upload.data, "stored_at": stamp} for upload, view in wanted.values()])


def file_bytes(session: Session, sha256: str) -> bytes:
    """The stored bytes of the file with this SHA-256, or NotFound."""
    row = session.get(EvidenceFile, sha256)
    if row is None:
        raise NotFound(f"no file {sha256}")
    return row.data


def attach(session: Session, claim_id: int, files: Sequence[EvidenceView]) -> None:
    """Attach files already kept (`keep_all`) to the claim, in their order: one insert."""
    if not files:
        return
    stamp = now()
    session.execute(_ATTACH, [
        {"claim_id": claim_id, "kind": view.kind, "filename": view.filename,
         "sha256": view.sha256, "attached_at": stamp} for view in files])


def attached(session: Session, claim_id: int) -> list[EvidenceView]:
    """The claim's evidence, in the order attached."""
    rows = session.execute(
        select(ClaimEvidence.kind, ClaimEvidence.filename, EvidenceFile.content_type,
               EvidenceFile.size, EvidenceFile.sha256)
        .join(EvidenceFile, EvidenceFile.sha256 == ClaimEvidence.sha256)
        .where(ClaimEvidence.claim_id == claim_id).order_by(ClaimEvidence.id)
    ).all()
    return [EvidenceView(*r) for r in rows]


def attached_to(session: Session, claim_ids: list[int]) -> dict[int, list[EvidenceView]]:
    """The evidence of several claims (a page of them), by claim, each in the order attached."""
    found: dict[int, list[EvidenceView]] = {}
    if not claim_ids:
        return found
    rows = session.execute(
        select(ClaimEvidence.claim_id, ClaimEvidence.kind, ClaimEvidence.filename,
               EvidenceFile.content_type, EvidenceFile.size, EvidenceFile.sha256)
        .join(EvidenceFile, EvidenceFile.sha256 == ClaimEvidence.sha256)
        .where(ClaimEvidence.claim_id.in_(claim_ids)).order_by(ClaimEvidence.id)
    ).all()
    for claim_id, *fields in rows:
        found.setdefault(claim_id, []).append(EvidenceView(*fields))
    return found


def read(session: Session, claim_id: int, kind: str) -> tuple[EvidenceView, bytes]:
    """The file attached to the claim as `kind`, and its bytes."""
    row = session.execute(
        select(ClaimEvidence.kind, ClaimEvidence.filename, EvidenceFile.content_type,
               EvidenceFile.size, EvidenceFile.sha256, EvidenceFile.data)
        .join(EvidenceFile, EvidenceFile.sha256 == ClaimEvidence.sha256)
        .where(ClaimEvidence.claim_id == claim_id, ClaimEvidence.kind == kind)
    ).first()
    if row is None:
        raise NotFound(f"claim {claim_id} has no {kind}")
    return EvidenceView(*row[:5]), row[5]
