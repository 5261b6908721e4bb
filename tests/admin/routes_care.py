"""Permission-matrix routes: care (issue 6)."""

from app.care.models import CareReminder, CareTask
from app.core.clock import local_date, utcnow
from app.extensions import db
from tests.admin.matrix import Route

ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/care/tasks", "/admin/care/tasks", "care.tasks", 200),
    Route(
        "GET",
        "/admin/care/tasks/<int:task_id>",
        "/admin/care/tasks/{care_task_id}",
        "care.tasks",
        200,
    ),
    # An empty POST logs nothing: the outcome is missing, the page says so.
    Route(
        "POST",
        "/admin/care/tasks/<int:task_id>/calls",
        "/admin/care/tasks/{care_task_id}/calls",
        "care.tasks",
        302,
    ),
    # My calls: a staff member's own tasks. The desk's task is given to nobody: not found for
    # every holder, even the care desk's.
    Route("GET", "/admin/care/my-calls", "/admin/care/my-calls", "care.own_tasks", 200),
    Route(
        "GET",
        "/admin/care/my-calls/<int:task_id>",
        "/admin/care/my-calls/{care_task_id}",
        "care.own_tasks",
        404,
    ),
    Route(
        "POST",
        "/admin/care/my-calls/<int:task_id>",
        "/admin/care/my-calls/{care_task_id}",
        "care.own_tasks",
        404,
        data={"reached": "yes"},
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """Rows the routes above need in the desk's database, by the names their paths use."""
    now = utcnow()
    car = owner.vehicles[0]
    reminder = CareReminder(
        member_id=owner.id,
        vehicle_id=car.id,
        kind="first_maintenance",
        due_on=local_date(now),
        key=f"first_maintenance:v{car.id}",
        created_at=now,
    )
    db.session.add(reminder)
    db.session.flush()
    task = CareTask(
        dealer_id=dealer.id,
        member_id=owner.id,
        vehicle_id=car.id,
        reminder_id=reminder.id,
        kind="first_maintenance",
        due_on=local_date(now),
        status="open",
        created_at=now,
    )
    db.session.add(task)
    db.session.flush()
    return {"care_task_id": task.id}
