"""A campaign call marked "Booked" books the chosen service time for the target's car
(seed 002 主动预约): in the same transaction, so a refused booking records no call."""

from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.calls import calling, services
from app.campaigns.calls.groups import add_group
from app.campaigns.calls.models import CallOutcome, CampaignCall, CampaignTarget
from app.campaigns.calls.targeting import TargetFilters
from app.core.errors import Forbidden, ValidationFailed
from app.extensions import db
from app.service.appointments import AppointmentRefused
from app.service.models import Appointment, AppointmentStatus
from app.service.workshop import add_slots
from tests.campaigns.calls import test_views as call_views
from tests.campaigns.calls.test_services import TODAY, _agents
from tests.campaigns.campaign_helpers import build_fleet, campaign_data
from tests.factories import make_dealer, make_staff


@pytest.fixture
def calls(ctx):
    """A launched SZ01 campaign split between two care agents; a 09:00 slot tomorrow (one car)
    and a GZ01 slot."""
    fleet = build_fleet(make_dealer("SZ01").id, make_dealer("GZ01").id)
    campaign = services.create_campaign(fleet.manager, campaign_data(starts_on=TODAY))
    add_group(fleet.manager, campaign.id, name="All", filters=TargetFilters())
    agents = _agents(fleet, 2)
    services.launch_campaign(fleet.manager, campaign.id, agent_ids=[a.id for a in agents])
    targets = db.session.scalars(
        select(CampaignTarget)
        .where(CampaignTarget.campaign_id == campaign.id)
        .order_by(CampaignTarget.id)
    ).all()
    advisor = make_staff("service_advisor", fleet.sz)
    tomorrow = TODAY + timedelta(days=1)
    (slot,) = add_slots(
        advisor, day=tomorrow, first=time(9), last=time(9), every_minutes=30, capacity=1
    ).added
    gz_slot = add_slots(
        make_staff("service_advisor", fleet.gz),
        day=tomorrow,
        first=time(9),
        last=time(9),
        every_minutes=30,
        capacity=1,
    ).added[0]
    by_agent = {a.id: a for a in agents}
    return fleet, targets, by_agent, slot, gz_slot


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_booked_with_a_time_books_it_for_the_targets_car(calls):
    _fleet, targets, agents, slot, _gz = calls
    target = targets[0]
    agent = agents[target.agent_id]
    call = calling.record_call(agent, target.id, outcome="booked", slot_id=slot.id)
    assert call.outcome == CallOutcome.BOOKED
    (appointment,) = db.session.scalars(select(Appointment)).all()
    assert appointment.vehicle_id == target.vehicle_id
    assert appointment.member_id == target.member_id
    assert appointment.booked_by_id == agent.id
    assert appointment.status == AppointmentStatus.BOOKED and slot.booked == 1


def test_a_refused_booking_records_no_call(calls):
    _fleet, targets, agents, slot, gz_slot = calls
    first, second = targets[0], next(t for t in targets if t.member_id != targets[0].member_id)
    calling.record_call(agents[first.agent_id], first.id, outcome="booked", slot_id=slot.id)
    savepoint = db.session.begin_nested()
    with pytest.raises(AppointmentRefused, match="fully booked"):
        calling.record_call(agents[second.agent_id], second.id, outcome="booked", slot_id=slot.id)
    savepoint.rollback()
    assert count(CampaignCall) == 1 and second.outcome is None
    with pytest.raises(ValidationFailed, match="No such time"):
        calling.record_call(
            agents[second.agent_id], second.id, outcome="booked", slot_id=gz_slot.id
        )


def test_a_time_needs_the_booked_outcome(calls):
    _fleet, targets, agents, slot, _gz = calls
    target = targets[0]
    with pytest.raises(ValidationFailed, match="Booked"):
        calling.record_call(
            agents[target.agent_id], target.id, outcome="interested", slot_id=slot.id
        )
    assert count(Appointment) == 0


def test_booked_without_a_time_books_nothing_as_before(calls):
    _fleet, targets, agents, _slot, _gz = calls
    target = targets[0]
    calling.record_call(agents[target.agent_id], target.id, outcome="booked")
    assert count(Appointment) == 0 and count(CampaignCall) == 1


def test_a_manager_without_the_booking_right_is_refused(calls):
    fleet, targets, _agents, slot, _gz = calls
    with pytest.raises(Forbidden, match="does not book service times"):
        calling.record_call(fleet.manager, targets[0].id, outcome="booked", slot_id=slot.id)


# ------------------------------------------------------------------------------- the page

world = call_views.world  # the fixture: the fleet, its care agents and managers


def _slot_tomorrow(app, world, hour: int, capacity: int = 1) -> int:
    with app.app_context(), app.test_request_context():
        advisor = make_staff("service_advisor", world["sz"])
        (slot,) = add_slots(
            advisor,
            day=TODAY + timedelta(days=1),
            first=time(hour),
            last=time(hour),
            every_minutes=30,
            capacity=capacity,
        ).added
        db.session.commit()
        return slot.id


def test_the_call_page_books_the_chosen_time(app, world):
    campaign_id = call_views._launched(app, world)
    target, other = call_views._targets(app, campaign_id, world["ids"]["agent"])[:2]
    slot_id = _slot_tomorrow(app, world, 9)
    agent = call_views.client_of(app, world, "agent")
    page = agent.get(f"/admin/campaigns/calls/{target}").get_data(as_text=True)
    assert 'name="slot_id"' in page and f'value="{slot_id}"' in page
    response = agent.post(
        f"/admin/campaigns/calls/{target}", data={"outcome": "booked", "slot_id": slot_id}
    )
    assert response.status_code == 302
    followed = agent.get(response.headers["Location"]).get_data(as_text=True)
    assert "The service time is booked" in followed
    with app.app_context():
        assert db.session.scalar(select(func.count(Appointment.id))) == 1
        calls_before = db.session.scalar(select(func.count(CampaignCall.id)))
    # The slot is now full: the other owner's "booked" call is refused and not recorded.
    refused = agent.post(
        f"/admin/campaigns/calls/{other}", data={"outcome": "booked", "slot_id": slot_id}
    )
    assert refused.status_code == 302
    assert "fully booked" in agent.get(refused.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(CampaignCall.id))) == calls_before
        assert db.session.scalar(select(func.count(Appointment.id))) == 1
