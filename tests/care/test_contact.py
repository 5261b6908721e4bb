"""The correction list's rules (issue 20, app/care/contact.py): one open entry per owner, a
corrected number is proven by its holder, the owner's own proof, deletion."""

import pytest
from sqlalchemy import select

from app.care.contact import (
    correct_mobile,
    open_correction,
    open_correction_of,
    prove_new_mobile,
)
from app.care.models import ContactCorrection
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.members.privacy import delete_member_account
from tests.conftest import login
from tests.factories import make_dealer, make_member, make_staff


@pytest.fixture
def listed(ctx):
    """An owner of SZ01 on the correction list, the agent who found the number dead."""
    sz = make_dealer("SZ01").id
    owner = make_member(sz, name="Listed")
    agent = make_staff("care_agent", sz)
    entry = open_correction(agent, owner)
    return owner, agent, entry


def test_one_open_entry_per_owner(listed):
    owner, agent, entry = listed
    assert open_correction(agent, owner).id == entry.id
    assert db.session.scalars(select(ContactCorrection)).all() == [entry]


def test_staff_of_another_dealer_cannot_correct(listed):
    _owner, _agent, entry = listed
    gz_agent = make_staff("care_agent", make_dealer("GZ01").id)
    with pytest.raises(NotFound):
        correct_mobile(gz_agent, entry.id, "13700001111")
    hq = make_staff("hq_admin", None)
    assert correct_mobile(hq, entry.id, "13700001111").status == "corrected"


def test_a_corrected_number_is_proven_by_whoever_holds_it(app, listed):
    owner, agent, entry = listed
    mobile = owner.user.mobile
    db.session.commit()
    client = app.test_client()
    login(client, mobile)
    client.post("/me/mobile", data={"action": "later"})

    correct_mobile(agent, entry.id, "13700001111")
    db.session.commit()

    # The owner's session stays; the next page asks them to confirm the new number by code.
    assert client.get("/card").headers["Location"] == "/account/verify-mobile"
    with pytest.raises(Conflict):
        correct_mobile(agent, entry.id, "13700002222")


def test_the_owner_confirms_the_same_number(listed):
    owner, _agent, entry = listed
    mobile = owner.user.mobile
    prove_new_mobile(owner.user, mobile)
    assert (entry.status, owner.user.mobile) == ("proven", mobile)
    assert open_correction_of(owner.id) is None
    with pytest.raises(NotFound):
        prove_new_mobile(owner.user, mobile)


def test_a_number_of_another_account_is_refused(listed):
    owner, agent, entry = listed
    other = make_member(owner.dealer_id, name="Other").user.mobile
    with pytest.raises(Conflict):
        prove_new_mobile(owner.user, other)
    with pytest.raises(Conflict):
        correct_mobile(agent, entry.id, other)
    with pytest.raises(ValidationFailed):
        correct_mobile(agent, entry.id, "not a number")
    assert open_correction_of(owner.id).id == entry.id


def test_deleting_the_account_closes_the_entry_and_erases_the_number(listed):
    owner, _agent, entry = listed
    delete_member_account(owner)
    db.session.refresh(entry)
    assert (entry.status, entry.old_mobile) == ("closed", "")
