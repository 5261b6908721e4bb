"""Permission-matrix routes: after every visit (issue 20) — complaint cases and the after-visit
callback. The desk's visit (RO-M1, three days old) started a callback task and a questionnaire;
a complaint case of its owner is opened here. Empty POSTs change nothing."""

from sqlalchemy import select

from app.care.followups.complaints import open_case
from app.care.followups.models import CaseSource
from app.care.models import CareTask
from app.extensions import db
from tests.admin.matrix import Route

ROUTES: tuple[Route, ...] = (
    Route("GET", "/admin/care/complaints", "/admin/care/complaints", "care.complaints", 200),
    Route(
        "GET",
        "/admin/care/complaints/<int:case_id>",
        "/admin/care/complaints/{case_id}",
        "care.complaints",
        200,
    ),
    # Nobody chosen, no note, no resolution: the case page again with the message.
    Route(
        "POST",
        "/admin/care/complaints/<int:case_id>/assign",
        "/admin/care/complaints/{case_id}/assign",
        "care.complaints",
        422,
    ),
    Route(
        "POST",
        "/admin/care/complaints/<int:case_id>/notes",
        "/admin/care/complaints/{case_id}/notes",
        "care.complaints",
        422,
    ),
    Route(
        "POST",
        "/admin/care/complaints/<int:case_id>/resolve",
        "/admin/care/complaints/{case_id}/resolve",
        "care.complaints",
        422,
    ),
    # No outcome: nothing logged, back to the task with the message.
    Route(
        "POST",
        "/admin/care/tasks/<int:task_id>/followup-call",
        "/admin/care/tasks/{followup_task_id}/followup-call",
        "care.tasks",
        302,
    ),
)


def desk(dealer, owner) -> dict[str, int]:
    """The callback task of the owner's visit, and a complaint case of theirs."""
    task = db.session.scalar(
        select(CareTask).where(CareTask.member_id == owner.id, CareTask.kind == "visit_followup")
    )
    case = open_case(owner, source=CaseSource.OWNER, description="Desk complaint").case
    return {"followup_task_id": task.id, "case_id": case.id}
