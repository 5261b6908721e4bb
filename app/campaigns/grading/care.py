"""Who is due care (ABC grading, seed 003): each graded owner's next contact and how overdue
it is, the care page (grade counts, overdue care per consultant, the overdue owners) and the
list of retained owners to grade. The rules for the due day are in ``services.py``'s module
docstring."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.campaigns.grading.models import CareContact, OwnerGrade, OwnerGrading
from app.campaigns.grading.services import (
    GRADES,
    care_intervals,
    current_standards,
    grade_label,
    retained,
    sees_every_consultant,
)
from app.care.models import CareCall, CareTask
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.identifiers import mask_mobile
from app.core.reports import (
    NONE,
    Cell,
    Column,
    Export,
    ListPagination,
    Report,
    Table,
    row,
)
from app.extensions import db
from app.members.models import Dealer, Member
from app.members.scope import dealer_scope, export_table, scoped_dealers, sees_dealer

PER_PAGE = 25


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
    consultant = aliased(User)
    owner_user = aliased(User)
    latest = _latest_gradings(scope)
    if member_id is not None:
        latest = latest.where(OwnerGrading.member_id == member_id)
    # Only the graded owners' calls: every visit's callback is a care call (issue 20), and
    # grouping all of them took a second at 100,000 owners.
    graded = select(OwnerGrading.member_id).where(OwnerGrading.id.in_(latest))
    calls = (
        select(
            CareTask.member_id,
            CareTask.dealer_id,
            func.max(CareCall.called_at).label("last_at"),
        )
        .join(CareTask, CareTask.id == CareCall.task_id)
        .where(CareCall.reached.is_(True), CareTask.member_id.in_(graded))
        .group_by(CareTask.member_id, CareTask.dealer_id)
        .subquery("calls")
    )
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
    intervals = care_intervals({owner.dealer_id for owner in rows})
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
        .where(retained(Member.id))
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
        .where(retained(Member.id))
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
