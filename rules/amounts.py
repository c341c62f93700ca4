"""Yuan amounts and ratios as written in policy and fact files, converted exactly.

Files write money in yuan (an integer, or a string with at most two decimals); the engine
works in integer fen. Ratios are decimals between 0 and 1 with at most four decimals.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# A sane upper bound: 100 billion yuan. Anything larger is a typo, not a policy figure.
MAX_YUAN = Decimal("100000000000")
_YUAN_TEXT = re.compile(r"^\d+(\.\d{1,2})?$")
MAX_RATIO_PLACES = 4


class AmountError(ValueError):
    """A value that is not an acceptable yuan amount or ratio (the message says why)."""


def parse_yuan(value: object) -> int:
    """Convert a yuan amount (int, or str/float with <= 2 decimals) to integer fen."""
    if isinstance(value, bool):
        raise AmountError("an amount must be a number of yuan, not a boolean")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        # A YAML float such as 1500.5 is accepted only if its decimal text has <= 2 places.
        text = repr(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise AmountError("an amount must be a finite number")
        if "e" in text.lower():
            raise AmountError(f'write the amount {text} as plain yuan, e.g. "1500.50"')
        amount = Decimal(text)
        if amount.as_tuple().exponent < -2:  # type: ignore[operator]
            raise AmountError(f"{text} has more than two decimals")
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("-"):
            raise AmountError(f"{value!r} is negative")
        if not _YUAN_TEXT.match(text):
            raise AmountError(
                f'{value!r} is not a yuan amount (digits, at most two decimals, e.g. "1500.50")'
            )
        amount = Decimal(text)
    else:
        raise AmountError(f"an amount must be yuan as an integer or a string, not {value!r}")
    if amount < 0:
        raise AmountError(f"{value!r} is negative")
    if amount > MAX_YUAN:
        raise AmountError(f"{value!r} is larger than {MAX_YUAN} yuan")
    return int(amount * 100)


def parse_ratio(value: object) -> Decimal:
    """Convert a ratio (string, int or float) to a Decimal in [0, 1] with <= 4 decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise AmountError(f'a ratio must be a decimal such as "0.5", not {value!r}')
    try:
        ratio = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation as exc:
        raise AmountError(f"{value!r} is not a decimal ratio") from exc
    if not ratio.is_finite():
        raise AmountError(f"{value!r} is not a finite ratio")
    if ratio < 0 or ratio > 1:
        raise AmountError(f"{value} is outside 0–1")
    if ratio.as_tuple().exponent < -MAX_RATIO_PLACES:  # type: ignore[operator]
        raise AmountError(f"{value} has more than {MAX_RATIO_PLACES} decimals")
    return ratio


def apply_ratio(cost_fen: int, ratio: Decimal) -> int:
    """Return floor(cost_fen × ratio) in integer arithmetic (rounds down to the fen)."""
    numerator, denominator = ratio.as_integer_ratio()
    return cost_fen * numerator // denominator


def fen_to_yuan(fen: int) -> str:
    """Render integer fen as a yuan string with two decimals, e.g. 150050 -> "1500.50"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
