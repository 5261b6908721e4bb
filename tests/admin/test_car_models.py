"""HQ's screens for the managed model list (/admin/models): list, add, edit, retire; bad input
is refused next to its field and changes nothing; nobody else may open them."""

import re
from html import unescape

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.extensions import db
from app.members.car_models import car_model_names, model_family
from app.members.models import CarModel
from tests.factories import car_model

NEW_MODEL = {"name": "Lavida Plus", "family": "Lavida", "active": "y"}
# Every staff role but HQ's, and an owner.
NOT_HQ = (
    "sales_consultant",
    "showroom_manager",
    "care_agent",
    "service_advisor",
    "event_staff",
    "dealer_admin",
)


@pytest.fixture
def hq(staff_factory):
    """An HQ admin, logged in."""
    return staff_factory("hq_admin", None)


def _body(response) -> str:
    return response.get_data(as_text=True)


def _error(html: str, field: str) -> str:
    """The text of the error shown next to ``field`` (empty when there is none)."""
    start = html.find(f'id="{field}-error"')
    if start == -1:
        return ""
    return unescape(html[html.index(">", start) + 1 : html.index("</p>", start)])


def _rows(app) -> list[tuple[str, str, bool]]:
    with app.app_context():
        query = select(CarModel.name, CarModel.family, CarModel.active).order_by(CarModel.id)
        return [tuple(row) for row in db.session.execute(query)]


def _audit(app) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).where(AuditEntry.action == "car_model.saved")
        return list(db.session.scalars(query.order_by(AuditEntry.id)))


def _id_of(app, name: str) -> int:
    with app.app_context():
        return car_model(name).id


# ------------------------------------------------------------------------------- list


def test_hq_sees_the_list_with_its_families_and_the_desk_links_to_it(hq):
    html = _body(hq.get("/admin/"))
    assert 'href="/admin/models"' in html
    response = hq.get("/admin/models")
    assert response.status_code == 200
    html = _body(response)
    for name in ("Golf", "Golf GTI", "Golf R", "Tiguan L", "Lavida"):
        assert f">{name}</a>" in html
    assert re.search(r">Golf GTI</a></td><td>Golf</td>", html)
    assert re.search(r">Tiguan L</a></td><td>Tiguan</td>", html)


def test_the_list_speaks_chinese(hq):
    html = _body(hq.get("/admin/models", headers={"Accept-Language": "zh-CN"}))
    assert "车系" in html and "添加车型" in html


# ----------------------------------------------------------------------- add and edit


def test_hq_adds_a_model(app, hq):
    before = _rows(app)
    response = hq.post("/admin/models/new", data=dict(NEW_MODEL), follow_redirects=True)
    html = _body(response)
    assert "Model saved." in html
    assert ">Lavida Plus</a></td><td>Lavida</td>" in html
    assert _rows(app) == [*before, ("Lavida Plus", "Lavida", True)]
    (entry,) = _audit(app)
    assert entry.details["after"] == {"name": "Lavida Plus", "family": "Lavida", "active": True}


def test_hq_moves_lamando_into_the_lavida_family(app, hq):
    lamando = _id_of(app, "Lamando")
    form = _body(hq.get(f"/admin/models/{lamando}"))
    assert 'value="Lamando"' in form
    response = hq.post(
        f"/admin/models/{lamando}", data={"name": "Lamando", "family": "Lavida", "active": "y"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/models"
    with app.app_context():
        listed = db.session.scalars(select(CarModel)).all()
        assert model_family("Lamando", listed) == model_family("Lavida", listed) == "lavida"
    (entry,) = _audit(app)
    assert entry.subject_id == lamando
    assert (entry.details["before"]["family"], entry.details["after"]["family"]) == (
        "Lamando",
        "Lavida",
    )


def test_hq_retires_a_model(app, hq):
    golf_r = _id_of(app, "Golf R")
    response = hq.post(
        f"/admin/models/{golf_r}", data={"name": "Golf R", "family": "Golf"}, follow_redirects=True
    )
    assert "Model saved." in _body(response)
    assert re.search(r">Golf R</a></td><td>Golf</td><td>No</td>", _body(response))
    assert ("Golf R", "Golf", False) in _rows(app)
    with app.app_context():
        assert "Golf R" not in car_model_names()
    (entry,) = _audit(app)
    assert (entry.details["before"]["active"], entry.details["after"]["active"]) == (True, False)


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Enter the model's name."),
        ({"name": "   "}, "name", "Enter the model's name."),
        ({"name": "\u200b\u200b"}, "name", "Enter a model name with visible letters."),
        ({"name": "\u202e"}, "name", "Enter a model name with visible letters."),
        ({"name": " \u200d \u200c "}, "name", "Enter a model name with visible letters."),
        ({"name": "G" * 65}, "name", "Enter at most 64 characters."),
        ({"family": ""}, "family", "Enter the family, e.g. Golf for Golf GTI."),
        ({"family": "\ufeff"}, "family", "Enter a family with visible letters."),
        ({"family": "F" * 65}, "family", "Enter at most 64 characters."),
        ({"name": "golf gti"}, "name", "This model is already on the list as “Golf GTI”."),
        ({"name": "GOLF-R"}, "name", "This model is already on the list as “Golf R”."),
        ({"name": "新Tiguan L"}, "name", "This model is already on the list as “Tiguan L”."),
        ({"name": "Golf\u200b GTI"}, "name", "This model is already on the list as “Golf GTI”."),
    ],
    ids=lambda v: v if isinstance(v, str) and v.isidentifier() else None,
)
def test_bad_input_is_refused_next_to_its_field_and_changes_nothing(
    app, hq, changes, field, message
):
    before = _rows(app)
    response = hq.post("/admin/models/new", data={**NEW_MODEL, **changes})
    html = _body(response)
    assert response.status_code == 200
    assert "Model saved." not in html
    assert _error(html, field) == message
    assert _rows(app) == before
    assert _audit(app) == []


def test_renaming_a_model_to_another_ones_name_is_refused(app, hq):
    before = _rows(app)
    golf_r = _id_of(app, "Golf R")
    response = hq.post(
        f"/admin/models/{golf_r}", data={"name": "Golf", "family": "Golf", "active": "y"}
    )
    assert response.status_code == 200
    assert _error(_body(response), "name") == "This model is already on the list as “Golf”."
    assert _rows(app) == before


def test_a_nul_character_is_a_bad_request_not_an_error(app, hq):
    before = _rows(app)
    response = hq.post("/admin/models/new", data={**NEW_MODEL, "name": "Golf\x00"})
    assert response.status_code == 400
    assert _rows(app) == before


@pytest.mark.parametrize("model_id", ["0", "999999", "99999999999999999999", "-1", "abc"])
def test_a_model_that_does_not_exist_is_not_found(hq, model_id):
    assert hq.get(f"/admin/models/{model_id}").status_code == 404
    assert hq.post(f"/admin/models/{model_id}", data=dict(NEW_MODEL)).status_code == 404


def test_a_refused_form_is_shown_in_chinese(hq):
    response = hq.post(
        "/admin/models/new",
        data={**NEW_MODEL, "name": "golf gti"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert _error(_body(response), "name") == "该车型已在列表中，名为“Golf GTI”。"


# ---------------------------------------------------------------------------- access


@pytest.mark.parametrize("role", NOT_HQ)
def test_only_hq_may_open_or_change_the_list(app, staff_factory, role):
    before = _rows(app)
    client = staff_factory(role, "SZ01")
    golf = _id_of(app, "Golf")
    assert client.get("/admin/models").status_code == 403
    assert client.get("/admin/models/new").status_code == 403
    assert client.post("/admin/models/new", data=dict(NEW_MODEL)).status_code == 403
    response = client.post(f"/admin/models/{golf}", data={"name": "Golf", "family": "Polo"})
    assert response.status_code == 403
    assert "Your account may not open this page." in _body(response)
    assert 'href="/admin/models"' not in _body(client.get("/admin/"))
    assert _rows(app) == before
    assert _audit(app) == []


def test_an_owner_may_not_change_the_list(app, member_client):
    before = _rows(app)
    assert member_client.get("/admin/models").status_code == 403
    assert member_client.post("/admin/models/new", data=dict(NEW_MODEL)).status_code == 403
    assert _rows(app) == before
