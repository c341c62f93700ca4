"""Award commands: `voucher-ledger awards import FILE.csv --program CODE`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.orm import Session

from api.cli.registry import cli_actor
from ledger.awards.csv_import import AwardImportResult, import_awards
from ledger.core import oplog
from ledger.core.acting import By
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.errors import DomainError, ImportRejected, InvalidInput, PermissionDenied
from ledger.core.money import format_yuan
from ledger.registry.users import find_user

awards_app = typer.Typer(help="Tiered awards (瞪羚, 独角兽, 专精特新, 小巨人): import award lists.",
                         no_args_is_help=True)
err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)


def _recorder(session: Session, username: str) -> By:
    """The bureau operator recording the applications (the maker of maker-checker)."""
    user = find_user(session, username)
    if user is None or not user.active:
        raise InvalidInput(f"no active user {username!r}", field="user")
    if user.role != "operator":
        raise PermissionDenied(f"{username} is a {user.role}; an operator records awards")
    return By(user.id, user.username)


@awards_app.command("import")
def import_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="CSV: credit_code, tier, level, document_no, "
                                     "certified_on[, requested]; UTF-8 (BOM or not) or GB18030."),
    program: str = typer.Option(..., "--program", help="Code of the award programme."),
    user: str = typer.Option(..., "--user", help="The operator recording the applications."),
    on: str = typer.Option(None, "--on", help="Application date YYYY-MM-DD (default: today)."),
    url: str = typer.Option(None, "--url", help="Database URL (default: the configured one)."),
) -> None:
    """One application per newly certified firm: one bad row and nothing is written."""
    try:
        day = dt.date.fromisoformat(on) if on else None
    except ValueError as exc:
        raise typer.BadParameter(f"{on!r} is not a date YYYY-MM-DD", param_hint="--on") from exc
    data = path.read_bytes()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    actor = cli_actor()
    try:
        with Progress(TextColumn("deciding {task.description}"), BarColumn(),
                      MofNCompleteColumn(), console=err, transient=True,
                      disable=not err.is_terminal) as bar:
            task = bar.add_task("awards", total=None)

            def progress(_kind: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            with transaction(sessions) as session:
                by = _recorder(session, user)
                result: AwardImportResult = import_awards(session, program, data, by=by,
                                                          on=day, progress=progress)
                oplog.record(session, actor, "awards.import", "import", None,
                             message=f"{path.name}: {program}: created {len(result.created)}, "
                                     f"skipped {result.skipped}")
    except DomainError as exc:
        with transaction(sessions) as session:
            oplog.record(session, actor, "awards.import", "import", None,
                         refused_code=exc.code, message=f"{path.name}: {exc.message}")
        engine.dispose()
        if isinstance(exc, ImportRejected):
            table = Table("line", "column", "reason", title="nothing was imported")
            for e in exc.detail.get("errors", []):
                table.add_row(str(e["line"]), e["column"], e["reason"])
            err.print(table)
            err.print(f"error: {exc.message}")
            raise typer.Exit(1) from exc
        raise
    engine.dispose()
    out.print(f"awards: {result.rows} rows, {len(result.created)} applications recorded "
              f"({format_yuan(result.amount_fen)} yuan), {result.skipped} already recorded "
              "(skipped)")
    if result.skipped and not result.created:
        out.print(f"nothing added: {result.skipped} rows already imported")
