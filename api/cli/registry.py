"""Registry commands: import firms and providers, create users."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.orm import Session

from ledger.core import oplog
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.errors import DomainError, ImportRejected, NotFound
from ledger.registry.firms import FIRMS
from ledger.registry.party_import import ImportResult, import_firms, import_providers
from ledger.registry.providers import PROVIDERS
from ledger.registry.users import ROLES, create_user, reset_password, set_active

import_app = typer.Typer(help="Import firms or providers from CSV (all rows or none).",
                         no_args_is_help=True)
users_app = typer.Typer(help="Create users (the first bureau user comes from here).",
                        no_args_is_help=True)
err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)
URL_OPTION = typer.Option(None, "--url", help="Database URL (default: the configured one).")


def cli_actor() -> oplog.Actor:
    """The person at the terminal, as the operation log names them."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return oplog.Actor(name=f"cli:{name}", role="cli", channel="cli")


def _import(kind: str, path: Path, url: str | None) -> None:
    data = path.read_bytes()
    importer = import_firms if kind == "firms" else import_providers
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    actor = cli_actor()
    try:
        with Progress(TextColumn("importing {task.description}"), BarColumn(),
                      MofNCompleteColumn(), console=err, transient=True,
                      disable=not err.is_terminal) as bar:
            task = bar.add_task(kind, total=None)

            def progress(_kind: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            with transaction(sessions) as session:
                result: ImportResult = importer(session, data, progress)
                oplog.record(session, actor, f"{kind}.import", "import", None,
                             message=f"{path.name}: created {len(result.created)}, "
                                     f"skipped {result.skipped}")
    except DomainError as exc:
        with transaction(sessions) as session:
            oplog.record(session, actor, f"{kind}.import", "import", None,
                         refused_code=exc.code, message=f"{path.name}: {exc.message}")
        engine.dispose()
        if isinstance(exc, ImportRejected):
            _print_rejection(exc)
            raise typer.Exit(1) from exc
        raise
    engine.dispose()
    out.print(f"{kind}: {result.rows} rows, {len(result.created)} created, "
              f"{result.skipped} already registered (skipped)")
    if result.skipped and not result.created:
        out.print(f"nothing added: {result.skipped} rows already imported")


def _print_rejection(exc: ImportRejected) -> None:
    table = Table("line", "column", "reason", title="nothing was imported")
    for e in exc.detail.get("errors", []):
        table.add_row(str(e["line"]), e["column"], e["reason"])
    err.print(table)
    err.print(f"error: {exc.message}")


@import_app.command("firms")
def import_firms_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="CSV file, UTF-8 (BOM or not) or GB18030."),
    url: str = URL_OPTION,
) -> None:
    """Import firms: one bad row and nothing is written; re-importing adds nothing."""
    _import("firms", path, url)


@import_app.command("providers")
def import_providers_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="CSV file, UTF-8 (BOM or not) or GB18030."),
    url: str = URL_OPTION,
) -> None:
    """Import providers: one bad row and nothing is written; re-importing adds nothing."""
    _import("providers", path, url)


@users_app.command("create")
def users_create(
    username: str = typer.Argument(..., help="Sign-in name (lower-case)."),
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
    firm: str = typer.Option(None, "--firm", help="Credit code of the firm (role firm)."),
    provider: str = typer.Option(None, "--provider",
                                 help="Credit code of the provider (role provider)."),
    display_name: str = typer.Option("", "--display-name"),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from the first line of stdin."),
    url: str = URL_OPTION,
) -> None:
    """Create a user; the password is prompted for (twice) unless --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    actor = cli_actor()
    try:
        with transaction(sessions) as session:
            firm_id = _party_id(session, firm, "firm") if firm else None
            provider_id = _party_id(session, provider, "provider") if provider else None
            user = create_user(session, username=username, password=password, role=role,
                               display_name=display_name, firm_id=firm_id,
                               provider_id=provider_id)
            oplog.record(session, actor, f"users.create.{role}", "user", user.id)
    except DomainError as exc:
        with transaction(sessions) as session:
            oplog.record(session, actor, f"users.create.{role}"[:64], "user", None,
                         refused_code=exc.code, message=exc.message)
        raise
    finally:
        engine.dispose()
    out.print(f"created user {user.username} (id {user.id}, role {user.role})")


def _set_active(username: str, active: bool, url: str | None) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    action = "users.enable" if active else "users.disable"
    try:
        with transaction(sessions) as session:
            user = set_active(session, username, active)
            oplog.record(session, cli_actor(), action, "user", user.id)
    except DomainError as exc:
        with transaction(sessions) as session:
            oplog.record(session, cli_actor(), action, "user", None, refused_code=exc.code,
                         message=exc.message)
        raise
    finally:
        engine.dispose()
    out.print(f"user {user.username} is {'enabled' if active else 'disabled'}")


@users_app.command("disable")
def users_disable(username: str = typer.Argument(...), url: str = URL_OPTION) -> None:
    """Disable a user: they cannot sign in and their tokens stop working at once."""
    _set_active(username, False, url)


@users_app.command("enable")
def users_enable(username: str = typer.Argument(...), url: str = URL_OPTION) -> None:
    """Enable a disabled user again."""
    _set_active(username, True, url)


@users_app.command("reset-password")
def users_reset_password(username: str = typer.Argument(...), url: str = URL_OPTION) -> None:
    """Give any user (staff included: only here) a one-time password to change at next
    sign-in; it is printed once."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as session:
            user, password = reset_password(session, username, staff=True)
            oplog.record(session, cli_actor(), "users.reset_password", "user", user.id)
    except DomainError as exc:
        with transaction(sessions) as session:
            oplog.record(session, cli_actor(), "users.reset_password", "user", None,
                         refused_code=exc.code, message=exc.message)
        raise
    finally:
        engine.dispose()
    out.print(f"one-time password for {user.username}: {password}")
    out.print("it must be changed at the next sign-in")


def _party_id(session: Session, credit_code: str, kind: str) -> int:
    """The id of the firm or provider with this credit code."""
    code = credit_code.strip().upper()
    found = (FIRMS if kind == "firm" else PROVIDERS).find_ids(session, [code])
    if code not in found:
        raise NotFound(f"no {kind} with credit code {code}", field=kind)
    return found[code]
