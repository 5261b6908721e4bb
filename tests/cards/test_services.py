"""Member cards: numbers, rotating tokens, reissue, and what the scan says."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.cards.models import CardStatus, MemberCard
from app.cards.services import (
    active_card,
    card_token,
    check_card,
    reissue_card,
    shown_card_token,
)
from app.core.audit import AuditEntry
from app.core.errors import ValidationFailed
from app.extensions import db
from tests.factories import make_member, make_staff


@pytest.fixture
def owner(ctx, dealers):
    return make_member(dealers["SZ01"], name="Zhang Wei")


@pytest.fixture
def desk(ctx, dealers):
    return make_staff("service_advisor", dealers["SZ01"])


def refusals():
    return db.session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "card.refused")
    ).all()


def test_a_fresh_card_token_finds_the_member(owner, desk):
    token = card_token(active_card(owner)).token
    result = check_card(desk, token)
    assert result.accepted and result.member is owner


def test_a_card_token_expires_after_a_few_minutes(owner, desk, clock):
    token = card_token(active_card(owner)).token
    clock.advance(minutes=5, seconds=1)
    result = check_card(desk, token)
    assert not result.accepted and result.reason == "expired"
    assert "Expired code" in result.message
    assert refusals() == [{"reason": "expired"}]


def test_the_card_token_tells_when_it_expires(owner, clock):
    token = card_token(active_card(owner))
    assert token.expires_at == clock.now() + timedelta(seconds=300)


def test_the_card_page_shows_one_token_for_half_a_minute_then_a_fresh_one(owner, desk, clock):
    card = active_card(owner)
    first = shown_card_token(card)
    clock.advance(seconds=29)
    assert shown_card_token(card) == first
    clock.advance(seconds=1)
    second = shown_card_token(card)
    assert second.token != first.token
    assert second.expires_at == clock.now() + timedelta(seconds=300)
    # The reused token still works, with 270 s or more of life left when shown.
    assert check_card(desk, first.token).member is owner


def test_a_reissued_card_never_shows_the_old_cards_token(owner, desk):
    old_token = shown_card_token(active_card(owner)).token
    new = reissue_card(owner.user, owner, reason="lost")
    token = shown_card_token(new).token
    assert token != old_token
    assert check_card(desk, token).member is owner


def test_without_reuse_every_opening_draws_a_fresh_token(app, owner):
    app.config["CARD_TOKEN_REUSE_SECONDS"] = 0
    card = active_card(owner)
    assert shown_card_token(card).token != shown_card_token(card).token


def test_a_forged_token_is_refused_and_logged(owner, desk):
    token = card_token(active_card(owner)).token
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    result = check_card(desk, forged)
    assert result.reason == "forged"
    assert refusals() == [{"reason": "forged"}]


def test_reissue_stops_the_old_number_and_every_old_token(owner, desk):
    old = active_card(owner)
    old_number, old_token = old.number, card_token(old).token
    new = reissue_card(owner.user, owner, reason="lost")
    assert new.number != old_number
    assert old.status == CardStatus.REPLACED
    assert check_card(desk, old_token).reason == "reissued"
    assert check_card(desk, old_number).reason == "reissued"
    assert check_card(desk, new.number).accepted
    assert check_card(desk, card_token(new).token).member is owner
    assert (
        db.session.scalar(select(AuditEntry).where(AuditEntry.action == "card.reissued")).details[
            "reason"
        ]
        == "lost"
    )


def test_reissue_needs_a_known_reason(owner):
    with pytest.raises(ValidationFailed):
        reissue_card(owner.user, owner, reason="bored")
    assert len(db.session.scalars(select(MemberCard)).all()) == 1


def test_typed_card_numbers_are_checked_for_typos(owner, desk):
    number = active_card(owner).number
    typo = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert check_card(desk, " ".join(number[i : i + 4] for i in range(0, 16, 4))).accepted
    assert check_card(desk, typo).reason == "bad_check_digit"
    assert check_card(desk, "hello").reason == "malformed"


def test_staff_of_another_dealer_do_not_see_the_member(owner, dealers):
    other = make_staff("service_advisor", dealers["GZ01"])
    result = check_card(other, card_token(active_card(owner)).token)
    assert not result.accepted and result.reason == "other_dealer"
    assert result.member is None


def test_hq_sees_every_dealers_members(owner):
    hq = make_staff("hq_admin", None)
    assert check_card(hq, card_token(active_card(owner)).token).accepted
