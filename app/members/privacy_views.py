"""The owner's "Privacy and my data" pages: consents, download my data, delete my account."""

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.auth.codes import DELETE_ACCOUNT, send_code, verify_code
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.identifiers import mask_mobile
from app.core.permissions import member_required
from app.core.web import call_service, try_service
from app.members import privacy
from app.members.forms import DeleteAccountForm
from app.members.services import set_marketing_consent

bp = Blueprint("privacy", __name__)


@bp.app_template_filter("owner_name")
def owner_name(member) -> str:
    """A member's name for pages: "Deleted owner" (translated) once the account is deleted."""
    return privacy.display_name(member)


@bp.get("/me/privacy")
@member_required
def overview():
    """Consents, the data download and account deletion."""
    member = current_user.member
    return render_template(
        "members/privacy.html",
        member=member,
        keeps=privacy.DELETION_KEEPS,
        masked_mobile=mask_mobile(member.mobile),
    )


@bp.post("/me/privacy/marketing")
@member_required
def marketing():
    """Give or withdraw the marketing consent."""
    given = request.form.get("given") == "1"
    set_marketing_consent(current_user.member, given)
    if given:
        flash(_("Thank you: the club may send you news and offers."), "success")
    else:
        flash(_("Done: the club sends you no more news or offers."), "success")
    return redirect(url_for("privacy.overview"))


@bp.post("/me/privacy/export")
@member_required
def export():
    """Download every record about the owner as a JSON file."""
    member = current_user.member
    now = utcnow()
    data = privacy.export_member_data(member, now=now)
    record_audit(
        current_user, "member.data_exported", subject=member, dealer_id=member.dealer_id, now=now
    )
    name = f"carclub-my-data-{local_date(now):%Y%m%d}.json"
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/me/privacy/delete/code")
@member_required
def send_delete_code():
    """Text a code to the owner's mobile to confirm the deletion."""
    ok, _result = try_service(
        send_code, current_user.mobile, DELETE_ACCOUNT, locale=current_user.locale
    )
    if ok:
        flash(_("We sent a code to your mobile. It is valid for 5 minutes."), "success")
        return redirect(url_for("privacy.delete"))
    return redirect(url_for("privacy.overview"))


def _verify_and_delete(member, code: str) -> dict:
    verify_code(member.mobile, DELETE_ACCOUNT, code)
    return privacy.delete_member_account(member)


@bp.route("/me/privacy/delete", methods=["GET", "POST"])
@member_required
def delete():
    """Confirm the deletion with the code and a tick."""
    member = current_user.member
    form = DeleteAccountForm()
    if form.validate_on_submit():
        ok, _result = call_service(form, _verify_and_delete, member, form.code.data)
        if ok:
            logout_user()
            return redirect(url_for("privacy.deleted"))
    return render_template(
        "members/privacy_delete.html",
        form=form,
        keeps=privacy.DELETION_KEEPS,
        masked_mobile=mask_mobile(member.mobile),
    )


@bp.get("/account-deleted")
def deleted():
    """Where a deleted owner lands, logged out."""
    return render_template("members/privacy_deleted.html")
