"""The staff page of an event's invitations: the funnel (invited → opened → signed up → came),
the campaign filters with "Count" and "Invite", the invited owners a page at a time, and CSV."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.campaigns.calls.targeting import model_choices
from app.campaigns.event_invites import services
from app.campaigns.event_invites.forms import InviteForm
from app.campaigns.segments.services import SEGMENT_LABELS
from app.core.errors import NotFound
from app.core.permissions import permission_required
from app.core.reports import csv_response
from app.core.web import call_service, page_arg
from app.events import invitations
from app.extensions import db
from app.loyalty.services import list_tiers, tier_label

bp = Blueprint("event_invitations", __name__)


def _event_or_404(event_id: int):
    try:
        return invitations.invitations_for_staff(current_user, event_id)
    except NotFound:
        abort(404)


def _form(dealer_id: int) -> InviteForm:
    form = InviteForm()
    form.set_choices(
        [(key.value, text) for key, text in SEGMENT_LABELS.items()],
        [(t.code, tier_label(t.code)) for t in list_tiers()],
        model_choices(dealer_id),
    )
    return form


def _page(event, form, plan, status=200):
    page = db.paginate(
        invitations.invitation_query(event),
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )
    return render_template(
        "events/invitations.html",
        event=event,
        form=form,
        plan=plan,
        funnel=invitations.funnel(event),
        page=page,
        rows=invitations.invitation_rows(page.items),
        max_per_round=invitations.MAX_PER_ROUND,
    ), status


def invited_text(plan) -> str:
    """What a round did, for the flash."""
    if not plan.to_invite:
        return _("Nobody new to invite: the owners these filters choose are invited already.")
    return ngettext(
        "%(num)d owner invited: the inbox at once, SMS after the quiet hours.",
        "%(num)d owners invited: the inbox at once, SMS after the quiet hours.",
        plan.to_invite,
    )


@bp.route("/admin/events/<int:event_id>/invitations", methods=["GET", "POST"])
@permission_required("events.manage")
def invitations_page(event_id: int):
    """Choose owners with the campaign filters, count them, invite them; see the funnel."""
    event = _event_or_404(event_id)
    form = _form(event.dealer_id)
    if not form.validate_on_submit():
        return _page(event, form, None, 422 if form.is_submitted() else 200)
    inviting = request.form.get("action") == "invite"
    service = services.invite_owners if inviting else services.count_invitations
    ok, plan = call_service(form, service, current_user, event.id, form.filters())
    if ok and inviting:
        flash(invited_text(plan), "success")
        return redirect(url_for(".invitations_page", event_id=event.id))
    return _page(event, form, plan, 200 if ok else 422)


@bp.get("/admin/events/<int:event_id>/invitations.csv")
@permission_required("events.manage")
def invitations_csv(event_id: int):
    """The invited owners and what became of each, as CSV."""
    event = _event_or_404(event_id)
    body = invitations.export_invitations_csv(current_user, event.id)
    return csv_response(f"event-{event.id}-invitations.csv", body)
