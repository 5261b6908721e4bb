"""The points history's SQL, pinned (issue 19): the page runs a known number of statements
whatever the owner's ledger holds, so a change that adds a query to it fails here and says
which. Lowering the figures is welcome; raising them needs a reason written here."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.loyalty.ledger import reverse_entry
from app.loyalty.models import EntryKind, PointsEntry
from app.members.models import Member
from tests.conftest import count_queries
from tests.loyalty.test_views import give_points

# Queries of one request on SQLite, after a first request warmed the session and the caches
# (5 until issue 19): the session with the user, owner and dealer; the account's figures with
# its number of entries and the layout's unread count in one statement (app/loyalty/history.py);
# the page's entries. Statements of the transaction itself are the request lifecycle's (a GET
# that only reads begins none; a value-dated expiry does) and are not counted here.
HISTORY_PAGE = 3
# A page past the last entry (or an empty history) does not ask for entries.
NO_ENTRIES = HISTORY_PAGE - 1


def shown(statements: list[str]) -> str:
    """Each statement's first words, one a line: enough to see which query came or went."""
    return "\n".join(" ".join(s.split()[:4]) for s in statements)


TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def statements_of(app, client, path: str) -> list[str]:
    """The queries of one GET of ``path`` after a first one."""
    assert client.get(path).status_code == 200
    with count_queries(app) as seen:
        assert client.get(path).status_code == 200
    return [s for s in seen if not s.lstrip().upper().startswith(TRANSACTION)]


@pytest.mark.parametrize("entries", [1, 35, 95])
def test_the_points_history_runs_its_pinned_number_of_statements(
    app, member, member_client, entries
):
    give_points(app, member["id"], entries, points=1)
    seen = statements_of(app, member_client, "/me/points")
    assert len(seen) == HISTORY_PAGE, shown(seen)
    if entries > 30:
        seen = statements_of(app, member_client, "/me/points?page=2")
        assert len(seen) == HISTORY_PAGE, shown(seen)


def test_an_empty_history_and_a_page_past_the_end_ask_for_no_entries(app, member, member_client):
    seen = statements_of(app, member_client, "/me/points")
    assert len(seen) == NO_ENTRIES, shown(seen)
    give_points(app, member["id"], 3, points=1)
    seen = statements_of(app, member_client, "/me/points?page=7")
    assert len(seen) == NO_ENTRIES, shown(seen)


def test_a_page_past_the_end_keeps_the_pager_and_the_empty_state(app, member, member_client):
    give_points(app, member["id"], 35, points=1)
    page = member_client.get("/me/points?page=7").get_data(as_text=True)
    assert "No points yet" in page
    assert "Page 7 of 2" in page
    assert 'href="/me/points?page=6" rel="prev"' in page


def test_the_history_reads_no_more_than_a_page_of_entries(app, member, member_client):
    give_points(app, member["id"], 95, points=1)
    seen = statements_of(app, member_client, "/me/points?page=2")
    page = member_client.get("/me/points?page=2").get_data(as_text=True)
    entries = next(s for s in seen if "FROM points_entries" in s and "LIMIT" in s)
    assert "count(" not in entries
    assert "RO-64" in page and "RO-35" in page
    assert "RO-65<" not in page and "RO-34<" not in page


def test_each_line_keeps_its_own_reference_and_kind_when_labels_are_shared(
    app, member, member_client
):
    """A page translates each source's label once: lines of one source still differ."""
    ids = give_points(app, member["id"], 3)
    with app.app_context(), app.test_request_context():
        reverse_entry(ids[1], reason="refund")
        db.session.get(Member, member["id"]).user.locale = "zh"
        db.session.commit()
    page = member_client.get("/me/points").get_data(as_text=True)
    assert "维修保养 · RO-0" in page and "维修保养 · RO-2" in page
    assert "冲正：维修保养 · RO-1" in page
    assert page.count("维修保养 · RO-1") == 2


def test_the_history_reads_each_day_as_of_that_day(app, member, member_client, clock):
    """The account's statement is built once: each day's page is read as of that day."""
    give_points(app, member["id"], 1, points=250)
    page = member_client.get("/me/points").get_data(as_text=True)
    assert "<strong>250</strong> points" in page and "expire in the next 60 days" not in page
    clock.advance(days=700)
    page = member_client.get("/me/points").get_data(as_text=True)
    assert "250 points expire in the next 60 days." in page
    clock.advance(days=40)
    page = member_client.get("/me/points").get_data(as_text=True)
    assert "<strong>0</strong> points" in page and "expire in the next 60 days" not in page
    assert "Points expired (older than 24 months)" in page and "-250" in page
    # The expiry the page recorded (value-dated) is kept, once, and the next view reads it.
    seen = statements_of(app, member_client, "/me/points")
    assert len(seen) == HISTORY_PAGE, shown(seen)
    with app.app_context():
        expiries = db.session.scalars(
            select(PointsEntry).where(PointsEntry.kind == EntryKind.EXPIRE)
        ).all()
    assert [e.delta for e in expiries] == [-250]
