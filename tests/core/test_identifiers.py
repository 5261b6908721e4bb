"""Mobile numbers, VINs, plates and card numbers: examples and properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.identifiers import (
    VIN_ALPHABET,
    is_valid_luhn,
    is_valid_plate,
    is_valid_vin,
    luhn_check_digit,
    mask_mobile,
    normalize_mobile,
    normalize_plate,
    vin_check_digit,
)

vin_bodies = st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17)


def with_check_digit(body: str) -> str:
    return body[:8] + vin_check_digit(body) + body[9:]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13912345678", "13912345678"),
        ("+86 139 1234 5678", "13912345678"),
        ("0086-139-1234-5678", "13912345678"),
        ("8613912345678", "13912345678"),
        ("12912345678", None),  # no mainland operator uses 12x
        ("1391234567", None),
        ("139123456789", None),
        ("abc", None),
        ("", None),
    ],
)
def test_mobile_numbers_are_normalised_or_refused(raw, expected):
    assert normalize_mobile(raw) == expected


def test_mobile_mask_hides_the_middle_digits():
    assert mask_mobile("13912345678") == "139****5678"


def test_known_vins():
    assert is_valid_vin("1M8GDM9AXKP042788")  # the textbook example, check digit X
    assert not is_valid_vin("1M8GDM9A1KP042788")
    assert not is_valid_vin("1M8GDM9AXKP04278")  # 16 characters
    assert not is_valid_vin("IM8GDM9AXKP042788")  # I is never used


@given(vin_bodies)
def test_a_vin_with_its_check_digit_is_valid(body):
    assert is_valid_vin(with_check_digit(body))


@given(vin_bodies, st.sampled_from(VIN_ALPHABET))
def test_any_other_check_character_is_refused(body, other):
    vin = with_check_digit(body)
    if other != vin[8]:
        assert not is_valid_vin(vin[:8] + other + vin[9:])


@given(vin_bodies, st.integers(0, 16), st.sampled_from("IOQ"))
def test_vins_with_i_o_or_q_are_refused(body, position, letter):
    vin = with_check_digit(body)
    assert not is_valid_vin(vin[:position] + letter + vin[position + 1 :])


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_luhn_numbers_are_valid(payload):
    assert is_valid_luhn(payload + luhn_check_digit(payload))


@given(
    st.text(alphabet="0123456789", min_size=15, max_size=15), st.integers(0, 15), st.integers(1, 9)
)
def test_luhn_catches_every_single_digit_error(payload, position, delta):
    number = payload + luhn_check_digit(payload)
    changed = str((int(number[position]) + delta) % 10)
    assert not is_valid_luhn(number[:position] + changed + number[position + 1 :])


@pytest.mark.parametrize(
    "plate",
    ["粤B12345", "京A8K9P2", "沪C1234学", "粤BD12345", "粤BFA1234", "粤B12345D", "川A98765F"],
)
def test_mainland_plates_are_accepted(plate):
    assert is_valid_plate(plate)


@pytest.mark.parametrize(
    "plate",
    ["粤B1234", "粤BI2345", "粤BO2345", "AB12345", "粤B123456", "粤BZ12345", "粤B12345Z", ""],
)
def test_malformed_plates_are_refused(plate):
    assert not is_valid_plate(plate)


def test_plates_are_normalised_before_checking():
    assert normalize_plate(" 粤b·12345 ") == "粤B12345"
