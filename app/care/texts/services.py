"""Care texts: the text in force, saving a version (placeholders checked), handing a text back,
restoring an old version, previews, and the scripts a call task shows.

Which text is in force for a dealer, a kind and a language: the dealer's newest version, else
the group's newest (HQ's), else the built-in text (app/care/texts/defaults.py); a newest
version that ``inherits`` hands the text to the next of these. Nothing changes for a dealer
until a manager saves a text.

Saving is once per change: a text equal to the one in force saves nothing (a double submit
saves one version), and a save edited from an older version than the newest is refused (two
managers editing at once: the second reloads and sees the first one's text).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.care.settings import setting
from app.care.texts.defaults import builtin
from app.care.texts.kinds import (
    LANGUAGES,
    PLACEHOLDERS,
    SCRIPT_KINDS,
    TASK_SCRIPTS,
    TextKind,
    has_title,
)
from app.care.texts.kinds import label as kind_label
from app.care.texts.models import GROUP_SCOPE, TextVersion, scope_of
from app.care.texts.placeholders import check_text, render
from app.care.texts.reminders import car_text, language
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.permissions import can_manage_dealer_row
from app.extensions import db
from app.members.models import Dealer
from app.members.scope import sees_dealer

MAX_TITLE = 200
MAX_MESSAGE = 2000
MAX_SCRIPT = 4000

BUILTIN, GROUP, DEALER = "builtin", "group", "dealer"


@dataclass(frozen=True)
class CareText:
    """A text in force: its words and where they come from (``source``: the dealer's own
    version, the group's, or the built-in text, version 0)."""

    kind: TextKind
    language: str
    title: str
    body: str
    source: str
    version: int


def _newest(scope: str, kind: str, language_code: str) -> TextVersion | None:
    return db.session.scalar(
        select(TextVersion)
        .where(
            TextVersion.scope == scope,
            TextVersion.kind == kind,
            TextVersion.language == language_code,
        )
        .order_by(TextVersion.version.desc())
        .limit(1)
    )


def text_in_force(dealer_id: int | None, kind: TextKind, language_code: str) -> CareText:
    """The text a dealer (None: the group) uses for ``kind`` in ``language_code``."""
    scopes = [(DEALER, scope_of(dealer_id))] if dealer_id is not None else []
    for source, scope in [*scopes, (GROUP, GROUP_SCOPE)]:
        newest = _newest(scope, kind, language_code)
        if newest is not None and not newest.inherits:
            return CareText(kind, language_code, newest.title, newest.body, source, newest.version)
    title, body = builtin(kind, language_code)
    return CareText(kind, language_code, title, body, BUILTIN, 0)


def own_version(dealer_id: int | None, kind: TextKind, language_code: str) -> int:
    """The newest version number of the scope's own text (0: none saved)."""
    newest = _newest(scope_of(dealer_id), kind, language_code)
    return newest.version if newest is not None else 0


def _newest_rows(scopes: Iterable[str] | None = None):
    newest = select(func.max(TextVersion.id)).group_by(
        TextVersion.scope, TextVersion.kind, TextVersion.language
    )
    if scopes is not None:
        newest = newest.where(TextVersion.scope.in_(list(scopes)))
    return db.session.scalars(select(TextVersion).where(TextVersion.id.in_(newest)))


def sources_in_force(dealer_id: int | None) -> dict[tuple[str, str], tuple[str, int]]:
    """(source, version) of each text a dealer (None: the group) uses, by (kind, language):
    the list page's summary, in one query."""
    order = [(GROUP, GROUP_SCOPE)]
    if dealer_id is not None:
        order.insert(0, (DEALER, scope_of(dealer_id)))
    rows = {(r.scope, r.kind, r.language): r for r in _newest_rows(s for _, s in order)}
    found = {}
    for kind in TextKind:
        for code in LANGUAGES:
            found[(kind.value, code)] = (BUILTIN, 0)
            for source, scope in order:
                row = rows.get((scope, kind.value, code))
                if row is not None and not row.inherits:
                    found[(kind.value, code)] = (source, row.version)
                    break
    return found


class TextBook:
    """Every text in force that a manager wrote, loaded once for a run of the daily job or a
    broadcast (a dict lookup per message; nothing at all while nobody edited a text)."""

    def __init__(self, rows: Iterable[TextVersion]) -> None:
        self.rows = {(r.scope, r.kind, r.language): r for r in rows}
        self._dealers: dict[int, str] | None = None

    @classmethod
    def load(cls) -> "TextBook":
        """The newest version of every text."""
        return cls(_newest_rows())

    def find(self, kind: str, dealer_id: int | None, language_code: str):
        """(title, body) a manager wrote for the dealer's ``kind`` in ``language_code``; None:
        the built-in text."""
        for scope in (scope_of(dealer_id), GROUP_SCOPE):
            row = self.rows.get((scope, str(kind), language_code))
            if row is not None and not row.inherits:
                return row.title, row.body
        return None

    def dealer_name(self, dealer_id: int) -> str:
        """The dealer's name, for ``{dealer}`` (the dealers are read once)."""
        if self._dealers is None:
            self._dealers = dict(db.session.execute(select(Dealer.id, Dealer.name)).all())
        return self._dealers.get(dealer_id, "")


# ---------------------------------------------------------------------------------- saving


def may_edit(actor, dealer_id: int | None) -> bool:
    """Whether ``actor`` may change the texts of ``dealer_id`` (None: the group's, HQ's)."""
    return can_manage_dealer_row(actor, dealer_id)


def _check_edit(actor, dealer_id: int | None) -> None:
    if not may_edit(actor, dealer_id):
        raise Forbidden(_("Only the dealer's care manager or HQ may change these texts."))


def check_words(kind: TextKind, title: str, body: str) -> tuple[str, str]:
    """The title and body, trimmed, or ValidationFailed naming the field: a message needs both
    (a one-line title), a script a body; each within its length and only with the kind's
    placeholders."""
    title, body = (title or "").strip(), (body or "").strip()
    allowed = PLACEHOLDERS[kind]
    if has_title(kind):
        if not title:
            raise ValidationFailed(_("Enter a title."), field="title")
        if "\n" in title or "\r" in title:
            raise ValidationFailed(_("A title is one line."), field="title")
        if len(title) > MAX_TITLE:
            raise ValidationFailed(
                _("A title has at most %(max)s characters.", max=MAX_TITLE), field="title"
            )
        check_text(title, allowed, field="title")
    else:
        title = ""
    limit = MAX_SCRIPT if kind in SCRIPT_KINDS else MAX_MESSAGE
    if not body:
        raise ValidationFailed(_("Enter the text."), field="body")
    if len(body) > limit:
        raise ValidationFailed(
            _("The text has at most %(max)s characters.", max=limit), field="body"
        )
    check_text(body, allowed, field="body")
    return title, body


def _add_version(actor, dealer_id, kind, language_code, base_version, now, **words):
    """Insert the next version after ``base_version``; Conflict when another was saved."""
    if own_version(dealer_id, kind, language_code) != base_version:
        raise Conflict(
            _("Someone saved a newer version of this text meanwhile: reload it, then edit.")
        )
    version = TextVersion(
        scope=scope_of(dealer_id),
        dealer_id=dealer_id,
        kind=str(kind),
        language=language_code,
        version=base_version + 1,
        created_by_id=actor.id,
        created_at=now,
        **words,
    )
    try:
        with db.session.begin_nested():
            db.session.add(version)
    except IntegrityError:
        raise Conflict(
            _("Someone saved a newer version of this text meanwhile: reload it, then edit.")
        ) from None
    record_audit(
        actor,
        "care.text_saved",
        subject=version,
        dealer_id=dealer_id,
        details={
            "kind": str(kind),
            "language": language_code,
            "version": version.version,
            "inherits": version.inherits,
        },
        now=now,
    )
    return version


def save_text(
    actor,
    dealer_id: int | None,
    kind: TextKind,
    language_code: str,
    *,
    title: str,
    body: str,
    base_version: int,
    now: datetime | None = None,
) -> TextVersion | None:
    """Save the text as the scope's next version (edited from ``base_version``); None when it
    is the text already in force (nothing saved)."""
    _check_edit(actor, dealer_id)
    title, body = check_words(kind, title, body)
    current = text_in_force(dealer_id, kind, language_code)
    if (current.title, current.body) == (title, body):
        return None
    return _add_version(
        actor,
        dealer_id,
        kind,
        language_code,
        base_version,
        now or utcnow(),
        title=title,
        body=body,
        inherits=False,
    )


def inherit_text(
    actor,
    dealer_id: int | None,
    kind: TextKind,
    language_code: str,
    *,
    now: datetime | None = None,
) -> TextVersion | None:
    """Hand the text back: the dealer's follows the group's again, the group's the built-in
    text. None when it already does."""
    _check_edit(actor, dealer_id)
    newest = _newest(scope_of(dealer_id), kind, language_code)
    if newest is None or newest.inherits:
        return None
    return _add_version(
        actor, dealer_id, kind, language_code, newest.version, now or utcnow(), inherits=True
    )


def get_version(actor, version_id: int) -> TextVersion:
    """A version the actor may see (their dealer's or the group's; HQ every one)."""
    version = db.session.get(TextVersion, version_id)
    if version is None or (
        version.dealer_id is not None and not sees_dealer(actor, version.dealer_id)
    ):
        raise NotFound(_("No such version."))
    return version


def restore_version(actor, version_id: int, *, now: datetime | None = None):
    """Save an older version's words as the newest version of its text (None: they are the
    words in force already)."""
    old = get_version(actor, version_id)
    if old.inherits:
        raise ValidationFailed(_("This version has no words of its own to restore."))
    kind = TextKind(old.kind)
    return save_text(
        actor,
        old.dealer_id,
        kind,
        old.language,
        title=old.title,
        body=old.body,
        base_version=own_version(old.dealer_id, kind, old.language),
        now=now,
    )


def history(dealer_id: int | None, kind: TextKind, language_code: str):
    """The scope's versions of the text, newest first (a query to paginate)."""
    return (
        select(TextVersion)
        .where(
            TextVersion.scope == scope_of(dealer_id),
            TextVersion.kind == str(kind),
            TextVersion.language == language_code,
        )
        .order_by(TextVersion.version.desc())
    )


# --------------------------------------------------------------------------------- reading


def sample_values(dealer_name: str, agent_name: str = "") -> dict[str, object]:
    """Placeholder values of a made-up owner, for previews (in the current language)."""
    t = language()
    today = local_date()
    return {
        "name": _("Wang Xiaoming"),
        "dealer": dealer_name or _("your dealer"),
        "car": "Sagitar 粤B12345",
        "model": "Sagitar",
        "plate": "粤B12345",
        "due_date": t.date(today + timedelta(days=14)),
        "delivered_date": t.date(today - timedelta(days=60)),
        "last_date": t.date(today - timedelta(days=170)),
        "months": setting("MAINTENANCE_MONTHS"),
        "km": f"{setting('MAINTENANCE_KM'):,}",
        "years": 2,
        "times": "2",
        "points": 500,
        "agent": agent_name or _("Li Na"),
    }


def preview(
    kind: TextKind, language_code: str, title: str, body: str, *, dealer_name: str, agent=""
) -> tuple[str, str]:
    """The words as a made-up owner would read them, in ``language_code`` (ValidationFailed
    for a bad placeholder, as a save would say)."""
    title, body = check_words(kind, title, body)
    with force_locale(language_code):
        values = sample_values(dealer_name, agent)
        return render(title, values), render(body, values)


@dataclass(frozen=True)
class Script:
    """A call script as the agent reads it: its name and its words for this owner."""

    label: str
    text: str


def task_scripts(task, member, vehicle, agent, due_on=None) -> list[Script]:
    """The scripts of a care call task's kind, in the owner's language, filled in for the
    owner, the car and the calling agent."""
    kinds = TASK_SCRIPTS.get(task.kind, ())
    if not kinds:
        return []
    code = member.user.locale or "zh"
    code = code if code in LANGUAGES else "zh"
    dealer = db.session.get(Dealer, task.dealer_id)
    labels = [kind_label(kind) for kind in kinds]  # in the agent's language
    with force_locale(code):
        values = {
            "name": member.name,
            "dealer": dealer.name if dealer else "",
            "agent": agent.name,
            "car": car_text(vehicle),
            "model": vehicle.model if vehicle else "",
            "plate": (vehicle.plate or "") if vehicle else "",
            "due_date": language().date(due_on) if due_on else "",
        }
        texts = [text_in_force(task.dealer_id, kind, code).body for kind in kinds]
        return [
            Script(name, render(text, values)) for name, text in zip(labels, texts, strict=True)
        ]
