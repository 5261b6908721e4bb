"""Money (app/core/money.py): integer fen, one yuan formatter, exact parsing that refuses
floats."""

from decimal import Decimal

import pytest
from flask import render_template_string
from hypothesis import given
from hypothesis import strategies as st

from app.core.money import fen_to_decimal, to_fen, yuan


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (5, "0.05"), (123456, "1234.56"), (-5, "-0.05"), (-1230, "-12.30")],
)
def test_yuan_shows_fen_with_two_decimals_and_a_sign(fen, text):
    assert yuan(fen) == text


def test_money_is_in_fen_with_a_yuan_string():
    # The owner's data download writes a *_yuan string beside each *_fen (app/members/privacy).
    assert [yuan(n) for n in (12800, 5, 0, -1250)] == ["128.00", "0.05", "0.00", "-12.50"]


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (12345, "123.45"), (123450, "1,234.50"), (-123456789, "-1,234,567.89")],
)
def test_pages_group_the_thousands(app, fen, text):
    assert yuan(fen, grouped=True) == text
    with app.test_request_context():
        assert render_template_string("{{ fen|yuan }}", fen=fen) == text
        assert render_template_string("{{ fen|yuan(grouped=False) }}", fen=fen) == yuan(fen)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_the_grouped_text_is_what_the_float_format_showed_and_parses_back(fen):
    # Below 2**53 fen a float still holds every amount exactly: the old filter's output.
    assert yuan(fen, grouped=True) == f"{fen / 100:,.2f}"
    assert to_fen(yuan(fen)) == fen
    assert to_fen(fen_to_decimal(fen)) == fen


@pytest.mark.parametrize(
    ("amount", "fen"),
    [
        (Decimal("19.99"), 1999),
        ("19.99", 1999),
        (" 1280.5 ", 128050),
        (12, 1200),
        (Decimal("-0.05"), -5),
        (Decimal("1E+2"), 10000),
        (Decimal("0.010"), 1),
        # Past Decimal's 28 digits of precision, still exact.
        (Decimal("12345678901234567890123456789.01"), 1234567890123456789012345678901),
    ],
)
def test_yuan_amounts_become_fen_exactly(amount, fen):
    assert to_fen(amount) == fen


@pytest.mark.parametrize(
    "amount",
    [0.1, 19.99, 1.0, True, None, "1.001", Decimal("0.005"), "abc", "", "NaN", "-Infinity"],
)
def test_floats_and_what_is_not_whole_fen_are_refused(amount):
    with pytest.raises(ValueError):
        to_fen(amount)


def test_a_form_shows_fen_as_an_exact_decimal():
    assert fen_to_decimal(1250) == Decimal("12.50")
    assert str(fen_to_decimal(1250)) == "12.50"
    assert str(fen_to_decimal(-5)) == "-0.05"
