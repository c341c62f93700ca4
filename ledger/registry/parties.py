"""What firms and providers share: identity, region, size, owners and a bank account.

Both are "parties" registered by the bureau and keyed by their unified social credit code.
Validation returns every problem with its field, so that a CSV import can report them all.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, or_
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from ledger.core.base import UTCDateTime
from ledger.core.errors import InvalidInput
from ledger.core.search import starts_with
from ledger.registry.credit_code import credit_code_problem, normalise_credit_code

# The fourteen prefecture-level cities of Liaoning (辽宁省).
LIAONING_CITIES: tuple[str, ...] = (
    "沈阳市", "大连市", "鞍山市", "抚顺市", "本溪市", "丹东市", "锦州市",
    "营口市", "阜新市", "辽阳市", "盘锦市", "铁岭市", "朝阳市", "葫芦岛市",
)
SIZE_CLASSES: tuple[str, ...] = ("micro", "small", "medium", "large")
STATUSES: tuple[str, ...] = ("active", "suspended", "blacklisted")
MAX_SHAREHOLDERS = 50
_BANK_ACCOUNT = re.compile(r"^[0-9]{8,32}$")
_SHAREHOLDER_SEPARATORS = re.compile(r"[;；、|]")


@dataclass(frozen=True)
class PartyData:
    """The identity fields of a firm or a provider, as given by a caller."""

    credit_code: str
    name: str
    city: str
    district: str
    size_class: str
    legal_rep: str
    shareholders: tuple[str, ...] = ()
    bank_name: str | None = None
    bank_account: str | None = None


@dataclass(frozen=True)
class FieldProblem:
    """One field that failed validation and why."""

    field: str
    reason: str


@dataclass
class _Checker:
    problems: list[FieldProblem] = field(default_factory=list)

    def text(self, name: str, value: str, max_length: int) -> str:
        cleaned = normalise_name(value)
        if not cleaned.isprintable():
            self.problems.append(FieldProblem(name, "contains control characters"))
        elif not cleaned:
            self.problems.append(FieldProblem(name, "must not be empty"))
        elif len(cleaned) > max_length:
            self.problems.append(FieldProblem(name, f"at most {max_length} characters"))
        return cleaned


def normalise_name(raw: str) -> str:
    """A name as stored and compared: NFKC (full-width to half-width), spaces trimmed and
    collapsed to one."""
    return " ".join(unicodedata.normalize("NFKC", raw).split())


def normalise_city(raw: str) -> str:
    """'沈阳' and '沈阳市' both name 沈阳市."""
    city = normalise_name(raw)
    return city if city.endswith("市") else city + "市"


def split_shareholders(raw: str) -> tuple[str, ...]:
    """Shareholders written in one cell, separated by ; ； 、 or |."""
    return tuple(p.strip() for p in _SHAREHOLDER_SEPARATORS.split(raw) if p.strip())


def party_problems(data: PartyData) -> tuple[PartyData, list[FieldProblem]]:
    """The normalised data and every problem found in it (empty when valid)."""
    check = _Checker()
    code = normalise_credit_code(data.credit_code)
    reason = credit_code_problem(code)
    if reason:
        check.problems.append(FieldProblem("credit_code", f"{code!r} {reason}"))
    name = check.text("name", data.name, 200)
    city = normalise_city(data.city)
    if city not in LIAONING_CITIES:
        shown = data.city if data.city.isprintable() else ascii(data.city)
        check.problems.append(FieldProblem("city", f"{shown!r} is not one of Liaoning's 14 cities"))
    district = check.text("district", data.district, 32)
    if data.size_class not in SIZE_CLASSES:
        check.problems.append(
            FieldProblem("size_class", f"must be one of {', '.join(SIZE_CLASSES)}")
        )
    legal_rep = check.text("legal_rep", data.legal_rep, 64)
    holders = tuple(normalise_name(h) for h in data.shareholders if normalise_name(h))
    if len(holders) > MAX_SHAREHOLDERS:
        check.problems.append(FieldProblem("shareholders", f"at most {MAX_SHAREHOLDERS}"))
    if not all(h.isprintable() for h in holders):
        check.problems.append(FieldProblem("shareholders", "contains control characters"))
    if any(len(h) > 200 for h in holders):
        check.problems.append(FieldProblem("shareholders", "each at most 200 characters"))
    if len(set(holders)) != len(holders):
        check.problems.append(FieldProblem("shareholders", "a shareholder is listed twice"))
    bank_name = normalise_name(data.bank_name or "") or None
    account = "".join(unicodedata.normalize("NFKC", data.bank_account or "").split()) or None
    if account is not None and not _BANK_ACCOUNT.match(account):
        check.problems.append(FieldProblem("bank_account", "must be 8–32 digits"))
    if bank_name is not None and not bank_name.isprintable():
        check.problems.append(FieldProblem("bank_name", "contains control characters"))
    if bank_name is not None and len(bank_name) > 100:
        check.problems.append(FieldProblem("bank_name", "at most 100 characters"))
    if (bank_name is None) != (account is None):
        check.problems.append(
            FieldProblem("bank_account", "give the bank's name and the account together")
        )
    clean = PartyData(code, name, city, district, data.size_class, legal_rep, holders,
                      bank_name, account)
    return clean, check.problems


def check_party(data: PartyData) -> PartyData:
    """The normalised data, or InvalidInput naming the first failing field (and all of them)."""
    clean, problems = party_problems(data)
    if problems:
        first = problems[0]
        raise InvalidInput(
            f"{first.field}: {first.reason}",
            field=first.field,
            errors=[{"field": p.field, "reason": p.reason} for p in problems],
        )
    return clean


def check_status(status: str) -> str:
    """Refuse a status other than active, suspended or blacklisted."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    return status


def mask_account(account: str | None) -> str | None:
    """Only the last four digits, for everyone but bureau staff."""
    if account is None:
        return None
    return "*" * max(len(account) - 4, 4) + account[-4:]


class PartyColumns:
    """The columns firms and providers share (a mixin of their ORM models)."""

    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(16), index=True)
    district: Mapped[str] = mapped_column(String(32))
    size_class: Mapped[str] = mapped_column(String(8))
    legal_rep: Mapped[str] = mapped_column(String(64))
    shareholders: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    bank_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    bank_account: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[CheckConstraint | Index, ...]:
        statuses = ", ".join(f"'{s}'" for s in STATUSES)
        sizes = ", ".join(f"'{s}'" for s in SIZE_CLASSES)
        table = cls.__tablename__  # type: ignore[attr-defined]
        # `q`: a prefix of the name or credit code; PostgreSQL's LIKE needs pattern ops.
        pattern = {"name": "text_pattern_ops", "credit_code": "text_pattern_ops"}
        return (
            CheckConstraint(f"status IN ({statuses})", name="status_known"),
            CheckConstraint(f"size_class IN ({sizes})", name="size_class_known"),
            Index(f"ix_{table}_name_prefix", "name", postgresql_ops=pattern),
            Index(f"ix_{table}_credit_code_prefix", "credit_code", postgresql_ops=pattern),
        )


def party_matches(model: type[PartyColumns], q: str) -> ColumnElement[bool]:
    """The party's name or credit code starts with `q` (codes compared in capitals)."""
    return or_(starts_with(model.name, q), starts_with(model.credit_code, q.upper()))


def party_values(data: PartyData) -> dict[str, object]:
    """Column values for a validated PartyData."""
    return {
        "credit_code": data.credit_code,
        "name": data.name,
        "city": data.city,
        "district": data.district,
        "size_class": data.size_class,
        "legal_rep": data.legal_rep,
        "shareholders": list(data.shareholders),
        "bank_name": data.bank_name,
        "bank_account": data.bank_account,
    }


def party_data_of(row: PartyColumns) -> PartyData:
    """The identity fields of a stored firm or provider."""
    return PartyData(
        row.credit_code, row.name, row.city, row.district, row.size_class, row.legal_rep,
        tuple(row.shareholders or ()), row.bank_name, row.bank_account,
    )
