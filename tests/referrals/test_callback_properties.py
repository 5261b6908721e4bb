"""Properties of the callback questions over many generated owners and cars."""

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.members.car_models import ModelFamilies, all_car_models, model_family
from app.members.models import Colour, Member, Transmission, Vehicle
from app.members.services import active_colours, colours_confusable
from app.referrals.callback import (
    TRANSMISSION_FAMILY,
    choose_callee,
    draft_questions,
    wrong_model,
)
from app.referrals.models import Callee, QuestionKind

# Variants of one family ("Golf" / "Golf GTI", 君威 / 新君威) are no wrong answer (issue 16).
MODELS = [
    "Sagitar",
    "Jetta",
    "Golf",
    "Golf GTI",
    "golf-R",
    "Magotan",
    "ID.4 CROZZ",
    "Lavida",
    "Tiguan L",
    "Tiguan",
    "君威",
    "新君威",
]
text = st.text(alphabet="abcdefghij 深圳南山华为", max_size=20)


# No per-example deadline: each example queries the database, whose speed is not the property.
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    occupation=text,
    home_area=text,
    model=st.sampled_from(MODELS),
    colour_index=st.integers(0, 15),
    transmission=st.sampled_from(list(Transmission)),
)
def test_every_question_set_is_sound(ctx, occupation, home_area, model, colour_index, transmission):
    palette = active_colours()
    true_colour: Colour = palette[colour_index % len(palette)]
    subject = Member(name="张三", occupation=occupation, home_area=home_area)
    car = Vehicle(model=model, colour=true_colour, transmission=transmission)
    car_models = all_car_models()
    drafts = draft_questions(
        subject, car, palette=palette, car_models=car_models, known_models=MODELS
    )
    assert 3 <= len(drafts) <= 4
    assert sum(d.kind == QuestionKind.OPEN for d in drafts) == (
        1 if (occupation.strip() or home_area.strip()) else 0
    )
    by_code = {c.code: c for c in palette}
    for draft in drafts:
        if draft.kind == QuestionKind.COLOUR:
            claimed = by_code[draft.params["colour"]]
            assert claimed.id != true_colour.id
            assert not colours_confusable(claimed, true_colour)
        elif draft.kind == QuestionKind.MODEL:
            families = ModelFamilies(car_models)
            assert families.of(draft.params["model"]) != families.of(model)
        elif draft.kind == QuestionKind.TRANSMISSION:
            claimed = Transmission(draft.params["transmission"])
            assert TRANSMISSION_FAMILY[claimed] != TRANSMISSION_FAMILY[transmission]
        else:
            assert draft.expected in (occupation.strip(), home_area.strip())


def test_without_a_car_too_few_questions_can_be_made(ctx):
    drafts = draft_questions(
        Member(name="李四", occupation="teacher", home_area=""),
        None,
        palette=active_colours(),
        car_models=all_car_models(),
        known_models=MODELS,
    )
    assert len(drafts) == 1


def test_model_families_ignore_case_spacing_variants_and_new():
    assert model_family("Golf GTI") == model_family(" golf ") == model_family("Golf-R") == "golf"
    assert model_family("新君威") == model_family("君威") != model_family("君越")
    assert model_family("Tiguan L") == model_family("Tiguan")


def test_a_trap_never_names_the_callees_own_car(ctx):
    for _ in range(200):
        claimed = wrong_model(
            "Golf", all_car_models(), ["Golf GTI", "Jetta", "Sagitar"], avoid=("Jetta",)
        )
        assert model_family(claimed, all_car_models()) not in {"golf", "jetta"}


def test_the_callee_choice_is_roughly_balanced():
    counts = Counter(choose_callee() for _ in range(4000))
    assert set(counts) == {Callee.REFERRER, Callee.FRIEND}
    assert 0.45 < counts[Callee.FRIEND] / 4000 < 0.55
