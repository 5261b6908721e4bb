"""Satisfaction after visits (R8, seed 002), a month per dealer and per service advisor: the
questionnaires sent and answered, the scores, and the complaint cases opened, resolved and
overdue. A few GROUP BY queries on the month's rows, shown and exported cell for cell
(app/core/reports.py); scoped to the viewer's dealer, HQ every dealer or the one it picks.

Decisions a manager should know (the page says them too):

- A month's questionnaires are those of the visits recorded in it (local time); a refunded
  visit's questionnaire is withdrawn and not counted. Response rate = answered ÷ sent.
- Mean score is out of 10; "9–10" and "0–6" are the shares of answers that would and would not
  recommend the dealer, and NPS is the first share less the second, in points (-100 to 100).
- The advisor is who recorded the visit at the service desk; visits the DMS pushed have none.
- A month's complaints are those opened in it; resolved = resolved or confirmed now; overdue =
  past its deadline before it was resolved (escalated, resolved late, or still open and late).
"""

from dataclasses import dataclass, fields
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select

from app.auth.models import User
from app.care.followups.models import ACTIVE, CaseStatus, ComplaintCase, SurveyStatus, VisitSurvey
from app.core.clock import utcnow
from app.core.reports import NONE, Column, Report, Table, chart, percent, row
from app.extensions import db
from app.members.scope import dealer_scope, scoped_dealers
from app.service.models import ServiceVisit

PROMOTER_FROM = 9
DETRACTOR_UP_TO = 6


@dataclass
class Figures:
    """The month's counts of one dealer or advisor."""

    sent: int = 0
    answered: int = 0
    score_sum: int = 0
    promoters: int = 0
    detractors: int = 0
    rating_sum: int = 0
    ratings: int = 0
    opened: int = 0
    resolved: int = 0
    overdue: int = 0

    def add(self, other: "Figures") -> None:
        """Add ``other``'s counts to these."""
        for count in fields(self):
            setattr(self, count.name, getattr(self, count.name) + getattr(other, count.name))

    @property
    def passives(self) -> int:
        """Answers of 7 or 8."""
        return self.answered - self.promoters - self.detractors

    def mean_score(self) -> str:
        """The mean score, one decimal ('—' without answers)."""
        return f"{self.score_sum / self.answered:.1f}" if self.answered else NONE

    def mean_rating(self) -> str:
        """The advisor's mean rating out of 5 ('—' without ratings)."""
        return f"{self.rating_sum / self.ratings:.1f}" if self.ratings else NONE

    def nps(self) -> str:
        """Promoters' share less detractors' share, in points ('—' without answers)."""
        if not self.answered:
            return NONE
        return f"{round((self.promoters - self.detractors) * 100 / self.answered):+d}"


def _survey_counts(scope: int | None, month):
    """(dealer_id, advisor_id, sent, answered, score sum, promoters, detractors, rating sum,
    ratings) of the month's questionnaires."""
    answered = VisitSurvey.status == SurveyStatus.ANSWERED

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (
        select(
            VisitSurvey.dealer_id,
            VisitSurvey.advisor_id,
            func.count(),
            count(answered),
            func.coalesce(func.sum(VisitSurvey.score), 0),
            count(answered & (VisitSurvey.score >= PROMOTER_FROM)),
            count(answered & (VisitSurvey.score <= DETRACTOR_UP_TO)),
            func.coalesce(func.sum(VisitSurvey.advisor_rating), 0),
            func.count(VisitSurvey.advisor_rating),
        )
        .where(
            VisitSurvey.created_at >= month.starts,
            VisitSurvey.created_at < month.ends,
            VisitSurvey.status != SurveyStatus.CANCELLED,
        )
        .group_by(VisitSurvey.dealer_id, VisitSurvey.advisor_id)
    )
    if scope is not None:
        query = query.where(VisitSurvey.dealer_id == scope)
    return db.session.execute(query).all()


def _case_counts(scope: int | None, month, now: datetime):
    """(dealer_id, advisor_id, opened, resolved, overdue) of the month's complaint cases."""
    resolved = ComplaintCase.status.in_((CaseStatus.RESOLVED, CaseStatus.CONFIRMED))
    overdue = or_(
        ComplaintCase.escalated_at.is_not(None),
        ComplaintCase.resolved_at > ComplaintCase.deadline_at,
        and_(ComplaintCase.status.in_(ACTIVE), ComplaintCase.deadline_at < now),
    )
    query = (
        select(
            ComplaintCase.dealer_id,
            ServiceVisit.recorded_by_id,
            func.count(),
            func.coalesce(func.sum(case((resolved, 1), else_=0)), 0),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
        )
        .outerjoin(ServiceVisit, ServiceVisit.id == ComplaintCase.visit_id)
        .where(ComplaintCase.created_at >= month.starts, ComplaintCase.created_at < month.ends)
        .group_by(ComplaintCase.dealer_id, ServiceVisit.recorded_by_id)
    )
    if scope is not None:
        query = query.where(ComplaintCase.dealer_id == scope)
    return db.session.execute(query).all()


def _figures(scope, month, now) -> dict[tuple[int, int | None], Figures]:
    """The month's figures by (dealer, advisor)."""
    found: dict[tuple[int, int | None], Figures] = {}
    for dealer_id, advisor_id, *counts in _survey_counts(scope, month):
        figures = found.setdefault((dealer_id, advisor_id), Figures())
        (
            figures.sent,
            figures.answered,
            figures.score_sum,
            figures.promoters,
            figures.detractors,
            figures.rating_sum,
            figures.ratings,
        ) = (int(n) for n in counts)
    for dealer_id, advisor_id, opened, resolved, overdue in _case_counts(scope, month, now):
        figures = found.setdefault((dealer_id, advisor_id), Figures())
        figures.opened += int(opened)
        figures.resolved += int(resolved)
        figures.overdue += int(overdue)
    return found


def _answer_cells(f: Figures) -> list:
    return [
        f.sent,
        f.answered,
        percent(f.answered, f.sent),
        f.mean_score(),
        percent(f.promoters, f.answered),
        percent(f.detractors, f.answered),
    ]


def _dealer_table(dealers, by_dealer: dict[int, Figures]) -> Table:
    columns = [
        Column(_("Dealer")),
        *_answer_columns(),
        Column(_("NPS"), True),
        Column(_("Advisor rating (of 5)"), True),
        Column(_("Complaints opened"), True),
        Column(_("Resolved"), True),
        Column(_("Overdue"), True),
    ]

    def cells(label, f: Figures):
        return row(
            label,
            *_answer_cells(f),
            f.nps(),
            f.mean_rating(),
            f.opened,
            f.resolved,
            f.overdue,
        )

    rows = [cells(d.code, by_dealer.get(d.id, Figures())) for d in dealers]
    totals = None
    if len(dealers) > 1:
        total = Figures()
        for figures in by_dealer.values():
            total.add(figures)
        totals = cells(_("Total"), total)
    return Table("dealers", _("Satisfaction per dealer"), columns, rows, totals, _("No dealer."))


def _answer_columns() -> list[Column]:
    return [
        Column(_("Questionnaires sent"), True),
        Column(_("Answered"), True),
        Column(_("Response rate"), True),
        Column(_("Mean score (of 10)"), True),
        Column(_("Would recommend (9–10)"), True),
        Column(_("Would not (0–6)"), True),
    ]


def _advisor_table(found, dealers) -> Table:
    codes = {d.id: d.code for d in dealers}
    advisor_ids = {a for (_d, a) in found if a is not None}
    names = (
        dict(db.session.execute(select(User.id, User.name).where(User.id.in_(advisor_ids))).all())
        if advisor_ids
        else {}
    )
    keys = sorted(
        found,
        key=lambda k: (codes.get(k[0], ""), k[1] is None, names.get(k[1], ""), k[1] or 0),
    )
    rows = [
        row(
            names.get(advisor_id, NONE) if advisor_id else _("No advisor (DMS)"),
            codes.get(dealer_id, NONE),
            *_answer_cells(f),
            f.mean_rating(),
            f.opened,
        )
        for dealer_id, advisor_id in keys
        for f in [found[(dealer_id, advisor_id)]]
    ]
    columns = [
        Column(_("Service advisor")),
        Column(_("Dealer")),
        *_answer_columns(),
        Column(_("Advisor rating (of 5)"), True),
        Column(_("Complaints opened"), True),
    ]
    return Table(
        "advisors",
        _("Satisfaction per service advisor"),
        columns,
        rows,
        None,
        _("No questionnaire or complaint this month."),
    )


def satisfaction(actor: User, *, month, dealer_id: int | None = None, now=None) -> Report:
    """The month's satisfaction after visits per dealer and advisor (``month``:
    app/hq/months.py ``Month``)."""
    scope = dealer_scope(actor, dealer_id)
    now = now or utcnow()
    found = _figures(scope, month, now)
    dealers = scoped_dealers(scope)
    by_dealer: dict[int, Figures] = {}
    for (dealer, _advisor), figures in found.items():
        by_dealer.setdefault(dealer, Figures()).add(figures)
    bars = []
    for d in dealers:
        f = by_dealer.get(d.id, Figures())
        parts = [
            ("insight-fill-loyal", _("Would recommend (9–10)") + f": {f.promoters}", f.promoters),
            ("insight-fill-swinging", _("Passive (7–8)") + f": {f.passives}", f.passives),
            ("insight-fill-lost", _("Would not (0–6)") + f": {f.detractors}", f.detractors),
        ]
        bars.append((d.code, _("NPS %(nps)s", nps=f.nps()), parts))
    legend = [
        ("insight-fill-loyal", _("Would recommend (9–10)")),
        ("insight-fill-swinging", _("Passive (7–8)")),
        ("insight-fill-lost", _("Would not (0–6)")),
    ]
    drawn = chart(_("Answers by score"), bars, legend=legend)
    total = Figures()
    for figures in by_dealer.values():
        total.add(figures)
    return Report(
        scope,
        [_dealer_table(dealers, by_dealer), _advisor_table(found, dealers)],
        [drawn],
        facts={"month": month.key, "total": total},
    )
