"""Permission-matrix routes: recall, call outcomes and reasons, the correction list, the
recall and return-rate reports (issue 20)."""

from sqlalchemy import select

from app.care.models import CallOutcome, CareCall, CareTask, ContactCorrection, LostReason
from app.core.clock import local_date, utcnow
from app.extensions import db
from tests.admin.matrix import Route
from tests.factories import make_member, make_staff, make_vehicle

_REPORTS_CSV = "/admin/insight/<any(recall, returns):report>.csv"

ROUTES: tuple[Route, ...] = (
    # An empty post logs nothing: the outcome is missing, the page says so.
    Route(
        "POST",
        "/admin/care/tasks/<int:task_id>/outcome",
        "/admin/care/tasks/{recall_task_id}/outcome",
        "care.tasks",
        422,
    ),
    Route("GET", "/admin/care/reasons", "/admin/care/reasons", "care.reasons", 200),
    Route("GET", "/admin/care/reasons/new", "/admin/care/reasons/new", "care.reasons", 200),
    # Nameless: the form comes back.
    Route("POST", "/admin/care/reasons/new", "/admin/care/reasons/new", "care.reasons", 200),
    Route(
        "GET",
        "/admin/care/reasons/<int:reason_id>",
        "/admin/care/reasons/{reason_id}",
        "care.reasons",
        200,
    ),
    # The reason as it is: a permitted save changes nothing.
    Route(
        "POST",
        "/admin/care/reasons/<int:reason_id>",
        "/admin/care/reasons/{reason_id}",
        "care.reasons",
        302,
        {"label_zh": "等配件", "label_en": "Waiting for parts", "position": "5", "active": "y"},
    ),
    # A call used it: it is not deleted, the list says why.
    Route(
        "POST",
        "/admin/care/reasons/<int:reason_id>/delete",
        "/admin/care/reasons/{reason_id}/delete",
        "care.reasons",
        302,
    ),
    Route("POST", "/admin/care/local-plates", "/admin/care/local-plates", "care.reasons", 302),
    Route("GET", "/admin/care/corrections", "/admin/care/corrections", "care.contacts", 200),
    Route(
        "GET",
        "/admin/care/corrections/<int:correction_id>",
        "/admin/care/corrections/{correction_id}",
        "care.contacts",
        200,
    ),
    # No number: nothing changes, the form says so.
    Route(
        "POST",
        "/admin/care/corrections/<int:correction_id>",
        "/admin/care/corrections/{correction_id}",
        "care.contacts",
        422,
    ),
    Route("GET", "/admin/insight/recall", "/admin/insight/recall", "insight.view", 200),
    Route("GET", "/admin/insight/returns", "/admin/insight/returns", "insight.view", 200),
    Route("GET", _REPORTS_CSV, "/admin/insight/recall.csv", "insight.view", 200),
    Route("GET", _REPORTS_CSV, "/admin/insight/returns.csv", "insight.view", 200),
)


def desk(dealer, owner) -> dict[str, int]:
    """A recall task of the owner, SZ01's own reason that a call used, and another owner of
    SZ01 on the correction list (the desk's owner signs in without being asked)."""
    now = utcnow()
    car = owner.vehicles[0]
    task = CareTask(
        dealer_id=dealer.id,
        member_id=owner.id,
        vehicle_id=car.id,
        kind="recall",
        due_on=local_date(now),
        status="open",
        created_at=now,
        recall_class="local_in",
        lost_since=local_date(now),
    )
    reason = LostReason(
        code="desk-parts",
        dealer_id=dealer.id,
        label_en="Waiting for parts",
        label_zh="等配件",
        position=5,
        created_at=now,
    )
    used = CareTask(
        dealer_id=dealer.id,
        member_id=owner.id,
        vehicle_id=car.id,
        kind="maintenance_due",
        due_on=local_date(now),
        status="reached",
        created_at=now,
    )
    db.session.add_all([task, reason, used])
    db.session.flush()
    call = CareCall(
        task_id=used.id,
        agent_id=make_staff("care_agent", dealer.id).id,
        called_at=now,
        reached=True,
    )
    db.session.add(call)
    db.session.flush()
    db.session.add(
        CallOutcome(
            call_id=call.id,
            task_id=used.id,
            outcome="not_coming",
            reason_id=reason.id,
            called_on=local_date(now),
        )
    )
    lost = make_member(dealer.id, name="Fix Me")
    make_vehicle(lost)
    entry = ContactCorrection(
        member_id=lost.id, old_mobile=lost.user.mobile, status="open", reported_at=now
    )
    db.session.add(entry)
    db.session.flush()
    assert db.session.scalar(select(LostReason.id).where(LostReason.code == "desk-parts"))
    return {"recall_task_id": task.id, "reason_id": reason.id, "correction_id": entry.id}
