"""Evidence files: stored once by content (SHA-256), attached to claims, never changed.

A file must be non-empty, at most MAX_BYTES, and a PDF, JPEG or PNG as its first bytes
show (the declared type is not trusted). Both tables are append-only (database triggers).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, insert, select
from sqlalchemy.exc import IntegrityError
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


def sniff(data: bytes) -> str:
    """The content type the bytes show, or InvalidInput."""
    for magic, content_type in SIGNATURES:
        if data.startswith(magic):
            return content_type
    raise InvalidInput("evidence must be a PDF, JPEG or PNG file", code="evidence_type")


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
    return sniff(upload.data)


def keep(session: Session, upload: Upload, kinds: tuple[str, ...] = KINDS) -> EvidenceView:
    """Check the file and store its bytes under their SHA-256 (once); attach nothing.

    Other rooms (voucher applications, awards) attach the returned digest in tables of
    their own.
    """
    content_type = check_upload(upload, kinds)
    digest = hashlib.sha256(upload.data).hexdigest()
    if session.get(EvidenceFile, digest) is None:
        try:
            # A savepoint: the same file stored at once by another transaction is no error.
            with session.begin_nested():
                session.execute(insert(EvidenceFile).values(
                    sha256=digest, size=len(upload.data), content_type=content_type,
                    data=upload.data, stored_at=now()))
        except IntegrityError:
            pass
    name = (upload.filename or upload.kind)[-200:]
    return EvidenceView(upload.kind, name, content_type, len(upload.data), digest)


def file_bytes(session: Session, sha256: str) -> bytes:
    """The stored bytes of the file with this SHA-256, or NotFound."""
    row = session.get(EvidenceFile, sha256)
    if row is None:
        raise NotFound(f"no file {sha256}")
    return row.data


def store(session: Session, claim_id: int, upload: Upload) -> EvidenceView:
    """Store the file under its SHA-256 (once) and attach it to the claim."""
    view = keep(session, upload)
    session.add(ClaimEvidence(claim_id=claim_id, kind=upload.kind, filename=view.filename,
                              sha256=view.sha256, attached_at=now()))
    session.flush()
    return view


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
