"""Firms (科技型中小企业 and others): registration, status and certifications."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.acting import today
from ledger.core.base import Base, BigIntPK
from ledger.core.errors import InvalidInput
from ledger.core.paging import Page
from ledger.registry.parties import PartyColumns, PartyData
from ledger.registry.party_kind import PartyKind, PartyView

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


@dataclass(frozen=True)
class Certification:
    """A firm's certification as services return it."""

    kind: str
    year: int
    certified_on: date
    valid_until: date | None = None


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
class FirmView(PartyView[Certification]):
    """A firm as services return it; its extras are its certifications."""

    @property
    def certifications(self) -> tuple[Certification, ...]:
        return self.extras


def check_certification(cert: Certification) -> Certification:
    """Refuse an unknown kind, a year out of range, a grant dated after today or dates that
    contradict each other."""
    if cert.kind not in CERTIFICATIONS:
        raise InvalidInput(
            f"certification kind must be one of {', '.join(CERTIFICATIONS)}", field="kind"
        )
    if not MIN_YEAR <= cert.year <= MAX_YEAR:
        raise InvalidInput(f"year must be between {MIN_YEAR} and {MAX_YEAR}", field="year")
    if cert.certified_on > today():  # granted, so not after today: a later day is a typo
        raise InvalidInput(f"certified_on {cert.certified_on.isoformat()} lies in the future",
                           field="certified_on")
    if cert.valid_until is not None and cert.valid_until < cert.certified_on:
        raise InvalidInput("valid_until is before certified_on", field="valid_until")
    return cert


def _check_certifications(certs: Sequence[Certification]) -> None:
    for cert in certs:
        check_certification(cert)


FIRMS: PartyKind[FirmView, Certification] = PartyKind(
    noun="firm", model=Firm,
    # What a firm carries: its certifications, listed by year.
    extra_model=FirmCertification, extra_key="firm_id", extra_order=("year", "kind"),
    read_extra=lambda c: Certification(c.kind, c.year, c.certified_on, c.valid_until),
    write_extra=lambda c: {"kind": c.kind, "year": c.year, "certified_on": c.certified_on,
                           "valid_until": c.valid_until},
    check_extras=_check_certifications,
    make_view=FirmView,
)
get_firm = FIRMS.get


def create_firm(session: Session, data: PartyData, *, status: str = "active",
                certifications: tuple[Certification, ...] = ()) -> FirmView:
    """Register a firm; its credit code must be valid and not yet registered (a certification
    listed twice is refused by the table's unique key)."""
    return FIRMS.create(session, data, status=status, extras=certifications)


def list_firms(session: Session, *, limit: int, offset: int = 0, status: str | None = None,
               city: str | None = None, only_id: int | None = None,
               q: str | None = None) -> Page[FirmView]:
    """A page of firms in id order, optionally of one status, one city or one firm, or
    whose name or credit code starts with `q`."""
    return FIRMS.page(session, limit=limit, offset=offset, status=status, city=city,
                      only_id=only_id, q=q)


def add_certification(session: Session, firm_id: int, cert: Certification) -> FirmView:
    """Record that the firm holds `cert`; the same kind twice in one year is refused."""
    clash = (FirmCertification.kind == cert.kind) & (FirmCertification.year == cert.year)
    return FIRMS.add_extra(session, firm_id, cert, clash,
                           f"firm {firm_id} already holds {cert.kind} for {cert.year}")
