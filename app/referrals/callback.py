"""The cross-check callback questions (seed 002, 推荐购买真实性判断 二).

The system picks at random whom to call; the questions are about the other person: an open
question whose answer only a friend knows, and statements with one deliberate error the callee
must correct. A deliberate colour error never uses a colour the true one is easily confused with,
and a model error never a variant of the true car (the managed list's families).
"""

import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.members.car_models import ModelFamilies, clean_name, model_key
from app.members.models import CarModel, Colour, Member, Transmission, Vehicle
from app.members.services import colours_confusable
from app.referrals.models import Callee, QuestionKind

_random = secrets.SystemRandom()

# Gearboxes a friend could mix up count as one: automatic, DSG and CVT are all "automatic".
TRANSMISSION_FAMILY = {
    Transmission.MANUAL: "manual",
    Transmission.AUTOMATIC: "automatic",
    Transmission.DUAL_CLUTCH: "automatic",
    Transmission.CVT: "automatic",
    Transmission.SINGLE_SPEED: "electric",
}


def choose_callee() -> Callee:
    """Whom to call: a cryptographically random choice between the two."""
    return secrets.choice([Callee.REFERRER, Callee.FRIEND])


@dataclass(frozen=True)
class Draft:
    """A question before it is stored."""

    kind: QuestionKind
    params: dict
    expected: str


def wrong_colour(true: Colour, palette: list[Colour]) -> Colour | None:
    """A colour clearly different from ``true``: never one of its confusion group."""
    candidates = [c for c in palette if not colours_confusable(c, true)]
    return _random.choice(candidates) if candidates else None


def wrong_model(
    true: str,
    car_models: list[CarModel],
    known: list[str],
    *,
    avoid: tuple[str, ...] = (),
) -> str | None:
    """A model of another family than ``true`` and than every model in ``avoid`` (the cars of
    both people on the call: the callee must not hear their own car named as the error).

    Families are the managed list's (``car_models``, active or not); the error is one of its
    active models or of the club's cars (``known``), spelt as the list spells it.
    """
    families = ModelFamilies(car_models)
    taken = {families.of(m) for m in (true, *avoid)}
    candidates: dict[str, str] = {}
    for name in (*(m.name for m in car_models if m.active), *known):
        key = model_key(name)
        if key and key not in candidates and families.of(name) not in taken:
            candidates[key] = clean_name(name)
    return _random.choice(sorted(candidates.values())) if candidates else None


def wrong_transmission(true: Transmission) -> Transmission:
    """A gearbox of another family: manual for automatic and electric cars, else automatic."""
    family = TRANSMISSION_FAMILY[true]
    return Transmission.MANUAL if family != "manual" else Transmission.AUTOMATIC


def draft_questions(
    subject: Member,
    vehicle: Vehicle | None,
    *,
    palette: list[Colour],
    car_models: list[CarModel],
    known_models: list[str],
    avoid_models: tuple[str, ...] = (),
) -> list[Draft]:
    """3–4 questions about ``subject`` from what the club knows; fewer when data is missing.

    ``palette``: the active colours; ``car_models``: the managed model list (its families);
    ``known_models``: the models of the club's cars; ``avoid_models``: the models of the
    callee's and the subject's own cars, never a trap.
    """
    drafts: list[Draft] = []
    open_facts = [("occupation", subject.occupation), ("home_area", subject.home_area)]
    open_facts = [(topic, value) for topic, value in open_facts if value and value.strip()]
    if open_facts:
        topic, value = _random.choice(open_facts)
        drafts.append(Draft(QuestionKind.OPEN, {"topic": topic}, value.strip()))
    if vehicle is not None:
        colour = wrong_colour(vehicle.colour, palette)
        if colour is not None:
            drafts.append(
                Draft(
                    QuestionKind.COLOUR,
                    {"model": vehicle.model, "colour": colour.code},
                    vehicle.colour.code,
                )
            )
        own = tuple(v.model for v in subject.vehicles)
        model = wrong_model(vehicle.model, car_models, known_models, avoid=(*own, *avoid_models))
        if model is not None:
            drafts.append(Draft(QuestionKind.MODEL, {"model": model}, vehicle.model))
        drafts.append(
            Draft(
                QuestionKind.TRANSMISSION,
                {"model": vehicle.model, "transmission": wrong_transmission(vehicle.transmission)},
                vehicle.transmission.value,
            )
        )
    return drafts[:4]


PROMPTS = {
    ("open", "occupation"): _l("Where does %(name)s work, or what business is he or she in?"),
    ("open", "home_area"): _l("Where does %(name)s live?"),
    "colour": _l("%(name)s's %(model)s is %(colour)s, right?"),
    "model": _l("%(name)s drives a %(model)s, right?"),
    "transmission": _l("%(name)s's %(model)s has a %(transmission)s gearbox, right?"),
}
