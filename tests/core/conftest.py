"""The core's posting tests run on both posting paths where PostgreSQL has two."""

from __future__ import annotations

import os

import pytest

from ledger.core import pg_posting
from ledger.core.db import transaction
from tests.conftest import TEST_URL_ENV
from tests.core.scenario import fund_voucher, open_chart


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """On PostgreSQL, a test using `posting_path` runs with the server function and without."""
    if "posting_path" in metafunc.fixturenames:
        on_postgres = os.environ.get(TEST_URL_ENV, "").startswith("postgresql")
        paths = ["server", "python"] if on_postgres else ["python"]
        metafunc.parametrize("posting_path", paths, indirect=True)


@pytest.fixture
def posting_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """`server`: single entries post through ledger_post(); `python`: the Python path."""
    monkeypatch.setattr(pg_posting, "ENABLED", request.param == "server")
    return str(request.param)


@pytest.fixture
def chart(sessions):  # type: ignore[no-untyped-def]
    """The shared chart with 1,000 fen on voucher V1; the session factory."""
    with transaction(sessions) as s:
        open_chart(s)
        fund_voucher(s, 1_000)
    return sessions
