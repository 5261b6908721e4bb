"""How referrals read on screen: owners' plain words, the timeline, the callback's people."""

from dataclasses import dataclass, field

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.core.permissions import Role
from app.extensions import db
from app.members.models import Colour, Member
from app.referrals.models import (
    Callee,
    CrossCheckQuestion,
    QuestionKind,
    Referral,
    ReferralStatus,
    ReferralTerms,
    StaffReview,
)

# What the owner who referred a friend reads about each state.
OWNER_STATES = {
    ReferralStatus.REGISTERED: _l(
        "Registered. Bring your friend to the showroom: we know they are coming."
    ),
    ReferralStatus.VISITED: _l("Your friend visited the showroom."),
    ReferralStatus.PURCHASED: _l("Your friend bought a car. We are checking the referral."),
    ReferralStatus.LICENCE_CHECKED: _l(
        "Your friend bought a car. We are checking the referral and may call one of you."
    ),
    ReferralStatus.LICENCE_FAILED: _l(
        "Not rewarded: the vehicle licence you showed did not match the club's record of your car."
    ),
    ReferralStatus.CALLBACK: _l(
        "Your friend bought a car. We are checking the referral and may call one of you."
    ),
    ReferralStatus.MANUAL_REVIEW: _l(
        "Your friend bought a car. The showroom manager is checking the referral."
    ),
    ReferralStatus.APPROVED: _l("Approved. Your reward is on its way."),
    ReferralStatus.REWARDED: _l("Rewarded. Thank you!"),
    ReferralStatus.FRAUD: _l(
        "Not rewarded: our check found that this referral was not genuine. If you disagree, "
        "ask your dealer: you can hear the call recording."
    ),
    ReferralStatus.WITHDRAWN: _l("You withdrew this referral."),
    ReferralStatus.STAFF_REVIEW: _l(
        "Your friend bought a car. The showroom manager is checking the referral."
    ),
    ReferralStatus.STAFF_EXCLUDED: _l(
        "Not rewarded: staff of the dealer cannot be rewarded for referrals."
    ),
}
CAPPED = _l("Approved, but this year's limit of rewarded referrals was already reached.")
WITHDRAWABLE = frozenset({ReferralStatus.REGISTERED, ReferralStatus.VISITED})

TIMELINE_LABELS = {
    "referral.registered": _l("Registered"),
    "referral.withdrawn": _l("Withdrawn by the referrer"),
    "referral.visited": _l("Friend visited the showroom"),
    "referral.purchased": _l("Friend's car delivered"),
    "referral.licence_checked": _l("Vehicle licence checked"),
    "referral.callback_started": _l("Callback started"),
    "referral.call_attempt": _l("Call attempt"),
    "referral.answer": _l("Answer marked"),
    "referral.approved": _l("Approved"),
    "referral.fraud": _l("Marked as fraud"),
    "referral.rewarded": _l("Rewards given"),
    "referral.reward_capped": _l("Not rewarded: yearly limit reached"),
    "referral.staff_suspected": _l("Referrer matches a staff member"),
    "referral.staff_hold": _l("Reward held for the staff check"),
    "referral.staff_cleared": _l("Staff check: not staff"),
    "referral.staff_confirmed": _l("Staff check: the referrer is staff"),
    "referral.staff_excluded": _l("Not rewarded: the referrer is staff"),
    "referral.staff_flagged": _l("Staff who handled it flagged"),
}
MATCHED_BY = {
    "account": _l("their account is a staff account"),
    "mobile": _l("mobile number"),
    "id_number": _l("ID number"),
    "name": _l("name, at the same dealer"),
}
HANDLED = {
    "registration": _l("registered it"),
    "consultant": _l("sales consultant"),
    "licence": _l("licence check"),
    "callback": _l("callback"),
}
STAFF_REVIEW_LABELS = {
    StaffReview.PENDING: _l("waiting for a manager"),
    StaffReview.NOT_STAFF: _l("not staff"),
    StaffReview.STAFF: _l("staff: no reward"),
}
LICENCE_FIELDS = {
    "plate": _l("Plate"),
    "vin": _l("VIN"),
    "model": _l("Model"),
    "colour": _l("Colour"),
}
FUNNEL_LABELS = {
    "registered": _l("Registered"),
    "visited": _l("Visited"),
    "purchased": _l("Bought a car"),
    "verified": _l("Verified"),
    "rewarded": _l("Rewarded"),
    "fraud": _l("Fraud"),
}
CALLEE_LABELS = {Callee.REFERRER: _l("the referrer"), Callee.FRIEND: _l("the new owner")}


def owner_state(referral: Referral) -> str:
    """The referral's state in the owner's words."""
    if referral.status == ReferralStatus.APPROVED and referral.reward_note:
        return str(CAPPED)
    # Withdrawn with a decision: the duty manager refused it at the showroom (showroom.py).
    if referral.status == ReferralStatus.WITHDRAWN and referral.decided_at is not None:
        return str(NOT_CONFIRMED)
    return str(OWNER_STATES[referral.status])


def can_withdraw(referral: Referral) -> bool:
    """The friend has not bought yet: the referrer may take the referral back."""
    return referral.status in WITHDRAWABLE


@dataclass
class Received:
    """What one owner got for a referral: points and voucher names."""

    points: int = 0
    vouchers: list[str] = field(default_factory=list)


def received(referral: Referral, who: str) -> Received:
    """The referral reward ``who`` ("referrer" or "friend") got, read from ledger and vouchers."""
    from app.loyalty.models import PointsEntry
    from app.rewards.models import Voucher

    member_id = referral.referrer_id if who == "referrer" else referral.friend_member_id
    got = Received()
    if member_id is None:
        return got
    entry = db.session.scalar(
        select(PointsEntry).where(PointsEntry.idempotency_key == f"referral:{referral.id}:{who}")
    )
    got.points = entry.delta if entry is not None else 0
    vouchers = db.session.scalars(
        select(Voucher)
        .where(
            Voucher.member_id == member_id,
            Voucher.source.in_([f"referral:{referral.id}", f"referral-fuel:{referral.id}"]),
        )
        .order_by(Voucher.id)
    )
    got.vouchers = [v.reward.name for v in vouchers]
    return got


def callee_member(referral: Referral) -> Member | None:
    """The person the agent calls."""
    if referral.callee == Callee.REFERRER:
        return referral.referrer
    if referral.callee == Callee.FRIEND:
        return referral.friend
    return None


def subject_name(referral: Referral) -> str:
    """The name of the person the questions are about."""
    if referral.callee == Callee.REFERRER:
        return referral.friend.name if referral.friend else referral.friend_name
    return referral.referrer.name


def is_statement(question: CrossCheckQuestion) -> bool:
    """A statement with a deliberate error the callee must correct."""
    return question.kind != QuestionKind.OPEN


def timeline_label(action: str) -> str:
    """An audit action of a referral in plain words."""
    label = TIMELINE_LABELS.get(action)
    return str(label) if label is not None else action


def timeline_note(action: str, details: dict) -> str:
    """The detail worth showing next to a timeline entry."""
    if action == "referral.call_attempt":
        return str(_l("reached") if details.get("reached") else _l("not reached"))
    if action == "referral.answer":
        verdict = _l("right") if details.get("correct") else _l("wrong")
        return str(
            _l("question %(n)s: %(verdict)s", n=details.get("question", "?"), verdict=verdict)
        )
    if action == "referral.licence_checked":
        mismatches = details.get("mismatches") or []
        if not mismatches:
            return str(_l("matches the club record"))
        return str(_l("does not match: %(fields)s", fields=licence_fields(mismatches)))
    if action == "referral.callback_started":
        callee = details.get("callee")
        who = CALLEE_LABELS.get(Callee(callee)) if callee in {c.value for c in Callee} else callee
        return str(_l("calling %(who)s, %(n)s questions", who=who, n=details.get("questions", 0)))
    if action in ("referral.approved", "referral.fraud"):
        if details.get("manual"):
            return str(_l("manual review"))
        if "wrong" in details:
            return str(_l("%(n)s wrong answers", n=details["wrong"]))
    if action == "referral.visited" and details.get("visited_on"):
        return details["visited_on"]
    if action == "referral.staff_suspected":
        return matched_by(sorted({b for m in details.get("matches", []) for b in m.get("by", [])}))
    if action in ("referral.staff_cleared", "referral.staff_confirmed"):
        return str(details.get("reason", ""))
    if action == "referral.staff_flagged":
        return str(_l("%(n)s staff members", n=len(details.get("flags", []))))
    if action in FRONT_DOOR_NOTES:
        return str(details.get(FRONT_DOOR_NOTES[action]) or "")
    return ""


def matched_by(by: list[str]) -> str:
    """ "mobile number, ID number": what a staff match was found by."""
    return ", ".join(str(MATCHED_BY.get(b, b)) for b in by)


def handled_label(handled: list[str] | None) -> str:
    """ "licence check, callback": how a flagged staff member handled the referral."""
    return ", ".join(str(HANDLED.get(h, h)) for h in handled or [])


def staff_review_label(referral: Referral) -> str:
    """The staff check's state in the user's language."""
    return str(STAFF_REVIEW_LABELS[StaffReview(referral.staff_review)])


@dataclass
class StaffMatchRow:
    """A staff member the referrer matched, as the review screen shows them."""

    user: User | None
    by: str
    reviewed: bool


def staff_matches(referral: Referral) -> list[StaffMatchRow]:
    """The staff members the referrer matched, with what matched."""
    return [
        StaffMatchRow(db.session.get(User, m["user_id"]), matched_by(m["by"]), m.get("reviewed"))
        for m in referral.staff_match or []
    ]


def reward_names(terms: ReferralTerms) -> dict[str, str]:
    """The names of a terms version's vouchers ("referrer", "friend", "bonus"), where set."""
    from app.rewards.models import Reward

    ids = {
        "referrer": terms.referrer_reward_id,
        "friend": terms.friend_reward_id,
        "bonus": terms.bonus_reward_id,
    }
    return {who: db.session.get(Reward, i).name for who, i in ids.items() if i is not None}


def licence_fields(mismatches: list[str]) -> str:
    """ "Plate, Colour": the licence fields that differ from the record."""
    return ", ".join(str(LICENCE_FIELDS.get(m, m)) for m in mismatches)


def colour_label(colour_id) -> str:
    """A colour's name in the user's language, from its id."""
    colour = db.session.get(Colour, colour_id) if colour_id else None
    return colour.label(str(get_locale())) if colour else "—"


def staff_names(*user_ids: int | None) -> dict[int, str]:
    """Names of the staff (or owners) behind ids stored on a referral."""
    wanted = {i for i in user_ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())


def referral_staff_names(referral: Referral) -> dict[int, str]:
    """Names of everyone who handled ``referral``: registered, sold, checked, called, decided."""
    return staff_names(
        referral.registered_by_id,
        referral.consultant_id,
        referral.licence_checked_by_id,
        referral.decided_by_id,
        referral.staff_reviewed_by_id,
        *(a.agent_id for a in referral.attempts),
        *(q.answered_by_id for q in referral.questions),
    )


def dealer_consultants(dealer_id: int | None) -> list[User]:
    """The dealer's active sales consultants, by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.dealer_id == dealer_id,
                User.role == Role.SALES_CONSULTANT,
                User.active.is_(True),
            )
            .order_by(User.name, User.id)
        )
    )


def funnel_label(step: str) -> str:
    """A funnel step's name in the user's language."""
    return str(FUNNEL_LABELS.get(step, step))


def offence_label(offence: int) -> str:
    """ "1st offence" or "repeat offence (2nd)"."""
    if offence <= 1:
        return str(_l("1st offence"))
    return str(_l("repeat offence (no. %(n)s)", n=offence))


# ------------------------------------------------ the referral's front door (issue 21, item 4)

NOT_CONFIRMED = _l("Not confirmed at the showroom: the duty manager did not accept this referral.")
TIMELINE_LABELS.update(
    {
        "referral.invite_accepted": _l("Pre-registered by the friend through the invite link"),
        "referral.showroom_reported": _l("Reported to the duty manager"),
        "referral.showroom_confirmed": _l("Confirmed by the duty manager"),
        "referral.showroom_refused": _l("Refused by the duty manager"),
        "referral.disputed": _l("Outcome disputed by the referrer"),
        "referral.dispute_upheld": _l("Dispute upheld: the outcome stands"),
        "referral.dispute_overturned": _l("Dispute overturned"),
    }
)
# The detail a front-door step shows on the timeline: the refusal's reason, the recording.
FRONT_DOOR_NOTES = {
    "referral.invite_accepted": "dealer",
    "referral.showroom_refused": "reason",
    "referral.dispute_upheld": "recording_ref",
    "referral.dispute_overturned": "recording_ref",
}
