"""The cross-check callback questions (seed 002, 推荐购买真实性判断 二).

The system picks at random whom to call; the questions are about the other person: an open
question whose answer only a friend knows, and statements with one deliberate error the callee
must correct. A deliberate colour error never uses a colour the true one is easily confused with.
"""

import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.members.models import Colour, Member, Transmission, Vehicle
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
# Models a deliberate error can name besides those in the club's records.
COMMON_MODELS = (
    "Jetta",
    "Sagitar",
    "Golf",
    "Magotan",
    "Lavida",
    "Bora",
    "Passat",
    "Tiguan L",
    "Polo",
)


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


# "New" / "all-new" in a Chinese model name (新君威, 全新朗逸) names the same family.
_NEW_PREFIXES = ("全新", "新")


def model_family(model: str) -> str:
    """The family a model name belongs to: its first word, case, spacing and "new" ignored.

    "Golf GTI", "golf" and "Golf-R" are one family, as are 新君威 and 君威: a trap naming a variant
    of the true car is no error a callee can be expected to correct.
    """
    name = model.strip().casefold().replace("-", " ")
    for prefix in _NEW_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix) :]
            break
    return name.split()[0] if name.split() else ""


def wrong_model(true: str, known: list[str], *, avoid: tuple[str, ...] = ()) -> str | None:
    """A model of another family than ``true`` and than every model in ``avoid`` (the cars of
    both people on the call: the callee must not hear their own car named as the error)."""
    families = {model_family(m) for m in (true, *avoid)}
    candidates = sorted({m for m in (*known, *COMMON_MODELS) if model_family(m) not in families})
    return _random.choice(candidates) if candidates else None


def wrong_transmission(true: Transmission) -> Transmission:
    """A gearbox of another family: manual for automatic and electric cars, else automatic."""
    family = TRANSMISSION_FAMILY[true]
    return Transmission.MANUAL if family != "manual" else Transmission.AUTOMATIC


def draft_questions(
    subject: Member,
    vehicle: Vehicle | None,
    *,
    palette: list[Colour],
    known_models: list[str],
    avoid_models: tuple[str, ...] = (),
) -> list[Draft]:
    """3–4 questions about ``subject`` from what the club knows; fewer when data is missing.

    ``avoid_models``: the models of the callee's and the subject's own cars, never a trap.
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
        model = wrong_model(vehicle.model, known_models, avoid=(*own, *avoid_models))
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
