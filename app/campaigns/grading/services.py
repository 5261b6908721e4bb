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

from datetime import date, datetime, timedelta

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, select

from app.auth.models import User
from app.campaigns.grading.models import CareContact, CareStandard, OwnerGrade, OwnerGrading
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.permissions import Role, has_permission
from app.extensions import db
from app.members.models import Dealer, Member, Vehicle
from app.members.scope import sees_dealer

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


def retained(member_id_column):
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
    return db.session.scalar(select(retained(Member.id)).where(Member.id == member.id))


# ------------------------------------------------------------------------------ grades


def current_grading(member: Member) -> OwnerGrading | None:
    """The grading in force at the owner's dealer: the newest one, or None."""
    return db.session.scalars(
        select(OwnerGrading)
        .where(OwnerGrading.member_id == member.id, OwnerGrading.dealer_id == member.dealer_id)
        .order_by(OwnerGrading.id.desc())
        .limit(1)
    ).first()


def responsible_consultants(member_ids) -> dict[int, int]:
    """The consultant responsible for each graded owner (the grading in force at the owner's
    dealer), while they are active staff of that dealer: member id → user id."""
    ids = list(member_ids)
    if not ids:
        return {}
    newest = (
        select(func.max(OwnerGrading.id))
        .join(
            Member,
            and_(Member.id == OwnerGrading.member_id, Member.dealer_id == OwnerGrading.dealer_id),
        )
        .where(OwnerGrading.member_id.in_(ids))
        .group_by(OwnerGrading.member_id)
    )
    rows = db.session.execute(
        select(OwnerGrading.member_id, OwnerGrading.consultant_id)
        .join(User, User.id == OwnerGrading.consultant_id)
        .where(
            OwnerGrading.id.in_(newest),
            User.active.is_(True),
            User.dealer_id == OwnerGrading.dealer_id,
        )
    )
    return dict(rows.all())


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


def care_intervals(dealer_ids) -> dict[int, dict[OwnerGrade, int]]:
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
