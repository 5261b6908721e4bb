"""Fixtures of HQ operations: three dealers in two regions."""

import pytest

from app.extensions import db
from app.members.models import Dealer
from tests.factories import make_dealer


@pytest.fixture
def network(seeded):
    """SZ01 and GZ01 in 华南, SH01 in 华东: their ids by code."""
    with seeded():
        ids = {}
        for code, region in (("SZ01", "华南"), ("GZ01", "华南"), ("SH01", "华东")):
            dealer = make_dealer(code)
            dealer.region = region
            ids[code] = dealer.id
        db.session.flush()
    return ids


def dealer_code(dealer_id: int) -> str:
    """The code of a dealer, for messages."""
    return db.session.get(Dealer, dealer_id).code
