"""The model trap of the callback follows the managed model list (issue 16): it never names a
variant of the true car, nor a model of the callee's or subject's own cars' families, and HQ's
changes to the list's families take effect at the next callback."""

from datetime import date

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.members.car_models import ModelFamilies, all_car_models, save_car_model
from app.members.delivery import DeliveryCustomer, DeliveryVehicle, record_delivery
from app.members.models import CarModel, Dealer, Member, Transmission, Vehicle
from app.members.services import active_colours
from app.referrals import services, verification
from app.referrals.callback import draft_questions, wrong_model
from app.referrals.models import Callee, QuestionKind
from app.referrals.services import LicenceFacts
from tests.factories import car_model, colour, make_member, make_staff, make_vehicle, valid_vin

DRAWS = 500
# Club cars recorded in other spellings of the Golf family, and one car outside the list.
CLUB_CARS = ["golf-r", "新Golf", "Golf Variant", "GOLF GTI", "Sagitar", "Lamando GTS", "ID.3"]


def _draws(true: str, *, avoid: tuple[str, ...] = ()) -> set[str]:
    listed = all_car_models()
    return {wrong_model(true, listed, CLUB_CARS, avoid=avoid) for _ in range(DRAWS)}


def test_a_golf_owner_never_hears_a_golf_variant(ctx):
    named = _draws("Golf")
    families = ModelFamilies(all_car_models())
    assert {families.of(m) for m in named}.isdisjoint({"golf"})
    assert named.isdisjoint({"Golf", "Golf GTI", "Golf R", *CLUB_CARS[:4]})
    assert {"Sagitar", "Lavida", "ID.3"} <= named  # other families are named


def test_a_golf_gti_owner_never_hears_golf_nor_golf_r(ctx):
    named = _draws("golf gti")
    assert named.isdisjoint({"Golf", "Golf GTI", "Golf R", *CLUB_CARS[:4]})


def test_a_variant_hq_adds_to_a_family_is_never_named_to_its_owners(ctx):
    hq = make_staff("hq_admin", None)
    # Not Golf by its first word: only the list says it is one.
    save_car_model(hq, None, name="高尔夫", family="Golf", active=True)
    assert "高尔夫" in _draws("Passat")
    assert "高尔夫" not in _draws("Golf")
    assert "Golf" not in _draws("高尔夫")


def test_hq_moving_lamando_into_the_lavida_family_takes_effect(ctx):
    assert "Lamando" in _draws("Lavida")  # another family, until HQ says otherwise
    save_car_model(
        make_staff("hq_admin", None),
        car_model("Lamando"),
        name="Lamando",
        family="Lavida",
        active=True,
    )

    named = _draws("Lavida")
    assert "Lamando" not in named
    assert "Lamando GTS" not in named  # a club car starting with Lamando: its family too
    assert "Lavida" not in _draws("Lamando")


def test_the_callees_and_subjects_own_families_are_never_named(ctx):
    named = _draws("Golf", avoid=("Sagitar", "Tiguan L"))
    assert named.isdisjoint({"Sagitar", "Tiguan", "Tiguan L", "Golf", "Golf GTI", "Golf R"})
    assert named


def test_a_retired_model_is_not_named_unless_a_club_car_is_one(ctx):
    hq = make_staff("hq_admin", None)
    save_car_model(hq, car_model("Passat"), name="Passat", family="Passat", active=False)
    save_car_model(hq, car_model("Golf R"), name="Golf R", family="Golf", active=False)
    assert "Passat" not in _draws("Golf")
    # Retired, yet still the family of the owners' Golf R: never named to a Golf owner.
    assert ModelFamilies(all_car_models()).of("Golf R") == "golf"
    assert "golf-r" not in _draws("Golf")
    listed = all_car_models()
    assert "Passat" in {wrong_model("Golf", listed, ["Passat"]) for _ in range(DRAWS)}


def test_a_club_car_in_another_spelling_of_a_listed_model_is_named_as_the_list_spells_it(ctx):
    listed = all_car_models()
    named = {wrong_model("Golf", listed, ["magotan", "MAGOTAN"]) for _ in range(DRAWS)}
    assert "Magotan" in named
    assert named.isdisjoint({"magotan", "MAGOTAN"})


def test_no_trap_when_every_model_is_of_a_family_to_avoid(ctx):
    db.session.execute(update(CarModel).values(active=False))
    listed = all_car_models()
    assert (
        wrong_model("Golf", listed, ["Golf GTI", "golf-r", "Sagitar"], avoid=("Sagitar",)) is None
    )


def test_the_draft_questions_take_the_list_they_are_given(ctx):
    subject = Member(name="李四", occupation="teacher", home_area="")
    car = Vehicle(model="Golf", colour=colour("white"), transmission=Transmission.MANUAL)
    listed = all_car_models()
    for _ in range(100):
        drafts = draft_questions(
            subject, car, palette=active_colours(), car_models=listed, known_models=CLUB_CARS
        )
        (model,) = [d for d in drafts if d.kind == QuestionKind.MODEL]
        assert ModelFamilies(listed).of(model.params["model"]) != "golf"


# ------------------------------------------------------------- through start_callback


@pytest.fixture
def lavida_referral(ctx, dealers):
    """Zhang San (a Sagitar) referred Li Si, who bought a Lavida; the licence is checked.
    Lamando is the only model of the list in use."""
    db.session.execute(update(CarModel).where(CarModel.name != "Lamando").values(active=False))
    zhang = make_member(dealers["SZ01"], name="张三")
    car = make_vehicle(zhang, model="Sagitar", transmission=Transmission.AUTOMATIC)
    referral = services.register_referral(
        zhang.user, zhang, friend_name="李四", friend_mobile="13700004444"
    )
    record_delivery(
        dealer_id=db.session.scalar(select(Dealer.id).where(Dealer.code == "SZ01")),
        delivered_on=date(2026, 11, 22),
        sales_consultant="Chen Jie",
        customer=DeliveryCustomer(name="李四", mobile="13700004444", employer="平安保险"),
        vehicle=DeliveryVehicle(
            vin=valid_vin(), model="Lavida", colour="red", transmission="manual"
        ),
    )
    manager = make_staff("showroom_manager", dealers["SZ01"])
    facts = LicenceFacts(plate=car.plate, vin=car.vin, model=car.model, colour_id=car.colour_id)
    services.check_licence(manager, referral.id, facts)
    return referral


@pytest.mark.parametrize("hq_moved_lamando", [False, True])
def test_the_callback_reads_the_families_hq_set(
    lavida_referral, dealers, monkeypatch, hq_moved_lamando
):
    if hq_moved_lamando:
        lamando = car_model("Lamando")
        save_car_model(
            make_staff("hq_admin", None), lamando, name="Lamando", family="Lavida", active=True
        )
    # Zhang is called: the questions are about Li Si and the Lavida.
    monkeypatch.setattr(verification, "choose_callee", lambda: Callee.REFERRER)
    verification.start_callback(make_staff("care_agent", dealers["SZ01"]), lavida_referral.id)

    traps = [q.params["model"] for q in lavida_referral.questions if q.kind == "model"]
    # The club's other car is Zhang's own Sagitar (never named to him): Lamando is the only
    # model left, until HQ makes it a Lavida.
    assert traps == ([] if hq_moved_lamando else ["Lamando"])
