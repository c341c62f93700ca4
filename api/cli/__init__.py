"""The `voucher-ledger` command line (Typer)."""

import sys

import typer
from sqlalchemy.exc import SQLAlchemyError

from api.cli.awards import awards_app
from api.cli.demo import demo_app
from api.cli.ledger import db_app, status_command, verify_command
from api.cli.payments import payments_app
from api.cli.registry import import_app, serve_command, users_app
from api.cli.reports import report_command
from api.cli.rules import rules_app
from api.cli.vouchers import expire_command, vouchers_app
from ledger.core.errors import DomainError

app = typer.Typer(
    name="voucher-ledger",
    help="Innovation-voucher and award ledger for a bureau.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.command("verify")(verify_command)
app.command("status")(status_command)
app.add_typer(rules_app, name="rules")
app.command("report")(report_command)
app.add_typer(import_app, name="import")
app.add_typer(awards_app, name="awards")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")
app.command("serve")(serve_command)
app.command("expire")(expire_command)
app.add_typer(vouchers_app, name="vouchers")
app.add_typer(payments_app, name="payments")


def main() -> None:
    """Entry point of the `voucher-ledger` console script: one line per failure, exit 1."""
    try:
        app()
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(f"error: database: {reason}", file=sys.stderr)
        sys.exit(1)
