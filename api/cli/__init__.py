"""The `voucher-ledger` command line (Typer).

Commands are loaded on first use: `voucher-ledger verify` imports the ledger's core only, and
`--help` imports no command at all (FastAPI, reportlab and the flows cost over a second).
Every command that opens a database checks first that the schema is at the code's head.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from typing import Any

import typer
from typer._click.globals import get_current_context  # Typer's own (vendored) Click
from typer.core import TyperCommand, TyperGroup

# name -> (module, attribute, one-line help); an attribute is a Typer app or a function.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "db": ("api.cli.ledger", "db_app", "Create and migrate the database."),
    "verify": ("api.cli.ledger", "verify_command",
               "Recompute the hash chain and every account's totals."),
    "status": ("api.cli.ledger", "status_command", "Show the journal head and the balances."),
    "backup": ("api.cli.backup", "backup_command",
               "Copy the database to FILE, consistently, while it serves."),
    "restore": ("api.cli.backup", "restore_command",
                "Restore a backup FILE into an empty database, then verify it."),
    "rules": ("api.cli.rules", "rules_app",
              "Check policy files and explain the engine's decisions."),
    "report": ("api.cli.reports", "report_command", "Write a PDF report."),
    "import": ("api.cli.registry", "import_app",
               "Import firms or providers from CSV (all rows or none)."),
    "awards": ("api.cli.awards", "awards_app",
               "Tiered awards (瞪羚, 独角兽, 专精特新, 小巨人): import award lists."),
    "users": ("api.cli.registry", "users_app",
              "Create users (the first bureau user comes from here)."),
    "demo": ("api.cli.demo", "demo_app",
             "The demo used by `make run`: sign-ins, registry and a living year."),
    "serve": ("api.cli.serve", "serve_command", "Serve the HTTP API and the console."),
    "expire": ("api.cli.vouchers", "expire_command", "Expire vouchers past their validity."),
    "vouchers": ("api.cli.vouchers", "vouchers_app", "Vouchers: issue a batch from CSV."),
    "payments": ("api.cli.payments", "payments_app",
                 "Payments: reconcile a batch with the bank's confirmation file."),
}
# Commands that may run on a database behind the code (or on none at all).
UNGUARDED = frozenset({"db", "rules", "restore"})


class LazyGroup(TyperGroup):
    """A Typer group whose commands are imported when invoked, not when listed."""

    _listing = False

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        if cmd_name not in COMMANDS:
            return None
        module, attribute, short = COMMANDS[cmd_name]
        if self._listing:
            return TyperCommand(name=cmd_name, help=short)
        target = getattr(importlib.import_module(module), attribute)
        holder = typer.Typer(add_completion=False)
        if isinstance(target, typer.Typer):
            # Added under a name, a one-command app stays a group (`db upgrade`, not `db`).
            holder.add_typer(target, name=cmd_name)
            group = typer.main.get_command(holder)
            command = group.commands[cmd_name]  # type: ignore[attr-defined]
        else:
            holder.command(cmd_name)(target)
            command = typer.main.get_command(holder)
        if cmd_name not in UNGUARDED:
            _guard(command)
        _plain_coercion(command, ctx)
        return command

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        _plain_coercion(self, ctx)  # the group's own options (`--version`); commands have theirs
        return super().parse_args(ctx, args)

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _guard(command: Any) -> None:
    """Wrap every callback taking `--url` with the schema check, through nested groups."""
    subcommands = getattr(command, "commands", {})
    if command.callback is not None and any(p.name == "url" for p in command.params):
        command.callback = _checked(command.callback, group=bool(subcommands))
    for sub in subcommands.values():
        _guard(sub)


def _plain_coercion(command: Any, ctx: Any) -> None:
    """Let plain `str`, `int` and `bool` options skip Typer's Pydantic adapters, through
    nested groups.

    Typer coerces every value through a Pydantic adapter, and importing Pydantic costs about a
    fifth of `verify`'s start. A value already of its type (or a plain decimal `int`) within
    the option's bounds is taken as is; anything else goes to Typer's own coercion, so values
    and messages stay Typer's. A Typer without these internals keeps its own coercion.
    """
    try:
        from typer._coercion import RuntimeParam, build_runtime_param
    except ImportError:  # pragma: no cover - a Typer without runtime coercion
        return
    # get_params: the command's options and its `--help` (made, and kept, on first call).
    for param in command.get_params(ctx):
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", True) is not None:
            continue
        info = descriptor.parameter_info
        if (
            descriptor.annotation in (str, int, bool)
            and info.parser is None
            and getattr(info, "click_type", None) is None
            and not (descriptor.is_file or descriptor.is_choice or descriptor.is_path)
        ):
            plain = _plain_class(RuntimeParam, build_runtime_param)
            param._runtime_param = plain(parameter_info=info, annotation=descriptor.annotation)
    for sub in getattr(command, "commands", {}).values():
        _plain_coercion(sub, ctx)


@functools.cache
def _plain_class(base: type, full: Callable[[Any], Any]) -> type:
    """A Typer RuntimeParam taking plain values as they are, the rest to Typer's coercion."""

    class Plain(base):  # type: ignore[misc, valid-type]
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind = self.annotation
            if kind is int and isinstance(value, str) and value.isascii() and value.isdigit():
                value = int(value)
            if type(value) is kind:
                low, high = self.parameter_info.min, self.parameter_info.max
                if kind is not int or (
                    (low is None or value >= low) and (high is None or value <= high)
                ):
                    return value
            # Not plain, or out of bounds: Typer's adapter decides (and words the refusal).
            return full(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)

    return Plain


def _checked(callback: Callable[..., Any], group: bool) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        from api.cli.schema_check import require_current_schema

        # A group's own `--url` counts only when no subcommand runs (`demo`, not `demo seed`).
        if not group or get_current_context().invoked_subcommand is None:
            require_current_schema(kwargs.get("url"))
        return callback(*args, **kwargs)

    return run


def _version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        print(f"voucher-ledger {version('voucher-ledger')}")
    except PackageNotFoundError:
        print("voucher-ledger (not installed: running from a checkout)")
    raise typer.Exit()


app = typer.Typer(
    name="voucher-ledger",
    help="Innovation-voucher and award ledger for a bureau.",
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Innovation-voucher and award ledger for a bureau."""


def main() -> None:
    """Entry point of the `voucher-ledger` console script: one line per failure, exit 1."""
    try:
        app()
    except Exception as exc:
        # Imported only on failure: `--help` must not pay for SQLAlchemy.
        from sqlalchemy.exc import SQLAlchemyError

        from ledger.core.errors import DomainError

        if isinstance(exc, DomainError):
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(1)
        if isinstance(exc, SQLAlchemyError):
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            print(f"error: database: {reason}", file=sys.stderr)
            sys.exit(1)
        raise
