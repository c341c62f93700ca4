"""The migrations create exactly what the models describe, on this test's engine."""

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ledger.core.migrations import alembic_config, head_revisions, schema_problem


def test_models_and_migrations_agree(db_url):
    # `alembic check` fails when autogenerate would find any difference.
    command.check(alembic_config(db_url))


def test_the_database_is_at_the_head_revision(engine, db_url):
    heads = ScriptDirectory.from_config(alembic_config(db_url)).get_heads()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == heads[0]
    assert len(heads) == 1
    # The CLI's quick head check (no Alembic import) agrees with Alembic's.
    assert head_revisions() == frozenset(heads)
    assert schema_problem(engine) is None


def test_a_database_behind_the_code_is_named(engine):
    head = min(head_revisions())
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    try:
        assert schema_problem(engine) == (
            f"the database is at revision 0001, the code needs {head}"
        )
    finally:
        # The version table is not wiped between PostgreSQL tests: put the head back.
        with engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{head}'")
