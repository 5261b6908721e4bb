"""Owner care (R8): reminders found by the daily job, care call tasks, the cars' care dates.

Care answers members' signals (app/core/signals.py): the home page shows each car's next
maintenance; nobody calls a deleted owner.
"""

from app.care.texts import models as _text_models  # noqa: F401 - the metadata has its table
from app.core.signals import member_deleting, member_home


@member_home.connect
def _home_maintenance(member, *, cars, now, **_):
    from app.care.maintenance import maintenance_due
    from app.core.clock import local_date

    return {"maintenance": maintenance_due(cars, local_date(now)) if cars else {}}


@member_deleting.connect
def _close_tasks(member, *, now, **_):
    from app.care.tasks import close_tasks_of

    close_tasks_of(member, now=now)
    return {}
