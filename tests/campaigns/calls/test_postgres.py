"""Campaigns on PostgreSQL: a group's targets go in through the bulk insert, the launch splits and
invites, and two people recording a call of the same owner at once both keep their call."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.campaigns.calls import calling, groups, services
from app.campaigns.calls.models import CampaignCall, CampaignTarget
from app.campaigns.calls.targeting import TargetFilters
from app.extensions import db
from app.members.models import OutboxMessage
from tests.campaigns.campaign_helpers import build_fleet, campaign_data, targets_of
from tests.conftest import NOW
from tests.factories import make_dealer, make_staff

pytestmark = pytest.mark.postgres


@pytest.fixture
def launched(pg_app):
    """A launched campaign of SZ01's five cars on one agent's list: ids."""
    with pg_app.app_context(), pg_app.test_request_context():
        fleet = build_fleet(make_dealer("SZ01").id, make_dealer("GZ01").id)
        agent = make_staff("care_agent", fleet.sz)
        campaign = services.create_campaign(
            fleet.manager, campaign_data(starts_on=NOW.date() - timedelta(days=1))
        )
        groups.add_group(
            fleet.manager, campaign.id, name="盈利忠诚", filters=TargetFilters(age_min=2)
        )
        groups.add_group(fleet.manager, campaign.id, name="Rest", filters=TargetFilters())
        services.launch_campaign(fleet.manager, campaign.id, agent_ids=[agent.id])
        db.session.commit()
        targets = targets_of(campaign.id)
        alpha = next(t for t in targets if t.vehicle_id == fleet.cars["Alpha"].id)
        return {
            "campaign": campaign.id,
            "agent": agent.id,
            "manager": fleet.manager.id,
            "targets": len(targets),
            "alpha": alpha.id,
            "alpha_age": alpha.age_years,
            "alpha_segment": alpha.segment,
        }


def test_targets_and_invitations_on_postgres(pg_app, launched):
    assert launched["targets"] == 5
    assert (launched["alpha_age"], launched["alpha_segment"]) == (4, "profitable_loyal")
    with pg_app.app_context():
        agents = db.session.scalars(
            select(CampaignTarget.agent_id).where(
                CampaignTarget.campaign_id == launched["campaign"]
            )
        ).all()
        assert set(agents) == {launched["agent"]}
        # Five owners on the inbox and by SMS.
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 10
        counts = calling.call_list_counts(db.session.get(User, launched["agent"]), now=NOW)
        assert counts["all"] == 5


def test_two_calls_of_the_same_owner_at_once_are_both_kept(pg_app, launched):
    barrier = threading.Barrier(2)
    errors = []

    def call(user_id, outcome):
        with pg_app.app_context(), pg_app.test_request_context():
            barrier.wait()
            try:
                calling.record_call(
                    db.session.get(User, user_id), launched["alpha"], outcome=outcome
                )
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                errors.append(exc)

    threads = [
        threading.Thread(target=call, args=(launched["agent"], "interested")),
        threading.Thread(target=call, args=(launched["manager"], "booked")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with pg_app.app_context():
        calls = db.session.scalars(
            select(CampaignCall)
            .where(CampaignCall.target_id == launched["alpha"])
            .order_by(CampaignCall.id)
        ).all()
        assert sorted(c.outcome.value for c in calls) == ["booked", "interested"]
        target = db.session.get(CampaignTarget, launched["alpha"])
        # The target keeps the outcome of the call written last.
        assert target.outcome == calls[-1].outcome
