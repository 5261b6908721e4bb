"""The member card without signal: a key on the owner's phone, certified by the club.

The card page makes an ECDSA P-256 key pair with WebCrypto, not extractable (the page can sign
with it, nothing can read it out), keeps it in the browser's IndexedDB and sends the public half
to ``certify_device``. The club answers with a certificate signed by its Ed25519 token key, the
key the gate and the staff phones already hold the public half of (``core/tokens.py``)::

    certificate = key id (1) · kind 5 "device" (1) · card number (8) · device id (4)
                  · not after, Unix seconds (4) · device public key, raw P-256 point (65)
                  · name length (1) · owner's name, UTF-8, at most 24 bytes
                  · Ed25519 signature of all the above (64)

Every ``CARD_CODE_SECONDS`` the page draws, without the server, the QR code::

    "CC2." + base64url(certificate · time, Unix seconds (4)
                       · ECDSA P-256 SHA-256 signature of (certificate · time), r‖s (64))

A verifier with the club's public keys checks the chain alone (``static/js/card-code.js`` does
the same as ``read_code``): the certificate's signature, its kind and date, the device's
signature, and that the time is within ``CARD_CODE_WINDOW_SECONDS`` of its own clock. A
screenshot is refused a minute later; a copied certificate is useless without the key. The
server also refuses revoked devices, replaced cards and replays (``accept_code``).
"""

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.cards.models import CardDevice, CardStatus, MemberCard
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.tokens import KINDS, TokenError, b64decode, b64encode, signer
from app.extensions import db

CODE_PREFIX = "CC2."
DEVICE_KIND = KINDS["device"]
_CERT_HEAD = struct.Struct(">BBQII65sB")
_TIME = struct.Struct(">I")
MAX_NAME_BYTES = 24
_ED25519_BYTES = 64
_ECDSA_BYTES = 64
PUBLIC_KEY_BYTES = 65
# The longest code: "CC2." and 240 bytes in base64url (a version-13 QR at level M).
MAX_CODE_LENGTH = len(CODE_PREFIX) + 320


@dataclass(frozen=True)
class DeviceCertificate:
    """What the card page keeps: the certificate (base64url) and until when it works."""

    device: CardDevice
    certificate: str
    not_after: datetime


@dataclass(frozen=True)
class DeviceCode:
    """A checked ``CC2.`` code: whose card, which device, and the time it was made."""

    card_number: str
    device_id: int
    name: str
    made_at: datetime
    not_after: datetime


def _short_name(name: str) -> bytes:
    """The owner's name in at most MAX_NAME_BYTES of UTF-8, cut between characters."""
    raw = name.encode("utf-8")[:MAX_NAME_BYTES]
    return raw.decode("utf-8", errors="ignore").encode("utf-8")


def device_certificate(device: CardDevice) -> bytes:
    """The signed certificate of ``device`` (see the module's docstring)."""
    card = device.card
    name = _short_name(card.member.name or "")
    body = _CERT_HEAD.pack(
        signer().key_id,
        DEVICE_KIND,
        int(card.number),
        device.id,
        int(device.expires_at.timestamp()),
        b64decode(device.public_key),
        len(name),
    )
    body += name
    return body + signer().sign_bytes(body)


def _public_key(text: str) -> ec.EllipticCurvePublicKey:
    try:
        raw = b64decode(text or "")
        if len(raw) != PUBLIC_KEY_BYTES or raw[0] != 4:
            raise ValueError("not an uncompressed P-256 point")
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise ValidationFailed(
            _l("This browser's card key could not be read."), field="public_key"
        ) from None


def certify_device(
    card: MemberCard, public_key: str, *, now: datetime | None = None
) -> DeviceCertificate:
    """Certify a browser's public key to sign ``card``'s offline codes for CARD_DEVICE_DAYS.

    The same key again renews its certificate; a card keeps at most CARD_DEVICES_PER_CARD
    devices, the longest unused ones are revoked."""
    now = now or utcnow()
    _public_key(public_key)
    # Lock the card row: two tabs certifying at once count against one limit.
    db_card = db.session.execute(
        select(MemberCard).where(MemberCard.id == card.id).with_for_update()
    ).scalar_one()
    expires_at = now + timedelta(days=current_app.config["CARD_DEVICE_DAYS"])
    active = list(
        db.session.scalars(
            select(CardDevice)
            .where(
                CardDevice.card_id == db_card.id,
                CardDevice.revoked_at.is_(None),
                CardDevice.expires_at > now,
            )
            .order_by(CardDevice.certified_at.desc(), CardDevice.id.desc())
        )
    )
    device = next((d for d in active if d.public_key == public_key), None)
    if device is None:
        device = CardDevice(card=db_card, public_key=public_key, certified_at=now)
        db.session.add(device)
    else:
        active.remove(device)
        device.certified_at = now
    device.expires_at = expires_at
    for old in active[current_app.config["CARD_DEVICES_PER_CARD"] - 1 :]:
        old.revoked_at = now
    db.session.flush()
    return DeviceCertificate(device, b64encode(device_certificate(device)), expires_at)


def revoke_devices(card: MemberCard, *, now: datetime | None = None) -> int:
    """Revoke every device of ``card`` (a reissue, a closed account, the owner signed out
    everywhere). Returns how many."""
    now = now or utcnow()
    devices = db.session.scalars(
        select(CardDevice).where(CardDevice.card_id == card.id, CardDevice.revoked_at.is_(None))
    ).all()
    for device in devices:
        device.revoked_at = now
    return len(devices)


def _split(text: str) -> tuple[bytes, bytes, bytes, bytes]:
    """(certificate body, its signature, time, device signature); TokenError("malformed")."""
    if not text.startswith(CODE_PREFIX) or len(text) > MAX_CODE_LENGTH:
        raise TokenError("malformed")
    try:
        raw = b64decode(text[len(CODE_PREFIX) :])
    except ValueError:
        raise TokenError("malformed") from None
    tail = _ED25519_BYTES + _TIME.size + _ECDSA_BYTES
    if len(raw) < _CERT_HEAD.size + tail:
        raise TokenError("malformed")
    name_length = raw[_CERT_HEAD.size - 1]
    body_length = _CERT_HEAD.size + name_length
    if name_length > MAX_NAME_BYTES or len(raw) != body_length + tail:
        raise TokenError("malformed")
    body = raw[:body_length]
    rest = raw[body_length:]
    return (
        body,
        rest[:_ED25519_BYTES],
        rest[_ED25519_BYTES : _ED25519_BYTES + _TIME.size],
        rest[_ED25519_BYTES + _TIME.size :],
    )


def read_code(text: str, *, now: datetime | None = None) -> DeviceCode:
    """Check a ``CC2.`` code's chain and time as any verifier can, without the database.

    Raises TokenError: malformed, forged, wrong_kind, device_expired (the certificate's date is
    past) or stale_code (made more than CARD_CODE_WINDOW_SECONDS from ``now``)."""
    now = now or utcnow()
    body, cert_signature, made, device_signature = _split((text or "").strip())
    key_id, kind, number, device_id, not_after, point, _ = _CERT_HEAD.unpack(
        body[: _CERT_HEAD.size]
    )
    if not signer().verify_bytes(key_id, cert_signature, body):
        raise TokenError("forged")
    if kind != DEVICE_KIND:
        raise TokenError("wrong_kind")
    try:
        name = body[_CERT_HEAD.size :].decode("utf-8")
        device_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise TokenError("malformed") from None
    r = int.from_bytes(device_signature[:32], "big")
    s = int.from_bytes(device_signature[32:], "big")
    try:
        device_key.verify(
            encode_dss_signature(r, s), body + cert_signature + made, ec.ECDSA(SHA256())
        )
    except (InvalidSignature, ValueError):
        raise TokenError("forged") from None
    not_after_at = datetime.fromtimestamp(not_after, UTC)
    if not_after_at <= now:
        raise TokenError("device_expired")
    made_at = datetime.fromtimestamp(_TIME.unpack(made)[0], UTC)
    if abs((now - made_at).total_seconds()) > current_app.config["CARD_CODE_WINDOW_SECONDS"]:
        raise TokenError("stale_code")
    return DeviceCode(f"{number:016d}", device_id, name, made_at, not_after_at)


def card_of_code(code: DeviceCode) -> MemberCard | None:
    """The card in use that ``code``'s device belongs to; None when the device is unknown,
    revoked or of another card, or the card was replaced or closed."""
    device = db.session.get(CardDevice, code.device_id)
    if device is None or device.revoked_at is not None:
        return None
    card = device.card
    if card.number != code.card_number or card.status != CardStatus.ACTIVE:
        return None
    return card


def accept_code(actor: User, code: DeviceCode, card: MemberCard) -> str | None:
    """Record a staff member's acceptance of ``code``; the refusal reason instead when its
    device is unknown, revoked or of another card, or the code is a replay: older than a code
    of the device already accepted, or the same code accepted by someone else. The same staff
    member checking the same code again is answered the same."""
    device = db.session.execute(
        select(CardDevice).where(CardDevice.id == code.device_id).with_for_update()
    ).scalar_one_or_none()
    if device is None or device.card_id != card.id:
        return "forged"
    if device.revoked_at is not None:
        return "device_revoked"
    last = device.last_code_at
    if last is not None and (
        code.made_at < last or (code.made_at == last and device.last_code_staff_id != actor.id)
    ):
        return "replayed"
    device.last_code_at = code.made_at
    device.last_code_staff_id = actor.id
    return None
