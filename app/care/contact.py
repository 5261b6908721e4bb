"""Contact quality (issue 20; seed 002): 空号、错号等需相关部门更正后取得新的联系方式关怀.

A care call whose number is dead or wrong puts the owner on the correction list
(``open_correction``, one open entry per owner). The entry closes when

- staff of the owner's dealer enter the right number (``correct_mobile``): a mainland number
  no other account holds; the owner is told on their channels. A number staff typed is
  nobody's proof (R12): the account's number is unproven again, so the owner confirms it by
  SMS code at their next page (app/auth/code_views.py ``keep_unproven_owners_out``);
- or the owner, asked at their next login, proves the number they use now by SMS code
  (``prove_new_mobile``; the same number again confirms it works).

The mobile is the owner's login: a new one changes it. The password stays and the sessions
stay (only a claim of an unproven account ends them, in app/members/registration.py). Each
change is audited with the numbers masked.
"""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.auth.codes import require_mobile
from app.auth.models import User
from app.auth.services import get_user_by_mobile
from app.care.models import CareTask, ContactCorrection
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.identifiers import mask_mobile
from app.core.permissions import Role
from app.core.states import StateMachine
from app.extensions import db
from app.members.inbox import notify
from app.members.models import Member
from app.members.scope import dealer_scope, sees_dealer


class CorrectionStatus(StrEnum):
    """open → corrected (by staff) | proven (by the owner) | closed (account deleted)."""

    OPEN = "open"
    CORRECTED = "corrected"
    PROVEN = "proven"
    CLOSED = "closed"


_C = CorrectionStatus
CORRECTION = StateMachine(
    CorrectionStatus,
    {
        _C.OPEN: {_C.CORRECTED, _C.PROVEN, _C.CLOSED},
        _C.CORRECTED: set(),
        _C.PROVEN: set(),
        _C.CLOSED: set(),
    },
    name="contact_correction",
)
# The session mark of an owner to ask for a working number (set at login, app/care/__init__.py).
ASK_SESSION_KEY = "care_ask_mobile"


def open_correction_of(member_id: int) -> ContactCorrection | None:
    """The owner's open entry on the correction list, if any."""
    return db.session.scalar(
        select(ContactCorrection).where(
            ContactCorrection.member_id == member_id,
            ContactCorrection.status == CorrectionStatus.OPEN.value,
        )
    )


def open_correction(
    actor, member: Member, *, task: CareTask | None = None, now: datetime | None = None
) -> ContactCorrection:
    """Put the owner on the correction list (once: an open entry is returned as it is)."""
    existing = open_correction_of(member.id)
    if existing is not None:
        return existing
    row = ContactCorrection(
        member_id=member.id,
        task_id=task.id if task is not None else None,
        old_mobile=member.user.mobile,
        status=CorrectionStatus.OPEN.value,
        reported_by_id=getattr(actor, "id", None),
        reported_at=now or utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        # Another agent's call found it at the same moment: theirs is the entry.
        return open_correction_of(member.id)
    return row


def corrections_query(actor, dealer_id: int | None = None):
    """The open entries of the owners in the actor's scope (HQ: every dealer, or one), oldest
    first; NotFound for a dealer outside the scope."""
    scope = dealer_scope(actor, dealer_id)
    query = (
        select(ContactCorrection)
        .join(Member, Member.id == ContactCorrection.member_id)
        .where(ContactCorrection.status == CorrectionStatus.OPEN.value)
        .order_by(ContactCorrection.reported_at, ContactCorrection.id)
    )
    if scope is not None:
        query = query.where(Member.dealer_id == scope)
    return query


def with_owners(rows) -> list[tuple[ContactCorrection, Member, CareTask | None]]:
    """Each entry with its owner and the task whose call found the number dead (two queries
    for the page, not two a row)."""
    members = _by_id(Member, {row.member_id for row in rows})
    tasks = _by_id(CareTask, {row.task_id for row in rows if row.task_id})
    return [(row, members.get(row.member_id), tasks.get(row.task_id)) for row in rows]


def _by_id(model, ids: set[int]) -> dict:
    if not ids:
        return {}
    return {obj.id: obj for obj in db.session.scalars(select(model).where(model.id.in_(ids)))}


def get_correction_for_staff(actor, correction_id: int) -> ContactCorrection:
    """An entry of an owner of the actor's dealer (HQ: any); NotFound otherwise."""
    row = db.session.get(ContactCorrection, correction_id)
    member = db.session.get(Member, row.member_id) if row is not None else None
    if member is None or not sees_dealer(actor, member.dealer_id):
        raise NotFound(_l("No such entry on the correction list."))
    return row


def _locked_open(correction_id: int) -> ContactCorrection:
    row = db.session.execute(
        select(ContactCorrection)
        .where(ContactCorrection.id == correction_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if row.status != CorrectionStatus.OPEN:
        raise Conflict(_l("This number was corrected already."))
    return row


def _free_for(user: User, mobile: str) -> None:
    holder = get_user_by_mobile(mobile)
    if holder is not None and holder.id != user.id:
        raise Conflict(
            _l("Another club account holds this number: it cannot be this owner's too."),
            field="mobile",
        )


def _set_mobile(user: User, mobile: str) -> None:
    """Change the login number; the unique index has the last word on a concurrent taker."""
    user.mobile = mobile
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(
            _l("Another club account holds this number: it cannot be this owner's too."),
            field="mobile",
        ) from None


def correct_mobile(
    actor, correction_id: int, raw_mobile: str, *, now: datetime | None = None
) -> ContactCorrection:
    """Staff enter the owner's right number: the entry closes, the owner is told. Audited."""
    now = now or utcnow()
    get_correction_for_staff(actor, correction_id)
    row = _locked_open(correction_id)
    member = db.session.get(Member, row.member_id)
    user = member.user
    mobile = require_mobile(raw_mobile)
    if mobile == user.mobile:
        raise ValidationFailed(
            _l("This is the number that does not work: enter the new one."), field="mobile"
        )
    _free_for(user, mobile)
    old = user.mobile
    _set_mobile(user, mobile)
    # Staff typed it: whoever holds the number proves it (R12).
    user.mobile_verified_at = None
    CORRECTION.move(row, CorrectionStatus.CORRECTED)
    row.resolved_by_id, row.resolved_at = actor.id, now
    db.session.flush()
    record_audit(
        actor,
        "care.mobile_corrected",
        subject=member,
        dealer_id=member.dealer_id,
        details={"from": mask_mobile(old), "to": mask_mobile(mobile)},
        now=now,
    )
    notify(
        member,
        "mobile_changed",
        lambda: (
            _l("Your club number is now %(mobile)s", mobile=mask_mobile(mobile)),
            _l(
                "Your dealer corrected the mobile number of your club account. Sign in with it; "
                "your password is unchanged, and we text you a code to confirm the number. If "
                "it is not yours, please tell your dealer."
            ),
        ),
        dedupe_key=f"mobile-corrected:{row.id}",
        now=now,
    )
    return row


def prove_new_mobile(user: User, mobile: str, *, now: datetime | None = None):
    """The owner proved ``mobile`` by SMS code (the caller checked it): it becomes the account's
    number, or confirms the one it has; the entry closes. Audited."""
    now = now or utcnow()
    member = user.member
    entry = open_correction_of(member.id) if member is not None else None
    if entry is None:
        raise NotFound(_l("Your number is not on our list to correct."))
    row = _locked_open(entry.id)
    old = user.mobile
    if mobile != old:
        _free_for(user, mobile)
        _set_mobile(user, mobile)
    user.mobile_verified_at = now
    CORRECTION.move(row, CorrectionStatus.PROVEN)
    row.resolved_by_id, row.resolved_at = user.id, now
    db.session.flush()
    record_audit(
        user,
        "care.mobile_proven",
        subject=member,
        dealer_id=member.dealer_id,
        details={"from": mask_mobile(old), "to": mask_mobile(mobile), "changed": mobile != old},
        now=now,
    )
    return row


def close_corrections_of(member: Member, *, now: datetime | None = None) -> None:
    """The owner deleted their account: nobody corrects their number any more, and the
    numbers the list kept of them are erased (PIPL)."""
    db.session.execute(
        update(ContactCorrection)
        .where(ContactCorrection.member_id == member.id)
        .values(old_mobile="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(ContactCorrection)
        .where(
            ContactCorrection.member_id == member.id,
            ContactCorrection.status.in_(
                [s.value for s in CORRECTION.sources(CorrectionStatus.CLOSED)]
            ),
        )
        .values(status=CorrectionStatus.CLOSED.value, resolved_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def should_ask(user) -> bool:
    """Whether an owner signing in should be asked for the number they use now."""
    member = getattr(user, "member", None)
    return (
        getattr(user, "role", None) == Role.MEMBER
        and member is not None
        and open_correction_of(member.id) is not None
    )
