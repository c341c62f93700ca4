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
    sqlite = is_sqlite(str(connection.engine.url))
    # SQLite alters a table by copying it into a new one and dropping the old (batch mode);
    # with foreign keys on, dropping a table that others reference fails on a database that
    # holds rows. They are off while migrating (SQLite only honours that outside a
    # transaction), and every reference is checked before they are on again.
    raw = connection.connection.driver_connection if sqlite and not connection.in_transaction() \
        else None
    if raw is not None:
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if connection.in_transaction():
            connection.commit()
        if raw is not None:
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration broke {len(broken)} foreign key(s): "
                                   f"{broken[:5]}")
    finally:
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; pass a database URL")
run_migrations_online()
