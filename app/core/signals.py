"""The signals a lower domain sends so that the domains above it can take part, as Indico's
``indico/core/signals`` does: the sender names no receiver, so the arrows between packages keep
pointing down (docs/architecture.md, "Arrows allowed").

Each domain connects its receivers in its package's ``__init__.py``; ``create_app`` imports
every domain, so every receiver is connected before the first request or command. A receiver
takes the sender and the keyword arguments named below. Blinker calls receivers in no set
order: a signal whose answers must come in an order is split in steps (deletion), or its
sender orders the answers (export).
"""

from blinker import Namespace

_signals = Namespace()

sessions_ended = _signals.signal(
    "sessions-ended",
    doc="""Every other device of an account was signed out: "log out everywhere", a new
    password, a reset (sender: the ``User``; ``now``). Cards revokes the keys the owner's phones
    sign the card's offline codes with: a lost phone stops showing a valid card.""",
)

member_registered = _signals.signal(
    "member-registered",
    doc="""A new owner's account and club profile exist (sender: the ``Member``; ``now``).
    Cards issues the member card, loyalty opens the points account.""",
)

car_delivered = _signals.signal(
    "car-delivered",
    doc="""A dealer delivered a car to an owner (sender: the ``Member``; ``vehicle``,
    ``mobile`` the buyer's number as the dealer gave it, ``now``). Referrals links the purchase
    to a friend's pre-registration.""",
)

visit_recorded = _signals.signal(
    "visit-recorded",
    doc="""A service visit (repair order) was recorded for the first time, at the desk or by the
    DMS (sender: the ``ServiceVisit``; ``now``). Care starts the after-visit follow-up: the
    callback task and the owner's questionnaire.""",
)

visit_refunded = _signals.signal(
    "visit-refunded",
    doc="""A service visit was refunded: it no longer counts (sender: the ``ServiceVisit``;
    ``now``). Care closes the visit's callback task and withdraws its questionnaire.""",
)

tier_offers = _signals.signal(
    "tier-offers",
    doc="""The tier page lists what each tier opens (sender: the ``Member``; ``now``). Each
    receiver returns a dict with one list of what the owner could see, each item having a
    ``min_tier_code`` (None: every tier): rewards ``{"rewards": [Reward...]}``, partners
    ``{"perks": [Perk...]}``.""",
)

member_home = _signals.signal(
    "member-home",
    doc="""The owner's home page is drawn (sender: the ``Member``; ``cars`` the owner's cars,
    ``now``, ``limit`` how many of a list to show). Each receiver returns a dict of what it adds
    to ``members.home.HomeSummary``: cards the card; loyalty the account, tier and expiring
    points; care the cars' next maintenance by car id; events the next tickets and open
    events.""",
)

member_search = _signals.signal(
    "member-search",
    doc="""Staff search the owners (sender: the field searched, ``"all"`` or one of
    ``members.services.SEARCH_FIELDS``; ``q`` the text). Each receiver returns an SQL condition
    on ``Member`` for what it holds, or None (cards: the card number).""",
)

member_export = _signals.signal(
    "member-export",
    doc="""An owner downloads their data (sender: the ``Member``). Each receiver returns a dict
    of sections, section name → list of rows (``members.privacy.export_rows``); the export
    orders them (``members.privacy.SECTIONS``) and fails when one is missing.""",
)

member_deleting = _signals.signal(
    "member-deleting",
    doc="""Deletion, step 1: an owner deletes their account and everything they have open is
    cancelled (sender: the ``Member``; ``now``): vouchers, event places, referrals not bought on,
    appointments, the card, care calls. Each receiver returns a dict of counts (the keys of
    ``members.privacy.DELETION_COUNTS``).""",
)

member_forfeiting = _signals.signal(
    "member-forfeiting",
    doc="""Deletion, step 2, once everything open returned its points: loyalty forfeits the
    balance left (sender: the ``Member``; ``now``). Returns a dict of counts.""",
)

member_refunding = _signals.signal(
    "member-refunding",
    doc="""Deletion, step 3, last among the money because it calls Stripe (whose idempotency
    key makes a retry after a later failure refund once): payments refunds the places step 1
    cancelled (sender: the ``Member``; ``now``). Returns a dict of counts.""",
)

place_cancelled = _signals.signal(
    "place-cancelled",
    doc="""An owner cancelled their event place (sender: the ``EventRegistration``; ``now``).
    Payments refunds a paid place and returns the refunded payment (None when nothing was
    paid).""",
)

ledger_checks = _signals.signal(
    "ledger-checks",
    doc="""The ledger's reconciliation runs (sender: the moment ``now``). A domain that posts
    entries under a rule of its own returns the breaches of that rule, a list of
    ``loyalty.reconcile.Breach`` (events: points deposits).""",
)

care_assignees = _signals.signal(
    "care-assignees",
    doc="""The daily care job makes call tasks (sender: the task's kind, e.g. ``"birthday"``;
    ``member_ids`` the owners). Each receiver returns a dict, owner's member id → id of the staff
    member responsible for the owner's care, for the owners it knows one of (campaigns: the
    consultant of the owner's ABC grading).""",
)
