"""Complaint cases (客户投诉, seed 002: 了解客户, 解决、协调客户投诉问题发生): opened by a low
questionnaire score, an unhappy callback or the owner; handled by the visit's dealer (an
assignee, a deadline, staff notes, a resolution); closed only when the owner confirms it is
settled, or reopened when it is not. A case still open past its deadline goes to the dealer's
admins, once per round (opened, or reopened by the owner), by the daily job: flagged, and a
notice on each admin's desk.

Rules (the pages say them too):

- A case is due ``COMPLAINT_DEADLINE_DAYS`` (3) days after it opens, and again as long after
  the owner reopens it. Each round (opened, or reopened) is escalated once when overdue.
- An owner who complains again about a visit whose case is still being handled adds to that
  case; they have at most ``COMPLAINTS_OPEN_MAX`` (5) cases not yet closed.
- The assignee is a staff member of the case's dealer who handles complaints.
- Staff notes are for staff; the owner sees the status, the deadline and the resolution.
- Every staff step and the owner's confirmation or reopening are in the audit log.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from app.auth.models import User
from app.care.followups.models import (
    ACTIVE,
    CASE,
    CaseSource,
    CaseStatus,
    ComplaintCase,
    ComplaintNote,
    VisitSurvey,
)
from app.care.settings import setting
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.dates import format_local_datetime
from app.core.errors import NotFound, ValidationFailed
from app.core.permissions import PERMISSIONS, Role
from app.core.security import id_in_range
from app.core.web import path_for
from app.extensions import db
from app.members.inbox import notify
from app.members.models import Dealer, Member
from app.members.outbox import Channel, queue_message, render_for
from app.members.scope import dealer_scope, sees_dealer
from app.members.staff_inbox import notify_staff
from app.service.models import ServiceVisit

TEXT_MAX = 1000
# The staff list's views: what a dealer's people act on first.
VIEWS = ("active", "overdue", "escalated", "resolved", "closed", "mine")
VIEW_LABELS = {
    "active": _l("To handle"),
    "overdue": _l("Overdue"),
    "escalated": _l("Escalated"),
    "resolved": _l("Waiting for the owner"),
    "closed": _l("Closed"),
    "mine": _l("Mine"),
}


@dataclass(frozen=True)
class Opened:
    """A case and whether this call opened it (False: it was there already)."""

    case: ComplaintCase
    created: bool


def clean_text(text: str | None, *, field: str, required: bool, message) -> str:
    """``text`` stripped; ValidationFailed (on ``field``) when it is required and empty, or
    longer than TEXT_MAX."""
    text = (text or "").strip()
    if required and not text:
        raise ValidationFailed(message, field=field)
    if len(text) > TEXT_MAX:
        raise ValidationFailed(_l("At most %(n)s characters, please.", n=TEXT_MAX), field=field)
    return text


def _deadline(now: datetime) -> datetime:
    return now + timedelta(days=setting("COMPLAINT_DEADLINE_DAYS"))


def _locked(case_id: int) -> ComplaintCase:
    """The case, re-read under a row lock: two people acting at once act one after the other."""
    return db.session.execute(
        select(ComplaintCase)
        .where(ComplaintCase.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _audit(actor, action: str, case: ComplaintCase, now: datetime, **details) -> None:
    record_audit(
        actor,
        f"care.complaint.{action}",
        subject=case,
        dealer_id=case.dealer_id,
        details={"status": str(case.status), **details},
        now=now,
    )


# ------------------------------------------------------------------------------- opening


def open_case(
    member: Member,
    *,
    source: CaseSource,
    description: str = "",
    visit: ServiceVisit | None = None,
    key: str | None = None,
    actor=None,
    now: datetime | None = None,
) -> Opened:
    """Open a case for ``member`` (once per ``key``), due in COMPLAINT_DEADLINE_DAYS; the owner
    is told it was received when it did not come from their own form."""
    now = now or utcnow()
    if key is not None:
        existing = db.session.scalar(select(ComplaintCase).where(ComplaintCase.key == key))
        if existing is not None:
            return Opened(existing, False)
    case = ComplaintCase(
        dealer_id=visit.dealer_id if visit is not None else member.dealer_id,
        member_id=member.id,
        visit_id=visit.id if visit is not None else None,
        source=source,
        key=key,
        description=description,
        status=CaseStatus.OPEN,
        deadline_at=_deadline(now),
        reopened_count=0,
        created_by_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(case)
    db.session.flush()
    _audit(actor, "opened", case, now, source=str(source), visit=case.visit_id)
    if source != CaseSource.OWNER:
        _tell_received(member, case, now)
    return Opened(case, True)


def _tell_received(member: Member, case: ComplaintCase, now: datetime) -> None:
    """In the owner's inbox: sorry, the dealer has it and answers by the deadline."""
    title, body = render_for(
        member,
        lambda: (
            _l("We are sorry: your dealer will call you"),
            _l(
                "Thank you for telling us. Your dealer looks into it and gets back to you by "
                "%(time)s. Follow it in Me → Feedback and complaints.",
                time=format_local_datetime(case.deadline_at, "short"),
            ),
        ),
    )
    queue_message(
        member,
        "complaint",
        title,
        body,
        key=f"complaint:{case.id}:opened",
        channels=[Channel.IN_APP],
        now=now,
    )


def _own_visit(member: Member, visit_id: int) -> ServiceVisit:
    visit = db.session.get(ServiceVisit, visit_id) if id_in_range(visit_id) else None
    if visit is None or visit.member_id != member.id:
        raise NotFound(_l("No such visit."), field="visit_id")
    return visit


def _open_case_of_visit(member: Member, visit_id: int) -> ComplaintCase | None:
    return db.session.scalar(
        select(ComplaintCase)
        .where(
            ComplaintCase.member_id == member.id,
            ComplaintCase.visit_id == visit_id,
            ComplaintCase.status.in_(ACTIVE),
        )
        .order_by(ComplaintCase.id)
        .limit(1)
    )


def raise_complaint(
    member: Member, *, text: str, visit_id: int | None = None, now: datetime | None = None
) -> Opened:
    """The owner complains, about one of their visits or in general. About a visit whose case
    is still being handled, the text is added to that case (``created`` False)."""
    now = now or utcnow()
    text = clean_text(text, field="text", required=True, message=_l("Tell us what went wrong."))
    visit = _own_visit(member, visit_id) if visit_id is not None else None
    if visit is not None:
        existing = _open_case_of_visit(member, visit.id)
        if existing is not None:
            _add_note(existing, member.user, text, from_owner=True, now=now)
            return Opened(existing, False)
    not_closed = db.session.scalar(
        select(func.count(ComplaintCase.id)).where(
            ComplaintCase.member_id == member.id,
            ComplaintCase.status.in_((*ACTIVE, CaseStatus.RESOLVED)),
        )
    )
    limit = setting("COMPLAINTS_OPEN_MAX")
    if not_closed >= limit:
        raise ValidationFailed(
            _l(
                "You have %(n)s complaints open: your dealer answers those first. Add to one "
                "of them instead.",
                n=not_closed,
            ),
            field="text",
        )
    return open_case(
        member, source=CaseSource.OWNER, description=text, visit=visit, actor=member.user, now=now
    )


# ---------------------------------------------------------------------------------- owner


def own_cases(member: Member) -> Select:
    """The owner's cases, newest first (a query to paginate)."""
    return (
        select(ComplaintCase)
        .where(ComplaintCase.member_id == member.id)
        .order_by(ComplaintCase.created_at.desc(), ComplaintCase.id.desc())
    )


def own_case(member: Member, case_id: int) -> ComplaintCase:
    """One of the owner's cases; NotFound for anyone else's."""
    case = db.session.get(ComplaintCase, case_id)
    if case is None or case.member_id != member.id:
        raise NotFound(_l("No such complaint."))
    return case


def confirm_case(member: Member, case_id: int, *, now: datetime | None = None) -> bool:
    """The owner confirms the resolution settles it: the case closes. Confirming again
    changes nothing (False)."""
    now = now or utcnow()
    case = _locked(own_case(member, case_id).id)
    if case.status == CaseStatus.CONFIRMED:
        return False
    CASE.move(
        case,
        CaseStatus.CONFIRMED,
        message=_l("Only a resolved complaint can be confirmed."),
    )
    case.confirmed_at = now
    db.session.flush()
    _audit(member.user, "confirmed", case, now)
    return True


def reopen_case(
    member: Member, case_id: int, *, reason: str = "", now: datetime | None = None
) -> bool:
    """The owner says the resolution does not settle it: the case is handled again, due anew.
    Reopening a reopened case changes nothing (False)."""
    now = now or utcnow()
    reason = clean_text(reason, field="reason", required=False, message="")
    case = _locked(own_case(member, case_id).id)
    if case.status == CaseStatus.REOPENED:
        return False
    CASE.move(
        case,
        CaseStatus.REOPENED,
        message=_l("Only a resolved complaint can be reopened."),
    )
    case.reopened_count += 1
    case.deadline_at = _deadline(now)
    if reason:
        _add_note(case, member.user, reason, from_owner=True, now=now)
    db.session.flush()
    _audit(member.user, "reopened", case, now, times=case.reopened_count)
    return True


def withdraw_cases_of(member: Member, *, now: datetime | None = None) -> int:
    """The owner deleted their account: cases not closed are withdrawn, their words erased
    (staff notes stay, the dealer's record of what it did). Returns how many were withdrawn."""
    now = now or utcnow()
    withdrawn = 0
    for case in db.session.scalars(own_cases(member)):
        if case.status not in (CaseStatus.CONFIRMED, CaseStatus.WITHDRAWN):
            CASE.move(case, CaseStatus.WITHDRAWN)
            withdrawn += 1
        case.description = ""
    db.session.execute(
        ComplaintNote.__table__.delete().where(
            ComplaintNote.from_owner.is_(True),
            ComplaintNote.case_id.in_(
                select(ComplaintCase.id).where(ComplaintCase.member_id == member.id)
            ),
        )
    )
    db.session.flush()
    return withdrawn


# ---------------------------------------------------------------------------------- staff


# Escalated since the case was opened or last reopened (``escalated_round`` is NULL, never).
_ESCALATED_THIS_ROUND = func.coalesce(
    ComplaintCase.escalated_round == ComplaintCase.reopened_count, False
)


def is_escalated(case: ComplaintCase) -> bool:
    """Escalated in this round: since the case was opened or last reopened."""
    return case.escalated_round == case.reopened_count


def is_overdue(case: ComplaintCase, now: datetime | None = None) -> bool:
    """Still to act on, and past its deadline."""
    return case.status in ACTIVE and (now or utcnow()) > case.deadline_at


def staff_case(actor: User, case_id: int) -> ComplaintCase:
    """A case of the actor's dealer (HQ: any); NotFound for another dealer's."""
    case = db.session.get(ComplaintCase, case_id)
    if case is None or not sees_dealer(actor, case.dealer_id):
        raise NotFound(_l("No such complaint."))
    return case


def cases_query(
    actor: User, *, dealer_id: int | None, view: str = "active", now: datetime | None = None
) -> Select:
    """The cases of ``dealer_id`` (None: every dealer, for HQ) in one of VIEWS; the ones to
    act on by deadline, the others newest first."""
    now = now or utcnow()
    query = select(ComplaintCase)
    if dealer_id is not None:
        query = query.where(ComplaintCase.dealer_id == dealer_id)
    active = ComplaintCase.status.in_(ACTIVE)
    conditions = {
        "active": active,
        "overdue": active & (ComplaintCase.deadline_at < now),
        "escalated": active & _ESCALATED_THIS_ROUND,
        "resolved": ComplaintCase.status == CaseStatus.RESOLVED,
        "closed": ComplaintCase.status.in_((CaseStatus.CONFIRMED, CaseStatus.WITHDRAWN)),
        "mine": active & (ComplaintCase.assignee_id == actor.id),
    }
    query = query.where(conditions.get(view, active))
    if view in ("resolved", "closed"):
        return query.order_by(ComplaintCase.created_at.desc(), ComplaintCase.id.desc())
    return query.order_by(ComplaintCase.deadline_at, ComplaintCase.id)


def _count(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def view_counts(actor: User, *, dealer_id: int | None, now: datetime | None = None) -> dict:
    """How many cases each view of the list holds (for its tabs)."""
    return {
        view: _count(cases_query(actor, dealer_id=dealer_id, view=view, now=now)) for view in VIEWS
    }


def _handles_complaints(user: User | None, dealer_id: int) -> bool:
    return (
        user is not None
        and user.active
        and user.dealer_id == dealer_id
        and user.role in PERMISSIONS["care.complaints"]
    )


def assignable_staff(case: ComplaintCase) -> list[User]:
    """Who may own the case: the active staff of its dealer who handle complaints, by name."""
    roles = [role for role in PERMISSIONS["care.complaints"] if role != Role.HQ_ADMIN]
    return list(
        db.session.scalars(
            select(User)
            .where(User.dealer_id == case.dealer_id, User.active, User.role.in_(roles))
            .order_by(User.name, User.id)
        )
    )


def _take(case: ComplaintCase) -> None:
    """Someone works on it now: a new or reopened case is in progress."""
    if case.status in (CaseStatus.OPEN, CaseStatus.REOPENED):
        CASE.move(case, CaseStatus.IN_PROGRESS)


def assign_case(
    actor: User, case_id: int, assignee_id: int | None, *, now: datetime | None = None
) -> ComplaintCase:
    """Give the case to a staff member of its dealer (it is in progress from now on)."""
    now = now or utcnow()
    case = _locked(staff_case(actor, case_id).id)
    assignee = db.session.get(User, assignee_id) if id_in_range(assignee_id) else None
    if not _handles_complaints(assignee, case.dealer_id):
        raise ValidationFailed(
            _l("Choose someone of this dealer who handles complaints."), field="assignee_id"
        )
    if case.status not in ACTIVE:
        raise ValidationFailed(_l("This complaint is no longer open."), field="assignee_id")
    before = case.assignee_id
    case.assignee_id = assignee.id
    _take(case)
    db.session.flush()
    _audit(actor, "assigned", case, now, assignee=assignee.id, before=before)
    return case


def _add_note(case, author, body: str, *, from_owner: bool, now: datetime) -> ComplaintNote:
    note = ComplaintNote(
        case_id=case.id,
        author_id=getattr(author, "id", None),
        from_owner=from_owner,
        body=body,
        created_at=now,
    )
    db.session.add(note)
    db.session.flush()
    return note


def add_note(actor: User, case_id: int, body: str, *, now: datetime | None = None) -> ComplaintNote:
    """A staff note on the case (for staff only, audited). Whoever writes on a case nobody
    owns takes it."""
    now = now or utcnow()
    body = clean_text(body, field="body", required=True, message=_l("Write the note."))
    case = _locked(staff_case(actor, case_id).id)
    if case.status in ACTIVE:
        if case.assignee_id is None and _handles_complaints(actor, case.dealer_id):
            case.assignee_id = actor.id
        _take(case)
    note = _add_note(case, actor, body, from_owner=False, now=now)
    _audit(actor, "note", case, now, note=note.id)
    return note


def resolve_case(
    actor: User, case_id: int, resolution: str, *, now: datetime | None = None
) -> ComplaintCase:
    """Say what was done: the case waits for the owner's confirmation, and the owner is told
    (inbox, and their e-mail or SMS)."""
    now = now or utcnow()
    resolution = clean_text(
        resolution,
        field="resolution",
        required=True,
        message=_l("Say what was done for the owner."),
    )
    case = _locked(staff_case(actor, case_id).id)
    CASE.move(
        case, CaseStatus.RESOLVED, message=_l("This complaint is not open: nothing to resolve.")
    )
    case.resolution = resolution
    case.resolved_at = now
    case.resolved_by_id = actor.id
    if case.assignee_id is None and _handles_complaints(actor, case.dealer_id):
        case.assignee_id = actor.id
    db.session.flush()
    _audit(actor, "resolved", case, now)
    member = db.session.get(Member, case.member_id)
    notify(
        member,
        "complaint",
        lambda: (
            _l("Your complaint is resolved"),
            _l(
                "%(resolution)s — Is it settled? Confirm it, or tell us it is not, in Me → "
                "Feedback and complaints.",
                resolution=resolution,
            ),
        ),
        dedupe_key=f"complaint:{case.id}:resolved:{case.reopened_count}",
        now=now,
    )
    return case


def notes_of(case: ComplaintCase) -> list[ComplaintNote]:
    """The case's notes, oldest first."""
    return list(
        db.session.scalars(
            select(ComplaintNote)
            .where(ComplaintNote.case_id == case.id)
            .order_by(ComplaintNote.created_at, ComplaintNote.id)
        )
    )


@dataclass(frozen=True)
class CaseRow:
    """A case with what a list of cases shows of it."""

    case: ComplaintCase
    member: Member
    dealer: Dealer
    assignee: User | None
    escalated_to: User | None


def case_rows(cases: list[ComplaintCase]) -> list[CaseRow]:
    """The cases with their owners, dealers and staff (a query for each kind, not per case)."""
    members = _by_id(Member, {c.member_id for c in cases})
    dealers = _by_id(Dealer, {c.dealer_id for c in cases})
    users = _by_id(User, {u for c in cases for u in (c.assignee_id, c.escalated_to_id) if u})
    return [
        CaseRow(
            case,
            members[case.member_id],
            dealers[case.dealer_id],
            users.get(case.assignee_id),
            users.get(case.escalated_to_id),
        )
        for case in cases
    ]


def _by_id(model, ids: set[int]) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))}


def survey_of(case: ComplaintCase) -> VisitSurvey | None:
    """The questionnaire of the case's visit (answered or not), if any."""
    if case.visit_id is None:
        return None
    return db.session.scalar(select(VisitSurvey).where(VisitSurvey.visit_id == case.visit_id))


def visit_of(case: ComplaintCase) -> ServiceVisit | None:
    """The visit the complaint is about, if any."""
    return case.visit


def note_authors(notes: list[ComplaintNote]) -> dict[int, str]:
    """The names of the staff who wrote these notes, by user id (one query)."""
    staff = _by_id(User, {n.author_id for n in notes if n.author_id and not n.from_owner})
    return {user_id: user.name for user_id, user in staff.items()}


def owner_notes(case: ComplaintCase) -> list[ComplaintNote]:
    """What the owner added to their complaint, oldest first (staff notes are not theirs)."""
    return [note for note in notes_of(case) if note.from_owner]


# ----------------------------------------------------------------------------- escalation


def _dealer_admins(dealer_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.dealer_id == dealer_id, User.role == Role.DEALER_ADMIN, User.active)
            .order_by(User.id)
        )
    )


def _tell_admins(case: ComplaintCase, admins: list[User], now: datetime) -> None:
    """A notice on the desk of each of the dealer's admins, once per case's escalation."""
    member = db.session.get(Member, case.member_id)
    link = path_for("care.admin_complaint", case_id=case.id)
    for admin in admins:
        notify_staff(
            admin,
            "complaint_escalated",
            lambda: (
                _l("Complaint overdue: %(name)s", name=member.name),
                _l(
                    "The complaint of %(name)s was due by %(time)s and is still open. It is "
                    "yours to see to: assign it, or resolve it with the owner.",
                    name=member.name,
                    time=format_local_datetime(case.deadline_at, "short"),
                ),
            ),
            dedupe_key=f"complaint:{case.id}:escalated:{case.reopened_count}:{admin.id}",
            link=link,
            now=now,
        )


def escalate_overdue(*, now: datetime | None = None) -> int:
    """The daily job: each case still open past its deadline and not escalated in this round
    (since it was opened or last reopened) goes to its dealer's admins (flagged, audited, a
    notice on each admin's desk; the desk's tile shows it), once per round. Commits each;
    returns how many."""
    now = now or utcnow()
    due = db.session.scalars(
        select(ComplaintCase.id)
        .where(
            ComplaintCase.status.in_(ACTIVE),
            ComplaintCase.deadline_at < now,
            ~_ESCALATED_THIS_ROUND,
        )
        .order_by(ComplaintCase.id)
    ).all()
    escalated = 0
    for case_id in due:
        case = _locked(case_id)
        if case.status in ACTIVE and not is_escalated(case) and case.deadline_at < now:
            admins = _dealer_admins(case.dealer_id)
            case.escalated_at = now
            case.escalated_round = case.reopened_count
            case.escalated_to_id = admins[0].id if admins else None
            db.session.flush()
            _audit(None, "escalated", case, now, to=case.escalated_to_id)
            _tell_admins(case, admins, now)
            escalated += 1
        db.session.commit()
    return escalated


def desk_counts(actor: User, *, now: datetime | None = None) -> tuple[int, int]:
    """For the desk's tile: the cases of the actor's dealer to handle, and how many of them
    are overdue (HQ: every dealer's)."""
    return tuple(
        _count(cases_query(actor, dealer_id=dealer_scope(actor), view=view, now=now))
        for view in ("active", "overdue")
    )
