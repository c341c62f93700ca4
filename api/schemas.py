"""Request and response bodies shared by several routes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationInfo, field_validator

from ledger.core.chain import TEXT_CONTROLS
from ledger.core.paging import MAX_ID, Page
from ledger.core.search import MAX_QUERY
from ledger.registry.firms import Certification, FirmView
from ledger.registry.parties import PartyData, mask_account
from ledger.registry.providers import ProviderView, Registration

T = TypeVar("T")
SizeClass = Literal["micro", "small", "medium", "large"]
Status = Literal["active", "suspended", "blacklisted"]
CertificationKind = Literal["tech_sme", "chuying", "gazelle", "unicorn", "specialised",
                            "little_giant"]
Category = Literal["patent_application", "instrument_sharing", "testing", "rd_design",
                   "technology_transfer"]
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="The object's id")]
# An integer in a JSON body: a JSON integer only. Lax validation would take true, 1.0, 5e2
# and "1" as well (an amount of true was posted as one yuan, a firm id of true was firm 1).
JsonInt = StrictInt
Search = Annotated[str | None, Query(max_length=MAX_QUERY, description=(
    "Prefix of a name, a credit code or a voucher serial (what the list names)"))]
IdempotencyKeyDoc = (
    "Optional client key (1–255 printable characters): the same key and body return the first "
    "response and write nothing again; the same key with another body is 409."
)


class Strict(BaseModel):
    """Input bodies refuse unknown fields, so that a typo is an error, not a silent no-op,
    and text with control characters (line breaks and tabs aside), in any field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _printable(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name and "password" in info.field_name:
            return value  # a password is compared, never shown: whatever it was set to
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and TEXT_CONTROLS.search(t) for t in texts):
            raise ValueError("contains control characters")
        return value


class PageOut(BaseModel, Generic[T]):
    """A page of a list: at most `limit` items from `offset`; `next_offset` is null at the end."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class PartyIn(Strict):
    """Identity fields of a firm or provider."""

    credit_code: Annotated[str, Field(min_length=1, max_length=64,
                                      description="统一社会信用代码, 18 characters (GB 32100-2015)",
                                      examples=["91210000117590366A"])]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    city: Annotated[str, Field(min_length=1, max_length=16,
                               description="One of Liaoning's 14 cities, e.g. 沈阳市")]
    district: Annotated[str, Field(min_length=1, max_length=32)]
    size_class: SizeClass
    legal_rep: Annotated[str, Field(min_length=1, max_length=64)]
    shareholders: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]],
                            Field(max_length=50)] = []
    bank_name: Annotated[str | None, Field(max_length=100)] = None
    bank_account: Annotated[str | None, Field(max_length=40)] = None
    status: Status = "active"

    def party(self) -> PartyData:
        """The identity as the services take it."""
        return PartyData(self.credit_code, self.name, self.city, self.district, self.size_class,
                         self.legal_rep, tuple(self.shareholders), self.bank_name,
                         self.bank_account)


class BankIn(Strict):
    """A party's corrected bank: its name and the account number (8–32 digits)."""

    bank_name: Annotated[str, Field(min_length=1, max_length=100)]
    bank_account: Annotated[str, Field(pattern=r"^[0-9 ]{8,40}$")]


class StatusIn(Strict):
    """A new status."""

    status: Status
    reason: Annotated[str, Field(max_length=500)] = ""


class CertificationIn(Strict):
    """A certification granted to a firm."""

    kind: CertificationKind
    year: Annotated[JsonInt, Field(ge=2000, le=2100)]
    certified_on: dt.date
    valid_until: dt.date | None = None

    def certification(self) -> Certification:
        """As the services take it."""
        return Certification(self.kind, self.year, self.certified_on, self.valid_until)


class CertificationOut(BaseModel):
    """A certification a firm holds."""

    kind: str
    year: int
    certified_on: dt.date
    valid_until: dt.date | None


class RegistrationIn(Strict):
    """A service category a provider is registered (备案) for, from a date."""

    category: Category
    registered_on: dt.date

    def registration(self) -> Registration:
        """As the services take it."""
        return Registration(self.category, self.registered_on)


class RegistrationOut(BaseModel):
    """A provider's registration; current while `removed_on` is null."""

    category: str
    registered_on: dt.date
    removed_on: dt.date | None


class PartyOut(BaseModel):
    """Identity fields; the bank account is masked for everyone but bureau staff."""

    id: int
    credit_code: str
    name: str
    city: str
    district: str
    size_class: str
    legal_rep: str
    shareholders: list[str]
    status: str
    bank_name: str | None
    bank_account: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class FirmIn(PartyIn):
    """A firm to register, with the certifications it already holds."""

    certifications: Annotated[list[CertificationIn], Field(max_length=20)] = []


class FirmOut(PartyOut):
    """A registered firm."""

    certifications: list[CertificationOut]


class ProviderIn(PartyIn):
    """A provider to register, with the categories it is registered for."""

    categories: Annotated[list[RegistrationIn], Field(max_length=10)] = []


class ProviderOut(PartyOut):
    """A registered provider."""

    categories: list[RegistrationOut]
    current_categories: list[str]


class ImportOut(BaseModel):
    """What an import did."""

    rows: int
    created: int
    skipped: int
    created_ids: list[int]


def _party_fields(view: FirmView | ProviderView, full_bank: bool) -> dict[str, object]:
    p = view.party
    return {
        "id": view.id, "credit_code": p.credit_code, "name": p.name, "city": p.city,
        "district": p.district, "size_class": p.size_class, "legal_rep": p.legal_rep,
        "shareholders": list(p.shareholders), "status": view.status, "bank_name": p.bank_name,
        "bank_account": p.bank_account if full_bank else mask_account(p.bank_account),
        "created_at": view.created_at, "updated_at": view.updated_at,
    }


def firm_out(view: FirmView, *, full_bank: bool) -> FirmOut:
    """A firm as the API shows it to a bureau user (`full_bank`) or to the firm itself."""
    certs = [CertificationOut(kind=c.kind, year=c.year, certified_on=c.certified_on,
                              valid_until=c.valid_until) for c in view.certifications]
    return FirmOut(**_party_fields(view, full_bank), certifications=certs)  # type: ignore[arg-type]


def provider_out(view: ProviderView, *, full_bank: bool) -> ProviderOut:
    """A provider as the API shows it to a bureau user (`full_bank`) or to itself."""
    regs = [RegistrationOut(category=r.category, registered_on=r.registered_on,
                            removed_on=r.removed_on) for r in view.categories]
    return ProviderOut(**_party_fields(view, full_bank), categories=regs,  # type: ignore[arg-type]
                       current_categories=list(view.current_categories))


def page_out(page: Page[T], items: list[object]) -> dict[str, object]:
    """The fields of a PageOut for `page`, with its items already rendered."""
    return {"items": items, "total": page.total, "limit": page.limit, "offset": page.offset,
            "next_offset": page.next_offset}
