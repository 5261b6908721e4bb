"""Satisfaction callbacks after a campaign (seed 000 满意度回访): from the window's last day
on, agents call the participating targets back and record whether they reached the owner and,
when they did, whether the owner was satisfied.

Rules (the page says them too): only a participating target (see ``calls/participation.py``)
of a campaign whose window has reached its last day can be called back; a care agent calls the
targets assigned to them, a manager any target of the campaign; "satisfied" is answered only
when the owner was reached. Every callback is a new row (a second call after an unanswered
one is normal); the results count the latest reaching call.
"""

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, case, exists, func, select

from app.auth.models import User
from app.campaigns.calls.models import Campaign, CampaignGroup, CampaignTarget
from app.campaigns.calls.participation import participating_visits
from app.campaigns.results.models import SurveyCall
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.identifiers import mask_mobile
from app.core.permissions import Role, has_permission
from app.extensions import db
from app.members.models import Member

NOTE_MAX = 500
PER_PAGE = 25


def survey_open(campaign: Campaign, today: date) -> bool:
    """Callbacks start on the window's last day."""
    return today >= campaign.ends_on


def calls_everyone(actor: User) -> bool:
    """Managers call back any target; care agents their own."""
    return has_permission(actor, "campaigns.results")


def _participates(campaign: Campaign):
    return exists().where(participating_visits(campaign, CampaignTarget.vehicle_id))


def _reached(target_id):
    return exists().where(SurveyCall.target_id == target_id, SurveyCall.reached.is_(True))


def survey_query(actor: User, campaign: Campaign, *, unreached: bool = False) -> Select:
    """The participating targets ``actor`` calls back (only those no callback reached yet
    when ``unreached``), by group and owner."""
    query = (
        select(CampaignTarget)
        .join(Member, Member.id == CampaignTarget.member_id)
        .join(CampaignGroup, CampaignGroup.id == CampaignTarget.group_id)
        .where(CampaignTarget.campaign_id == campaign.id, _participates(campaign))
        .order_by(CampaignGroup.position, Member.name, CampaignTarget.id)
    )
    if not calls_everyone(actor):
        query = query.where(CampaignTarget.agent_id == actor.id)
    if unreached:
        query = query.where(~_reached(CampaignTarget.id))
    return query


def callback_counts(actor: User, campaign_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per campaign: the participating targets ``actor`` calls back, and how many of them a
    callback reached (one GROUP BY query)."""
    if not campaign_ids:
        return {}
    # The Campaign class's columns in place of one campaign's values: each target is matched
    # with its own campaign's dealer and window.
    in_window = participating_visits(Campaign, CampaignTarget.vehicle_id)
    query = (
        select(
            CampaignTarget.campaign_id,
            func.count(),
            func.sum(case((_reached(CampaignTarget.id), 1), else_=0)),
        )
        .join(Campaign, Campaign.id == CampaignTarget.campaign_id)
        .where(CampaignTarget.campaign_id.in_(campaign_ids), exists().where(in_window))
        .group_by(CampaignTarget.campaign_id)
    )
    if not calls_everyone(actor):
        query = query.where(CampaignTarget.agent_id == actor.id)
    return {cid: (n, int(done or 0)) for cid, n, done in db.session.execute(query)}


@dataclass
class SurveyRow:
    """One target to call back and its callbacks so far (newest first)."""

    target: CampaignTarget
    owner: Member
    group: str
    calls: list[SurveyCall]

    @property
    def mobile(self) -> str:
        return mask_mobile(self.owner.mobile)

    @property
    def latest(self) -> SurveyCall | None:
        return self.calls[0] if self.calls else None


def survey_page(
    actor: User, campaign: Campaign, *, page: int, per_page: int = PER_PAGE, unreached=False
):
    """A page of the targets to call back, each with its owner and callbacks (four queries)."""
    pagination = db.paginate(
        survey_query(actor, campaign, unreached=unreached),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    items = list(pagination.items)
    ids = [target.id for target in items]
    owners = {
        m.id: m
        for m in db.session.scalars(
            select(Member).where(Member.id.in_([t.member_id for t in items]))
        )
    }
    groups = dict(
        db.session.execute(
            select(CampaignGroup.id, CampaignGroup.name).where(
                CampaignGroup.campaign_id == campaign.id
            )
        ).all()
    )
    calls: dict[int, list[SurveyCall]] = {}
    if ids:
        for call in db.session.scalars(
            select(SurveyCall)
            .where(SurveyCall.target_id.in_(ids))
            .order_by(SurveyCall.called_at.desc(), SurveyCall.id.desc())
        ):
            calls.setdefault(call.target_id, []).append(call)
    rows = [
        SurveyRow(t, owners[t.member_id], groups[t.group_id], calls.get(t.id, [])) for t in items
    ]
    return pagination, rows


def record_survey_call(
    actor: User,
    target_id: int,
    *,
    reached: bool | None,
    satisfied: bool | None,
    note: str = "",
    campaign_id: int | None = None,
    now: datetime | None = None,
) -> SurveyCall:
    """Record a satisfaction callback to a participating target of an ended campaign; refused
    and nothing saved otherwise; audit-logged."""
    now = now or utcnow()
    target = db.session.get(CampaignTarget, target_id)
    if target is None or campaign_id not in (None, target.campaign_id):
        raise NotFound(_("No such target."))
    campaign = db.session.get(Campaign, target.campaign_id)
    if actor.role != Role.HQ_ADMIN and campaign.dealer_id != actor.dealer_id:
        raise NotFound(_("No such target."))
    if not calls_everyone(actor) and target.agent_id != actor.id:
        raise Forbidden(_("This owner is on another agent's list."))
    if not survey_open(campaign, local_date(now)):
        raise ValidationFailed(
            _(
                "Satisfaction callbacks start on the campaign's last day, %(day)s.",
                day=campaign.ends_on.isoformat(),
            )
        )
    takes_part = db.session.scalar(
        select(exists().where(participating_visits(campaign, target.vehicle_id)))
    )
    if not takes_part:
        raise ValidationFailed(
            _("This owner did not take part in the campaign: there is nothing to call back about.")
        )
    if reached is None:
        raise ValidationFailed(_("Say whether you reached the owner."), field="reached")
    if reached and satisfied is None:
        raise ValidationFailed(_("Say whether the owner was satisfied."), field="satisfied")
    if not reached and satisfied is not None:
        raise ValidationFailed(
            _("Satisfaction is only recorded when the owner was reached."), field="satisfied"
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed(
            _("The note is at most %(max)s characters.", max=NOTE_MAX), field="note"
        )
    call = SurveyCall(
        target_id=target.id,
        agent_id=actor.id,
        called_at=now,
        reached=reached,
        satisfied=satisfied if reached else None,
        note=note,
    )
    db.session.add(call)
    db.session.flush()
    record_audit(
        actor,
        "campaign.survey_recorded",
        subject=call,
        dealer_id=campaign.dealer_id,
        details={
            "campaign_id": campaign.id,
            "target_id": target.id,
            "reached": reached,
            "satisfied": call.satisfied,
        },
        now=now,
    )
    return call


@dataclass(frozen=True)
class SurveySheet:
    """The callbacks page as its template names it."""

    is_open: bool
    page: Pagination | None
    rows: list[SurveyRow]
    everyone: bool
    unreached: bool


def survey_sheet(
    actor: User, campaign: Campaign, *, page: int, unreached: bool, now: datetime | None = None
) -> SurveySheet:
    """Whether callbacks have started and, once they have, a page of the targets to call back."""
    is_open = survey_open(campaign, local_date(now or utcnow()))
    pagination, rows = (None, [])
    if is_open:
        pagination, rows = survey_page(actor, campaign, page=page, unreached=unreached)
    return SurveySheet(is_open, pagination, rows, calls_everyone(actor), unreached)
