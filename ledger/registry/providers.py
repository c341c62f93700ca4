"""Service providers (服务机构) and the service categories they are registered (备案) for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.base import Base, BigIntPK
from ledger.core.errors import InvalidInput, NotFound
from ledger.core.paging import Page
from ledger.registry.parties import PartyColumns, PartyData
from ledger.registry.party_kind import PartyKind, PartyView
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
class ProviderView(PartyView[Registration]):
    """A provider as services return it; its extras are its category registrations."""

    @property
    def categories(self) -> tuple[Registration, ...]:
        return self.extras

    @property
    def current_categories(self) -> tuple[str, ...]:
        """The categories the provider is registered for now."""
        return tuple(r.category for r in self.categories if r.removed_on is None)


def check_category(category: str) -> str:
    """Refuse a category the policy files do not know."""
    if category not in CATEGORIES:
        raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}", field="category")
    return category


def _check_registrations(registrations: Sequence[Registration]) -> None:
    names = [check_category(r.category) for r in registrations]
    if len(set(names)) != len(names):
        raise InvalidInput("a category is listed twice", field="categories")


PROVIDERS: PartyKind[ProviderView, Registration] = PartyKind(
    noun="provider", model=Provider,
    # What a provider carries: its category registrations (备案), current and ended.
    extra_model=ProviderCategory, extra_key="provider_id", extra_order=("registered_on", "id"),
    read_extra=lambda c: Registration(c.category, c.registered_on, c.removed_on),
    write_extra=lambda r: {"category": r.category, "registered_on": r.registered_on},
    check_extras=_check_registrations,
    make_view=ProviderView,
)
get_provider = PROVIDERS.get


def create_provider(session: Session, data: PartyData, *, status: str = "active",
                    categories: tuple[Registration, ...] = ()) -> ProviderView:
    """Register a provider and the categories it is registered for."""
    return PROVIDERS.create(session, data, status=status, extras=categories)


def list_providers(
    session: Session, *, limit: int, offset: int = 0, status: str | None = None,
    category: str | None = None, only_id: int | None = None, city: str | None = None,
    q: str | None = None,
) -> Page[ProviderView]:
    """A page of providers in id order, optionally of one status, category, city or provider,
    or whose name or credit code starts with `q`."""
    where = []
    if category is not None:
        where.append(Provider.id.in_(select(ProviderCategory.provider_id).where(
            ProviderCategory.category == check_category(category),
            ProviderCategory.removed_on.is_(None))))
    return PROVIDERS.page(session, limit=limit, offset=offset, status=status, city=city,
                          only_id=only_id, where=where, q=q)


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
    clash = (ProviderCategory.category == category) & ProviderCategory.removed_on.is_(None)
    return PROVIDERS.add_extra(session, provider_id, Registration(category, registered_on),
                               clash, f"provider {provider_id} is already registered for "
                               f"{category}")


def remove_category(
    session: Session, provider_id: int, category: str, removed_on: date
) -> ProviderView:
    """End the provider's current registration for `category` on `removed_on`."""
    check_category(category)
    row = PROVIDERS.row(session, provider_id, lock=True)
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
