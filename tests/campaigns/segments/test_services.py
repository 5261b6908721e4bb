"""C3 segments (seed 000): a hand-built table of owners covering the eight groups and every
threshold at and just below its boundary, on SQLite and PostgreSQL; the thresholds' rules."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.campaigns.segments import services
from app.campaigns.segments.models import SegmentThresholds
from app.campaigns.segments.services import Segment, classify, periods
from app.core.audit import AuditEntry
from app.core.errors import Forbidden, ValidationFailed
from app.extensions import db
from app.service.models import VisitStatus
from tests.conftest import NOW
from tests.factories import make_dealer, make_member, make_staff, make_visit

TODAY = date(2026, 11, 23)  # NOW in Asia/Shanghai
FIRST = date(2025, 11, 24)  # the current 12-month period's first day
IN = date(2026, 6, 1)  # a day inside the current period
BEFORE = date(2025, 6, 1)  # a day inside the previous period
M, R, A, OT = "maintenance", "repair", "accident", "other"

# Defaults: high from 2 maintenance visits, ¥2,000, 30 % repairs.
# name: (visits [(day, category, fen, refunded?)], segment now, segment in the previous period)
TABLE = {
    "profitable_loyal": (
        [(IN, M, 100_000), (IN, M, 50_000), (IN, R, 50_000)],
        Segment.PROFITABLE_LOYAL,
    ),
    "split_loyal": ([(IN, M, 100_000), (IN, M, 100_000)], Segment.SPLIT_LOYAL),
    "high_risk": ([(IN, M, 100_000), (IN, A, 100_000)], Segment.HIGH_RISK),
    "high_opportunity": ([(IN, M, 200_000)], Segment.HIGH_OPPORTUNITY),
    "to_develop": ([(IN, M, 100_000), (IN, M, 49_999), (IN, R, 50_000)], Segment.TO_DEVELOP),
    "high_cost": ([(IN, M, 10_000), (IN, M, 10_000), (IN, M, 10_000)], Segment.HIGH_COST),
    "low_cost": ([(IN, R, 50_000)], Segment.LOW_COST),
    "mystery": ([], Segment.MYSTERY_OPPORTUNITY),
    # Boundaries: exactly at each threshold is high, one below is low.
    "visits_one_below": ([(IN, M, 150_000), (IN, OT, 50_000)], Segment.HIGH_OPPORTUNITY),
    "spend_exactly": ([(IN, M, 199_999), (IN, OT, 1)], Segment.HIGH_OPPORTUNITY),
    "spend_one_below": ([(IN, M, 199_998), (IN, OT, 1)], Segment.MYSTERY_OPPORTUNITY),
    "ratio_exactly_30": (
        [(IN, M, 0)] * 2 + [(IN, R, 0), (IN, A, 0), (IN, R, 0)] + [(IN, OT, 0)] * 5,
        Segment.TO_DEVELOP,
    ),
    "ratio_just_below": (
        [(IN, M, 0)] * 3 + [(IN, R, 0), (IN, A, 0), (IN, R, 0)] + [(IN, OT, 0)] * 5,
        Segment.HIGH_COST,
    ),
    # Refunded visits do not count; other visits count in the ratio's denominator only.
    "refund_left_out": ([(IN, M, 200_000), (IN, M, 100_000, True)], Segment.HIGH_OPPORTUNITY),
    # The period's first day is in it; the day before belongs to the previous period.
    "first_day": ([(FIRST, M, 100_000), (FIRST, M, 100_000)], Segment.SPLIT_LOYAL),
    "day_before": (
        [(FIRST - timedelta(days=1), M, 100_000), (FIRST - timedelta(days=1), M, 100_000)],
        Segment.MYSTERY_OPPORTUNITY,
        Segment.SPLIT_LOYAL,
    ),
    "moved": (
        [(BEFORE, R, 300_000), (IN, M, 100_000)],
        Segment.MYSTERY_OPPORTUNITY,
        Segment.HIGH_RISK,
    ),
}


def _owners(dealer_id: int) -> dict[str, int]:
    ids = {}
    for name, (visits, *_segments) in TABLE.items():
        owner = make_member(dealer_id, name=name)
        owner.created_at = NOW - timedelta(days=3 * 365)
        for day, category, fen, *refunded in visits:
            status = VisitStatus.REFUNDED if refunded else VisitStatus.RECORDED
            make_visit(owner, day, category, fen, status=status)
        ids[name] = owner.id
    return ids


def _segments_by_owner(ids, t=None) -> dict[str, tuple]:
    current, previous = periods(TODAY, (t or services.current_thresholds()).period_months)
    rows = db.session.execute(services.member_segments([current, previous], t)).all()
    by_id = {row.member_id: (row.segment0, row.segment1) for row in rows}
    return {name: by_id[member_id] for name, member_id in ids.items()}


def test_the_periods_are_the_last_months_and_the_ones_before():
    current, previous = periods(TODAY, 12)
    assert (current.first, current.last) == (FIRST, TODAY)
    assert (previous.first, previous.last) == (date(2024, 11, 24), date(2025, 11, 23))


def test_the_table_of_owners_gets_its_groups(db_app):
    with db_app.app_context(), db_app.test_request_context():
        ids = _owners(make_dealer("SZ01").id)
        found = _segments_by_owner(ids)
    expected = {
        name: (now.value, (rest[0] if rest else Segment.MYSTERY_OPPORTUNITY).value)
        for name, (_visits, now, *rest) in TABLE.items()
    }
    assert found == expected
    assert {now for now, _before in found.values()} == {s.value for s in Segment}


def test_the_python_rule_agrees_with_the_table():
    t = SegmentThresholds(**services.DEFAULTS)
    for _name, (visits, segment, *_rest) in TABLE.items():
        counted = [v for v in visits if v[0] >= FIRST and len(v) == 3]
        figures = (
            sum(1 for v in counted if v[1] == M),
            sum(v[2] for v in counted),
            sum(1 for v in counted if v[1] in (R, A)),
            len(counted),
        )
        assert classify(*figures, t) == segment


@pytest.mark.parametrize(
    ("maintenance", "spend", "repairs", "visits", "segment"),
    [
        (2, 200_000, 3, 10, Segment.PROFITABLE_LOYAL),
        (1, 200_000, 3, 10, Segment.HIGH_RISK),
        (2, 199_999, 3, 10, Segment.TO_DEVELOP),
        (2, 200_000, 2, 10, Segment.SPLIT_LOYAL),
        (1, 199_999, 2, 10, Segment.MYSTERY_OPPORTUNITY),
        (0, 0, 0, 0, Segment.MYSTERY_OPPORTUNITY),
        (0, 0, 1, 1, Segment.LOW_COST),
        (5, 0, 0, 5, Segment.HIGH_COST),
        (0, 10**9, 0, 1, Segment.HIGH_OPPORTUNITY),
    ],
)
def test_classify_at_the_boundaries(maintenance, spend, repairs, visits, segment):
    assert classify(
        maintenance, spend, repairs, visits, SegmentThresholds(**services.DEFAULTS)
    ) == (segment)


def test_segment_members_is_a_target_filter(ctx):
    sz, gz = make_dealer("SZ01"), make_dealer("GZ01")
    ids = _owners(sz.id)
    other = make_member(gz.id, name="gz split loyal")
    make_visit(other, IN, M, 100_000)
    make_visit(other, IN, M, 100_000)
    found = set(db.session.scalars(services.segment_members(Segment.SPLIT_LOYAL, dealer_id=sz.id)))
    assert found == {ids["split_loyal"], ids["first_day"]}
    everyone = set(db.session.scalars(services.segment_members(Segment.SPLIT_LOYAL)))
    assert everyone == found | {other.id}


def test_owners_who_joined_after_the_previous_period_are_new(ctx):
    sz = make_dealer("SZ01")
    ids = _owners(sz.id)
    newcomer = make_member(sz.id, name="newcomer")
    newcomer.created_at = NOW - timedelta(days=30)
    db.session.flush()
    found = _segments_by_owner({**ids, "newcomer": newcomer.id})
    assert found["newcomer"] == (Segment.MYSTERY_OPPORTUNITY.value, None)


# ---------------------------------------------------------------------------- thresholds


def _valid(**overrides):
    return {
        "period_months": 6,
        "maintenance_visits": 3,
        "spend_fen": 150_000,
        "repair_ratio_pct": 40,
        **overrides,
    }


def test_hq_changes_the_thresholds_and_it_is_audited(ctx):
    hq = make_staff("hq_admin", None)
    row = services.update_thresholds(hq, **_valid(), now=NOW)
    assert services.current_thresholds().id == row.id
    (entry,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "c3.thresholds_changed")
    ).all()
    assert entry.actor_id == hq.id
    assert entry.subject_type == "SegmentThresholds"
    assert entry.details == {
        "period_months": [12, 6],
        "maintenance_visits": [2, 3],
        "spend_fen": [200_000, 150_000],
        "repair_ratio_pct": [30, 40],
    }


def test_new_thresholds_reclassify_the_owners(ctx):
    ids = _owners(make_dealer("SZ01").id)
    hq = make_staff("hq_admin", None)
    services.update_thresholds(
        hq, **_valid(period_months=12, maintenance_visits=3, repair_ratio_pct=30)
    )
    found = _segments_by_owner(ids)
    # Two maintenance visits are no longer high: profitable-loyal owners become high-risk.
    assert found["profitable_loyal"][0] == Segment.HIGH_RISK
    assert found["high_cost"][0] == Segment.HIGH_COST


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("period_months", 0),
        ("period_months", 37),
        ("maintenance_visits", 0),
        ("maintenance_visits", -1),
        ("spend_fen", 0),
        ("spend_fen", -100),
        ("repair_ratio_pct", 0),
        ("repair_ratio_pct", 101),
        ("repair_ratio_pct", -5),
    ],
)
def test_thresholds_that_leave_a_group_unreachable_are_refused(ctx, field, value):
    hq = make_staff("hq_admin", None)
    with pytest.raises(ValidationFailed) as refused:
        services.update_thresholds(hq, **_valid(**{field: value}))
    assert refused.value.field == field
    assert db.session.scalar(select(func.count(SegmentThresholds.id))) == 0
    audited = select(func.count(AuditEntry.id)).where(AuditEntry.action == "c3.thresholds_changed")
    assert db.session.scalar(audited) == 0


def test_only_hq_changes_the_thresholds(ctx):
    admin = make_staff("dealer_admin", make_dealer("SZ01").id)
    with pytest.raises(Forbidden):
        services.update_thresholds(admin, **_valid())
    assert db.session.scalar(select(func.count(SegmentThresholds.id))) == 0
