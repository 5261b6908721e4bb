"""Member rules: VINs, plates, dates, hobbies, colours and chapter transfers."""

from datetime import date

import pytest

from app.core.errors import Conflict, ValidationFailed
from app.members import services
from app.members.models import TransferStatus
from tests.factories import colour, make_member, make_staff, make_vehicle, valid_vin


@pytest.fixture
def owner(dealers, ctx):
    """A member of SZ01 without a car."""
    return make_member(dealers["SZ01"], name="Zhang Wei")


def _profile(member, **changes):
    fields = {
        "name": member.name,
        "birthday": None,
        "gender": None,
        "occupation": "",
        "home_area": "",
        "hobbies": "",
        "marketing_opt_in": False,
        **changes,
    }
    return services.update_profile(member, **fields)


# ------------------------------------------------------------------------------- VINs


def _wrong_check_digit(vin: str) -> str:
    wrong = "1" if vin[8] != "1" else "2"
    return vin[:8] + wrong + vin[9:]


@pytest.mark.parametrize(
    "make_bad_vin",
    [
        pytest.param(_wrong_check_digit, id="wrong-check-digit"),
        pytest.param(lambda vin: vin[:12] + "I" + vin[13:], id="letter-I"),
        pytest.param(lambda vin: vin[:12] + "O" + vin[13:], id="letter-O"),
        pytest.param(lambda vin: vin[:12] + "Q" + vin[13:], id="letter-Q"),
        pytest.param(lambda vin: vin[:16], id="16-characters"),
        pytest.param(lambda vin: vin + "1", id="18-characters"),
    ],
)
def test_a_bad_vin_is_refused_on_the_vin_field(owner, make_bad_vin):
    with pytest.raises(ValidationFailed) as err:
        make_vehicle(owner, vin=make_bad_vin(valid_vin()))
    assert err.value.field == "vin"
    assert owner.vehicles == []


def test_a_valid_vin_typed_in_lower_case_with_spaces_is_stored_normalised(owner):
    vin = valid_vin()
    typed = f" {vin[:8].lower()} {vin[8:]} "
    vehicle = make_vehicle(owner, vin=typed)
    assert vehicle.vin == vin


def test_the_same_vin_twice_is_a_conflict(ctx, owner, dealers):
    vin = valid_vin()
    make_vehicle(owner, vin=vin)
    someone_else = make_member(dealers["GZ01"])
    with pytest.raises(Conflict) as err:
        make_vehicle(someone_else, vin=vin.lower())
    assert err.value.field == "vin"
    assert someone_else.vehicles == []


# ----------------------------------------------------------------------------- plates


@pytest.mark.parametrize("plate", ["粤BD12345", "粤B12345D", "粤B12345", "粤b·d 12345"])
def test_ordinary_and_new_energy_plates_are_accepted(owner, plate):
    vehicle = make_vehicle(owner, plate=plate)
    assert vehicle.plate == plate.upper().replace("·", "").replace(" ", "")


@pytest.mark.parametrize(
    "plate",
    [
        "粤B1234",  # one digit short
        "粤B123456",  # 8 characters but not a new-energy pattern
        "粤BI2345",  # plates never use I
        "XB12345",  # no province
        "AB12345D",  # no province
        "粤BZ12345",  # Z is not a new-energy letter
    ],
)
def test_an_invalid_plate_is_refused_on_the_plate_field(owner, plate):
    with pytest.raises(ValidationFailed) as err:
        make_vehicle(owner, plate=plate)
    assert err.value.field == "plate"
    assert owner.vehicles == []


def test_the_same_plate_twice_is_a_conflict(ctx, owner, dealers):
    make_vehicle(owner, plate="粤BD12345")
    someone_else = make_member(dealers["SZ01"])
    with pytest.raises(Conflict) as err:
        make_vehicle(someone_else, plate="粤bd 12345")
    assert err.value.field == "plate"
    assert someone_else.vehicles == []


def test_cars_without_plates_do_not_clash(owner):
    first = make_vehicle(owner, plate="")
    second = make_vehicle(owner, plate="")
    assert first.plate is None and second.plate is None


# ------------------------------------------------------------------------------ dates


def test_a_purchase_date_in_the_future_is_refused(owner):
    with pytest.raises(ValidationFailed) as err:
        make_vehicle(owner, purchased_on=date(2026, 11, 24), delivered_on=None)
    assert err.value.field == "purchased_on"


def test_a_car_bought_today_is_accepted(owner):
    vehicle = make_vehicle(owner, purchased_on=date(2026, 11, 23), delivered_on=None)
    assert vehicle.purchased_on == date(2026, 11, 23)


def test_a_car_bought_today_in_china_is_accepted_after_local_midnight(owner, clock):
    # 2026-11-23 20:00 UTC is 2026-11-24 04:00 in Shanghai: the owner bought the car "today".
    clock.advance(hours=18)
    vehicle = make_vehicle(owner, purchased_on=date(2026, 11, 24), delivered_on=date(2026, 11, 24))
    assert vehicle.purchased_on == date(2026, 11, 24)


def test_a_delivery_before_the_purchase_is_refused(owner):
    with pytest.raises(ValidationFailed) as err:
        make_vehicle(owner, purchased_on=date(2025, 6, 10), delivered_on=date(2025, 6, 9))
    assert err.value.field == "delivered_on"


def test_a_delivery_on_the_purchase_day_is_accepted(owner):
    vehicle = make_vehicle(owner, purchased_on=date(2025, 6, 10), delivered_on=date(2025, 6, 10))
    assert vehicle.delivered_on == date(2025, 6, 10)


def test_a_birthday_in_the_future_is_refused_and_nothing_changes(owner):
    with pytest.raises(ValidationFailed) as err:
        _profile(owner, name="Someone Else", birthday=date(2026, 11, 24))
    assert err.value.field == "birthday"
    assert owner.birthday is None
    assert owner.name == "Zhang Wei"


def test_a_birthday_today_is_accepted(owner):
    _profile(owner, birthday=date(2026, 11, 23))
    assert owner.birthday == date(2026, 11, 23)


# ---------------------------------------------------------------------------- profile


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("golf，fishing", "golf, fishing"),
        (" golf ,fishing,, hiking ", "golf, fishing, hiking"),
        ("摄影，自驾游", "摄影, 自驾游"),
        ("", ""),
    ],
)
def test_hobbies_are_normalised_to_comma_space(owner, typed, stored):
    _profile(owner, hobbies=typed)
    assert owner.hobbies == stored


def test_the_profile_name_is_also_the_account_name(owner):
    _profile(owner, name="  Zhang Wei Jr  ")
    assert owner.name == "Zhang Wei Jr"
    assert owner.user.name == "Zhang Wei Jr"


# ---------------------------------------------------------------------------- colours


@pytest.mark.parametrize(
    ("a", "b", "confusable"),
    [
        ("white", "pearl_white", True),
        ("silver", "grey", True),
        ("black", "mocha_brown", True),
        ("white", "white", True),
        ("white", "silver", False),
        ("red", "blue", False),
        ("green", "orange", False),  # no group: only the colour itself
    ],
)
def test_colours_confusable(ctx, a, b, confusable):
    assert services.colours_confusable(colour(a), colour(b)) is confusable
    assert services.colours_confusable(colour(b), colour(a)) is confusable


# -------------------------------------------------------------------------- transfers


def test_a_transfer_to_the_own_chapter_is_refused(owner, dealers):
    with pytest.raises(ValidationFailed) as err:
        services.request_transfer(owner, to_dealer_id=dealers["SZ01"], reason="")
    assert err.value.field == "to_dealer_id"
    assert services.pending_transfer(owner) is None


def test_a_second_pending_transfer_is_refused(owner, dealers):
    first = services.request_transfer(owner, to_dealer_id=dealers["GZ01"], reason="moved")
    with pytest.raises(Conflict):
        services.request_transfer(owner, to_dealer_id=dealers["GZ01"], reason="again")
    assert services.pending_transfer(owner) is first


def test_approving_a_transfer_moves_the_member(owner, dealers):
    hq = make_staff("hq_admin", None)
    transfer = services.request_transfer(owner, to_dealer_id=dealers["GZ01"], reason="moved")
    assert owner.dealer_id == dealers["SZ01"]

    services.decide_transfer(hq, transfer.id, approve=True)

    assert owner.dealer_id == dealers["GZ01"]
    assert transfer.status == TransferStatus.APPROVED
    assert transfer.decided_by_id == hq.id
    assert services.pending_transfer(owner) is None


def test_rejecting_a_transfer_keeps_the_member(owner, dealers):
    hq = make_staff("hq_admin", None)
    transfer = services.request_transfer(owner, to_dealer_id=dealers["GZ01"], reason="")
    services.decide_transfer(hq, transfer.id, approve=False)
    assert owner.dealer_id == dealers["SZ01"]
    assert transfer.status == TransferStatus.REJECTED


def test_a_decided_transfer_cannot_be_decided_again(owner, dealers):
    hq = make_staff("hq_admin", None)
    transfer = services.request_transfer(owner, to_dealer_id=dealers["GZ01"], reason="")
    services.decide_transfer(hq, transfer.id, approve=True)
    with pytest.raises(Conflict):
        services.decide_transfer(hq, transfer.id, approve=False)
    assert transfer.status == TransferStatus.APPROVED
    assert owner.dealer_id == dealers["GZ01"]
