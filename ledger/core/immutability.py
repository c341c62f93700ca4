"""DDL for append-only tables: database triggers that refuse UPDATE and DELETE.

Used by the Alembic migrations, so that the database itself (not only our code) refuses to
change a posted journal row, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

PG_FUNCTION = "voucher_ledger_refuse_change"


def pg_function_ddl() -> str:
    """The PostgreSQL trigger function shared by every append-only table."""
    return f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'voucher-ledger: % on % refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql
"""


def append_only_ddl(dialect: str, table: str) -> list[str]:
    """Statements that make `table` refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL)."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'voucher-ledger: {op} on {table} refused: "
            f"the table is append-only'); END"
            for op in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        return [
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()",
        ]
    raise ValueError(f"unsupported database dialect {dialect!r}")


def fixed_columns_ddl(dialect: str, table: str, columns: list[str]) -> list[str]:
    """Statements that refuse UPDATE of `columns` and any DELETE of `table`'s rows."""
    cols = ", ".join(columns)
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_fixed_columns BEFORE UPDATE OF {cols} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'voucher-ledger: changing {cols} of {table} refused'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'voucher-ledger: DELETE on {table} refused'); END",
        ]
    if dialect == "postgresql":
        return [
            f"CREATE TRIGGER {table}_fixed_columns BEFORE UPDATE OF {cols} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
        ]
    raise ValueError(f"unsupported database dialect {dialect!r}")
