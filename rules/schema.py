"""Pydantic models of a policy file: what a voucher or award programme version may say.

Amounts are read as yuan and kept as integer fen; ratios as Decimal. Unknown keys,
categories and tiers are refused so that a typo never silently drops a rule.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rules.amounts import parse_ratio, parse_yuan

# The closed vocabularies: adding a category or tier is a (small) code change, on purpose.
CATEGORIES: tuple[str, ...] = (
    "patent_application",
    "instrument_sharing",
    "testing",
    "rd_design",
    "technology_transfer",
)
TIERS: tuple[str, ...] = ("gazelle", "unicorn", "specialised", "little_giant")
EVIDENCE_KINDS: tuple[str, ...] = (
    "contract",
    "invoice",
    "service_report",
    "payment_record",
    "acceptance_certificate",
)
FIRM_STATUSES: tuple[str, ...] = ("active", "suspended", "blacklisted")
RELATED_PARTY_TESTS: tuple[str, ...] = ("credit_code", "legal_rep", "shareholder")
APPLICATION_DOCUMENTS: tuple[str, ...] = ("business_licence", "plan")

Category = Literal[
    "patent_application", "instrument_sharing", "testing", "rd_design", "technology_transfer"
]
Tier = Literal["gazelle", "unicorn", "specialised", "little_giant"]
Evidence = Literal[
    "contract", "invoice", "service_report", "payment_record", "acceptance_certificate"
]
FirmStatus = Literal["active", "suspended", "blacklisted"]
RelatedPartyTest = Literal["credit_code", "legal_rep", "shareholder"]
ApplicationDocument = Literal["business_licence", "plan"]

Fen = Annotated[int, BeforeValidator(parse_yuan)]
"""An amount written in yuan in the file, held as integer fen."""
Ratio = Annotated[Decimal, BeforeValidator(parse_ratio)]
"""A ratio in [0, 1], at most four decimals."""


_Item = TypeVar("_Item", str, int)


def _unique(values: list[_Item]) -> list[_Item]:
    """Refuse a list that names the same thing twice."""
    seen = {str(v) for v in values if values.count(v) > 1}
    if seen:
        raise ValueError(f"listed twice: {', '.join(sorted(seen))}")
    return values


class _Strict(BaseModel):
    """Base: unknown keys are refused, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(_Strict):
    """The document a version implements (or takes defaults from)."""

    document: str = Field(min_length=1)
    authority: str = Field(min_length=1)
    issued_on: dt.date | None = None
    number: str | None = None
    url: str | None = None
    note: str | None = None


class Eligibility(_Strict):
    """Who may hold a voucher."""

    required_certification: str = Field(default="tech_sme", min_length=1)
    allowed_statuses: Annotated[list[FirmStatus], AfterValidator(_unique)] = Field(
        default_factory=lambda: ["active"], min_length=1
    )


class Issuance(_Strict):
    """Caps on issuing vouchers."""

    per_voucher_cap: Fen
    per_firm_year_cap: Fen


class Validity(_Strict):
    """When a voucher expires: at the end of its year of issue, or after N months."""

    rule: Literal["end_of_year", "months"]
    months: int | None = Field(default=None, ge=1, le=120)

    @model_validator(mode="after")
    def _months_iff_rule(self) -> Validity:
        """`months` is required by the months rule and meaningless otherwise."""
        if self.rule == "months" and self.months is None:
            raise ValueError("the months rule needs `months`")
        if self.rule == "end_of_year" and self.months is not None:
            raise ValueError("`months` is only used by the months rule")
        return self


class Service(_Strict):
    """One subsidised service category."""

    name_zh: str = Field(min_length=1)
    ratio: Ratio
    per_order_cap: Fen
    per_firm_year_cap: Fen


class Booking(_Strict):
    """Rules common to every service booking."""

    per_firm_year_cap: Fen
    related_party_tests: Annotated[list[RelatedPartyTest], AfterValidator(_unique)] = Field(
        default_factory=lambda: list(RELATED_PARTY_TESTS), min_length=1
    )
    # How long a firm's authorisation of a provider stays usable, in days from the grant.
    authorisation_days: int = Field(default=30, ge=1, le=366)


class Claims(_Strict):
    """What a provider's claim for payment must satisfy."""

    deadline_days: int = Field(ge=0, le=3650)
    required_evidence: Annotated[list[Evidence], AfterValidator(_unique)]


class Window(_Strict):
    """One application window (申报批次): when it is open, what may be asked, what to attach."""

    id: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
    name_zh: str = Field(min_length=1)
    opens: dt.date
    closes: dt.date
    amounts: Annotated[list[Fen], AfterValidator(_unique)] = Field(min_length=1)
    documents: Annotated[list[ApplicationDocument], AfterValidator(_unique)] = Field(
        default_factory=lambda: list(APPLICATION_DOCUMENTS)
    )

    @model_validator(mode="after")
    def _closes_after_opening(self) -> Window:
        """A window closes on or after the day it opens (both days inclusive)."""
        if self.closes < self.opens:
            raise ValueError(f"window {self.id} closes {self.closes} before it opens {self.opens}")
        return self

    def covers(self, on: dt.date) -> bool:
        """True when the window is open on `on`."""
        return self.opens <= on <= self.closes


class Applications(_Strict):
    """How firms apply for vouchers (申领): the windows of this version."""

    windows: list[Window] = Field(min_length=1)

    @field_validator("windows")
    @classmethod
    def _windows_distinct(cls, windows: list[Window]) -> list[Window]:
        """Window ids are unique and windows never overlap (a day belongs to one window)."""
        ordered = sorted(windows, key=lambda w: w.opens)
        ids = [w.id for w in windows]
        _unique(ids)
        for before, after in itertools.pairwise(ordered):
            if after.opens <= before.closes:
                raise ValueError(f"windows {before.id} and {after.id} overlap")
        return windows


class AwardTier(_Strict):
    """One award tier: its amount, its ladder and rank for upgrades."""

    name_zh: str = Field(min_length=1)
    amount: Fen
    up_to: bool = False
    ladder: str = Field(min_length=1)
    rank: int = Field(ge=1)
    window_days: int = Field(ge=0, le=3650)
    window_from: Literal["certified_on"] = "certified_on"


class Publicity(_Strict):
    """The 公示 period approved awards are published for before they may be paid.

    `days` counts calendar days, or with `working_days` only Monday to Friday; public holidays
    are not modelled beyond the dates listed in `holidays` (days that never count).
    """

    days: int = Field(ge=1, le=60)
    working_days: bool = True
    holidays: Annotated[list[dt.date], AfterValidator(_unique)] = Field(default_factory=list)


class _PolicyBase(_Strict):
    """What every policy file says about itself."""

    programme: str = Field(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
    title: str = Field(min_length=1)
    source: Source
    defaults_from: Source | None = None
    effective_from: dt.date
    effective_to: dt.date | None = None
    currency: Literal["CNY"] = "CNY"

    @field_validator("effective_to")
    @classmethod
    def _dates_in_order(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        """A version ends on or after the day it starts."""
        start = info.data.get("effective_from")
        if value is not None and start is not None and value < start:
            raise ValueError(f"{value} is before effective_from {start}")
        return value

    def covers(self, on: dt.date) -> bool:
        """True when this version is in force on `on` (both ends inclusive)."""
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


class VoucherPolicy(_PolicyBase):
    """A version of an innovation-voucher (创新券) programme."""

    kind: Literal["voucher"]
    eligibility: Eligibility = Field(default_factory=Eligibility)
    issuance: Issuance
    validity: Validity
    services: dict[Category, Service] = Field(min_length=1)
    booking: Booking
    claims: Claims
    applications: Applications | None = None

    @model_validator(mode="after")
    def _window_amounts_within_cap(self) -> VoucherPolicy:
        """No window offers an amount the per-voucher cap would refuse at issue."""
        for window in self.applications.windows if self.applications else []:
            over = [a for a in window.amounts if a > self.issuance.per_voucher_cap]
            if over:
                raise ValueError(f"window {window.id} offers an amount over per_voucher_cap")
        return self


class AwardPolicy(_PolicyBase):
    """A version of a tiered award programme."""

    kind: Literal["award"]
    tiers: dict[Tier, AwardTier] = Field(min_length=1)
    upgrade: Literal["difference", "full"]
    publicity: Publicity | None = None

    @field_validator("tiers")
    @classmethod
    def _ranks_unique_per_ladder(cls, tiers: dict[str, AwardTier]) -> dict[str, AwardTier]:
        """Two tiers of one ladder cannot share a rank (an upgrade would be ambiguous)."""
        seen: dict[tuple[str, int], str] = {}
        for name, tier in tiers.items():
            key = (tier.ladder, tier.rank)
            if key in seen:
                raise ValueError(
                    f"tiers {seen[key]} and {name} share rank {tier.rank} in ladder {tier.ladder}"
                )
            seen[key] = name
        return tiers


PolicyModel = VoucherPolicy | AwardPolicy
