"""The operation log is append-only in the database itself."""

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from ledger.core import oplog
from ledger.core.db import transaction
from ledger.core.oplog import Actor, Operation, list_operations


def test_records_done_and_refused_newest_first(sessions):
    actor = Actor("user:1:op", "operator")
    with transaction(sessions) as s:
        oplog.record(s, actor, "firms.create", "firm", 7, idempotency_key="k")
        oplog.record(s, actor, "firms.create", "firm", None, refused_code="invalid_input",
                     message="city: bad")
    with transaction(sessions) as s:
        page = list_operations(s, limit=10)
        refused = list_operations(s, limit=10, outcome="refused")
    assert [(o.outcome, o.object_id, o.code) for o in page.items] == [
        ("refused", None, "invalid_input"), ("done", "7", None)]
    assert refused.total == 1 and page.items[1].idempotency_key == "k"


@pytest.mark.parametrize("statement", [
    update(Operation).values(outcome="done", code=None),
    delete(Operation),
])
def test_update_and_delete_are_refused_by_the_database(sessions, statement):
    with transaction(sessions) as s:
        oplog.record(s, Actor("x", "operator"), "a", "firm", 1, refused_code="c")
    with pytest.raises(DBAPIError, match="append-only"), transaction(sessions) as s:
        s.execute(statement)
    with transaction(sessions) as s:
        assert list_operations(s, limit=10).items[0].code == "c"


def test_truncate_is_refused_on_postgresql(sessions, engine):
    if engine.dialect.name != "postgresql":
        # SQLite has no TRUNCATE; DELETE without WHERE is covered above.
        with transaction(sessions) as s:
            assert s.execute(text("SELECT count(*) FROM sqlite_master WHERE type='trigger' "
                                  "AND tbl_name='operations'")).scalar() == 2
        return
    with pytest.raises(DBAPIError, match="append-only"), transaction(sessions) as s:
        s.execute(text("TRUNCATE operations"))
