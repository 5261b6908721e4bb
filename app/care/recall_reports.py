"""The recall report (issue 20; seed 002: 分类回访统计, 记录、分析流失原因): per dealer and month,
the lost owners the daily job gave the agents to call (the recall tasks made that month), how
many were called and reached, the reasons they gave, and how many were won back.

Won back: a recall task whose owner was reached (or, unreached three times, sent the message)
and whose car had a counted service visit, at any of the group's dealers, within
``RECALL_WON_BACK_DAYS`` (60) days of the last call: the call's day is day 0, day 60 counts,
day 61 does not. It is worked out here, from the visits, not marked by the job, so a visit the
DMS sends late still counts. The figures are also split into the seed's six classes (本地,
外地, and each in and out of warranty).
"""

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import and_, case, exists, func, select

from app.auth.models import User
from app.care.models import CallOutcome, CareCall, CareTask
from app.care.recall import CLASS_GROUPS, GROUP_LABELS, RECALL
from app.care.return_rates import days_between, month_last, reason_rows, workshops_table
from app.care.settings import setting
from app.care.tasks import TaskStatus
from app.core.clock import local_date, utcnow
from app.core.reports import Column, Report, Table, chart, percent, row
from app.extensions import db
from app.members.scope import dealer_scope, scoped_dealers
from app.service.models import COUNTED_VISIT, ServiceVisit

# Called, then: reached, or the message after three misses. Both are a recall measure.
CONTACTED = (TaskStatus.REACHED.value, TaskStatus.SMS_SENT.value)
# (key, what the figure counts): the columns of the dealer and class tables.
FIGURES = ("lost", "called", "reached", "wrong", "won")


def _month_tasks(scope: int | None, month: date):
    """SQL: the recall tasks made in the month (in scope), with what the report counts."""
    last_call = (
        select(func.max(CallOutcome.called_on))
        .where(CallOutcome.task_id == CareTask.id)
        .scalar_subquery()
    )
    query = select(
        CareTask.id,
        CareTask.dealer_id,
        CareTask.vehicle_id,
        CareTask.recall_class,
        CareTask.status,
        exists().where(CareCall.task_id == CareTask.id).label("called"),
        last_call.label("last_call"),
    ).where(CareTask.kind == RECALL, CareTask.due_on.between(month, month_last(month)))
    if scope is not None:
        query = query.where(CareTask.dealer_id == scope)
    return query.subquery()


def _counts(scope: int | None, month: date) -> dict[tuple[int, str], list[int]]:
    """Per (dealer, class): lost, called, reached, wrong number, won back."""
    tasks = _month_tasks(scope, month)
    days = setting("RECALL_WON_BACK_DAYS")
    came = exists().where(
        ServiceVisit.vehicle_id == tasks.c.vehicle_id,
        COUNTED_VISIT,
        ServiceVisit.visited_on >= tasks.c.last_call,
        days_between(ServiceVisit.visited_on, tasks.c.last_call) <= days,
    )
    won = and_(tasks.c.status.in_(CONTACTED), tasks.c.last_call.is_not(None), came)

    def total(condition):
        return func.sum(case((condition, 1), else_=0))

    rows = db.session.execute(
        select(
            tasks.c.dealer_id,
            tasks.c.recall_class,
            func.count(),
            total(tasks.c.called),
            total(tasks.c.status == TaskStatus.REACHED.value),
            total(tasks.c.status == TaskStatus.WRONG_NUMBER.value),
            total(won),
        ).group_by(tasks.c.dealer_id, tasks.c.recall_class)
    )
    return {(d, k): [int(n or 0) for n in figures] for d, k, *figures in rows}


def _sum(counts: dict, *, dealer=None, classes=None) -> list[int]:
    sums = [0] * len(FIGURES)
    for (d, k), figures in counts.items():
        if dealer in (None, d) and (classes is None or k in classes):
            sums = [a + b for a, b in zip(sums, figures, strict=True)]
    return sums


def _figure_cells(figures: list[int]) -> list:
    lost, *_rest, won = figures
    return [*figures, percent(won, lost)]


def _columns(first: str) -> list[Column]:
    return [
        Column(first),
        Column(_("Lost owners to call"), True),
        Column(_("Phoned"), True),
        Column(_("Reached"), True),
        Column(_("Number dead or wrong"), True),
        Column(_("Won back"), True),
        Column(_("Won back %"), True),
    ]


def recall_report(
    actor: User,
    *,
    dealer_id: int | None = None,
    month: date | None = None,
    now: datetime | None = None,
) -> Report:
    """The month's recall figures per dealer and class, the reasons, the other workshops."""
    scope = dealer_scope(actor, dealer_id)
    today = local_date(now or utcnow())
    month = month or today.replace(day=1)
    counts = _counts(scope, month)
    dealers = scoped_dealers(scope)
    dealer_rows, bars = [], []
    for dealer in dealers:
        figures = _sum(counts, dealer=dealer.id)
        dealer_rows.append(row(dealer.code, *_figure_cells(figures)))
        lost, called, reached, _wrong, won = figures
        bars.append(
            (
                dealer.code,
                f"{won} / {lost}",
                [
                    ("insight-fill-in", _("Won back"), won),
                    ("insight-fill-bar", _("Reached"), reached - min(won, reached)),
                    ("insight-fill-swinging", _("Phoned, not reached"), called - reached),
                    ("insight-fill-out", _("Not called yet"), lost - called),
                ],
            )
        )
    by_dealer = Table(
        "dealers",
        _("Recall by dealer"),
        _columns(_("Dealer")),
        dealer_rows,
        row(_("Total"), *_figure_cells(_sum(counts))) if len(dealers) > 1 else None,
        _("No dealer."),
    )
    by_class = Table(
        "classes",
        _("Recall by class"),
        _columns(_("Class")),
        [
            row(str(GROUP_LABELS[group]), *_figure_cells(_sum(counts, classes=members)))
            for group, members in CLASS_GROUPS.items()
        ],
    )
    tasks = (
        select(CareTask.id, CareTask.kind)
        .where(CareTask.kind == RECALL, CareTask.due_on.between(month, month_last(month)))
        .where(*([CareTask.dealer_id == scope] if scope is not None else []))
        .subquery()
    )
    reasons, shops = reason_rows(tasks, kinds=(RECALL,))
    why = Table(
        "reasons",
        _("Why lost owners do not come"),
        [Column(_("Reason")), Column(_("Owners"), True)],
        [cells[:2] for cells in reasons],
        empty=_("No reason recorded yet."),
    )
    drawn = chart(
        _("Recall by dealer"),
        bars,
        legend=[
            ("insight-fill-in", _("Won back")),
            ("insight-fill-bar", _("Reached")),
            ("insight-fill-swinging", _("Phoned, not reached")),
            ("insight-fill-out", _("Not called yet")),
        ],
    )
    return Report(
        scope,
        [by_dealer, by_class, why, workshops_table(shops, lambda _kind: _("Recall"))],
        [drawn],
        facts={"month": month, "won_back_days": setting("RECALL_WON_BACK_DAYS")},
    )
