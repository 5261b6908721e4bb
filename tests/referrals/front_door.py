"""Helpers of the front-door tests (invite links, the duty manager, disputes): page text, and a
referral taken through purchase, licence check and a callback that finds it fraud."""

import re
from datetime import date
from html import unescape

from app.core.clock import utcnow
from app.extensions import db
from app.members.delivery import DeliveryCustomer, DeliveryVehicle, record_delivery
from app.members.models import Member
from app.referrals import services as referrals
from app.referrals import verification
from app.referrals.models import ReferralStatus
from tests.factories import make_staff, valid_vin

FRIEND_MOBILE = "13700004444"


def body(response) -> str:
    return response.get_data(as_text=True)


def text(response) -> str:
    """The page's visible text, tags removed and whitespace squeezed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", body(response), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def error(response, field: str) -> str:
    """The error shown next to ``field`` (empty when there is none)."""
    html = body(response)
    start = html.find(f'id="{field}-error"')
    if start == -1:
        return ""
    return unescape(html[html.index(">", start) + 1 : html.index("</p>", start)])


def judged_fraud(owner: Member, *, mobile: str = FRIEND_MOBILE, name: str = "Li Si") -> dict:
    """``owner`` refers a friend who buys a red manual Golf; the licence matches; the callback
    finds two wrong answers: fraud. Returns the referral's id and the staff ids involved."""
    dealer_id = owner.dealer_id
    consultant = make_staff("sales_consultant", dealer_id)
    referral = referrals.register_referral(
        consultant, owner, friend_name=name, friend_mobile=mobile, model_of_interest="Golf"
    )
    record_delivery(
        dealer_id=dealer_id,
        delivered_on=date(2026, 11, 22),
        sales_consultant="Chen Jie",
        customer=DeliveryCustomer(name=name, mobile=mobile, employer="Ping An"),
        vehicle=DeliveryVehicle(vin=valid_vin(), model="Golf", colour="red", transmission="manual"),
    )
    car = owner.vehicles[0]
    manager = make_staff("showroom_manager", dealer_id)
    facts = referrals.LicenceFacts(car.plate or "", car.vin, car.model, car.colour_id)
    referrals.check_licence(manager, referral.id, facts)
    agent = make_staff("care_agent", dealer_id)
    referral = verification.start_callback(agent, referral.id)
    if referral.status == ReferralStatus.CALLBACK:
        for n, question in enumerate(referral.questions):
            verification.answer_question(agent, referral.id, question.id, correct=n >= 2)
        verification.complete_callback(agent, referral.id, recording_ref="REC-7788")
    else:
        referrals.decide_manual_review(manager, referral.id, approve=False, reason="Not friends")
    db.session.flush()
    assert referral.status == ReferralStatus.FRAUD
    assert referral.decided_at == utcnow()
    return {
        "referral_id": referral.id,
        "consultant_id": consultant.id,
        "manager_id": manager.id,
        "agent_id": agent.id,
    }
