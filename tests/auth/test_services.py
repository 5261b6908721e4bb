"""Registration, authentication and password rules."""

import pytest

from app.auth.services import authenticate, change_password
from app.cards.services import active_card
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.identifiers import is_valid_luhn
from app.core.permissions import Role
from app.loyalty.services import account_for
from app.members.registration import create_staff, register_member
from tests.conftest import PASSWORD


def test_registration_creates_profile_card_and_gold_account(ctx, dealers):
    user = register_member(
        mobile="+86 137 0000 1111",
        password=PASSWORD,
        name="  Wang Fang ",
        dealer_id=dealers["SZ01"],
    )
    assert user.mobile == "13700001111"
    assert user.password_hash.startswith("$argon2id$")
    assert user.member.name == "Wang Fang"
    card = active_card(user.member)
    assert len(card.number) == 16 and is_valid_luhn(card.number)
    assert account_for(user.member).tier_code == "gold"
    assert account_for(user.member).balance == 0
    assert user.member.privacy_version and user.member.privacy_accepted_at is not None


def test_a_mobile_number_registers_once(ctx, dealers):
    register_member(mobile="13700001111", password=PASSWORD, name="A", dealer_id=dealers["SZ01"])
    with pytest.raises(Conflict) as err:
        register_member(
            mobile="137 0000 1111", password=PASSWORD, name="B", dealer_id=dealers["GZ01"]
        )
    assert err.value.field == "mobile"


def test_invalid_mobile_is_refused(ctx, dealers):
    with pytest.raises(ValidationFailed):
        register_member(mobile="12345", password=PASSWORD, name="A", dealer_id=dealers["SZ01"])


def test_authenticate_accepts_the_right_password_only(ctx, dealers, clock):
    register_member(mobile="13700001111", password=PASSWORD, name="A", dealer_id=dealers["SZ01"])
    user = authenticate("13700001111", PASSWORD)
    assert user.last_login_at == clock.now()
    with pytest.raises(ValidationFailed, match="Wrong mobile number or password"):
        authenticate("13700001111", "wrong-password")
    with pytest.raises(ValidationFailed, match="Wrong mobile number or password"):
        authenticate("13799999999", PASSWORD)


def test_change_password_ends_the_other_sessions_only(ctx, dealers):
    from app.auth.models import UserSession
    from app.auth.sessions import start_session

    user = register_member(
        mobile="13700001111", password=PASSWORD, name="A", dealer_id=dealers["SZ01"]
    )
    start_session(user)
    other = user.device_session
    start_session(user)
    this = user.device_session
    with pytest.raises(ValidationFailed):
        change_password(user, current="not-it", new="another-pass-2")
    assert change_password(user, current=PASSWORD, new="another-pass-2") == 1
    assert ctx.get(UserSession, other.id).revoked_at is not None
    assert ctx.get(UserSession, this.id).revoked_at is None
    assert authenticate("13700001111", "another-pass-2") is user


def test_dealer_staff_must_belong_to_a_dealer(ctx, dealers):
    with pytest.raises(ValidationFailed):
        create_staff(
            None,
            mobile="13800001111",
            password=PASSWORD,
            name="S",
            role=Role.CARE_AGENT,
            dealer_code=None,
        )
    with pytest.raises(NotFound):
        create_staff(
            None,
            mobile="13800001111",
            password=PASSWORD,
            name="S",
            role=Role.CARE_AGENT,
            dealer_code="XX99",
        )
    hq = create_staff(
        None,
        mobile="13800001112",
        password=PASSWORD,
        name="HQ",
        role=Role.HQ_ADMIN,
        dealer_code=None,
    )
    assert hq.is_staff and hq.dealer_id is None
