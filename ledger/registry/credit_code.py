"""The unified social credit code (统一社会信用代码, GB 32100-2015): shape and check character."""

from __future__ import annotations

import re
import unicodedata

# The 31 characters the standard allows: digits and capitals without I, O, Z, S, V.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
# Registration authority, organisation type, a six-digit administrative division code, the
# nine-character organisation code and the check character.
_SHAPE = re.compile(r"^[1-9A-HJ-NPQRTUWXY][0-9A-HJ-NPQRTUWXY][0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def check_character(first17: str) -> str:
    """The check character GB 32100-2015 computes for the first seventeen characters."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why `code` is not a valid credit code, or None when it is."""
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters, not {len(code)}"
    if not _SHAPE.match(code):
        return "has a character outside GB 32100-2015 (digits and capitals except I O Z S V)"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r} but the code's digits give {expected!r}"
    return None


def normalise_credit_code(raw: str) -> str:
    """NFKC (a Chinese input method's full-width letters and digits become half-width), spaces
    removed, upper case; validation is `credit_code_problem`'s job."""
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


def is_valid_credit_code(code: str) -> bool:
    """True when `code` has the right shape and check character."""
    return credit_code_problem(code) is None
