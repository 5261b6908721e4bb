"""Where a car's model is typed, the managed list's models in use are suggested (a <datalist>),
and any other name is still taken."""

import re
from html import unescape

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.members.models import CarModel, Vehicle
from tests.factories import colour, valid_vin


def _suggestions(html: str) -> list[str]:
    """The names of the page's model <datalist>."""
    match = re.search(r'<datalist id="car-models">(.*?)</datalist>', html, flags=re.S)
    assert match, "no model suggestions on the page"
    return [unescape(v) for v in re.findall(r'<option value="([^"]*)">', match.group(1))]


def _input_of(html: str, field: str) -> str:
    match = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', html)
    assert match, f"no input {field}"
    return match.group(0)


@pytest.mark.parametrize(
    ("role", "path", "field"),
    [
        ("sales_consultant", "/admin/deliveries", "model"),
        ("showroom_manager", "/admin/referrals/new", "model_of_interest"),
        ("event_staff", "/admin/events/new", "model_filter"),
    ],
)
def test_staff_pages_suggest_the_models_in_use(staff_factory, role, path, field):
    html = staff_factory(role, "SZ01").get(path).get_data(as_text=True)
    assert 'list="car-models"' in _input_of(html, field)
    assert {"Golf", "Golf GTI", "Lavida", "Tiguan L"} <= set(_suggestions(html))


def test_a_retired_model_is_no_longer_suggested(app, staff_factory):
    with app.app_context():
        db.session.execute(update(CarModel).where(CarModel.name == "Golf R").values(active=False))
        db.session.commit()
    html = staff_factory("sales_consultant", "SZ01").get("/admin/deliveries").get_data(as_text=True)
    suggested = _suggestions(html)
    assert "Golf R" not in suggested
    assert {"Golf", "Golf GTI", "Lamando"} <= set(suggested)


def test_an_owner_may_record_a_model_outside_the_list(app, member_client, member):
    html = member_client.get("/me/vehicles/new").get_data(as_text=True)
    assert 'list="car-models"' in _input_of(html, "model")
    assert "Magotan" in _suggestions(html)
    with app.app_context():
        silver = colour("silver").id
    response = member_client.post(
        "/me/vehicles/new",
        data={
            "vin": valid_vin(),
            "plate": "粤BD54321",
            "model": "Lamando L 2027",
            "colour_id": str(silver),
            "transmission": "automatic",
            "purchased_on": "2025-03-01",
            "delivered_on": "2025-03-05",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        models = db.session.scalars(select(Vehicle.model).where(Vehicle.member_id == member["id"]))
        assert "Lamando L 2027" in set(models)
        listed = select(func.count(CarModel.id)).where(CarModel.name.like("Lamando L%"))
        assert db.session.scalar(listed) == 0
