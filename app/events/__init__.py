"""Events: self-drive trips and owner lectures, registrations, waiting list, tickets, check-in.

Events answers members' and loyalty's signals (app/core/signals.py): the export lists the
owner's places, evaluations, questions, invitations and prizes won; the home page shows the
owner's next events and those open for sign-up; a deletion cancels their live places (deposits
return) and forgets their invitations; the ledger's reconciliation checks the points deposits.
"""

from app.core.signals import ledger_checks, member_deleting, member_export, member_home


@member_home.connect
def _home_events(member, *, now, limit, **_):
    from app.events.browsing import tickets_for, upcoming_events
    from app.events.services import registration_open

    cards = upcoming_events(member, now=now).cards
    open_events = [c.event for c in cards if c.mine is None and registration_open(c.event, now=now)]
    return {
        "tickets": tickets_for(member, now=now)["upcoming"][:limit],
        "open_events": open_events[:limit],
    }


@member_export.connect
def _export_events(member, **_):
    from sqlalchemy import select

    from app.events.models import (
        EventInvitation,
        EventRegistration,
        LectureEvaluation,
        LectureQuestion,
    )
    from app.extensions import db
    from app.members.privacy import export_row, export_rows

    mine = member.id
    registrations = db.session.scalars(
        select(EventRegistration)
        .where(EventRegistration.member_id == mine)
        .order_by(EventRegistration.id)
    )
    return {
        "event_registrations": [
            export_row(
                r,
                skip=("member_id", "ticket_uuid"),
                event_title=r.event.title,
                event_starts_at=r.event.starts_at,
                event_place=r.event.place,
            )
            for r in registrations
        ],
        "lecture_evaluations": export_rows(
            LectureEvaluation, LectureEvaluation.member_id == mine, skip=("member_id",)
        ),
        "lecture_questions": export_rows(
            LectureQuestion, LectureQuestion.member_id == mine, skip=("member_id",)
        ),
        "event_invitations": [
            export_row(i, skip=("member_id", "invited_by_id"), event_title=i.event.title)
            for i in db.session.scalars(
                select(EventInvitation)
                .where(EventInvitation.member_id == mine)
                .order_by(EventInvitation.id)
            )
        ],
        "prize_wins": _prize_wins(mine),
    }


def _prize_wins(member_id: int) -> list[dict]:
    """The owner's prizes from event draws (and those they were absent for)."""
    from sqlalchemy import select

    from app.events.draw_models import DrawWinner
    from app.extensions import db
    from app.members.privacy import export_row

    wins = db.session.scalars(
        select(DrawWinner).where(DrawWinner.member_id == member_id).order_by(DrawWinner.id)
    )
    return [
        export_row(
            w,
            skip=("member_id", "absent_by_id"),
            prize=w.prize.name,
            event_title=w.registration.event.title,
            drawn_at=w.draw.drawn_at,
        )
        for w in wins
    ]


@member_deleting.connect
def _withdraw_places(member, *, now, **_):
    from app.events.closing import withdraw_member
    from app.events.invitations import forget_invitations

    forget_invitations(member)
    return {"registrations_cancelled": len(withdraw_member(member, now=now))}


@ledger_checks.connect
def _deposit_breaches(now, **_):
    from app.events.closing import deposit_breaches

    return deposit_breaches(now)
