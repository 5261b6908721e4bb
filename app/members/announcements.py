"""Announced rule changes, told to every owner (R2: "Changes to earning rules, tier thresholds
or point value are versioned, dated and announced to members in advance").

HQ announces a dated version (earning rules, tier thresholds, referral terms, member benefits)
at least ``RULES_NOTICE_DAYS`` ahead; the owner's pages show it from that moment. The daily
loyalty job (``tell_members``) then puts one message in every active owner's inbox, in their
language, with HQ's note; if HQ withdraws the change after that, the next run says so, once.
A change withdrawn before anyone was told is never mentioned. Inbox only: no SMS or e-mail for
a notice owners can read on their tier page at any time.

Each message is written by one ``INSERT … SELECT`` per language (100,000 owners: one statement,
not 100,000 objects), under a dedupe key per announcement and owner, so a second run, or two
hosts running the job at once, write nothing twice.
"""

from datetime import date, datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, literal, or_, select

from app.auth.models import User
from app.core.clock import utcnow
from app.core.dates import format_local_date
from app.core.models import dialect_insert
from app.extensions import db
from app.members.models import Member, Notification, RuleAnnouncement
from app.members.outbox import DEFAULT_LOCALE

NOTICE_KIND = "rules_change"
# What changes, by the kind of version, as the owner's message names it.
TITLES = {
    "earning_rules": _l("New earning rules from %(date)s"),
    "tiers": _l("Tiers change on %(date)s"),
    "referral_terms": _l("Referral rewards change on %(date)s"),
    "benefits": _l("Member benefits change on %(date)s"),
}
WITHDRAWN_TITLE = _l("Withdrawn: the change announced for %(date)s")


def record(kind: str, version_id: int, effective_from: date, note: str, *, now: datetime):
    """A version was announced: tell the owners at the next daily run."""
    db.session.add(
        RuleAnnouncement(
            kind=kind,
            version_id=version_id,
            effective_from=effective_from,
            note=note,
            created_at=now,
        )
    )
    db.session.flush()


def withdrawn(kind: str, version_id: int, effective_from: date, *, now: datetime) -> None:
    """A version was withdrawn before its day: owners already told hear of it at the next
    run; an announcement nobody was told of yet is forgotten. (A benefit catalogue withdrawn
    goes back to a draft and may be announced again, for the same day too: a new record.)"""
    announcement = db.session.scalar(
        select(RuleAnnouncement)
        .where(
            RuleAnnouncement.kind == kind,
            RuleAnnouncement.version_id == version_id,
            RuleAnnouncement.effective_from == effective_from,
            RuleAnnouncement.withdrawn_at.is_(None),
        )
        .order_by(RuleAnnouncement.id.desc())
        .limit(1)
        .with_for_update()
    )
    if announcement is None:
        return
    if announcement.told_at is None:
        db.session.delete(announcement)
    else:
        announcement.withdrawn_at = now
    db.session.flush()


def _texts(announcement: RuleAnnouncement, withdrawal: bool) -> tuple[str, str]:
    """The message's title and body in the active language."""
    day = format_local_date(announcement.effective_from)
    if withdrawal:
        title = WITHDRAWN_TITLE % {"date": day}
        body = _l(
            "HQ has withdrawn this change: what applies today stays. The change was: %(note)s",
            note=announcement.note,
        )
        return str(title), str(body)
    title = TITLES.get(announcement.kind, TITLES["earning_rules"]) % {"date": day}
    body = _l(
        "%(note)s What applies until then does not change, and what you have already earned "
        "keeps the terms it was earned under. Me → My tier shows the details.",
        note=announcement.note,
    )
    return str(title), str(body)


def _language_condition(locale: str):
    """The owners who read ``locale``: their choice, or the club's for those who chose none."""
    languages = current_app.config["LANGUAGES"]
    if locale != DEFAULT_LOCALE:
        return User.locale == locale
    return or_(User.locale.is_(None), User.locale.not_in([c for c in languages if c != locale]))


def _write(announcement: RuleAnnouncement, *, withdrawal: bool, now: datetime) -> int:
    """One message to every active owner, in their language; returns how many were written."""
    prefix = f"{NOTICE_KIND}:{announcement.id}:{'withdrawn' if withdrawal else 'told'}:"
    written = 0
    for locale in current_app.config["LANGUAGES"]:
        with force_locale(locale):
            title, body = _texts(announcement, withdrawal)
        owners = (
            select(
                Member.id,
                literal(NOTICE_KIND),
                literal(title),
                literal(body),
                literal(prefix) + cast(Member.id, String),
                literal(now, Notification.created_at.type),
            )
            .join(User, User.id == Member.user_id)
            .where(User.active, _language_condition(locale))
        )
        table = Notification.__table__
        statement = (
            dialect_insert(table)
            .from_select(["member_id", "kind", "title", "body", "dedupe_key", "created_at"], owners)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(table.c.id)
        )
        written += len(db.session.execute(statement).all())
    return written


def tell_members(*, now: datetime | None = None) -> tuple[int, int]:
    """The daily job: each withdrawal of an announcement owners were told of, then each
    announcement not yet told, to every active owner's inbox. Commits each; returns (messages,
    withdrawal messages)."""
    now = now or utcnow()
    told = withdrawn_told = 0
    # Withdrawals first: an owner reads that a change is off before its correction.
    to_retract = RuleAnnouncement.withdrawn_at.is_not(None) & RuleAnnouncement.told_at.is_not(None)
    for announcement in _each_locked(to_retract & RuleAnnouncement.withdrawn_told_at.is_(None)):
        if announcement.withdrawn_told_at is None:  # as read under the lock (another host)
            withdrawn_told += _write(announcement, withdrawal=True, now=now)
            announcement.withdrawn_told_at = now
        db.session.commit()
    for announcement in _each_locked(RuleAnnouncement.told_at.is_(None)):
        if announcement.told_at is None:
            told += _write(announcement, withdrawal=False, now=now)
            announcement.told_at = now
        db.session.commit()
    return told, withdrawn_told


def _each_locked(condition):
    """Each announcement matching ``condition``, oldest first, its row locked and read anew
    (the caller commits after each)."""
    ids = db.session.scalars(
        select(RuleAnnouncement.id).where(condition).order_by(RuleAnnouncement.id)
    ).all()
    for announcement_id in ids:
        announcement = db.session.scalar(
            select(RuleAnnouncement)
            .where(RuleAnnouncement.id == announcement_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if announcement is not None:
            yield announcement
