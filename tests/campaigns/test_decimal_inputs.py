"""Decimal inputs of the campaign forms (C3 thresholds in yuan, incentive steps): NaN, Infinity,
huge exponents and a third decimal give the form back with the reason; nothing is saved."""

import pytest
from sqlalchemy import func, select

from app.campaigns.results.models import IncentiveTier
from app.campaigns.segments.models import SegmentThresholds
from app.extensions import db
from tests.campaigns.factories_campaigns import make_campaign

THRESHOLDS = {
    "period_months": "6",
    "maintenance_visits": "3",
    "spend_yuan": "1500.50",
    "repair_ratio_pct": "40",
}

BAD = [
    ("NaN", "Enter a number, e.g. 12.50."),
    ("sNaN", "Enter a number, e.g. 12.50."),
    ("Infinity", "Enter a number, e.g. 12.50."),
    ("-inf", "Enter a number, e.g. 12.50."),
    ("1E+999999", "Enter a number below one billion."),
    ("-1E+999999", "Enter a number below one billion."),
    ("1000000000", "Enter a number below one billion."),
    ("1E-999999", "Use at most two decimals"),
]


@pytest.fixture
def campaign_ids(seeded, dealers):
    with seeded():
        return {"campaign": make_campaign(dealers["SZ01"]).id}


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


@pytest.mark.parametrize(("value", "message"), BAD)
def test_thresholds_refuse_a_spend_that_is_no_sum_of_yuan(app, staff_factory, value, message):
    client = staff_factory("hq_admin", None)
    response = client.post(
        "/admin/campaigns/segments/thresholds", data={**THRESHOLDS, "spend_yuan": value}
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(app, SegmentThresholds) == 0


@pytest.mark.parametrize("field", ["from_pct", "per_yuan", "bonus_yuan"])
@pytest.mark.parametrize(("value", "message"), BAD)
def test_incentive_steps_refuse_values_that_are_no_number(
    app,
    staff_factory,
    campaign_ids,
    field,
    value,
    message,
):
    manager = staff_factory("showroom_manager")
    form = {
        "scope": "",
        "steps-0-from_pct": "0",
        "steps-1-from_pct": "18",
        f"steps-1-{field}": value,
    }
    response = manager.post(f"/admin/campaigns/{campaign_ids['campaign']}/incentives", data=form)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(app, IncentiveTier) == 0


def test_a_sane_spend_and_steps_still_save(app, staff_factory, campaign_ids):
    hq = staff_factory("hq_admin", None)
    response = hq.post("/admin/campaigns/segments/thresholds", data=THRESHOLDS)
    assert response.status_code == 302
    manager = staff_factory("showroom_manager")
    form = {
        "scope": "",
        "steps-0-from_pct": "0",
        "steps-1-from_pct": "18",
        "steps-1-per_yuan": "10",
    }
    response = manager.post(f"/admin/campaigns/{campaign_ids['campaign']}/incentives", data=form)
    assert response.status_code == 302
    assert _count(app, IncentiveTier) == 2
