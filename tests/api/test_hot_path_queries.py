"""The hot paths' SQL, pinned (issue 19): the owner's card page and a gate check-in each run a
known number of statements, so a change that adds a query to them fails here and says which.
The figures are what the code does today; lowering them is issue 19's work, raising them needs
a reason written here."""

from app.cards.services import active_card
from app.extensions import db
from app.loyalty.tiers import tier_table
from app.members.models import Member
from tests.api.test_checkin import gate  # noqa: F401 - the gate fixture
from tests.conftest import count_queries

# Statements of one request on SQLite (a BEGIN IMMEDIATE counts: app/core's write lock), after
# a first request warmed the session and the caches, as measured on 2026-12-07.
# The card page (5 until issue 19): the session with the user, owner and dealer; then the card,
# the points account and the unread count in one statement. A GET that only reads begins no
# transaction (app/core/database.py). Issue 21 adds one: the member benefits the owner used
# this membership year, counted per benefit (what is left shows on the card, where the owner
# stands at the counter); the catalogue comes from the process's cache, and the anniversary
# gift's code is looked for only in the weeks after the anniversary.
CARD_PAGE = 3
# A check-in (issue 19: 20 before): the key, the event and the tiers come from the process's
# caches (app.core.caches); then the registration locked with its owner, car and colour for the
# answer; the check-in's INSERT … ON CONFLICT DO NOTHING; the attendance points through the
# ledger: the account locked, what the posting reads of it in one statement (the key posted
# before? lots past their date? the qualifying points), and one flush (the account's balance,
# qualifying points and tier; the entry).
CHECK_IN = 7


def shown(statements: list[str]) -> str:
    """Each statement's first words, one a line: enough to see which query came or went."""
    return "\n".join(" ".join(s.split()[:4]) for s in statements)


def test_the_card_page_runs_its_pinned_number_of_statements(app, member_client):
    assert member_client.get("/card").status_code == 200
    with count_queries(app) as seen:
        assert member_client.get("/card").status_code == 200
    assert len(seen) == CARD_PAGE, shown(seen)


def test_a_check_in_runs_its_pinned_number_of_statements(app, api, gate):  # noqa: F811
    warm = {"event_id": gate["event_id"], "ticket": gate["cancelled"], "nonce": "warm-0001"}
    assert api.post("/checkin", warm).status_code == 422
    # As a gate's earlier calls left the process: its key's use of this minute written, the
    # tiers read by an earlier check-in's points.
    with app.test_request_context():
        card = active_card(db.session.get(Member, gate["member_id"])).number
        tier_table()
    assert api.get(f"/members/by-card/{card}").status_code == 200
    body = {"event_id": gate["event_id"], "ticket": gate["ticket"], "nonce": "pin-0001"}
    with count_queries(app) as seen:
        assert api.post("/checkin", body).status_code == 201
    assert len(seen) == CHECK_IN, shown(seen)
