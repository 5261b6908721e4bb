"""What a counted service visit starts (seed 002: 客服48小时内必须做出回访结果): a care task to
call the owner back within ``FOLLOWUP_HOURS`` (48) of the visit being recorded, and the owner's
questionnaire, once per visit; a refund stops both. The service domain signals the visit
(``visit_recorded``, ``visit_refunded``); care answers in app/care/__init__.py.

Rules (the pages say them too):

- A visit recorded more than ``FOLLOWUP_MAX_AGE_DAYS`` (7) days after it happened (a late DMS
  push, an old repair order typed in) gets neither: a callback about it would come too late.
- The callback is the care agents' usual call (app/care/tasks.py: reached, or three misses
  and a text); reaching the owner also records whether they were satisfied, and "not satisfied"
  opens a complaint case with the agent's note.
- Agents see platinum and diamond owners first (the seed's VIP owners), then the callbacks by
  their deadline, then the other calls.
"""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.care.followups.complaints import open_case
from app.care.followups.models import SURVEY, CaseSource, SurveyStatus, VisitSurvey
from app.care.models import CareCall, CareTask
from app.care.settings import setting
from app.care.tasks import TASK, TaskStatus, get_task_for_staff, record_call
from app.core.clock import local_date, utcnow
from app.core.dates import format_local_date
from app.core.errors import NotFound, ValidationFailed
from app.extensions import db
from app.members.models import Member
from app.members.outbox import Channel, queue_message, render_for
from app.service.models import ServiceVisit

FOLLOWUP = "visit_followup"
SURVEY_KIND = "visit_survey"


def survey_key(visit_id: int) -> str:
    """The questionnaire invitation's message key (the inbox links it to the questionnaire)."""
    return f"visit-survey:{visit_id}"


def start_followup(visit: ServiceVisit, *, now: datetime | None = None) -> CareTask | None:
    """A visit was recorded: the callback task (due within FOLLOWUP_HOURS) and the owner's
    questionnaire with its invitation in the inbox. Nothing for a visit recorded too late, or
    an owner whose account is closed. Returns the task."""
    now = now or utcnow()
    oldest = local_date(now) - timedelta(days=setting("FOLLOWUP_MAX_AGE_DAYS"))
    member = db.session.get(Member, visit.member_id)
    if visit.visited_on < oldest or not member.user.active:
        return None
    task = CareTask(
        dealer_id=visit.dealer_id,
        member_id=visit.member_id,
        vehicle_id=visit.vehicle_id,
        visit_id=visit.id,
        kind=FOLLOWUP,
        due_on=local_date(now),
        deadline_at=now + timedelta(hours=setting("FOLLOWUP_HOURS")),
        status=TaskStatus.OPEN,
        created_at=now,
    )
    survey = VisitSurvey(
        visit_id=visit.id,
        member_id=visit.member_id,
        dealer_id=visit.dealer_id,
        advisor_id=visit.recorded_by_id,
        status=SurveyStatus.PENDING,
        comment="",
        created_at=now,
    )
    db.session.add_all([task, survey])
    db.session.flush()
    title, body = render_for(
        member,
        lambda: (
            _l("How was your visit?"),
            _l(
                "Thank you for coming in on %(date)s. How did we do? Three quick questions "
                "in the app: Me → Feedback and complaints.",
                date=format_local_date(visit.visited_on),
            ),
        ),
    )
    queue_message(
        member,
        SURVEY_KIND,
        title,
        body,
        key=survey_key(visit.id),
        channels=[Channel.IN_APP],
        now=now,
    )
    return task


def stop_followup(visit: ServiceVisit, *, now: datetime | None = None) -> None:
    """The visit was refunded: nobody calls about it, the questionnaire is withdrawn (an answer
    already given stays, as do complaint cases)."""
    now = now or utcnow()
    task = db.session.scalar(
        select(CareTask).where(CareTask.visit_id == visit.id).with_for_update()
    )
    if task is not None and task.status == TaskStatus.OPEN:
        TASK.move(task, TaskStatus.CLOSED)
        task.closed_at = now
    survey = db.session.scalar(
        select(VisitSurvey).where(VisitSurvey.visit_id == visit.id).with_for_update()
    )
    if survey is not None and survey.status == SurveyStatus.PENDING:
        SURVEY.move(survey, SurveyStatus.CANCELLED)
    db.session.flush()


def record_followup_call(
    agent,
    task_id: int,
    *,
    reached: bool,
    satisfied: bool | None,
    note: str = "",
    now: datetime | None = None,
) -> CareCall:
    """Log a callback after a visit: reached (satisfied or not) or not reached, as any care
    call. An owner reached and not satisfied gets a complaint case with the agent's note."""
    now = now or utcnow()
    task = get_task_for_staff(agent, task_id)
    if task.kind != FOLLOWUP:
        raise NotFound(_l("No such care task."))
    if reached and satisfied is None:
        raise ValidationFailed(_l("Say whether the owner was satisfied."), field="outcome")
    call = record_call(agent, task.id, reached=reached, note=note, now=now)
    if not reached:
        return call
    call.satisfied = satisfied
    db.session.flush()
    if not satisfied:
        open_case(
            db.session.get(Member, task.member_id),
            source=CaseSource.CALLBACK,
            description=call.note,
            visit=db.session.get(ServiceVisit, task.visit_id),
            key=f"call:{call.id}",
            actor=agent,
            now=now,
        )
    return call


def followup_of(task: CareTask) -> tuple[ServiceVisit | None, VisitSurvey | None]:
    """The visit a callback is about and its questionnaire (what the agent sees)."""
    if task.visit_id is None:
        return None, None
    return (
        db.session.get(ServiceVisit, task.visit_id),
        db.session.scalar(select(VisitSurvey).where(VisitSurvey.visit_id == task.visit_id)),
    )
