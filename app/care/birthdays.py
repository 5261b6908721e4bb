"""The birthday call (seed 002): 车主生日祝福根据DMS系统调取数据以电话形式关怀为主, 如暂时无法联系
等以短信形式送上祝福。发送时间不得晚于上班后两小时 — a phone call first, an SMS when the owner
cannot be reached, sent no later than two hours after the dealer opens.

The daily job (app/care/schedule.py) makes each birthday a call task of the owner's dealer, due
that day and given to the staff member responsible for the owner when there is one (the
``care_assignees`` signal: the consultant of the owner's ABC grading). The greeting goes to the
inbox (and e-mail) at once; its SMS waits in the outbox until ``greeting_deadline``:

- the call reaches the owner: the SMS is withdrawn (app/care/tasks.py ``record_call``);
- the call does not: the SMS goes at once (one missed call is enough: 暂时无法联系);
- nobody called by then: the SMS goes at the deadline, and the next day's job closes the task.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import update

from app.care.models import CareTask
from app.care.settings import setting
from app.core.clock import local_date, utcnow
from app.core.signals import care_assignees
from app.extensions import db

BIRTHDAY = "birthday"


def greeting_deadline(day: date) -> datetime:
    """When the birthday SMS of ``day`` goes unless the call reached the owner (UTC)."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    opening = datetime.combine(day, time(setting("OPENING_HOUR")), tzinfo=zone)
    return (opening + timedelta(minutes=setting("BIRTHDAY_SMS_MINUTES"))).astimezone(UTC)


def sms_deadline(task: CareTask) -> datetime | None:
    """When a birthday call task's greeting goes by SMS if nobody reaches the owner first."""
    return greeting_deadline(task.due_on) if task.kind == BIRTHDAY else None


def responsible_staff(kind: str, member_ids) -> dict[int, int]:
    """The staff member responsible for each owner's care, where the domains above know one."""
    ids = list(member_ids)
    found: dict[int, int] = {}
    if not ids:
        return found
    for _receiver, answer in care_assignees.send(kind, member_ids=ids):
        found.update(answer or {})
    return found


def close_past_birthday_tasks(*, now: datetime | None = None) -> int:
    """Close the birthday calls of earlier days still open: their greeting went by SMS at the
    deadline. Returns how many."""
    from app.care.tasks import TASK, TaskStatus

    now = now or utcnow()
    result = db.session.execute(
        update(CareTask)
        .where(
            CareTask.kind == BIRTHDAY,
            CareTask.status.in_(TASK.sources(TaskStatus.SMS_SENT)),
            CareTask.due_on < local_date(now),
        )
        .values(status=TaskStatus.SMS_SENT, closed_at=now)
    )
    return result.rowcount
