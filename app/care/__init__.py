"""Owner care (R8): reminders found by the daily job, care call tasks, the cars' care dates.

Care answers members' deletion signal (app/core/signals.py): nobody calls a deleted owner.
"""

from app.core.signals import member_deleting


@member_deleting.connect
def _close_tasks(member, *, now, **_):
    from app.care.tasks import close_tasks_of

    close_tasks_of(member, now=now)
    return {}
