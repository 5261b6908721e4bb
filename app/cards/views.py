"""The owner's member card on the phone, its rotating QR, and lost-card reissue."""

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.cards import services
from app.cards.forms import ReissueForm
from app.core.errors import NotFound
from app.core.permissions import member_required
from app.core.qr import qr_svg
from app.core.web import call_service
from app.loyalty.ledger import account_with_expiring

bp = Blueprint("cards", __name__, url_prefix="/card")


def _card_or_404():
    try:
        return services.require_active_card(current_user.member)
    except NotFound:
        abort(404)


@bp.get("")
@member_required
def show():
    """The member card: name, tier, balance, number and a fresh QR."""
    member = current_user.member
    card = _card_or_404()
    account, expiring = account_with_expiring(member.id)
    token = services.shown_card_token(card)
    return render_template(
        "cards/card.html",
        member=member,
        card=card,
        number=services.format_card_number(card.number),
        account=account,
        expiring=expiring,
        qr=qr_svg(token.token, title=_("Member card QR code")),
        expires_at=token.expires_at,
        refresh_seconds=current_app.config["CARD_TOKEN_REFRESH_SECONDS"],
    )


@bp.get("/token")
@member_required
def token():
    """A fresh QR for the card page to swap in (JSON)."""
    card = _card_or_404()
    fresh = services.shown_card_token(card)
    response = jsonify(
        svg=qr_svg(fresh.token, title=_("Member card QR code")),
        expires_at=fresh.expires_at.isoformat(),
        refresh_seconds=current_app.config["CARD_TOKEN_REFRESH_SECONDS"],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/reissue", methods=["GET", "POST"])
@member_required
def reissue():
    """Replace a lost card with a new number."""
    card = _card_or_404()
    form = ReissueForm()
    if form.validate_on_submit():
        ok, _new = call_service(
            form,
            services.reissue_card,
            current_user,
            current_user.member,
            reason=form.reason.data,
        )
        if ok:
            flash(_("Your new card is ready. The old number no longer works."), "success")
            return redirect(url_for("cards.show"))
    return render_template(
        "cards/reissue.html", form=form, number=services.format_card_number(card.number)
    )
