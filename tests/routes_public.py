"""Every route outside /admin/ in the authorisation matrix (tests/test_authorisation.py).

``permission`` says who a route is for, as tests/test_authorisation.py reads it:

- ``owner``: owners' pages (login for visitors, 403 for staff and partners); ``ok`` is what
  the owner of the rows in the path gets, ``other_dealer`` what an owner of GZ01 gets;
- ``partner``: a partner's pages; ``logged_in``: any account's;
- ``anyone``: the same for everyone (static files, the webhook that checks its signature);
- ``visitor``: login and registration, which send a logged-in user to their home page;
- ``code``: the second step of a login, which sends a visitor with no password step behind
  them back to /login and a logged-in user to their home page;
- ``home``: the home page, which sends staff to their desk and partners to their check page;
- ``logout``: answers everyone and ends the session it came with;
- ``api``: the JSON API, which takes a dealer's key and no session (401); ``ok`` is what a key
  of SZ01 gets, ``other_dealer`` what a key of GZ01 gets; ``api.checkin`` also takes the
  session of staff who check tickets in (with the page's CSRF token).

Empty POSTs change nothing: forms re-show with their errors; one-tap actions act on spare rows
of their own (``spare_*``) so that no other case loses its row.
"""

from tests.admin.matrix import Route
from tests.admin.routes_invites import PUBLIC_ROUTES as INVITE_ROUTES

OWNER = "owner"
NOT_THEIRS = 404  # another owner's row, or a row of another dealer: as if there were none

OWNER_ROUTES: tuple[Route, ...] = (
    Route("GET", "/card", "/card", OWNER, 200),
    Route("GET", "/card/token", "/card/token", OWNER, 200),
    # The QR drawn by the server, for a browser without JavaScript (the page's <noscript>).
    Route("GET", "/card/qr.svg", "/card/qr.svg", OWNER, 200),
    Route("GET", "/card/reissue", "/card/reissue", OWNER, 200),
    Route("POST", "/card/reissue", "/card/reissue", OWNER, 200),
    # An empty post is no public key (the card page sends JSON).
    Route("POST", "/card/device", "/card/device", OWNER, 400),
    Route("GET", "/events", "/events", OWNER, 200),
    Route(
        "GET", "/events/<int:event_id>", "/events/{event_id}", OWNER, 200, other_dealer=NOT_THEIRS
    ),
    # The owner has a place already: the form re-shows with the reason.
    Route(
        "POST",
        "/events/<int:event_id>/sign-up",
        "/events/{event_id}/sign-up",
        OWNER,
        422,
        other_dealer=NOT_THEIRS,
    ),
    Route("GET", "/me/appointments", "/me/appointments", OWNER, 200),
    Route("GET", "/me/appointments/new", "/me/appointments/new", OWNER, 200),
    Route("POST", "/me/appointments/new", "/me/appointments/new", OWNER, 422),
    Route(
        "GET",
        "/me/appointments/<int:appointment_id>/change",
        "/me/appointments/{appointment_id}/change",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/me/appointments/<int:appointment_id>/change",
        "/me/appointments/{appointment_id}/change",
        OWNER,
        422,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/me/appointments/<int:appointment_id>/cancel",
        "/me/appointments/{spare_appointment_id}/cancel",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    Route("GET", "/me/chapter", "/me/chapter", OWNER, 200),
    Route("POST", "/me/chapter", "/me/chapter", OWNER, 200),
    # The owner's transfer request is withdrawn; GZ01's owner has none to withdraw.
    Route("POST", "/me/chapter/cancel", "/me/chapter/cancel", OWNER, 302, other_dealer=NOT_THEIRS),
    Route("GET", "/me/inbox", "/me/inbox", OWNER, 200),
    # After every visit (issue 20): the desk visit's questionnaire, the owner's complaint case
    # (still open: confirming or reopening it is refused with a message). Empty forms re-show.
    Route("GET", "/me/feedback", "/me/feedback", OWNER, 200),
    Route(
        "GET",
        "/me/visits/<int:visit_id>/questionnaire",
        "/me/visits/{visit_id}/questionnaire",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/me/visits/<int:visit_id>/questionnaire",
        "/me/visits/{visit_id}/questionnaire",
        OWNER,
        422,
        other_dealer=NOT_THEIRS,
    ),
    Route("GET", "/me/complaints/new", "/me/complaints/new", OWNER, 200),
    Route("POST", "/me/complaints/new", "/me/complaints/new", OWNER, 422),
    Route(
        "GET",
        "/me/complaints/<int:case_id>",
        "/me/complaints/{case_id}",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/me/complaints/<int:case_id>/confirm",
        "/me/complaints/{case_id}/confirm",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/me/complaints/<int:case_id>/reopen",
        "/me/complaints/{case_id}/reopen",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    # Issue 20: only an owner on the correction list proves a new number; others go home.
    Route("GET", "/me/mobile", "/me/mobile", OWNER, 302),
    Route("POST", "/me/mobile", "/me/mobile", OWNER, 302),
    Route("GET", "/me/notifications", "/me/notifications", OWNER, 200),
    Route("POST", "/me/notifications", "/me/notifications", OWNER, 302),
    Route("GET", "/me/perks", "/me/perks", OWNER, 200),
    Route(
        "GET",
        "/me/perks/<int:claim_id>",
        "/me/perks/{claim_id}",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route("GET", "/me/points", "/me/points", OWNER, 200),
    Route("GET", "/me/profile", "/me/profile", OWNER, 200),
    Route("POST", "/me/profile", "/me/profile", OWNER, 200),
    Route("GET", "/me/privacy", "/me/privacy", OWNER, 200),
    Route("POST", "/me/privacy/marketing", "/me/privacy/marketing", OWNER, 302),
    Route("POST", "/me/privacy/export", "/me/privacy/export", OWNER, 200),
    Route("POST", "/me/privacy/delete/code", "/me/privacy/delete/code", OWNER, 302),
    Route("GET", "/me/privacy/delete", "/me/privacy/delete", OWNER, 200),
    # Without the code and the tick the form re-shows: nothing is deleted.
    Route("POST", "/me/privacy/delete", "/me/privacy/delete", OWNER, 200),
    Route("GET", "/me/referrals", "/me/referrals", OWNER, 200),
    Route(
        "POST",
        "/me/referrals/<int:referral_id>/withdraw",
        "/me/referrals/{referral_id}/withdraw",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/me/registrations/<int:registration_id>/pay",
        "/me/registrations/{held_id}/pay",
        OWNER,
        303,
        other_dealer=NOT_THEIRS,
    ),
    Route("GET", "/me/tickets", "/me/tickets", OWNER, 200),
    Route(
        "GET",
        "/me/tickets/<int:registration_id>",
        "/me/tickets/{registration_id}",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "GET",
        "/me/tickets/<int:registration_id>/calendar.ics",
        "/me/tickets/{registration_id}/calendar.ics",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    # The owner's invitation: noted as opened, then the event's page.
    Route(
        "GET",
        "/invitations/<int:invitation_id>",
        "/invitations/{invitation_id}",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/me/tickets/<int:registration_id>/cancel",
        "/me/tickets/{spare_registration_id}/cancel",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    # A confirmed place has no offer to confirm: refused with the reason.
    Route(
        "POST",
        "/me/tickets/<int:registration_id>/confirm",
        "/me/tickets/{registration_id}/confirm",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "GET",
        "/me/tickets/<int:registration_id>/evaluation",
        "/me/tickets/{seat_id}/evaluation",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/me/tickets/<int:registration_id>/evaluation",
        "/me/tickets/{seat_id}/evaluation",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route("GET", "/me/tier", "/me/tier", OWNER, 200),
    Route("GET", "/me", "/me", OWNER, 200),
    Route("GET", "/me/vehicles", "/me/vehicles", OWNER, 200),
    Route(
        "GET",
        "/me/vehicles/<int:vehicle_id>",
        "/me/vehicles/{vehicle_id}",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route("GET", "/me/vehicles/new", "/me/vehicles/new", OWNER, 200),
    Route("POST", "/me/vehicles/new", "/me/vehicles/new", OWNER, 200),
    Route(
        "GET",
        "/me/vehicles/<int:vehicle_id>/edit",
        "/me/vehicles/{vehicle_id}/edit",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    # Fields not sent keep the car's values: saved as it is.
    Route(
        "POST",
        "/me/vehicles/<int:vehicle_id>/edit",
        "/me/vehicles/{vehicle_id}/edit",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "GET",
        "/me/vehicles/<int:vehicle_id>/care-dates",
        "/me/vehicles/{vehicle_id}/care-dates",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/me/vehicles/<int:vehicle_id>/care-dates",
        "/me/vehicles/{vehicle_id}/care-dates",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/me/vehicles/<int:vehicle_id>/remove",
        "/me/vehicles/{spare_vehicle_id}/remove",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    Route("GET", "/me/vouchers", "/me/vouchers", OWNER, 200),
    Route(
        "GET",
        "/me/vouchers/<int:voucher_id>",
        "/me/vouchers/{voucher_id}",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/me/vouchers/<int:voucher_id>/cancel",
        "/me/vouchers/{spare_voucher_id}/cancel",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "GET",
        "/payments/cancelled",
        "/payments/cancelled?registration_id={held_id}",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "GET",
        "/payments/return",
        "/payments/return?payment_id={payment_id}",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "GET",
        "/payments/demo/<int:payment_id>",
        "/payments/demo/{payment_id}",
        OWNER,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/payments/demo/<int:payment_id>",
        "/payments/demo/{payment_id}",
        OWNER,
        303,
        other_dealer=NOT_THEIRS,
    ),
    Route("GET", "/perks", "/perks", OWNER, 200),
    # The owner claimed the desk's perk already (once per member): refused with the reason.
    Route(
        "POST",
        "/perks/<int:perk_id>/claim",
        "/perks/{perk_id}/claim",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
    Route("GET", "/referrals/new", "/referrals/new", OWNER, 200),
    Route("POST", "/referrals/new", "/referrals/new", OWNER, 200),
    Route("GET", "/rewards", "/rewards", OWNER, 200),
    Route(
        "POST",
        "/rewards/<int:reward_id>/redeem",
        "/rewards/{reward_id}/redeem",
        OWNER,
        302,
        other_dealer=NOT_THEIRS,
    ),
)

PARTNER_ROUTES: tuple[Route, ...] = (
    Route("GET", "/partner", "/partner", "partner", 200),
    Route("POST", "/partner", "/partner", "partner", 200),
    Route("GET", "/partner/settlement", "/partner/settlement", "partner", 200),
    Route("GET", "/partner/settlement.csv", "/partner/settlement.csv", "partner", 200),
)

SITE_ROUTES: tuple[Route, ...] = (
    Route("GET", "/", "/", "home", 200),
    Route("GET", "/login", "/login", "visitor", 200),
    Route("POST", "/login", "/login", "visitor", 200),
    Route("GET", "/register", "/register", "visitor", 200),
    Route("POST", "/register", "/register", "visitor", 200),
    Route("GET", "/login/code", "/login/code", "visitor", 200),
    Route("POST", "/login/code", "/login/code", "visitor", 200),
    # A signed-in owner may set a password with a code too (they may have none).
    Route("GET", "/password/forgot", "/password/forgot", "anyone", 200),
    # The site's service worker: a script, the same for everyone.
    Route("GET", "/card/sw.js", "/card/sw.js", "anyone", 200),
    Route("POST", "/password/forgot", "/password/forgot", "anyone", 200),
    # Step two needs a fresh proof of the number: without one, back to step one.
    Route("GET", "/register/details", "/register/details", "anyone", 302),
    Route("POST", "/register/details", "/register/details", "anyone", 302),
    Route("GET", "/password/reset", "/password/reset", "anyone", 302),
    Route("POST", "/password/reset", "/password/reset", "anyone", 302),
    # Every account of the matrix has a proven number: nothing to prove, back home.
    Route("GET", "/account/verify-mobile", "/account/verify-mobile", "logged_in", 302),
    Route("POST", "/account/verify-mobile", "/account/verify-mobile", "logged_in", 302),
    Route("GET", "/privacy", "/privacy", "anyone", 200),
    Route("GET", "/privacy/<version>", "/privacy/2026-11", "anyone", 200),
    Route("POST", "/logout", "/logout", "logout", 302),
    Route("GET", "/account/password", "/account/password", "logged_in", 200),
    Route("POST", "/account/password", "/account/password", "logged_in", 200),
    Route("GET", "/login/second-factor", "/login/second-factor", "code", 302),
    Route("POST", "/login/second-factor", "/login/second-factor", "code", 302),
    Route("GET", "/account/devices", "/account/devices", "logged_in", 200),
    # No device 0: every account gets 404 (their own devices: tests/auth/test_sessions.py).
    Route(
        "POST",
        "/account/devices/<int:device_id>/logout",
        "/account/devices/0/logout",
        "logged_in",
        404,
    ),
    Route("POST", "/account/devices/logout-all", "/account/devices/logout-all", "logout", 302),
    Route("GET", "/lang/<code>", "/lang/en", "anyone", 302),
    Route("GET", "/favicon.ico", "/favicon.ico", "anyone", 200),
    Route("GET", "/account-deleted", "/account-deleted", "anyone", 200),
    Route("GET", "/static/<path:filename>", "/static/css/app.css", "anyone", 200),
    # Cover pictures, public like static files (none is stored here: 404 for everyone).
    Route("GET", "/media/<path:name>", "/media/covers/0123456789abcdef-480.webp", "anyone", 404),
    # Unsigned: refused whoever sends it (webhooks are not configured in tests either).
    Route("POST", "/payments/stripe/webhook", "/payments/stripe/webhook", "anyone", 400),
)

A = "api"
API_ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", "anyone", 200),
    # Without a body: 400 once the key is accepted (and the row, where the path names one).
    Route("POST", "/api/v1/dms/deliveries", "/api/v1/dms/deliveries", A, 400),
    Route("POST", "/api/v1/dms/service-visits", "/api/v1/dms/service-visits", A, 400),
    Route(
        "POST",
        "/api/v1/dms/service-visits/<path:ro_number>/amend",
        "/api/v1/dms/service-visits/RO-M1/amend",
        A,
        400,
    ),
    Route(
        "POST",
        "/api/v1/dms/service-visits/<path:ro_number>/refund",
        "/api/v1/dms/service-visits/RO-M1/refund",
        A,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "GET",
        "/api/v1/members/by-card/<card_number>",
        "/api/v1/members/by-card/{card_number}",
        A,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route("POST", "/api/v1/vouchers/redeem", "/api/v1/vouchers/redeem", A, 400),
    Route("GET", "/api/v1/referrals", "/api/v1/referrals", A, 200),
    Route(
        "GET",
        "/api/v1/referrals/<int:referral_id>",
        "/api/v1/referrals/{callback_id}",
        A,
        200,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/api/v1/referrals/<int:referral_id>/callback/start",
        "/api/v1/referrals/{callback_id}/callback/start",
        A,
        400,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/api/v1/referrals/<int:referral_id>/callback/attempts",
        "/api/v1/referrals/{callback_id}/callback/attempts",
        A,
        400,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/api/v1/referrals/<int:referral_id>/callback/questions/<int:question_id>/answer",
        "/api/v1/referrals/{callback_id}/callback/questions/{question_id}/answer",
        A,
        400,
        other_dealer=NOT_THEIRS,
    ),
    Route(
        "POST",
        "/api/v1/referrals/<int:referral_id>/callback/complete",
        "/api/v1/referrals/{callback_id}/callback/complete",
        A,
        400,
        other_dealer=NOT_THEIRS,
    ),
    Route("POST", "/api/v1/checkin", "/api/v1/checkin", "api.checkin", 400),
    Route("POST", "/api/v1/checkin/batch", "/api/v1/checkin/batch", "api.checkin", 400),
)

ROUTES = OWNER_ROUTES + PARTNER_ROUTES + SITE_ROUTES + API_ROUTES + INVITE_ROUTES
