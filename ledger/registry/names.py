"""Names for what lists show by id: parties matched by a search text, users behind an actor.

Lists join the party tables for names; these give them the `q` condition (name or credit code
prefix) and the display names of the users the journal and the log record as `user:<id>:…`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.registry.firms import Firm
from ledger.registry.parties import party_matches
from ledger.registry.providers import Provider
from ledger.registry.users import User


def firms_matching(q: str) -> Any:
    """The ids of firms whose name or credit code starts with `q` (a subquery)."""
    return select(Firm.id).where(party_matches(Firm, q))


def providers_matching(q: str) -> Any:
    """The ids of providers whose name or credit code starts with `q` (a subquery)."""
    return select(Provider.id).where(party_matches(Provider, q))


# Pickers list every party by name; past this many a form should search instead.
MAX_CHOICES = 5000


def party_choices(session: Session, kind: str) -> list[tuple[int, str, str]]:
    """Every firm (`kind` firm) or provider as (id, name, credit code), by name: one query."""
    model = Firm if kind == "firm" else Provider
    return [(i, name, code) for i, name, code in session.execute(
        select(model.id, model.name, model.credit_code).order_by(model.name, model.id)
        .limit(MAX_CHOICES))]


def user_id_of(actor: str) -> int | None:
    """The user id in an actor label `user:<id>:<name>`, or None (the CLI, a system job)."""
    parts = actor.split(":", 2)
    if len(parts) == 3 and parts[0] == "user" and parts[1].isdecimal():
        return int(parts[1])
    return None


def actor_names(session: Session, actors: Iterable[str | None]) -> dict[str, str]:
    """Each actor label's person: the user's display name (or username), one query for all.

    A label naming a party instead (`demo:firm:<id>`, `demo:provider:<id>`: the demo's
    firms without a sign-in) shows the party's registered name; any other label (the CLI's
    `cli:<login>`) names itself.
    """
    labels = {a for a in actors if a}
    ids = {i for i in (user_id_of(a) for a in labels) if i is not None}
    users = {uid: (shown or username) for uid, shown, username in session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(ids))).all()
    } if ids else {}
    parties = {kind: {p for p in (party_of(a, kind) for a in labels) if p is not None}
               for kind in PARTY_TABLES}
    party_names = {(kind, pid): name for kind, table in PARTY_TABLES.items() if parties[kind]
                   for pid, name in session.execute(
                       select(table.id, table.name).where(table.id.in_(parties[kind]))).all()}
    named = {}
    for label in labels:
        uid = user_id_of(label)
        if uid is not None:
            named[label] = users.get(uid, label.split(":", 2)[-1])
            continue
        party = next(((kind, p) for kind in PARTY_TABLES
                      if (p := party_of(label, kind)) is not None), None)
        named[label] = party_names.get(party, label) if party else label
    return named


PARTY_TABLES: dict[str, Any] = {"firm": Firm, "provider": Provider}


def party_of(actor: str, kind: str) -> int | None:
    """The party id in an actor label `<who>:<kind>:<id>` (kind firm or provider), or None."""
    parts = actor.split(":")
    if len(parts) == 3 and parts[1] == kind and parts[2].isdecimal():
        return int(parts[2])
    return None
