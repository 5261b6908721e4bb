"""The managed model list: the names staff are offered when they record a car, in families.

A family holds the variants of one car (Golf, Golf GTI, Golf R; Tiguan and Tiguan L): the referral
callback never names a model of the true car's family as its deliberate error. HQ edits the list;
a car's model stays free text, so a name outside the list belongs to the family of the longest
listed model it starts with ("Golf Variant" → Golf), else to its first word.
"""

import unicodedata
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.forms import is_visible_text
from app.extensions import db
from app.members.models import CarModel

NAME_MAX = 64
KEY_MAX = 255
# "New" / "all-new" in a Chinese model name (新君威, 全新朗逸) names the same model.
_NEW_PREFIXES = ("全新", "新")
# Controls and format characters (zero-width, bidi overrides, the BOM) show nothing: a name
# holding them would look like another one on every list.
_HIDDEN = frozenset({"Cc", "Cf"})


def clean_name(text: str) -> str:
    """``text`` without invisible characters and with its spaces collapsed, as the list keeps it."""
    shown = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in _HIDDEN
    )
    return " ".join(shown.split())


@lru_cache(maxsize=4096)  # a callback's draft compares every listed model with every car's
def model_key(name: str) -> str:
    """``name`` as models are compared: width, case, spacing, hyphens and 新/全新 ignored.

    "Golf-R", " golf  r" and "ＧＯＬＦ Ｒ" give one key, as do 新君威 and 君威.
    """
    text = unicodedata.normalize("NFKC", clean_name(name)).casefold()
    text = "".join(" " if unicodedata.category(ch) == "Pd" else ch for ch in text)
    text = " ".join(text.split())
    for prefix in _NEW_PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix) :].lstrip()
    return text


class ModelFamilies:
    """The family of any model name, by the managed list (active or not: a model no longer
    sold still has owners)."""

    def __init__(self, catalogue: Iterable[CarModel] = ()):
        self._families = {model_key(m.name): model_key(m.family) for m in catalogue}

    def of(self, name: str) -> str:
        """The family key of ``name``: the listed family of its model, of the longest listed
        model it starts with, else its first word ("" for a name that shows nothing)."""
        key = model_key(name)
        if key in self._families:
            return self._families[key]
        starts = [listed for listed in self._families if key.startswith(listed + " ")]
        if starts:
            return self._families[max(starts, key=len)]
        return key.split()[0] if key else ""


def model_family(name: str, catalogue: Iterable[CarModel] = ()) -> str:
    """The family key of ``name`` by ``catalogue`` (see :class:`ModelFamilies`)."""
    return ModelFamilies(catalogue).of(name)


def active_car_models() -> list[CarModel]:
    """Models staff are offered and the callback may name, by name."""
    return list(db.session.scalars(select(CarModel).where(CarModel.active).order_by(CarModel.name)))


def all_car_models() -> list[CarModel]:
    """Every model of the managed list, grouped by family."""
    return list(db.session.scalars(select(CarModel).order_by(CarModel.family, CarModel.name)))


def car_model_names() -> list[str]:
    """The names offered where staff type a car's model."""
    return [m.name for m in active_car_models()]


def _checked(text: str, field: str, empty_message) -> str:
    text = clean_name(text)
    if not is_visible_text(text):
        raise ValidationFailed(empty_message, field=field)
    if len(text) > NAME_MAX or len(model_key(text)) > KEY_MAX:
        raise ValidationFailed(_l("Enter at most %(max)s characters.", max=NAME_MAX), field=field)
    return text


def _snapshot(car_model: CarModel) -> dict:
    return {"name": car_model.name, "family": car_model.family, "active": car_model.active}


def save_car_model(
    actor: User,
    car_model: CarModel | None,
    *,
    name: str,
    family: str,
    active: bool,
    now: datetime | None = None,
) -> CarModel:
    """Add a model to the managed list, or change one (audited)."""
    now = now or utcnow()
    name = _checked(name, "name", _l("Enter a model name with visible letters."))
    family = _checked(family, "family", _l("Enter a family with visible letters."))
    key = model_key(name)
    other = db.session.scalar(select(CarModel).where(CarModel.key == key))
    if other is not None and other is not car_model:
        raise Conflict(
            _l("This model is already on the list as “%(name)s”.", name=other.name), field="name"
        )
    before = None
    if car_model is None:
        car_model = CarModel(created_at=now)
        db.session.add(car_model)
    else:
        before = _snapshot(car_model)
    car_model.name, car_model.key, car_model.family = name, key, family
    car_model.active = active
    car_model.updated_at = now
    try:
        db.session.flush()
    except IntegrityError:  # the same name saved at the same moment by another admin
        db.session.rollback()
        raise Conflict(_l("This model is already on the list."), field="name") from None
    record_audit(
        actor,
        "car_model.saved",
        subject=car_model,
        details={"before": before, "after": _snapshot(car_model)},
        now=now,
    )
    return car_model
