"""Who acts, and on which day: the plain values every voucher service takes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class By:
    """The user behind an action: their id (for maker-checker) and how the journal names them.

    The command line acts as user id 0 (no signed-in user), named `cli:<login>`.
    """

    user_id: int
    name: str

    @property
    def label(self) -> str:
        """The journal's `actor`: `user:<id>:<name>`, or the CLI's own name."""
        return (f"user:{self.user_id}:{self.name}" if self.user_id else self.name)[:160]


def today() -> dt.date:
    """Today in Asia/Shanghai, the bureau's calendar (the fiscal year is the calendar year)."""
    return now().astimezone(SHANGHAI).date()


def now() -> dt.datetime:
    """The current moment in UTC (the business clock's, while one is set)."""
    moment = _BUSINESS_CLOCK.get()
    return dt.datetime.now(dt.UTC) if moment is None else moment


def business_clock_set() -> bool:
    """Whether a dated history is being replayed (see `business_clock`)."""
    return _BUSINESS_CLOCK.get() is not None


@contextmanager
def business_clock(moment: dt.datetime) -> Iterator[None]:
    """Within the block, `now()` and `today()` are `moment` (never after the real time): a
    replayed history (the demo year) is stamped on its own days, so that its postings, their
    balances as of a day, and its decisions fall in the periods its reports cover."""
    real = dt.datetime.now(dt.UTC)
    token = _BUSINESS_CLOCK.set(min(moment.astimezone(dt.UTC), real))
    try:
        yield
    finally:
        _BUSINESS_CLOCK.reset(token)


_BUSINESS_CLOCK: ContextVar[dt.datetime | None] = ContextVar("business_clock", default=None)
