"""`voucher-ledger backup FILE` and `restore FILE`: a whole-database copy, checked by verify."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ledger.core.backup import Outcome, backup, restore
from ledger.core.config import database_url

out = Console(highlight=False, soft_wrap=True)
URL_OPTION = typer.Option(None, "--url", help="Database URL (default: the configured one).")


def _report(verb: str, outcome: Outcome) -> None:
    report = outcome.report
    if not report.ok:
        out.print(f"{verb} {outcome.path}, but verify FAILED: entries={report.entries} "
                  f"head={report.head_hash} (run `voucher-ledger verify` for details)")
        raise typer.Exit(1)
    out.print(f"{verb} {outcome.path}: verify OK entries={report.entries} "
              f"head={report.head_hash}")


def backup_command(
    file: Path = typer.Argument(..., dir_okay=False, help="The new backup file to write."),
    url: str = URL_OPTION,
) -> None:
    """Copy the database to FILE (SQLite: online backup API; PostgreSQL: pg_dump), then verify."""
    _report("backed up to", backup(url or database_url(), file))


def restore_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="A file written by `voucher-ledger backup`."),
    url: str = URL_OPTION,
) -> None:
    """Restore FILE into an empty database (SQLite: a new file; PostgreSQL: pg_restore)."""
    _report("restored from", restore(file, url or database_url()))
