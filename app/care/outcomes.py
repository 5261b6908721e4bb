"""What a care call came to (issue 20), on every call task: the owner reached (booked, will
come, not coming with the reason from the managed list), not reached, or the number dead or
wrong.

Seed 002 asks for the reasons of lost owners (记录、分析流失原因) and of owners who did not come
for their first or regular maintenance (未回厂原因), and, of those who went to another workshop,
its name, place and price (店面名称、位置、相关费用). The recall and return-rate reports count
them (app/care/recall_reports.py, app/care/return_rates.py).

A reached or not-reached call goes through ``record_call`` (app/care/tasks.py: reached closes
the task, the third miss sends the SMS); a dead number closes the task without an SMS and puts
the owner on the correction list (app/care/contact.py).

"Booked" with a time books it for the owner as the campaign calls do
(``app.service.staff_booking.book_during_call``, seed 002 主动预约), in the call's transaction:
a refused time records no call. "Booked" without one stays allowed: the owner will book.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.care.contact import open_correction
from app.care.models import CallOutcome, CareCall, CareTask, LostReason
from app.care.reasons import usable_reason
from app.care.tasks import TASK, TaskStatus, get_task_for_staff, record_call
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.members.models import Member
from app.service.models import AppointmentSlot
from app.service.staff_booking import book_during_call, owner_cars, times_to_offer


class Outcome(StrEnum):
    """A call's outcome."""

    BOOKED = "booked"
    WILL_COME = "will_come"
    NOT_COMING = "not_coming"
    NOT_REACHED = "not_reached"
    WRONG_NUMBER = "wrong_number"


OUTCOME_LABELS = {
    Outcome.BOOKED: _l("Reached: booked a visit"),
    Outcome.WILL_COME: _l("Reached: will come"),
    Outcome.NOT_COMING: _l("Reached: not coming"),
    Outcome.NOT_REACHED: _l("Not reached"),
    Outcome.WRONG_NUMBER: _l("Number dead or wrong"),
}
REACHED = frozenset({Outcome.BOOKED, Outcome.WILL_COME, Outcome.NOT_COMING})
MAX_PRICE_FEN = 10_000_000  # ¥100,000: more is a typing slip


@dataclass(frozen=True)
class CallReport:
    """What the agent reports of one call."""

    outcome: Outcome
    reason_id: int | None = None
    reason_text: str = ""
    workshop_name: str = ""
    workshop_location: str = ""
    workshop_price_fen: int | None = None
    note: str = ""
    slot_id: int | None = None  # a service time to book with "booked"


def _checked_reason(task: CareTask, report: CallReport) -> LostReason | None:
    """The reason of a "not coming" call, with what it asks for; None for other outcomes."""
    if report.outcome != Outcome.NOT_COMING:
        return None
    if report.reason_id is None:
        raise ValidationFailed(_l("Choose why the owner is not coming."), field="reason_id")
    reason = usable_reason(task.dealer_id, report.reason_id)
    if reason.needs_text and not report.reason_text.strip():
        raise ValidationFailed(_l("Write the owner's reason out."), field="reason_text")
    if reason.asks_workshop and not report.workshop_name.strip():
        raise ValidationFailed(
            _l("Ask which workshop the owner went to, and write its name."),
            field="workshop_name",
        )
    price = report.workshop_price_fen
    if price is not None and not 0 <= price <= MAX_PRICE_FEN:
        raise ValidationFailed(_l("Give the price in yuan, up to 100,000."), field="workshop_price")
    return reason


def _wrong_number(agent, task_id: int, note: str, now: datetime) -> CareCall:
    """Log the call, close the task without an SMS, put the owner on the correction list."""
    task = db.session.execute(
        select(CareTask)
        .where(CareTask.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if task.status != TaskStatus.OPEN:
        raise Conflict(_l("This task is already closed."))
    call = CareCall(task_id=task.id, agent_id=agent.id, called_at=now, reached=False, note=note)
    db.session.add(call)
    task.assigned_to_id = task.assigned_to_id or agent.id
    TASK.move(task, TaskStatus.WRONG_NUMBER)
    task.closed_at = now
    db.session.flush()
    open_correction(agent, db.session.get(Member, task.member_id), task=task, now=now)
    record_audit(
        agent,
        "care.call",
        subject=task,
        dealer_id=task.dealer_id,
        details={"reached": False, "status": str(task.status)},
        now=now,
    )
    return call


def car_to_book(task: CareTask, member: Member) -> int | None:
    """The car a time booked on the task's call is for: the task's, else the owner's only one."""
    if task.vehicle_id is not None:
        return task.vehicle_id
    cars = owner_cars(member)
    return cars[0].id if len(cars) == 1 else None


def bookable_times(agent, task: CareTask) -> list[AppointmentSlot]:
    """The free times of the owner's dealer the task's outcome form offers (none when the task
    is closed, has no car to book, or the agent does not book for owners)."""
    member = db.session.get(Member, task.member_id)
    if task.status != TaskStatus.OPEN or car_to_book(task, member) is None:
        return []
    return times_to_offer(agent, member)


def _book_the_time(agent, task: CareTask, report: CallReport, now: datetime) -> None:
    member = db.session.get(Member, task.member_id)
    book_during_call(
        agent,
        member,
        car_to_book(task, member),
        report.slot_id,
        booked=report.outcome == Outcome.BOOKED,
        booked_as=OUTCOME_LABELS[Outcome.BOOKED],
        source=f"care_task:{task.id}",
        now=now,
    )


def record_outcome(
    agent, task_id: int, report: CallReport, *, now: datetime | None = None
) -> CallOutcome:
    """Log one call of the task and what it came to, booking the time chosen with "booked"
    (see the module)."""
    now = now or utcnow()
    task = get_task_for_staff(agent, task_id)
    reason = _checked_reason(task, report)
    note = report.note.strip()
    if report.outcome == Outcome.WRONG_NUMBER:
        call = _wrong_number(agent, task.id, note, now)
    else:
        call = record_call(agent, task.id, reached=report.outcome in REACHED, note=note, now=now)
    if report.slot_id is not None:
        _book_the_time(agent, task, report, now)
    workshop = reason is not None and reason.asks_workshop
    row = CallOutcome(
        call_id=call.id,
        task_id=task.id,
        outcome=report.outcome.value,
        reason_id=reason.id if reason is not None else None,
        reason_text=report.reason_text.strip() if reason is not None else "",
        workshop_name=report.workshop_name.strip() if workshop else "",
        workshop_location=report.workshop_location.strip() if workshop else "",
        workshop_price_fen=report.workshop_price_fen if workshop else None,
        called_on=local_date(now),
    )
    db.session.add(row)
    db.session.flush()
    return row


def outcomes_of(task: CareTask) -> dict[int, CallOutcome]:
    """The task's call outcomes by call id."""
    rows = db.session.scalars(select(CallOutcome).where(CallOutcome.task_id == task.id))
    return {row.call_id: row for row in rows}
