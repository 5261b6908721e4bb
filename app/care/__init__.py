"""Owner care (R8): reminders found by the daily job, care call tasks, the cars' care dates.

Care answers members' signals (app/core/signals.py): the home page shows each car's next
maintenance; nobody calls a deleted owner. Flask-Login's ``user_logged_in`` asks an owner whose
number was found dead for the one they use now.
"""

from flask_login import user_logged_in

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


@member_deleting.connect
def _close_corrections(member, *, now, **_):
    from app.care.contact import close_corrections_of

    close_corrections_of(member, now=now)
    return {}


@user_logged_in.connect
def _ask_for_a_working_number(sender, user, **_):
    """An owner whose number a care call found dead is asked, once signed in, for the number
    they use now (issue 20, app/care/contact.py)."""
    from flask import session

    from app.care.contact import ASK_SESSION_KEY, should_ask

    if should_ask(user):
        session[ASK_SESSION_KEY] = True
