"""Issue 20's pages: a call's outcome with the reason, the managed reasons, local plates, the
correction list and the owner proving a new number; who may open what."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.care.models import CallOutcome, CareCall, CareTask, ContactCorrection, LostReason
from app.care.schedule import run_daily
from app.core.audit import AuditEntry
from app.core.clock import utcnow
from app.extensions import db
from app.members.models import Notification, OutboxMessage
from tests.auth.flows import last_code
from tests.care.helpers import add_visit, make_car, make_owner
from tests.conftest import login
from tests.factories import make_member

TODAY = date(2026, 11, 23)


@pytest.fixture
def recall(app, seeded, dealers):
    """A lost owner of SZ01 (unseen 120 days, accepts offers) and their open recall task."""
    with seeded():
        owner = make_owner(dealers["SZ01"], name="Lost Liu", marketing_opt_in=True)
        car = make_car(owner, purchased_on=date(2024, 5, 1), delivered_on=date(2024, 5, 3))
        add_visit(car, on=TODAY - timedelta(days=120), km=9_000)
        info = {"member_id": owner.id, "mobile": owner.user.mobile, "user_id": owner.user_id}
    with app.app_context(), app.test_request_context():
        run_daily()
        info["task_id"] = db.session.scalar(select(CareTask.id).where(CareTask.kind == "recall"))
    return info


def _reason(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(LostReason.id).where(LostReason.code == code))


def _outcome(client, task_id, **data):
    return client.post(f"/admin/care/tasks/{task_id}/outcome", data=data)


def _get(app, model, **where):
    with app.app_context():
        return db.session.scalar(select(model).filter_by(**where))


def test_the_agent_filters_recalls_by_the_seeds_classes(staff_factory, recall):
    agent = staff_factory("care_agent", "SZ01")
    html = agent.get("/admin/care/tasks?kind=recall").get_data(as_text=True)
    assert "Lost Liu" in html and "Lost owner recall" in html
    assert "Local, in warranty" in html
    assert "Lost Liu" in agent.get("/admin/care/tasks?class=local").get_data(as_text=True)
    html = agent.get("/admin/care/tasks?class=remote").get_data(as_text=True)
    assert "Lost Liu" not in html and "Nobody to call today." in html
    # Unknown filters are ignored.
    assert "Lost Liu" in agent.get("/admin/care/tasks?class=nope&kind=x").get_data(as_text=True)
    page = agent.get(f"/admin/care/tasks/{recall['task_id']}").get_data(as_text=True)
    assert "Recall class" in page and "Went to another workshop" in page


def test_not_coming_needs_a_reason_and_the_other_workshop_its_name(app, staff_factory, recall):
    agent = staff_factory("care_agent", "SZ01")
    task_id = recall["task_id"]
    response = _outcome(agent, task_id, outcome="not_coming")
    assert response.status_code == 422
    assert "Choose why the owner is not coming." in response.get_data(as_text=True)
    other = _reason(app, "other")
    response = _outcome(agent, task_id, outcome="not_coming", reason_id=other)
    assert "reason out." in response.get_data(as_text=True)
    workshop = _reason(app, "other_workshop")
    response = _outcome(agent, task_id, outcome="not_coming", reason_id=workshop)
    assert "Ask which workshop the owner went to" in response.get_data(as_text=True)
    assert _get(app, CareTask, id=task_id).status == "open"

    response = _outcome(
        agent,
        task_id,
        outcome="not_coming",
        reason_id=workshop,
        workshop_name="Quick Fix 快修",
        workshop_location="Bao'an",
        workshop_price="388.50",
    )

    assert response.status_code == 302
    assert _get(app, CareTask, id=task_id).status == "reached"
    row = _get(app, CallOutcome, task_id=task_id)
    assert (row.outcome, row.reason_id, row.workshop_name, row.workshop_price_fen) == (
        "not_coming",
        workshop,
        "Quick Fix 快修",
        38_850,
    )
    page = agent.get(f"/admin/care/tasks/{task_id}").get_data(as_text=True)
    assert "Reached: not coming · Went to another workshop · Quick Fix 快修, Bao&#39;an" in page


def test_a_reason_of_another_dealer_or_a_retired_one_is_refused(
    app, seeded, dealers, staff_factory, recall
):
    with seeded():
        gz_own = LostReason(
            code="gz-own",
            dealer_id=dealers["GZ01"],
            label_en="GZ",
            label_zh="GZ",
            created_at=utcnow(),
        )
        db.session.add(gz_own)
        db.session.get(LostReason, _reason(app, "price")).active = False
        db.session.flush()
        gz_id = gz_own.id
    agent = staff_factory("care_agent", "SZ01")
    for reason_id in (gz_id, _reason(app, "price")):
        response = _outcome(agent, recall["task_id"], outcome="not_coming", reason_id=reason_id)
        assert response.status_code == 422
    assert _get(app, CareTask, id=recall["task_id"]).status == "open"


def test_a_double_tap_logs_one_call(app, staff_factory, recall):
    agent = staff_factory("care_agent", "SZ01")
    data = {"outcome": "not_reached", "idempotency_key": "k" * 20}
    first = _outcome(agent, recall["task_id"], **data)
    again = _outcome(agent, recall["task_id"], **data)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count(CareCall.id))) == 1
        assert db.session.scalar(select(func.count(CallOutcome.id))) == 1


def test_three_missed_recall_calls_send_the_owner_a_word(app, staff_factory, recall, clock):
    agent = staff_factory("care_agent", "SZ01")
    for hours in (0, 4, 5):  # 10:00, 14:00 and 19:00: three times of day
        clock.advance(hours=hours)
        assert _outcome(agent, recall["task_id"], outcome="not_reached").status_code == 302
    assert _get(app, CareTask, id=recall["task_id"]).status == "sms_sent"
    sms = _get(app, OutboxMessage, dedupe_key=f"care-task:{recall['task_id']}:fallback:sms")
    assert (sms.channel, sms.kind) == ("sms", "recall")
    assert "很久没有" in sms.body  # in the owner's language: Chinese unless they chose


def test_another_dealers_agent_cannot_log_a_call(app, staff_factory, recall):
    gz_agent = staff_factory("care_agent", "GZ01")
    assert _outcome(gz_agent, recall["task_id"], outcome="booked").status_code == 404
    assert _get(app, CareTask, id=recall["task_id"]).status == "open"


# ---------------------------------------------------------------------- the correction list


@pytest.fixture
def dead(app, staff_factory, recall):
    """The recall call found the number dead."""
    agent = staff_factory("care_agent", "SZ01")
    response = _outcome(agent, recall["task_id"], outcome="wrong_number")
    assert response.status_code == 302
    return {**recall, "agent": agent, "entry_id": _get(app, ContactCorrection).id}


def test_a_dead_number_closes_the_task_without_sms_and_lists_the_owner(app, staff_factory, dead):
    task = _get(app, CareTask, id=dead["task_id"])
    assert task.status == "wrong_number"
    entry = _get(app, ContactCorrection, id=dead["entry_id"])
    assert (entry.status, entry.old_mobile) == ("open", dead["mobile"])
    html = dead["agent"].get("/admin/care/corrections").get_data(as_text=True)
    assert "Lost Liu" in html and "Lost owner recall" in html
    assert dead["mobile"] not in html  # masked: the number does not work anyway

    gz = staff_factory("dealer_admin", "GZ01")
    assert "Lost Liu" not in gz.get("/admin/care/corrections").get_data(as_text=True)
    assert gz.get(f"/admin/care/corrections/{dead['entry_id']}").status_code == 404
    hq = staff_factory("hq_admin", None)
    assert "Lost Liu" in hq.get("/admin/care/corrections").get_data(as_text=True)
    # An owner on the list gets no new recall task until the number is corrected.
    with app.app_context(), app.test_request_context():
        assert run_daily().recalls_made == 0


def test_staff_correct_the_number_once_and_the_owner_is_told(app, seeded, dealers, dead):
    with seeded():
        taken = make_member(dealers["GZ01"], name="Holder").user.mobile
    path = f"/admin/care/corrections/{dead['entry_id']}"
    agent = dead["agent"]
    response = agent.post(path, data={"mobile": taken})
    assert response.status_code == 422
    assert "Another club account holds this number" in response.get_data(as_text=True)
    response = agent.post(path, data={"mobile": dead["mobile"]})
    assert "This is the number that does not work" in response.get_data(as_text=True)
    assert agent.post(path, data={"mobile": "12345"}).status_code == 422

    response = agent.post(path, data={"mobile": "137 0000 1234"})

    assert response.status_code == 302
    user = _get(app, User, id=dead["user_id"])
    assert (user.mobile, user.mobile_verified_at) == ("13700001234", None)
    assert _get(app, ContactCorrection, id=dead["entry_id"]).status == "corrected"
    audit = _get(app, AuditEntry, action="care.mobile_corrected")
    assert audit.details == {
        "from": dead["mobile"][:3] + "****" + dead["mobile"][-4:],
        "to": "137****1234",
    }
    told = _get(app, Notification, kind="mobile_changed")
    assert told.member_id == dead["member_id"] and "137****1234" in told.title
    # A second post changes nothing.
    again = agent.post(path, data={"mobile": "13700005678"})
    assert "Corrected." in again.get_data(as_text=True)
    assert _get(app, User, id=dead["user_id"]).mobile == "13700001234"
    # The daily job calls the owner again on the new number.
    with app.app_context(), app.test_request_context():
        assert run_daily().recalls_made == 1


def test_the_owner_is_asked_at_login_and_proves_a_new_number(app, client, dead):
    response = client.post("/login", data={"mobile": dead["mobile"], "password": "secret-pass-1"})
    assert response.status_code == 302
    assert client.get("/").headers["Location"] == "/me/mobile"
    page = client.get("/me/mobile").get_data(as_text=True)
    assert "We could not reach you on" in page

    sent = client.post("/me/mobile", data={"mobile": "13700002222", "action": "send"})
    assert sent.status_code == 302
    code = last_code(app, "13700002222")
    response = client.post(
        "/me/mobile", data={"mobile": "13700002222", "code": code, "action": "verify"}
    )

    assert response.status_code == 302 and response.headers["Location"] == "/"
    user = _get(app, User, id=dead["user_id"])
    assert user.mobile == "13700002222" and user.mobile_verified_at is not None
    assert _get(app, ContactCorrection, id=dead["entry_id"]).status == "proven"
    assert client.get("/").status_code == 200  # not asked any more
    # The password stays: the owner signs in with the new number.
    other = app.test_client()
    login(other, "13700002222")


def test_not_now_lets_the_owner_in_until_the_next_login(app, client, dead):
    login(client, dead["mobile"])
    assert client.get("/card").headers["Location"] == "/me/mobile"
    assert client.post("/me/mobile", data={"action": "later"}).headers["Location"] == "/"
    assert client.get("/card").status_code == 200
    assert _get(app, ContactCorrection, id=dead["entry_id"]).status == "open"


# ---------------------------------------------------------------------- reasons, plates


def test_a_dealer_admin_adds_renames_and_retires_their_reasons(app, staff_factory):
    admin = staff_factory("dealer_admin", "SZ01")
    html = admin.get("/admin/care/reasons").get_data(as_text=True)
    assert "Moved away" in html and "Local plates" in html
    added = {"label_zh": "等保险理赔", "position": "5", "active": "y", "idempotency_key": "a" * 20}
    response = admin.post("/admin/care/reasons/new", data=added)
    assert response.status_code == 302
    assert admin.post("/admin/care/reasons/new", data=added).status_code == 302  # a double tap
    with app.app_context():
        (reason,) = db.session.scalars(select(LostReason).filter_by(label_zh="等保险理赔")).all()
    assert reason.dealer_id is not None and reason.label_en == "等保险理赔"
    path = f"/admin/care/reasons/{reason.id}"
    admin.post(path, data={"label_zh": "等保险理赔", "label_en": "Waiting for insurance"})
    reason = _get(app, LostReason, id=reason.id)
    assert (reason.label_en, reason.active) == ("Waiting for insurance", False)
    # The group's reasons are HQ's: a dealer admin cannot open them, nor GZ01's admin SZ01's.
    price = _reason(app, "price")
    assert admin.get(f"/admin/care/reasons/{price}").status_code == 404
    gz = staff_factory("dealer_admin", "GZ01")
    assert gz.get(path).status_code == 404
    assert "Waiting for insurance" not in gz.get("/admin/care/reasons").get_data(as_text=True)
    # Unused: it can go.
    assert admin.post(f"{path}/delete").status_code == 302
    assert _get(app, LostReason, id=reason.id) is None


def test_a_used_reason_is_never_deleted(app, staff_factory, recall):
    agent = staff_factory("care_agent", "SZ01")
    price = _reason(app, "price")
    _outcome(agent, recall["task_id"], outcome="not_coming", reason_id=price)
    hq = staff_factory("hq_admin", None)
    response = hq.post(f"/admin/care/reasons/{price}/delete", follow_redirects=True)
    assert "Calls recorded this reason: deactivate it instead." in response.get_data(as_text=True)
    assert _get(app, LostReason, id=price) is not None


def test_the_dealer_admin_sets_local_plates(app, staff_factory, dealers):
    admin = staff_factory("dealer_admin", "SZ01")
    assert "粤B" in admin.get("/admin/care/reasons").get_data(as_text=True)  # Shenzhen's
    response = admin.post("/admin/care/local-plates", data={"prefixes": "粤B, 粤S"})
    assert response.status_code == 302
    html = admin.get("/admin/care/reasons").get_data(as_text=True)
    assert "粤B, 粤S" in html
    response = admin.post(
        "/admin/care/local-plates", data={"prefixes": "GD"}, follow_redirects=True
    )
    assert "GD is not a plate prefix" in response.get_data(as_text=True)
    # Another dealer's plates are out of scope.
    assert (
        admin.post(
            "/admin/care/local-plates", query_string={"dealer": dealers["GZ01"]}, data={}
        ).status_code
        == 404
    )
