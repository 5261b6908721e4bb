"""Invitations to an event (邀请对象人员筛选, 结果反馈): staff choose owners with the campaign
filters and invite them once each, through the inbox and SMS with consent and quiet hours; the
funnel invited → opened → signed up → came."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.campaigns.calls.targeting import TargetFilters
from app.campaigns.event_invites.services import count_invitations, invite_owners
from app.core.audit import AuditEntry
from app.core.errors import NotFound, ValidationFailed
from app.events import invitations
from app.events.checkin import check_in_manually
from app.events.invitations import funnel, open_invitation
from app.events.models import EventInvitation, EventKind
from app.events.services import sign_up
from app.extensions import db
from app.loyalty.services import account_for
from app.members.models import Notification, OutboxMessage
from app.members.privacy import delete_member_account, export_member_data
from tests.campaigns.broadcasts.helpers import owner_with_car
from tests.conftest import NOW
from tests.factories import make_dealer, make_event, make_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def club(ctx):
    """SZ01's lecture in ten days and its owners: Sagitar drivers "a" and "c", Golf driver "b"
    (reads English, SMS off), "no" without marketing consent, "closed" whose account is shut;
    GZ01 with an owner and an admin."""
    sz, gz = make_dealer("SZ01"), make_dealer("GZ01")
    staff = make_staff("event_staff", sz.id)
    owners = {
        "a": owner_with_car(sz.id, "Anna", plate="粤B11111", marketing_opt_in=True),
        "b": owner_with_car(sz.id, "Bo", plate="粤B22222", marketing_opt_in=True, notify_sms=False),
        "c": owner_with_car(sz.id, "Chen", plate="粤A33333", marketing_opt_in=True),
        "no": owner_with_car(sz.id, "Nolan", plate="粤B44444"),
        "closed": owner_with_car(sz.id, "Closed", marketing_opt_in=True),
        "gz": owner_with_car(gz.id, "Guo", marketing_opt_in=True),
    }
    owners["b"].vehicles[0].model = "Golf"
    owners["b"].user.locale = "en"
    owners["closed"].user.active = False
    event = make_event(staff, now=NOW, kind=EventKind.LECTURE, title="Winter care", capacity=30)
    db.session.flush()
    return {
        "event": event,
        "staff": staff,
        "gz_admin": make_staff("dealer_admin", gz.id),
        "hq": make_staff("hq_admin", None),
        **owners,
    }


def _invited(event) -> dict[int, EventInvitation]:
    rows = db.session.scalars(select(EventInvitation).where(EventInvitation.event_id == event.id))
    return {row.member_id: row for row in rows}


def _outbox(member) -> dict[str, OutboxMessage]:
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.member_id == member.id))
    return {row.channel: row for row in rows if row.kind == "event_invitation"}


def test_the_owners_the_filters_choose_are_invited_once_each(club):
    event, staff = club["event"], club["staff"]
    sagitar = TargetFilters(models=("Sagitar",))
    counted = count_invitations(staff, event.id, sagitar, now=NOW)
    assert (counted.chosen, counted.without_consent, counted.to_invite) == (3, 1, 2)
    assert _invited(event) == {}  # counting invites nobody
    plan = invite_owners(staff, event.id, sagitar, now=NOW)
    assert plan.to_invite == 2
    assert set(_invited(event)) == {club["a"].id, club["c"].id}
    # Another filter chooses "a" again, and "b": only "b" is new.
    second = invite_owners(staff, event.id, TargetFilters(plate_prefix="粤B"), now=NOW)
    assert (second.to_invite, second.already_invited, second.without_consent) == (1, 1, 1)
    # The first filter again: nobody new.
    assert invite_owners(staff, event.id, sagitar, now=NOW).to_invite == 0
    assert set(_invited(event)) == {club["a"].id, club["b"].id, club["c"].id}
    assert (
        db.session.scalar(
            select(func.count(Notification.id)).where(Notification.kind == "event_invitation")
        )
        == 3
    )
    rounds = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "event.invited"))
    assert [r.details["invited"] for r in rounds] == [2, 1, 0]


def test_an_invitation_reaches_the_inbox_and_by_sms_in_the_owners_language(club):
    event = club["event"]
    invite_owners(club["staff"], event.id, TargetFilters(), now=NOW)
    invitation = _invited(event)[club["a"].id]
    a = _outbox(club["a"])
    assert set(a) == {"in_app", "sms"}
    assert a["in_app"].status == "sent"
    assert a["sms"].status == "pending" and a["sms"].next_attempt_at == NOW  # 10:00 in Shanghai
    assert a["sms"].marketing
    assert a["sms"].subject == "诚邀您参加：Winter care"
    assert f"http://localhost/invitations/{invitation.id}" in a["sms"].body
    # "b" keeps SMS off: the inbox only, in English.
    b = _outbox(club["b"])
    assert "sms" not in b
    assert b["in_app"].subject == "You are invited: Winter care"
    assert "Owner lecture" in b["in_app"].body
    # No consent, a closed account, another dealer: nothing.
    for name in ("no", "closed", "gz"):
        assert _outbox(club[name]) == {}


def test_an_invitation_sent_at_night_waits_for_the_quiet_hours_to_end(club, clock):
    night = datetime(2026, 11, 23, 22, 30, tzinfo=SHANGHAI).astimezone(UTC)
    invite_owners(club["staff"], club["event"].id, TargetFilters(), now=night)
    sms = _outbox(club["a"])["sms"]
    assert sms.next_attempt_at == datetime(2026, 11, 24, 8, 0, tzinfo=SHANGHAI)
    assert _outbox(club["a"])["in_app"].status == "sent"


def test_owners_who_may_not_sign_up_or_did_already_are_left_out(club):
    event = club["event"]
    event.model_filter = "golf"
    sign_up(club["b"], event.id, now=NOW)
    plan = invite_owners(club["staff"], event.id, TargetFilters(), now=NOW)
    assert (plan.not_eligible, plan.signed_up, plan.to_invite) == (3, 1, 0)
    assert _invited(event) == {}
    # A platinum lecture: only "a" holds the tier ("b", signed up, no longer may).
    event.model_filter, event.min_tier_code = None, "platinum"
    account_for(club["a"]).tier_code = "platinum"
    plan = invite_owners(club["staff"], event.id, TargetFilters(), now=NOW)
    assert (plan.not_eligible, plan.signed_up, plan.to_invite) == (3, 0, 1)
    assert set(_invited(event)) == {club["a"].id}


def test_the_funnel_counts_opened_signed_up_and_came(club, clock):
    event, staff = club["event"], club["staff"]
    invite_owners(staff, event.id, TargetFilters(), now=NOW)
    invited = _invited(event)
    assert funnel(event) == invitations.Funnel(3, 0, 0, 0)
    # "a" follows the link twice (the first time counts), then signs up.
    later = NOW + timedelta(hours=1)
    assert open_invitation(club["a"], invited[club["a"].id].id, now=later) == event
    open_invitation(club["a"], invited[club["a"].id].id, now=later + timedelta(hours=1))
    assert invited[club["a"].id].opened_at == later
    place = sign_up(club["a"], event.id, now=later)
    # "b" signs up from the events list without the link: opened and signed up too.
    sign_up(club["b"], event.id, now=later)
    # "c" opens it and stays away.
    open_invitation(club["c"], invited[club["c"].id].id, now=later)
    result = funnel(event)
    assert result == invitations.Funnel(invited=3, opened=3, signed_up=2, came=0)
    assert result.share(result.signed_up) == 67
    clock.at = event.starts_at
    check_in_manually(staff, event_id=event.id, registration_id=place.id, now=event.starts_at)
    assert funnel(event).came == 1
    rows = invitations.invitation_rows(
        list(db.session.scalars(invitations.invitation_query(event)))
    )
    by_name = {row.name: row for row in rows}
    assert by_name["Anna"].came and by_name["Anna"].status == "Confirmed"
    assert by_name["Chen"].status == "" and by_name["Chen"].opened_at == later


def test_a_registration_made_before_the_invitation_is_not_its_result(club):
    event = club["event"]
    place = sign_up(club["a"], event.id, now=NOW - timedelta(hours=2))
    from app.events.services import cancel_registration

    cancel_registration(club["a"], place.id, now=NOW - timedelta(hours=1))
    invite_owners(club["staff"], event.id, TargetFilters(), now=NOW)
    assert club["a"].id in _invited(event)
    assert funnel(event).signed_up == 0


def test_an_owner_opens_only_their_own_invitation(club):
    invite_owners(club["staff"], club["event"].id, TargetFilters(), now=NOW)
    theirs = _invited(club["event"])[club["a"].id]
    with pytest.raises(NotFound):
        open_invitation(club["c"], theirs.id, now=NOW)
    with pytest.raises(NotFound):
        open_invitation(club["c"], 10**9, now=NOW)
    assert theirs.opened_at is None


def test_nobody_is_invited_once_registration_has_closed(club):
    event = club["event"]
    with pytest.raises(ValidationFailed) as refused:
        invite_owners(club["staff"], event.id, TargetFilters(), now=event.registration_closes_at)
    assert "closed" in str(refused.value.message)
    assert _invited(event) == {}


def test_a_round_too_large_is_refused_whole(club, monkeypatch):
    monkeypatch.setattr(invitations, "MAX_PER_ROUND", 2)
    assert (
        count_invitations(club["staff"], club["event"].id, TargetFilters(), now=NOW).to_invite == 3
    )
    with pytest.raises(ValidationFailed) as refused:
        invite_owners(club["staff"], club["event"].id, TargetFilters(), now=NOW)
    assert "more than 2 owners" in str(refused.value.message)
    assert _invited(club["event"]) == {}


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        (TargetFilters(age_min=-1), "age_min"),
        (TargetFilters(age_min=10**9), "age_min"),
        (TargetFilters(tiers=("bogus",)), "tiers"),
        (TargetFilters(models=("Model of another dealer",)), "models"),
        (TargetFilters(plate_prefix="粤B" * 10), "plate_prefix"),
        (TargetFilters(last_visit="within", last_visit_days=None), "last_visit_days"),
        (TargetFilters(segment="'; DROP TABLE members; --"), "segment"),
    ],
)
def test_filters_that_cannot_be_applied_are_refused(club, filters, field):
    with pytest.raises(ValidationFailed) as refused:
        invite_owners(club["staff"], club["event"].id, filters, now=NOW)
    assert refused.value.field == field
    assert _invited(club["event"]) == {}


def test_another_dealers_staff_find_no_event_and_hq_may_invite(club):
    with pytest.raises(NotFound):
        invite_owners(club["gz_admin"], club["event"].id, TargetFilters(), now=NOW)
    assert invite_owners(club["hq"], club["event"].id, TargetFilters(), now=NOW).to_invite == 3


def test_an_owner_exports_their_invitations_and_deleting_the_account_forgets_them(club):
    event = club["event"]
    invite_owners(club["staff"], event.id, TargetFilters(), now=NOW)
    (row,) = export_member_data(club["a"], now=NOW)["event_invitations"]
    assert row["event_title"] == "Winter care" and row["opened_at"] is None
    delete_member_account(club["a"], now=NOW)
    assert set(_invited(event)) == {club["b"].id, club["c"].id}


def test_the_sms_keeps_the_link_however_long_the_title_and_place(club):
    from app.members.outbox import SMS_MAX_CHARS

    event = club["event"]
    event.title, event.place = "长" * 120, "地" * 200
    invite_owners(club["staff"], event.id, TargetFilters(), now=NOW)
    sms = _outbox(club["a"])["sms"]
    invitation = _invited(event)[club["a"].id]
    sent = f"{sms.subject} {sms.body}"[:SMS_MAX_CHARS]
    assert f"http://localhost/invitations/{invitation.id}" in sent
