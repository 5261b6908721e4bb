"""Recruitment rate (seed 004): (members + applying) ÷ delivered owners per dealer, region and
nationally at a month's end, and month by month."""

from datetime import UTC, date, datetime

import pytest

from app.core.errors import NotFound
from app.extensions import db
from app.hq.months import Month
from app.hq.recruitment import month_figures, recruitment_report
from app.members.registration import complete_registration, register_member
from tests.conftest import PASSWORD
from tests.factories import make_staff, make_vehicle, next_mobile

NOVEMBER = Month(date(2026, 11, 1))
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 2, 0, tzinfo=UTC)


def _owner(dealer_id, *, created, joined=None, delivered=None, invited=False, closed=False):
    """An owner enrolled on ``created`` (invited at delivery, or registered), who joined on
    ``joined``, with a car delivered on ``delivered`` (None: no delivery known)."""
    user = register_member(
        mobile=next_mobile(),
        password=None if invited else PASSWORD,
        name="Owner",
        dealer_id=dealer_id,
        now=created,
    )
    member = user.member
    if invited and joined:
        member.joined_at = joined
    user.active = not closed
    bought = (delivered or created.date()).replace(day=1)
    make_vehicle(member, purchased_on=bought, delivered_on=delivered)
    db.session.flush()
    return member


@pytest.fixture
def owners(ctx, network):
    """Six delivered owners of three dealers, and one owner without a delivery."""
    sz, gz, sh = network["SZ01"], network["GZ01"], network["SH01"]
    _owner(sz, created=_at(9, 5), delivered=date(2026, 9, 3))  # a member since September
    _owner(sz, created=_at(11, 15), delivered=date(2026, 11, 15), invited=True)  # applying
    _owner(sz, created=_at(8, 10), delivered=date(2026, 8, 10), invited=True)  # lapsed
    _owner(sz, created=_at(9, 1))  # no delivery known: not an owner of the rate
    # Invited at delivery on 20 October, joined on 2 November.
    _owner(sz, created=_at(10, 20), delivered=date(2026, 10, 20), invited=True, joined=_at(11, 2))
    _owner(gz, created=_at(11, 1), delivered=date(2026, 11, 1))
    _owner(sh, created=_at(6, 1), delivered=date(2026, 6, 1), closed=True)
    return network


def test_figures_per_dealer_at_the_months_end(owners):
    november = month_figures(NOVEMBER, None, now=NOW)
    sz = november[owners["SZ01"]]
    assert (sz.owners, sz.members, sz.applying, sz.new, sz.rate) == (4, 2, 1, 1, "75.0%")
    october = month_figures(Month(date(2026, 10, 1)), owners["SZ01"], now=NOW)[owners["SZ01"]]
    # The owner delivered on 20 October was still applying at the end of October.
    assert (october.owners, october.members, october.applying, october.rate) == (3, 1, 1, "66.7%")
    assert november[owners["SH01"]].rate == "0.0%"


def test_the_report_groups_dealers_by_region_and_the_nation(owners):
    hq = make_staff("hq_admin", None)
    report = recruitment_report(hq, month=NOVEMBER, now=NOW)
    dealers = {row[0].text: [c.text for c in row] for row in report.table("dealers").rows}
    assert dealers["SZ01"][2:] == ["华南", "4", "2", "1", "75.0%"]
    assert dealers["GZ01"][2:] == ["华南", "1", "1", "0", "100.0%"]
    regions = {row[0].text: [c.text for c in row[1:]] for row in report.table("regions").rows}
    assert regions == {"华东": ["1", "1", "0", "0", "0.0%"], "华南": ["2", "5", "3", "1", "80.0%"]}
    assert [c.text for c in report.table("regions").totals] == [
        "National", "3", "6", "3", "1", "66.7%",
    ]  # fmt: skip
    assert report.facts["total"].rate == "66.7%"


def test_the_trend_counts_new_members_and_the_rate_month_by_month(owners):
    hq = make_staff("hq_admin", None)
    report = recruitment_report(hq, month=NOVEMBER, dealer_id=owners["SZ01"], now=NOW)
    trend = {row[0].text: [c.text for c in row[1:]] for row in report.table("trend").rows}
    assert len(trend) == 12
    assert list(trend)[::11] == ["2025-12", "2026-11"]
    assert trend["2026-07"] == ["0", "0", "0", "0", "—"]
    # August: the owner invited on 10 August is applying; September: their invitation lapsed.
    assert trend["2026-08"] == ["0", "1", "0", "1", "100.0%"]
    assert trend["2026-09"] == ["1", "2", "1", "0", "50.0%"]
    assert trend["2026-10"] == ["0", "3", "1", "1", "66.7%"]
    assert trend["2026-11"] == ["1", "4", "2", "1", "75.0%"]
    assert report.table("regions") is None


def test_a_dealer_admin_sees_their_own_dealer_only(owners):
    admin = make_staff("dealer_admin", owners["GZ01"])
    report = recruitment_report(admin, month=NOVEMBER, now=NOW)
    assert [row[0].text for row in report.table("dealers").rows] == ["GZ01"]
    assert report.table("regions") is None
    with pytest.raises(NotFound):
        recruitment_report(admin, month=NOVEMBER, dealer_id=owners["SZ01"], now=NOW)


def test_proving_the_number_makes_the_invited_owner_a_member(ctx, network):
    owner = _owner(network["SZ01"], created=NOW, delivered=date(2026, 11, 20), invited=True)
    assert owner.joined_at is None
    complete_registration(
        owner.user.mobile,
        name=owner.name,
        password=None,
        dealer_id=owner.dealer_id,
        marketing_opt_in=False,
        locale="zh",
        now=NOW,
    )
    assert owner.joined_at == NOW
