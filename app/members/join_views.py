"""Step two of joining the club, once the mobile is proven (app/auth/code_views.py has step
one): who the owner is and which dealer's chapter they join."""

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from app.auth.code_views import proven_mobile, sign_in
from app.auth.forms import RegisterDetailsForm
from app.auth.registration import account_for_proven_mobile
from app.core.web import call_service
from app.members.forms import dealer_label
from app.members.registration import complete_registration
from app.members.services import list_dealers
from app.members.views import bp


def _dealer_choices() -> list:
    """Dealers grouped by city, so an owner finds theirs among many."""
    groups: dict[str, list[SelectChoice]] = {}
    for dealer in sorted(list_dealers(), key=lambda d: (d.city or "~", d.name)):
        groups.setdefault(dealer.city or _("Other"), []).append(
            SelectChoice(dealer.id, dealer_label(dealer))
        )
    return groups


def _details_form(waiting) -> RegisterDetailsForm:
    """Step two's form; a waiting account's name and dealer (its delivery's) come filled in."""
    form = RegisterDetailsForm()
    form.dealer_id.choices = _dealer_choices()
    if request.method == "GET" and waiting is not None and waiting.member is not None:
        form.name.data = waiting.member.name
        form.dealer_id.data = waiting.member.dealer_id
    return form


@bp.route("/register/details", methods=["GET", "POST"])
def register_details():
    """Step two of joining: name, optional password, dealer and consents."""
    mobile = proven_mobile()
    if mobile is None:
        flash(_("Prove your mobile number first: it takes a minute."), "info")
        return redirect(url_for("auth.register"))
    waiting = account_for_proven_mobile(mobile)
    form = _details_form(waiting)
    if form.validate_on_submit():
        ok, user = call_service(
            form,
            complete_registration,
            mobile,
            locale=str(get_locale()),
            **form.to_registration(),
        )
        if ok:
            session.pop("proof", None)
            flash(_("Welcome to the club! Your member card is ready."), "success")
            garage = not user.member.vehicles
            return sign_in(user, then=url_for("members.vehicles" if garage else "members.home"))
    return render_template(
        "auth/register.html", form=form, mobile=mobile, waiting=waiting is not None
    )
