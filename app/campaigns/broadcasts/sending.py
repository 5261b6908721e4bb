"""Sending due broadcasts (``flask care send-broadcasts``; run by ``flask care run-daily`` and
``flask care send``), each owner once however often it runs.

A due scheduled broadcast is taken by one host: a conditional UPDATE moves it to ``sending``
(``BROADCAST.sources(SENDING)``). Its audience is then gone through in member id order, a
batch per transaction: the broadcast's row is locked, the next owners after ``last_member_id``
get their message in their language (the outbox: inbox at once, e-mail and SMS after the quiet
hours, each under the key ``broadcast:<id>:m<member>``), the counts and the position move on,
commit. A host that stops half-way leaves a ``sending`` broadcast that the next run (on any
host) carries on from its position; two hosts at once take the batches in turn on the row
lock. The last batch moves it to ``sent``.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app.campaigns.broadcasts.models import BROADCAST, Broadcast, BroadcastStatus
from app.campaigns.broadcasts.services import audience
from app.campaigns.calls.targeting import TargetFilters
from app.care.texts.placeholders import render
from app.core.clock import local_date, utcnow
from app.extensions import db
from app.members.models import Dealer, Member
from app.members.outbox import Message, load_recipients, queue_messages, recipient_channels

log = logging.getLogger(__name__)

BATCH_SIZE = 500
_S = BroadcastStatus


@dataclass
class BroadcastReport:
    """What one run did: broadcasts finished, owners sent to, owners left out (no consent)."""

    sent: int = 0
    queued: int = 0
    skipped_consent: int = 0


def message_key(broadcast_id: int, member_id: int) -> str:
    """The outbox key of a broadcast's message to one owner (once per owner)."""
    return f"broadcast:{broadcast_id}:m{member_id}"


def _start_due(now: datetime) -> None:
    """Move the due scheduled broadcasts to sending, each by one host (commits)."""
    due = db.session.scalars(
        select(Broadcast.id)
        .where(Broadcast.status == _S.SCHEDULED, Broadcast.send_at <= now)
        .order_by(Broadcast.send_at, Broadcast.id)
    ).all()
    for broadcast_id in due:
        db.session.execute(
            update(Broadcast)
            .where(
                Broadcast.id == broadcast_id,
                Broadcast.status.in_(BROADCAST.sources(_S.SENDING)),
                Broadcast.send_at <= now,
            )
            .values(status=_S.SENDING, started_at=now)
        )
        db.session.commit()


def _messages(broadcast: Broadcast, member_ids: list[int]) -> list[Message]:
    dealer = db.session.get(Dealer, broadcast.dealer_id)
    messages = []
    for recipient in load_recipients(member_ids).values():
        english = recipient.locale == "en"
        title = broadcast.title_en if english else broadcast.title_zh
        body = broadcast.body_en if english else broadcast.body_zh
        values = {"name": recipient.name, "dealer": dealer.name}
        messages.append(
            Message(
                recipient,
                broadcast.kind,
                render(title, values),
                render(body, values),
                message_key(broadcast.id, recipient.id),
                tuple(recipient_channels(recipient)),
                marketing=True,
            )
        )
    return messages


def send_batch(broadcast_id: int, report: BroadcastReport, *, now: datetime) -> bool:
    """Send the broadcast to its next batch of owners (the caller commits); False when it is
    finished (or not sending)."""
    broadcast = db.session.scalars(
        select(Broadcast)
        .where(Broadcast.id == broadcast_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if broadcast.status != _S.SENDING:
        return False
    filters = TargetFilters.from_json(broadcast.filters)
    rows = db.session.execute(
        audience(broadcast.dealer_id, filters, local_date(now))
        .where(Member.id > broadcast.last_member_id)
        .limit(BATCH_SIZE)
    ).all()
    if not rows:
        BROADCAST.move(broadcast, _S.SENT)
        broadcast.sent_at = now
        report.sent += 1
        return False
    consenting = [member_id for member_id, opted_in in rows if opted_in]
    queue_messages(_messages(broadcast, consenting), now=now)
    broadcast.last_member_id = rows[-1][0]
    broadcast.audience += len(rows)
    broadcast.queued += len(consenting)
    broadcast.skipped_consent += len(rows) - len(consenting)
    report.queued += len(consenting)
    report.skipped_consent += len(rows) - len(consenting)
    return True


def send_due_broadcasts(*, now: datetime | None = None) -> BroadcastReport:
    """Start the due broadcasts and send every one being sent, a batch per transaction
    (commits). Safe to rerun and to run on two hosts at once."""
    now = now or utcnow()
    report = BroadcastReport()
    _start_due(now)
    sending = db.session.scalars(
        select(Broadcast.id).where(Broadcast.status == _S.SENDING).order_by(Broadcast.id)
    ).all()
    db.session.commit()
    for broadcast_id in sending:
        try:
            while send_batch(broadcast_id, report, now=now):
                db.session.commit()
            db.session.commit()
        except Exception:
            db.session.rollback()
            # Carried on from its position by the next run; the others still go.
            log.exception("Broadcast %s failed", broadcast_id)
    return report
