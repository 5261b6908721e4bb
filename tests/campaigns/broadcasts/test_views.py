"""Broadcast pages: the history with the month's count, composing (prefilled with the care
texts in force, a live count, refused words next to their field), a double submit, the moves,
and who sees which dealer's broadcasts."""

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from app.campaigns.broadcasts.models import Broadcast
from app.care.texts.models import TextVersion, scope_of
from app.core.clock import utcnow
from app.extensions import db
from tests.campaigns.broadcasts.helpers import owner_with_car

BASE = "/admin/campaigns/broadcasts"
FORM = {
    "kind": "weather_warning",
    "send_at": "2026-11-23T18:00",
    "title_zh": "台风提醒",
    "body_zh": "{name}，{dealer}提醒您注意安全。",
    "title_en": "Typhoon warning",
    "body_en": "{name}, stay safe. {dealer}",
    "segment": "",
    "last_visit": "",
    "warranty": "",
}


def _body(response) -> str:
    return unescape(response.get_data(as_text=True))


def _key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def _broadcasts(app) -> list[Broadcast]:
    with app.app_context():
        return list(db.session.scalars(select(Broadcast).order_by(Broadcast.id)))


@pytest.fixture
def owners(seeded, dealers):
    with seeded():
        owner_with_car(dealers["SZ01"], "Yes", plate="粤B11111", marketing_opt_in=True)
        owner_with_car(dealers["SZ01"], "No", plate="粤B22222")
        owner_with_car(dealers["GZ01"], "Gz", marketing_opt_in=True)


@pytest.fixture
def admin(staff_factory, owners):
    return staff_factory("dealer_admin", "SZ01")


def _compose(admin, **changes):
    html = _body(admin.get(f"{BASE}/new"))
    return admin.post(f"{BASE}/new", data={**FORM, "idempotency_key": _key(html), **changes})


def test_the_empty_history_says_what_to_do_and_the_month_is_short(admin):
    html = _body(admin.get(BASE))
    assert "No broadcast yet." in html
    assert "0 sent" in html and "3 more needed" in html


def test_composing_starts_from_the_care_texts_in_force_with_a_live_count(app, admin, dealers):
    html = _body(admin.get(f"{BASE}/new"))
    assert 'value="Season\'s greetings from {dealer}"' in html
    assert "1 owner will receive it · 1 more did not accept marketing messages" in html
    assert 'value="2026-11-23T11:00"' in html  # the next full hour
    # A manager's own weather text is where a weather warning starts.
    with app.app_context():
        db.session.add(
            TextVersion(
                scope=scope_of(dealers["SZ01"]),
                dealer_id=dealers["SZ01"],
                kind="weather_warning",
                language="zh",
                version=1,
                title="暴雨预警：{dealer}",
                body="{name}，请注意行车安全。",
                inherits=False,
                created_at=utcnow(),
            )
        )
        db.session.commit()
    html = _body(admin.get(f"{BASE}/new?kind=weather_warning"))
    assert 'value="暴雨预警：{dealer}"' in html
    assert 'value="Weather warning from {dealer}"' in html


def test_the_count_button_and_the_live_count_follow_the_filters(admin, dealers):
    counted = _compose(admin, action="count", plate_prefix="粤B1")
    assert "1 owner will receive it · 0 more did not accept marketing messages" in _body(counted)
    assert _body(counted).count("粤B1") >= 1
    live = admin.get(f"{BASE}/count.json", query_string={"dealer": dealers["SZ01"]})
    assert live.get_json() == {
        "owners": 2,
        "consenting": 1,
        "text": "1 owner will receive it · 1 more did not accept marketing messages",
    }
    refused = admin.get(
        f"{BASE}/count.json", query_string={"dealer": dealers["SZ01"], "models": "Tesla"}
    )
    assert refused.status_code == 422
    assert refused.get_json()["field"] == "models"


def test_saving_makes_a_draft_once_however_often_the_form_is_sent(app, admin):
    html = _body(admin.get(f"{BASE}/new"))
    data = {**FORM, "idempotency_key": _key(html), "action": "save"}
    first = admin.post(f"{BASE}/new", data=data)
    second = admin.post(f"{BASE}/new", data=data)  # a double tap
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    (broadcast,) = _broadcasts(app)
    assert (broadcast.kind, broadcast.status, broadcast.title_zh) == (
        "weather_warning",
        "draft",
        "台风提醒",
    )
    page = _body(admin.get(first.headers["Location"]))
    assert "Broadcast saved as a draft." in page
    assert "Yes，Dealer SZ01提醒您注意安全。" not in page  # a made-up owner, not a real one
    assert "王小明，Dealer SZ01提醒您注意安全。" in page
    assert "Wang Xiaoming, stay safe. Dealer SZ01" in page
    assert "1 owner would receive it" in page


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"title_en": "Hi {nme}"},
            "Unknown placeholder {nme}: this text may use {name}, {dealer}.",
        ),
        ({"body_zh": "{name"}, "“{name” is not a placeholder"),
        ({"title_zh": ""}, "Enter a title."),
        ({"send_at": "tomorrow"}, "Not a valid datetime value."),
        ({"send_at": ""}, "Choose when to send it."),
        ({"kind": "birthday"}, "Not a valid choice."),
        ({"models": "Tesla"}, "'Tesla' is not a valid choice for this field."),
        ({"age_min": "99999999999999999999999"}, ""),
        ({"last_visit": "within", "last_visit_days": "0"}, "Enter the number of days"),
    ],
)
def test_refused_input_is_shown_and_nothing_is_saved(app, admin, changes, error):
    response = _compose(admin, action="save", **changes)
    assert response.status_code == 200
    assert error in _body(response)
    assert _broadcasts(app) == []


def test_the_moves_each_answer_once(app, admin):
    location = _compose(admin, action="save").headers["Location"]
    for _ in range(2):
        assert admin.post(f"{location}/schedule").headers["Location"] == location
    assert "Scheduled." in _body(admin.get(location))
    assert _broadcasts(app)[0].status == "scheduled"
    edit = admin.get(f"{location}/edit")
    assert edit.headers["Location"] == location  # only a draft changes
    admin.post(f"{location}/unschedule")
    page = _body(admin.get(f"{location}/edit"))
    assert 'value="台风提醒"' in page
    changed = admin.post(f"{location}/edit", data={**FORM, "title_zh": "新标题", "action": "save"})
    assert changed.headers["Location"] == location
    admin.post(f"{location}/cancel")
    admin.post(f"{location}/cancel")
    assert "Cancelled." in _body(admin.get(location))
    scheduled = admin.post(f"{location}/schedule")
    assert "This cannot change from Cancelled to Scheduled." in _body(
        admin.get(scheduled.headers["Location"])
    )
    (broadcast,) = _broadcasts(app)
    assert (broadcast.status, broadcast.title_zh) == ("cancelled", "新标题")


def test_a_care_agent_cannot_broadcast(admin, staff_factory):
    agent = staff_factory("care_agent", "SZ01")
    assert agent.get(BASE).status_code == 403
    assert agent.post(f"{BASE}/new", data=FORM).status_code == 403


def test_another_dealers_admin_sees_none_of_this_dealers_broadcasts(
    app, admin, staff_factory, dealers
):
    location = _compose(admin, action="save", title_zh="SZ01 secret").headers["Location"]
    gz = staff_factory("dealer_admin", "GZ01")
    assert "SZ01 secret" not in _body(gz.get(BASE))
    assert gz.get(f"{BASE}?dealer={dealers['SZ01']}").status_code == 404
    for path in (location, f"{location}/edit"):
        assert gz.get(path).status_code == 404
    for move in ("schedule", "unschedule", "cancel"):
        assert gz.post(f"{location}/{move}").status_code == 404
    assert gz.get(f"{BASE}/count.json?dealer={dealers['SZ01']}").status_code == 404
    assert _broadcasts(app)[0].status == "draft"


def test_hq_picks_the_dealer_first_and_sees_every_dealers_month(app, admin, staff_factory, dealers):
    hq = staff_factory("hq_admin", None)
    assert "choose it first" in _body(hq.get(f"{BASE}/new"))
    assert hq.get(f"{BASE}/count.json").status_code == 404
    html = _body(hq.get(f"{BASE}/new?dealer={dealers['GZ01']}"))
    assert "1 owner will receive it · 0 more" in html
    saved = hq.post(
        f"{BASE}/new?dealer={dealers['GZ01']}",
        data={**FORM, "idempotency_key": _key(html), "action": "save"},
    )
    assert saved.status_code == 302
    month = _body(hq.get(BASE))
    assert "GZ01" in month and "SZ01" in month
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(Broadcast.id)).where(Broadcast.dealer_id == dealers["GZ01"])
            )
            == 1
        )


def test_the_history_pages_through(app, admin):
    for _ in range(21):
        _compose(admin, action="save")
    assert "Page 1 of 2" in _body(admin.get(BASE))
    assert admin.get(f"{BASE}?page=2").status_code == 200
    assert admin.get(f"{BASE}?page=-1").status_code == 200
