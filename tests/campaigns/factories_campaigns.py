"""Small factories for campaign results tests: campaigns, groups, targets, calls and callbacks
made directly (not through the campaign services), flushed, never committed."""

import itertools
from datetime import date, datetime, timedelta

from app.campaigns.calls.models import (
    CallOutcome,
    Campaign,
    CampaignCall,
    CampaignGroup,
    CampaignStatus,
    CampaignTarget,
)
from app.campaigns.results.models import SurveyCall
from app.extensions import db
from tests.conftest import NOW

_seq = itertools.count(1)


def make_campaign(dealer_id: int, **overrides) -> Campaign:
    """A launched campaign of ``dealer_id`` over November 2026 (ended before NOW's day)."""
    data = {
        "dealer_id": dealer_id,
        "name": f"Air-con care {next(_seq)}",
        "starts_on": date(2026, 11, 1),
        "ends_on": date(2026, 11, 20),
        "status": CampaignStatus.LAUNCHED,
        "created_at": NOW - timedelta(days=40),
        **overrides,
    }
    campaign = Campaign(**data)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def make_group(campaign: Campaign, name: str = "Profitable-loyal", **overrides) -> CampaignGroup:
    """A target group of ``campaign``, after its other groups."""
    data = {
        "campaign_id": campaign.id,
        "position": len(campaign.groups) + 1,
        "name": name,
        "filters": {},
        **overrides,
    }
    group = CampaignGroup(**data)
    db.session.add(group)
    db.session.flush()
    db.session.refresh(campaign)
    return group


def make_target(group: CampaignGroup, vehicle, **overrides) -> CampaignTarget:
    """``vehicle`` (and its owner) on ``group``'s list."""
    data = {
        "campaign_id": group.campaign_id,
        "group_id": group.id,
        "member_id": vehicle.member_id,
        "vehicle_id": vehicle.id,
        "vin": vehicle.vin,
        "segment": "profitable_loyal",
        "model": vehicle.model,
        "age_years": 2,
        "created_at": NOW - timedelta(days=40),
        **overrides,
    }
    target = CampaignTarget(**data)
    db.session.add(target)
    db.session.flush()
    return target


def make_call(target: CampaignTarget, agent_id: int, **overrides) -> CampaignCall:
    """An invitation call to ``target``."""
    data = {
        "target_id": target.id,
        "agent_id": agent_id,
        "round": 1,
        "called_at": NOW - timedelta(days=30),
        "outcome": CallOutcome.INTERESTED,
        **overrides,
    }
    call = CampaignCall(**data)
    db.session.add(call)
    db.session.flush()
    return call


def make_survey(
    target: CampaignTarget,
    agent_id: int,
    reached: bool,
    satisfied: bool | None = None,
    called_at: datetime | None = None,
) -> SurveyCall:
    """A satisfaction callback to ``target``."""
    call = SurveyCall(
        target_id=target.id,
        agent_id=agent_id,
        called_at=called_at or NOW,
        reached=reached,
        satisfied=satisfied if reached else None,
    )
    db.session.add(call)
    db.session.flush()
    return call
