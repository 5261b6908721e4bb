"""The care schedule's intervals (app/care/schedule.py describes each) and the after-visit
follow-up's limits (app/care/followups/): a constant in ``DEFAULTS``, overridden by a
``CARE_<NAME>`` config value (e.g. ``CARE_MAINTENANCE_KM = 7500``, ``CARE_FOLLOWUP_HOURS = 24``)."""

from flask import current_app

DEFAULTS = {
    "FIRST_MAINTENANCE_DAY": 60,
    "FIRST_MAINTENANCE_LAST_DAY": 90,
    "MAINTENANCE_MONTHS": 6,
    "MAINTENANCE_KM": 5000,
    "MAINTENANCE_NOTICE_DAYS": 7,
    "MAINTENANCE_OVERDUE_DAYS": 30,
    "WARRANTY_NOTICE_DAYS": (30,),
    "INSPECTION_NOTICE_DAYS": (30,),
    "INSURANCE_NOTICE_DAYS": (30, 14),
    "POINTS_NOTICE_DAYS": (30, 7),
    # The birthday call (app/care/birthdays.py): the dealer opens at this hour (local time); the
    # greeting's SMS goes this many minutes later when the call has not reached the owner, so
    # that it arrives within two hours of opening (上班后两小时) with the sender every 5 minutes.
    "OPENING_HOUR": 9,
    "BIRTHDAY_SMS_MINUTES": 105,
    # After a visit (seed 002): the callback within 48 hours of the visit being recorded; a
    # visit recorded more than a week after it happened gets neither call nor questionnaire.
    "FOLLOWUP_HOURS": 48,
    "FOLLOWUP_MAX_AGE_DAYS": 7,
    # A questionnaire scored at most this (of 10) opens a complaint case; a case is due
    # this many days after it opens (the dealer admin hears of it once when it is overdue);
    # an owner has at most this many complaints open at once.
    "COMPLAINT_SCORE_MAX": 6,
    "COMPLAINT_DEADLINE_DAYS": 3,
    "COMPLAINTS_OPEN_MAX": 5,
    # Issue 20 (app/care/recall.py, app/care/return_rates.py): a recalled owner whose car comes
    # within this many days of the call is won back; the first-maintenance return rate of
    # month M looks at the cars delivered this many months before M.
    "RECALL_WON_BACK_DAYS": 60,
    "FIRST_MAINTENANCE_COHORT_MONTHS": 3,
}


def setting(name: str):
    """An interval of the schedule: ``CARE_<name>`` from the config, else the default."""
    return current_app.config.get(f"CARE_{name}", DEFAULTS[name])


def intervals() -> dict:
    """Every interval of the schedule by name (``setting``), read once for many cars."""
    return {name: setting(name) for name in DEFAULTS}
