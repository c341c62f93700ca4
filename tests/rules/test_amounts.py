"""Yuan parsing and the ratio arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rules.amounts import AmountError, apply_ratio, fen_to_yuan, parse_ratio, parse_yuan


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        (200000, 20_000_000),
        ("1500.50", 150_050),
        ("0.01", 1),
        ("7", 700),
        (1500.5, 150_050),
        (" 12.3 ", 1230),
        (0, 0),
    ],
)
def test_parse_yuan_accepts(value: object, fen: int) -> None:
    """Integers and strings (and short floats) of yuan become exact fen."""
    assert parse_yuan(value) == fen


@pytest.mark.parametrize(
    "value",
    [
        "-1",
        -1,
        "1.234",
        1.234,
        "1e3",
        1e20,
        float("nan"),
        float("inf"),
        True,
        None,
        [1],
        "",
        "abc",
        "100000000000.01",
    ],
)
def test_parse_yuan_refuses(value: object) -> None:
    """Negatives, too many decimals, NaN, booleans and absurd sizes are refused."""
    with pytest.raises(AmountError):
        parse_yuan(value)


def test_parse_ratio_bounds() -> None:
    """Ratios are within 0–1 inclusive with at most four decimals."""
    assert parse_ratio("0") == 0
    assert parse_ratio("1") == 1
    assert parse_ratio(0.25) == Decimal("0.25")
    for bad in ("1.0001", "-0.5", "0.12345", "NaN", "x", True):
        with pytest.raises(AmountError):
            parse_ratio(bad)


def test_apply_ratio_rounds_down() -> None:
    """floor(cost × ratio) in integer arithmetic, never above the exact product."""
    assert apply_ratio(3, Decimal("0.5")) == 1
    assert apply_ratio(1_234_567, Decimal("0.4")) == 493_826
    assert apply_ratio(10**15 + 1, Decimal("0.3333")) == (10**15 + 1) * 3333 // 10000


def test_fen_to_yuan() -> None:
    """Fen render as yuan with two decimals."""
    assert fen_to_yuan(150_050) == "1500.50"
    assert fen_to_yuan(1) == "0.01"
    assert fen_to_yuan(-5) == "-0.05"
