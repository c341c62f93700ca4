"""`voucher-ledger import`, `users create` and `demo seed`, through Typer's CliRunner."""

from pathlib import Path

import pytest
from registry_factories import credit_code
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app
from demo.seed import FIRMS, PROVIDERS
from ledger.core.db import transaction
from ledger.core.errors import Conflict, NotFound
from ledger.core.oplog import Operation, list_operations
from ledger.registry.firms import list_firms
from ledger.registry.users import authenticate, list_users

runner = CliRunner()
HEADER = "credit_code,name,city,district,size_class,legal_rep\n"


def row(n: int, city: str = "辽阳") -> str:
    return f"{credit_code(n)},辽阳石化配套有限公司{n},{city},白塔区,medium,钱{n}\n"


def test_import_firms_then_again_adds_nothing(tmp_path: Path, db_url, sessions):
    path = tmp_path / "firms.csv"
    path.write_bytes((HEADER + row(1) + row(2)).encode("gb18030"))
    first = runner.invoke(app, ["import", "firms", str(path), "--url", db_url])
    assert first.exit_code == 0, first.output
    assert "2 created" in first.output
    second = runner.invoke(app, ["import", "firms", str(path), "--url", db_url])
    assert "0 created, 2 already registered" in second.output
    assert "nothing added: 2 rows already imported" in second.output
    with transaction(sessions) as s:
        assert list_firms(s, limit=10).total == 2
        log = list_operations(s, limit=10)
    assert [(o.action, o.channel, o.outcome) for o in log.items] == [
        ("firms.import", "cli", "done")] * 2


def test_import_with_a_bad_row_exits_1_naming_it_and_writes_nothing(
    tmp_path: Path, db_url, sessions
):
    path = tmp_path / "firms.csv"
    path.write_text(HEADER + row(1) + row(2, city="杭州"), encoding="utf-8-sig")
    result = runner.invoke(app, ["import", "firms", str(path), "--url", db_url])
    assert result.exit_code == 1
    assert "line 3" in result.output and "city" in result.output
    with transaction(sessions) as s:
        assert list_firms(s, limit=10).total == 0
        assert list_operations(s, limit=10, outcome="refused").items[0].code == "import_rejected"


def test_users_create_reads_the_password_from_stdin(db_url, sessions):
    result = runner.invoke(
        app, ["users", "create", "chief", "--role", "operator", "--url", db_url,
              "--password-stdin"], input="a strong passphrase\n")
    assert result.exit_code == 0, result.output
    with transaction(sessions) as s:
        assert authenticate(s, "chief", "a strong passphrase").role == "operator"


def test_users_create_binds_a_firm_user_by_credit_code(db_url, sessions):
    runner.invoke(app, ["demo", "seed", "--url", db_url])
    code = FIRMS[1][0].credit_code
    result = runner.invoke(
        app, ["users", "create", "demo-firm2", "--role", "firm", "--firm", code, "--url", db_url,
              "--password-stdin"], input="0123456789\n")
    assert result.exit_code == 0, result.output
    missing = runner.invoke(
        app, ["users", "create", "demo-firm3", "--role", "firm", "--firm", credit_code(77),
              "--url", db_url, "--password-stdin"], input="0123456789\n")
    assert missing.exit_code != 0


def test_demo_seed_is_rerunnable_and_prints_the_sign_ins(db_url, sessions):
    first = runner.invoke(app, ["demo", "seed", "--url", db_url])
    assert first.exit_code == 0, first.output
    assert f"added {len(FIRMS)} firms, {len(PROVIDERS)} providers, 5 users" in first.output
    assert "demo-operator-2026" in first.output and "/docs" in first.output
    second = runner.invoke(app, ["demo", "seed", "--url", db_url])
    assert "added 0 firms, 0 providers, 0 users" in second.output
    with transaction(sessions) as s:
        assert list_users(s, limit=10).total == 5
        assert list_firms(s, limit=10).total == len(FIRMS)


def test_demo_refuses_a_database_with_real_users(db_url):
    runner.invoke(app, ["users", "create", "chief", "--role", "operator", "--url", db_url,
                        "--password-stdin"], input="a strong passphrase\n")
    result = runner.invoke(app, ["demo", "seed", "--url", db_url])
    assert isinstance(result.exception, Conflict)


def test_demo_credit_codes_are_valid():
    from ledger.registry.credit_code import is_valid_credit_code

    codes = [p.credit_code for p, _ in FIRMS + PROVIDERS]
    assert all(is_valid_credit_code(c) for c in codes) and len(set(codes)) == len(codes)


@pytest.mark.parametrize("command", ["serve", "import", "users", "demo"])
def test_commands_are_registered(command):
    assert runner.invoke(app, [command, "--help"]).exit_code == 0


def test_a_disabled_user_cannot_sign_in(db_url, sessions):
    runner.invoke(app, ["users", "create", "chief", "--role", "operator", "--url", db_url,
                        "--password-stdin"], input="a strong passphrase\n")
    assert runner.invoke(app, ["users", "disable", "chief", "--url", db_url]).exit_code == 0
    with transaction(sessions) as s:
        assert authenticate(s, "chief", "a strong passphrase") is None
    assert runner.invoke(app, ["users", "enable", "chief", "--url", db_url]).exit_code == 0
    with transaction(sessions) as s:
        assert authenticate(s, "chief", "a strong passphrase") is not None
    assert isinstance(runner.invoke(app, ["users", "disable", "nobody", "--url", db_url])
                      .exception, NotFound)


def test_a_staff_password_is_reset_at_the_command_line(db_url, sessions):
    runner.invoke(app, ["users", "create", "chief", "--role", "approver", "--url", db_url,
                        "--password-stdin"], input="a strong passphrase\n")
    result = runner.invoke(app, ["users", "reset-password", "chief", "--url", db_url])
    assert result.exit_code == 0, result.output
    one_time = result.output.split("chief: ")[1].split()[0]
    with transaction(sessions) as s:
        assert authenticate(s, "chief", "a strong passphrase") is None
        user = authenticate(s, "chief", one_time)
        assert user is not None and user.must_change_password
        logged = s.scalars(select(Operation.action).where(Operation.channel == "cli")).all()
    assert "users.reset_password" in logged
    assert isinstance(runner.invoke(app, ["users", "reset-password", "nobody", "--url", db_url])
                      .exception, NotFound)
