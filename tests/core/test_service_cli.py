"""The command line as an operator meets it: version, help, the schema guard, backup and restore."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from ledger.core.db import make_engine, transaction
from ledger.core.journal import EntryRequest, Move, post_entry
from ledger.core.migrations import head_revisions
from tests.core.scenario import fund_voucher, open_chart

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
HEAVY = ("fastapi", "reportlab", "uvicorn", "alembic", "jinja2", "prometheus_client")


@pytest.fixture
def journal(sessions):
    with transaction(sessions) as s:
        open_chart(s)
        fund_voucher(s, 10_000)
        for amount in (100, 200, 300):
            post_entry(
                s, EntryRequest((Move("P:provider:S1", "P:voucher:V1", amount),), flow="redeem")
            )
    return sessions


def _head(output: str) -> str:
    found = re.search(r"verify OK entries=5 head=([0-9a-f]{64})", output)
    assert found, output
    return found.group(1)


def test_version_and_short_help():
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("voucher-ledger ")
    short = runner.invoke(app, ["-h"])
    assert short.exit_code == 0
    for command in ("db", "verify", "backup", "restore", "serve", "demo"):
        assert re.search(rf"│ {command}\s", short.output), command
    assert runner.invoke(app, ["db", "-h"]).output.count("upgrade") >= 1


def test_a_missing_database_is_named_not_created(tmp_path):
    missing = tmp_path / "var" / "voucher-ledger.db"
    result = runner.invoke(app, ["verify", "--url", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert result.output == (f"error: no database at {missing}: run `voucher-ledger db upgrade` "
                             "(or set VOUCHER_LEDGER_DATABASE_URL)\n")
    assert not missing.parent.exists()
    created = runner.invoke(app, ["db", "upgrade", "--url", f"sqlite:///{missing}"])
    assert created.exit_code == 0
    assert created.output.startswith(f"creating a new SQLite database at {missing}\n")
    assert runner.invoke(app, ["verify", "--url", f"sqlite:///{missing}"]).exit_code == 0


@pytest.mark.parametrize("command", [["verify"], ["status"], ["serve", "--port", "1"],
                                     ["demo", "seed"], ["backup", "never-written.db"]])
def test_a_database_behind_the_code_is_refused_in_one_line(db_url, engine, command):
    head = min(head_revisions())
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    try:
        result = runner.invoke(app, [*command, "--url", db_url])
    finally:
        # The version table is not wiped between PostgreSQL tests: put the head back.
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE alembic_version SET version_num = '{head}'"))
    assert result.exit_code == 1
    assert result.output == (f"error: the database is at revision 0006, the code needs {head}: "
                             "run `voucher-ledger db upgrade`\n")
    assert not Path("never-written.db").exists()


def test_backup_then_restore_gives_the_same_head(journal, db_url, tmp_path):
    backup_file = tmp_path / "ledger.backup"
    made = runner.invoke(app, ["backup", str(backup_file), "--url", db_url])
    assert made.exit_code == 0, made.output
    head = _head(made.output)
    if db_url.startswith("sqlite"):
        target = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        # One PostgreSQL database per test run: empty it, then restore into it.
        target = db_url
        engine = make_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    restored = runner.invoke(app, ["restore", str(backup_file), "--url", target])
    assert restored.exit_code == 0, restored.output
    assert _head(restored.output) == head
    again = runner.invoke(app, ["verify", "--url", target])
    assert again.output == f"OK entries=5 head={head}\n"


def test_restore_refuses_a_database_that_is_not_empty(journal, db_url, tmp_path):
    backup_file = tmp_path / "ledger.backup"
    assert runner.invoke(app, ["backup", str(backup_file), "--url", db_url]).exit_code == 0
    refused = runner.invoke(app, ["restore", str(backup_file), "--url", db_url])
    assert refused.exit_code == 1
    assert "is not empty" in str(refused.exception)
    assert runner.invoke(app, ["backup", str(backup_file), "--url", db_url]).exit_code == 1


def test_verify_and_help_leave_the_heavy_modules_unimported(db_url):
    # `verify` also starts without Pydantic (Typer's adapters), Babel, rich (no terminal) and
    # the posting code: the import graph, not a timing, so it holds on a busy machine.
    lean = (*HEAVY, "pydantic", "babel", "rich", "ledger.core.journal")
    probe = ("import sys; from typer.testing import CliRunner; from api.cli import app; "
             "r = CliRunner().invoke(app, sys.argv[2:]); assert r.exit_code == 0, r.output; "
             "print(sorted(m for m in sys.argv[1].split(',') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args, absent in ((["--help"], HEAVY), (["verify", "--url", db_url], lean)):
        done = subprocess.run([sys.executable, "-c", probe, ",".join(absent), *args], env=env,
                              capture_output=True, text=True, check=True)
        assert done.stdout.strip().splitlines()[-1] == "[]", args


def test_serve_hands_uvicorn_an_import_string_and_the_worker_flags(db_url, monkeypatch):
    import importlib

    import uvicorn

    calls: list[tuple[str, dict[str, object]]] = []
    counts_dirs: list[Path] = []

    def run(target: str, **kw: object) -> None:
        calls.append((target, kw))
        counts_dirs.append(Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
        assert counts_dirs[-1].is_dir()  # the workers' counts, while the server runs

    monkeypatch.setattr(uvicorn, "run", run)
    # serve writes both variables for its workers; monkeypatch puts them back afterwards.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.setenv("VOUCHER_LEDGER_DATABASE_URL", "sqlite:///not-this-one.db")
    monkeypatch.setenv("VOUCHER_LEDGER_SECRET_KEY", "s" * 40)
    result = runner.invoke(app, ["serve", "--workers", "3", "--proxy-headers",
                                 "--forwarded-allow-ips", "10.0.0.5", "--url", db_url])
    assert result.exit_code == 0, result.output
    [(target, options)] = calls
    assert target == "api.app:app_from_environment"
    assert options["factory"] is True and options["workers"] == 3
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == "10.0.0.5"
    assert options["server_header"] is False
    assert not counts_dirs[0].exists()  # removed when the server stopped
    assert os.environ["VOUCHER_LEDGER_DATABASE_URL"] == db_url
    # What each worker process does with the import string: an app on the same database,
    # whose start-up objects are frozen out of the cycle collector's passes.
    module, factory = target.split(":")
    frozen = gc.get_freeze_count()
    try:
        worker_app = getattr(importlib.import_module(module), factory)()
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()  # this test process is not a worker
    assert str(worker_app.state.engine.url) == str(make_engine(db_url).url)
    worker_app.state.engine.dispose()


def test_plain_options_keep_typers_values_and_refusals(db_url):
    # Plain options skip Typer's Pydantic adapter; anything not plain still reaches it.
    for value, refusal in (("x", "valid integer"), ("-1", "greater than or equal to 0")):
        result = runner.invoke(app, ["verify", "--url", db_url, "--workers", value])
        assert result.exit_code == 2 and refusal in result.output, result.output
    for value in ("1", " 1", "+1", "0_1"):  # plain, and what only Typer's adapter reads
        result = runner.invoke(app, ["verify", "--url", db_url, "--workers", value])
        assert result.exit_code == 0 and result.output.startswith("OK entries=0"), value
