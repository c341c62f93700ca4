"""Who acts, and on which day: the plain values every voucher service takes."""

from __future__ import annotations

import datetime as dt
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
    return dt.datetime.now(SHANGHAI).date()


def now() -> dt.datetime:
    """The current moment in UTC."""
    return dt.datetime.now(dt.UTC)
