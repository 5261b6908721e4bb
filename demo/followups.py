"""Demo data after visits (issue 20): the demo owner's visit today with its questionnaire still
to answer, another SZ01 owner's answered questionnaire (9 of 10) and a third owner's low score
(4 of 10) whose complaint case the care agent has taken. Through the domains' services, once."""

from datetime import timedelta

from sqlalchemy import select

from app.auth.services import get_user_by_mobile
from app.care.followups.complaints import add_note
from app.care.followups.surveys import answer_survey
from app.core.clock import local_date
from app.extensions import db
from app.members.models import Member
from app.service.models import ServiceVisit
from app.service.services import record_visit

PREFIX = "DEMO-FU-"
# The owners (SZ01's odd numbers): the demo owner, then two more.
OWNERS = ("13900000001", "13900000003", "13900000005")
ANSWERS = (
    None,
    (9, 5, "Quick and friendly, the car was washed too."),
    (4, 2, "I waited an hour past the promised time and nobody called me."),
)


def seed_followups(now, advisor_mobile: str, agent_mobile: str) -> int:
    """Three visits recorded by SZ01's service advisor, two questionnaires answered, one case
    noted by the care agent; nothing when they exist, or without the demo owners (the bench
    seeds none). Returns the visits recorded."""
    if db.session.scalar(select(ServiceVisit.id).where(ServiceVisit.ro_number.like(f"{PREFIX}%"))):
        return 0
    advisor, agent = get_user_by_mobile(advisor_mobile), get_user_by_mobile(agent_mobile)
    recorded = 0
    for n, (mobile, answer) in enumerate(zip(OWNERS, ANSWERS, strict=True)):
        user = get_user_by_mobile(mobile)
        member: Member | None = user.member if user is not None else None
        if member is None or not member.vehicles or advisor is None:
            continue
        car = member.vehicles[0]
        visit = record_visit(
            advisor,
            dealer_id=member.dealer_id,
            ro_number=f"{PREFIX}{n + 1}",
            vin=car.vin,
            visited_on=max(local_date(now) - timedelta(days=n), car.purchased_on),
            mileage_km=12_000 + 3_000 * n,
            amount_fen=(600 + 150 * n) * 100,
            category="maintenance",
            now=now,
        ).visit
        recorded += 1
        if answer is None:
            continue
        score, rating, comment = answer
        answered = answer_survey(
            member, visit.id, score=score, advisor_rating=rating, comment=comment, now=now
        )
        if answered.case is not None and agent is not None:
            add_note(
                agent, answered.case.id, "Called the owner: a new advisor mixed up the booking."
            )
    db.session.flush()
    return recorded
