"""The README's description of the demo (`make run`) is what `flask seed-demo` makes: the first
owner's tier and welcome points, the owners' dealers, the events, rewards, partners and regions."""

import re
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.auth.services import get_user_by_mobile
from app.events.models import Event, EventKind, EventRegistration
from app.extensions import db
from app.loyalty.services import account_for
from app.members.models import Dealer
from app.partners.models import Partner
from app.rewards.models import Reward
from demo.seed import DEMO_WELCOME_POINTS, REWARDS
from tests.test_readme import README

DEMO = README[README.index("### Demo logins") : README.index("## Configuration")]


@pytest.fixture(scope="module")
def demo(template_db, tmp_path_factory):
    """The demo data seeded once on a copy of the migrated database; yields (app, output)."""
    import shutil

    from tests.conftest import make_app

    path = tmp_path_factory.mktemp("demo") / "carclub.sqlite"
    shutil.copy(template_db, path)
    app = make_app(f"sqlite:///{path}", UPLOAD_FOLDER=str(path.parent / "uploads"))
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        yield app, result.output
        db.session.remove()
        db.engine.dispose()


def said(pattern: str) -> re.Match:
    found = re.search(pattern, DEMO, re.S)
    assert found, f"the README's demo section no longer says {pattern!r}"
    return found


def test_the_first_owner_has_the_tier_and_welcome_points_the_readme_states(demo):
    stated = said(r"The first demo owner\s+\((\d+)\) is (\w+): ([\d,]+) welcome points")
    mobile, tier, welcome = stated.group(1), stated.group(2), int(stated.group(3).replace(",", ""))
    account = account_for(get_user_by_mobile(mobile).member)
    assert welcome == DEMO_WELCOME_POINTS
    assert account.tier_code == tier.lower()
    # On top of the welcome points: the service visits' points (the history shows both).
    assert account.balance > welcome


def test_the_owners_dealers_and_regions_are_as_the_readme_lists(demo):
    _app, output = demo
    first, last = said(r"owners are (\d+) … (\d+)").groups()
    owners = range(int(first), int(last) + 1)
    assert len(owners) == 50
    said(r"odd ones SZ01, even ones GZ01")
    for n in (int(first), int(first) + 1):
        dealer = get_user_by_mobile(str(n)).member.dealer.code
        assert dealer == ("SZ01" if n % 2 else "GZ01")
    said(r"SZ01 and GZ01 are in the region 华南\s+and a third dealer, SH01, in 华东")
    regions = {d.code: d.region for d in db.session.scalars(select(Dealer))}
    assert regions == {"SZ01": "华南", "GZ01": "华南", "SH01": "华东"}
    assert "Demo data: 3 dealers" in output


def test_the_events_rewards_and_partners_are_the_ones_described(demo):
    said(r"three rewards to try")
    names = set(db.session.scalars(select(Reward.name)))
    assert len(REWARDS) == 3 and {r[0] for r in REWARDS} <= names
    said(r"a ticket\s+for SZ01's 10-car self-drive trip")
    owner = get_user_by_mobile("13900000001").member
    trips = db.session.scalars(
        select(Event)
        .join(EventRegistration, EventRegistration.event_id == Event.id)
        .where(EventRegistration.member_id == owner.id, Event.kind == EventKind.TRIP)
    ).all()
    assert [(db.session.get(Dealer, t.dealer_id).code, t.capacity) for t in trips] == [("SZ01", 10)]
    said(r"a lecture \(with a 50-point deposit\)")
    lectures = db.session.scalars(select(Event).where(Event.kind == EventKind.LECTURE)).all()
    assert [e.deposit_points for e in lectures if e.series_id is None] == [50]
    said(r"Two group-wide\s+partners offer perks")
    group_wide = db.session.scalar(
        select(func.count()).select_from(Partner).where(Partner.dealer_id.is_(None))
    )
    assert group_wide == 2


def test_each_demo_event_has_a_cover_stored_as_an_upload(demo):
    app, _output = demo
    said(r"each event has a cover picture the seed draws")
    events = db.session.scalars(select(Event)).all()
    assert len(events) == 3 + 4 + 1 and all(e.cover_key for e in events)  # + outreach's
    for event in events:
        assert (event.cover_width, event.cover_height) == (960, 480)
        for width in (480, 960):
            name = f"covers/{event.cover_key}-{width}.webp"
            assert (Path(app.config["UPLOAD_FOLDER"]) / name).stat().st_size > 1000


def test_the_after_visit_demo_is_as_the_readme_says(demo):
    from app.care.followups.models import CaseStatus, ComplaintCase, SurveyStatus, VisitSurvey

    said(r"the demo owner has a\s+questionnaire to answer")
    said(r"13900000003 answered 9 of 10 and\s+13900000005's 4 of 10 opened a complaint case")

    def surveys(mobile):
        member = get_user_by_mobile(mobile).member
        return db.session.scalars(select(VisitSurvey).where(VisitSurvey.member_id == member.id))

    assert SurveyStatus.PENDING in {s.status for s in surveys("13900000001")}
    assert 9 in {s.score for s in surveys("13900000003")}
    owner = get_user_by_mobile("13900000005").member
    case = db.session.scalar(select(ComplaintCase).where(ComplaintCase.member_id == owner.id))
    assert case.status == CaseStatus.IN_PROGRESS and case.assignee_id is not None


def test_the_benefits_demo_is_as_the_readme_says(demo):
    from app.loyalty.member_benefits.catalogue import upcoming_catalogues
    from app.loyalty.member_benefits.uses import owner_benefits

    said(r"The demo owner has used a car wash and half-price labour\s+\(DEMO-BN-1\)")
    said(r"HQ has announced a free check-up for gold members from a month on")
    left = {
        i.benefit.code: i.left
        for i in owner_benefits(get_user_by_mobile("13900000001").member).items
    }
    assert left["car-wash"] == 5 and left["labour-discount"] is None
    (announced,) = upcoming_catalogues()
    assert ("gold", "check-up") in {(b.tier_code, b.code) for b in announced.benefits}


def test_the_outreach_demo_is_as_the_readme_says(demo):
    from app.core.clock import utcnow
    from app.events import draws, trips
    from app.events.draw_models import DrawWinner
    from app.events.invitations import funnel
    from app.events.models import EventSeries
    from app.events.series import series_events
    from demo.outreach import DRAW_TITLE, SERIES_TITLE, TRIP_TITLE

    said(r"SZ01's owner lecture every second Saturday \(4 dates\)")
    said(r"event staff \(13800000005\)")
    (series,) = db.session.scalars(select(EventSeries)).all()
    first = db.session.scalar(select(Event).where(Event.series_id == series.id).limit(1))
    dates = [e.starts_at for e in series_events(first)]
    assert series.title == SERIES_TITLE and len(dates) == 4
    assert {b - a for a, b in pairwise(dates)} == {timedelta(weeks=2)}
    invited = funnel(series_events(first)[0])
    assert invited.invited >= 2 and invited.opened == 1
    trip = db.session.scalar(select(Event).where(Event.title == TRIP_TITLE))
    plan = trips.plan_for(trip)
    assert plan.lead_staff_id and plan.tail_registration_id and plan.numbers_fixed_at
    assert trips.unfixed_count(trip) == 0 and len(trips.car_numbers(trip)) == 5
    assert len(trips.route(trip)) == 3
    party = db.session.scalar(select(Event).where(Event.title == DRAW_TITLE))
    assert party.ends_at < utcnow()
    (draw,) = draws.draws_of(party)
    winners = db.session.scalars(select(DrawWinner).where(DrawWinner.draw_id == draw.id)).all()
    assert len(winners) == 2 and draw.eligible_count == draws.checked_in_count(party) == 6
    assert draws.rerun(draw) == [w.registration_id for w in sorted(winners, key=lambda w: w.rank)]
