"""Voucher commands: run expiry, issue a batch of vouchers from CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import select

from api.cli.registry import cli_actor
from ledger.core import oplog
from ledger.core.acting import By
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.errors import ImportRejected
from ledger.core.money import fen_to_yuan
from ledger.programmes.programme import Programme
from ledger.vouchers.csv_import import import_vouchers
from ledger.vouchers.expiry import expire

vouchers_app = typer.Typer(help="Vouchers: issue a batch from CSV.", no_args_is_help=True)
err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)
URL_OPTION = typer.Option(None, "--url", help="Database URL (default: the configured one).")


def _by(actor: oplog.Actor) -> By:
    return By(0, actor.name)


def expire_command(
    as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: today, Shanghai)."),
    program: str = typer.Option(None, "--program", help="One programme (default: every one)."),
    url: str = URL_OPTION,
) -> None:
    """Return every expired voucher's unused balance to its programme's budget."""
    day = dt.date.fromisoformat(as_of) if as_of else None
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    actor = cli_actor()
    try:
        with Progress(TextColumn("returning expired balances"), BarColumn(),
                      MofNCompleteColumn(), console=err, transient=True,
                      disable=not err.is_terminal) as bar, \
                transaction(sessions) as session:
            task = bar.add_task("expire", total=None)
            codes = [program] if program else list(
                session.scalars(select(Programme.code).order_by(Programme.code)))
            for code in codes:
                result = expire(session, code, as_of=day, by=_by(actor),
                                progress=lambda n: bar.advance(task, n))
                oplog.record(session, actor, "programs.expire", "programme", code,
                             message=f"as of {result.as_of}: {result.vouchers_expired} vouchers, "
                                     f"{fen_to_yuan(result.returned_fen)} yuan returned")
                out.print(f"{code}: as of {result.as_of.isoformat()} returned "
                          f"{fen_to_yuan(result.returned_fen)} yuan from "
                          f"{result.vouchers_expired} voucher(s)")
                for hold in result.open_holds:
                    out.print(f"  open hold on voucher {hold.serial} (id {hold.voucher_id}): "
                              f"{fen_to_yuan(hold.held_fen)} yuan, left for its provider")
    finally:
        engine.dispose()


@vouchers_app.command("import")
def import_command(
    program: str = typer.Argument(..., help="The programme's code."),
    path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="CSV with columns credit_code, amount (yuan)."),
    url: str = URL_OPTION,
) -> None:
    """Issue one voucher per row, all or none (each row decided by the policy); importing the
    same file again adds nothing."""
    data = path.read_bytes()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    actor = cli_actor()
    try:
        # The bar draws only on a terminal (Rich leaves pipes and CI logs alone).
        with Progress(TextColumn("issuing vouchers"), BarColumn(), MofNCompleteColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("issue", total=max(0, data.count(b"\n") - 1) or None)
            with transaction(sessions) as session:
                result = import_vouchers(session, program, data, by=_by(actor),
                                         progress=lambda n: bar.advance(task, n))
                message = (f"{path.name}: nothing added, {result.rows} rows already imported"
                           if result.already_imported
                           else f"{path.name}: issued {len(result.ids)}")
                oplog.record(session, actor, "vouchers.import", "import", program,
                             message=message)
    except ImportRejected as exc:
        err.print(f"error: {exc.message}")
        for row in exc.detail.get("errors", []):
            err.print(f"  line {row['line']}: {row.get('column') or ''} {row['reason']}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if result.already_imported:
        out.print(f"nothing added: {result.rows} rows already imported ({path.name} was "
                  f"imported into {program} before)")
    else:
        out.print(f"issued {len(result.ids)} voucher(s) in {program}")
