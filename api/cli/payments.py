"""Payment commands: `voucher-ledger payments reconcile FILE --batch ID`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.money import format_yuan
from ledger.payments.confirmation import read_confirmation
from ledger.payments.reconciliation import compare_file, reconcile_batch

payments_app = typer.Typer(help="Payment batches: reconcile with the bank's file.",
                           no_args_is_help=True)
out = Console(highlight=False, soft_wrap=True)


@payments_app.command("reconcile")
def reconcile_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="The bank's confirmation file (CSV or XLSX): line, "
                                     "amount_yuan, reference, value_date."),
    batch: int = typer.Option(..., "--batch", min=1, help="The payment batch's number."),
    url: str = typer.Option(None, "--url", help="Database URL (default: the configured one)."),
) -> None:
    """The batch's lines paid, returned and still owed, checked against the journal, and the
    bank's file compared line by line; exit 1 on any difference."""
    rows, _ = read_confirmation(path.read_bytes())
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            report = reconcile_batch(session, batch)
            differences = compare_file(session, batch, rows)
    finally:
        engine.dispose()
    summary = Table(title=f"batch {batch} ({report.batch.programme}, {report.batch.status})")
    for column in ("", "lines", "batch records (yuan)", "journal (yuan)"):
        summary.add_column(column, justify="right" if column else "left")
    summary.add_row("total", str(len(report.batch.lines)), format_yuan(report.batch.total_fen),
                    "")
    summary.add_row("paid", str(report.paid_lines), format_yuan(report.paid_fen),
                    format_yuan(report.ledger_paid_fen))
    summary.add_row("returned", str(report.returned_lines), format_yuan(report.returned_fen),
                    format_yuan(report.ledger_returned_fen))
    summary.add_row("still owed", "", format_yuan(report.owed_fen),
                    format_yuan(report.ledger_owed_fen))
    out.print(summary)
    for d in differences:
        out.print(f"line {d.line}: {d.what} (file: {d.file_value or '-'}, "
                  f"ledger: {d.ledger_value or '-'})")
    agrees = report.agrees and not differences
    out.print(f"reconciled: {'yes' if agrees else 'no'}; net paid "
              f"{format_yuan(report.net_paid_fen)}, still owed {format_yuan(report.owed_fen)}")
    if not agrees:
        raise typer.Exit(1)
