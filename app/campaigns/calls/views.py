"""Staff pages of campaigns: the managers' list, form, target groups (with a live count),
launch and close; the agents' call list and call screen."""

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.auth.models import User
from app.campaigns import access
from app.campaigns.access import get_campaign, get_target, visible_campaigns
from app.campaigns.broadcasts.views import bp as broadcasts_bp
from app.campaigns.calls import calling, groups, participation, services
from app.campaigns.calls.forms import (
    AssignForm,
    CampaignForm,
    GroupForm,
    LaunchForm,
    MoveForm,
    OutcomeForm,
)
from app.campaigns.calls.models import (
    CallOutcome,
    Campaign,
    CampaignStatus,
    CampaignTarget,
)
from app.campaigns.calls.targeting import TargetFilters, model_choices
from app.campaigns.segments.services import SEGMENT_LABELS
from app.core.clock import local_date
from app.core.errors import ValidationFailed
from app.core.permissions import Role, has_permission, permission_required
from app.core.web import call_service, flash_service, int_arg, page_arg, try_service
from app.extensions import db
from app.loyalty.services import list_tiers, tier_label
from app.members import services as members
from app.members.models import Member, Vehicle
from app.members.scope import dealer_choices, scope_arg
from app.rewards.models import Reward
from app.service import staff_booking
from app.service.forms import slot_pick_choices

bp = Blueprint("campaign_admin", __name__, url_prefix="/admin/campaigns")
# Greetings and weather warnings (/admin/campaigns/broadcasts): endpoints
# campaign_admin.broadcasts.*.
bp.register_blueprint(broadcasts_bp)

PER_PAGE = 20
# The session key of the target whose full mobile was just revealed (shown once).
REVEALED = "campaign_revealed_target"


@bp.app_template_global()
def campaign_status_label(status: str) -> str:
    """A campaign status in the user's language, for templates."""
    return services.status_label(status).capitalize()


@bp.app_template_global()
def call_outcome_label(outcome: str) -> str:
    """A call outcome in the user's language, for templates."""
    return calling.outcome_label(outcome)


# ------------------------------------------------------------------------------ managers


@bp.get("")
@permission_required("campaigns.manage")
def campaign_list():
    """The dealer's campaigns (HQ: every dealer's, or one), newest window first, with counts."""
    dealer_id = scope_arg()
    query = visible_campaigns(current_user, dealer_id)
    page = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "campaigns/campaign_list.html",
        page=page,
        counts=services.target_counts([c.id for c in page.items]),
        dealers=dealer_choices(current_user),
        dealer_id=dealer_id,
    )


def _campaign_form(dealer_id: int | None) -> CampaignForm:
    form = CampaignForm()
    if current_user.role == Role.HQ_ADMIN and dealer_id is None:
        form.dealer_id.choices = [
            SelectChoice(d.id, f"{d.code} · {d.name}") for d in dealer_choices(current_user)
        ]
    else:
        del form.dealer_id
    dealers = [dealer_id] if dealer_id else [d.id for d in dealer_choices(current_user)]
    rewards = db.session.scalars(
        select(Reward)
        .where(Reward.active.is_(True))
        .where((Reward.dealer_id.is_(None)) | (Reward.dealer_id.in_(dealers)))
        .order_by(Reward.name)
    )
    form.reward_id.choices = [SelectChoice(0, _("None"))] + [
        SelectChoice(r.id, r.name) for r in rewards
    ]
    return form


@bp.route("/new", methods=["GET", "POST"])
@permission_required("campaigns.manage")
def campaign_new():
    """A new draft campaign: name, window, goals, offer, script."""
    form = _campaign_form(current_user.dealer_id)
    if form.validate_on_submit():
        dealer_id = form.dealer_id.data if "dealer_id" in form else current_user.dealer_id
        ok, campaign = call_service(
            form,
            services.create_campaign,
            current_user,
            form.data_for_service(),
            dealer_id=dealer_id,
        )
        if ok:
            flash(_("Campaign saved as a draft. Now add its target groups."), "success")
            return redirect(url_for("campaign_admin.group_new", campaign_id=campaign.id))
    return render_template("campaigns/campaign_form.html", form=form, campaign=None)


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@permission_required("campaigns.manage")
def campaign_edit(campaign_id: int):
    """Change a draft campaign."""
    campaign = get_campaign(current_user, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        flash(_("This campaign is launched: its details can no longer change."), "error")
        return redirect(url_for("campaign_admin.campaign_detail", campaign_id=campaign.id))
    form = _campaign_form(campaign.dealer_id)
    if request.method == "GET":
        form.fill(campaign)
    if form.validate_on_submit():
        ok, _campaign = call_service(
            form, services.update_campaign, current_user, campaign.id, form.data_for_service()
        )
        if ok:
            flash(_("Campaign saved."), "success")
            return redirect(url_for("campaign_admin.campaign_detail", campaign_id=campaign.id))
    return render_template("campaigns/campaign_form.html", form=form, campaign=campaign)


def _agent_choices(campaign: Campaign) -> list[SelectChoice]:
    return [SelectChoice(a.id, a.name) for a in services.care_agents(campaign.dealer_id)]


@bp.get("/<int:campaign_id>")
@permission_required("campaigns.manage")
def campaign_detail(campaign_id: int):
    """A campaign: its goals, groups with their counts, the agents and their list sizes."""
    campaign = get_campaign(current_user, campaign_id)
    agents = _agent_choices(campaign)
    return render_template(
        "campaigns/campaign_detail.html",
        campaign=campaign,
        summary=services.campaign_summary(campaign),
        launch=LaunchForm.for_agents(agents),
        move=MoveForm.for_agents(agents),
        can_close=campaign.status == CampaignStatus.LAUNCHED,
    )


def _group_form(campaign: Campaign, formdata=None) -> GroupForm:
    if formdata is not None:
        form = GroupForm(formdata=formdata, meta={"csrf": False})
    else:
        form = GroupForm()
    form.set_choices(
        [(key.value, label) for key, label in SEGMENT_LABELS.items()],
        [(t.code, tier_label(t.code)) for t in list_tiers()],
        model_choices(campaign.dealer_id),
    )
    return form


def _count_text(preview: groups.Preview) -> str:
    cars = ngettext("%(num)d car matches", "%(num)d cars match", preview.cars)
    owners = ngettext("%(num)d owner", "%(num)d owners", preview.owners)
    return f"{cars} · {owners}"


def _overlap_text(preview: groups.Preview | None) -> str:
    return groups.overlap_message(preview) if preview and preview.overlap_owners else ""


def _form_preview(campaign: Campaign, form: GroupForm, valid: bool) -> groups.Preview | None:
    """The count the group page shows: of every car on a first visit, of the filters posted
    (None when the form or the filters are refused: the reason is put next to its field)."""
    if request.method == "GET":
        return groups.preview_group(campaign, TargetFilters())
    if not valid:
        return None
    try:
        return groups.checked_preview(campaign, form.filters())
    except ValidationFailed as err:
        form.show_error(err)
        return None


def _group_page(campaign: Campaign, form: GroupForm, preview: groups.Preview | None):
    return render_template(
        "campaigns/campaign_group.html",
        campaign=campaign,
        form=form,
        preview=preview,
        count_text=_count_text(preview) if preview else "",
        overlap_text=_overlap_text(preview),
    )


@bp.route("/<int:campaign_id>/groups/new", methods=["GET", "POST"])
@permission_required("campaigns.manage")
def group_new(campaign_id: int):
    """Add a target group: filters with a live count; "Count" without JavaScript."""
    campaign = get_campaign(current_user, campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        flash(_("This campaign is launched: its target groups can no longer change."), "error")
        return redirect(url_for("campaign_admin.campaign_detail", campaign_id=campaign.id))
    form = _group_form(campaign)
    valid = form.validate_on_submit()
    if valid and request.form.get("action") == "save":
        ok, _group = call_service(
            form, groups.add_group, current_user, campaign.id, **form.to_group()
        )
        if ok:
            flash(_("Target group saved."), "success")
            return redirect(url_for("campaign_admin.campaign_detail", campaign_id=campaign.id))
    return _group_page(campaign, form, _form_preview(campaign, form, valid))


@bp.get("/<int:campaign_id>/groups/count.json")
@permission_required("campaigns.manage")
def group_count(campaign_id: int):
    """The live count of the group form's filters, as JSON (the form's script asks it)."""
    campaign = get_campaign(current_user, campaign_id)
    form = _group_form(campaign, formdata=request.args)
    form.validate()
    try:
        preview = groups.checked_preview(campaign, form.filters())
    except ValidationFailed as err:
        return jsonify({"error": err.message, "field": err.field}), 422
    return jsonify(
        {
            "cars": preview.cars,
            "owners": preview.owners,
            "overlap_owners": preview.overlap_owners,
            "overlap_campaigns": list(preview.overlap_campaigns),
            "text": _count_text(preview),
            "overlap_text": _overlap_text(preview),
        }
    )


@bp.post("/<int:campaign_id>/groups/<int:group_id>/remove")
@permission_required("campaigns.manage")
def group_remove(campaign_id: int, group_id: int):
    """Remove a target group of a draft campaign."""
    campaign = get_campaign(current_user, campaign_id)
    flash_service(
        groups.remove_group,
        current_user,
        campaign.id,
        group_id,
        success=_("Target group removed."),
    )
    return redirect(url_for("campaign_admin.campaign_detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/launch")
@permission_required("campaigns.manage")
def campaign_launch(campaign_id: int):
    """Launch: split the list among the picked agents, queue the invitations."""
    campaign = get_campaign(current_user, campaign_id)
    form = LaunchForm.for_agents(_agent_choices(campaign))
    agent_ids = form.agents.data if form.validate_on_submit() else []
    flash_service(
        services.launch_campaign,
        current_user,
        campaign.id,
        agent_ids=agent_ids,
        success=_("Campaign launched: the call lists are ready and the invitations are queued."),
    )
    return redirect(url_for("campaign_admin.campaign_detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/close")
@permission_required("campaigns.manage")
def campaign_close(campaign_id: int):
    """Close a launched campaign after its window."""
    campaign = get_campaign(current_user, campaign_id)
    flash_service(services.close_campaign, current_user, campaign.id, success=_("Campaign closed."))
    return redirect(url_for("campaign_admin.campaign_detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/move")
@permission_required("campaigns.manage")
def targets_move(campaign_id: int):
    """Move a batch of owners not yet called from one agent to another."""
    campaign = get_campaign(current_user, campaign_id)
    form = MoveForm.for_agents(_agent_choices(campaign))
    if not form.validate_on_submit():
        flash(_("Pick both agents and how many owners to move."), "error")
    else:
        ok, moved = try_service(
            calling.move_targets,
            current_user,
            campaign.id,
            from_agent_id=form.from_agent_id.data,
            to_agent_id=form.to_agent_id.data,
            count=form.count.data,
        )
        if ok:
            flash(ngettext("%(num)d owner moved.", "%(num)d owners moved.", moved), "success")
    return redirect(url_for("campaign_admin.campaign_detail", campaign_id=campaign.id))


# -------------------------------------------------------------------------------- agents


@bp.get("/calls")
@permission_required("campaigns.call")
def call_list():
    """The agent's call list (a manager's: the dealer's), one view at a time."""
    listing = calling.call_list_page(
        current_user,
        view=request.args.get("view", "todo"),
        outcome=request.args.get("outcome", ""),
        campaign_id=int_arg("campaign"),
        page=page_arg(),
        per_page=current_app.config.get("MEMBERS_PER_PAGE", PER_PAGE),
    )
    outcomes = [o.value for o in CallOutcome]
    return render_template("campaigns/calls_list.html", **vars(listing), outcomes=outcomes)


def _call_page(target: CampaignTarget, form: OutcomeForm | None = None):
    campaign = target.campaign
    member = db.session.get(Member, target.member_id)
    revealed = session.pop(REVEALED, None) == target.id
    assign = None
    if (
        has_permission(current_user, "campaigns.manage")
        and campaign.status == CampaignStatus.LAUNCHED
    ):
        assign = AssignForm.for_agents(_agent_choices(campaign))
        assign.agent_id.data = target.agent_id
    return render_template(
        "campaigns/calls_target.html",
        target=target,
        campaign=campaign,
        member=member,
        vehicle=db.session.get(Vehicle, target.vehicle_id),
        agent=db.session.get(User, target.agent_id) if target.agent_id else None,
        reward=db.session.get(Reward, campaign.reward_id) if campaign.reward_id else None,
        calls=calling.calls_of(target),
        came=participation.has_come(target),
        due=calling.second_round_due(target, local_date()),
        may_call=access.may_call(current_user, target),
        mobile=member.user.mobile if revealed else None,
        form=_with_times(form or OutcomeForm(), target, member),
        assign=assign,
    )


def _with_times(form: OutcomeForm, target: CampaignTarget, member: Member) -> OutcomeForm:
    """The free service times the caller may book with "Booked" (none without the right)."""
    slots = []
    if target.campaign.status == CampaignStatus.LAUNCHED:
        slots = staff_booking.times_to_offer(current_user, member)
    form.slot_id.choices = slot_pick_choices(slots)
    return form


@bp.get("/calls/<int:target_id>")
@permission_required("campaigns.call")
def call_target(target_id: int):
    """One owner to call: the car, the offer and script, the calls so far, one tap per outcome
    (404 for another agent's owner: their name, plate and notes stay unseen)."""
    return _call_page(get_target(current_user, target_id))


@bp.post("/calls/<int:target_id>")
@permission_required("campaigns.call")
def call_record(target_id: int):
    """Record a call's outcome (404 for another agent's owner: nothing saved)."""
    target = get_target(current_user, target_id)
    form = OutcomeForm()
    if not form.validate_on_submit():
        flash(_("Choose what the call achieved."), "error")
        return redirect(url_for("campaign_admin.call_target", target_id=target.id))
    ok, call = try_service(
        calling.record_call,
        current_user,
        target.id,
        outcome=form.outcome.data,
        note=form.note.data or "",
        slot_id=form.slot_id.data,
    )
    if not ok:
        return redirect(url_for("campaign_admin.call_target", target_id=target.id))
    flash(_recorded(call, target, booked=form.slot_id.data is not None), "success")
    return redirect(url_for("campaign_admin.call_list"))


def _recorded(call, target, *, booked: bool) -> str:
    """What the agent reads once a call is recorded: its outcome, the booking, the next round."""
    message = _("Call recorded: %(outcome)s.", outcome=calling.outcome_label(call.outcome))
    if booked:
        message += " " + _("The service time is booked and the owner is told.")
    if call.outcome == CallOutcome.INTERESTED and call.round == 1:
        due = target.second_round_on.isoformat()
        message += " " + _(
            "If they have not come by %(date)s, they are back in your second-round list.", date=due
        )
    return message


@bp.post("/calls/<int:target_id>/reveal")
@permission_required("campaigns.call")
def call_reveal(target_id: int):
    """Show the owner's full mobile number once, to call it; the reveal is audit-logged."""
    target = get_target(current_user, target_id)
    members.reveal_mobile(current_user, db.session.get(Member, target.member_id))
    session[REVEALED] = target.id
    return redirect(url_for("campaign_admin.call_target", target_id=target.id))


@bp.post("/calls/<int:target_id>/assign")
@permission_required("campaigns.manage")
def call_assign(target_id: int):
    """Give one owner to another care agent (managers)."""
    target = get_target(current_user, target_id, to_call=False)
    form = AssignForm.for_agents(_agent_choices(target.campaign))
    if not form.validate_on_submit():
        flash(_("Pick a care agent."), "error")
    else:
        flash_service(
            calling.reassign_target,
            current_user,
            target.campaign_id,
            target.id,
            form.agent_id.data,
            success=_("Owner moved to another agent's list."),
        )
    return redirect(url_for("campaign_admin.call_target", target_id=target.id))
