"""`voucher-ledger rules check` and `rules explain`, through Typer's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from api.cli.rules import rules_app
from rules.loader import SHIPPED_POLICIES

runner = CliRunner()

BOOKING_FACTS = """\
programme: LN-CXQ
on: 2025-03-01
category: patent_application
cost: "50000"
voucher_balance: "12000"
voucher_issued_on: 2025-01-02
voucher_expires_on: 2025-12-31
firm_credit_code: F1
provider_credit_code: P1
provider_categories: [patent_application]
"""


def test_check_passes_on_shipped_files() -> None:
    """The shipped files check clean, with a short summary."""
    result = runner.invoke(rules_app, ["check"])
    assert result.exit_code == 0, result.output
    assert (
        result.output.strip() == "OK: 3 policy files, LN-AWARD (2022.1), LN-CXQ (2024.12, 2026.1)"
    )


def test_check_fails_clearly_on_a_broken_copy(tmp_path: Path) -> None:
    """A broken copy exits 1 with one `path: key: reason` line per problem."""
    copy = tmp_path / "policies"
    shutil.copytree(SHIPPED_POLICIES, copy)
    target = copy / "LN-CXQ-2024.yaml"
    text = target.read_text(encoding="utf-8")
    text = text.replace('ratio: "0.4"', 'ratio: "1.4"', 1)
    text = text.replace("per_voucher_cap: 100000", "per_voucher_cap: -1")
    target.write_text(text, encoding="utf-8")
    result = runner.invoke(rules_app, ["check", str(copy)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        f"{target}: issuance.per_voucher_cap: -1 is negative",
        f"{target}: services.rd_design.ratio: 1.4 is outside 0–1",
    ]


def test_check_accepts_single_files() -> None:
    """Files can be named one by one."""
    result = runner.invoke(rules_app, ["check", str(SHIPPED_POLICIES / "LN-AWARD-2022.yaml")])
    assert result.exit_code == 0
    assert "LN-AWARD (2022.1)" in result.output


def test_explain_prints_decision_and_trace(tmp_path: Path) -> None:
    """The table shows the verdict, the bound, the policy and each rule with its figures."""
    facts = tmp_path / "facts.yaml"
    facts.write_text(BOOKING_FACTS, encoding="utf-8")
    result = runner.invoke(rules_app, ["explain", "booking", "--facts", str(facts)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "booking: ALLOWED  amount 12000.00 yuan" in out
    assert "subsidy bound by: voucher_balance" in out
    assert "LN-CXQ version 2024.12" in out
    for rule in ("booking.per_order_cap", "booking.voucher_balance", "booking.related_party"):
        assert rule in out
    assert "limit=20000.00" in out


def test_explain_refusal_exits_1_and_json(tmp_path: Path) -> None:
    """A refusal exits 1; --json prints the decision's dict."""
    facts = tmp_path / "facts.yaml"
    facts.write_text(
        BOOKING_FACTS.replace("provider_credit_code: P1", "provider_credit_code: F1"),
        encoding="utf-8",
    )
    result = runner.invoke(rules_app, ["explain", "booking", "--facts", str(facts), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["allowed"] is False and data["code"] == "related_party"


def test_explain_expiry_and_case_file_shape(tmp_path: Path) -> None:
    """A case's {facts: …} mapping can be explained as it is."""
    facts = tmp_path / "facts.yaml"
    facts.write_text("facts: {programme: LN-CXQ, issued_on: 2026-07-15}\n", encoding="utf-8")
    result = runner.invoke(rules_app, ["explain", "expiry", "--facts", str(facts)])
    assert result.exit_code == 0, result.output
    assert "voucher valid through: 2027-07-14" in result.output


def test_explain_bad_facts_exit_2(tmp_path: Path) -> None:
    """Facts that cannot be read name the file and the field, exit 2."""
    facts = tmp_path / "facts.yaml"
    facts.write_text("programme: LN-CXQ\n", encoding="utf-8")
    result = runner.invoke(rules_app, ["explain", "expiry", "--facts", str(facts)])
    assert result.exit_code == 2
    assert "issued_on: missing" in result.output


def test_explain_unknown_kind_is_refused(tmp_path: Path) -> None:
    """KIND is one of issue, booking, claim, award, expiry."""
    facts = tmp_path / "facts.yaml"
    facts.write_text("programme: LN-CXQ\n", encoding="utf-8")
    result = runner.invoke(rules_app, ["explain", "refund", "--facts", str(facts)])
    assert result.exit_code == 2


def test_rules_group_is_registered_on_the_main_app() -> None:
    """`voucher-ledger rules check` works through the main app."""
    from api.cli import app

    result = runner.invoke(app, ["rules", "check"])
    assert result.exit_code == 0
    assert result.output.startswith("OK:")


def test_explain_an_application(tmp_path: Path) -> None:
    """An application outside every window is refused with the window rule's code."""
    facts = tmp_path / "facts.yaml"
    facts.write_text(
        "programme: LN-CXQ\non: 2026-05-15\namount: '50000'\n"
        "documents: [business_licence, plan]\nfirm_status: active\n"
        "firm_certifications: [{kind: tech_sme, year: 2026}]\n", encoding="utf-8")
    result = runner.invoke(rules_app, ["explain", "application", "--facts", str(facts),
                                       "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert (data["code"], data["window"]) == ("outside_window", None)
