"""Command-line tools an operator runs."""

from sqlalchemy import func, select

from app.auth.models import User
from app.core.permissions import Role
from app.core.tokens import load_signer
from app.events.draw_models import DrawWinner
from app.events.models import EventInvitation, EventSeries
from app.events.trip_models import TripStop
from app.extensions import db
from app.members.models import Dealer, Member, Vehicle
from app.members.services import vin_error
from demo.seed import DELIVERED_OWNERS


def counts(app):
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (
                *(Dealer, User, Member, Vehicle),
                *(EventSeries, EventInvitation, TripStop, DrawWinner),
            )
        }


def test_seed_demo_creates_dealers_staff_and_50_owners_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "50 members" in first.output
    after_first = counts(app)
    # 50 demo owners, and those enrolled at the deliveries HQ's recruitment figures count.
    assert after_first["Dealer"] == 3 and after_first["Member"] == 50 + len(DELIVERED_OWNERS)
    # The outreach demo (demo/outreach.py) is there, and a rerun does not make it again.
    assert after_first["EventSeries"] == 1 and after_first["TripStop"] == 3
    assert after_first["EventInvitation"] > 0 and after_first["DrawWinner"] == 2
    second = runner.invoke(args=["seed-demo"])
    assert "0 members" in second.output
    assert counts(app) == after_first
    with app.app_context():
        assert {d.code for d in db.session.scalars(select(Dealer))} == {"SZ01", "GZ01", "SH01"}
        staff_roles = {u.role for u in db.session.scalars(select(User)) if u.role != Role.MEMBER}
        assert staff_roles == set(Role) - {Role.MEMBER}
        assert all(vin_error(v.vin) is None for v in db.session.scalars(select(Vehicle)))


def test_staff_create_makes_an_account_that_can_log_in(app, dealers, client):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "staff",
            "create",
            "--mobile",
            "13811112222",
            "--name",
            "Ma Li",
            "--role",
            "care_agent",
            "--dealer",
            "SZ01",
        ],
        input="care-pass-123\ncare-pass-123\n",
    )
    assert result.exit_code == 0, result.output
    response = client.post("/login", data={"mobile": "13811112222", "password": "care-pass-123"})
    assert response.headers["Location"] == "/admin/"


def test_staff_create_refuses_an_unknown_dealer(app):
    result = app.test_cli_runner().invoke(
        args=[
            "staff",
            "create",
            "--mobile",
            "13811112222",
            "--name",
            "X",
            "--role",
            "care_agent",
            "--dealer",
            "ZZ99",
        ],
        input="care-pass-123\ncare-pass-123\n",
    )
    assert result.exit_code != 0
    assert "No dealer has the code ZZ99" in result.output
    assert counts(app)["User"] == 0


def test_keys_generate_prints_a_usable_signing_key(app):
    result = app.test_cli_runner().invoke(args=["keys", "generate", "--key-id", "7"])
    spec = result.output.strip()
    assert spec.startswith("7:")
    assert load_signer({"TOKEN_SIGNING_KEY": spec}).key_id == 7
