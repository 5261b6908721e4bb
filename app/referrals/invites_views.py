"""The owner's invite link and QR poster, and the friend's landing page with the
pre-registration form (issue 21, the referral's front door)."""

import io

import segno
from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.core.attempts import exhausted, record_failure
from app.core.idempotency import once
from app.core.permissions import member_required
from app.core.qr import qr_svg
from app.core.web import call_service, try_service
from app.referrals import invites
from app.referrals.invite_forms import FriendForm
from app.referrals.views import bp

# A token is about 120 characters: anything much longer is not one (and not worth verifying).
MAX_TOKEN = 200
_SESSION_KEY = "invite_done"

TOO_MANY = _l("Too many pre-registrations from your network. Try again later.")


def _shown():
    """The owner's link as the page shows it: its token, address and last day."""
    shown = invites.show_invite(current_user.member)
    url = url_for("referrals.invite_landing", token=shown.token, _external=True)
    return shown, url


# ---------------------------------------------------------------------------------- owners


@bp.get("/me/invite")
@member_required
def my_invite():
    """The owner's personal invite link: copy it, share it, or open the poster."""
    shown, url = _shown()
    return render_template(
        "referrals/invite.html",
        shown=shown,
        url=url,
        count=invites.registrations_count(shown.link),
        offer=invites.friend_offer(),
    )


@bp.get("/me/invite/poster")
@member_required
def invite_poster():
    """A poster with the link's QR code, to save or show on the phone."""
    shown, url = _shown()
    return render_template(
        "referrals/invite_poster.html",
        member=current_user.member,
        shown=shown,
        url=url,
        qr=qr_svg.__wrapped__(url, title=_("Invitation QR code")),
        offer=invites.friend_offer(),
    )


@bp.get("/me/invite/qr.png")
@member_required
def invite_qr_png():
    """The link's QR code as a picture to save in the phone's photos."""
    _shown_link, url = _shown()
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(out, kind="png", scale=10, border=4)
    response = current_app.response_class(out.getvalue(), mimetype="image/png")
    response.headers["Content-Disposition"] = 'attachment; filename="car-club-invitation.png"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/me/invite/renew")
@member_required
@once("referrals.invite_renew")
def renew_invite():
    """Replace the link: every link and poster shown before stops working."""
    ok, _link = try_service(invites.renew_invite, current_user.member)
    if ok:
        flash(
            _("Your invite link is replaced: links and posters shared before no longer work."),
            "success",
        )
    return redirect(url_for("referrals.my_invite"))


# --------------------------------------------------------------------------------- friends


def _link_or_error(token: str):
    """The link ``token`` opens, or the page saying why it does not (404, or 410 when it was
    good once)."""
    if len(token) > MAX_TOKEN:
        abort(404)
    try:
        return invites.resolve_invite(token), None
    except invites.InviteInvalid as err:
        status = 410 if err.code in ("expired", "replaced", "closed") else 404
        return None, (render_template("referrals/invite_invalid.html", message=err.message), status)


def _is_owner(link) -> bool:
    return current_user.is_authenticated and current_user.id == link.member.user_id


def _over_the_limit() -> bool:
    """Count this post from the address; True when the address used up its posts (as the
    other public forms, per address; a link that does not open counts nothing)."""
    limits, address = current_app.config["INVITE_RATE_LIMIT"], request.remote_addr or "-"
    if exhausted("invite-form", limits, address) is not None:
        return True
    record_failure("invite-form", limits, address)
    return False


def _pre_register(form, link, token: str):
    """Handle the friend's post: a redirect to the thanks page, or None (errors on the form)."""
    if _over_the_limit():
        form.form_errors.append(TOO_MANY)
        return None
    if not form.validate():
        return None
    if _is_owner(link):
        form.form_errors.append(_("This is your own invitation: share it with a friend."))
        return None
    ok, referral = call_service(form, invites.accept_invite, link, **form.to_friend())
    if not ok:
        return None
    session[_SESSION_KEY] = {"referral": referral.id, "handle": link.handle}
    return redirect(url_for("referrals.invite_thanks", token=token))


@bp.route("/i/<token>", methods=["GET", "POST"])
def invite_landing(token: str):
    """The friend's page: the club, the showroom, what they get, and the pre-registration."""
    link, refusal = _link_or_error(token)
    if refusal:
        return refusal
    form = FriendForm()
    form.setup(invites.dealers(), link.member.dealer_id)
    if form.is_submitted():
        done = _pre_register(form, link, token)
        if done is not None:
            return done
    page = render_template(
        "referrals/invite_landing.html",
        form=form,
        owner=link.member,
        own=_is_owner(link),
        offer=invites.friend_offer(),
    )
    return page, 429 if TOO_MANY in form.form_errors else 200


@bp.get("/i/<token>/thanks")
def invite_thanks(token: str):
    """The friend is pre-registered: what happens next."""
    link, refusal = _link_or_error(token)
    if refusal:
        return refusal
    done = session.get(_SESSION_KEY)
    referral = invites.registered_through(link, done)
    if referral is None:
        return redirect(url_for("referrals.invite_landing", token=token))
    return render_template("referrals/invite_thanks.html", referral=referral, owner=link.member)
