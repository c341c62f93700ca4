"""Alembic environment: migrates the configured database (SQLite or PostgreSQL)."""

from alembic import context

from ledger.core.db import is_sqlite, make_engine
from ledger.schema import metadata

config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    """Run migrations on a connection given by the caller, or on the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.connect() as conn:
            _migrate(conn)
    finally:
        engine.dispose()


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite(str(connection.engine.url)),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; pass a database URL")
run_migrations_online()
