"""Chapter transfers approved by both dealers: the releasing and the receiving dealer each
decide their side; HQ may override a side; the owner sees where the request stands."""

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.errors import Conflict, NotFound
from app.extensions import db
from app.members import services as members
from app.members.models import ChapterTransfer, Member, TransferStatus
from tests.conftest import login
from tests.factories import make_member, make_staff


def _actions(transfer_id: int) -> list[tuple[str, int, dict]]:
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject_type == "ChapterTransfer", AuditEntry.subject_id == transfer_id)
        .order_by(AuditEntry.id)
    )
    return [(e.action, e.dealer_id, e.details) for e in entries]


def _inbox(member) -> list[tuple[str, str]]:
    from app.members.models import Notification

    return [
        (n.title, n.body)
        for n in db.session.scalars(
            select(Notification).where(
                Notification.member_id == member.id, Notification.kind == "transfer_decided"
            )
        )
    ]


@pytest.fixture
def request_to_gz(ctx, network):
    """Zhang Wei of SZ01 asks to move to GZ01; the managers of SZ01, GZ01 and SH01."""
    owner = make_member(network["SZ01"], name="Zhang Wei")
    owner.user.locale = "en"  # the inbox is written in the owner's language
    transfer = members.request_transfer(owner, to_dealer_id=network["GZ01"], reason="moved")
    return {
        "owner": owner,
        "transfer": transfer,
        "sz": make_staff("showroom_manager", network["SZ01"]),
        "gz": make_staff("dealer_admin", network["GZ01"]),
        "sh": make_staff("dealer_admin", network["SH01"]),
    }


def test_the_member_moves_only_when_both_dealers_approved(request_to_gz, network):
    r = request_to_gz
    transfer = members.decide_transfer(r["sz"], r["transfer"].id, approve=True)
    assert (transfer.status, transfer.from_status, transfer.to_status) == (
        TransferStatus.PENDING, TransferStatus.APPROVED, TransferStatus.PENDING,
    )  # fmt: skip
    assert r["owner"].dealer_id == network["SZ01"]
    members.decide_transfer(r["gz"], transfer.id, approve=True)
    assert transfer.status == TransferStatus.APPROVED
    assert transfer.to_decided_by_id == r["gz"].id
    assert r["owner"].dealer_id == network["GZ01"]
    assert _inbox(r["owner"]) == [
        ("Your chapter transfer is approved", "You now belong to the chapter of Dealer GZ01.")
    ]
    actions = [(a, d) for a, d, _details in _actions(transfer.id)]
    assert actions == [
        ("transfer.requested", network["SZ01"]),
        ("transfer.side_approved", network["SZ01"]),
        ("transfer.side_approved", network["GZ01"]),
        ("transfer.approved", network["SZ01"]),
        ("transfer.approved", network["GZ01"]),
    ]


@pytest.mark.parametrize("rejecting", ["sz", "gz"])
def test_either_dealer_rejecting_rejects_the_request(request_to_gz, network, rejecting):
    r = request_to_gz
    transfer = members.decide_transfer(r[rejecting], r["transfer"].id, approve=False)
    assert transfer.status == TransferStatus.REJECTED
    assert r["owner"].dealer_id == network["SZ01"]
    assert [title for title, _body in _inbox(r["owner"])] == [
        "Your chapter transfer was not approved"
    ]
    other = "gz" if rejecting == "sz" else "sz"
    with pytest.raises(Conflict, match="already decided"):
        members.decide_transfer(r[other], transfer.id, approve=True)


def test_a_dealer_decides_its_own_side_once(request_to_gz):
    r = request_to_gz
    members.decide_transfer(r["gz"], r["transfer"].id, approve=True)
    with pytest.raises(Conflict, match=r"This side of the request was already decided\."):
        members.decide_transfer(r["gz"], r["transfer"].id, approve=False)
    # Naming the other side changes nothing: a dealer's staff decide their own side only.
    with pytest.raises(Conflict):
        members.decide_transfer(r["gz"], r["transfer"].id, approve=False, side="from")
    assert r["transfer"].from_status == TransferStatus.PENDING


def test_a_third_dealer_cannot_see_or_decide_the_request(request_to_gz):
    r = request_to_gz
    assert members.list_pending_transfers(r["sh"]) == []
    with pytest.raises(NotFound):
        members.decide_transfer(r["sh"], r["transfer"].id, approve=True)
    assert r["transfer"].status == TransferStatus.PENDING


def test_hq_overrides_one_side_and_the_override_is_audited(request_to_gz, network):
    r = request_to_gz
    hq = make_staff("hq_admin", None)
    members.decide_transfer(r["gz"], r["transfer"].id, approve=True)
    transfer = members.decide_transfer(hq, r["transfer"].id, approve=True, side="from")
    assert transfer.status == TransferStatus.APPROVED
    assert transfer.from_decided_by_id == hq.id
    sides = [
        (d, details) for a, d, details in _actions(transfer.id) if a.startswith("transfer.side")
    ]
    assert sides[1] == (
        network["SZ01"], {"member_id": r["owner"].id, "side": "from", "hq_override": True},
    )  # fmt: skip
    assert sides[0][1]["hq_override"] is False


def test_hq_must_name_a_real_side(request_to_gz):
    hq = make_staff("hq_admin", None)
    with pytest.raises(Exception, match="releasing or the receiving"):
        members.decide_transfer(hq, request_to_gz["transfer"].id, approve=True, side="both")


def test_the_receiving_dealer_sees_the_name_masked(request_to_gz):
    r = request_to_gz
    (listed,) = members.list_pending_transfers(r["gz"])
    assert members.transfer_member_name(r["gz"], listed) == "Z**** ***"
    assert members.transfer_member_name(r["sz"], listed) == "Zhang Wei"


# ----------------------------------------------------------------------------- pages


def test_both_managers_approve_on_the_page_and_the_owner_follows_it(app, seeded, network):
    with seeded():
        owner = make_member(network["SZ01"], name="Zhang Wei")
        owner_id = owner.id
        mobiles = {
            "owner": owner.user.mobile,
            "sz": make_staff("showroom_manager", network["SZ01"]).mobile,
            "gz": make_staff("dealer_admin", network["GZ01"]).mobile,
        }
    clients = {}
    for who, mobile in mobiles.items():
        clients[who] = app.test_client()
        login(clients[who], mobile)
    clients["owner"].post("/me/chapter", data={"to_dealer_id": network["GZ01"], "reason": ""})
    with app.app_context():
        transfer_id = db.session.scalar(select(ChapterTransfer.id))
    page = clients["owner"].get("/me/chapter").get_data(as_text=True)
    assert "waiting for both dealers" in page
    assert page.count(": awaiting decision") == 2

    html = clients["gz"].get("/admin/transfers").get_data(as_text=True)
    assert "Z**** ***" in html and "Zhang Wei" not in html
    response = clients["gz"].post(f"/admin/transfers/{transfer_id}/approve", follow_redirects=True)
    assert "Your approval is recorded: the other dealer decides next." in response.get_data(
        as_text=True
    )
    page = clients["owner"].get("/me/chapter").get_data(as_text=True)
    assert "which you join: approved" in page and "which you leave: awaiting decision" in page

    response = clients["sz"].post(f"/admin/transfers/{transfer_id}/approve", follow_redirects=True)
    assert "Transfer approved." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Member, owner_id).dealer_id == network["GZ01"]
    page = clients["owner"].get("/me/chapter").get_data(as_text=True)
    assert "was approved on" in page


def test_a_rejected_request_is_shown_to_the_owner(app, seeded, network):
    with seeded():
        owner = make_member(network["SZ01"])
        transfer = members.request_transfer(owner, to_dealer_id=network["GZ01"], reason="")
        members.decide_transfer(
            make_staff("dealer_admin", network["GZ01"]), transfer.id, approve=False
        )
        mobile = owner.user.mobile
    client = app.test_client()
    login(client, mobile)
    page = client.get("/me/chapter").get_data(as_text=True)
    assert "Your request to move to Dealer GZ01 was rejected on" in page
    assert "Request transfer" in page  # they may ask again
