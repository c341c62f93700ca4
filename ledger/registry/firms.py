"""Firms (科技型中小企业 and others): registration, status and certifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.base import Base, BigIntPK
from ledger.core.errors import AlreadyExists, InvalidInput, NotFound
from ledger.core.paging import Page, check_page
from ledger.registry.parties import (
    PartyColumns,
    PartyData,
    check_party,
    check_status,
    normalise_city,
    party_data_of,
    party_values,
)

# Aligned with rules/: `tech_sme` is the voucher eligibility, the rest are award tiers
# (plus 雏鹰 chuying, a certification that carries no award of its own).
CERTIFICATIONS: dict[str, str] = {
    "tech_sme": "科技型中小企业入库",
    "chuying": "雏鹰企业",
    "gazelle": "瞪羚企业",
    "unicorn": "独角兽企业",
    "specialised": "省级专精特新中小企业",
    "little_giant": "国家级专精特新“小巨人”企业",
}
MIN_YEAR, MAX_YEAR = 2000, 2100


class Firm(PartyColumns, Base):
    """A firm registered by the bureau, keyed by its credit code."""

    __tablename__ = "firms"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)


class FirmCertification(Base):
    """A certification a firm holds for a year, from the date it was granted."""

    __tablename__ = "firm_certifications"
    __table_args__ = (
        UniqueConstraint("firm_id", "kind", "year", name="uq_firm_certifications_firm_kind_year"),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in CERTIFICATIONS) + ")", name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    certified_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)


@dataclass(frozen=True)
class Certification:
    """A firm's certification as services return it."""

    kind: str
    year: int
    certified_on: date
    valid_until: date | None = None


@dataclass(frozen=True)
class FirmView:
    """A firm as services return it (bank account unmasked: the API masks for non-bureau)."""

    id: int
    party: PartyData
    status: str
    certifications: tuple[Certification, ...]
    created_at: datetime
    updated_at: datetime


def check_certification(cert: Certification) -> Certification:
    """Refuse an unknown kind, a year out of range or dates that contradict each other."""
    if cert.kind not in CERTIFICATIONS:
        raise InvalidInput(
            f"certification kind must be one of {', '.join(CERTIFICATIONS)}", field="kind"
        )
    if not MIN_YEAR <= cert.year <= MAX_YEAR:
        raise InvalidInput(f"year must be between {MIN_YEAR} and {MAX_YEAR}", field="year")
    if cert.valid_until is not None and cert.valid_until < cert.certified_on:
        raise InvalidInput("valid_until is before certified_on", field="valid_until")
    return cert


def _views(session: Session, rows: list[Firm]) -> list[FirmView]:
    """Views of `rows` with their certifications, fetched in one query."""
    ids = [r.id for r in rows]
    certs: dict[int, list[Certification]] = {i: [] for i in ids}
    if ids:
        for c in session.scalars(
            select(FirmCertification)
            .where(FirmCertification.firm_id.in_(ids))
            .order_by(FirmCertification.year, FirmCertification.kind)
        ):
            certs[c.firm_id].append(Certification(c.kind, c.year, c.certified_on, c.valid_until))
    return [
        FirmView(r.id, party_data_of(r), r.status, tuple(certs[r.id]), r.created_at, r.updated_at)
        for r in rows
    ]


def _row(session: Session, firm_id: int, *, lock: bool = False) -> Firm:
    query = select(Firm).where(Firm.id == firm_id)
    row = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise NotFound(f"no firm {firm_id}", firm_id=firm_id)
    return row


def get_firm(session: Session, firm_id: int) -> FirmView:
    """The firm with `firm_id`, or NotFound."""
    return _views(session, [_row(session, firm_id)])[0]


def find_firm_ids(session: Session, credit_codes: list[str]) -> dict[str, int]:
    """The ids of the firms among `credit_codes` that are registered."""
    query = select(Firm.credit_code, Firm.id).where(Firm.credit_code.in_(credit_codes))
    rows = session.execute(query)
    return {code: firm_id for code, firm_id in rows}


def get_firms(session: Session, firm_ids: list[int]) -> list[FirmView]:
    """The firms with these ids, in id order."""
    query = select(Firm).where(Firm.id.in_(firm_ids)).order_by(Firm.id)
    return _views(session, list(session.scalars(query)))


def create_firm(
    session: Session,
    data: PartyData,
    *,
    status: str = "active",
    certifications: tuple[Certification, ...] = (),
) -> FirmView:
    """Register a firm; its credit code must be valid and not yet registered."""
    clean = check_party(data)
    check_status(status)
    for cert in certifications:
        check_certification(cert)
    if session.scalar(select(Firm.id).where(Firm.credit_code == clean.credit_code)) is not None:
        raise AlreadyExists(
            f"a firm with credit code {clean.credit_code} is registered", field="credit_code"
        )
    now = datetime.now(UTC)
    firm = Firm(**party_values(clean), status=status, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(firm)
            session.flush()
            for cert in certifications:
                session.add(FirmCertification(firm_id=firm.id, kind=cert.kind, year=cert.year,
                                              certified_on=cert.certified_on,
                                              valid_until=cert.valid_until))
            session.flush()
    except IntegrityError as exc:  # a concurrent registration, or a certification listed twice
        raise AlreadyExists(
            f"firm {clean.credit_code} or one of its certifications already exists",
            field="credit_code",
        ) from exc
    return get_firm(session, firm.id)


def insert_firms(
    session: Session, rows: list[tuple[PartyData, str, tuple[Certification, ...]]]
) -> list[int]:
    """Insert many validated, unregistered firms at once (the CSV import's path); their ids."""
    if not rows:
        return []
    now = datetime.now(UTC)
    ids = list(session.scalars(
        insert(Firm).returning(Firm.id, sort_by_parameter_order=True),
        [{**party_values(p), "status": status, "created_at": now, "updated_at": now}
         for p, status, _ in rows],
    ))
    certs = [
        {"firm_id": firm_id, "kind": c.kind, "year": c.year, "certified_on": c.certified_on,
         "valid_until": c.valid_until}
        for firm_id, (_, _, certifications) in zip(ids, rows, strict=True)
        for c in certifications
    ]
    if certs:
        session.execute(insert(FirmCertification), certs)
    return ids


def list_firms(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    status: str | None = None,
    city: str | None = None,
    only_id: int | None = None,
) -> Page[FirmView]:
    """A page of firms in id order, optionally of one status, one city or one firm."""
    check_page(limit, offset)
    query = select(Firm)
    if status is not None:
        query = query.where(Firm.status == check_status(status))
    if city is not None:
        query = query.where(Firm.city == normalise_city(city))
    if only_id is not None:
        query = query.where(Firm.id == only_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(Firm.id).limit(limit).offset(offset)))
    return Page(_views(session, rows), total, limit, offset)


def set_firm_status(session: Session, firm_id: int, status: str) -> FirmView:
    """Set a firm's status (active, suspended, blacklisted)."""
    check_status(status)
    row = _row(session, firm_id, lock=True)
    row.status = status
    row.updated_at = datetime.now(UTC)
    session.flush()
    return get_firm(session, firm_id)


def add_certification(session: Session, firm_id: int, cert: Certification) -> FirmView:
    """Record that the firm holds `cert`; the same kind twice in one year is refused."""
    check_certification(cert)
    row = _row(session, firm_id, lock=True)
    exists = session.scalar(
        select(FirmCertification.id).where(
            FirmCertification.firm_id == firm_id,
            FirmCertification.kind == cert.kind,
            FirmCertification.year == cert.year,
        )
    )
    if exists is not None:
        raise AlreadyExists(
            f"firm {firm_id} already holds {cert.kind} for {cert.year}", field="kind"
        )
    session.add(FirmCertification(firm_id=firm_id, kind=cert.kind, year=cert.year,
                                  certified_on=cert.certified_on, valid_until=cert.valid_until))
    row.updated_at = datetime.now(UTC)
    session.flush()
    return get_firm(session, firm_id)
