"""The name checks on the member desk (issue 15, R12): a DMS delivery named a proven owner
differently; staff of the owner's dealer keep the stored name or take the DMS's, once."""

from datetime import timedelta
from html import unescape

from sqlalchemy import select

from app.core.audit import AuditEntry
from app.core.clock import utcnow
from app.extensions import db
from app.members.models import Member, NameMismatch
from app.members.name_checks import flag_name_mismatch
from app.members.registration import register_member
from tests.factories import make_member, make_vehicle, next_mobile


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def flag(seeded, dealer_id: int, stored: str, dms: str, *, plate: str | None = None, ago=0):
    """A proven owner called ``stored`` whose car's delivery named them ``dms``."""
    with seeded():
        member = make_member(dealer_id, name=stored)
        car = make_vehicle(member, **({"plate": plate} if plate else {}))
        check = flag_name_mismatch(
            None, member, car, dms_name=dms, now=utcnow() - timedelta(days=ago)
        )
        return check.id, member.id


def resolved(app, check_id: int) -> NameMismatch:
    with app.app_context():
        check = db.session.get(NameMismatch, check_id)
        db.session.expunge(check)
        return check


def audits(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        db.session.expunge_all()
        return rows


def test_the_queue_lists_the_dealers_open_checks_newest_first(seeded, dealers, staff_factory):
    flag(seeded, dealers["SZ01"], "Zhang Wei", "Zhang Weiwei", plate="粤B12345", ago=2)
    flag(seeded, dealers["SZ01"], "Li Na", "李娜", ago=1)
    flag(seeded, dealers["GZ01"], "Zhou Min", "Zhou Ming")
    page = _text(staff_factory("sales_consultant", "SZ01").get("/admin/members/name-checks"))
    assert "Keep Zhang Wei" in page and "Use Zhang Weiwei" in page
    assert "Keep Li Na" in page and "Use 李娜" in page
    assert page.index("Li Na") < page.index("Zhang Wei")  # newest first
    assert "粤B1**45" in page and "粤B12345" not in page  # the plate is masked
    assert "Sagitar" in page
    assert "Zhou Min" not in page  # GZ01's


def test_hq_sees_every_dealers_checks_and_can_filter(seeded, dealers, staff_factory):
    flag(seeded, dealers["SZ01"], "Zhang Wei", "Zhang Weiwei")
    flag(seeded, dealers["GZ01"], "Zhou Min", "Zhou Ming")
    hq = staff_factory("hq_admin", None)
    page = _text(hq.get("/admin/members/name-checks"))
    assert "Zhang Wei" in page and "Zhou Min" in page
    only_gz = _text(hq.get(f"/admin/members/name-checks?dealer={dealers['GZ01']}"))
    assert "Zhou Min" in only_gz and "Zhang Wei" not in only_gz
    # A dealer that does not exist is a 404, not every dealer's checks; nonsense is ignored:
    # never a 500.
    missing = hq.get("/admin/members/name-checks?dealer=999999")
    assert missing.status_code == 404 and "Zhang Wei" not in _text(missing)
    assert hq.get("/admin/members/name-checks?dealer=x&page=-3").status_code == 200


def test_keeping_the_name_resolves_the_check_once(app, seeded, dealers, staff_factory):
    check_id, member_id = flag(seeded, dealers["SZ01"], "Zhang Wei", "Zhang Weiwei")
    staff = staff_factory("showroom_manager", "SZ01")
    response = staff.post(f"/admin/members/name-checks/{check_id}/keep", follow_redirects=True)
    assert response.status_code == 200
    page = _text(response)
    assert "The name Zhang Wei is kept." in page
    assert "No name to check: every delivery matched its owner's name." in page
    check = resolved(app, check_id)
    assert check.resolution == "kept" and check.resolved_at is not None
    with app.app_context():
        assert db.session.get(Member, member_id).name == "Zhang Wei"

    again = staff.post(f"/admin/members/name-checks/{check_id}/rename", follow_redirects=True)
    assert again.status_code == 200
    assert "This name check was already resolved." in _text(again)
    assert resolved(app, check_id).resolution == "kept"
    with app.app_context():
        assert db.session.get(Member, member_id).name == "Zhang Wei"
    (entry,) = audits(app, "member.name_check_resolved")
    assert entry.details["resolution"] == "kept"
    assert entry.subject_id == member_id


def test_using_the_dms_name_renames_the_owner(app, seeded, dealers, staff_factory):
    check_id, member_id = flag(seeded, dealers["SZ01"], "Zhang Wei", "  Zhang   Weiwei ")
    staff = staff_factory("dealer_admin", "SZ01")
    response = staff.post(f"/admin/members/name-checks/{check_id}/rename", follow_redirects=True)
    assert "The owner is now called Zhang Weiwei." in _text(response)
    with app.app_context():
        member = db.session.get(Member, member_id)
        assert member.name == member.user.name == "Zhang Weiwei"
    assert resolved(app, check_id).resolution == "renamed"
    (entry,) = audits(app, "member.name_check_resolved")
    assert entry.details["resolution"] == "renamed"
    assert entry.details["name_before"] == "Zhang Wei"
    assert entry.details["name_after"] == "Zhang Weiwei"


def test_another_dealers_check_is_not_found(app, seeded, dealers, staff_factory):
    check_id, _member = flag(seeded, dealers["SZ01"], "Zhang Wei", "Zhang Weiwei")
    gz = staff_factory("dealer_admin", "GZ01")
    assert gz.post(f"/admin/members/name-checks/{check_id}/keep").status_code == 404
    assert gz.post("/admin/members/name-checks/999999/keep").status_code == 404
    assert resolved(app, check_id).resolved_at is None


def test_roles_that_do_not_record_deliveries_cannot_decide(seeded, dealers, staff_factory):
    check_id, _member = flag(seeded, dealers["SZ01"], "Zhang Wei", "Zhang Weiwei")
    advisor = staff_factory("service_advisor", "SZ01")
    assert advisor.get("/admin/members/name-checks").status_code == 403
    assert advisor.post(f"/admin/members/name-checks/{check_id}/keep").status_code == 403


def test_the_desk_shows_how_many_checks_wait(seeded, dealers, staff_factory):
    flag(seeded, dealers["SZ01"], "Zhang Wei", "Zhang Weiwei")
    flag(seeded, dealers["SZ01"], "Li Na", "Li Nana")
    flag(seeded, dealers["GZ01"], "Zhou Min", "Zhou Ming")
    desk = _text(staff_factory("sales_consultant", "SZ01").get("/admin/"))
    assert '<span class="badge">2</span>' in desk
    assert "2 deliveries named their owner differently" in desk
    advisor_desk = _text(staff_factory("service_advisor", "SZ01").get("/admin/"))
    assert "Name checks" not in advisor_desk


def test_the_queue_in_chinese(seeded, dealers, staff_factory):
    check_id, _member = flag(seeded, dealers["SZ01"], "张伟", "张伟伟")
    staff = staff_factory("sales_consultant", "SZ01")
    staff.set_cookie("lang", "zh")
    page = _text(staff.get("/admin/members/name-checks"))
    assert "姓名核对" in page and "保留“张伟”" in page and "改用“张伟伟”" in page
    done = _text(staff.post(f"/admin/members/name-checks/{check_id}/keep", follow_redirects=True))
    assert "已保留姓名 张伟。" in done
    assert "没有需要核对的姓名" in done
    again = _text(staff.post(f"/admin/members/name-checks/{check_id}/keep", follow_redirects=True))
    assert "这条姓名核对已处理过。" in again
    desk = _text(staff.get("/admin/"))
    assert "姓名核对" in desk


def test_the_member_page_says_when_a_mobile_is_not_proven(seeded, dealers, staff_factory):
    with seeded():
        proven = make_member(dealers["SZ01"], name="Zhang Wei").id
        waiting = register_member(
            mobile=next_mobile(), password=None, name="Chen Jie", dealer_id=dealers["SZ01"]
        ).member.id
    staff = staff_factory("sales_consultant", "SZ01")
    notice = "Not proven by SMS code yet"
    assert notice in _text(staff.get(f"/admin/members/{waiting}"))
    assert notice not in _text(staff.get(f"/admin/members/{proven}"))
