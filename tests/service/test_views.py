"""Staff record and refund visits; owners see the points, the tier page and the message."""

from sqlalchemy import select

from app.extensions import db
from app.members.models import Vehicle


def vin_of(app, member):
    with app.app_context():
        return db.session.get(Vehicle, member["vehicle_id"]).vin


def visit_form(vin, **overrides):
    return {
        "ro_number": "RO-100",
        "vin": vin,
        "visited_on": "2026-11-20",
        "mileage_km": "12000",
        "amount_yuan": "5200.00",
        "category": "maintenance",
        **overrides,
    }


def test_an_advisor_records_a_visit_and_the_owner_sees_points_tier_and_message(
    app, member, staff_factory, member_client
):
    advisor = staff_factory("service_advisor")
    response = advisor.post(
        "/admin/visits", data=visit_form(vin_of(app, member)), follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "Visit RO-100 recorded: 5200 points for Zhang Wei." in page
    assert "RO-100" in page
    again = advisor.post(
        "/admin/visits", data=visit_form(vin_of(app, member)), follow_redirects=True
    )
    assert "already recorded; nothing changed" in again.get_data(as_text=True)

    assert "5200</strong> points" in member_client.get("/card").get_data(as_text=True)
    tier = member_client.get("/me/tier").get_data(as_text=True)
    assert "tier-platinum" in tier
    assert "9800 more qualifying points reach Diamond" in tier
    home = member_client.get("/").get_data(as_text=True)
    assert 'class="badge"' in home
    inbox = member_client.get("/me/inbox").get_data(as_text=True)
    assert "Platinum" in inbox or "白金" in inbox
    assert 'class="badge"' not in member_client.get("/").get_data(as_text=True)


def test_bad_visits_show_the_problem_next_to_the_field(app, member, staff_factory):
    advisor = staff_factory("service_advisor")
    vin = vin_of(app, member)
    cases = {
        "amount_yuan": ({"amount_yuan": "12.345"}, "at most two decimals"),
        "amount_yuan nan": ({"amount_yuan": "NaN"}, "Enter a number, e.g. 12.50."),
        "amount_yuan huge": ({"amount_yuan": "1E+999999"}, "Enter a number below one billion."),
        "visited_on": ({"visited_on": "2026-12-01"}, "cannot be in the future"),
        "vin": ({"vin": vin[:-1] + ("0" if vin[-1] != "0" else "1")}, "VIN"),
    }
    for field, (change, message) in cases.items():
        page = advisor.post("/admin/visits", data={**visit_form(vin), **change}).get_data(
            as_text=True
        )
        assert f'id="{field.split()[0]}-error"' in page, field
        assert message in page, field
    assert "No visit recorded yet." in advisor.get("/admin/visits").get_data(as_text=True)


def test_refunding_reverses_the_points_once(app, member, staff_factory, member_client):
    from app.service.models import ServiceVisit

    advisor = staff_factory("service_advisor")
    advisor.post("/admin/visits", data=visit_form(vin_of(app, member), amount_yuan="300"))
    with app.app_context():
        visit_id = db.session.scalar(select(ServiceVisit.id))
    first = advisor.post(f"/admin/visits/{visit_id}/refund", follow_redirects=True)
    assert "300 points reversed" in first.get_data(as_text=True)
    second = advisor.post(f"/admin/visits/{visit_id}/refund", follow_redirects=True)
    assert "already refunded" in second.get_data(as_text=True)
    history = member_client.get("/me/points").get_data(as_text=True)
    assert "Reversed: Service visit · RO-100" in history
    assert "<strong>0</strong> points" in history


def test_another_dealers_advisor_cannot_refund(app, member, staff_factory):
    from app.service.models import ServiceVisit

    staff_factory("service_advisor").post("/admin/visits", data=visit_form(vin_of(app, member)))
    with app.app_context():
        visit_id = db.session.scalar(select(ServiceVisit.id))
    other = staff_factory("service_advisor", "GZ01")
    assert other.post(f"/admin/visits/{visit_id}/refund").status_code == 404


def test_goodwill_above_the_threshold_needs_the_dealer_admin(
    app, member, staff_factory, member_client
):
    advisor = staff_factory("care_agent")
    small = advisor.post(
        f"/admin/members/{member['id']}/adjust",
        data={"points": "200", "reason": "sorry for the wait"},
        follow_redirects=True,
    )
    assert "200 points posted." in small.get_data(as_text=True)
    big = advisor.post(
        f"/admin/members/{member['id']}/adjust",
        data={"points": "900", "reason": "paint damage in the workshop"},
        follow_redirects=True,
    )
    assert "Sent for approval" in big.get_data(as_text=True)
    admin = staff_factory("dealer_admin")
    pending = admin.get("/admin/adjustments").get_data(as_text=True)
    assert "paint damage in the workshop" in pending
    from app.loyalty.models import AdjustmentStatus, PointsAdjustment

    with app.app_context():
        pending_id = db.session.scalar(
            select(PointsAdjustment.id).where(PointsAdjustment.status == AdjustmentStatus.PENDING)
        )
    admin.post(f"/admin/adjustments/{pending_id}/approve")
    history = member_client.get("/me/points").get_data(as_text=True)
    assert "<strong>1100</strong> points" in history
    assert "paint damage in the workshop" in history


def test_hq_announces_rules_in_advance_and_owners_see_them(
    app, member, staff_factory, member_client
):
    hq = staff_factory("hq_admin", None)
    form = {
        "maintenance_rate": "200",
        "repair_rate": "100",
        "accident_rate": "50",
        "other_rate": "100",
        "anniversary_multiplier_pct": "200",
        "points_worth_one_yuan": "100",
        "note": "Double points for maintenance",
    }
    too_soon = hq.post("/admin/earning-rules", data={**form, "effective_from": "2026-12-01"})
    assert "told in advance" in too_soon.get_data(as_text=True)
    ok = hq.post(
        "/admin/earning-rules", data={**form, "effective_from": "2027-01-01"}, follow_redirects=True
    )
    assert "New rules announced." in ok.get_data(as_text=True)
    tier = member_client.get("/me/tier").get_data(as_text=True)
    assert "Double points for maintenance" in tier


# -------------------------------------------------------------------- the desk's amendment


def _visit_id(app) -> int:
    from app.service.models import ServiceVisit

    with app.app_context():
        return db.session.scalar(select(ServiceVisit.id))


def test_the_desk_refuses_the_same_ro_with_other_figures_and_amends_it_once(
    app, member, staff_factory, member_client
):
    from app.core.audit import AuditEntry
    from app.service.models import ServiceVisit, VisitAmendment

    advisor = staff_factory("service_advisor")
    vin = vin_of(app, member)
    advisor.post("/admin/visits", data=visit_form(vin))
    refused = advisor.post("/admin/visits", data=visit_form(vin, amount_yuan="5300.00"))
    assert "already recorded with other figures" in refused.get_data(as_text=True)

    visit_id = _visit_id(app)
    listing = advisor.get("/admin/visits").get_data(as_text=True)
    assert f'href="/admin/visits/{visit_id}/amend"' in listing
    form = advisor.get(f"/admin/visits/{visit_id}/amend").get_data(as_text=True)
    assert 'value="5200.00"' in form and "RO-100" in form
    corrected = {**visit_form(vin, amount_yuan="5300.00", reason="Invoice says 5300")}
    del corrected["ro_number"]
    response = advisor.post(f"/admin/visits/{visit_id}/amend", data=corrected)
    assert response.status_code == 302
    page = advisor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Visit RO-100 amended: 5200 points reversed, 5300 earned afresh." in page
    again = advisor.post(f"/admin/visits/{visit_id}/amend", data=corrected, follow_redirects=True)
    assert "already has these figures; nothing changed" in again.get_data(as_text=True)
    assert "5300</strong> points" in member_client.get("/card").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ServiceVisit, visit_id).points_awarded == 5300
        amendment = db.session.scalar(select(VisitAmendment))
        assert amendment.source == "staff" and amendment.actor_id is not None
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "visit.amended"))
        assert audit.actor_id == amendment.actor_id
        assert audit.details["reason"] == "Invoice says 5300"


def test_the_desk_needs_a_reason_and_cannot_amend_a_refunded_visit(app, member, staff_factory):
    advisor = staff_factory("service_advisor")
    vin = vin_of(app, member)
    advisor.post("/admin/visits", data=visit_form(vin))
    visit_id = _visit_id(app)
    corrected = visit_form(vin, amount_yuan="10.00")
    del corrected["ro_number"]
    missing = advisor.post(f"/admin/visits/{visit_id}/amend", data=corrected)
    assert "Say why the repair order is corrected." in missing.get_data(as_text=True)
    advisor.post(f"/admin/visits/{visit_id}/refund")
    refused = advisor.post(f"/admin/visits/{visit_id}/amend", data={**corrected, "reason": "Typo"})
    assert "A refunded visit cannot be amended." in refused.get_data(as_text=True)


def test_another_dealers_staff_cannot_amend(app, member, staff_factory):
    advisor = staff_factory("service_advisor")
    advisor.post("/admin/visits", data=visit_form(vin_of(app, member)))
    other = staff_factory("service_advisor", dealer="GZ01")
    assert other.get(f"/admin/visits/{_visit_id(app)}/amend").status_code == 404
