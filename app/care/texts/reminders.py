"""The daily job's reminder texts as shipped (the built-in templates) and the values their
placeholders take.

``message_for`` writes a reminder as the club always has, through gettext (the catalogue's
Chinese). ``reminder_values`` gives the same facts as placeholder values (``{car}``,
``{due_date}``…) for a text a manager wrote, and ``builtin_template`` turns the built-in text
into such a template, to start editing from.
"""

from datetime import date

from flask import g
from flask_babel import get_locale, get_translations

from app.care.settings import setting
from app.care.texts.kinds import PLACEHOLDER_LABELS, TextKind
from app.care.texts.placeholders import as_template
from app.core.dates import format_local_date

K = TextKind
PLACEHOLDER_NAMES = tuple(PLACEHOLDER_LABELS)


class _Language:
    """The current language's gettext, ngettext and long dates: flask_babel looks the language
    and its catalogue up again on every call, a third of a run's time rendering reminders."""

    def __init__(self) -> None:
        self.translations = get_translations()
        self.dates: dict[date, str] = {}

    def gettext(self, string: str, **variables) -> str:
        text = self.translations.ugettext(string)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, num: int, **variables) -> str:
        # The count may be a placeholder's stand-in (``builtin_template``): written as text.
        text = self.translations.ungettext(singular, plural, num).replace("%(num)d", "%(num)s")
        return text % {"num": variables.pop("shown", num), **variables}

    def date(self, day: date) -> str:
        if day not in self.dates:
            self.dates[day] = format_local_date(day, "long")
        return self.dates[day]


def language() -> _Language:
    """The current language's ``_Language``, kept for the app context."""
    languages = g.setdefault("_care_languages", {})
    key = str(get_locale())
    if key not in languages:
        languages[key] = _Language()
    return languages[key]


def car_text(vehicle) -> str:
    """The car as reminders name it: model and plate (the model alone before it has one)."""
    if vehicle is None:
        return ""
    return f"{vehicle.model} {vehicle.plate}" if vehicle.plate else vehicle.model


def reminder_values(moment, member, vehicle, *, dealer: str = "") -> dict[str, object]:
    """The placeholder values of ``moment``'s reminder to ``member`` about ``vehicle``, in the
    current language (its dates written out long)."""
    t = language()
    values: dict[str, object] = {"name": member.name, "dealer": dealer, "due_date": ""}
    values |= {"car": "", "model": "", "plate": ""}
    if moment.due_on is not None:
        values["due_date"] = t.date(moment.due_on)
    if vehicle is not None:
        values |= {"car": car_text(vehicle), "model": vehicle.model, "plate": vehicle.plate or ""}
        if getattr(vehicle, "delivered_on", None) is not None:
            values["delivered_date"] = t.date(vehicle.delivered_on)
    facts = moment.facts
    if moment.kind == K.MAINTENANCE_DUE:
        values |= {
            "last_date": t.date(facts["last_on"]),
            "months": setting("MAINTENANCE_MONTHS"),
            "km": f"{setting('MAINTENANCE_KM'):,}",
        }
    elif moment.kind == K.ANNIVERSARY:
        values |= {"years": facts["years"], "times": facts["times"]}
    elif moment.kind == K.POINTS_EXPIRY:
        values["points"] = facts["points"]
    return values


def builtin_text(kind: str, v: dict, count: int) -> tuple[str, str]:
    """The built-in (title, body) of a reminder of ``kind`` with the values ``v`` (``count``:
    the years an anniversary counts, for the plural), in the current language."""
    t = language()
    if kind == K.FIRST_MAINTENANCE:
        return (
            t.gettext("Time for the first maintenance of your %(car)s", car=v["car"]),
            t.gettext(
                "Your car was delivered on %(delivered)s: its first maintenance is due within "
                "three months of delivery. Book a visit and bring the maintenance booklet and "
                "the vehicle licence (行驶证).",
                delivered=v["delivered_date"],
            ),
        )
    if kind == K.MAINTENANCE_DUE:
        return (
            t.gettext(
                "Your %(car)s is due for maintenance on %(date)s", car=v["car"], date=v["due_date"]
            ),
            t.gettext(
                "Its last maintenance was on %(last)s; cars need one every %(months)s months or "
                "%(km)s km, whichever comes first. Book a visit before %(date)s.",
                last=v["last_date"],
                months=v["months"],
                km=v["km"],
                date=v["due_date"],
            ),
        )
    if kind == K.WARRANTY_EXPIRY:
        return (
            t.gettext(
                "The warranty of your %(car)s ends on %(date)s", car=v["car"], date=v["due_date"]
            ),
            t.gettext(
                "Book a check-up before then, so that anything the warranty covers is repaired "
                "free of charge."
            ),
        )
    if kind == K.INSPECTION:
        return (
            t.gettext(
                "Annual inspection of your %(car)s: %(date)s", car=v["car"], date=v["due_date"]
            ),
            t.gettext(
                "Your car is due for its annual inspection (年检) by %(date)s.", date=v["due_date"]
            ),
        )
    if kind == K.INSURANCE_EXPIRY:
        return (
            t.gettext(
                "The insurance of your %(car)s ends on %(date)s", car=v["car"], date=v["due_date"]
            ),
            t.gettext("Renew it in time: our insurance desk will gladly give you a quote."),
        )
    if kind == K.BIRTHDAY:
        return (
            t.gettext("Happy birthday, %(name)s!", name=v["name"]),
            t.gettext("Everyone at your owners' club wishes you a wonderful year."),
        )
    if kind == K.ANNIVERSARY:
        return (
            t.ngettext(
                "%(num)d year with your %(car)s",
                "%(num)d years with your %(car)s",
                count,
                shown=v["years"],
                car=v["car"],
            ),
            t.gettext(
                "Thank you for driving with us. This month, every service visit of this car "
                "earns %(times)s× points.",
                times=v["times"],
            ),
        )
    return (
        t.gettext("%(points)s points expire on %(date)s", points=v["points"], date=v["due_date"]),
        t.gettext("Use them before then: see what they buy in the rewards catalogue."),
    )


def message_for(moment, member, vehicle, today: date) -> tuple[str, str]:
    """The reminder's built-in (title, body) to ``member`` about ``vehicle`` (its model, plate
    and delivery date; None for the owner's own moments); run it in the member's language."""
    values = reminder_values(moment, member, vehicle)
    return builtin_text(moment.kind, values, moment.facts.get("years", 0))


def builtin_template(kind: TextKind) -> tuple[str, str]:
    """The built-in text of a reminder of ``kind`` as a template in the current language: its
    values are placeholders, its own braces doubled."""
    stand_in = {name: f"\x00{name}\x00" for name in PLACEHOLDER_NAMES}
    parts = builtin_text(kind, stand_in, 2)  # the plural: "{years} years with your {car}"
    templates = []
    for part in parts:
        text = as_template(part)
        for name, marker in stand_in.items():
            text = text.replace(marker, f"{{{name}}}")
        templates.append(text)
    return templates[0], templates[1]
