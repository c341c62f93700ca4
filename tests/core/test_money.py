"""Yuan at the edges, fen inside: round trips and every bad form refused."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.errors import InvalidInput
from ledger.core.money import MAX_FEN, fen_to_yuan, format_yuan, yuan_to_fen

fens = st.integers(min_value=1, max_value=MAX_FEN)


@given(fens)
def test_fen_round_trips_through_yuan(fen):
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@given(st.integers(min_value=1, max_value=10_000_000_000))
def test_integer_yuan_is_a_hundred_fen_each(yuan):
    assert yuan_to_fen(yuan) == yuan * 100
    assert yuan_to_fen(str(yuan)) == yuan * 100


@given(fens)
def test_format_has_separators_and_two_decimals(fen):
    text = format_yuan(fen)
    assert Decimal(text.replace(",", "")) * 100 == fen
    assert text[-3] == "."


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_refused(value):
    with pytest.raises(InvalidInput, match="not a float"):
        yuan_to_fen(value)


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=0, max_value=999))
def test_three_decimals_are_refused(whole, thousandths):
    with pytest.raises(InvalidInput, match="two decimals"):
        yuan_to_fen(f"{whole}.{thousandths:03d}")


@given(st.integers(max_value=-1))
def test_negatives_are_refused(value):
    with pytest.raises(InvalidInput, match="negative"):
        yuan_to_fen(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "abc",
        "NaN",
        "nan",
        "inf",
        "-inf",
        "Infinity",
        "1e3",
        "¥5",
        "1.",
        ".5",
        "0x10",
        "1 000",
        "١٢",  # Arabic-Indic digits are digits to Python's int(), not to a finance clerk
        "１２ｅ３",
    ],
)
def test_malformed_strings_are_refused(value):
    with pytest.raises(InvalidInput, match="is not a yuan amount"):
        yuan_to_fen(value)


@given(fens)
def test_the_displayed_format_parses_back(fen):
    # What the console shows (12,345.67) is what a person types back into a form.
    shown = format_yuan(fen)
    assert yuan_to_fen(shown) == fen
    full_width = shown.translate(str.maketrans("0123456789,.", "０１２３４５６７８９，．"))
    assert yuan_to_fen(full_width) == fen


@pytest.mark.parametrize(
    ("value", "fen"),
    [("12,345.67", 1_234_567), ("12345.67", 1_234_567), ("１２３４５.６７", 1_234_567),
     ("１２，３４５．６７", 1_234_567), ("1,000", 100_000), (" 1,000,000.5 ", 100_000_050),
     ("１２", 1200), ("\u3000１２\u3000", 1200)],
)
def test_grouped_and_full_width_amounts(value, fen):
    assert yuan_to_fen(value) == fen


@pytest.mark.parametrize("value", ["1,00", "1,0000.00", "12,34", "123,4567.00", "12.345,67",
                                   ",100", "100,", "1,,000", "1,000.5,0"])
def test_a_misplaced_thousands_separator_is_named(value):
    with pytest.raises(InvalidInput, match="misplaced thousands separator"):
        yuan_to_fen(value, field="cost")


@pytest.mark.parametrize(("value", "message"), [
    ("－５", "must not be negative"), ("-1,000.00", "must not be negative"),
    ("１.２３４", "at most two decimals"), ("12,345.678", "at most two decimals"),
    ("10,000,000,000.01", "bound"),
])
def test_full_width_and_grouped_junk_is_refused_clearly(value, message):
    with pytest.raises(InvalidInput, match=message) as caught:
        yuan_to_fen(value, field="cost")
    assert caught.value.message.startswith("cost: ")


@pytest.mark.parametrize("value", ["10000000000.01", "99999999999", 10_000_000_001])
def test_amounts_past_the_bound_are_refused(value):
    with pytest.raises(InvalidInput, match="bound"):
        yuan_to_fen(value)


@pytest.mark.parametrize("value", [0, "0", "0.00"])
def test_zero_is_refused_unless_allowed(value):
    with pytest.raises(InvalidInput, match="positive"):
        yuan_to_fen(value)
    assert yuan_to_fen(value, allow_zero=True) == 0


@pytest.mark.parametrize(
    ("value", "fen"),
    [("0.01", 1), ("1.5", 150), (" 12.30 ", 1230), ("200000.00", 20_000_000), (500000, 50_000_000)],
)
def test_good_amounts(value, fen):
    assert yuan_to_fen(value) == fen


def test_fen_to_yuan_refuses_non_integers():
    with pytest.raises(InvalidInput):
        fen_to_yuan(1.5)  # type: ignore[arg-type]
    assert fen_to_yuan(-5) == "-0.05"
