"""Partner perks: admin screens, the owners' perk list and claims, the partner's check page."""

from datetime import timedelta
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.core.clock import local_date
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.idempotency import once
from app.core.images import accepts_upload
from app.core.permissions import Role, member_required, permission_required
from app.core.security import uses_camera
from app.core.web import call_service, try_service
from app.extensions import db, login_manager
from app.loyalty.forms import tier_choices
from app.loyalty.services import account_for, list_tiers
from app.members.forms import fill_dealer_choices
from app.members.models import Dealer
from app.members.services import list_dealers
from app.partners import claims, services
from app.partners import settlement as partner_settlement
from app.partners.forms import PartnerForm, PartnerUserForm, PerkCheckForm, PerkForm
from app.partners.models import Partner

bp = Blueprint("partners", __name__)


@bp.app_template_global()
def partner_category_label(code: str) -> str:
    """The partner category's name, for templates."""
    return services.category_label(code)


def partner_required(view):
    """View decorator for the partner's pages: login redirect; 403 unless the user works for
    a partner."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role != Role.PARTNER or current_user.partner_id is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _settlement(partner: Partner, *, template: str, csv: bool, **context):
    """The month's settlement page, or its CSV (UTF-8 with BOM)."""
    error = None
    try:
        month = partner_settlement.parse_month(request.args.get("month"))
    except ValidationFailed as err:
        if csv:
            abort(400)
        error, month = err.message, partner_settlement.parse_month(None)
    report = partner_settlement.settlement_for(partner, month)
    if csv:
        name = f"settlement-{partner.id}-{month:%Y-%m}.csv"
        return Response(
            partner_settlement.settlement_csv(report),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    page = render_template(template, report=report, partner=partner, error=error, **context)
    return page, 400 if error else 200


# ---------------------------------------------------------------------------------- owners


@bp.get("/perks")
@member_required
def perks():
    """Partner perks for the owner's tier, and why others cannot be claimed."""
    member = current_user.member
    return render_template(
        "partners/perks.html", account=account_for(member), offers=claims.perks_for(member)
    )


@bp.post("/perks/<int:perk_id>/claim")
@member_required
@once("partners.claim")
def claim(perk_id: int):
    """Claim a perk and show its code."""
    ok, claimed = try_service(claims.claim_perk, current_user.member, perk_id)
    if not ok:
        return redirect(url_for("partners.perks"))
    flash(_("Your perk is ready. Show the code at the partner."), "success")
    return redirect(url_for("partners.my_perk", claim_id=claimed.id))


@bp.get("/me/perks")
@member_required
def my_perks():
    """The owner's claimed perks: to use, used, expired."""
    return render_template("partners/my_perks.html", lists=claims.claims_for(current_user.member))


@bp.get("/me/perks/<int:claim_id>")
@member_required
def my_perk(claim_id: int):
    """One claimed perk: its code and QR to show at the partner."""
    try:
        found = claims.get_own_claim(current_user.member, claim_id)
    except NotFound:
        abort(404)
    status = claims.claim_status(found)
    return render_template(
        "partners/my_perk.html",
        claim=found,
        status=status,
        qr=claims.perk_qr(found, title=_("Perk QR code")) if status == "ready" else None,
    )


# --------------------------------------------------------------------------------- partners


@bp.route("/partner", methods=["GET", "POST"])
@uses_camera
@partner_required
def check():
    """The partner checks a perk code once: paste the scanned QR text or type the code."""
    form = PerkCheckForm()
    honoured = refusal = None
    if form.validate_on_submit():
        try:
            honoured = claims.check_perk_code(current_user, form.code.data)
        except claims.PerkRefused as err:
            # The refusal's audit entry is durable: it is written whatever happens next.
            refusal = err
        form.code.data = ""
    partner = db.session.get(Partner, current_user.partner_id)
    return render_template(
        "partners/check.html", form=form, partner=partner, honoured=honoured, refusal=refusal
    )


@bp.get("/partner/settlement")
@partner_required
def settlement():
    """What the partner honoured in a month, by perk and tier."""
    partner = db.session.get(Partner, current_user.partner_id)
    return _settlement(partner, template="partners/settlement.html", csv=False, admin=False)


@bp.get("/partner/settlement.csv")
@partner_required
def settlement_csv():
    """The month's settlement as CSV."""
    partner = db.session.get(Partner, current_user.partner_id)
    return _settlement(partner, template="", csv=True)


# ------------------------------------------------------------------------------------ staff


def _staff_row(load, row_id: int, *, edit: bool = False):
    """``load``'s row for the staff member: 404 when it is not theirs to see, 403 when they may
    see but not change it."""
    try:
        return load(current_user, row_id, edit=edit)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


def _partner_or_abort(partner_id: int, *, edit: bool = False) -> Partner:
    return _staff_row(services.get_partner_for_staff, partner_id, edit=edit)


@bp.get("/admin/partners")
@permission_required("partners.manage")
def admin_list():
    """Partners of the dealer and group-wide ones (every partner for HQ)."""
    return render_template(
        "partners/admin_list.html",
        partners=services.partners_for_staff(current_user),
        can_edit=lambda partner: services.can_edit_partner(current_user, partner),
        dealers={d.id: d for d in list_dealers()},
    )


def _partner_form(partner) -> PartnerForm:
    form = PartnerForm(obj=partner)
    fill_dealer_choices(
        form.dealer_id, current_user, new=partner is None, submitted=form.is_submitted()
    )
    return form


@bp.route("/admin/partners/new", methods=["GET", "POST"], defaults={"partner_id": None})
@bp.route("/admin/partners/<int:partner_id>/edit", methods=["GET", "POST"])
@permission_required("partners.manage")
def admin_edit(partner_id: int | None):
    """Add a partner or change one."""
    partner = _partner_or_abort(partner_id, edit=True) if partner_id is not None else None
    form = _partner_form(partner)
    if form.validate_on_submit():
        ok, saved = call_service(
            form, services.save_partner, current_user, partner, **form.to_partner()
        )
        if ok:
            flash(_("Partner saved."), "success")
            return redirect(url_for("partners.admin_detail", partner_id=saved.id))
    status = 422 if form.is_submitted() else 200
    return render_template("partners/admin_form.html", form=form, partner=partner), status


@bp.get("/admin/partners/<int:partner_id>")
@permission_required("partners.manage")
def admin_detail(partner_id: int):
    """A partner: its perks with their claims, its logins."""
    partner = _partner_or_abort(partner_id)
    return render_template(
        "partners/admin_detail.html",
        partner=partner,
        dealer=db.session.get(Dealer, partner.dealer_id) if partner.dealer_id else None,
        can_edit=services.can_edit_partner(current_user, partner),
        stats=services.perk_stats(partner),
        users=services.partner_users(partner),
        tiers=list_tiers(),
    )


def _perk_form(perk) -> PerkForm:
    form = PerkForm(obj=perk)
    form.min_tier_code.choices = tier_choices(_("None: every member"))
    if perk is None and not form.is_submitted():
        today = local_date()
        form.valid_from.data = today
        form.valid_until.data = today + timedelta(days=90)
    return form


@bp.route(
    "/admin/partners/<int:partner_id>/perks/new",
    methods=["GET", "POST"],
    defaults={"perk_id": None},
)
@bp.route("/admin/perks/<int:perk_id>/edit", methods=["GET", "POST"], defaults={"partner_id": None})
@accepts_upload
@permission_required("partners.manage")
def admin_perk(partner_id: int | None, perk_id: int | None):
    """Add a perk to a partner or change one."""
    perk = None
    if perk_id is not None:
        perk = _staff_row(services.get_perk_for_staff, perk_id, edit=True)
    partner = _partner_or_abort(perk.partner_id if perk else partner_id, edit=True)
    form = _perk_form(perk)
    if form.validate_on_submit():
        ok, _saved = call_service(
            form, services.save_perk, current_user, partner, perk, **form.to_perk()
        )
        if ok:
            flash(_("Perk saved."), "success")
            return redirect(url_for("partners.admin_detail", partner_id=partner.id))
    status = 422 if form.is_submitted() else 200
    page = render_template("partners/admin_perk_form.html", form=form, partner=partner, perk=perk)
    return page, status


@bp.route("/admin/partners/<int:partner_id>/users/new", methods=["GET", "POST"])
@permission_required("partners.manage")
def admin_user(partner_id: int):
    """Create a login for someone at the partner."""
    partner = _partner_or_abort(partner_id, edit=True)
    form = PartnerUserForm()
    if form.validate_on_submit():
        ok, user = call_service(
            form, services.create_partner_user, current_user, partner, **form.to_user()
        )
        if ok:
            flash(
                _(
                    "Login created for %(name)s: they log in with %(mobile)s.",
                    name=user.name,
                    mobile=user.mobile,
                ),
                "success",
            )
            return redirect(url_for("partners.admin_detail", partner_id=partner.id))
    status = 422 if form.is_submitted() else 200
    return render_template("partners/admin_user_form.html", form=form, partner=partner), status


@bp.get("/admin/partners/<int:partner_id>/settlement")
@permission_required("partners.manage")
def admin_settlement(partner_id: int):
    """The partner's settlement for a month, as the partner sees it."""
    partner = _partner_or_abort(partner_id)
    return _settlement(partner, template="partners/settlement.html", csv=False, admin=True)


@bp.get("/admin/partners/<int:partner_id>/settlement.csv")
@permission_required("partners.manage")
def admin_settlement_csv(partner_id: int):
    """The partner's settlement for a month as CSV."""
    return _settlement(_partner_or_abort(partner_id), template="", csv=True)
