"""The card without signal: a phone's key certified by the club signs a fresh code each few
seconds; the server (like the staff phone, offline) accepts it only while it is current, from a
device still certified, of the card in use, and once."""

import struct
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.auth.services import change_password, hash_password
from app.auth.sessions import end_all_sessions
from app.cards.devices import certify_device, read_code
from app.cards.models import CardDevice
from app.cards.services import active_card, card_token, check_card, reissue_card, revoke_cards
from app.core.audit import AuditEntry
from app.core.errors import ValidationFailed
from app.core.tokens import TokenError, b64decode, b64encode
from app.extensions import db
from tests.factories import make_member, make_staff


class Phone:
    """A browser's card key, as WebCrypto makes it: P-256, signatures as raw r‖s."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.certificate = b""

    @property
    def public_key(self) -> str:
        raw = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return b64encode(raw)

    def certify(self, card) -> "Phone":
        self.certificate = b64decode(certify_device(card, self.public_key).certificate)
        return self

    def code(self, at, *, certificate: bytes | None = None, key=None) -> str:
        signed = (certificate or self.certificate) + struct.pack(">I", int(at.timestamp()))
        r, s = decode_dss_signature((key or self.key).sign(signed, ec.ECDSA(SHA256())))
        return "CC2." + b64encode(signed + r.to_bytes(32, "big") + s.to_bytes(32, "big"))


@pytest.fixture
def owner(ctx, dealers):
    return make_member(dealers["SZ01"], name="Zhang Wei")


@pytest.fixture
def desk(ctx, dealers):
    return make_staff("service_advisor", dealers["SZ01"])


@pytest.fixture
def phone(owner):
    return Phone().certify(active_card(owner))


def refusals():
    return db.session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "card.refused")
    ).all()


def test_a_fresh_code_from_a_certified_phone_finds_the_member(owner, desk, phone, clock):
    result = check_card(desk, phone.code(clock.now()))
    assert result.accepted and result.member is owner
    code = read_code(phone.code(clock.now()))
    assert code.card_number == active_card(owner).number and code.name == "Zhang Wei"


def test_the_phone_makes_valid_codes_all_week_without_the_server(owner, desk, phone, clock):
    clock.advance(days=6, hours=23)
    assert check_card(desk, phone.code(clock.now())).accepted


def test_a_certificate_older_than_card_device_days_is_refused(owner, desk, phone, clock):
    clock.advance(days=7)
    result = check_card(desk, phone.code(clock.now()))
    assert result.reason == "device_expired"
    assert "open the card once with signal" in result.message
    assert refusals() == [{"reason": "device_expired"}]


def test_a_visit_with_signal_renews_the_same_device(owner, desk, phone, clock):
    clock.advance(days=5)
    phone.certify(active_card(owner))
    clock.advance(days=5)
    assert check_card(desk, phone.code(clock.now())).accepted
    assert len(db.session.scalars(select(CardDevice)).all()) == 1


@pytest.mark.parametrize("seconds", [-46, 46, 60, 3600 * 20])
def test_a_code_made_outside_the_window_is_refused(owner, desk, phone, clock, seconds):
    code = phone.code(clock.now() - timedelta(seconds=seconds))
    result = check_card(desk, code)
    assert result.reason == "stale_code"
    assert "ask the owner to show the live card" in result.message


@pytest.mark.parametrize("seconds", [-45, -20, 0, 45])
def test_a_code_within_the_window_is_accepted(owner, desk, phone, clock, seconds):
    assert check_card(desk, phone.code(clock.now() - timedelta(seconds=seconds))).accepted


def test_a_screenshot_a_minute_old_is_refused(owner, desk, phone, clock):
    shot = phone.code(clock.now())
    clock.advance(seconds=61)
    assert check_card(desk, shot).reason == "stale_code"
    assert check_card(desk, phone.code(clock.now())).accepted


def test_a_code_shown_to_one_desk_is_refused_at_another(owner, desk, phone, clock, dealers):
    code = phone.code(clock.now())
    assert check_card(desk, code).accepted
    # The same desk checking again (a double submit) gets the same answer.
    assert check_card(desk, code).accepted
    other = make_staff("sales_consultant", dealers["SZ01"])
    result = check_card(other, code)
    assert result.reason == "replayed"
    assert "already shown" in result.message


def test_an_older_code_after_a_newer_one_is_a_replay(owner, desk, phone, clock):
    old = phone.code(clock.now())
    clock.advance(seconds=20)
    assert check_card(desk, phone.code(clock.now())).accepted
    assert check_card(desk, old).reason == "replayed"


def test_a_signature_by_another_key_is_forged(owner, desk, phone, clock):
    thief = ec.generate_private_key(ec.SECP256R1())
    # A stolen certificate without the phone's key signs nothing the club accepts.
    assert check_card(desk, phone.code(clock.now(), key=thief)).reason == "forged"


def test_a_changed_certificate_is_forged(owner, desk, phone, clock):
    cert = bytearray(phone.certificate)
    cert[5] ^= 1  # another card number
    assert check_card(desk, phone.code(clock.now(), certificate=bytes(cert))).reason == "forged"
    cert = bytearray(phone.certificate)
    cert[1] = 1  # the "card" kind
    assert check_card(desk, phone.code(clock.now(), certificate=bytes(cert))).reason == "forged"


def test_a_certificate_the_club_did_not_sign_is_forged(owner, desk, clock):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    real = Phone().certify(active_card(owner))
    fake_key = Ed25519PrivateKey.generate()
    body = real.certificate[:-64]
    forged = body + fake_key.sign(body)
    assert check_card(desk, real.code(clock.now(), certificate=forged)).reason == "forged"


def test_a_ticket_token_is_not_a_card(owner, desk, phone, clock):
    from app.core.tokens import signer

    ticket = signer().sign("ticket", 1, now=clock.now())
    assert check_card(desk, ticket).reason == "wrong_kind"


def test_a_reissued_card_stops_its_phones(owner, desk, phone, clock):
    reissue_card(owner.user, owner, reason="stolen")
    assert check_card(desk, phone.code(clock.now())).reason == "reissued"
    assert db.session.scalars(select(CardDevice.revoked_at)).all() == [clock.now()]
    # The phone certifies again for the new card.
    assert check_card(desk, Phone().certify(active_card(owner)).code(clock.now())).accepted


def test_a_closed_account_stops_its_phones(owner, desk, phone, clock):
    revoke_cards(owner)
    assert check_card(desk, phone.code(clock.now())).reason == "revoked"
    assert db.session.scalars(select(CardDevice.revoked_at)).all() == [clock.now()]


@pytest.mark.parametrize(
    "sign_out",
    [
        lambda user: end_all_sessions(user, keep_current=False),  # "log out everywhere"
        lambda user: change_password(user, current="secret-pass-1", new="another-pass-2"),
    ],
    ids=["everywhere", "password"],
)
def test_signing_out_everywhere_stops_the_card_on_the_lost_phone(
    owner, desk, phone, clock, sign_out
):
    """A lost phone keeps the card's key: "log out everywhere" and a new password stop its
    codes too, not only its session; the phone in hand certifies again at its next visit."""
    owner.user.password_hash = hash_password("secret-pass-1")
    assert check_card(desk, phone.code(clock.now())).accepted
    clock.advance(seconds=30)
    sign_out(owner.user)
    result = check_card(desk, phone.code(clock.now()))
    assert result.reason == "device_revoked" and not result.accepted
    # The owner's phone in hand opens the card with signal: its key is certified anew.
    clock.advance(seconds=30)
    kept = Phone().certify(active_card(owner))
    assert check_card(desk, kept.code(clock.now())).accepted


def test_a_staff_member_signing_out_everywhere_touches_no_card(owner, desk, phone, clock):
    end_all_sessions(desk, keep_current=False)
    assert check_card(desk, phone.code(clock.now())).accepted


def test_a_card_keeps_three_phones_and_revokes_the_longest_unused(owner, desk, clock):
    card = active_card(owner)
    phones = []
    for _ in range(4):
        phones.append(Phone().certify(card))
        clock.advance(seconds=1)
    first = check_card(desk, phones[0].code(clock.now()))
    assert first.reason == "device_revoked"
    assert "signed out or replaced" in first.message
    assert all(check_card(desk, p.code(clock.now())).accepted for p in phones[1:])


def test_staff_of_another_dealer_do_not_see_the_member(owner, phone, clock, dealers):
    other = make_staff("service_advisor", dealers["GZ01"])
    assert check_card(other, phone.code(clock.now())).reason == "other_dealer"


@pytest.mark.parametrize(
    "public_key",
    ["", "not base64!", b64encode(b"\x04" + b"\x00" * 64), b64encode(b"\x02" + b"\x01" * 32)],
)
def test_a_public_key_that_is_no_p256_point_is_refused(owner, public_key):
    with pytest.raises(ValidationFailed):
        certify_device(active_card(owner), public_key)


@pytest.mark.parametrize(
    "text",
    ["CC2.", "CC2.!!!", "CC2." + "A" * 400, "CC2." + b64encode(b"\x00" * 230), "CC2.\x00"],
)
def test_malformed_codes_are_refused_clearly(owner, desk, text):
    result = check_card(desk, text)
    assert not result.accepted and result.reason in {"malformed", "forged"}
    assert result.message


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flip=st.integers(min_value=0, max_value=10_000), junk=st.binary(max_size=8))
def test_any_changed_code_is_refused_and_never_crashes(owner, desk, phone, clock, flip, junk):
    raw = bytearray(b64decode(phone.code(clock.now())[4:]))
    raw[flip % len(raw)] ^= 1 + flip % 255
    with pytest.raises(TokenError):
        read_code("CC2." + b64encode(bytes(raw) + junk))


def test_old_card_tokens_still_work(owner, desk):
    assert check_card(desk, card_token(active_card(owner)).token).accepted
