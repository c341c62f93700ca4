"""The facts the ledger gathers and hands to the engine: frozen dataclasses of primitives.

Money is integer fen. `facts_from_mapping` builds facts from YAML, where money is yuan
and written without the `_fen` suffix (e.g. `cost: "1500.00"` for `cost_fen`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass
from typing import Any

from rules.amounts import AmountError, parse_yuan


class FactsError(ValueError):
    """Facts that are malformed (a missing field, a negative amount, a bad date …)."""


def _check_non_negative(facts: object) -> None:
    """Refuse negative fen amounts: they are a caller's bug, never a policy question."""
    for f in dataclasses.fields(facts):  # type: ignore[arg-type]
        value = getattr(facts, f.name)
        if f.name.endswith("_fen") and value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise FactsError(f"{f.name} must be an integer number of fen, not {value!r}")
            if value < 0:
                raise FactsError(f"{f.name} is negative ({value})")


@dataclass(frozen=True, slots=True)
class IssueFacts:
    """Issuing a voucher of `amount_fen` to a firm on `on`."""

    programme: str
    on: dt.date
    amount_fen: int
    firm_status: str
    firm_certifications: tuple[tuple[str, int], ...]
    firm_issued_this_year_fen: int
    budget_free_fen: int

    def __post_init__(self) -> None:
        _check_non_negative(self)


@dataclass(frozen=True, slots=True)
class ApplicationFacts:
    """A firm applying on `on` for a voucher of `amount_fen`, attaching `documents`.

    `firm_windows_applied` names the windows where the firm already has an application
    pending or approved; `firm_issued_this_year_fen` what it was issued in `on`'s year.
    """

    programme: str
    on: dt.date
    amount_fen: int
    documents: tuple[str, ...]
    firm_status: str
    firm_certifications: tuple[tuple[str, int], ...]
    firm_windows_applied: tuple[str, ...] = ()
    firm_issued_this_year_fen: int = 0

    def __post_init__(self) -> None:
        _check_non_negative(self)


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """Booking a service of `cost_fen` in `category` from a provider against a voucher."""

    programme: str
    on: dt.date
    category: str
    cost_fen: int
    voucher_balance_fen: int
    voucher_issued_on: dt.date
    voucher_expires_on: dt.date
    firm_credit_code: str
    provider_credit_code: str
    provider_categories: tuple[str, ...]
    firm_used_this_year_fen: int = 0
    firm_used_in_category_this_year_fen: int = 0
    firm_legal_rep: str = ""
    firm_shareholders: tuple[str, ...] = ()
    provider_legal_rep: str = ""
    provider_shareholders: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_non_negative(self)


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """A provider claiming `claimed_fen` on `on` for a service completed on `completed_on`."""

    programme: str
    on: dt.date
    completed_on: dt.date
    evidence: tuple[str, ...]
    claimed_fen: int
    booked_fen: int

    def __post_init__(self) -> None:
        _check_non_negative(self)


@dataclass(frozen=True, slots=True)
class AwardFacts:
    """A firm asking on `on` for the award of `tier`, certified on `certified_on`.

    `firm_awards` lists (tier, amount_fen) already awarded to the firm in this programme;
    `requested_fen` is the amount asked for when the tier pays "up to" its amount.
    """

    programme: str
    on: dt.date
    tier: str
    certified_on: dt.date
    firm_awards: tuple[tuple[str, int], ...]
    budget_free_fen: int
    requested_fen: int | None = None

    def __post_init__(self) -> None:
        _check_non_negative(self)
        for tier, amount in self.firm_awards:
            if not isinstance(amount, int) or amount < 0:
                raise FactsError(f"firm_awards: {tier} has a bad amount {amount!r}")


@dataclass(frozen=True, slots=True)
class ExpiryFacts:
    """When does a voucher issued on `issued_on` expire (and has it, on `on`)?"""

    programme: str
    issued_on: dt.date
    on: dt.date | None = None


FACT_KINDS: dict[str, type] = {
    "issue": IssueFacts,
    "application": ApplicationFacts,
    "booking": BookingFacts,
    "claim": ClaimFacts,
    "award": AwardFacts,
    "expiry": ExpiryFacts,
}


def _date(name: str, value: object) -> dt.date:
    """A date from YAML (already a date) or ISO text."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise FactsError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from exc
    raise FactsError(f"{name}: {value!r} is not a date (YYYY-MM-DD)")


def _yuan(name: str, value: object) -> int:
    """Yuan text or integer to fen, naming the field on error."""
    try:
        return parse_yuan(value)
    except AmountError as exc:
        raise FactsError(f"{name}: {exc}") from exc


def _pair_list(name: str, value: object, first: str, second: str) -> list[tuple[object, object]]:
    """Read a list of pairs written as [a, b] or {first: a, second: b}."""
    if not isinstance(value, list | tuple):
        raise FactsError(f"{name}: expected a list")
    pairs: list[tuple[object, object]] = []
    for item in value:
        if isinstance(item, dict) and set(item) == {first, second}:
            pairs.append((item[first], item[second]))
        elif isinstance(item, list | tuple) and len(item) == 2:
            pairs.append((item[0], item[1]))
        else:
            raise FactsError(f"{name}: each entry is {{{first}: …, {second}: …}}, not {item!r}")
    return pairs


def _string_tuple(name: str, value: object) -> tuple[str, ...]:
    """A tuple of strings from a YAML list (or a single string)."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise FactsError(f"{name}: expected a list of strings")
    return tuple(value)


def _convert(name: str, annotation: Any, value: object) -> object:
    """Convert one YAML value to the type a fact field declares."""
    if name == "firm_certifications":
        pairs = _pair_list(name, value, "kind", "year")
        if not all(isinstance(k, str) and isinstance(y, int) for k, y in pairs):
            raise FactsError(f"{name}: each entry is a kind (text) and a year (integer)")
        return tuple((str(k), int(y)) for k, y in pairs)  # type: ignore[call-overload]
    if name == "firm_awards":
        pairs = _pair_list(name, value, "tier", "amount")
        return tuple((str(t), _yuan(f"{name}.{t}", a)) for t, a in pairs)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        if value is None:
            return None
        annotation = next(a for a in args if a is not type(None))
        origin = typing.get_origin(annotation)
    if annotation is dt.date:
        return _date(name, value)
    if origin is tuple:
        return _string_tuple(name, value)
    if annotation is str:
        if not isinstance(value, str | int):
            raise FactsError(f"{name}: expected text, not {value!r}")
        return str(value)
    return value


def facts_from_mapping(kind: str, data: dict[str, object]) -> object:
    """Build the facts of `kind` (issue, application, booking, claim, award, expiry) from a
    YAML mapping."""
    if kind not in FACT_KINDS:
        raise FactsError(f"unknown kind {kind!r}; one of {', '.join(FACT_KINDS)}")
    if not isinstance(data, dict):
        raise FactsError("facts must be a mapping")
    if True in data and "on" not in data:
        # YAML 1.1 (PyYAML) reads an unquoted `on:` key as the boolean True.
        data = {("on" if k is True else k): v for k, v in data.items()}
    cls = FACT_KINDS[kind]
    hints = typing.get_type_hints(cls)
    values: dict[str, object] = {}
    used: set[str] = set()
    for f in dataclasses.fields(cls):
        yaml_name = f.name[:-4] if f.name.endswith("_fen") else f.name
        if f.name.endswith("_fen") and f.name in data:
            # Raw fen is accepted as written (an integer), for callers that have it.
            values[f.name] = data[f.name]
            used.add(f.name)
        elif yaml_name in data:
            raw = data[yaml_name]
            used.add(yaml_name)
            if f.name.endswith("_fen"):
                values[f.name] = None if raw is None else _yuan(yaml_name, raw)
            else:
                values[f.name] = _convert(f.name, hints[f.name], raw)
        elif f.default is dataclasses.MISSING:
            raise FactsError(f"{yaml_name}: missing")
    unknown = sorted(set(map(str, data)) - used)
    if unknown:
        raise FactsError(f"unknown fact(s) for {kind}: {', '.join(unknown)}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise FactsError(str(exc)) from exc
