"""The owner's member card on the phone, its rotating QR, its key for working without signal,
the site's service worker, and lost-card reissue."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.cards import devices, services
from app.cards.forms import ReissueForm
from app.core import assets
from app.core.errors import DomainError, NotFound
from app.core.permissions import member_required
from app.core.qr import qr_svg
from app.core.web import call_service
from app.loyalty.member_benefits.catalogue import upcoming_catalogues
from app.loyalty.member_benefits.uses import owner_benefits

bp = Blueprint("cards", __name__, url_prefix="/card")
# The server draws a card QR only for a browser that cannot (no JavaScript): with one mask,
# not the best of eight (segno's search costs most of the drawing; any mask scans).
CARD_QR_MASK = 0


def _card_or_404():
    try:
        return services.require_active_card(current_user.member)
    except NotFound:
        abort(404)


@bp.get("")
@member_required
def show():
    """The member card: name, tier, balance, number and a fresh QR (drawn by the page)."""
    try:
        page = services.card_page(current_user.member)
    except NotFound:
        abort(404)
    # The layout's unread badge came with the page's figures.
    g.unread_messages = page.unread
    return render_template(
        "cards/card.html",
        member=current_user.member,
        page=page,
        benefits=owner_benefits(current_user.member, tier_code=page.tier_code),
        benefit_changes=upcoming_catalogues(),
        number=services.format_card_number(page.number),
        token=services.shown_card_token(page),
        refresh_seconds=current_app.config["CARD_TOKEN_REFRESH_SECONDS"],
        code_seconds=current_app.config["CARD_CODE_SECONDS"],
        device_days=current_app.config["CARD_DEVICE_DAYS"],
    )


@bp.get("/qr.svg")
@member_required
def qr():
    """The card's QR as a picture, for a browser without JavaScript (the page draws its own)."""
    card = _card_or_404()
    response = current_app.response_class(
        qr_svg(services.shown_card_token(card).token, mask=CARD_QR_MASK, standalone=True),
        mimetype="image/svg+xml",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/device")
@member_required
def certify_device():
    """Certify this browser's card key (JSON ``{"public_key": base64url}``): the answer is the
    certificate its offline codes carry."""
    card = _card_or_404()
    body = request.get_json(silent=True)
    public_key = body.get("public_key") if isinstance(body, dict) else None
    if not isinstance(public_key, str):
        return jsonify(error={"code": "invalid", "message": _("Send a public key.")}), 400
    try:
        cert = devices.certify_device(card, public_key)
    except DomainError as err:
        return jsonify(error={"code": "invalid", "message": str(err)}), 422
    response = jsonify(
        certificate=cert.certificate,
        not_after=cert.not_after.isoformat(),
        device_id=cert.device.id,
        card_number=card.number,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# What the site's service worker keeps for the owner's pages and the staff card check to open
# without signal (under static/), and the pages themselves (paths, "*" for an id).
SITE_ASSETS = (
    "css/app.css",
    "js/confirm.js",
    "js/card.js",
    "js/card-code.js",
    "js/card-check.js",
    "js/scanner.js",
    "js/site-worker.js",
    "js/checkin-verify.js",
    "js/vendor/noble-ed25519/index.js",
    "js/vendor/zxing-library/index.min.js",
    "img/icon.svg",
    "img/favicon.ico",
    "img/icon-192.png",
    "manifest.webmanifest",
)
SITE_PAGES = (
    "/",
    "/card",
    "/me/tickets",
    "/me/tickets/*",
    "/me/vouchers",
    "/me/vouchers/*",
    "/admin/scan",
)
SITE_WORKER = "js/site-sw.js"


@bp.get("/sw.js")
def service_worker():
    """The site's service worker (scope ``/``), with its pages, files and their version."""
    response = assets.service_worker(
        SITE_WORKER,
        SITE_ASSETS,
        pages=list(SITE_PAGES),
        logout=[url_for("auth.logout"), url_for("auth.end_all_devices")],
    )
    # Served under /card/ but controls the whole site (only the pages listed above).
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/token")
@member_required
def token():
    """A fresh QR for the card page to swap in (JSON)."""
    card = _card_or_404()
    fresh = services.shown_card_token(card)
    response = jsonify(
        token=fresh.token,
        # For a page kept from before the page drew its own QR (the service worker's copy).
        svg=qr_svg(fresh.token, title=_("Member card QR code"), mask=CARD_QR_MASK),
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
