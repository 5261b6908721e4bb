"""Member cards: numbers with a check digit, rotating signed QR tokens, reissue.

Cards answers members' signals (app/core/signals.py): a new owner gets a card, the home page
shows it, staff find an owner by its number, the export lists the cards, a deletion revokes it.
"""

from app.core.signals import (
    member_deleting,
    member_export,
    member_home,
    member_registered,
    member_search,
    sessions_ended,
)


@member_registered.connect
def _issue_first_card(member, *, now=None, **_):
    from app.cards.services import issue_card

    issue_card(member, now=now)


@sessions_ended.connect
def _revoke_card_devices(user, *, now=None, **_):
    """The owner's phones sign the card's offline codes with their own keys: signing every
    device out stops those keys too (the phone in hand is certified again at its next visit)."""
    from app.cards.devices import revoke_devices
    from app.cards.services import active_card

    member = getattr(user, "member", None)
    card = active_card(member) if member is not None else None
    if card is not None:
        revoke_devices(card, now=now)


@member_home.connect
def _home_card(member, **_):
    from app.cards.services import active_card

    return {"card": active_card(member)}


@member_search.connect
def _by_card_number(field, *, q, **_):
    from sqlalchemy import exists

    from app.cards.models import MemberCard
    from app.members.models import Member

    number = "".join(ch for ch in q if ch.isdigit())
    if field not in ("all", "card") or len(number) != 16:
        return None
    return exists().where(MemberCard.member_id == Member.id, MemberCard.number == number)


@member_export.connect
def _export_cards(member, **_):
    from app.cards.models import MemberCard
    from app.members.privacy import export_rows

    return {
        "cards": export_rows(MemberCard, MemberCard.member_id == member.id, skip=("member_id",))
    }


@member_deleting.connect
def _revoke_cards(member, *, now, **_):
    from app.cards.services import revoke_cards

    return {"cards_revoked": revoke_cards(member, now=now)}
