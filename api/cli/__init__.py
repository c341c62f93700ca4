"""The `voucher-ledger` command line (Typer)."""

import typer

from api.cli.rules import rules_app

app = typer.Typer(
    name="voucher-ledger",
    help="Innovation-voucher and award ledger for a bureau.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(rules_app, name="rules")


def main() -> None:
    """Entry point of the `voucher-ledger` console script."""
    app()
