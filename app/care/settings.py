"""The care schedule's intervals (app/care/schedule.py describes each): a constant in
``DEFAULTS``, overridden by a ``CARE_<NAME>`` config value (e.g. ``CARE_MAINTENANCE_KM = 7500``)."""

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
