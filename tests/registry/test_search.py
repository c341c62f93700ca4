"""Prefix search (`q`): exact prefix semantics on both engines, served by an index."""

from __future__ import annotations

from registry_factories import party
from sqlalchemy import select, text

from ledger.core.db import transaction
from ledger.core.search import starts_with
from ledger.registry.firms import Firm, create_firm, list_firms
from ledger.registry.names import actor_names, firms_matching

NAMES = ("ab%x科技", "abc科技", "ABd科技", "ab_y科技", "沈阳新松", "沈阳机床", "大连沈阳")


def _firms(sessions) -> dict[str, int]:
    with transaction(sessions) as s:
        return {name: create_firm(s, party(n, name=name)).id for n, name in enumerate(NAMES, 1)}


def _found(sessions, q: str) -> list[str]:
    with transaction(sessions) as s:
        return sorted(s.scalars(select(Firm.name).where(Firm.id.in_(firms_matching(q)))))


def test_a_prefix_matches_as_written(sessions):
    _firms(sessions)
    assert _found(sessions, "沈阳") == ["沈阳新松", "沈阳机床"]
    assert _found(sessions, "ab") == ["ab%x科技", "ab_y科技", "abc科技"]  # case kept
    assert _found(sessions, "ab%") == ["ab%x科技"]  # LIKE's wildcards are plain characters
    assert _found(sessions, "ab_") == ["ab_y科技"]
    assert _found(sessions, "abc科技") == ["abc科技"]
    assert _found(sessions, "阳") == []


def test_credit_codes_match_in_capitals(sessions):
    ids = _firms(sessions)
    with transaction(sessions) as s:
        code = s.scalar(select(Firm.credit_code).where(Firm.id == ids["abc科技"]))
        page = list_firms(s, limit=20, q=code.lower())
    assert [f.id for f in page.items] == [ids["abc科技"]] and page.total == 1


def test_the_search_uses_the_prefix_index(sessions):
    _firms(sessions)
    query = select(Firm.id).where(starts_with(Firm.name, "沈阳"))
    with transaction(sessions) as s:
        engine = s.get_bind().dialect.name
        compiled = query.compile(dialect=s.get_bind().dialect,
                                 compile_kwargs={"literal_binds": True})
        if engine == "postgresql":
            # A handful of rows would be scanned; forbid that to see whether an index serves.
            s.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(s.scalars(text(f"EXPLAIN {compiled}")))
        else:
            plan = "\n".join(str(r[-1]) for r in s.execute(
                text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_firms_name_prefix" in plan, plan


def test_actors_are_named_by_their_user(sessions):
    with transaction(sessions) as s:
        from ledger.registry.users import create_user

        named = create_user(s, username="clerk", password="0123456789", role="operator",
                            display_name="王会计")
        bare = create_user(s, username="bare", password="0123456789", role="auditor",
                           display_name="")
        found = actor_names(s, [f"user:{named.id}:clerk", f"user:{bare.id}:bare",
                                "cli:root", "user:999:gone", None])
    assert found == {f"user:{named.id}:clerk": "王会计", f"user:{bare.id}:bare": "bare",
                     "cli:root": "cli:root", "user:999:gone": "gone"}
