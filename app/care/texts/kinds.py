"""The care texts there are, the placeholders each may use and the scripts each call task shows.

Three families (seed 002, 关怀话术):

- reminders: one per care moment of the daily job (app/care/schedule.py ``ReminderKind``: the
  same values), a title and a body, sent to the owner;
- broadcasts: the holiday greeting and the special-weather warning a manager sends to chosen
  owners (节日祝福、特殊天气提醒, app/campaigns/broadcasts/), a title and a body;
- call scripts: what an agent says on a care call (首保提醒话术, 定保提醒话术, 流失跟踪话术,
  主动预约话术…), a body only.
"""

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class TextKind(StrEnum):
    """Every care text a manager can edit."""

    # Reminders of the daily job (the values of app/care/schedule.py ReminderKind).
    FIRST_MAINTENANCE = "first_maintenance"
    MAINTENANCE_DUE = "maintenance_due"
    WARRANTY_EXPIRY = "warranty_expiry"
    INSPECTION = "inspection"
    INSURANCE_EXPIRY = "insurance_expiry"
    BIRTHDAY = "birthday"
    ANNIVERSARY = "anniversary"
    POINTS_EXPIRY = "points_expiry"
    # Broadcasts (节日祝福、特殊天气提醒).
    HOLIDAY_GREETING = "holiday_greeting"
    WEATHER_WARNING = "weather_warning"
    # Call scripts (话术).
    FIRST_MAINTENANCE_SCRIPT = "first_maintenance_script"
    MAINTENANCE_SCRIPT = "maintenance_script"
    WARRANTY_SCRIPT = "warranty_script"
    BIRTHDAY_SCRIPT = "birthday_script"
    LOST_OWNER_SCRIPT = "lost_owner_script"
    APPOINTMENT_SCRIPT = "appointment_script"


K = TextKind
REMINDER_KINDS = (
    K.FIRST_MAINTENANCE,
    K.MAINTENANCE_DUE,
    K.WARRANTY_EXPIRY,
    K.INSPECTION,
    K.INSURANCE_EXPIRY,
    K.BIRTHDAY,
    K.ANNIVERSARY,
    K.POINTS_EXPIRY,
)
BROADCAST_KINDS = (K.HOLIDAY_GREETING, K.WEATHER_WARNING)
SCRIPT_KINDS = (
    K.FIRST_MAINTENANCE_SCRIPT,
    K.MAINTENANCE_SCRIPT,
    K.WARRANTY_SCRIPT,
    K.BIRTHDAY_SCRIPT,
    K.LOST_OWNER_SCRIPT,
    K.APPOINTMENT_SCRIPT,
)
FAMILIES = (
    (_l("Reminders the daily job sends"), REMINDER_KINDS),
    (_l("Greetings and warnings to broadcast"), BROADCAST_KINDS),
    (_l("Call scripts"), SCRIPT_KINDS),
)
LANGUAGES = {"zh": _l("Chinese"), "en": _l("English")}

LABELS = {
    K.FIRST_MAINTENANCE: _l("First maintenance"),
    K.MAINTENANCE_DUE: _l("Maintenance due"),
    K.WARRANTY_EXPIRY: _l("Warranty ending"),
    K.INSPECTION: _l("Annual inspection"),
    K.INSURANCE_EXPIRY: _l("Insurance ending"),
    K.BIRTHDAY: _l("Birthday"),
    K.ANNIVERSARY: _l("Purchase anniversary"),
    K.POINTS_EXPIRY: _l("Points expiring"),
    K.HOLIDAY_GREETING: _l("Holiday greeting"),
    K.WEATHER_WARNING: _l("Special weather warning"),
    K.FIRST_MAINTENANCE_SCRIPT: _l("First-maintenance call script"),
    K.MAINTENANCE_SCRIPT: _l("Regular-maintenance call script"),
    K.WARRANTY_SCRIPT: _l("Warranty-ending call script"),
    K.BIRTHDAY_SCRIPT: _l("Birthday call script"),
    K.LOST_OWNER_SCRIPT: _l("Lost-owner follow-up script"),
    K.APPOINTMENT_SCRIPT: _l("Proactive appointment script"),
}

_OWNER = ("name", "dealer")
_CAR = ("car", "model", "plate")
PLACEHOLDERS: dict[TextKind, tuple[str, ...]] = {
    K.FIRST_MAINTENANCE: (*_OWNER, *_CAR, "due_date", "delivered_date"),
    K.MAINTENANCE_DUE: (*_OWNER, *_CAR, "due_date", "last_date", "months", "km"),
    K.WARRANTY_EXPIRY: (*_OWNER, *_CAR, "due_date"),
    K.INSPECTION: (*_OWNER, *_CAR, "due_date"),
    K.INSURANCE_EXPIRY: (*_OWNER, *_CAR, "due_date"),
    K.BIRTHDAY: _OWNER,
    K.ANNIVERSARY: (*_OWNER, *_CAR, "years", "times"),
    K.POINTS_EXPIRY: (*_OWNER, "points", "due_date"),
    K.HOLIDAY_GREETING: _OWNER,
    K.WEATHER_WARNING: _OWNER,
    **{kind: (*_OWNER, *_CAR, "due_date", "agent") for kind in SCRIPT_KINDS},
}

PLACEHOLDER_LABELS = {
    "name": _l("the owner's name"),
    "dealer": _l("the dealer's name"),
    "car": _l("the car: model and plate"),
    "model": _l("the car's model"),
    "plate": _l("the car's plate"),
    "due_date": _l("the day it is due"),
    "delivered_date": _l("the delivery day"),
    "last_date": _l("the day of the last maintenance"),
    "months": _l("months between maintenance visits"),
    "km": _l("kilometres between maintenance visits"),
    "years": _l("years since the purchase"),
    "times": _l("the points multiplier of the month"),
    "points": _l("the points expiring"),
    "agent": _l("the caller's name"),
}

# The scripts a care call task shows its agent, by the task's kind (the seed's 话术 for each
# call; 主动预约话术 wherever the owner is near a maintenance). Kinds without a script (other
# care calls) show none.
TASK_SCRIPTS: dict[str, tuple[TextKind, ...]] = {
    "first_maintenance": (K.FIRST_MAINTENANCE_SCRIPT, K.APPOINTMENT_SCRIPT),
    "maintenance_due": (K.MAINTENANCE_SCRIPT, K.APPOINTMENT_SCRIPT),
    "warranty_expiry": (K.WARRANTY_SCRIPT, K.APPOINTMENT_SCRIPT),
    "birthday": (K.BIRTHDAY_SCRIPT,),
    "lost_owner": (K.LOST_OWNER_SCRIPT, K.APPOINTMENT_SCRIPT),
}


def text_kind(value: str) -> TextKind | None:
    """The kind named ``value``; None for a name that is no kind."""
    try:
        return TextKind(value)
    except ValueError:
        return None


def has_title(kind: TextKind) -> bool:
    """Whether texts of ``kind`` have a title (messages do; call scripts are a body only)."""
    return kind not in SCRIPT_KINDS


def label(kind: str) -> str:
    """The kind in the user's language."""
    found = text_kind(kind)
    return str(LABELS[found]) if found is not None else kind
