"""`voucher-ledger report KIND --program CODE …`: write a PDF report from the ledger."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import Engine

from ledger.core.config import database_url
from ledger.core.db import is_sqlite, make_engine, make_sessionmaker, transaction
from ledger.core.errors import DomainError, InvalidInput
from reports.catalogue import (
    KINDS,
    PARTY_KINDS,
    maker_name,
    party_scope,
    render_report,
    report_maker,
    resolve_period,
)
from reports.fonts import FontError, report_font
from rules.loader import PolicyErrors, PolicySet, load_policies

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
    firm: int = typer.Option(None, "--firm", help="Firm id (firm-statement)."),
    provider: int = typer.Option(None, "--provider", help="Provider id (provider-statement)."),
    output: Path = typer.Option(..., "--out", help="The PDF file to write."),
    user: str = typer.Option(..., "--user",
                             help="Who makes the report: an active user's sign-in name."),
    policies: Path = typer.Option(None, "--policies", help="Policy directory (default: shipped)."),
    url: str = typer.Option(None, "--url", help="Database URL (default: the configured one)."),
) -> None:
    """Write a PDF report: audit (项目审计报告), trial-balance (试算平衡表), firm-statement and
    provider-statement (对账单), exceptions (异常报告), award-publicity (奖励公示) or certificate
    (完整性证明)."""
    if kind not in KINDS:
        raise _fail(f"unknown report kind {kind!r}; kinds: {', '.join(KINDS)}", 2)
    party_id = _party_option(kind, firm, provider)
    start, end, day = _date("--from", date_from), _date("--to", date_to), _date("--as-of", as_of)
    try:
        font = report_font()
        policy_set: PolicySet = load_policies(policies)
    except (FontError, PolicyErrors) as exc:
        raise _fail(str(exc).splitlines()[0], 1) from exc
    engine = snapshot_engine(url or database_url())
    try:
        with transaction(make_sessionmaker(engine, read_only=True)) as session:
            try:
                maker = report_maker(session, user)
                period = resolve_period(session, kind, start, end, day)
            except InvalidInput as exc:
                raise _fail(exc.message, 2) from exc
            # The maker reads what the console and the API would show them, no more: a firm
            # or provider user only its own statement.
            party_id = party_scope(maker, kind, party_id if kind == "firm-statement" else None,
                                   party_id if kind == "provider-statement" else None)
            if PARTY_KINDS.get(kind) is not None and party_id is None:
                # Bureau staff name the party; a firm's or provider's user has it by default.
                raise _fail(f"{kind} needs --{PARTY_KINDS[kind]} ID", 2)
            made_by = maker_name(maker)
            pdf = io.BytesIO()
            outcome = render_report(
                session, pdf, kind, programme=program, period=period,
                policy_set=policy_set, made_by=made_by, font=font, party_id=party_id,
            )
            _save(output, pdf)
    except DomainError as exc:
        raise _fail(exc.message, 1) from exc
    finally:
        engine.dispose()
    out.print(f"wrote {output}: {outcome.summary}")
    if not outcome.ok:
        # The PDF is written either way: a failed check is exactly what an auditor must see.
        raise typer.Exit(1)


def _party_option(kind: str, firm: int | None, provider: int | None) -> int | None:
    """The party id a statement names (--firm or --provider, None if not given); other kinds
    take neither."""
    wanted = PARTY_KINDS.get(kind)
    given = {"firm": firm, "provider": provider}
    for party, value in given.items():
        if value is not None and party != wanted:
            raise _fail(f"--{party} applies to {party}-statement only", 2)
    return None if wanted is None else given[wanted]


def snapshot_engine(url: str) -> Engine:
    """An engine whose transactions see one snapshot: PostgreSQL's default READ COMMITTED
    would let a posting land between a report's totals and its rows; SQLite's read
    transaction already is a snapshot."""
    if is_sqlite(url):
        return make_engine(url)
    return make_engine(url, isolation_level="REPEATABLE READ")
