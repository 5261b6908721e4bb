"""Owner care (R8): reminders found by the daily job, care call tasks, the cars' care dates, and
after every visit a callback, a questionnaire and complaint cases (app/care/followups/).

Care answers the signals of the domains below it (app/core/signals.py): the home page shows each
car's next maintenance and the questionnaires waiting; a recorded visit starts its follow-up and
a refund stops it; the export has the owner's answers and complaints; nobody calls a deleted
owner. Flask-Login's ``user_logged_in`` asks an owner whose number a care call found dead for
the one they use now.
"""

from flask_login import user_logged_in

from app.care.texts import models as _text_models  # noqa: F401 - the metadata has its table
from app.core.signals import (
    member_deleting,
    member_export,
    member_home,
    visit_recorded,
    visit_refunded,
)


@member_home.connect
def _home_maintenance(member, *, cars, now, **_):
    from app.care.maintenance import maintenance_due
    from app.core.clock import local_date

    return {"maintenance": maintenance_due(cars, local_date(now)) if cars else {}}


@member_home.connect
def _home_surveys(member, *, limit, **_):
    from app.care.followups.surveys import pending_surveys

    return {"surveys": pending_surveys(member, limit=limit)}


@member_deleting.connect
def _close_tasks(member, *, now, **_):
    from app.care.followups.complaints import withdraw_cases_of
    from app.care.followups.surveys import cancel_surveys_of
    from app.care.tasks import close_tasks_of

    close_tasks_of(member, now=now)
    cancel_surveys_of(member)
    withdraw_cases_of(member, now=now)
    return {}


@member_export.connect
def _export_feedback(member, **_):
    from app.care.followups.complaints import own_cases, owner_notes
    from app.care.followups.models import VisitSurvey
    from app.extensions import db
    from app.members.privacy import export_row, export_rows

    staff_only = ("member_id", "key", "assignee_id", "resolved_by_id", "escalated_to_id")
    cases = [
        {
            **export_row(case, skip=(*staff_only, "created_by_id")),
            "my_additions": [
                export_row(n, skip=("case_id", "author_id")) for n in owner_notes(case)
            ],
        }
        for case in db.session.scalars(own_cases(member))
    ]
    surveys = export_rows(
        VisitSurvey, VisitSurvey.member_id == member.id, skip=("member_id", "advisor_id")
    )
    return {"visit_surveys": surveys, "complaints": cases}


@visit_recorded.connect
def _start_followup(visit, *, now, **_):
    from app.care.followups.visits import start_followup

    start_followup(visit, now=now)


@visit_refunded.connect
def _stop_followup(visit, *, now, **_):
    from app.care.followups.visits import stop_followup

    stop_followup(visit, now=now)


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
