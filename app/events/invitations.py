"""Invitations to an event (issue 21: 邀请对象人员筛选, 结果反馈; seed 004: 以車友匯名義邀請會員參入
其中 — the club invites its members to its events; seed 000 counts 邀约人数 and 成功率).

Who is invited. The caller chooses owners (the campaign filters: app/campaigns/event_invites)
and hands over that query; of the owners it chooses, these are left out and counted: those who
may not sign up (another dealer's, a tier below the event's, no car of its model), those
already signed up, those already invited (an owner two filters choose, or one invited twice,
is invited once), and those who did not accept marketing messages (an invitation is marketing).
A round invites at most ``MAX_PER_ROUND`` owners: more wants narrower filters.

Each invitation is one row (unique per event and owner, made while the event's row is locked,
so two rounds at once invite nobody twice) and one message through the outbox under the key
``event-invitation:<id>``: the inbox at once, SMS when the owner keeps it on, after the quiet
hours. Its link (``/invitations/<id>``) records that the owner opened it.

The funnel (结果反馈): invited → opened (the link, or a sign-up without it) → signed up (a
registration made since the invitation, cancelled later or not) → came (checked in).
"""

from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, exists, func, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.csvfile import csv_text
from app.core.dates import format_local_datetime
from app.core.errors import NotFound, ValidationFailed
from app.core.identifiers import mask_mobile
from app.core.web import path_for
from app.events.models import CheckIn, Event, EventInvitation, EventRegistration
from app.events.services import ACTIVE, KIND_LABELS, STATUS_LABELS, get_staff_event
from app.events.tripday import local_time
from app.extensions import db
from app.loyalty.models import PointsAccount
from app.loyalty.services import list_tiers
from app.loyalty.tiers import tier_at_least
from app.members.models import Member, Vehicle
from app.members.outbox import (
    Channel,
    Message,
    insert_rows,
    load_recipients,
    queue_messages,
    recipient_channels,
)

INVITATION_KIND = "event_invitation"
# Invitations go to the inbox and by SMS (when the owner keeps SMS on), never by e-mail.
INVITATION_CHANNELS = (Channel.IN_APP, Channel.SMS)
MAX_PER_ROUND = 2000


def message_key(invitation_id: int) -> str:
    """The outbox key of an invitation's message (the inbox links it to ``/invitations/<id>``)."""
    return f"event-invitation:{invitation_id}"


# ------------------------------------------------------------------------------ choosing


def _flag(condition):
    return case((condition, 1), else_=0)


def eligibility(event: Event) -> list:
    """SQL conditions on ``Member``: the owner may sign up for ``event`` (its dealer, its
    minimum tier, its model), as ``services.check_eligibility`` decides for one owner."""
    conditions = [Member.dealer_id == event.dealer_id]
    if event.min_tier_code:
        tiers = list_tiers()
        allowed = [t.code for t in tiers if tier_at_least(t.code, event.min_tier_code)]
        tier = (
            select(PointsAccount.tier_code)
            .where(PointsAccount.member_id == Member.id)
            .scalar_subquery()
        )
        conditions.append(func.coalesce(tier, tiers[0].code).in_(allowed))
    if event.model_filter:
        conditions.append(
            exists().where(
                Vehicle.member_id == Member.id,
                func.lower(Vehicle.model) == event.model_filter.casefold(),
            )
        )
    return conditions


def _flags(event: Event, audience: Select):
    """Each owner ``audience`` chooses (its first column: member ids) with 0/1 flags."""
    chosen = audience.subquery()
    signed_up = exists().where(
        EventRegistration.event_id == event.id,
        EventRegistration.member_id == Member.id,
        EventRegistration.status.in_(ACTIVE),
    )
    invited = exists().where(
        EventInvitation.event_id == event.id, EventInvitation.member_id == Member.id
    )
    return (
        select(
            Member.id.label("member_id"),
            _flag(Member.marketing_opt_in.is_(True)).label("consent"),
            _flag(and_(*eligibility(event))).label("eligible"),
            _flag(signed_up).label("signed_up"),
            _flag(invited).label("invited"),
        )
        .where(Member.id.in_(select(chosen.c[0])))
        .subquery()
    )


@dataclass(frozen=True)
class InvitePlan:
    """What a round would do: owners chosen, those left out (and why), those to invite."""

    chosen: int
    not_eligible: int
    signed_up: int
    already_invited: int
    without_consent: int
    member_ids: tuple[int, ...]

    @property
    def to_invite(self) -> int:
        """Owners the round invites."""
        return (
            self.chosen
            - self.not_eligible
            - self.signed_up
            - self.already_invited
            - (self.without_consent)
        )


def plan_invitations(event: Event, audience: Select) -> InvitePlan:
    """Whom a round of ``audience`` (a query of member ids first) invites, and whom it leaves
    out; a few queries, whatever the number of owners."""
    f = _flags(event, audience)
    live = f.c.eligible * (1 - f.c.signed_up)
    new = live * (1 - f.c.invited)
    chosen, not_eligible, signed_up, invited, no_consent = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(1 - f.c.eligible), 0),
            func.coalesce(func.sum(f.c.eligible * f.c.signed_up), 0),
            func.coalesce(func.sum(live * f.c.invited), 0),
            func.coalesce(func.sum(new * (1 - f.c.consent)), 0),
        )
    ).one()
    ids = db.session.scalars(
        select(f.c.member_id)
        .where(f.c.eligible == 1, f.c.signed_up == 0, f.c.invited == 0, f.c.consent == 1)
        .order_by(f.c.member_id)
        .limit(MAX_PER_ROUND + 1)
    ).all()
    return InvitePlan(chosen, not_eligible, signed_up, invited, no_consent, tuple(ids))


def check_invitable(event: Event, now: datetime) -> None:
    """Refuse a round for an event owners can no longer sign up for."""
    if event.registration_closes_at <= now:
        raise ValidationFailed(
            _l("Registration for this event has closed: nobody can be invited any more.")
        )


def _lock(event: Event) -> Event:
    """The event's row, locked: rounds of one event go one at a time."""
    return db.session.execute(
        select(Event)
        .where(Event.id == event.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def invite(
    actor: User, event: Event, audience: Select, *, described: str = "", now: datetime | None = None
) -> InvitePlan:
    """Invite the owners ``audience`` chooses to ``event`` (see the module); returns the round's
    plan, ``to_invite`` being how many were invited. Audited with the filters ``described``."""
    now = now or utcnow()
    event = _lock(event)
    check_invitable(event, now)
    plan = plan_invitations(event, audience)
    if len(plan.member_ids) > MAX_PER_ROUND:
        raise ValidationFailed(
            _l(
                "These filters choose more than %(max)s owners to invite: narrow them down.",
                max=f"{MAX_PER_ROUND:,}",
            )
        )
    if plan.member_ids:
        rows = [
            {"event_id": event.id, "member_id": m, "invited_at": now, "invited_by_id": actor.id}
            for m in plan.member_ids
        ]
        table = EventInvitation.__table__
        made = insert_rows(EventInvitation, rows, returning=(table.c.id, table.c.member_id)).all()
        queue_messages(_messages(event, made), now=now)
    record_audit(
        actor,
        "event.invited",
        subject=event,
        dealer_id=event.dealer_id,
        details={
            "invited": plan.to_invite,
            "already_invited": plan.already_invited,
            "without_consent": plan.without_consent,
            "filters": described[:500],
        },
        now=now,
    )
    return plan


def _link(invitation_id: int) -> str:
    if has_request_context():
        return url_for("events.open_invitation", invitation_id=invitation_id, _external=True)
    return path_for("events.open_invitation", invitation_id=invitation_id)


def invitation_text(event: Event, locale: str, link: str) -> tuple[str, str]:
    """An invitation's title and text in ``locale``."""
    with force_locale(locale):
        title = _("You are invited: %(title)s", title=event.title)
        # The link before the place: an SMS longer than the provider takes loses its end.
        body = _(
            "%(kind)s, %(when)s. See it and sign up: %(link)s · %(place)s",
            kind=KIND_LABELS[event.kind],
            when=format_local_datetime(event.starts_at, "short"),
            place=event.place,
            link=link,
        )
    return title, body


def _messages(event: Event, made: list) -> list[Message]:
    recipients = load_recipients(member_id for _id, member_id in made)
    messages = []
    for invitation_id, member_id in made:
        recipient = recipients[member_id]
        title, body = invitation_text(event, recipient.locale, _link(invitation_id))
        channels = tuple(c for c in recipient_channels(recipient) if c in INVITATION_CHANNELS)
        messages.append(
            Message(
                recipient,
                INVITATION_KIND,
                title,
                body,
                message_key(invitation_id),
                channels,
                marketing=True,
            )
        )
    return messages


# -------------------------------------------------------------------------------- owners


def open_invitation(member: Member, invitation_id: int, *, now: datetime | None = None) -> Event:
    """The owner followed their invitation's link: the first time is recorded. Returns the
    event; another owner's invitation is not found."""
    now = now or utcnow()
    invitation = db.session.get(EventInvitation, invitation_id)
    if invitation is None or invitation.member_id != member.id:
        raise NotFound(_l("No such invitation."))
    if invitation.opened_at is None:
        invitation.opened_at = now
        db.session.flush()
    return invitation.event


def forget_invitations(member: Member) -> int:
    """The owner deletes their account: their invitations go (who was invited to what, and
    whether they opened it, is about them). Returns how many."""
    return db.session.execute(
        EventInvitation.__table__.delete().where(EventInvitation.member_id == member.id)
    ).rowcount


# --------------------------------------------------------------------------------- staff


def _signed_up_since():
    """The invited owner's registrations for the event made since the invitation."""
    return (
        (EventRegistration.event_id == EventInvitation.event_id)
        & (EventRegistration.member_id == EventInvitation.member_id)
        & (EventRegistration.created_at >= EventInvitation.invited_at)
    )


def _came():
    return exists().where(
        CheckIn.registration_id == EventRegistration.id,
        EventRegistration.event_id == EventInvitation.event_id,
        EventRegistration.member_id == EventInvitation.member_id,
    )


@dataclass(frozen=True)
class Funnel:
    """An event's invitations: invited → opened → signed up → came."""

    invited: int
    opened: int
    signed_up: int
    came: int

    def share(self, count: int) -> int:
        """``count`` as a whole percentage of the owners invited."""
        return round(100 * count / self.invited) if self.invited else 0


def funnel(event: Event) -> Funnel:
    """The event's funnel, in one query."""
    signed = exists().where(_signed_up_since())
    came = _came()
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(_flag(EventInvitation.opened_at.is_not(None) | signed)), 0),
            func.coalesce(func.sum(_flag(signed)), 0),
            func.coalesce(func.sum(_flag(came)), 0),
        ).where(EventInvitation.event_id == event.id)
    ).one()
    return Funnel(*row)


@dataclass(frozen=True)
class InvitationRow:
    """One invited owner as the staff list and its CSV show them (the number masked: event
    staff do not call invitees from here)."""

    name: str
    mobile: str
    invited_at: datetime
    opened_at: datetime | None
    status: str  # the latest registration since the invitation ('' when none)
    came: bool


def invitation_query(event: Event) -> Select:
    """The event's invitations, newest first (a query, for a page at a time)."""
    return (
        select(EventInvitation)
        .where(EventInvitation.event_id == event.id)
        .options(selectinload(EventInvitation.member).selectinload(Member.user))
        .order_by(EventInvitation.invited_at.desc(), EventInvitation.id.desc())
    )


def invitation_rows(invitations: list[EventInvitation]) -> list[InvitationRow]:
    """The list's lines for ``invitations``, with what became of each (two queries)."""
    if not invitations:
        return []
    event_id = invitations[0].event_id
    members = [i.member_id for i in invitations]
    registrations: dict[int, list[EventRegistration]] = {}
    for r in db.session.scalars(
        select(EventRegistration)
        .where(EventRegistration.event_id == event_id, EventRegistration.member_id.in_(members))
        .order_by(EventRegistration.created_at, EventRegistration.id)
    ):
        registrations.setdefault(r.member_id, []).append(r)
    came = set(
        db.session.scalars(
            select(EventRegistration.member_id)
            .join(CheckIn, CheckIn.registration_id == EventRegistration.id)
            .where(EventRegistration.event_id == event_id, EventRegistration.member_id.in_(members))
        )
    )
    rows = []
    for invitation in invitations:
        latest = [
            r
            for r in registrations.get(invitation.member_id, [])
            if r.created_at >= invitation.invited_at
        ]
        rows.append(
            InvitationRow(
                name=invitation.member.name,
                mobile=mask_mobile(invitation.member.mobile),
                invited_at=invitation.invited_at,
                opened_at=invitation.opened_at,
                status=str(STATUS_LABELS[latest[-1].status]) if latest else "",
                came=invitation.member_id in came,
            )
        )
    return rows


def invitations_for_staff(actor: User, event_id: int) -> Event:
    """The event whose invitations ``actor`` may see and send (NotFound otherwise)."""
    return get_staff_event(actor, event_id)


CSV_COLUMNS = (
    _l("Name"),
    _l("Mobile"),
    _l("Invited at"),
    _l("Opened at"),
    _l("Registration"),
    _l("Came"),
)


def export_invitations_csv(actor: User, event_id: int, *, now: datetime | None = None) -> str:
    """The event's invitations and what became of them as CSV (audited)."""
    now = now or utcnow()
    event = get_staff_event(actor, event_id)
    rows = invitation_rows(list(db.session.scalars(invitation_query(event))))
    body = csv_text(
        CSV_COLUMNS,
        (
            [
                row.name,
                row.mobile,
                local_time(row.invited_at),
                local_time(row.opened_at),
                row.status,
                str(_l("Yes")) if row.came else "",
            ]
            for row in rows
        ),
    )
    record_audit(
        actor,
        "event.invitations_exported",
        subject=event,
        dealer_id=event.dealer_id,
        details={"rows": len(rows)},
        now=now,
    )
    return body
