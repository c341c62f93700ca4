"""One implementation for firms and providers: the registry of a kind of party.

Firms and providers are both parties (ledger.registry.parties) keyed by their credit code; they
differ only in what each carries beside it — a firm its certifications, a provider its service
categories. A `PartyKind` states that difference once (the table, how a row reads, how a value
is checked and written) and every registry operation is written here, once, for both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.core.errors import AlreadyExists, InvalidInput, NotFound
from ledger.core.paging import Page, check_page
from ledger.registry.parties import (
    PartyData,
    check_party,
    check_status,
    normalise_city,
    party_data_of,
    party_matches,
    party_values,
)

ViewT = TypeVar("ViewT")
ExtraT = TypeVar("ExtraT")


@dataclass(frozen=True)
class PartyView(Generic[ExtraT]):
    """A party as services return it (bank account unmasked: the API masks for outsiders),
    with what its kind carries beside the identity (`extras`)."""

    id: int
    party: PartyData
    status: str
    extras: tuple[ExtraT, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PartyKind(Generic[ViewT, ExtraT]):
    """A kind of party (firm, provider) and what it carries beside the common identity."""

    noun: str  # "firm" or "provider": in messages and in the `<noun>_id` of errors
    model: Any  # the party table's mapped class
    extra_model: Any  # the mapped class of what it carries (certifications, categories)
    extra_key: str  # the extra table's column naming the party
    extra_order: tuple[str, ...]  # how a party's extras are listed
    read_extra: Callable[[Any], ExtraT]  # an extra row as the value services return
    write_extra: Callable[[ExtraT], dict[str, object]]  # a value as the extra row's columns
    check_extras: Callable[[Sequence[ExtraT]], None]  # refuse bad or repeated extras
    make_view: Callable[..., ViewT]  # (id, party, status, extras, created_at, updated_at)

    def views(self, session: Session, rows: Sequence[Any]) -> list[ViewT]:
        """Views of `rows` with their extras, fetched in one query."""
        ids = [r.id for r in rows]
        extras: dict[int, list[ExtraT]] = {i: [] for i in ids}
        if ids:
            key = getattr(self.extra_model, self.extra_key)
            order = [getattr(self.extra_model, c) for c in self.extra_order]
            for e in session.scalars(select(self.extra_model).where(key.in_(ids)).order_by(*order)):
                extras[getattr(e, self.extra_key)].append(self.read_extra(e))
        return [self.make_view(r.id, party_data_of(r), r.status, tuple(extras[r.id]),
                               r.created_at, r.updated_at) for r in rows]

    def row(self, session: Session, party_id: int, *, lock: bool = False) -> Any:
        """The party's row (locked for update when `lock`), or NotFound."""
        query = select(self.model).where(self.model.id == party_id)
        row = session.scalars(query.with_for_update() if lock else query).one_or_none()
        if row is None:
            raise NotFound(f"no {self.noun} {party_id}", **{f"{self.noun}_id": party_id})
        return row

    def get(self, session: Session, party_id: int) -> ViewT:
        """The party with `party_id`, or NotFound."""
        return self.views(session, [self.row(session, party_id)])[0]

    def get_many(self, session: Session, party_ids: list[int]) -> list[ViewT]:
        """The parties with these ids, in id order."""
        query = select(self.model).where(self.model.id.in_(party_ids)).order_by(self.model.id)
        return self.views(session, list(session.scalars(query)))

    def find_ids(self, session: Session, credit_codes: list[str]) -> dict[str, int]:
        """The ids of the registered parties among `credit_codes`."""
        rows = session.execute(select(self.model.credit_code, self.model.id)
                               .where(self.model.credit_code.in_(credit_codes)))
        return {code: party_id for code, party_id in rows}

    def _registered(self, code: str) -> AlreadyExists:
        return AlreadyExists(f"a {self.noun} with credit code {code} is registered",
                             field="credit_code")

    def create(self, session: Session, data: PartyData, *, status: str,
               extras: Sequence[ExtraT]) -> ViewT:
        """Register a party with its extras; its credit code must be valid and new."""
        clean = check_party(data)
        check_status(status)
        self.check_extras(extras)
        taken = select(self.model.id).where(self.model.credit_code == clean.credit_code)
        if session.scalar(taken) is not None:
            raise self._registered(clean.credit_code)
        now = datetime.now(UTC)
        row = self.model(**party_values(clean), status=status, created_at=now, updated_at=now)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
                for extra in extras:
                    session.add(self.extra_model(**{self.extra_key: row.id},
                                                 **self.write_extra(extra)))
                session.flush()
        except IntegrityError as exc:  # a concurrent registration of the same code
            raise self._registered(clean.credit_code) from exc
        return self.get(session, row.id)

    def insert_many(
        self, session: Session, rows: list[tuple[PartyData, str, tuple[ExtraT, ...]]]
    ) -> list[int]:
        """Insert many validated, unregistered parties at once (the CSV import's path)."""
        if not rows:
            return []
        now = datetime.now(UTC)
        # Core executemany (RETURNING in parameter order runs one statement a row on SQLite),
        # then the new ids read back by credit code in one query.
        session.connection().execute(
            insert(self.model.__table__),
            [{**party_values(p), "status": status, "created_at": now, "updated_at": now}
             for p, status, _ in rows],
        )
        found = self.find_ids(session, [p.credit_code for p, _, _ in rows])
        ids = [found[p.credit_code] for p, _, _ in rows]
        extras = [{self.extra_key: party_id, **self.write_extra(e)}
                  for party_id, (_, _, values) in zip(ids, rows, strict=True) for e in values]
        if extras:
            session.connection().execute(insert(self.extra_model.__table__), extras)
        return ids

    def page(
        self, session: Session, *, limit: int, offset: int = 0, status: str | None = None,
        city: str | None = None, only_id: int | None = None,
        where: Sequence[ColumnElement[bool]] = (), q: str | None = None,
    ) -> Page[ViewT]:
        """A page of parties in id order, optionally of one status, city or party, or whose
        name or credit code starts with `q`."""
        check_page(limit, offset)
        query = select(self.model).where(*where)
        if q is not None:
            query = query.where(party_matches(self.model, q))
        if status is not None:
            query = query.where(self.model.status == check_status(status))
        if city is not None:
            query = query.where(self.model.city == normalise_city(city))
        if only_id is not None:
            query = query.where(self.model.id == only_id)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(session.scalars(query.order_by(self.model.id).limit(limit).offset(offset)))
        return Page(self.views(session, rows), total, limit, offset)

    def set_status(self, session: Session, party_id: int, status: str) -> ViewT:
        """Set the party's status (active, suspended, blacklisted)."""
        check_status(status)
        row = self.row(session, party_id, lock=True)
        row.status = status
        row.updated_at = datetime.now(UTC)
        session.flush()
        return self.get(session, party_id)

    def set_bank_account(self, session: Session, party_id: int, bank_name: str,
                         bank_account: str) -> ViewT:
        """Record the party's corrected bank (name and account number, checked as at
        registration)."""
        row = self.row(session, party_id, lock=True)
        clean = check_party(replace(party_data_of(row), bank_name=bank_name,
                                    bank_account=bank_account))
        if clean.bank_account is None:
            raise InvalidInput("bank_account: give the bank's name and the account",
                               field="bank_account")
        row.bank_name, row.bank_account = clean.bank_name, clean.bank_account
        row.updated_at = datetime.now(UTC)
        session.flush()
        return self.get(session, party_id)

    def add_extra(self, session: Session, party_id: int, extra: ExtraT,
                  clash: ColumnElement[bool], taken: str) -> ViewT:
        """Record one more extra for the party, refused (`taken`) when a row matches `clash`."""
        self.check_extras([extra])
        row = self.row(session, party_id, lock=True)
        key = getattr(self.extra_model, self.extra_key)
        if session.scalar(select(self.extra_model.id).where(key == party_id, clash)) is not None:
            raise AlreadyExists(taken, field=next(iter(self.write_extra(extra))))
        session.add(self.extra_model(**{self.extra_key: party_id}, **self.write_extra(extra)))
        row.updated_at = datetime.now(UTC)
        session.flush()
        return self.get(session, party_id)
