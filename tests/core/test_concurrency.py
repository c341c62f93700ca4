"""Concurrent holds can never spend the same fen."""

import threading

import pytest

from ledger.core.accounts import balance
from ledger.core.db import transaction
from ledger.core.errors import InsufficientBalance
from ledger.core.journal import create_hold
from ledger.core.verify import verify
from tests.core.scenario import fund_voucher, open_chart

pytestmark = pytest.mark.usefixtures("posting_path")

THREADS = 64


def test_64_concurrent_holds_against_room_for_10(sessions):
    with transaction(sessions) as s:
        open_chart(s)
        fund_voucher(s, 1_000)
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def book() -> None:
        start.wait()
        try:
            with transaction(sessions) as s:
                create_hold(s, "P:provider:S1", "P:voucher:V1", 100, flow="book")
            outcome = "held"
        except InsufficientBalance:
            outcome = "insufficient_balance"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=book) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes.count("held") == 10
    assert outcomes.count("insufficient_balance") == 54
    with transaction(sessions) as s:
        voucher = balance(s, "P:voucher:V1")
        provider = balance(s, "P:provider:S1")
        assert (voucher.credits_pending, voucher.available) == (1_000, 0)
        assert provider.debits_pending == 1_000
        assert verify(s).ok
