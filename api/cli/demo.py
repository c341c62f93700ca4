"""Demo commands: `demo` builds the living demo year, `demo seed` only the sign-ins and registry."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from demo.seed import DEMO_FIRMS, DEMO_PROVIDERS, DemoAccount, build_demo, seed_demo
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.registry.users import find_user
from ledger.vouchers.redemptions import Redemption
from ledger.vouchers.voucher import Voucher

demo_app = typer.Typer(help="The demo used by `make run`: sign-ins, registry and a living year.")
err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)
URL_OPTION = typer.Option(None, "--url", help="Database URL (default: the configured one).")
BASE_URL_OPTION = typer.Option("http://127.0.0.1:8000", "--base-url",
                               help="Where the demo will be served, for the printout.")


def _sign_ins(accounts: tuple[DemoAccount, ...], notes: dict[str, str]) -> None:
    table = Table("username", "password", "role", title="demo sign-ins")
    table.add_column("bound to", overflow="fold")
    for a in accounts:
        table.add_row(a.username, a.password, a.role, a.bound_to + notes.get(a.role, ""))
    out.print(table)


@demo_app.callback(invoke_without_command=True)
def demo_command(
    ctx: typer.Context,
    url: str = URL_OPTION,
    base_url: str = BASE_URL_OPTION,
    firms: int = typer.Option(DEMO_FIRMS, "--firms", min=5, help="Firms in the registry."),
    providers: int = typer.Option(DEMO_PROVIDERS, "--providers", min=5,
                                  help="Service providers in the registry."),
) -> None:
    """Build the demo year (registry, vouchers, claims, awards); a re-run adds nothing."""
    if ctx.invoked_subcommand is not None:
        return
    engine = make_engine(url)
    started = time.monotonic()
    try:
        with Progress(TextColumn("demo {task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=True) as bar:
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            with transaction(make_sessionmaker(engine)) as session:
                result = build_demo(session, firms=firms, providers=providers,
                                    progress=progress)
                notes = _notes(session, result.registry.accounts)
    finally:
        engine.dispose()
    seconds = time.monotonic() - started
    registry = result.registry
    out.print(f"demo registry: added {registry.firms_added + result.firms_added} firms, "
              f"{registry.providers_added + result.providers_added} providers, "
              f"{registry.users_added} users")
    if result.year is None:
        out.print(f"demo year: already built ({result.built_before}); nothing added")
    else:
        counts = result.year.counts
        refused = sum(n for k, n in counts.items() if k.startswith("refused:"))
        out.print(f"demo year: {result.year.voucher_programme} and {result.year.award_programme}"
                  f" built in {seconds:.1f} s: {counts.get('vouchers.issue', 0)} vouchers, "
                  f"{counts.get('redemptions.book', 0)} bookings, "
                  f"{counts.get('claims.file', 0)} claims, "
                  f"{counts.get('payments.create', 0)} payment batches, "
                  f"{counts.get('awards.apply', 0)} award applications, "
                  f"{refused} refusals logged")
    out.print(f"console: {base_url}/")
    out.print(f"API:     {base_url}/api/v1/health   docs: {base_url}/docs")
    _sign_ins(registry.accounts, notes)


def _notes(session: Session, accounts: tuple[DemoAccount, ...]) -> dict[str, str]:
    """What the firm and provider sign-ins will find: their vouchers and bookings."""
    notes: dict[str, str] = {}
    for account in accounts:
        user = find_user(session, account.username)
        if user is None:
            continue
        if user.firm_id is not None:
            n = session.scalar(select(func.count()).select_from(Voucher)
                               .where(Voucher.firm_id == user.firm_id)) or 0
            notes[account.role] = f" ({n} vouchers)"
        elif user.provider_id is not None:
            n = session.scalar(select(func.count()).select_from(Redemption)
                               .where(Redemption.provider_id == user.provider_id)) or 0
            notes[account.role] = f" ({n} bookings)"
    return notes


@demo_app.command("seed")
def demo_seed(url: str = URL_OPTION, base_url: str = BASE_URL_OPTION) -> None:
    """Only the demo sign-ins and the small hand-written registry (re-runnable)."""
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            result = seed_demo(session)
    finally:
        engine.dispose()
    out.print(f"demo: added {result.firms_added} firms, {result.providers_added} providers, "
              f"{result.users_added} users (nothing is added twice)")
    out.print(f"API:  {base_url}/api/v1/health")
    out.print(f"docs: {base_url}/docs  (Authorize with a sign-in below)")
    _sign_ins(result.accounts, {})
