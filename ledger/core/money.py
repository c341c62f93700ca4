"""Money at the edges: yuan amounts (strings or integers, at most two decimals) to fen and back."""

from __future__ import annotations

import re
import unicodedata

from ledger.core.errors import InvalidInput

FEN_PER_YUAN = 100
# Ten billion yuan: far above any programme's year, far below BigInteger's range.
MAX_YUAN = 10_000_000_000
MAX_FEN = MAX_YUAN * FEN_PER_YUAN
# Sign captured only to name it in the error; `extra` catches a third decimal and beyond. The
# whole part is plain digits or digits grouped by thousands (12,345), as the console shows it.
_YUAN = re.compile(
    r"(?P<sign>-)?(?P<whole>[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)"
    r"(?:\.(?P<fen>[0-9]{1,2})(?P<extra>[0-9]*))?"
)


def yuan_to_fen(value: str | int, *, field: str = "amount", allow_zero: bool = False) -> int:
    """Parse a yuan amount into integer fen, refusing floats, NaN, negatives and >2 decimals.

    A person may write `12345.67`, `12,345.67` (thousands grouped as the console prints
    them) or full-width digits (`１２３４５.６７`, as a Chinese input method types them).
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        kind = type(value).__name__
        raise InvalidInput(
            f"{field}: write yuan as a string or an integer, not a {kind}", field=field
        )
    # NFKC folds full-width digits, point, comma and minus into their ASCII forms.
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _YUAN.fullmatch(text)
    if match is None:
        if "," in text and _YUAN.fullmatch(text.replace(",", "")):
            raise InvalidInput(
                f"{field}: {value!r} has a misplaced thousands separator "
                "(write 12,345.67 or 12345.67)", field=field)
        raise InvalidInput(f"{field}: {value!r} is not a yuan amount", field=field)
    if match["sign"]:
        raise InvalidInput(f"{field}: must not be negative, got {value!r}", field=field)
    if match["extra"]:
        raise InvalidInput(f"{field}: at most two decimals (fen), got {value!r}", field=field)
    digits = match["whole"].replace(",", "")
    whole = int(digits) if len(digits) <= 20 else MAX_YUAN + 1
    if whole > MAX_YUAN:
        raise InvalidInput(f"{field}: {value!r} is above the bound of {MAX_YUAN} yuan", field=field)
    fen = whole * FEN_PER_YUAN + int((match["fen"] or "").ljust(2, "0"))
    if fen > MAX_FEN:
        raise InvalidInput(f"{field}: {value!r} is above the bound of {MAX_YUAN} yuan", field=field)
    if fen == 0 and not allow_zero:
        raise InvalidInput(f"{field}: must be positive, got {value!r}", field=field)
    return fen


def fen_to_yuan(fen: int) -> str:
    """Format integer fen as a yuan string with two decimals, e.g. 12345 -> '123.45'."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidInput(f"fen must be an integer, got {fen!r}")
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{part:02d}"


def format_yuan(fen: int) -> str:
    """Yuan with thousands separators and two decimals, for reports: 1234567 -> '12,345.67'."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{part:02d}"
