"""Staff desk: member search and detail, card scan, tiers, colours, models, transfers, audit
log."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin.forms import CarModelForm, ColourForm, tier_form_class
from app.cards import services as cards
from app.cards.forms import ScanForm
from app.core.audit import audit_query
from app.core.errors import NotFound
from app.core.permissions import Role, has_permission, permission_required
from app.core.security import uses_camera
from app.core.web import call_service, flash_service, page_arg, try_service
from app.extensions import db
from app.loyalty import services as loyalty
from app.loyalty.figures import account_as_of_today
from app.loyalty.member_benefits.uses import owner_benefits
from app.members import car_models, staff_inbox
from app.members import services as members
from app.members.models import CarModel, Colour, TransferStatus
from app.members.name_checks import count_open_name_checks

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _member_or_404(member_id: int):
    try:
        return members.get_member_for_staff(current_user, member_id)
    except NotFound:
        abort(404)


@bp.get("/")
@permission_required("members.view")
def dashboard():
    """The staff member's desk."""
    return render_template(
        "admin/dashboard.html",
        member_count=members.count_members(current_user),
        name_checks=(
            count_open_name_checks(current_user)
            if has_permission(current_user, "members.name_checks")
            else 0
        ),
        notices=staff_inbox.notice_counts(current_user),
    )


@bp.get("/notices")
@permission_required("members.view")
def notices():
    """What was handed to the staff member (an overdue complaint to see to), newest first;
    opening the page marks them read."""
    page = db.paginate(
        staff_inbox.notices_query(current_user), page=page_arg(), per_page=20, error_out=False
    )
    unread = {notice.id for notice in page.items if notice.read_at is None}
    staff_inbox.mark_notices_read(current_user)
    return render_template("admin/notices.html", page=page, unread=unread)


@bp.get("/members")
@permission_required("members.view")
def member_search():
    """Search the dealer's members by name, mobile, plate, VIN, card number or hobby."""
    q = request.args.get("q", "").strip()
    field = request.args.get("field", "all")
    page = db.paginate(
        members.search_members(current_user, q, field),
        page=page_arg(),
        per_page=current_app.config["MEMBERS_PER_PAGE"],
        error_out=False,
    )
    return render_template(
        "admin/members.html", page=page, q=q, field=field, fields=members.SEARCH_FIELDS
    )


@bp.get("/members/<int:member_id>")
@permission_required("members.view")
def member_detail(member_id: int):
    """Everything the club knows about one member."""
    member = _member_or_404(member_id)
    return render_template(
        "admin/member.html",
        member=member,
        account=account_as_of_today(member.id),
        cards=cards.card_history(member),
        audit=db.session.scalars(audit_query(subject=member).limit(20)).all(),
    )


@bp.post("/members/<int:member_id>/reveal-mobile")
@permission_required("members.reveal_mobile")
def reveal_mobile(member_id: int):
    """Show the full mobile number once, for a call; the reveal is audit-logged."""
    member = _member_or_404(member_id)
    mobile = members.reveal_mobile(current_user, member)
    flash(_("Mobile number of %(name)s: %(mobile)s", name=member.name, mobile=mobile), "info")
    return redirect(url_for("admin.member_detail", member_id=member.id))


@bp.route("/scan", methods=["GET", "POST"])
@uses_camera
@permission_required("cards.scan")
def scan():
    """Check a member card: paste the scanned QR text or type the card number."""
    form = ScanForm()
    result = None
    if form.validate_on_submit():
        result = cards.check_card(current_user, form.code.data)
        form.code.data = ""
    accepted = result is not None and result.accepted
    account = account_as_of_today(result.member.id) if accepted else None
    return render_template(
        "admin/scan.html",
        form=form,
        result=result,
        account=account,
        benefits=owner_benefits(result.member, tier_code=account.tier_code) if accepted else None,
        offline=cards.offline_check_settings(),
    )


@bp.post("/tiers/<int:schedule_id>/withdraw")
@permission_required("tiers.edit")
def withdraw_tiers(schedule_id: int):
    """Withdraw an announced tier change before its day."""
    flash_service(
        loyalty.withdraw_tiers,
        current_user,
        schedule_id,
        success=_("The tier change is withdrawn."),
    )
    return redirect(url_for("admin.tiers"))


@bp.route("/tiers", methods=["GET", "POST"])
@permission_required("tiers.edit")
def tiers():
    """Tier thresholds and earning multipliers: changes are announced and apply on a date."""
    tier_list = loyalty.list_tiers()
    form = tier_form_class(tier_list)()
    if form.validate_on_submit():
        ok, schedule = call_service(
            form,
            loyalty.schedule_tiers,
            current_user,
            form.to_settings(),
            effective_from=form.effective_from.data,
            note=form.note.data,
        )
        if ok:
            flash(
                _("New tiers announced: they apply from %(date)s.", date=schedule.effective_from),
                "success",
            )
            return redirect(url_for("admin.tiers"))
    return render_template(
        "admin/tiers.html", form=form, tiers=tier_list, upcoming=loyalty.upcoming_tier_changes()
    )


@bp.get("/colours")
@permission_required("colours.manage")
def colours():
    """The managed colour list and its confusion groups."""
    return render_template("admin/colours.html", colours=members.all_colours())


@bp.route("/colours/new", methods=["GET", "POST"], defaults={"colour_id": None})
@bp.route("/colours/<int:colour_id>", methods=["GET", "POST"])
@permission_required("colours.manage")
def colour_form(colour_id: int | None):
    """Add or change a colour."""
    colour = db.session.get(Colour, colour_id) if colour_id else None
    if colour_id and colour is None:
        abort(404)
    form = ColourForm(obj=colour)
    if form.validate_on_submit():
        ok, _result = call_service(
            form,
            members.save_colour,
            current_user,
            colour,
            code=form.code.data,
            name_en=form.name_en.data,
            name_zh=form.name_zh.data,
            confusion_group=form.confusion_group.data,
            active=form.active.data,
        )
        if ok:
            flash(_("Colour saved."), "success")
            return redirect(url_for("admin.colours"))
    return render_template("admin/colour_form.html", form=form, colour=colour)


@bp.get("/models")
@permission_required("models.manage")
def car_model_list():
    """The managed model list and its families."""
    return render_template("admin/car_models.html", car_models=car_models.all_car_models())


@bp.route("/models/new", methods=["GET", "POST"], defaults={"car_model_id": None})
@bp.route("/models/<int:car_model_id>", methods=["GET", "POST"])
@permission_required("models.manage")
def car_model_form(car_model_id: int | None):
    """Add, change or retire a model."""
    car_model = db.session.get(CarModel, car_model_id) if car_model_id is not None else None
    if car_model_id is not None and car_model is None:
        abort(404)
    form = CarModelForm(obj=car_model)
    if form.validate_on_submit():
        ok, _result = call_service(
            form,
            car_models.save_car_model,
            current_user,
            car_model,
            name=form.name.data,
            family=form.family.data,
            active=form.active.data,
        )
        if ok:
            flash(_("Model saved."), "success")
            return redirect(url_for("admin.car_model_list"))
    return render_template("admin/car_model_form.html", form=form, car_model=car_model)


@bp.get("/transfers")
@permission_required("transfers.decide")
def transfers():
    """Chapter transfer requests waiting for the staff member's dealer (HQ: every request)."""
    pending = members.list_pending_transfers(current_user)
    return render_template(
        "admin/transfers.html",
        transfers=[
            (
                t,
                members.transfer_member_name(current_user, t),
                members.transfer_side(current_user, t),
            )
            for t in pending
        ],
    )


@bp.post("/transfers/<int:transfer_id>/<any(approve, reject):decision>")
@permission_required("transfers.decide")
def decide_transfer(transfer_id: int, decision: str):
    """Approve or reject the staff member's dealer's side of a transfer request (HQ: the side
    it names, or every pending side)."""
    approve = decision == "approve"
    ok, transfer = try_service(
        members.decide_transfer,
        current_user,
        transfer_id,
        approve=approve,
        side=request.form.get("side") or None,
    )
    if ok:
        if transfer.status == TransferStatus.APPROVED:
            flash(_("Transfer approved."), "success")
        elif transfer.status == TransferStatus.REJECTED:
            flash(_("Transfer rejected."), "success")
        else:
            flash(_("Your approval is recorded: the other dealer decides next."), "success")
    return redirect(url_for("admin.transfers"))


@bp.get("/audit")
@permission_required("audit.view")
def audit():
    """The audit log: the dealer's, or everything for HQ."""
    dealer_id = None if current_user.role == Role.HQ_ADMIN else current_user.dealer_id
    page = db.paginate(
        audit_query(dealer_id=dealer_id), page=page_arg(), per_page=50, error_out=False
    )
    return render_template("admin/audit.html", page=page)


# Further staff screens register their routes on this blueprint.
from app.admin import (  # noqa: E402, F401
    care_insight_views,
    insight_views,
    loyalty_views,
    name_check_views,
)
