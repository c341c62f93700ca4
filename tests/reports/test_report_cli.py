"""`voucher-ledger report …` through Typer's CliRunner: PDFs written, usage errors in one line."""

import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger.core.db import transaction
from ledger.registry.users import create_user
from reports.fonts import FONT_ENV

runner = CliRunner()
MAKER = "auditor-zhao"


@pytest.fixture(autouse=True)
def maker(sessions):
    """The auditor whom --user names: the PDFs call them 审计员 赵六（auditor-zhao）."""
    with transaction(sessions) as s:
        create_user(s, username=MAKER, password="auditor-zhao-2026", role="auditor",
                    display_name="审计员 赵六")


def report(db_url, out, *args, user=MAKER):
    return runner.invoke(
        app, ["report", *args, "--program", "LN-CXQ-2025", "--out", str(out), "--url", db_url,
              *(["--user", user] if user else [])]
    )


def test_trial_balance_as_of_a_day(db_url, year, tmp_path, read_pdf, monkeypatch):
    monkeypatch.delenv(FONT_ENV, raising=False)
    out = tmp_path / "tb.pdf"
    result = report(db_url, out, "trial-balance", "--as-of", "2025-12-31")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"wrote {out}: trial-balance LN-CXQ-2025 as of 2025-12-31 accounts=6 balanced "
        f"head={year.head_hash}"
    )
    text = read_pdf(out)[0]
    assert "合计\n1,444,568.89\n1,444,568.89\n1,234,567.89\n1,234,567.89" in text
    assert "生成人：审计员 赵六（auditor-zhao）" in text
    assert "编制人\n审计员 赵六（auditor-zhao）" in read_pdf(out)[-1]
    assert "期间：截至 2025-12-31（2025-01-01 至 2025-12-31）" in text


@pytest.mark.parametrize("user", ["nobody", None])
def test_the_maker_is_an_active_user_never_the_os_user(db_url, year, tmp_path, user):
    out = tmp_path / "tb.pdf"
    result = report(db_url, out, "trial-balance", "--as-of", "2025-12-31", user=user)
    assert result.exit_code == 2
    if user:
        assert result.output.strip() == "error: no active user 'nobody'"
    else:
        assert "--user" in result.output
    assert not out.exists()


def test_trial_balance_over_a_period_is_as_of_its_last_day(db_url, year, tmp_path, read_pdf):
    out = tmp_path / "tb.pdf"
    result = report(db_url, out, "trial-balance", "--from", "2025-03-01", "--to", "2025-03-31")
    assert result.exit_code == 0, result.output
    text = read_pdf(out)[0]
    assert "期间：截至 2025-03-31（2025-03-01 至 2025-03-31）" in text
    # By 31 March: appropriation, issue, and the first booking completed (25,000.25).
    assert "voucher:V001\n创新券未用余额\n100,000.00\n25,000.25\n74,999.75" in text


def test_certificate_head_matches_verify(db_url, year, tmp_path, read_pdf):
    out = tmp_path / "cert.pdf"
    result = report(db_url, out, "certificate")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"wrote {out}: certificate OK entries=11 head={year.head_hash}"
    )
    verified = runner.invoke(app, ["verify", "--url", db_url])
    assert verified.output.strip() == f"OK entries=11 head={year.head_hash}"
    text = read_pdf(out)[0]
    assert f"账簿头哈希\n{year.head_hash}" in text
    # With no dates the period runs from the journal's first day to today.
    assert "期间：2025-01-10 至 " in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trial-balance", "--as-of", "2025-13-01"],
         "error: --as-of: '2025-13-01' is not a date (YYYY-MM-DD)"),
        (["trial-balance", "--as-of", "20251231"],
         "error: --as-of: '20251231' is not a date (YYYY-MM-DD)"),
        (["certificate", "--from", "yesterday"],
         "error: --from: 'yesterday' is not a date (YYYY-MM-DD)"),
        (["trial-balance", "--from", "2025-05-01", "--to", "2025-02-01"],
         "error: from 2025-05-01 is after to 2025-02-01"),
        (["trial-balance", "--as-of", "2025-05-01", "--to", "2025-06-01"],
         "error: give as_of, or from and to, not both"),
        (["balance-sheet"], "error: unknown report kind 'balance-sheet'; kinds: certificate, "
                            "trial-balance, audit, firm-statement, provider-statement, exceptions, "
                            "award-publicity"),
        (["firm-statement"], "error: firm-statement needs --firm ID"),
        (["provider-statement", "--firm", "1"],
         "error: --firm applies to firm-statement only"),
        (["audit", "--provider", "1"], "error: --provider applies to provider-statement only"),
    ],
)
def test_usage_errors_exit_2_with_one_line(db_url, year, tmp_path, args, message):
    out = tmp_path / "x.pdf"
    result = report(db_url, out, *args)
    assert result.exit_code == 2
    assert result.output.strip() == message
    assert not out.exists()


def test_an_unknown_programme_fails_in_one_line(db_url, year, tmp_path):
    out = tmp_path / "x.pdf"
    result = runner.invoke(
        app, ["report", "trial-balance", "--program", "NOPE", "--out", str(out), "--url", db_url,
              "--user", MAKER]
    )
    assert result.exit_code == 1
    assert result.output.strip() == "error: no programme NOPE in the ledger"
    assert not out.exists()


def test_an_unusable_font_fails_in_one_line(db_url, year, tmp_path, monkeypatch):
    cff = tmp_path / "NotoSansCJK.otf"
    cff.write_bytes(b"OTTO" + bytes(200))
    monkeypatch.setenv(FONT_ENV, str(cff))
    result = report(db_url, tmp_path / "x.pdf", "certificate")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: PDF font {cff}: cannot embed: PostScript/CFF outlines")


def test_an_unwritable_path_fails_in_one_line(db_url, year, tmp_path):
    out = tmp_path / "missing-dir" / "x.pdf"
    result = report(db_url, out, "certificate")
    assert result.exit_code == 1
    assert result.output.strip() == f"error: cannot write {out}: No such file or directory"


def test_firm_statement_and_audit_from_the_command_line(db_url, sessions, tmp_path, read_pdf):
    from programme_year import CODE, build_year

    build_year(sessions)
    out = tmp_path / "firm.pdf"
    result = runner.invoke(app, ["report", "firm-statement", "--program", CODE, "--firm", "1",
                                 "--from", "2025-01-01", "--out", str(out), "--url", db_url,
                                 "--user", MAKER])
    assert result.exit_code == 0, result.output
    assert "opening=0.00 closing=50,000.00 movements=9 reconciled" in result.output
    assert "企业对账单（LN-CXQ-2026）" in read_pdf(out)[0]
    out = tmp_path / "audit.pdf"
    result = runner.invoke(app, ["report", "audit", "--program", CODE, "--out", str(out),
                                 "--url", db_url, "--user", MAKER])
    assert result.exit_code == 0, result.output
    assert "appropriated=1,000,000.00 paid=5,000.00 budget balanced" in result.output


def test_a_firm_user_makes_only_its_own_statement(db_url, sessions, tmp_path):
    # The command line reads for --user what the API and console would show them.
    from programme_year import CODE, build_year

    build_year(sessions)
    with transaction(sessions) as s:
        create_user(s, username="firm-one", password="firm-one-2026-pw", role="firm",
                    firm_id=1)

    def run(*args):
        return runner.invoke(app, ["report", *args, "--program", CODE, "--from", "2025-01-01",
                                   "--out", str(tmp_path / "r.pdf"), "--url", db_url,
                                   "--user", "firm-one"])

    assert run("firm-statement", "--firm", "1").exit_code == 0
    assert run("firm-statement").exit_code == 0  # its own firm by default
    other = run("firm-statement", "--firm", "2")
    assert other.exit_code == 1 and "no firm 2" in other.output
    audit = run("audit")
    assert audit.exit_code == 1
    assert "the firm role may not read the audit report" in audit.output
