"""A replayed history (the demo year) is stamped by the business clock, on both engines."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ledger.core.accounts import balance_as_of
from ledger.core.acting import SHANGHAI, business_clock, now, today
from ledger.core.db import transaction
from ledger.core.journal import EntryRequest, Move, post_entry
from ledger.core.models import Account
from ledger.core.oplog import Actor, list_operations, record
from ledger.core.verify import verify
from tests.core.scenario import fund_voucher, open_chart


def test_now_and_today_follow_the_clock_within_its_block_only():
    moment = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
    with business_clock(moment):
        assert now() == moment
        assert today() == moment.astimezone(SHANGHAI).date()
    assert now() - datetime.now(UTC) < timedelta(seconds=5)
    # Never after the real time: a replay cannot stamp the future.
    with business_clock(datetime.now(UTC) + timedelta(days=3)):
        assert now() <= datetime.now(UTC)


def test_postings_accounts_and_the_log_take_the_clocks_time(sessions):
    march, june = (datetime(2026, 3, 2, 1, 30, tzinfo=UTC), datetime(2026, 6, 1, 2, tzinfo=UTC))
    with business_clock(march), transaction(sessions) as s:
        open_chart(s)
        fund_voucher(s, 1000)
        record(s, Actor("demo", "operator", "cli"), "programs.create", "programme", "P")
    with business_clock(june), transaction(sessions) as s:
        entry = post_entry(s, EntryRequest((Move("P:provider:S1", "P:voucher:V1", 400),),
                                           flow="spend"))
    assert entry.posted_at == june
    with transaction(sessions) as s:
        opened = s.scalars(select(Account.opened_at)).all()
        assert {o.astimezone(UTC) for o in opened} == {march}
        # The balance as of a day between the two sees the March money only.
        assert balance_as_of(s, "P:voucher:V1", datetime(2026, 4, 1, tzinfo=UTC)).available == 1000
        assert balance_as_of(s, "P:voucher:V1", june).available == 600
        [logged] = list_operations(s, limit=10).items
        assert logged.at.astimezone(UTC) == march
        assert verify(s).ok
    # Without the clock, a posting is stamped now again (after June's).
    with transaction(sessions) as s:
        later = post_entry(s, EntryRequest((Move("P:provider:S1", "P:voucher:V1", 1),),
                                           flow="spend"))
    assert datetime.now(UTC) - later.posted_at < timedelta(minutes=1)
