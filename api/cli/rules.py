"""`voucher-ledger rules …`: check policy files and explain a decision with its trace."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

from rules.amounts import fen_to_yuan
from rules.decision import Decision
from rules.engine import decide
from rules.facts import FactsError, facts_from_mapping
from rules.loader import SHIPPED_POLICIES, PolicyErrors, check_policies, load_policies

rules_app = typer.Typer(
    help="Check policy files and explain the engine's decisions.", no_args_is_help=True
)

OUTCOME_STYLE = {"pass": "green", "fail": "bold red", "cut": "yellow", "info": "cyan"}


class Kind(StrEnum):
    """The decisions `explain` can make."""

    issue = "issue"
    application = "application"
    booking = "booking"
    claim = "claim"
    award = "award"
    expiry = "expiry"


@rules_app.command("check")
def check(
    paths: list[Path] | None = typer.Argument(
        None, help="Policy files or directories (default: the shipped rules/policies)."
    ),
) -> None:
    """Validate policy files; print an OK summary, or one `path: key: reason` line per problem."""
    policy_set, errors = check_policies(paths or [SHIPPED_POLICIES])
    if errors or policy_set is None:
        for error in errors:
            typer.echo(str(error))
        raise typer.Exit(code=1)
    programmes = ", ".join(
        f"{code} ({', '.join(p.version for p in policy_set.versions(code))})"
        for code in policy_set.programmes()
    )
    typer.echo(f"OK: {len(policy_set)} policy files, {programmes}")


def _figures(figures: dict[str, str | int]) -> str:
    """Figures as `name=value` lines, fen shown as yuan."""
    parts = []
    for name, value in figures.items():
        if name.endswith("_fen") and isinstance(value, int):
            parts.append(f"{name[:-4]}={fen_to_yuan(value)}")
        else:
            parts.append(f"{name}={value}")
    return "\n".join(parts)


def _render(console: Console, decision: Decision) -> None:
    """Print the decision's summary and its trace as a table."""
    verdict = "[green]ALLOWED[/]" if decision.allowed else f"[bold red]REFUSED[/] ({decision.code})"
    console.print(f"{decision.kind}: {verdict}  amount {fen_to_yuan(decision.amount_fen)} yuan")
    if decision.bound:
        console.print(f"subsidy bound by: {decision.bound}")
    if decision.expires_on:
        console.print(f"voucher valid through: {decision.expires_on.isoformat()}")
    if decision.policy:
        ref = decision.policy
        console.print(
            f"policy: {ref.programme} version {ref.version} ({ref.file}, sha256 {ref.sha256[:12]}…)"
        )
    table = Table(title="trace", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("rule")
    table.add_column("outcome")
    table.add_column("figures", overflow="fold")
    table.add_column("message")
    for number, line in enumerate(decision.trace, start=1):
        style = OUTCOME_STYLE[line.outcome]
        table.add_row(
            str(number),
            line.rule,
            f"[{style}]{line.outcome}[/]",
            _figures(line.figures),
            line.message,
        )
    console.print(table)


@rules_app.command("explain")
def explain(
    kind: Kind = typer.Argument(..., help="issue, application, booking, claim, award or expiry."),
    facts: Path = typer.Option(..., "--facts", help="YAML mapping of the facts (yuan amounts)."),
    policies: Path | None = typer.Option(
        None, "--policies", help="Policy directory (default: the shipped rules/policies)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
) -> None:
    """Decide KIND for the facts and print the decision with its trace.

    Exit 0 when allowed, 1 when refused, 2 when the facts or policies cannot be read.
    """
    try:
        policy_set = load_policies(policies)
    except PolicyErrors as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        raise typer.Exit(code=2) from exc
    try:
        data = yaml.safe_load(facts.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "facts" in data:
            # A case copied from rules/cases can be explained as it is.
            data = data["facts"]
        fact_object = facts_from_mapping(kind.value, data)
    except (OSError, yaml.YAMLError, FactsError) as exc:
        typer.echo(f"{facts}: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    decision = decide(policy_set, kind.value, fact_object)
    if as_json:
        typer.echo(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
    else:
        _render(Console(width=120), decision)
    raise typer.Exit(code=0 if decision.allowed else 1)
