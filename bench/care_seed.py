"""The care loop's history for ``flask bench seed`` (issue 20): what the owners, the care desk and
the daily care job would have written since the loop went live, so that the satisfaction, recall
and return-rate reports, the complaint cases, the correction list and the care agents' call
list count real rows at scale (``make bench`` times them), and the bench's run of the daily
care job finds the loop's history a day's run would.

The loop went live on the first day of the month CARE_MONTHS months ago, and the daily care job
ran every day since at 00:02, up to yesterday: the bench's ``flask care run-daily`` is today's
run. Owner by owner, on the history bench/seed.py simulated (counted visits, cars, consent),
with a random stream of its own (the history is the same as without it) and the care rules'
own functions where they are functions (``next_maintenance``, ``setting``, the lost-reason
list, the dealers' local plates):

- every service visit recorded since: its 48-hour callback task (app/care/followups/visits.py:
  due that day, ``deadline_at`` FOLLOWUP_HOURS later) and its questionnaire. Agents call the day
  after (a few late, the newest not yet): reached, satisfied or not, or three misses at three
  times of day and the text (``sms_sent``). About half the owners answer (score 0-10, the
  advisor's rating when an advisor recorded the visit); a refunded visit's task is closed and
  its questionnaire withdrawn. A few visits go badly (UNHAPPY_SHARE): low scores, unhappy
  callbacks;
- complaint cases as app/care/followups/ opens them: a score of COMPLAINT_SCORE_MAX or less
  (key ``survey:<id>``), an unhappy callback (``call:<id>``), and now and then the owner's own;
  then taken by someone of the dealer who handles complaints (in progress, a staff note),
  resolved (some late), confirmed or reopened by the owner (a note, a new deadline) and
  resolved again; a case still active at a job run after its deadline went to the dealer admin
  then (escalated once per round: as opened, and again once reopened);
- the daily job's call tasks of the first maintenance (day 60-90 after delivery, no maintenance
  yet) and of the regular maintenance (``maintenance_due``: from a week before the day
  ``next_maintenance`` gives to 30 days after), with their reminders under the job's own keys,
  so that today's run makes only today's; a task whose car came for maintenance is closed by
  the next run;
- recall tasks (app/care/recall.py): owners who accepted offers, whose car entered the lost
  window (no counted visit for 90 to 360 days) on a job day, one open task per owner (the car
  unseen longest), once per lost episode, classed by plate and warranty; closed by the next run
  when the car comes back;
- the agents' calls of those tasks with their outcomes (booked, will come, not coming with a
  reason of the managed list, other workshops with name, place and price; not reached; three
  misses and the text) a few days after the task was made (UNCALLED_SHARE never called);
- dead numbers: a recall or maintenance call now and then (DEAD_SHARE) finds the owner's number
  dead, for a few weeks (DEAD_DAYS) or for good: the task ends ``wrong_number``, so does any
  such call meanwhile (callbacks miss), and the owner is on the correction list until they
  prove their number by SMS code (the same number: it works again), or still; no recall task
  is made meanwhile. The known owner of the load test keeps a working number;
- a holiday greeting of SZ01 to all its owners, scheduled now (by the real services), which
  the bench's run of the daily job sends.

Agents are each dealer's care agent (its admin where it has none). Not generated: the messages
these would have sent (inbox, SMS), audit-log entries, appointments booked on calls, and the
reminders of the kinds no report counts (warranty, inspection, insurance, birthday,
anniversary, points): the bench's first run of the daily job makes every one of those whose
notice holds today, as on the day such a kind goes live; a second run shows the steady state.
"""

import bisect
import random
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from app.auth.models import User
from app.care.followups.models import ComplaintCase, ComplaintNote, VisitSurvey
from app.care.maintenance import Visit, next_maintenance
from app.care.models import (
    CallOutcome,
    CareCall,
    CareReminder,
    CareTask,
    ContactCorrection,
    LostReason,
)
from app.care.recall import local_plates
from app.care.reports import LOST_LIST_MIN_DAYS, segment_days
from app.care.settings import intervals
from app.core.clock import add_months, local_date
from app.core.permissions import PERMISSIONS, Role
from app.extensions import db

# The care loop went live on the first day of the month this many months ago.
CARE_MONTHS = 3
# Owners and visits: a visit that went badly, the owners who answer the questionnaire (more of
# the unhappy ones), the owner's own complaint, a number found dead.
UNHAPPY_SHARE, ANSWER_SHARE, UNHAPPY_ANSWER_SHARE = 0.03, 0.45, 0.6
OWNER_COMPLAINT_SHARE = 0.002
# A recall or maintenance call that finds the number dead: the owner's number stays dead for
# DEAD_DAYS, then they prove it by SMS code, or (DEAD_FOR_GOOD) it stays on the list. A case
# resolved late (after its deadline).
DEAD_SHARE, DEAD_DAYS, DEAD_FOR_GOOD, LATE_SHARE = 0.04, (7, 45), 0.4, 0.15
# Agents: call tasks never called (they wait on the list), the share of calls that reach the
# owner, a callback's; what a reached recall or maintenance call comes to (cumulative).
UNCALLED_SHARE, REACH_SHARE, CALLBACK_REACH_SHARE = 0.12, 0.6, 0.75
OUTCOMES = (("booked", 0.3), ("will_come", 0.65), ("not_coming", 1.0))
# Why owners do not come (the migration's codes; a dealer's own reason weighs REASON_OTHER).
REASON_WEIGHTS = {
    "other_workshop": 25,
    "price": 15,
    "too_busy": 15,
    "moved_away": 10,
    "dissatisfied": 10,
    "sold_car": 10,
    "scrapped": 5,
    "other": 10,
}
REASON_OTHER = 5
OTHER_REASONS = ("Car is with a family member abroad", "Waiting for the insurer's decision")
WORKSHOPS = (
    ("Tuhu Auto Care", "Futian, Shenzhen", (38_000, 68_000)),
    ("Quick Lane Service", "Nanshan, Shenzhen", (42_000, 80_000)),
    ("Mr. Li's garage", "Near the owner's home", (25_000, 45_000)),
    ("Tianhe Auto Repair", "Tianhe, Guangzhou", (30_000, 60_000)),
)
# The owners' words and the staff's, a few of each.
LOW_COMMENTS = (
    "Waited two hours past the promised time.",
    "The car came back dirty and the noise is still there.",
    "Charged for parts I did not agree to.",
    "Nobody told me the car was ready.",
    "",
)
HIGH_COMMENTS = ("", "", "", "Quick and friendly, thank you.", "Great service as always.")
CALLBACK_NOTES = (
    "Owner says the rattle is still there.",
    "Owner unhappy with the bill: parts not agreed.",
    "Car not washed as promised.",
)
OWNER_TEXTS = (
    "The air conditioning smells again a week after the service.",
    "I was promised a call back about the warranty and nobody called.",
    "The advisor was rude when I asked about the bill.",
)
STAFF_NOTES = (
    "Called the owner; booked a free check this week.",
    "Spoke to the workshop foreman; the part is on order.",
    "Apologised; offered a labour-hour voucher.",
)
RESOLUTIONS = (
    "Rechecked the car free of charge; the noise is fixed.",
    "Refunded the parts the owner had not agreed to.",
    "Apologised and gave a ¥100 labour-hour voucher.",
)
REOPEN_NOTES = ("The problem is back.", "The refund has not arrived yet.")
# Questionnaire scores (weights): after a bad visit 0-6, the most at 5 and 6; after a good one
# mostly 9 and 10, a few 6 or less (they open a case too).
LOW_SCORES = ((0, 1), (1, 1), (2, 2), (3, 3), (4, 4), (5, 6), (6, 8))
HIGH_SCORES = ((3, 1), (5, 3), (6, 10), (7, 100), (8, 170), (9, 280), (10, 380))
# Parts of the day (local seconds) a call falls in: morning, afternoon, evening.
PARTS = ((9 * 3600, 11 * 3600 + 3599), (13 * 3600, 17 * 3600 + 3599), (18 * 3600, 19 * 3600 + 3599))
HOUR = 3600
JOB_SECONDS = 120  # the daily job runs at 00:02

# Columns written per table, in an order where every reference points backwards (after
# bench/seed.py's own tables).
CARE_COLUMNS = {
    CareReminder.__table__: "id member_id vehicle_id kind due_on key created_at",
    CareTask.__table__: (
        "id dealer_id member_id vehicle_id reminder_id visit_id deadline_at kind due_on status "
        "assigned_to_id created_at closed_at recall_class lost_since"
    ),
    CareCall.__table__: "id task_id agent_id called_at reached note satisfied",
    CallOutcome.__table__: (
        "id call_id task_id outcome reason_id reason_text workshop_name workshop_location "
        "workshop_price_fen called_on"
    ),
    ContactCorrection.__table__: (
        "id member_id task_id old_mobile status reported_by_id reported_at resolved_by_id "
        "resolved_at"
    ),
    VisitSurvey.__table__: (
        "id visit_id member_id dealer_id advisor_id status score advisor_rating comment "
        "created_at answered_at"
    ),
    ComplaintCase.__table__: (
        "id dealer_id member_id visit_id source key description status assignee_id deadline_at "
        "resolution resolved_at resolved_by_id confirmed_at reopened_count escalated_at "
        "escalated_round escalated_to_id created_by_id created_at"
    ),
    ComplaintNote.__table__: "id case_id author_id from_owner body created_at",
}
CARE_MODELS = (
    CareReminder,
    CareTask,
    CareCall,
    CallOutcome,
    ContactCorrection,
    VisitSurvey,
    ComplaintCase,
    ComplaintNote,
)
# Indexes of a task row (changed while its calls are made).
T_STATUS, T_ASSIGNED, T_CLOSED = 9, 10, 12
# Indexes of a visit row of bench/seed.py.
V_ID, V_VEHICLE, V_DAY, V_KM, V_CATEGORY, V_STATUS, V_REFUNDED, V_ADVISOR, V_AT = (
    0, 3, 5, 6, 8, 11, 12, 15, 16,
)  # fmt: skip


def _weighted(pairs) -> tuple[list, list[float]]:
    values = [value for value, _ in pairs]
    total, running, cumulative = sum(w for _, w in pairs), 0, []
    for _, weight in pairs:
        running += weight
        cumulative.append(running / total)
    return values, cumulative


class _Owner(SimpleNamespace):
    """One owner as the care history needs them: ids, dealer, the number's dead time, the
    wrong-number calls found so far (time, task id, agent)."""


class CareHistory:
    """The care loop's history, owner by owner; see the module's docstring."""

    def __init__(self, seeder):
        from bench.seed import RANDOM_SEED

        s = self.s = seeder
        self.rng = random.Random(RANDOM_SEED + 11)  # noqa: S311 - reproducible data  # nosec B311
        self.rand = self.rng.random
        today = s.date(s.today)
        self.first_day = add_months(today.replace(day=1), -CARE_MONTHS).toordinal()
        self.last_day = s.today - 1  # the last run of the daily job in the history
        self.live = s.at(self.first_day, 0)  # the loop went live
        self.every = intervals()
        self.deadline = timedelta(hours=self.every["FOLLOWUP_HOURS"])
        self.case_days = timedelta(days=self.every["COMPLAINT_DEADLINE_DAYS"])
        self.plates = local_plates()
        self.lost_after, self.lost_days = LOST_LIST_MIN_DAYS, segment_days()[1]
        # Read before the writer takes the connection, as plain copies.
        reasons = [
            SimpleNamespace(**row._asdict())
            for row in db.session.execute(
                select(
                    LostReason.id,
                    LostReason.code,
                    LostReason.dealer_id,
                    LostReason.needs_text,
                    LostReason.asks_workshop,
                )
                .where(LostReason.active)
                .order_by(LostReason.position, LostReason.id)
            )
        ]
        self.reasons = {
            dealer.id: _weighted(
                [
                    (r, REASON_WEIGHTS.get(r.code, REASON_OTHER))
                    for r in reasons
                    if r.dealer_id in (None, dealer.id)
                ]
            )
            for dealer in s.dealers
        }
        roles = [r.value for r in PERMISSIONS["care.complaints"] if r != Role.HQ_ADMIN]
        handlers = db.session.execute(
            select(User.dealer_id, User.id)
            .where(User.role.in_(roles), User.active, User.dealer_id.is_not(None))
            .order_by(User.id)
        ).all()
        self.handlers = {
            dealer.id: [u for d, u in handlers if d == dealer.id] or [s.staff[k].admin]
            for k, dealer in enumerate(s.dealers)
        }
        self.low = _weighted(LOW_SCORES)
        self.high = _weighted(HIGH_SCORES)
        self.rows = None

    # ---- small helpers

    def pick(self, weighted):
        values, cumulative = weighted
        return values[bisect.bisect(cumulative, self.rand() * cumulative[-1])]

    def between(self, low: int, high: int) -> int:
        return low + int(self.rand() * (high - low + 1))

    def job(self, day: int) -> datetime:
        """When the daily job ran on day ``day``."""
        return self.s.at(day, JOB_SECONDS)

    def job_after(self, moment: datetime) -> datetime | None:
        """The first run of the daily job after ``moment`` in the history, or None."""
        day = local_date(moment).toordinal()
        run = self.job(day)
        if run <= moment:
            day += 1
            run = self.job(day)
        return run if day <= self.last_day else None

    def call_times(self, first: int) -> list[datetime]:
        """Three calls on three days from day ``first``, each at another part of the day (the
        third miss within three days sends the text), up to yesterday."""
        parts = self.rng.sample(PARTS, 3)
        return [
            self.s.at(first + k, self.between(*parts[k]))
            for k in range(3)
            if first + k <= self.last_day
        ]

    # ---- one owner

    def owner(self, i, member_id, user_id, mobile, d, cars, visits, opted_in) -> None:
        """Owner ``i``'s care history from their ``visits`` (bench/seed.py's rows)."""
        s = self.s
        self.rows = s.sink.rows
        o = _Owner(
            member_id=member_id,
            user_id=user_id,
            mobile=mobile,
            dealer_id=s.dealers[d].id,
            agent=s.staff[d].agent,
            admin=s.staff[d].admin,
            dead=None,
            wrong=[],
            # The known owner of the load test keeps a working number (no question at login).
            may_die=i != 0,
        )
        counted = [v for v in visits if v[V_STATUS] == "recorded"]
        by_car = {car.id: [v for v in counted if v[V_VEHICLE] == car.id] for car in cars}
        for car in cars:
            self._maintenance(o, car, by_car[car.id])
        if opted_in:
            self._recall(o, cars, by_car)
        for visit in visits:
            if visit[V_AT] >= self.live:
                self._followup(o, visit)
        if o.wrong:
            self._correction(o)

    # ---- the daily job's call tasks

    def _task(self, o, vehicle_id, kind, day, *, reminder_id=None, klass=None, since=None):
        return [
            self.s.ids[CareTask](), o.dealer_id, o.member_id, vehicle_id, reminder_id, None,
            None, kind, self.s.date(day), "open", None, self.job(day), None, klass, since,
        ]  # fmt: skip

    def _reminder(self, o, car, kind, key, due: date, day: int) -> int:
        reminder_id = self.s.ids[CareReminder]()
        self.rows[CareReminder.__table__].append(
            (reminder_id, o.member_id, car.id, kind, due, key, self.job(day))
        )
        return reminder_id

    def _maintenance(self, o, car, visits: list) -> None:
        """The first- and regular-maintenance reminders the daily job made for ``car`` since
        the loop went live, with their call tasks, worked."""
        s, first_day, last_day = self.s, self.first_day, self.last_day
        seen = [Visit(v[V_ID], v[V_DAY], v[V_KM], v[V_CATEGORY] == "maintenance") for v in visits]
        days = [v.visited_on.toordinal() for v in seen]
        maintained = [day for day, v in zip(days, seen, strict=True) if v.maintenance]

        def settled(day: int) -> datetime | None:
            """The run after the first maintenance visit from ``day`` on."""
            k = bisect.bisect_left(maintained, day)
            if k == len(maintained) or maintained[k] + 1 > last_day:
                return None
            return self.job(maintained[k] + 1)

        # 首保: day 60 after delivery, until day 90, while no maintenance visit came.
        delivered = car.delivered
        start = max(delivered + self.every["FIRST_MAINTENANCE_DAY"], first_day)
        end = min(delivered + self.every["FIRST_MAINTENANCE_LAST_DAY"], last_day)
        if maintained:
            end = min(end, maintained[0])
        if start <= end:
            due = s.date(delivered + self.every["FIRST_MAINTENANCE_DAY"])
            kind = "first_maintenance"
            reminder = self._reminder(o, car, kind, f"{kind}:v{car.id}", due, start)
            task = self._task(o, car.id, kind, start, reminder_id=reminder)
            self._work(o, task, start, settled(start))

        # 定保: the day the rules give on the visits the job saw (those before its day).
        vehicle = SimpleNamespace(delivered_on=s.date(delivered))
        changes = sorted({day + 1 for day in days if first_day < day + 1 <= last_day})
        starts = [first_day, *changes]
        made = set()
        for k, begin in enumerate(starts):
            end = starts[k + 1] - 1 if k + 1 < len(starts) else last_day
            found = next_maintenance(
                vehicle, seen[: bisect.bisect_left(days, begin)], every=self.every
            )
            if found is None:
                continue
            base, due = found
            low = max(begin, due.toordinal() - self.every["MAINTENANCE_NOTICE_DAYS"])
            high = min(end, due.toordinal() + self.every["MAINTENANCE_OVERDUE_DAYS"])
            key = f"maintenance_due:v{car.id}:{base.id}"
            if low > high or key in made:
                continue
            made.add(key)
            reminder = self._reminder(o, car, "maintenance_due", key, due, low)
            task = self._task(o, car.id, "maintenance_due", low, reminder_id=reminder)
            self._work(o, task, low, settled(low))

    def _recall(self, o, cars, by_car) -> None:
        """The recall tasks of the owner's lost episodes (app/care/recall.py), worked."""
        s, first_day, last_day = self.s, self.first_day, self.last_day
        prefixes = self.plates.get(o.dealer_id, ())
        episodes = []
        for car in cars:
            seen = sorted({v[V_DAY].toordinal() for v in by_car[car.id]})
            sinces = [car.delivered, *seen]
            for k, since in enumerate(sinces):
                back = sinces[k + 1] if k + 1 < len(sinces) else None
                low = max(since + self.lost_after, first_day)
                # The job on the day of the next visit still saw the car unseen (it runs first).
                high = min(since + self.lost_days, last_day, back or last_day)
                if low <= high:
                    episodes.append([low, high, since, car, back])
        day = first_day
        while episodes:
            ready = [max(e[0], day) for e in episodes if max(e[0], day) <= e[1]]
            if not ready:
                return
            day = min(ready)
            blocked = self._correction_open(o, self.job(day))
            if blocked is not None:
                day = local_date(blocked).toordinal() + 1
                continue
            episode = min(
                (e for e in episodes if e[0] <= day <= e[1]), key=lambda e: (e[2], e[3].id)
            )
            episodes.remove(episode)
            _low, high, since, car, back = episode
            local = car.plate is None or not prefixes or car.plate.startswith(prefixes)
            inside = s.plus_months(car.delivered, 36) >= day
            klass = ("local_" if local else "remote_") + ("in" if inside else "out")
            task = self._task(o, car.id, "recall", day, klass=klass, since=s.date(since))
            # The run after the car came back (its next visit) closes the task.
            came = self.job(back + 1) if back is not None and back < last_day else None
            status, closed = self._work(o, task, day, came)
            if status == "open":
                return  # one open recall task per owner
            if status == "wrong_number" and day < high:
                episodes.append([day + 1, high, since, car, back])  # again once corrected
            day = local_date(closed).toordinal() + (0 if status == "closed" else 1)

    def _work(self, o, task, day: int, settled_at: datetime | None):
        """An agent's calls of a task the job made on ``day``, with their outcomes, until it
        is reached, texted after three misses, found dead, or closed as the owner came;
        written. Returns the final status and when it closed."""
        rand = self.rand
        if rand() >= UNCALLED_SHARE:
            for misses, at in enumerate(self.call_times(day + self.between(0, 6)), 1):
                if settled_at is not None and at >= settled_at:
                    break
                if o.may_die and o.dead is None and rand() < DEAD_SHARE:
                    days = 10_000 if rand() < DEAD_FOR_GOOD else self.between(*DEAD_DAYS)
                    o.dead = (at, at + timedelta(days=days))
                if self._dead(o, at):
                    call = self._call(o, task, at, reached=False)
                    self._outcome(o, task, call, at, "wrong_number")
                    o.wrong.append((at, task[0], o.agent))
                    return self._close(task, "wrong_number", at)
                if rand() < REACH_SHARE:
                    call = self._call(o, task, at, reached=True)
                    roll = rand()
                    outcome = next(name for name, p in OUTCOMES if roll < p)
                    self._outcome(o, task, call, at, outcome)
                    return self._close(task, "reached", at)
                call = self._call(o, task, at, reached=False)
                self._outcome(o, task, call, at, "not_reached")
                if misses == 3:
                    return self._close(task, "sms_sent", at)
        if settled_at is not None:
            return self._close(task, "closed", settled_at)
        self.rows[CareTask.__table__].append(task)
        return "open", None

    def _close(self, task, status: str, at: datetime):
        task[T_STATUS], task[T_CLOSED] = status, at
        self.rows[CareTask.__table__].append(task)
        return status, at

    def _call(self, o, task, at: datetime, *, reached: bool, satisfied=None, note="") -> int:
        call_id = self.s.ids[CareCall]()
        self.rows[CareCall.__table__].append(
            (call_id, task[0], o.agent, at, reached, note, satisfied)
        )
        task[T_ASSIGNED] = task[T_ASSIGNED] or o.agent
        return call_id

    def _outcome(self, o, task, call_id: int, at: datetime, outcome: str) -> None:
        reason, text, shop, place, price = None, "", "", "", None
        if outcome == "not_coming":
            reason = self.pick(self.reasons[o.dealer_id])
            if reason.needs_text:
                text = self.rng.choice(OTHER_REASONS)
            if reason.asks_workshop:
                shop, place, (low, high) = self.rng.choice(WORKSHOPS)
                price = self.between(low // 100, high // 100) * 100
        self.rows[CallOutcome.__table__].append(
            (
                self.s.ids[CallOutcome](),
                call_id,
                task[0],
                outcome,
                reason.id if reason is not None else None,
                text,
                shop,
                place,
                price,
                local_date(at),
            )
        )

    # ---- numbers found dead

    def _dead(self, o, at: datetime) -> bool:
        return o.dead is not None and o.dead[0] <= at < o.dead[1]

    def _correction_open(self, o, at: datetime) -> datetime | None:
        """When the owner's entry on the correction list closes, if one is open at ``at``."""
        if o.wrong and min(w[0] for w in o.wrong) < at < o.dead[1]:
            return o.dead[1]
        return None

    def _correction(self, o) -> None:
        """The owner's entry on the correction list, from the first call that found the number
        dead; proven by the owner when the dead time is over (before now)."""
        reported_at, task_id, agent = min(o.wrong)
        proven = o.dead[1] <= self.s.now
        self.rows[ContactCorrection.__table__].append(
            (
                self.s.ids[ContactCorrection](),
                o.member_id,
                task_id,
                o.mobile,
                "proven" if proven else "open",
                agent,
                reported_at,
                o.user_id if proven else None,
                o.dead[1] if proven else None,
            )
        )

    # ---- after every visit

    def _followup(self, o, visit) -> None:
        """The visit's callback task and questionnaire, the calls, the answer, the cases."""
        rand, rows = self.rand, self.rows
        at, day = visit[V_AT], visit[V_DAY].toordinal()
        unhappy = rand() < UNHAPPY_SHARE
        task = [
            self.s.ids[CareTask](), o.dealer_id, o.member_id, visit[V_VEHICLE], None,
            visit[V_ID], at + self.deadline, "visit_followup", visit[V_DAY], "open", None, at,
            None, None, None,
        ]  # fmt: skip
        survey_id = self.s.ids[VisitSurvey]()
        if visit[V_STATUS] == "refunded":
            self._close(task, "closed", visit[V_REFUNDED])
            rows[VisitSurvey.__table__].append(
                (survey_id, visit[V_ID], o.member_id, o.dealer_id, visit[V_ADVISOR],
                 "cancelled", None, None, "", at, None)
            )  # fmt: skip
            return
        self._callback(o, visit, task, day, unhappy)
        answered_at = at + timedelta(seconds=self.between(HOUR, 72 * HOUR))
        share = UNHAPPY_ANSWER_SHARE if unhappy else ANSWER_SHARE
        if rand() < share and answered_at <= self.s.now:
            score = self.pick(self.low if unhappy else self.high)
            rating = None
            if visit[V_ADVISOR] is not None and rand() < 0.85:
                rating = self.between(1, 3) if unhappy else self.between(4, 5)
            comment = self.rng.choice(LOW_COMMENTS if unhappy else HIGH_COMMENTS)
            rows[VisitSurvey.__table__].append(
                (survey_id, visit[V_ID], o.member_id, o.dealer_id, visit[V_ADVISOR],
                 "answered", score, rating, comment, at, answered_at)
            )  # fmt: skip
            if score <= self.every["COMPLAINT_SCORE_MAX"]:
                key = f"survey:{survey_id}"
                self._case(o, visit, "survey", key, comment, answered_at, o.user_id)
        else:
            rows[VisitSurvey.__table__].append(
                (survey_id, visit[V_ID], o.member_id, o.dealer_id, visit[V_ADVISOR],
                 "pending", None, None, "", at, None)
            )  # fmt: skip
        if rand() < OWNER_COMPLAINT_SHARE:
            raised = at + timedelta(days=self.between(1, 6))
            if raised <= self.s.now:
                text = self.rng.choice(OWNER_TEXTS)
                self._case(o, visit, "owner", None, text, raised, o.user_id)

    def _callback(self, o, visit, task, day: int, unhappy: bool) -> None:
        """The agent's calls after the visit: the day after (a few later, the newest not yet);
        reached (satisfied or not) or three misses and the text."""
        rand = self.rand
        age = self.last_day - day
        waiting = 0.5 if age < 2 else 0.08 if age < 14 else 0.0
        if rand() >= waiting:
            first = day + (1 if rand() < 0.95 else self.between(2, 3))
            for misses, at in enumerate(self.call_times(first), 1):
                if not self._dead(o, at) and rand() < CALLBACK_REACH_SHARE:
                    satisfied = not unhappy or rand() < 0.3
                    note = "" if satisfied else self.rng.choice(CALLBACK_NOTES)
                    call = self._call(o, task, at, reached=True, satisfied=satisfied, note=note)
                    if not satisfied:
                        self._case(o, visit, "callback", f"call:{call}", note, at, o.agent)
                    self._close(task, "reached", at)
                    return
                self._call(o, task, at, reached=False)
                if misses == 3:
                    self._close(task, "sms_sent", at)
                    return
        self.rows[CareTask.__table__].append(task)

    def _case(self, o, visit, source, key, description, opened: datetime, by: int) -> None:
        """A complaint case opened at ``opened`` and what the dealer and the owner did since
        (each step only when its time has come)."""
        rand, now, hours = self.rand, self.s.now, lambda a, b: timedelta(hours=self.between(a, b))
        case_id = self.s.ids[ComplaintCase]()
        notes = self.rows[ComplaintNote.__table__]
        status, deadline, assignee = "open", opened + self.case_days, None
        resolution, resolved_at, resolved_by, confirmed_at, reopened = "", None, None, None, 0
        # (start, end or None, deadline) of each time the case waited for the dealer.
        waits = []
        start = opened
        for round_ in range(2):
            taken = start + hours(1, 40)
            if taken > now:
                waits.append((start, None, deadline))
                break
            assignee = assignee or self.rng.choice(self.handlers[o.dealer_id])
            status = "in_progress"
            notes.append(
                (self.s.ids[ComplaintNote](), case_id, assignee, False,
                 self.rng.choice(STAFF_NOTES), taken)
            )  # fmt: skip
            resolved = taken + (hours(50, 150) if rand() < LATE_SHARE else hours(2, 40))
            if resolved > now:
                waits.append((start, None, deadline))
                break
            waits.append((start, resolved, deadline))
            status, resolution = "resolved", self.rng.choice(RESOLUTIONS)
            resolved_at, resolved_by = resolved, assignee
            answer, roll = resolved + hours(2, 96), rand()
            if answer > now or roll >= 0.9:
                break  # the owner has not answered (yet)
            if round_ == 1 or roll < 0.8:
                status, confirmed_at = "confirmed", answer
                break
            # Reopened by the owner: due again, handled again.
            status, reopened, start, deadline = "reopened", 1, answer, answer + self.case_days
            notes.append(
                (self.s.ids[ComplaintNote](), case_id, o.user_id, True,
                 self.rng.choice(REOPEN_NOTES), answer)
            )  # fmt: skip
        # The last escalation and its round: each wait (round) is escalated once when overdue.
        escalated_at = escalated_round = None
        for round_, (begin, end, due) in enumerate(waits):
            run = self.job_after(max(begin, due))
            if run is not None and (end is None or run < end):
                escalated_at, escalated_round = run, round_
        self.rows[ComplaintCase.__table__].append(
            (
                case_id, o.dealer_id, o.member_id, visit[V_ID], source, key, description,
                status, assignee, deadline, resolution, resolved_at, resolved_by, confirmed_at,
                reopened, escalated_at, escalated_round, o.admin if escalated_at else None, by,
                opened,
            )
        )  # fmt: skip

    # ---- after every owner

    def finish(self) -> None:
        """A holiday greeting of SZ01 to all its owners, scheduled now by the real services:
        the bench's run of the daily job sends it."""
        from app.campaigns.broadcasts.services import (
            LANGUAGES,
            BroadcastData,
            create_broadcast,
            schedule_broadcast,
        )
        from app.campaigns.calls.targeting import TargetFilters
        from app.care.texts.kinds import TextKind
        from app.care.texts.services import text_in_force

        s = self.s
        dealer_id = s.dealers[0].id
        kind = TextKind.HOLIDAY_GREETING
        words = {}
        for code in LANGUAGES:
            text = text_in_force(dealer_id, kind, code)
            words |= {f"title_{code}": text.title, f"body_{code}": text.body}
        admin = db.session.get(User, s.staff[0].admin)
        data = BroadcastData(kind=kind.value, send_at=s.now, filters=TargetFilters(), **words)
        broadcast = create_broadcast(admin, data, dealer_id=dealer_id, now=s.now)
        schedule_broadcast(admin, broadcast.id, now=s.now)
