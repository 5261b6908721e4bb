"""The hot paths' SQL, pinned (issue 19): the owner's card page and a gate check-in each run a
known number of statements, so a change that adds a query to them fails here and says which.
The figures are what the code does today; lowering them is issue 19's work, raising them needs
a reason written here."""

from tests.api.test_checkin import gate  # noqa: F401 - the gate fixture
from tests.conftest import count_queries

# Statements of one request on SQLite (a BEGIN IMMEDIATE counts: app/core's write lock), after
# a first request warmed the session and the caches, as measured on 2026-12-07.
# The card page (5 until issue 19): the session with the user, owner and dealer; then the card,
# the points account and the unread count in one statement. A GET that only reads begins no
# transaction (app/core/database.py).
CARD_PAGE = 2
# A check-in: the key (and its last use), the event, the registration, the check-in's two
# lookups and insert, then the attendance points through the ledger (account, lots, entry,
# tier, qualifying sum) and the attendee's car and colour for the answer.
CHECK_IN = 20


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
    body = {"event_id": gate["event_id"], "ticket": gate["ticket"], "nonce": "pin-0001"}
    with count_queries(app) as seen:
        assert api.post("/checkin", body).status_code == 201
    assert len(seen) == CHECK_IN, shown(seen)
