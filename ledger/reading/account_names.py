"""Who stands behind a ledger account: the firm, provider or voucher its code names.

Codes are `P:kind:key` (ledger/programmes/programme.py): `voucher:V000001` (the voucher's
serial, held for a firm), `provider:S` and `receivable:S` (provider id), `award:F` and
`receivable:firm-F` (firm id). Names are read in one query per kind for a batch of codes, so a
report streaming thousands of accounts asks per page, never per account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.registry.firms import Firm
from ledger.registry.providers import Provider
from ledger.vouchers.voucher import Voucher

# The order a chart of accounts is read in: where money enters, where it sits, where it leaves.
KIND_ORDER = ("funding", "budget", "voucher", "provider", "award", "receivable", "paid")


@dataclass(frozen=True)
class AccountOwner:
    """An account's kind (`voucher`, …) and the registered name of the party behind it
    (None for the programme's own accounts, or a party no longer found)."""

    kind: str
    name: str | None


def account_kind(code: str) -> str:
    """The segment after the ledger code: `LN-CXQ-2026:provider:3` is a `provider` account."""
    parts = code.split(":")
    return parts[1] if len(parts) > 1 else code


def account_owners(session: Session, codes: Iterable[str]) -> dict[str, AccountOwner]:
    """Each of `codes` with its kind and the name of its firm or provider."""
    codes = list(codes)
    firms: dict[str, int] = {}
    providers: dict[str, int] = {}
    vouchers: list[str] = []
    for code in codes:
        kind, _, key = code.partition(":")[2].partition(":")
        if kind == "voucher":
            vouchers.append(code)
        elif kind == "award" and key.isdecimal():
            firms[code] = int(key)
        elif kind == "receivable" and key.startswith("firm-") and key[5:].isdecimal():
            firms[code] = int(key[5:])
        elif kind in ("provider", "receivable") and key.isdecimal():
            providers[code] = int(key)
    firm_names = _names(session, Firm, set(firms.values()))
    provider_names = _names(session, Provider, set(providers.values()))
    holders: dict[str, str] = dict(session.execute(
        select(Voucher.account_code, Firm.name).join(Firm, Firm.id == Voucher.firm_id)
        .where(Voucher.account_code.in_(vouchers))
    ).all()) if vouchers else {}
    owners: dict[str, AccountOwner] = {}
    for code in codes:
        name = (firm_names.get(firms[code]) if code in firms
                else provider_names.get(providers[code]) if code in providers
                else holders.get(code))
        owners[code] = AccountOwner(account_kind(code), name)
    return owners


def _names(session: Session, model: type[Firm] | type[Provider], ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(  # type: ignore[arg-type]
        select(model.id, model.name).where(model.id.in_(ids))
    ).all())
