"""The GB 32100-2015 check character, on real-format codes."""

import pytest

from ledger.registry.credit_code import (
    check_character,
    credit_code_problem,
    is_valid_credit_code,
    normalise_credit_code,
)

# Published codes of real enterprises and institutions (their check characters are correct).
VALID = [
    "91350100M000100Y43",
    "91110108551385082Q",
    "914403001922038216",
    "91440300708461136T",
    "91210000117590366A",
    "12210000455812673E",
]


@pytest.mark.parametrize("code", VALID)
def test_real_codes_are_valid(code):
    assert is_valid_credit_code(code)
    assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize("code", VALID)
def test_changing_the_check_character_is_refused(code):
    for wrong in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if wrong != code[17]:
            reason = credit_code_problem(code[:17] + wrong)
            assert reason is not None and "check character" in reason


@pytest.mark.parametrize("code", VALID)
def test_a_typo_in_the_body_is_caught(code):
    # Swap one digit of the division code: the weights make the check character change.
    typo = code[:4] + ("1" if code[4] != "1" else "2") + code[5:]
    assert not is_valid_credit_code(typo)


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("9121000011759036", "18 characters"),
        ("91210000117590366AA", "18 characters"),
        ("91210000I17590366A", "character outside"),  # I is not in the alphabet
        ("9121000011759O366A", "character outside"),  # O neither
        ("0121000011759036 6", "character outside"),
        ("91ABCDEF117590366A", "character outside"),  # division code must be digits
        ("91210000117590366a", "character outside"),
    ],
)
def test_malformed_codes_say_why(code, fragment):
    assert fragment in (credit_code_problem(code) or "")


def test_normalise_strips_spaces_and_upper_cases():
    assert normalise_credit_code(" 9121 0000 1175 9036 6a ") == "91210000117590366A"


def test_normalise_turns_full_width_input_half_width():
    """NFKC: full-width digits, letters and the ideographic space of an input method."""
    assert normalise_credit_code("９１３５０１００ｍ０００１００ｙ４３") == "91350100M000100Y43"
    assert normalise_credit_code("　91350100 M000100Y43\u3000") == "91350100M000100Y43"
