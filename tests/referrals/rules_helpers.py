"""What the referral rules' tests share (issue 21): SZ01's referrer, staff and HQ, and the
steps of a referral from registration to reward."""

from app.core.clock import local_date, utcnow
from app.members.delivery import DeliveryCustomer, DeliveryVehicle, record_delivery
from app.members.models import Transmission
from app.members.services import update_profile
from app.referrals import services, verification
from app.referrals.services import LicenceFacts
from tests.factories import colour, make_member, make_staff, make_vehicle, valid_vin


def make_club(dealers) -> dict:
    """SZ01's referrer Zhang San (a white Sagitar, works at Huawei), its staff and HQ."""
    owner = make_member(dealers["SZ01"], name="张三")
    update_profile(
        owner,
        name="张三",
        birthday=None,
        gender=None,
        occupation="华为工程师",
        home_area="南山区",
        hobbies="",
        marketing_opt_in=False,
    )
    make_vehicle(owner, model="Sagitar", colour_id=colour("white").id)
    people = {
        role: make_staff(role, dealers["SZ01"])
        for role in ("sales_consultant", "showroom_manager", "care_agent")
    }
    people["hq"] = make_staff("hq_admin", None)
    people["owner"] = owner
    people["dealer_id"] = dealers["SZ01"]
    return people


def refer(club, mobile: str):
    owner = club["owner"]
    return services.register_referral(owner.user, owner, friend_name="李四", friend_mobile=mobile)


def buy(club, mobile: str):
    """The friend's car is delivered: the referral is earned."""
    record_delivery(
        dealer_id=club["dealer_id"],
        delivered_on=local_date(utcnow()),
        sales_consultant="Chen Jie",
        customer=DeliveryCustomer(name="李四", mobile=mobile, employer="平安", home_area="福田"),
        vehicle=DeliveryVehicle(
            vin=valid_vin(), model="Golf", colour="red", transmission=Transmission.MANUAL
        ),
    )


def confirm(club, referral):
    """The licence matches and every callback answer is right: approved and rewarded."""
    car = club["owner"].vehicles[0]
    services.check_licence(
        club["showroom_manager"],
        referral.id,
        LicenceFacts(plate=car.plate, vin=car.vin, model=car.model, colour_id=car.colour_id),
    )
    verification.start_callback(club["care_agent"], referral.id)
    for question in referral.questions:
        verification.answer_question(club["care_agent"], referral.id, question.id, correct=True)
    verification.complete_callback(club["care_agent"], referral.id, recording_ref="REC-1")
    return referral
