"""Satisfaction callbacks (seed 000 满意度回访): only participating targets of a campaign whose
window has reached its last day, an agent's own list, reached before satisfied, audited, and
the results' callback table counting the latest reaching call."""

from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from app.campaigns.calls.models import Campaign, CampaignTarget
from app.campaigns.results.models import SurveyCall
from app.campaigns.results.survey import record_survey_call
from app.core.audit import AuditEntry
from app.core.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from tests.admin.test_insight import tables_of
from tests.campaigns.factories_campaigns import make_campaign, make_group, make_target
from tests.conftest import NOW, login
from tests.factories import make_member, make_staff, make_vehicle, make_visit


@pytest.fixture
def world(seeded, dealers):
    """A campaign of SZ01 (1–20 November) with two agents' targets: Zhang Wei (agent A) and
    Wang Fang (agent B) came in the window, Li Lei (agent A) did not."""
    with seeded():
        campaign = make_campaign(dealers["SZ01"], name="Air-con care")
        group = make_group(campaign, "Profitable-loyal")
        a = make_staff("care_agent", dealers["SZ01"])
        b = make_staff("care_agent", dealers["SZ01"])
        ids = {"campaign": campaign.id, "a": a.mobile, "b": b.mobile, "a_id": a.id, "b_id": b.id}
        for name, agent, came in (
            ("Zhang Wei", a, True),
            ("Wang Fang", b, True),
            ("Li Lei", a, False),
        ):
            owner = make_member(dealers["SZ01"], name=name)
            car = make_vehicle(owner)
            ids[name] = make_target(group, car, agent_id=agent.id).id
            # Li Lei came the day after the window ended: not a participant.
            make_visit(owner, date(2026, 11, 20 if came else 21), "maintenance", 30_000)
    return ids


def test_an_agent_calls_back_their_participating_owners(app, world):
    agent = app.test_client()
    login(agent, world["a"])
    html = agent.get(f"/admin/campaigns/{world['campaign']}/survey").get_data(as_text=True)
    assert "Zhang Wei" in html
    assert "Wang Fang" not in html  # agent B's
    assert "Li Lei" not in html  # did not take part
    assert "Not called back yet." in html

    url = f"/admin/campaigns/{world['campaign']}/survey"
    response = agent.post(
        url,
        data={"target_id": world["Zhang Wei"], "reached": "yes", "satisfied": "yes", "note": "OK"},
    )
    assert response.status_code == 302
    html = agent.get(response.headers["Location"]).get_data(as_text=True)
    assert "Callback recorded." in html
    assert "reached, satisfied" in html
    with app.app_context():
        (entry,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "campaign.survey_recorded")
        )
        assert entry.details["target_id"] == world["Zhang Wei"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("Li Lei", {"reached": "yes", "satisfied": "yes"}, "did not take part in the campaign"),
        ("Wang Fang", {"reached": "yes", "satisfied": "no"}, "on another agent's list"),
        ("Zhang Wei", {"reached": "no", "satisfied": "yes"}, "only recorded when the owner"),
        ("Zhang Wei", {"reached": "yes"}, "Say whether the owner was satisfied."),
        ("Zhang Wei", {"satisfied": "yes"}, "Say whether you reached the owner."),
        ("Zhang Wei", {"reached": "yes", "satisfied": "no", "note": "x" * 501}, "at most 500"),
    ],
)
def test_refused_callbacks_save_nothing(app, world, name, data, message):
    agent = app.test_client()
    login(agent, world["a"])
    url = f"/admin/campaigns/{world['campaign']}/survey"
    response = agent.post(url, data={"target_id": world[name], **data}, follow_redirects=True)
    assert message in unescape(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(func.count(SurveyCall.id))) == 0


def test_callbacks_start_on_the_last_day(app, world, clock):
    with app.app_context():
        campaign = db.session.get(Campaign, world["campaign"])
        campaign.ends_on = date(2026, 11, 24)  # NOW is the 23rd
        db.session.commit()
    agent = app.test_client()
    login(agent, world["a"])
    url = f"/admin/campaigns/{world['campaign']}/survey"
    html = unescape(agent.get(url).get_data(as_text=True))
    assert "Callbacks start on the campaign's last day" in html
    assert "Zhang Wei" not in html
    response = agent.post(
        url,
        data={"target_id": world["Zhang Wei"], "reached": "yes", "satisfied": "yes"},
        follow_redirects=True,
    )
    assert "Satisfaction callbacks start on the campaign's last day, 2026-11-24." in unescape(
        response.get_data(as_text=True)
    )
    # On the last day itself they may start.
    clock.advance(days=1)
    response = agent.post(
        url, data={"target_id": world["Zhang Wei"], "reached": "no"}, follow_redirects=True
    )
    assert "Callback recorded." in response.get_data(as_text=True)


def test_a_manager_calls_anyone_and_the_results_count_the_latest_reaching_call(
    app, world, staff_factory
):
    manager = staff_factory("showroom_manager")
    url = f"/admin/campaigns/{world['campaign']}/survey"
    html = manager.get(url).get_data(as_text=True)
    assert "Zhang Wei" in html and "Wang Fang" in html and "Li Lei" not in html
    index = tables_of(manager.get("/admin/campaigns/survey").get_data(as_text=True))
    assert index["table-campaigns"][1][:4] == [
        "Air-con care",
        "1 Nov 2026 – 20 Nov 2026",
        "2",
        "0",
    ]
    clock = app.extensions["clock"]
    for name, reached, satisfied in (
        ("Zhang Wei", "yes", "yes"),
        ("Zhang Wei", "yes", "no"),  # the latest reaching call: not satisfied
        ("Zhang Wei", "no", None),  # not reached: does not change the verdict
        ("Wang Fang", "no", None),
        ("Wang Fang", "yes", "yes"),
    ):
        clock.advance(minutes=5)
        data = {"target_id": world[name], "reached": reached}
        if satisfied:
            data["satisfied"] = satisfied
        assert manager.post(url, data=data).status_code == 302
        if name == "Zhang Wei" and reached == "no":
            # Wang Fang is the one no callback reached yet.
            pending = manager.get(url, query_string={"unreached": "1"}).get_data(as_text=True)
            assert "Wang Fang" in pending and "Zhang Wei" not in pending
    html = manager.get(f"/admin/campaigns/{world['campaign']}/results").get_data(as_text=True)
    assert "Every owner who took part has been reached." in manager.get(
        url, query_string={"unreached": "1"}
    ).get_data(as_text=True)
    index = tables_of(manager.get("/admin/campaigns/survey").get_data(as_text=True))
    assert index["table-campaigns"][1][2:4] == ["2", "2"]
    survey = tables_of(html)["table-survey"]
    assert survey[1] == ["Profitable-loyal", "2", "2", "100.0%", "1", "50.0%"]
    assert survey[2] == ["Total", "2", "2", "100.0%", "1", "50.0%"]


def test_the_service_checks_the_dealer_and_the_campaign(ctx, world, dealers):
    gz = make_staff("dealer_admin", dealers["GZ01"])
    with pytest.raises(NotFound):
        record_survey_call(gz, world["Zhang Wei"], reached=True, satisfied=True)
    manager = make_staff("dealer_admin", dealers["SZ01"])
    with pytest.raises(NotFound):
        record_survey_call(
            manager, world["Zhang Wei"], reached=True, satisfied=True, campaign_id=999
        )
    agent_b = db.session.get(type(gz), world["b_id"])
    with pytest.raises(Forbidden):
        record_survey_call(agent_b, world["Zhang Wei"], reached=True, satisfied=True)
    with pytest.raises(DomainError):
        record_survey_call(
            manager, world["Li Lei"], reached=True, satisfied=True, now=NOW + timedelta(days=1)
        )
    call = record_survey_call(manager, world["Zhang Wei"], reached=False, satisfied=None)
    assert call.satisfied is None
    assert db.session.get(CampaignTarget, world["Zhang Wei"]).campaign_id == world["campaign"]


def test_the_callback_list_of_another_dealer_is_not_found(world, staff_factory):
    gz = staff_factory("dealer_admin", "GZ01")
    url = f"/admin/campaigns/{world['campaign']}/survey"
    assert gz.get(url).status_code == 404
    assert gz.post(url, data={"target_id": world["Zhang Wei"], "reached": "no"}).status_code == 404
    index = gz.get("/admin/campaigns/survey").get_data(as_text=True)
    assert "Air-con care" not in index
    agent = staff_factory("care_agent")
    assert "Air-con care" in agent.get("/admin/campaigns/survey").get_data(as_text=True)
