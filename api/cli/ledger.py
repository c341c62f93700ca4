"""Ledger commands: migrate the database, verify the journal, show the ledger's state."""

from __future__ import annotations

import os
import sys

import typer
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from api.cli.schema_check import sqlite_path
from ledger.core import migrations
from ledger.core.config import database_url
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.models import Account
from ledger.core.money import fen_to_yuan
from ledger.core.seal import seal_committed
from ledger.core.verify import PARALLEL_FROM, VerifyReport, verify

db_app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)
# `--workers 0`: one process per core, no more than this (the database serves the rest).
MAX_AUTO_WORKERS = 4
# Plain echo, not rich: `verify` starts faster without it (rich is loaded for tables only).
echo = typer.echo


def _url(url: str | None) -> str:
    return url or database_url()


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade(
    url: str = typer.Option(None, "--url", help="Database URL (default: the configured one)."),
) -> None:
    """Migrate the database to the newest schema (SQLite or PostgreSQL, by URL)."""
    target = _url(url)
    path = sqlite_path(target)
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        echo(f"creating a new SQLite database at {path}")
    try:
        migrations.upgrade(target)
    except SQLAlchemyError as exc:
        echo(f"error: cannot migrate {_redacted(target)}: {exc.__class__.__name__}: "
             f"{exc.args[0]}", err=True)
        raise typer.Exit(1) from exc
    echo(f"database at {_redacted(target)} is at the newest schema")


def verify_command(
    url: str = typer.Option(None, "--url", help="Database URL (default: the configured one)."),
    workers: int = typer.Option(
        0, "--workers", min=0,
        help="Processes checking ranges of the chain side by side (0: one per core, up to "
        f"{MAX_AUTO_WORKERS}); a chain under {PARALLEL_FROM:,} entries is checked in one.",
    ),
) -> None:
    """Seal what is committed, then recompute the hash chain and every account's totals;
    exit 1 naming what differs."""
    workers = workers or min(os.cpu_count() or 1, MAX_AUTO_WORKERS)
    engine = make_engine(_url(url))
    seal_committed(make_sessionmaker(engine))
    reader = make_sessionmaker(engine, read_only=True)
    if not sys.stderr.isatty():
        # No progress bar to draw (a pipe, cron): skip importing it, start-up counts.
        with transaction(reader) as session:
            report = verify(session, workers=workers)
        engine.dispose()
        _print_report(report)
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("verifying: {task.completed} entries"),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("verify", total=None)
        with transaction(reader) as session:
            report = verify(
                session, progress=lambda n: bar.update(task, completed=n), workers=workers
            )
    engine.dispose()
    _print_report(report)


def _print_report(report: VerifyReport) -> None:
    if report.ok:
        echo(f"OK entries={report.entries} head={report.head_hash}{_unsealed(report)}")
        return
    if report.first_break is not None:
        echo(f"BROKEN entry={report.first_break.entry_id}: {report.first_break.reason}")
    for m in report.mismatches:
        echo(
            f"MISMATCH account={m.code} {m.total}: stored={m.stored} recomputed={m.recomputed}"
        )
    for u in report.stale:
        waited = "never queued" if u.queued_at is None else f"queued {u.queued_at.isoformat()}"
        echo(f"UNSEALED entry={u.entry_id}: {waited}")
    echo(f"FAILED entries={report.entries} head={report.head_hash}{_unsealed(report)}")
    raise typer.Exit(1)


def _unsealed(report: VerifyReport) -> str:
    """" unsealed=<n>" when entries committed meanwhile still wait for the seal step."""
    return f" unsealed={len(report.unsealed)}" if report.unsealed else ""


def status_command(
    url: str = typer.Option(None, "--url", help="Database URL (default: the configured one)."),
) -> None:
    """Show the journal head and the balance of every ledger's accounts, by ledger."""
    from ledger.core.journal import head  # posting code: not loaded for `verify`

    engine = make_engine(_url(url))
    with transaction(make_sessionmaker(engine, read_only=True)) as session:
        entries, head_hash = head(session)
        rows = session.execute(
            select(
                Account.ledger,
                func.count(),
                func.sum(Account.debits_posted),
                func.sum(Account.credits_posted),
                func.sum(Account.credits_pending),
            )
            .group_by(Account.ledger)
            .order_by(Account.ledger)
        ).all()
    engine.dispose()
    from rich.console import Console
    from rich.table import Table

    echo(f"database: {_redacted(_url(url))}")
    echo(f"journal: {entries} entries, head {head_hash}")
    table = Table("ledger", "accounts", "debits posted", "credits posted", "held")
    for ledger_code, count, debits, credits, held in rows:
        table.add_row(
            ledger_code,
            str(count),
            fen_to_yuan(debits or 0),
            fen_to_yuan(credits or 0),
            fen_to_yuan(held or 0),
        )
    Console(highlight=False, soft_wrap=True).print(table)
