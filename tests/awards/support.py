"""Shared helpers of the award tests: actors, dates, firms and CSV files built in code."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ledger.awards import publicity
from ledger.awards.publicity import PublicationView
from ledger.core.acting import By
from ledger.registry.credit_code import check_character
from ledger.registry.firms import FIRMS
from ledger.registry.parties import PartyData

OPERATOR, APPROVER, OTHER = By(1, "op"), By(2, "appr"), By(3, "appr2")
CODE = "LN-AWARD-2022"
ON = dt.date(2022, 12, 1)
CERTIFIED = dt.date(2022, 6, 1)
YUAN = 100
TIER_YUAN = {"gazelle": 200_000, "unicorn": 500_000, "specialised": 1_000_000,
             "little_giant": 1_000_000}
CITIES = ("沈阳市", "大连市", "鞍山市")
# Days before today a test's 公示 list starts: its five working days have ended by today.
ENDED_DAYS = 10


def credit_code(n: int) -> str:
    """A valid credit code, distinct for each `n`."""
    first17 = f"91210100MA{n:07d}"
    return first17 + check_character(first17)


def bank_account(n: int) -> str:
    """Firm n's bank account number in the registry."""
    return f"62170000{n:08d}"


def make_firms(session: Session, count: int, *, without_bank: int = 0) -> list[int]:
    """Register `count` firms (cities in turn), with no certifications, each with a bank
    account except the last `without_bank`; their ids."""
    rows = [(PartyData(credit_code(i), f"测试企业{i}有限公司", CITIES[i % len(CITIES)], "某区",
                       "small", f"法人{i}", (),
                       *(("辽宁银行", bank_account(i)) if i < count - without_bank
                         else (None, None))), "active", ())
            for i in range(count)]
    return FIRMS.insert_many(session, rows)


def awards_csv(rows: list[tuple[str, str, str, str, str]], *, chinese: bool = False) -> str:
    """A department's list: credit code, tier, level, document number, date."""
    header = ("统一社会信用代码,认定类别,认定级别,认定文号,认定日期" if chinese
              else "credit_code,tier,level,document_no,certified_on")
    return "\n".join([header, *(",".join(r) for r in rows)]) + "\n"


def publish_ended(session: Session, programme: str = CODE, *, award_ids: list[int] | None = None,
                  by: By = OPERATOR) -> PublicationView:
    """Publish approved awards (every unpublished one, or `award_ids`) on a 公示 list whose
    period ended before today, so that they are payable."""
    start = publicity.today() - dt.timedelta(days=ENDED_DAYS)
    return publicity.publish_awards(session, programme, by=by, award_ids=award_ids, on=start)
