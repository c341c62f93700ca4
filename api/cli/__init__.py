"""The `voucher-ledger` command line (Typer)."""

import typer

app = typer.Typer(
    name="voucher-ledger",
    help="Innovation-voucher and award ledger for a bureau.",
    no_args_is_help=True,
    add_completion=False,
)


def main() -> None:
    """Entry point of the `voucher-ledger` console script."""
    app()
