"""Login accounts of owners, staff and partner users."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import string_enum
from app.core.permissions import STAFF_ROLES, Role
from app.extensions import db

# Roles that work for one dealer; HQ admins see every dealer.
_DEALER_ROLES = sorted(r.value for r in STAFF_ROLES - {Role.HQ_ADMIN})


class User(UserMixin, db.Model):
    """An account that logs in with a mainland mobile number."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "dealer_id IS NOT NULL OR role NOT IN ('" + "','".join(_DEALER_ROLES) + "')",
            name="dealer_staff_have_dealer",
        ),
        CheckConstraint("session_version >= 1", name="session_version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mobile: Mapped[str] = mapped_column(String(11), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(string_enum(Role, 32))
    name: Mapped[str] = mapped_column(String(64))
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealers.id"), index=True)
    # A partner user checks the perks of this partner only.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped when an invitation is accepted, so its link works once. Sessions end through
    # user_sessions (app/auth/sessions.py), not through this number.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # R12: a mobile number belongs to whoever proved it with an SMS code. None for an owner
    # enrolled by a DMS delivery who has not proved it yet, and for accounts made before codes.
    mobile_verified_at: Mapped[datetime | None]
    # Second factor (TOTP, RFC 6238) of dealer admins and HQ; the last time step used, so a
    # code cannot be replayed.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None]
    # Set when the owner deleted their account (PIPL): personal data is erased, the row stays
    # so ledger entries and audit records keep their reference.
    deleted_at: Mapped[datetime | None]
    # ``dealer`` (the Dealer) and ``member`` (an owner's Member) are declared in
    # app/members/models.py as the other sides of ``Dealer.staff`` and ``Member.user``.

    @property
    def is_active(self) -> bool:
        """Flask-Login: deactivated accounts cannot log in."""
        return self.active

    # The sign-in key of the device session this object was loaded or signed in with
    # (app/auth/sessions.py); not a column.
    session_key = None
    device_session = None

    def get_id(self) -> str:
        """Flask-Login: this sign-in's random key (an alternative token), never the user id."""
        if not self.session_key:
            raise RuntimeError("Sign users in with app.auth.sessions.start_session")
        return self.session_key

    def __eq__(self, other):
        if isinstance(other, User):
            return self is other or (self.id is not None and self.id == other.id)
        return NotImplemented

    __hash__ = UserMixin.__hash__

    @property
    def is_staff(self) -> bool:
        """True for dealer and HQ staff."""
        return self.role in STAFF_ROLES

    @property
    def is_member(self) -> bool:
        """True for owners."""
        return self.role == Role.MEMBER


class UserSession(db.Model):
    """One signed-in device: ended by logout, a password change or "log out everywhere".

    The session cookie and the remember-me cookie carry the random key; only its SHA-256 is
    stored, so a copy of the table signs nobody in.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class SmsCode(db.Model):
    """A one-time code sent by SMS to prove a mobile number (R12); only its HMAC is stored."""

    __tablename__ = "sms_codes"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_sms_codes_mobile_purpose", "mobile", "purpose", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mobile: Mapped[str] = mapped_column(String(11))
    purpose: Mapped[str] = mapped_column(String(16))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]
