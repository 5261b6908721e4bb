"""Care agents' call tasks (seed 002): phone the owner; after three unanswered calls at
different times of day within three days, send the reminder by SMS and close the task (the
birthday call: after one, its greeting held back until then, app/care/birthdays.py).

对于无法接通的客户要在三日内三个不同时间段三次拨打客户电话, 仍然无法联系的采取短信提醒.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.care.birthdays import sms_deadline
from app.care.models import CareCall, CareReminder, CareTask
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, NotFound
from app.core.permissions import has_permission
from app.core.states import StateMachine
from app.extensions import db
from app.loyalty.models import PointsAccount, Tier
from app.members.models import Member, OutboxMessage, Vehicle
from app.members.outbox import (
    Channel,
    queue_message,
    release_message,
    render_for,
    withdraw_message,
)
from app.service.models import ServiceCategory, ServiceVisit, VisitStatus


class TaskStatus(StrEnum):
    """open → reached | sms_sent (three calls failed) | closed (the owner came in meanwhile)."""

    OPEN = "open"
    REACHED = "reached"
    SMS_SENT = "sms_sent"
    CLOSED = "closed"
    # The number is dead or wrong (空号、错号): no SMS either; the owner goes on the correction
    # list (app/care/contact.py).
    WRONG_NUMBER = "wrong_number"


_K = TaskStatus
# A task is closed once, by the call that reached the owner, the fallback message, or the
# owner's visit (or the account's deletion, a set-based UPDATE from ``sources(CLOSED)``).
TASK = StateMachine(
    TaskStatus,
    {
        _K.OPEN: {_K.REACHED, _K.SMS_SENT, _K.CLOSED, _K.WRONG_NUMBER},
        _K.REACHED: set(),
        _K.SMS_SENT: set(),
        _K.CLOSED: set(),
        _K.WRONG_NUMBER: set(),
    },
    name="care_task",
)


STATUS_LABELS = {
    TaskStatus.OPEN: _l("To call"),
    TaskStatus.REACHED: _l("Reached"),
    TaskStatus.SMS_SENT: _l("Not reached: message sent"),
    TaskStatus.CLOSED: _l("Closed: the owner came in"),
    TaskStatus.WRONG_NUMBER: _l("Number dead or wrong: to correct"),
}
UNREACHED_CALLS = 3
UNREACHED_WINDOW_DAYS = 3
# Kinds whose SMS was queued with the task, held back for the call (app/care/birthdays.py): one
# missed call sends it (如暂时无法联系), reaching the owner withdraws it.
SMS_HELD_FOR_CALL = frozenset({"birthday"})
# What the fallback message says of a task made without a reminder (issue 20: a recall).
FALLBACK_TEXTS = {
    "recall": _l(
        "It has been a while since your car's last service: book a visit, we will gladly look "
        "after it."
    ),
}
# Tasks a maintenance visit settles: the owner came in, no need to call any more.
SETTLED_BY_MAINTENANCE = ("first_maintenance", "maintenance_due")


class TimeOfDay(StrEnum):
    """The parts of the day calls are spread over (local time)."""

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


TIME_OF_DAY_LABELS = {
    TimeOfDay.MORNING: _l("morning"),
    TimeOfDay.AFTERNOON: _l("afternoon"),
    TimeOfDay.EVENING: _l("evening"),
}


def time_of_day(moment: datetime) -> TimeOfDay:
    """Morning before 12:00, afternoon before 18:00, evening after (local time)."""
    hour = moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).hour
    if hour < 12:
        return TimeOfDay.MORNING
    return TimeOfDay.AFTERNOON if hour < 18 else TimeOfDay.EVENING


def call_by(task: CareTask, *, now: datetime | None = None) -> tuple[datetime | None, bool]:
    """When a call is due by (the after-visit callback's deadline, the birthday greeting's
    time; None for the others) and whether that has passed."""
    by = task.deadline_at or sms_deadline(task)
    return by, by is not None and by < (now or utcnow())


def tasks_to_call(actor, *, now: datetime | None = None):
    """The actor's dealer's open tasks due by today: the highest tier first (seed 002 receives
    VIP owners first), then the after-visit callbacks by their deadline, then the oldest."""
    today = local_date(now or utcnow())
    tier_rank = (
        select(Tier.rank)
        .join(PointsAccount, PointsAccount.tier_code == Tier.code)
        .where(PointsAccount.member_id == CareTask.member_id)
        .scalar_subquery()
    )
    return (
        select(CareTask)
        .where(
            CareTask.dealer_id == actor.dealer_id,
            CareTask.status == TaskStatus.OPEN,
            CareTask.due_on <= today,
        )
        .order_by(
            func.coalesce(tier_rank, 0).desc(),
            CareTask.deadline_at.is_(None),
            CareTask.deadline_at,
            CareTask.due_on,
            CareTask.id,
        )
    )


@dataclass(frozen=True)
class TaskView:
    """A task with what a care agent needs to see of it."""

    task: CareTask
    member: Member
    vehicle: Vehicle | None
    reminder: CareReminder | None


def describe(task: CareTask) -> TaskView:
    """The task with its owner, car and reminder."""
    return TaskView(
        task,
        db.session.get(Member, task.member_id),
        db.session.get(Vehicle, task.vehicle_id) if task.vehicle_id else None,
        db.session.get(CareReminder, task.reminder_id) if task.reminder_id else None,
    )


def may_work(actor, task: CareTask) -> bool:
    """The care desk works every task of its dealer; other staff of the dealer only the tasks
    given to them (the birthday call of an owner a consultant looks after)."""
    if task.dealer_id != actor.dealer_id:
        return False
    return has_permission(actor, "care.tasks") or task.assigned_to_id == actor.id


def get_task_for_staff(actor, task_id: int) -> CareTask:
    """A task the actor may work (``may_work``); NotFound for any other, another dealer's."""
    task = db.session.get(CareTask, task_id)
    if task is None or not may_work(actor, task):
        raise NotFound(_l("No such care task."))
    return task


def own_tasks(actor, *, now: datetime | None = None):
    """The open tasks due by today given to the actor (their "My calls"), in the care desk's
    order."""
    return tasks_to_call(actor, now=now).where(CareTask.assigned_to_id == actor.id)


def get_own_task(actor, task_id: int) -> CareTask:
    """A task given to the actor, open or done; NotFound for anyone else's."""
    task = db.session.get(CareTask, task_id)
    if task is None or task.assigned_to_id != actor.id or not may_work(actor, task):
        raise NotFound(_l("No such care task."))
    return task


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def call_counts(query, *, now: datetime | None = None) -> tuple[int, int]:
    """For a desk tile: how many tasks ``query`` (``tasks_to_call``, ``own_tasks``) holds, and
    how many of them are birthdays due today (seed 002: called within two hours of opening)."""
    today = local_date(now or utcnow())
    birthdays = query.where(CareTask.kind == "birthday", CareTask.due_on == today)
    return _count(query), _count(birthdays)


def calls_of(task: CareTask) -> list[CareCall]:
    """The task's calls, oldest first."""
    return list(
        db.session.scalars(
            select(CareCall)
            .where(CareCall.task_id == task.id)
            .order_by(CareCall.called_at, CareCall.id)
        )
    )


def missed_times_of_day(task: CareTask, *, now: datetime | None = None) -> set[TimeOfDay]:
    """The times of day the owner was called and not reached, within the last three days."""
    since = local_date(now or utcnow()) - timedelta(days=UNREACHED_WINDOW_DAYS - 1)
    return {
        time_of_day(call.called_at)
        for call in calls_of(task)
        if not call.reached and local_date(call.called_at) >= since
    }


def calls_before_message(task: CareTask) -> int:
    """How many calls at different times of day must miss before the message goes."""
    return 1 if task.kind in SMS_HELD_FOR_CALL else UNREACHED_CALLS


def _held_sms(task: CareTask) -> str | None:
    """The outbox key of the SMS held back for this task's call, if its kind has one."""
    if task.kind not in SMS_HELD_FOR_CALL or task.reminder_id is None:
        return None
    return f"{db.session.get(CareReminder, task.reminder_id).key}:{Channel.SMS}"


def _fallback_message(task: CareTask, member: Member, now: datetime) -> None:
    """Queue the reminder as an SMS (or an e-mail to an owner who turned SMS off); a message
    held back for the call goes now instead."""
    held = _held_sms(task)
    if held is not None:
        release_message(held, now=now)
        return
    reminder = db.session.get(CareReminder, task.reminder_id) if task.reminder_id else None
    # What the owner was told in the app: the reminder, or the visit's questionnaire invitation.
    key = reminder.key if reminder is not None else None
    if key is None and task.visit_id is not None:
        from app.care.followups.visits import survey_key

        key = survey_key(task.visit_id)
    original = (
        db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"{key}:{Channel.IN_APP}")
        )
        if key is not None
        else None
    )
    subject = original.subject if original is not None else ""
    text = original.body if original is not None else FALLBACK_TEXTS.get(task.kind, "")
    title, body = render_for(
        member,
        lambda: (
            subject or _l("Your dealer tried to call you"),
            _l("We tried to call you about this. %(text)s", text=text),
        ),
    )
    queue_message(
        member,
        task.kind,
        title,
        body,
        key=f"care-task:{task.id}:fallback",
        channels=[Channel.SMS if member.notify_sms else Channel.EMAIL],
        now=now,
    )


def record_call(
    agent, task_id: int, *, reached: bool, note: str = "", now: datetime | None = None
) -> CareCall:
    """Log a call of the task; reached closes it, the third miss at another time of day within
    three days queues the SMS and closes it."""
    now = now or utcnow()
    get_task_for_staff(agent, task_id)
    # Two agents logging calls at once queue on the task row: one SMS at most.
    task = db.session.execute(
        select(CareTask)
        .where(CareTask.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if task.status != TaskStatus.OPEN:
        raise Conflict(_l("This task is already closed."))
    call = CareCall(
        task_id=task.id, agent_id=agent.id, called_at=now, reached=reached, note=note.strip()
    )
    db.session.add(call)
    db.session.flush()
    task.assigned_to_id = task.assigned_to_id or agent.id
    if reached:
        TASK.move(task, TaskStatus.REACHED)
        task.closed_at = now
        held = _held_sms(task)
        if held is not None:
            withdraw_message(held, "reached by phone")
    elif len(missed_times_of_day(task, now=now)) >= calls_before_message(task):
        _fallback_message(task, db.session.get(Member, task.member_id), now)
        TASK.move(task, TaskStatus.SMS_SENT)
        task.closed_at = now
    db.session.flush()
    record_audit(
        agent,
        "care.call",
        subject=task,
        dealer_id=task.dealer_id,
        details={"reached": reached, "status": str(task.status)},
        now=now,
    )
    return call


def close_tasks_of(member: Member, *, now: datetime | None = None) -> None:
    """The owner deleted their account: their open care calls are closed, nobody calls."""
    db.session.execute(
        update(CareTask)
        .where(CareTask.member_id == member.id, CareTask.status == TaskStatus.OPEN)
        .values(status=TaskStatus.CLOSED, closed_at=now or utcnow())
    )


def close_settled_tasks(*, now: datetime | None = None) -> int:
    """Close open maintenance call tasks of cars that had a maintenance visit recorded since
    the task was made: the owner came in, nobody needs to call. Commits each; returns how
    many."""
    now = now or utcnow()
    visited = (
        select(ServiceVisit.id)
        .where(
            ServiceVisit.vehicle_id == CareTask.vehicle_id,
            ServiceVisit.category == ServiceCategory.MAINTENANCE,
            ServiceVisit.status == VisitStatus.RECORDED,
            ServiceVisit.created_at >= CareTask.created_at,
        )
        .exists()
    )
    task_ids = db.session.scalars(
        select(CareTask.id)
        .where(
            CareTask.status == TaskStatus.OPEN,
            CareTask.kind.in_(SETTLED_BY_MAINTENANCE),
            visited,
        )
        .order_by(CareTask.id)
    ).all()
    closed = 0
    for task_id in task_ids:
        task = db.session.execute(
            select(CareTask)
            .where(CareTask.id == task_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        if task.status == TaskStatus.OPEN:
            TASK.move(task, TaskStatus.CLOSED)
            task.closed_at = now
            closed += 1
        db.session.commit()
    return closed
