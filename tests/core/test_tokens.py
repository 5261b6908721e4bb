"""Signed QR tokens: round trips, forgeries, expiry and key rotation."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from app.core.tokens import (
    KINDS,
    PREFIX,
    TokenError,
    TokenSigner,
    b64decode,
    b64encode,
    generate_key_spec,
    load_signer,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SIGNER = TokenSigner(1, Ed25519PrivateKey.generate())
kinds = st.sampled_from(sorted(KINDS))
ids = st.integers(0, 2**63 - 1)


@given(kinds, ids, st.integers(0, 65535))
def test_a_signed_token_verifies_and_says_what_was_signed(kind, subject_id, version):
    token = SIGNER.sign(kind, subject_id, version=version, now=NOW)
    claims = SIGNER.verify(token, kind=kind, now=NOW, max_age=300)
    assert (claims.kind, claims.subject_id, claims.version) == (kind, subject_id, version)
    assert claims.issued_at == NOW


@given(ids)
def test_tokens_are_short_enough_for_a_low_density_qr(subject_id):
    assert len(SIGNER.sign("card", subject_id, now=NOW)) <= 120


@given(ids, st.data())
def test_changing_any_byte_makes_the_token_untrusted(subject_id, data):
    token = SIGNER.sign("card", subject_id, now=NOW)
    raw = bytearray(b64decode(token[len(PREFIX) :]))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= data.draw(st.integers(1, 255))
    forged = PREFIX + b64encode(bytes(raw))
    with pytest.raises(TokenError) as err:
        SIGNER.verify(forged, kind="card", now=NOW, max_age=300)
    assert err.value.reason in {"forged", "malformed"}


@given(st.text(max_size=200))
def test_arbitrary_text_is_never_accepted(text):
    with pytest.raises(TokenError):
        SIGNER.verify(text, kind="card", now=NOW, max_age=300)


def test_a_token_signed_by_another_key_is_forged():
    stranger = TokenSigner(1, Ed25519PrivateKey.generate())
    token = stranger.sign("card", 7, now=NOW)
    with pytest.raises(TokenError, match="forged"):
        SIGNER.verify(token, kind="card", now=NOW)


def test_a_token_expires_after_its_maximum_age():
    token = SIGNER.sign("card", 7, now=NOW)
    SIGNER.verify(token, kind="card", now=NOW + timedelta(seconds=300), max_age=300)
    with pytest.raises(TokenError, match="expired"):
        SIGNER.verify(token, kind="card", now=NOW + timedelta(seconds=301), max_age=300)


def test_a_token_from_the_future_is_refused():
    token = SIGNER.sign("card", 7, now=NOW + timedelta(minutes=10))
    with pytest.raises(TokenError, match="expired"):
        SIGNER.verify(token, kind="card", now=NOW, max_age=300)


def test_a_ticket_token_is_not_a_card():
    token = SIGNER.sign("ticket", 7, now=NOW)
    with pytest.raises(TokenError, match="wrong_kind"):
        SIGNER.verify(token, kind="card", now=NOW)


def test_tokens_of_a_rotated_key_still_verify_with_its_public_key():
    old = TokenSigner(1, Ed25519PrivateKey.generate())
    old_token = old.sign("voucher", 3, now=NOW)
    public = old.public_keys()["1"]
    new = load_signer(
        {"TOKEN_SIGNING_KEY": generate_key_spec(2), "TOKEN_VERIFY_KEYS": f"1:{public}"}
    )
    assert new.verify(old_token, kind="voucher", now=NOW).key_id == 1
    assert new.verify(new.sign("voucher", 3, now=NOW), kind="voucher", now=NOW).key_id == 2


def test_demo_keys_are_generated_once_and_kept(tmp_path):
    config = {"GENERATE_TOKEN_KEYS": True, "TOKEN_KEYS_FILE": tmp_path / "keys.json"}
    first = load_signer(config)
    token = first.sign("card", 1, now=NOW)
    assert load_signer(config).verify(token, kind="card", now=NOW).subject_id == 1
    assert (tmp_path / "keys.json").stat().st_mode & 0o077 == 0


def test_without_keys_a_non_demo_configuration_refuses_to_start():
    with pytest.raises(RuntimeError, match="TOKEN_SIGNING_KEY"):
        load_signer({"GENERATE_TOKEN_KEYS": False})
