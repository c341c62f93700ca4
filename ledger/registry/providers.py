"""Service providers (服务机构) and the service categories they are registered (备案) for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, func, insert, select
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
from rules.schema import CATEGORIES

CATEGORY_NAMES: dict[str, str] = {
    "patent_application": "专利申请",
    "instrument_sharing": "仪器开放共享",
    "testing": "检验检测",
    "rd_design": "研发设计",
    "technology_transfer": "技术转移",
}


class Provider(PartyColumns, Base):
    """A service provider registered by the bureau, keyed by its credit code."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)


class ProviderCategory(Base):
    """A category a provider is registered for, from `registered_on` until `removed_on`.

    Rows are kept when a registration ends so that a booking can be judged against the
    registrations in force on its date.
    """

    __tablename__ = "provider_categories"
    __table_args__ = (
        CheckConstraint(
            "category IN (" + ", ".join(f"'{c}'" for c in CATEGORIES) + ")", name="category_known"
        ),
        CheckConstraint("removed_on IS NULL OR removed_on >= registered_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    registered_on: Mapped[date] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date, nullable=True)


@dataclass(frozen=True)
class Registration:
    """A provider's registration for a category (current when `removed_on` is None)."""

    category: str
    registered_on: date
    removed_on: date | None = None


@dataclass(frozen=True)
class ProviderView:
    """A provider as services return it (bank account unmasked: the API masks)."""

    id: int
    party: PartyData
    status: str
    categories: tuple[Registration, ...]
    created_at: datetime
    updated_at: datetime

    @property
    def current_categories(self) -> tuple[str, ...]:
        """The categories the provider is registered for now."""
        return tuple(r.category for r in self.categories if r.removed_on is None)


def check_category(category: str) -> str:
    """Refuse a category the policy files do not know."""
    if category not in CATEGORIES:
        raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}", field="category")
    return category


def _views(session: Session, rows: list[Provider]) -> list[ProviderView]:
    """Views of `rows` with their registrations, fetched in one query."""
    ids = [r.id for r in rows]
    regs: dict[int, list[Registration]] = {i: [] for i in ids}
    if ids:
        for c in session.scalars(
            select(ProviderCategory)
            .where(ProviderCategory.provider_id.in_(ids))
            .order_by(ProviderCategory.registered_on, ProviderCategory.id)
        ):
            regs[c.provider_id].append(Registration(c.category, c.registered_on, c.removed_on))
    return [
        ProviderView(r.id, party_data_of(r), r.status, tuple(regs[r.id]), r.created_at,
                     r.updated_at)
        for r in rows
    ]


def _row(session: Session, provider_id: int, *, lock: bool = False) -> Provider:
    query = select(Provider).where(Provider.id == provider_id)
    row = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise NotFound(f"no provider {provider_id}", provider_id=provider_id)
    return row


def get_provider(session: Session, provider_id: int) -> ProviderView:
    """The provider with `provider_id`, or NotFound."""
    return _views(session, [_row(session, provider_id)])[0]


def find_provider_ids(session: Session, credit_codes: list[str]) -> dict[str, int]:
    """The ids of the providers among `credit_codes` that are registered."""
    rows = session.execute(
        select(Provider.credit_code, Provider.id).where(Provider.credit_code.in_(credit_codes))
    )
    return {code: provider_id for code, provider_id in rows}


def get_providers(session: Session, provider_ids: list[int]) -> list[ProviderView]:
    """The providers with these ids, in id order."""
    query = select(Provider).where(Provider.id.in_(provider_ids)).order_by(Provider.id)
    return _views(session, list(session.scalars(query)))


def create_provider(
    session: Session,
    data: PartyData,
    *,
    status: str = "active",
    categories: tuple[Registration, ...] = (),
) -> ProviderView:
    """Register a provider and the categories it is registered for."""
    clean = check_party(data)
    check_status(status)
    names = [check_category(r.category) for r in categories]
    if len(set(names)) != len(names):
        raise InvalidInput("a category is listed twice", field="categories")
    if session.scalar(select(Provider.id).where(Provider.credit_code == clean.credit_code)):
        raise AlreadyExists(
            f"a provider with credit code {clean.credit_code} is registered", field="credit_code"
        )
    now = datetime.now(UTC)
    provider = Provider(**party_values(clean), status=status, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(provider)
            session.flush()
            for reg in categories:
                session.add(ProviderCategory(provider_id=provider.id, category=reg.category,
                                             registered_on=reg.registered_on))
            session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same code
        raise AlreadyExists(
            f"a provider with credit code {clean.credit_code} is registered", field="credit_code"
        ) from exc
    return get_provider(session, provider.id)


def insert_providers(
    session: Session, rows: list[tuple[PartyData, str, tuple[Registration, ...]]]
) -> list[int]:
    """Insert many validated, unregistered providers at once (the CSV import's path)."""
    if not rows:
        return []
    now = datetime.now(UTC)
    ids = list(session.scalars(
        insert(Provider).returning(Provider.id, sort_by_parameter_order=True),
        [{**party_values(p), "status": status, "created_at": now, "updated_at": now}
         for p, status, _ in rows],
    ))
    regs = [
        {"provider_id": provider_id, "category": r.category, "registered_on": r.registered_on}
        for provider_id, (_, _, registrations) in zip(ids, rows, strict=True)
        for r in registrations
    ]
    if regs:
        session.execute(insert(ProviderCategory), regs)
    return ids


def list_providers(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    status: str | None = None,
    category: str | None = None,
    only_id: int | None = None,
    city: str | None = None,
) -> Page[ProviderView]:
    """A page of providers in id order, optionally of one status, category, city or provider."""
    check_page(limit, offset)
    query = select(Provider)
    if status is not None:
        query = query.where(Provider.status == check_status(status))
    if category is not None:
        current = select(ProviderCategory.provider_id).where(
            ProviderCategory.category == check_category(category),
            ProviderCategory.removed_on.is_(None),
        )
        query = query.where(Provider.id.in_(current))
    if only_id is not None:
        query = query.where(Provider.id == only_id)
    if city is not None:
        query = query.where(Provider.city == normalise_city(city))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(Provider.id).limit(limit).offset(offset)))
    return Page(_views(session, rows), total, limit, offset)


def set_provider_status(session: Session, provider_id: int, status: str) -> ProviderView:
    """Set a provider's status (active, suspended, blacklisted)."""
    check_status(status)
    row = _row(session, provider_id, lock=True)
    row.status = status
    row.updated_at = datetime.now(UTC)
    session.flush()
    return get_provider(session, provider_id)


def _current(session: Session, provider_id: int, category: str) -> ProviderCategory | None:
    return session.scalars(
        select(ProviderCategory).where(
            ProviderCategory.provider_id == provider_id,
            ProviderCategory.category == category,
            ProviderCategory.removed_on.is_(None),
        )
    ).one_or_none()


def add_category(
    session: Session, provider_id: int, category: str, registered_on: date
) -> ProviderView:
    """Register the provider for `category` from `registered_on`; refused if already current."""
    check_category(category)
    row = _row(session, provider_id, lock=True)
    if _current(session, provider_id, category) is not None:
        raise AlreadyExists(
            f"provider {provider_id} is already registered for {category}", field="category"
        )
    session.add(ProviderCategory(provider_id=provider_id, category=category,
                                 registered_on=registered_on))
    row.updated_at = datetime.now(UTC)
    session.flush()
    return get_provider(session, provider_id)


def remove_category(
    session: Session, provider_id: int, category: str, removed_on: date
) -> ProviderView:
    """End the provider's current registration for `category` on `removed_on`."""
    check_category(category)
    row = _row(session, provider_id, lock=True)
    current = _current(session, provider_id, category)
    if current is None:
        raise NotFound(
            f"provider {provider_id} is not registered for {category}", field="category"
        )
    if removed_on < current.registered_on:
        raise InvalidInput("removed_on is before the registration began", field="removed_on")
    current.removed_on = removed_on
    row.updated_at = datetime.now(UTC)
    session.flush()
    return get_provider(session, provider_id)
