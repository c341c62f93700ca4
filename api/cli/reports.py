"""`voucher-ledger report KIND --program CODE …`: write a PDF report from the ledger."""

from __future__ import annotations

import datetime as dt
import getpass
import io
import re
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from ledger.config import database_url
from ledger.db import is_sqlite, make_engine, make_sessionmaker, transaction
from ledger.errors import DomainError
from ledger.queries import journal_summary
from reports.certificate import render_certificate
from reports.document import SHANGHAI
from reports.fonts import FontError, report_font
from reports.provenance import Period
from reports.trial_balance import render_trial_balance
from rules.loader import PolicyErrors, PolicySet, load_policies

KINDS = ("certificate", "trial-balance")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def _fail(message: str, code: int) -> typer.Exit:
    """Print one `error:` line and return the Exit to raise (2: bad usage, 1: failure)."""
    err.print(f"error: {message}", markup=False)
    return typer.Exit(code)


def _date(option: str, value: str | None) -> dt.date | None:
    """Parse YYYY-MM-DD strictly (Python's fromisoformat also takes 20250101 and weeks)."""
    if value is None:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)", 2) from None


def _today() -> dt.date:
    """Today in Beijing, where the bureau's days begin and end."""
    return dt.datetime.now(SHANGHAI).date()


def _period(
    kind: str, start: dt.date | None, end: dt.date | None, as_of: dt.date | None, first: dt.date
) -> Period:
    """The period asked for; --as-of D alone means D's fiscal year up to D (trial balance)
    or the journal's first day up to D (certificate)."""
    if as_of is not None and (start is not None or end is not None):
        raise _fail("give --as-of or --from/--to, not both", 2)
    end = as_of or end or _today()
    if start is None:
        start = dt.date(end.year, 1, 1) if kind == "trial-balance" else min(first, end)
    if start > end:
        raise _fail(f"--from {start} is after --to {end}", 2)
    return Period(start, end)


def _first_day(session: Session) -> dt.date:
    first = journal_summary(session).first_posted_at
    return _today() if first is None else first.astimezone(SHANGHAI).date()


def _os_user() -> str:
    """Who runs the command, for the report's 生成人 line when --by is not given."""
    try:
        return getpass.getuser()
    except OSError:  # no login name and no USER/LOGNAME, as in some containers
        return "unknown"


def _save(path: Path, pdf: io.BytesIO) -> None:
    """Write a PDF rendered in memory: a failed render never leaves half a file behind."""
    try:
        path.write_bytes(pdf.getvalue())
    except OSError as exc:
        raise _fail(f"cannot write {path}: {exc.strerror}", 1) from exc


def report_command(
    kind: str = typer.Argument(..., help=f"Report kind: {', '.join(KINDS)}."),
    program: str = typer.Option(..., "--program", help="Programme (ledger) code: LN-CXQ-2025."),
    date_from: str = typer.Option(None, "--from", help="First day of the period (YYYY-MM-DD)."),
    date_to: str = typer.Option(None, "--to", help="Last day of the period (YYYY-MM-DD)."),
    as_of: str = typer.Option(None, "--as-of", help="Balances as of the end of this day."),
    output: Path = typer.Option(..., "--out", help="The PDF file to write."),
    by: str = typer.Option(None, "--by", help="Who makes the report (default: the OS user)."),
    policies: Path = typer.Option(None, "--policies", help="Policy directory (default: shipped)."),
    url: str = typer.Option(None, "--url", help="Database URL (default: the configured one)."),
) -> None:
    """Write a PDF report: trial-balance (试算平衡表) or certificate (完整性证明)."""
    if kind not in KINDS:
        raise _fail(f"unknown report kind {kind!r}; kinds: {', '.join(KINDS)}", 2)
    start, end, day = _date("--from", date_from), _date("--to", date_to), _date("--as-of", as_of)
    made_by = by or _os_user()
    try:
        font = report_font()
        policy_set: PolicySet = load_policies(policies)
    except (FontError, PolicyErrors) as exc:
        raise _fail(str(exc).splitlines()[0], 1) from exc
    target = url or database_url()
    # One snapshot for every query of the report: PostgreSQL's default READ COMMITTED would
    # let a posting land between the totals and the rows. SQLite's read transaction already is.
    engine = make_engine(target) if is_sqlite(target) else make_engine(
        target, isolation_level="REPEATABLE READ"
    )
    try:
        with transaction(make_sessionmaker(engine, read_only=True)) as session:
            period = _period(kind, start, end, day, _first_day(session))
            pdf = io.BytesIO()
            if kind == "trial-balance":
                tb = render_trial_balance(
                    session, pdf, ledger=program, as_of=period.end, period_start=period.start,
                    policy_set=policy_set, made_by=made_by, font=font,
                )
                _save(output, pdf)
                verdict = "balanced" if tb.totals.balanced else "NOT BALANCED"
                out.print(
                    f"wrote {output}: trial-balance {program} as of {period.end} "
                    f"accounts={tb.totals.accounts} {verdict} head={tb.head_hash}"
                )
                ok = tb.totals.balanced
            else:
                report = render_certificate(
                    session, pdf, programme=program, period=period,
                    policy_set=policy_set, made_by=made_by, font=font,
                ).report
                _save(output, pdf)
                out.print(
                    f"wrote {output}: certificate {'OK' if report.ok else 'FAILED'} "
                    f"entries={report.entries} head={report.head_hash}"
                )
                ok = report.ok
    except DomainError as exc:
        raise _fail(exc.message, 1) from exc
    finally:
        engine.dispose()
    if not ok:
        # The PDF is written either way: a failed check is exactly what an auditor must see.
        raise typer.Exit(1)
