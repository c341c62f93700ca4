"""The migrations create exactly what the models describe, on this test's engine."""

from alembic.runtime.migration import MigrationContext

from alembic import command
from ledger.core.migrations import alembic_config


def test_models_and_migrations_agree(db_url):
    # `alembic check` fails when autogenerate would find any difference.
    command.check(alembic_config(db_url))


def test_the_database_is_at_the_head_revision(engine):
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0010"
