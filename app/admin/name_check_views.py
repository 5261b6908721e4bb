"""Staff screens: the name checks a DMS delivery raised (R12), on the member desk."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin.views import bp
from app.core.identifiers import mask_plate
from app.core.permissions import permission_required
from app.core.web import dealer_arg, page_arg, try_service
from app.extensions import db
from app.members import name_checks
from app.members.scope import dealer_choices, scope_arg

PER_PAGE = 20

bp.add_app_template_filter(mask_plate, "mask_plate")


@bp.get("/members/name-checks")
@permission_required("members.name_checks")
def name_checks_page():
    """Owners a delivery named differently, newest first (HQ: every dealer's, or one)."""
    dealer_id = scope_arg()
    page = db.paginate(
        name_checks.open_name_checks(current_user, dealer_id=dealer_id),
        page=page_arg(),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "admin/name_checks.html",
        page=page,
        dealers=dealer_choices(current_user),
        dealer_id=dealer_id,
    )


@bp.post("/members/name-checks/<int:check_id>/<any(keep, rename):resolution>")
@permission_required("members.name_checks")
def resolve_name_check(check_id: int, resolution: str):
    """Keep the owner's stored name, or take the name the delivery gave."""
    ok, check = try_service(
        name_checks.resolve_name_check, current_user, check_id, rename=resolution == "rename"
    )
    if ok:
        if check.resolution == name_checks.RENAMED:
            flash(_("The owner is now called %(name)s.", name=check.member.name), "success")
        else:
            flash(_("The name %(name)s is kept.", name=check.member.name), "success")
    return redirect(url_for("admin.name_checks_page", dealer=dealer_arg()))
