"""Broadcasts (seed 002, 节日祝福、特殊天气提醒等每月不得低于3次): composing with the words and
filters checked, the moves once each, the audience and its consent, sending once per owner in the
owner's language after the quiet hours, in batches that a rerun carries on, and the month's
count."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.broadcasts import sending, services
from app.campaigns.broadcasts.models import Broadcast
from app.campaigns.broadcasts.sending import send_due_broadcasts
from app.campaigns.calls.targeting import TargetFilters
from app.core.audit import AuditEntry
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.members.models import Notification, OutboxMessage
from tests.campaigns.broadcasts.helpers import data, draft, owner_with_car
from tests.care.helpers import make_car
from tests.conftest import NOW
from tests.factories import make_dealer, make_staff

TODAY = NOW.date()


@pytest.fixture
def shop(ctx):
    """SZ01 with its admin, a care agent and four owners; GZ01 with its admin and an owner."""
    sz, gz = make_dealer("SZ01"), make_dealer("GZ01")
    owners = {
        "yes": owner_with_car(sz.id, "Yes", plate="粤B11111", marketing_opt_in=True),
        "no": owner_with_car(sz.id, "No", plate="粤B22222"),
        "en": owner_with_car(sz.id, "Eve", plate="粤A33333", marketing_opt_in=True),
        "closed": owner_with_car(sz.id, "Closed", marketing_opt_in=True),
        "gz_owner": owner_with_car(gz.id, "Gz", marketing_opt_in=True),
    }
    owners["en"].user.locale = "en"
    owners["closed"].user.active = False
    db.session.commit()
    return {
        "sz": sz,
        "gz": gz,
        "admin": make_staff("dealer_admin", sz.id),
        "gz_admin": make_staff("dealer_admin", gz.id),
        "agent": make_staff("care_agent", sz.id),
        "hq": make_staff("hq_admin", None),
        **owners,
    }


def _inbox() -> dict[int, tuple[str, str]]:
    return {n.member_id: (n.title, n.body) for n in db.session.scalars(select(Notification))}


def _run(now):
    report = send_due_broadcasts(now=now)
    db.session.expire_all()
    return report


# ----------------------------------------------------------------------------- composing


def test_a_draft_keeps_the_words_the_filters_and_who_made_it(shop):
    broadcast = draft(shop["admin"], shop["sz"].id, filters=TargetFilters(plate_prefix="粤B"))
    assert (broadcast.status, broadcast.dealer_id) == ("draft", shop["sz"].id)
    assert broadcast.filters["plate_prefix"] == "粤B"
    assert broadcast.created_by_id == shop["admin"].id
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "broadcast.created"))
    assert audit.dealer_id == shop["sz"].id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "birthday"}, "kind"),
        ({"send_at": None}, "send_at"),
        ({"send_at": NOW + timedelta(days=400)}, "send_at"),
        ({"title_zh": ""}, "title_zh"),
        ({"body_en": "Dear {name}, your {car}"}, "body_en"),
        ({"title_en": "Hi {name"}, "title_en"),
        ({"filters": TargetFilters(models=("Tesla",))}, "models"),
        ({"filters": TargetFilters(age_min=5, age_max=2)}, "age_max"),
    ],
)
def test_refused_broadcasts_save_nothing(shop, changes, field):
    with pytest.raises(ValidationFailed) as refused:
        draft(shop["admin"], shop["sz"].id, **changes)
    assert refused.value.field == field
    assert db.session.scalar(select(func.count(Broadcast.id))) == 0


def test_only_the_care_manager_or_hq_composes_and_only_for_their_dealer(shop):
    with pytest.raises(Forbidden):
        draft(shop["agent"], shop["sz"].id)
    with pytest.raises(Forbidden):
        draft(shop["gz_admin"], shop["sz"].id)
    broadcast = draft(shop["hq"], shop["gz"].id)
    with pytest.raises(NotFound):
        services.load_broadcast(shop["admin"], broadcast.id)
    with pytest.raises(NotFound):
        services.schedule_broadcast(shop["admin"], broadcast.id, now=NOW)
    assert [b.id for b in db.session.scalars(services.visible_broadcasts(shop["admin"]))] == []
    assert len(db.session.scalars(services.visible_broadcasts(shop["hq"])).all()) == 1


def test_each_move_happens_once_and_a_sent_broadcast_no_longer_moves(shop):
    admin, broadcast = shop["admin"], draft(shop["admin"], shop["sz"].id)
    for _ in range(2):  # a double submit
        services.schedule_broadcast(admin, broadcast.id, now=NOW)
    assert broadcast.status == "scheduled"
    with pytest.raises(ValidationFailed, match="Only a draft can change"):
        services.update_broadcast(admin, broadcast.id, data(title_zh="新"), now=NOW)
    for _ in range(2):
        services.unschedule_broadcast(admin, broadcast.id, now=NOW)
    assert broadcast.status == "draft"
    services.update_broadcast(admin, broadcast.id, data(title_zh="新年快乐 {name}"), now=NOW)
    services.schedule_broadcast(admin, broadcast.id, now=NOW)
    db.session.commit()
    _run(NOW + timedelta(hours=1))
    broadcast = db.session.get(Broadcast, broadcast.id)
    assert broadcast.status == "sent"
    for move in (services.cancel_broadcast, services.unschedule_broadcast):
        with pytest.raises(Conflict):
            move(admin, broadcast.id, now=NOW)
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.startswith("broadcast."))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == [
        "broadcast.created",
        "broadcast.scheduled",
        "broadcast.unscheduled",
        "broadcast.updated",
        "broadcast.scheduled",
    ]


def test_a_cancelled_broadcast_never_goes(shop):
    broadcast = draft(shop["admin"], shop["sz"].id)
    services.schedule_broadcast(shop["admin"], broadcast.id, now=NOW)
    services.cancel_broadcast(shop["admin"], broadcast.id, now=NOW)
    services.cancel_broadcast(shop["admin"], broadcast.id, now=NOW)  # twice: no harm
    with pytest.raises(Conflict):
        services.schedule_broadcast(shop["admin"], broadcast.id, now=NOW)
    db.session.commit()
    assert _run(NOW + timedelta(days=1)).queued == 0
    assert db.session.get(Broadcast, broadcast.id).cancelled_at == NOW


def test_a_draft_whose_time_has_passed_is_not_scheduled(shop):
    broadcast = draft(shop["admin"], shop["sz"].id)
    with pytest.raises(ValidationFailed, match="The send time has passed"):
        services.schedule_broadcast(shop["admin"], broadcast.id, now=NOW + timedelta(hours=2))
    # A form filled a few minutes late is fine.
    services.schedule_broadcast(shop["admin"], broadcast.id, now=NOW + timedelta(minutes=65))
    assert broadcast.status == "scheduled"


# ------------------------------------------------------------------------------ audience


def test_the_audience_is_the_dealers_active_owners_the_filters_choose(shop):
    count = services.count_audience(shop["sz"].id, TargetFilters(), TODAY)
    assert (count.owners, count.consenting, count.without_consent) == (3, 2, 1)
    bees = services.count_audience(shop["sz"].id, TargetFilters(plate_prefix="粤B"), TODAY)
    assert (bees.owners, bees.consenting) == (2, 1)
    # An owner with two cars is one owner.
    make_car(shop["yes"], purchased_on=date(2025, 6, 1))
    assert services.count_audience(shop["sz"].id, TargetFilters(), TODAY).owners == 3
    # Another dealer's owners are never in it.
    assert services.count_audience(shop["gz"].id, TargetFilters(), TODAY).owners == 1


def test_sending_reaches_each_consenting_owner_once_in_their_language(shop):
    sz, admin = shop["sz"], shop["admin"]
    broadcast = draft(admin, sz.id)
    services.schedule_broadcast(admin, broadcast.id, now=NOW)
    db.session.commit()

    assert _run(NOW + timedelta(minutes=59)).queued == 0  # not yet
    report = _run(NOW + timedelta(hours=1))
    assert (report.sent, report.queued, report.skipped_consent) == (1, 2, 1)
    broadcast = db.session.get(Broadcast, broadcast.id)
    assert (broadcast.status, broadcast.audience, broadcast.queued) == ("sent", 3, 2)
    assert broadcast.skipped_consent == 1
    assert _inbox() == {
        shop["yes"].id: ("Yes，节日快乐", f"{sz.name}祝您节日快乐。"),
        shop["en"].id: ("Happy holidays, Eve", f"From {sz.name}."),
    }
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert {(m.member_id, m.channel) for m in rows} == {
        (shop["yes"].id, "in_app"),
        (shop["yes"].id, "sms"),
        (shop["en"].id, "in_app"),
        (shop["en"].id, "sms"),
    }
    assert all(m.marketing and m.kind == "holiday_greeting" for m in rows)
    # Again, and again the next day: nothing more.
    assert _run(NOW + timedelta(hours=2)).queued == 0
    assert _run(NOW + timedelta(days=1)).queued == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 4


def test_a_broadcast_due_in_the_quiet_hours_reaches_the_inbox_and_waits_for_the_sms(shop):
    evening = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 22:00 in Shenzhen
    broadcast = draft(shop["admin"], shop["sz"].id, kind="weather_warning", send_at=evening)
    services.schedule_broadcast(shop["admin"], broadcast.id, now=NOW)
    db.session.commit()
    _run(evening)
    rows = {
        m.channel: (m.status, m.next_attempt_at)
        for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.member_id == shop["yes"].id)
        )
    }
    assert rows == {
        "in_app": ("sent", evening),
        "sms": ("pending", datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),  # 08:00
    }


def test_a_run_that_stops_half_way_is_carried_on_by_the_next(shop, monkeypatch):
    monkeypatch.setattr(sending, "BATCH_SIZE", 1)
    for n in range(3):
        owner_with_car(shop["sz"].id, f"More {n}", marketing_opt_in=True)
    broadcast = draft(shop["admin"], shop["sz"].id)
    services.schedule_broadcast(shop["admin"], broadcast.id, now=NOW)
    db.session.commit()
    real, calls = sending.queue_messages, []

    def failing_third(messages, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(messages, **kwargs)

    monkeypatch.setattr(sending, "queue_messages", failing_third)
    first = _run(NOW + timedelta(hours=1))
    broadcast = db.session.get(Broadcast, broadcast.id)
    assert broadcast.status == "sending"
    assert broadcast.audience == 2  # two batches of one committed, the third rolled back
    assert first.sent == 0

    monkeypatch.setattr(sending, "queue_messages", real)
    second = _run(NOW + timedelta(hours=1, minutes=5))
    broadcast = db.session.get(Broadcast, broadcast.id)
    assert (broadcast.status, broadcast.audience, broadcast.queued) == ("sent", 6, 5)
    assert first.queued + second.queued == 5
    assert db.session.scalar(select(func.count(Notification.id))) == 5


def test_the_audience_is_worked_out_when_it_is_sent(shop):
    broadcast = draft(shop["admin"], shop["sz"].id)
    services.schedule_broadcast(shop["admin"], broadcast.id, now=NOW)
    shop["no"].marketing_opt_in = True  # accepts offers meanwhile
    late = owner_with_car(shop["sz"].id, "Late", marketing_opt_in=True)
    db.session.commit()
    _run(NOW + timedelta(hours=1))
    assert set(_inbox()) == {shop["yes"].id, shop["no"].id, shop["en"].id, late.id}


# ------------------------------------------------------------------------------ the month


def test_the_months_count_is_of_broadcasts_sent_this_month_per_dealer(shop):
    sz, gz = shop["sz"].id, shop["gz"].id
    for when, dealer_id, actor in (
        (NOW + timedelta(hours=1), sz, shop["admin"]),
        (NOW + timedelta(hours=2), sz, shop["admin"]),
        (NOW + timedelta(hours=3), gz, shop["gz_admin"]),
    ):
        broadcast = draft(actor, dealer_id, send_at=when)
        services.schedule_broadcast(actor, broadcast.id, now=NOW)
    cancelled = draft(shop["admin"], sz)
    services.cancel_broadcast(shop["admin"], cancelled.id, now=NOW)
    draft(shop["admin"], sz)  # a draft does not count
    db.session.commit()
    _run(NOW + timedelta(hours=3))
    assert services.month_counts(None, TODAY) == {sz: 2, gz: 1}
    assert services.month_counts(sz, TODAY) == {sz: 2}
    summary = services.month_summary(None, NOW + timedelta(hours=4))
    assert [(d.code, n) for d, n in summary] == [("GZ01", 1), ("SZ01", 2)]
    # December starts again from nothing.
    assert services.month_counts(sz, datetime(2026, 12, 1).date()) == {}
