"""`voucher-ledger vouchers import` and `voucher-ledger expire`, through Typer's CliRunner."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner
from voucher_helpers import CODE, OPERATOR

from api.cli import app
from demo.seed import FIRMS
from ledger.budget import budget
from ledger.core.db import transaction
from ledger.registry.firms import Certification, add_certification
from ledger.vouchers.voucher import issue_voucher, list_vouchers

runner = CliRunner()


def test_import_issues_all_rows_or_none(tmp_path: Path, db_url, sessions, programme):
    first, second = FIRMS[0][0].credit_code, FIRMS[1][0].credit_code
    good = tmp_path / "good.csv"
    good.write_text(f"credit_code,amount\n{first},50000\n{second},20000.50\n", encoding="utf-8")
    result = runner.invoke(app, ["vouchers", "import", CODE, str(good), "--url", db_url])
    assert result.exit_code == 0, result.output
    assert "issued 2 voucher(s)" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(f"credit_code,amount\n{first},10\n91210000000000000X,5\n{second},1.234\n"
                   f"{FIRMS[4][0].credit_code},100\n", encoding="utf-8")
    refused = runner.invoke(app, ["vouchers", "import", CODE, str(bad), "--url", db_url])
    assert refused.exit_code == 1
    assert "line 3" in refused.output and "line 4" in refused.output
    with transaction(sessions) as s:
        assert list_vouchers(s, limit=10).total == 2
        assert budget(s, CODE).issued == 7_000_050


def test_expire_command_returns_expired_balances_once(db_url, sessions, programme):
    with transaction(sessions) as s:
        add_certification(s, 1, Certification("tech_sme", 2025, dt.date(2025, 3, 1)))
        issue_voucher(s, CODE, 1, 123_456, by=OPERATOR, issued_on=dt.date(2025, 5, 1))
    result = runner.invoke(app, ["expire", "--url", db_url])
    assert result.exit_code == 0, result.output
    assert f"{CODE}: as of" in result.output and "returned 1234.56 yuan from 1" in result.output
    again = runner.invoke(app, ["expire", "--as-of", "2026-01-01", "--program", CODE,
                                "--url", db_url])
    assert "returned 0.00 yuan from 0" in again.output
    with transaction(sessions) as s:
        assert budget(s, CODE).expired == 123_456


def test_importing_the_same_file_again_adds_nothing_and_says_so(tmp_path: Path, db_url,
                                                                sessions, programme):
    first, second = FIRMS[0][0].credit_code, FIRMS[1][0].credit_code
    good = tmp_path / "good.csv"
    good.write_text(f"credit_code,amount\n{first},100\n{second},200\n{first},300\n",
                    encoding="utf-8")
    done = runner.invoke(app, ["vouchers", "import", CODE, str(good), "--url", db_url])
    assert "issued 3 voucher(s)" in done.output
    assert "issuing vouchers" not in done.output  # no bar when stderr is not a terminal
    again = runner.invoke(app, ["vouchers", "import", CODE, str(good), "--url", db_url])
    assert again.exit_code == 0, again.output
    assert "nothing added: 3 rows already imported" in again.output
    with transaction(sessions) as s:
        assert list_vouchers(s, limit=10).total == 3
        assert budget(s, CODE).issued == 60_000
    # Another file (even with the same rows in another order) is another batch.
    other = tmp_path / "other.csv"
    other.write_text(f"credit_code,amount\n{second},200\n", encoding="utf-8")
    more = runner.invoke(app, ["vouchers", "import", CODE, str(other), "--url", db_url])
    assert "issued 1 voucher(s)" in more.output
