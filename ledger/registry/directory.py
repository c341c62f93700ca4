"""The provider directory (服务机构库): registered active providers a firm can choose from.

It shows what a firm needs to choose and to authorise — name, credit code, city, district and
the categories the provider is registered for today — and nothing else: no bank details, no
legal representative or shareholders.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.errors import InvalidInput
from ledger.core.paging import Page, check_page
from ledger.registry.credit_code import normalise_credit_code
from ledger.registry.parties import normalise_city, normalise_name
from ledger.registry.providers import Provider, ProviderCategory
from rules.schema import CATEGORIES


@dataclass(frozen=True)
class DirectoryEntry:
    """One provider as the directory shows it."""

    credit_code: str
    name: str
    city: str
    district: str
    categories: tuple[str, ...]


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_providers(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    category: str | None = None,
    city: str | None = None,
    name: str | None = None,
    credit_code: str | None = None,
) -> Page[DirectoryEntry]:
    """Active providers by name: registered today for `category`, in `city`, whose name
    contains `name`, whose credit code starts with `credit_code` (each optional)."""
    check_page(limit, offset)
    current = (ProviderCategory.provider_id == Provider.id) & ProviderCategory.removed_on.is_(None)
    condition = [Provider.status == "active",
                 select(ProviderCategory.id).where(current).exists()]
    if category:
        if category not in CATEGORIES:
            raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}",
                               field="category")
        condition.append(select(ProviderCategory.id).where(
            current, ProviderCategory.category == category).exists())
    if city:
        condition.append(Provider.city == normalise_city(city))
    if name and normalise_name(name):
        condition.append(Provider.name.like(_like(normalise_name(name)), escape="\\"))
    if credit_code and normalise_credit_code(credit_code):
        code = normalise_credit_code(credit_code)
        condition.append(Provider.credit_code.like(_like(code)[1:], escape="\\"))
    total = session.scalar(select(func.count()).select_from(Provider).where(*condition)) or 0
    rows = session.execute(
        select(Provider.id, Provider.credit_code, Provider.name, Provider.city, Provider.district)
        .where(*condition).order_by(Provider.name, Provider.id).limit(limit).offset(offset)
    ).all()
    categories: dict[int, list[str]] = {r.id: [] for r in rows}
    if rows:
        for provider_id, category_name in session.execute(
            select(ProviderCategory.provider_id, ProviderCategory.category)
            .where(ProviderCategory.provider_id.in_(categories),
                   ProviderCategory.removed_on.is_(None))
            .order_by(ProviderCategory.category)
        ):
            categories[provider_id].append(category_name)
    return Page([DirectoryEntry(r.credit_code, r.name, r.city, r.district,
                                tuple(categories[r.id])) for r in rows], total, limit, offset)
