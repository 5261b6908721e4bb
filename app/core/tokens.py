"""Signed tokens for every QR the club shows (member card, ticket, voucher, perk).

A token is ``CC1.`` + base64url(header + Ed25519 signature). The header is 22 bytes:
key id, kind, subject id, version (card generation...), issued-at (Unix seconds) and a
random nonce. A scanning phone needs only the public key to check the signature; the
server also checks the subject's state (a reissued card, a cancelled ticket...).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app

PREFIX = "CC1."
# "device": a certificate of a phone's card key (``cards/devices.py``), not a ``CC1.`` token.
# "invite": an owner's invite link (``referrals/invites.py``), whose subject is a random handle.
KINDS = {"card": 1, "ticket": 2, "voucher": 3, "perk": 4, "device": 5, "invite": 6}
_KIND_NAMES = {code: name for name, code in KINDS.items()}
_HEADER = struct.Struct(">BBQHI6s")
_SIGNATURE_BYTES = 64
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW_SECONDS = 60


class TokenError(Exception):
    """A token that cannot be trusted; ``reason`` is malformed, forged, expired or wrong_kind."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says."""

    kind: str
    subject_id: int
    version: int
    issued_at: datetime
    key_id: int


def b64encode(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Inverse of :func:`b64encode`, strictly: only its own canonical spelling decodes (no
    padding, no ``+`` or ``/``, no stray bits in the last character), so one changed character
    always changes the bytes or is refused. Raises ValueError on anything else."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc
    if b64encode(data) != text:
        raise ValueError("not canonical base64url")
    return data


class TokenSigner:
    """Signs with the current key; verifies with the current and any older public keys."""

    def __init__(
        self,
        key_id: int,
        private_key: Ed25519PrivateKey,
        older_keys: dict[int, Ed25519PublicKey] | None = None,
    ) -> None:
        if not 0 <= key_id <= 255:
            raise ValueError("key id must be 0-255")
        self.key_id = key_id
        self._private = private_key
        self._public = {**(older_keys or {}), key_id: private_key.public_key()}

    def sign(self, kind: str, subject_id: int, *, version: int = 0, now: datetime) -> str:
        """Return a token for ``subject_id`` of ``kind`` issued at ``now``."""
        header = _HEADER.pack(
            self.key_id,
            KINDS[kind],
            subject_id,
            version,
            int(now.timestamp()),
            secrets.token_bytes(6),
        )
        return PREFIX + b64encode(header + self._private.sign(header))

    def verify(
        self, token: str, *, kind: str, now: datetime, max_age: int | None = None
    ) -> TokenClaims:
        """Check the signature, kind and age of ``token``; raise TokenError if it fails."""
        token = (token or "").strip()
        if not token.startswith(PREFIX):
            raise TokenError("malformed")
        try:
            raw = b64decode(token[len(PREFIX) :])
        except ValueError:
            raise TokenError("malformed") from None
        if len(raw) != _HEADER.size + _SIGNATURE_BYTES:
            raise TokenError("malformed")
        header, signature = raw[: _HEADER.size], raw[_HEADER.size :]
        key_id, kind_code, subject_id, version, issued, _nonce = _HEADER.unpack(header)
        public = self._public.get(key_id)
        if public is None:
            raise TokenError("forged")
        try:
            public.verify(signature, header)
        except InvalidSignature:
            raise TokenError("forged") from None
        if _KIND_NAMES.get(kind_code) != kind:
            raise TokenError("wrong_kind")
        issued_at = datetime.fromtimestamp(issued, UTC)
        age = (now - issued_at).total_seconds()
        if age < -CLOCK_SKEW_SECONDS or (max_age is not None and age > max_age):
            raise TokenError("expired")
        return TokenClaims(_KIND_NAMES[kind_code], subject_id, version, issued_at, key_id)

    def sign_bytes(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message`` with the current key (``self.key_id``): for
        formats that carry their own key id and kind, such as the card device certificates."""
        return self._private.sign(message)

    def verify_bytes(self, key_id: int, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is key ``key_id``'s signature of ``message``."""
        public = self._public.get(key_id)
        if public is None:
            return False
        try:
            public.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def public_keys(self) -> dict[str, str]:
        """The public keys a scanning device needs, by key id, base64url-encoded."""
        return {
            str(kid): b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
            for kid, key in sorted(self._public.items())
        }


def _parse_private(spec: str) -> tuple[int, Ed25519PrivateKey]:
    kid, _, key = spec.partition(":")
    return int(kid), Ed25519PrivateKey.from_private_bytes(b64decode(key.strip()))


def _parse_public_list(spec: str) -> dict[int, Ed25519PublicKey]:
    keys = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kid, _, key = item.partition(":")
        keys[int(kid)] = Ed25519PublicKey.from_public_bytes(b64decode(key.strip()))
    return keys


def generate_key_spec(key_id: int = 1) -> str:
    """A new ``kid:base64url(private key)`` string for TOKEN_SIGNING_KEY."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return f"{key_id}:{b64encode(raw)}"


def signer() -> TokenSigner:
    """The app's token signer, which create_app builds once from the configured keys."""
    return current_app.extensions["token_signer"]


def load_signer(config) -> TokenSigner:
    """Build the signer from configuration; generate a demo key file where allowed."""
    spec = config.get("TOKEN_SIGNING_KEY")
    if not spec and config.get("GENERATE_TOKEN_KEYS"):
        path = Path(config["TOKEN_KEYS_FILE"])
        if path.exists():
            spec = json.loads(path.read_text())["signing_key"]
        else:
            spec = generate_key_spec()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump({"signing_key": spec}, fh)
    if not spec and config.get("TESTING"):
        spec = generate_key_spec()
    if not spec:
        raise RuntimeError("TOKEN_SIGNING_KEY is not configured")
    key_id, private = _parse_private(spec)
    return TokenSigner(key_id, private, _parse_public_list(config.get("TOKEN_VERIFY_KEYS", "")))
