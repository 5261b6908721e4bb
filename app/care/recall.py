"""Recall of lost owners (issue 20; seed 002, 流失客户):

    根据DMS系统调取当月90-360流失客户按照本地客户、外地客户、本地在保客户、本地出保客户、
    外地在保客户、外地出保客户进行分类回访统计; 每月统计并回访准流失客户, 记录、分析流失原因,
    并采取召回措施.

The daily job (``run_recall``, from app/care/schedule.py: ``run_daily``) turns the owners whose
car enters the lost window (no counted service visit for 90 to 360 days: app/care/reports.py
``_lost_cars``, the lost-customer list's own rule) into ``recall`` call tasks:

- only owners who accepted marketing messages (a recall call is an offer to come back), whose
  account is active and whose number is not on the correction list (app/care/contact.py); an
  owner who withdraws the consent has their open recall task closed by the next run;
- one open recall task per owner (a partial unique index; the insert skips a conflict, so two
  hosts running the job at once make one), about the car unseen the longest;
- once per lost episode: a car's episode is the day it was last seen (``lost_since``); a task
  of that episode, whatever became of it, is not made again, unless the call found the number
  dead (the owner gets a new task once the number is corrected);
- classed as the seed classes them (``recall_class``): local or not (本地/外地) × in or out of
  warranty (在保/出保); the seed's six classes are these four and the two totals.

Local (本地). What the club holds of where an owner lives is free text (``Member.home_area``);
a car's plate says where it is registered, and that is how a DMS tells 本地 from 外地. A car is
local to its owner's dealer when its plate starts with one of the dealer's local prefixes
(``care_local_plates``, set by the dealer admin on the recall settings page); a dealer that set
none gets its city's (``CITY_PLATES``: Shenzhen 粤B, Guangzhou 粤A, Shanghai 沪...); a dealer
whose city is not known either counts every car local. A car without a plate yet is local: a
new car is registered where it was bought.

Everything is set-based (one INSERT ... SELECT, one UPDATE): the job stays well under a minute
at 100,000 owners on PostgreSQL.
"""

import re
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, delete, exists, func, literal, or_, select, text, update

from app.auth.models import User
from app.care.models import CareTask, ContactCorrection, LocalPlate
from app.care.reports import _lost_cars
from app.care.tasks import TASK, TaskStatus
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import ValidationFailed
from app.core.identifiers import PROVINCES
from app.core.models import dialect_insert
from app.extensions import db
from app.members.models import Dealer, Member, Vehicle
from app.service.models import COUNTED_VISIT, ServiceVisit

RECALL = "recall"

# The seed's classes: 本地在保, 本地出保, 外地在保, 外地出保.
CLASS_LABELS = {
    "local_in": _l("Local, in warranty"),
    "local_out": _l("Local, out of warranty"),
    "remote_in": _l("Non-local, in warranty"),
    "remote_out": _l("Non-local, out of warranty"),
}
# What agents filter by and the report counts: the four classes and the two totals
# (本地客户, 外地客户).
CLASS_GROUPS = {
    "local": ("local_in", "local_out"),
    "remote": ("remote_in", "remote_out"),
    **{name: (name,) for name in CLASS_LABELS},
}
GROUP_LABELS = {"local": _l("Local"), "remote": _l("Non-local"), **CLASS_LABELS}

# A dealer's local plates when it set none, by its city (English or Chinese, any case).
CITY_PLATES = {
    "shenzhen": ("粤B",),
    "深圳": ("粤B",),
    "guangzhou": ("粤A",),
    "广州": ("粤A",),
    "zhuhai": ("粤C",),
    "珠海": ("粤C",),
    "foshan": ("粤E",),
    "佛山": ("粤E",),
    "dongguan": ("粤S",),
    "东莞": ("粤S",),
    "shanghai": ("沪",),
    "上海": ("沪",),
    "beijing": ("京",),
    "北京": ("京",),
    "tianjin": ("津",),
    "天津": ("津",),
    "chongqing": ("渝",),
    "重庆": ("渝",),
    "hangzhou": ("浙A",),
    "杭州": ("浙A",),
    "nanjing": ("苏A",),
    "南京": ("苏A",),
    "suzhou": ("苏E",),
    "苏州": ("苏E",),
    "chengdu": ("川A",),
    "成都": ("川A",),
    "wuhan": ("鄂A",),
    "武汉": ("鄂A",),
}
_PREFIX = re.compile(rf"^[{PROVINCES}][A-HJ-NP-Z]?$")
_SEPARATORS = re.compile(r"[\s,，、;；]+")
MAX_PREFIXES = 10


# ------------------------------------------------------------------------------ local plates


def own_local_plates(dealer_id: int) -> list[str]:
    """The prefixes the dealer set itself, in order."""
    return list(
        db.session.scalars(
            select(LocalPlate.prefix)
            .where(LocalPlate.dealer_id == dealer_id)
            .order_by(LocalPlate.prefix)
        )
    )


def local_plates() -> dict[int, tuple[str, ...]]:
    """Every dealer's local plate prefixes: its own, else its city's, else none (all local)."""
    own: dict[int, list[str]] = {}
    for dealer_id, prefix in db.session.execute(
        select(LocalPlate.dealer_id, LocalPlate.prefix).order_by(LocalPlate.prefix)
    ):
        own.setdefault(dealer_id, []).append(prefix)
    return {
        dealer_id: tuple(own.get(dealer_id) or CITY_PLATES.get((city or "").strip().casefold(), ()))
        for dealer_id, city in db.session.execute(select(Dealer.id, Dealer.city))
    }


def set_local_plates(actor, dealer_id: int, raw: str, *, now: datetime | None = None) -> list[str]:
    """The dealer's local plate prefixes from ``raw`` ("粤B, 粤S"); empty: the city's. Audited."""
    prefixes = sorted({p.upper() for p in _SEPARATORS.split(raw or "") if p})
    wrong = [p for p in prefixes if not _PREFIX.match(p)]
    if wrong:
        raise ValidationFailed(
            _l(
                "%(prefix)s is not a plate prefix: a province's character, then the city's "
                "letter if any (粤B, 沪).",
                prefix=wrong[0],
            ),
            field="prefixes",
        )
    if len(prefixes) > MAX_PREFIXES:
        raise ValidationFailed(
            _l("At most %(n)d prefixes.", n=MAX_PREFIXES), field="prefixes", code="too_many"
        )
    before = own_local_plates(dealer_id)
    if before != prefixes:
        db.session.execute(delete(LocalPlate).where(LocalPlate.dealer_id == dealer_id))
        db.session.add_all(LocalPlate(dealer_id=dealer_id, prefix=p) for p in prefixes)
        db.session.flush()
        record_audit(
            actor,
            "care.local_plates",
            dealer_id=dealer_id,
            details={"before": before, "after": prefixes},
            now=now,
        )
    return prefixes


def local_condition(plates: dict[int, tuple[str, ...]]):
    """SQL on Vehicle and Member: the car is local to its owner's dealer (see the module)."""
    branches = []
    for dealer_id, prefixes in sorted(plates.items()):
        if prefixes:
            matches = or_(*(Vehicle.plate.startswith(p, autoescape=True) for p in prefixes))
            branches.append(and_(Member.dealer_id == dealer_id, matches))
        else:
            branches.append(Member.dealer_id == dealer_id)
    return or_(Vehicle.plate.is_(None), *branches)


def class_expression(local, inside):
    """SQL: the recall class from the local condition and the lost list's ``inside`` (0/1)."""
    in_warranty = inside == 1
    return case(
        (and_(local, in_warranty), "local_in"),
        (local, "local_out"),
        (in_warranty, "remote_in"),
        else_="remote_out",
    )


# ------------------------------------------------------------------------------ the daily job


def _open_recall(member_id):
    return exists().where(
        CareTask.kind == RECALL, CareTask.member_id == member_id, CareTask.status == "open"
    )


def _open_correction(member_id):
    return exists().where(
        ContactCorrection.member_id == member_id, ContactCorrection.status == "open"
    )


def create_recall_tasks(*, now: datetime | None = None) -> int:
    """Make the recall tasks of the owners whose car entered the lost window (see the module),
    in one INSERT ... SELECT; returns how many. The caller commits."""
    now = now or utcnow()
    today = local_date(now)
    lost = _lost_cars(None, today)
    handled = exists().where(
        CareTask.kind == RECALL,
        CareTask.vehicle_id == lost.c.vehicle_id,
        CareTask.lost_since == lost.c.since,
        CareTask.status != TaskStatus.WRONG_NUMBER.value,
    )
    candidates = (
        select(
            Member.dealer_id,
            Member.id.label("member_id"),
            lost.c.vehicle_id,
            class_expression(local_condition(local_plates()), lost.c.inside).label("klass"),
            lost.c.since,
            func.row_number()
            .over(partition_by=Member.id, order_by=(lost.c.since, lost.c.vehicle_id))
            .label("n"),
        )
        .select_from(lost)
        .join(Vehicle, Vehicle.id == lost.c.vehicle_id)
        .join(Member, Member.id == Vehicle.member_id)
        .join(User, User.id == Member.user_id)
        .where(
            User.active,
            Member.marketing_opt_in,
            ~handled,
            ~_open_recall(Member.id),
            ~_open_correction(Member.id),
        )
        .subquery()
    )
    table = CareTask.__table__
    rows = (
        select(
            candidates.c.dealer_id,
            candidates.c.member_id,
            candidates.c.vehicle_id,
            literal(RECALL, table.c.kind.type),
            literal(today, table.c.due_on.type),
            literal(TaskStatus.OPEN.value, table.c.status.type),
            literal(now, table.c.created_at.type),
            candidates.c.klass,
            candidates.c.since,
        )
        .where(candidates.c.n == 1)
        # Hosts running the job at once insert (and wait for each other) in one order.
        .order_by(candidates.c.member_id)
    )
    names = [
        "dealer_id",
        "member_id",
        "vehicle_id",
        "kind",
        "due_on",
        "status",
        "created_at",
        "recall_class",
        "lost_since",
    ]
    statement = (
        dialect_insert(table)
        .from_select(names, rows)
        .on_conflict_do_nothing(
            index_elements=["member_id"], index_where=text("kind = 'recall' AND status = 'open'")
        )
    )
    return len(db.session.execute(statement.returning(table.c.id)).all())


def close_returned_recalls(*, now: datetime | None = None) -> int:
    """Close the open recall tasks whose car came for service since it was last seen: the
    owner is back, nobody needs to call. One UPDATE; returns how many."""
    came = (
        select(ServiceVisit.id)
        .where(
            ServiceVisit.vehicle_id == CareTask.vehicle_id,
            ServiceVisit.visited_on > CareTask.lost_since,
            COUNTED_VISIT,
        )
        .exists()
    )
    result = db.session.execute(
        update(CareTask)
        .where(
            CareTask.kind == RECALL,
            CareTask.status.in_([s.value for s in TASK.sources(TaskStatus.CLOSED)]),
            came,
        )
        .values(status=TaskStatus.CLOSED.value, closed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def close_withdrawn_recalls(*, now: datetime | None = None) -> int:
    """Close the open recall tasks of owners who no longer accept offers: nobody calls them
    back. One UPDATE; returns how many."""
    declined = select(Member.id).where(~Member.marketing_opt_in)
    result = db.session.execute(
        update(CareTask)
        .where(
            CareTask.kind == RECALL,
            CareTask.status.in_([s.value for s in TASK.sources(TaskStatus.CLOSED)]),
            CareTask.member_id.in_(declined),
        )
        .values(status=TaskStatus.CLOSED.value, closed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def run_recall(*, now: datetime | None = None) -> tuple[int, int]:
    """The daily job's recall step: close the recalls of owners who came back or withdrew their
    consent, then make the new ones (commits). Returns (closed, made)."""
    closed = close_returned_recalls(now=now) + close_withdrawn_recalls(now=now)
    made = create_recall_tasks(now=now)
    db.session.commit()
    return closed, made


# --------------------------------------------------------------------------- agents' list


# The kinds of task an agent can narrow the call list to.
FILTER_KINDS = ("first_maintenance", "maintenance_due", "warranty_expiry", RECALL)


def task_filters(args) -> dict:
    """The call list's filters from the query string; unknown values are ignored."""
    kind, group = args.get("kind"), args.get("class")
    return {
        "kind": kind if kind in FILTER_KINDS else None,
        "group": group if group in CLASS_GROUPS else None,
    }


def filter_tasks(query, *, kind: str | None = None, group: str | None = None):
    """The call list narrowed to one kind of task and, for recalls, one class (or total)."""
    if kind:
        query = query.where(CareTask.kind == kind)
    if group in CLASS_GROUPS:
        query = query.where(CareTask.kind == RECALL, CareTask.recall_class.in_(CLASS_GROUPS[group]))
    return query
