"""ABC grading of retained owners (seed 003, 保有客户分级管理ABC; R11).

A retained owner (保有客户) is a member with at least one car. Staff of the owner's dealer grade
them A, B or C (成交客户资料卡上标记客户类别), naming the consultant responsible for their care; the
dealer's managers set a care standard per grade — how often the consultant contacts the owner
(销售主管…制定业代回访频次) and what the care is. The page lists, per consultant, the owners whose
care is overdue.

Decisions a manager should know (the pages say them too):

- Grades are per dealer: an owner's grade in force is the newest grading at the dealer they
  belong to now. A regrading appends a row; the history stays, and each grading is audited.
- Next contact due = the later of the last reached contact and the day the owner was first
  graded at the dealer, plus the grade's interval. Regrading does not restart the clock (it
  would hide overdue care); a contact that did not reach the owner does not either.
- Reached contacts are those logged here and the reached calls of the dealer's care tasks for
  the owner (app/care: first maintenance, lost customer…): a care call is a contact too.
- Overdue means the due day has passed: due today is not overdue, due yesterday is 1 day
  overdue. Days are local days (the club's time zone).
- Without a saved standard a dealer uses the defaults: A every 30 days, B 60, C 90.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.campaigns.models import CareContact, CareStandard, OwnerGrade, OwnerGrading
from app.care.models import CareCall, CareTask
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.identifiers import mask_mobile
from app.core.permissions import Role, has_permission
from app.core.reports import (
    NONE,
    Cell,
    Column,
    Export,
    ListPagination,
    Report,
    Table,
    export_table,
    row,
)
from app.core.scope import dealer_scope, scoped_dealers, sees_dealer
from app.extensions import db
from app.members.models import Dealer, Member, Vehicle

GRADES = (OwnerGrade.A, OwnerGrade.B, OwnerGrade.C)
GRADE_LABELS = {
    OwnerGrade.A: _l("Grade A"),
    OwnerGrade.B: _l("Grade B"),
    OwnerGrade.C: _l("Grade C"),
}
# (interval in days, care) when a dealer has saved no standard (seed 003's recommendation:
# the best owners most often).
DEFAULT_STANDARDS = {
    OwnerGrade.A: (30, _l("Call monthly; birthday visit; first invitation to every event.")),
    OwnerGrade.B: (60, _l("Call every two months; birthday greeting; event invitations.")),
    OwnerGrade.C: (90, _l("Call every quarter; greetings on holidays.")),
}
MAX_INTERVAL_DAYS = 365
REASON_MAX = 200
DESCRIPTION_MAX = 300
NOTE_MAX = 500
# A contact may be logged up to this many days after it happened.
BACKDATE_DAYS = 30
PER_PAGE = 25
# Who may be responsible for an owner's care: the dealer's staff who call owners.
CONSULTANT_ROLES = frozenset(
    {Role.SALES_CONSULTANT, Role.SHOWROOM_MANAGER, Role.CARE_AGENT, Role.DEALER_ADMIN}
)
# Owner list filters: not graded yet, or one grade.
OWNER_FILTERS = ("ungraded", "A", "B", "C")


def grade_label(grade) -> str:
    """'Grade A' in the user's language."""
    return str(GRADE_LABELS[OwnerGrade(grade)])


def sees_every_consultant(actor: User) -> bool:
    """Managers see every consultant's owners; a consultant or care agent sees their own."""
    return has_permission(actor, "campaigns.grading_standards")


def _retained(member_id_column):
    """SQL: the member owns at least one car (保有客户)."""
    return exists().where(Vehicle.member_id == member_id_column)


def get_owner(actor: User, member_id: int) -> Member:
    """The owner, or 404 when missing or of another dealer than the actor's (HQ: any)."""
    member = db.session.get(Member, member_id)
    if member is None or not sees_dealer(actor, member.dealer_id):
        abort(404)
    return member


def is_retained(member: Member) -> bool:
    """True when the member owns a car."""
    return db.session.scalar(select(_retained(Member.id)).where(Member.id == member.id))


# ------------------------------------------------------------------------------ grades


def current_grading(member: Member) -> OwnerGrading | None:
    """The grading in force at the owner's dealer: the newest one, or None."""
    return db.session.scalars(
        select(OwnerGrading)
        .where(OwnerGrading.member_id == member.id, OwnerGrading.dealer_id == member.dealer_id)
        .order_by(OwnerGrading.id.desc())
        .limit(1)
    ).first()


def grading_history(member: Member) -> list[OwnerGrading]:
    """The owner's gradings at their dealer, newest first."""
    return list(
        db.session.scalars(
            select(OwnerGrading)
            .where(OwnerGrading.member_id == member.id, OwnerGrading.dealer_id == member.dealer_id)
            .order_by(OwnerGrading.id.desc())
        )
    )


def consultant_choices(dealer_id: int) -> list[User]:
    """The dealer's active staff who may be responsible for an owner's care, by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.dealer_id == dealer_id,
                User.active.is_(True),
                User.role.in_([r.value for r in CONSULTANT_ROLES]),
            )
            .order_by(User.name, User.id)
        )
    )


def _consultant(actor: User, dealer_id: int, consultant_id: int | None) -> User:
    """The responsible consultant: the one chosen, else the grader when they may be one."""
    if consultant_id is None:
        if actor.dealer_id == dealer_id and actor.role in CONSULTANT_ROLES:
            return actor
        raise ValidationFailed(
            _("Choose the consultant responsible for this owner."), field="consultant_id"
        )
    user = db.session.get(User, consultant_id)
    if (
        user is None
        or not user.active
        or user.dealer_id != dealer_id
        or user.role not in CONSULTANT_ROLES
    ):
        raise ValidationFailed(
            _("The responsible consultant must be an active staff member of the owner's dealer."),
            field="consultant_id",
        )
    return user


def grade_owner(
    actor: User,
    member_id: int,
    *,
    grade: str,
    reason: str,
    consultant_id: int | None = None,
    now: datetime | None = None,
) -> OwnerGrading:
    """Grade a retained owner A/B/C at their dealer, naming the responsible consultant (the
    grader by default); a regrading appends a row. Audited; refused and nothing saved when
    the actor is of another dealer or the input is wrong."""
    if not has_permission(actor, "campaigns.grading"):
        raise Forbidden(_("Your account may not grade owners."))
    member = db.session.get(Member, member_id)
    if member is None:
        raise NotFound(_("No such owner."))
    if not sees_dealer(actor, member.dealer_id):
        raise Forbidden(_("You can grade only the owners of your own dealer."))
    if grade not in {g.value for g in GRADES}:
        raise ValidationFailed(_("Choose grade A, B or C."), field="grade")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say in a few words why this grade."), field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            _("Keep the reason to %(max)s characters.", max=REASON_MAX), field="reason"
        )
    if not is_retained(member):
        raise ValidationFailed(
            _("Only retained owners — owners with a car — are graded; this owner has no car.")
        )
    consultant = _consultant(actor, member.dealer_id, consultant_id)
    now = now or utcnow()
    before = current_grading(member)
    row = OwnerGrading(
        dealer_id=member.dealer_id,
        member_id=member.id,
        grade=OwnerGrade(grade),
        consultant_id=consultant.id,
        graded_by_id=actor.id,
        graded_at=now,
        reason=reason,
    )
    db.session.add(row)
    db.session.flush()
    record_audit(
        actor,
        "abc.owner_graded",
        subject=row,
        dealer_id=member.dealer_id,
        details={
            "member_id": member.id,
            "grade": [before.grade.value if before else None, row.grade.value],
            "consultant_id": [before.consultant_id if before else None, consultant.id],
            "reason": reason,
        },
        now=now,
    )
    return row


# --------------------------------------------------------------------------- standards


def current_standards(dealer_id: int) -> dict[OwnerGrade, CareStandard]:
    """The dealer's standard per grade: saved ones, else the defaults (not saved)."""
    saved = {
        s.grade: s
        for s in db.session.scalars(select(CareStandard).where(CareStandard.dealer_id == dealer_id))
    }
    return {
        g: saved.get(g)
        or CareStandard(
            dealer_id=dealer_id,
            grade=g,
            interval_days=DEFAULT_STANDARDS[g][0],
            description=str(DEFAULT_STANDARDS[g][1]),
        )
        for g in GRADES
    }


def _intervals(dealer_ids) -> dict[int, dict[OwnerGrade, int]]:
    """Interval days per dealer and grade, saved or default, in one query."""
    result = {d: {g: DEFAULT_STANDARDS[g][0] for g in GRADES} for d in dealer_ids}
    if dealer_ids:
        rows = db.session.execute(
            select(CareStandard.dealer_id, CareStandard.grade, CareStandard.interval_days).where(
                CareStandard.dealer_id.in_(list(dealer_ids))
            )
        )
        for dealer_id, grade, days in rows:
            result[dealer_id][OwnerGrade(grade)] = days
    return result


def _check_standards(standards: dict) -> None:
    for g in GRADES:
        days, description = standards[g.value]
        field = f"{g.value.lower()}_days"
        if (
            not isinstance(days, int)
            or isinstance(days, bool)
            or not 1 <= days <= MAX_INTERVAL_DAYS
        ):
            raise ValidationFailed(
                _(
                    "%(grade)s: the contact interval must be 1 to %(max)s days.",
                    grade=grade_label(g),
                    max=MAX_INTERVAL_DAYS,
                ),
                field=field,
            )
        if len((description or "").strip()) > DESCRIPTION_MAX:
            raise ValidationFailed(
                _(
                    "%(grade)s: keep the care description to %(max)s characters.",
                    grade=grade_label(g),
                    max=DESCRIPTION_MAX,
                ),
                field=f"{g.value.lower()}_description",
            )
    a, b, c = (standards[g.value][0] for g in GRADES)
    if not a <= b <= c:
        raise ValidationFailed(
            _(
                "A owners are contacted at least as often as B owners, and B owners at least as "
                "often as C owners: the intervals must be A ≤ B ≤ C days."
            )
        )


def update_standards(
    actor: User, dealer_id: int, *, standards: dict[str, tuple[int, str]], now=None
) -> list[CareStandard]:
    """Set the dealer's care standard per grade: ``{"A": (days, description), …}``. A dealer's
    managers their own dealer's, HQ any dealer's; refused and nothing saved when out of range
    or when a better grade would be contacted less often. Audited."""
    if not has_permission(actor, "campaigns.grading_standards"):
        raise Forbidden(_("Your account may not change the care standards."))
    if db.session.get(Dealer, dealer_id) is None:
        raise NotFound(_("No such dealer."))
    if not sees_dealer(actor, dealer_id):
        raise Forbidden(_("You can change only your own dealer's care standards."))
    if set(standards) != {g.value for g in GRADES}:
        raise ValidationFailed(_("Give a standard for each of the grades A, B and C."))
    _check_standards(standards)
    now = now or utcnow()
    changes = {}
    rows = []
    for g, standard in current_standards(dealer_id).items():
        days, description = standards[g.value]
        description = (description or "").strip()
        if standard.id is None:
            db.session.add(standard)
            old = None
        else:
            old = [standard.interval_days, standard.description]
        if old != [days, description]:
            changes[g.value] = [old, [days, description]]
        standard.interval_days = days
        standard.description = description
        standard.updated_at = now
        standard.updated_by_id = actor.id
        rows.append(standard)
    db.session.flush()
    record_audit(
        actor,
        "abc.standards_changed",
        dealer_id=dealer_id,
        details={"changes": changes},
        now=now,
    )
    return rows


# ---------------------------------------------------------------------------- contacts


def log_contact(
    actor: User,
    member_id: int,
    *,
    reached: bool,
    note: str = "",
    contacted_on: date | None = None,
    now: datetime | None = None,
) -> CareContact:
    """Log a care contact with a graded owner (today, or a day up to BACKDATE_DAYS ago). A
    reached contact restarts the owner's care interval. Audited."""
    if not has_permission(actor, "campaigns.grading"):
        raise Forbidden(_("Your account may not log care contacts."))
    member = db.session.get(Member, member_id)
    if member is None:
        raise NotFound(_("No such owner."))
    if not sees_dealer(actor, member.dealer_id):
        raise Forbidden(_("You can log contacts only with the owners of your own dealer."))
    if current_grading(member) is None:
        raise ValidationFailed(
            _("Grade the owner first: care contacts are kept for graded owners.")
        )
    now = now or utcnow()
    today = local_date(now)
    contacted_on = contacted_on or today
    if contacted_on > today:
        raise ValidationFailed(_("A contact cannot be in the future."), field="contacted_on")
    if contacted_on < today - timedelta(days=BACKDATE_DAYS):
        raise ValidationFailed(
            _("Log a contact within %(days)s days of making it.", days=BACKDATE_DAYS),
            field="contacted_on",
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed(
            _("Keep the note to %(max)s characters.", max=NOTE_MAX), field="note"
        )
    contact = CareContact(
        dealer_id=member.dealer_id,
        member_id=member.id,
        staff_id=actor.id,
        contacted_on=contacted_on,
        reached=bool(reached),
        note=note,
        created_at=now,
    )
    db.session.add(contact)
    db.session.flush()
    record_audit(
        actor,
        "abc.contact_logged",
        subject=contact,
        dealer_id=member.dealer_id,
        details={
            "member_id": member.id,
            "contacted_on": contacted_on.isoformat(),
            "reached": contact.reached,
        },
        now=now,
    )
    return contact


def recent_contacts(member: Member, limit: int = 20) -> list[CareContact]:
    """The owner's care contacts at their dealer, newest first."""
    return list(
        db.session.scalars(
            select(CareContact)
            .where(CareContact.member_id == member.id, CareContact.dealer_id == member.dealer_id)
            .order_by(CareContact.contacted_on.desc(), CareContact.id.desc())
            .limit(limit)
        )
    )


# ------------------------------------------------------------------------------ status


@dataclass(frozen=True)
class OwnerCare:
    """A graded owner's care: grade, consultant, last reached contact, when the next is due."""

    member_id: int
    name: str
    mobile: str
    dealer_id: int
    grade: OwnerGrade
    consultant_id: int
    consultant: str
    last_contact: date | None
    due_on: date
    days_overdue: int  # > 0: overdue by that many days


def _latest_gradings(scope: int | None):
    """Ids of the gradings in force: the newest per owner at the owner's current dealer."""
    query = (
        select(func.max(OwnerGrading.id).label("id"))
        .join(
            Member,
            and_(Member.id == OwnerGrading.member_id, Member.dealer_id == OwnerGrading.dealer_id),
        )
        .group_by(OwnerGrading.member_id)
    )
    if scope is not None:
        query = query.where(OwnerGrading.dealer_id == scope)
    return query


def care_statuses(
    scope: int | None, today: date, *, member_id: int | None = None
) -> list[OwnerCare]:
    """Every graded owner of dealer ``scope`` (None: every dealer), or just ``member_id``,
    with their due day, most overdue first."""
    first = (
        select(
            OwnerGrading.member_id,
            OwnerGrading.dealer_id,
            func.min(OwnerGrading.graded_at).label("first_at"),
        )
        .group_by(OwnerGrading.member_id, OwnerGrading.dealer_id)
        .subquery("first_graded")
    )
    contacts = (
        select(
            CareContact.member_id,
            CareContact.dealer_id,
            func.max(CareContact.contacted_on).label("last_on"),
        )
        .where(CareContact.reached.is_(True))
        .group_by(CareContact.member_id, CareContact.dealer_id)
        .subquery("contacts")
    )
    calls = (
        select(
            CareTask.member_id,
            CareTask.dealer_id,
            func.max(CareCall.called_at).label("last_at"),
        )
        .join(CareTask, CareTask.id == CareCall.task_id)
        .where(CareCall.reached.is_(True))
        .group_by(CareTask.member_id, CareTask.dealer_id)
        .subquery("calls")
    )
    consultant = aliased(User)
    owner_user = aliased(User)
    latest = _latest_gradings(scope)
    if member_id is not None:
        latest = latest.where(OwnerGrading.member_id == member_id)
    rows = db.session.execute(
        select(
            OwnerGrading.member_id,
            OwnerGrading.dealer_id,
            OwnerGrading.grade,
            OwnerGrading.consultant_id,
            consultant.name.label("consultant"),
            Member.name,
            owner_user.mobile,
            first.c.first_at,
            contacts.c.last_on,
            calls.c.last_at,
        )
        .where(OwnerGrading.id.in_(latest))
        .join(Member, Member.id == OwnerGrading.member_id)
        .join(owner_user, owner_user.id == Member.user_id)
        .join(consultant, consultant.id == OwnerGrading.consultant_id)
        .join(
            first,
            and_(
                first.c.member_id == OwnerGrading.member_id,
                first.c.dealer_id == OwnerGrading.dealer_id,
            ),
        )
        .outerjoin(
            contacts,
            and_(
                contacts.c.member_id == OwnerGrading.member_id,
                contacts.c.dealer_id == OwnerGrading.dealer_id,
            ),
        )
        .outerjoin(
            calls,
            and_(
                calls.c.member_id == OwnerGrading.member_id,
                calls.c.dealer_id == OwnerGrading.dealer_id,
            ),
        )
    ).all()
    intervals = _intervals({owner.dealer_id for owner in rows})
    result = []
    for owner in rows:
        reached = [d for d in (owner.last_on, owner.last_at and local_date(owner.last_at)) if d]
        last = max(reached) if reached else None
        base = max(local_date(owner.first_at), last) if last else local_date(owner.first_at)
        grade = OwnerGrade(owner.grade)
        due = base + timedelta(days=intervals[owner.dealer_id][grade])
        result.append(
            OwnerCare(
                member_id=owner.member_id,
                name=owner.name,
                mobile=owner.mobile,
                dealer_id=owner.dealer_id,
                grade=grade,
                consultant_id=owner.consultant_id,
                consultant=owner.consultant,
                last_contact=last,
                due_on=due,
                days_overdue=(today - due).days,
            )
        )
    result.sort(key=lambda c: (-c.days_overdue, c.name, c.member_id))
    return result


def care_of(member: Member, *, now: datetime | None = None) -> OwnerCare | None:
    """The owner's care status at their dealer, or None when not graded."""
    today = local_date(now or utcnow())
    return next(iter(care_statuses(member.dealer_id, today, member_id=member.id)), None)


# ------------------------------------------------------------------------------ report


def _grade_counts(scope: int | None) -> Table:
    """Retained owners per dealer: graded A, B, C and not graded yet."""
    in_force = select(OwnerGrading.member_id, OwnerGrading.grade).where(
        OwnerGrading.id.in_(_latest_gradings(scope))
    )
    in_force = in_force.subquery("in_force")
    query = (
        select(Member.dealer_id, in_force.c.grade, func.count())
        .outerjoin(in_force, in_force.c.member_id == Member.id)
        .where(_retained(Member.id))
        .group_by(Member.dealer_id, in_force.c.grade)
    )
    if scope is not None:
        query = query.where(Member.dealer_id == scope)
    counts: dict[tuple[int, str | None], int] = {}
    for dealer_id, grade, n in db.session.execute(query):
        counts[(dealer_id, grade and OwnerGrade(grade).value)] = n
    keys = [g.value for g in GRADES] + [None]
    rows, totals = [], [0] * 5
    for dealer in scoped_dealers(scope):
        figures = [counts.get((dealer.id, k), 0) for k in keys]
        figures.append(sum(figures))
        totals = [t + f for t, f in zip(totals, figures, strict=True)]
        rows.append(row(f"{dealer.code} · {dealer.name}", *figures))
    return Table(
        "grades",
        _("Retained owners per grade"),
        [
            Column(_("Dealer")),
            *(Column(grade_label(g), True) for g in GRADES),
            Column(_("Not graded"), True),
            Column(_("Retained owners"), True),
        ],
        rows,
        row(_("Total"), *totals) if len(rows) > 1 else None,
        _("No dealer."),
    )


def _consultant_table(
    statuses: list[OwnerCare], codes: dict[int, str] | None = None
) -> tuple[Table, list[int]]:
    """Per consultant: owners graded (by grade), overdue, the longest overdue. With ``codes``
    (every dealer shown) the consultant's dealer follows their name."""
    by_consultant: dict[int, dict] = {}
    for c in statuses:
        name = f"{c.consultant} · {codes[c.dealer_id]}" if codes else c.consultant
        entry = by_consultant.setdefault(
            c.consultant_id,
            {"name": name, "grades": dict.fromkeys(GRADES, 0), "overdue": 0, "max": 0},
        )
        entry["grades"][c.grade] += 1
        if c.days_overdue > 0:
            entry["overdue"] += 1
            entry["max"] = max(entry["max"], c.days_overdue)
    ordered = sorted(
        by_consultant.items(), key=lambda kv: (-kv[1]["overdue"], -kv[1]["max"], kv[1]["name"])
    )
    rows, ids = [], []
    for consultant_id, e in ordered:
        ids.append(consultant_id)
        rows.append(
            row(
                e["name"],
                sum(e["grades"].values()),
                *(e["grades"][g] for g in GRADES),
                e["overdue"],
                e["max"] or NONE,
            )
        )
    totals = None
    if len(rows) > 1:
        totals = row(
            _("Total"),
            len(statuses),
            *(sum(1 for c in statuses if c.grade == g) for g in GRADES),
            sum(1 for c in statuses if c.days_overdue > 0),
            max((c.days_overdue for c in statuses if c.days_overdue > 0), default=0) or NONE,
        )
    table = Table(
        "consultants",
        _("Overdue care per consultant"),
        [
            Column(_("Consultant")),
            Column(_("Graded owners"), True),
            *(Column(grade_label(g), True) for g in GRADES),
            Column(_("Overdue"), True),
            Column(_("Most days overdue"), True),
        ],
        rows,
        totals,
        _("No graded owner yet: grade your retained owners to plan their care."),
    )
    return table, ids


def care_report(
    actor: User,
    *,
    dealer_id: int | None = None,
    consultant_id: int | None = None,
    page: int | None = None,
    per_page: int = PER_PAGE,
    now: datetime | None = None,
) -> Report:
    """Grade counts per dealer, overdue care per consultant and the overdue owners (most
    overdue first; a page of them, or all when ``page`` is None). A consultant sees their own
    owners; managers every consultant's of their dealer, HQ every dealer's."""
    scope = dealer_scope(actor, dealer_id)
    today = local_date(now or utcnow())
    statuses = care_statuses(scope, today)
    every = sees_every_consultant(actor)
    grades = _grade_counts(scope)
    if not every:
        consultant_id = actor.id
        statuses = [c for c in statuses if c.consultant_id == actor.id]
    codes = None
    if scope is None:
        codes = {d: code for d, code in db.session.execute(select(Dealer.id, Dealer.code))}
    consultants, consultant_ids = _consultant_table(statuses, codes)
    chosen = db.session.get(User, consultant_id) if consultant_id is not None else None
    if chosen is not None and chosen.dealer_id is not None and sees_dealer(actor, chosen.dealer_id):
        statuses = [c for c in statuses if c.consultant_id == chosen.id]
    else:
        chosen = None
    overdue = [c for c in statuses if c.days_overdue > 0]
    pagination = None
    if page is not None:
        pagination = ListPagination(
            page=page, per_page=per_page, max_per_page=None, error_out=False, items=overdue
        )
        shown = pagination.items
    else:
        shown = overdue
    rows = [
        row(
            Cell(c.name, c.member_id),
            c.days_overdue,
            c.grade.value,
            c.last_contact.isoformat() if c.last_contact else NONE,
            mask_mobile(c.mobile),
            c.due_on.isoformat(),
            c.consultant,
        )
        for c in shown
    ]
    owners = Table(
        "overdue",
        _("Owners whose care is overdue"),
        [
            # What a consultant needs first on a phone comes first.
            Column(_("Owner")),
            Column(_("Days overdue"), True),
            Column(_("Grade")),
            Column(_("Last contact")),
            Column(_("Mobile")),
            Column(_("Due on")),
            Column(_("Consultant")),
        ],
        rows,
        empty=_("No overdue care: every graded owner was contacted in time."),
    )
    return Report(
        scope,
        # Managers look at their consultants first; a consultant at their own overdue owners.
        [consultants, owners, grades] if every else [owners, consultants, grades],
        page=pagination,
        facts={
            "today": today,
            "consultant": chosen,
            "consultant_ids": consultant_ids,
            "overdue": len(overdue),
            "graded": len(statuses),
            "standards": current_standards(scope) if scope is not None else None,
        },
    )


def export_care(
    actor: User,
    key: str | None,
    *,
    dealer_id: int | None = None,
    consultant_id: int | None = None,
    now: datetime | None = None,
) -> Export | None:
    """One table of the care page, every row, as CSV; None for an unknown table. Exporting
    the overdue owners (names, masked mobiles) is audited."""
    now = now or utcnow()
    report = care_report(actor, dealer_id=dealer_id, consultant_id=consultant_id, now=now)
    export = export_table(report, key, prefix="abc-care", stamp=local_date(now))
    table = report.table(key)
    if export is not None and table.key == "overdue":
        record_audit(
            actor,
            "abc.overdue_exported",
            dealer_id=report.dealer_id,
            details={"rows": len(table.rows), "consultant_id": consultant_id},
            now=now,
        )
    return export


# ------------------------------------------------------------------------------ owners


def owner_list(
    actor: User,
    *,
    dealer_id: int | None = None,
    grade: str = "ungraded",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> tuple[Pagination, dict[int, OwnerGrading], int | None]:
    """Retained owners in scope, not graded yet or of one grade, by name: a page of them,
    their gradings in force by owner id, and the dealer scope."""
    scope = dealer_scope(actor, dealer_id)
    latest = _latest_gradings(scope)
    in_force = (
        select(OwnerGrading.member_id, OwnerGrading.grade)
        .where(OwnerGrading.id.in_(latest))
        .subquery("in_force")
    )
    query = (
        select(Member)
        .outerjoin(in_force, in_force.c.member_id == Member.id)
        .where(_retained(Member.id))
        .order_by(Member.name, Member.id)
    )
    if scope is not None:
        query = query.where(Member.dealer_id == scope)
    if grade in ("A", "B", "C"):
        query = query.where(in_force.c.grade == OwnerGrade(grade).value)
    else:
        query = query.where(in_force.c.member_id.is_(None))
    pagination = db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
    gradings = {}
    ids = [m.id for m in pagination.items]
    if ids:
        gradings = {
            g.member_id: g
            for g in db.session.scalars(
                select(OwnerGrading).where(
                    OwnerGrading.id.in_(latest), OwnerGrading.member_id.in_(ids)
                )
            )
        }
    return pagination, gradings, scope
