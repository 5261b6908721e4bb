"""Permission-matrix routes: the referral's front door (issue 21) — owners' invite links, the
friend's landing page, the duty manager's confirmations, disputes of a fraud outcome."""

from datetime import date

from flask import current_app

from app.referrals import disputes, invites
from app.referrals import services as referrals
from tests.admin.matrix import Route
from tests.factories import make_member, make_staff
from tests.referrals.front_door import judged_fraud

LIST = "/admin/showroom/referrals"
SHOWROOM = f"{LIST}/<int:referral_id>"
DISPUTES = "/admin/referrals/disputes"
DISPUTE = f"{DISPUTES}/<int:dispute_id>"

ROUTES: tuple[Route, ...] = (
    Route("GET", LIST, LIST, "referrals.showroom_reports", 200),
    # The first holder confirms; the others are told it is no longer waiting (a redirect).
    Route(
        "POST",
        f"{SHOWROOM}/confirm",
        "/admin/showroom/referrals/{showroom_confirm_id}/confirm",
        "referrals.showroom_reports",
        302,
    ),
    # An empty refusal is refused (say why), with a redirect.
    Route(
        "POST",
        f"{SHOWROOM}/refuse",
        "/admin/showroom/referrals/{showroom_refuse_id}/refuse",
        "referrals.showroom_reports",
        302,
    ),
    Route("GET", DISPUTES, DISPUTES, "referrals.disputes", 200),
    Route("GET", DISPUTE, "/admin/referrals/disputes/{dispute_id}", "referrals.disputes", 200),
    Route("POST", DISPUTE, "/admin/referrals/disputes/{dispute_id}", "referrals.disputes", 200),
)

# Outside /admin/ (tests/routes_public.py): the owner's pages and the friend's.
PUBLIC_ROUTES: tuple[Route, ...] = (
    Route("GET", "/me/invite", "/me/invite", "owner", 200),
    Route("GET", "/me/invite/poster", "/me/invite/poster", "owner", 200),
    Route("GET", "/me/invite/qr.png", "/me/invite/qr.png", "owner", 200),
    Route("POST", "/me/invite/renew", "/me/invite/renew", "owner", 302),
    Route(
        "GET",
        "/me/referrals/<int:referral_id>/dispute",
        "/me/referrals/{disputable_id}/dispute",
        "owner",
        200,
        other_dealer=404,
    ),
    # An empty dispute is a dispute (the word is optional): a spare fraud referral of its own.
    Route(
        "POST",
        "/me/referrals/<int:referral_id>/dispute",
        "/me/referrals/{spare_disputable_id}/dispute",
        "owner",
        302,
        other_dealer=404,
    ),
    # A spare owner's link: everyone sees the landing page; an empty form re-shows.
    Route("GET", "/i/<token>", "/i/{invite_token}", "anyone", 200),
    Route("POST", "/i/<token>", "/i/{invite_token}", "anyone", 200),
    # Only the browser that pre-registered sees the thanks: the others go to the landing page.
    Route("GET", "/i/<token>/thanks", "/i/{invite_token}/thanks", "anyone", 302),
)


def desk(dealer, owner) -> dict:
    """Referrals of the desk's owner judged fraud (one disputed, two to dispute), a visitor's
    referral waiting for the duty manager (two: to confirm, to refuse), a spare owner's link."""
    ids = {}
    disputed = judged_fraud(owner, mobile="13622220001", name="Disputed friend")
    ids["dispute_id"] = disputes.open_dispute(owner, disputed["referral_id"], reason="Not so").id
    ids["disputable_id"] = judged_fraud(owner, mobile="13622220002", name="Fraud friend")[
        "referral_id"
    ]
    ids["spare_disputable_id"] = judged_fraud(owner, mobile="13622220003", name="Spare friend")[
        "referral_id"
    ]
    consultant = make_staff("sales_consultant", dealer.id)
    waiting = (("showroom_confirm_id", "13622220004"), ("showroom_refuse_id", "13622220005"))
    for key, mobile in waiting:
        referral = referrals.register_referral(
            owner.user, owner, friend_name=f"Visitor {key[9:]}", friend_mobile=mobile
        )
        referrals.record_showroom_visit(
            consultant, mobile=mobile, name="Visitor", visited_on=date(2026, 11, 23)
        )
        ids[key] = referral.id
    ids["invite_token"] = invites.show_invite(make_member(dealer.id, name="Inviting owner")).token
    # Every principal posts the landing page's form from one address in a minute.
    current_app.config["INVITE_RATE_LIMIT"] = "1000 per minute"
    return ids
