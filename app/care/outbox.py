"""Forwarding only: the outbox moved to app/members/outbox.py (issue 17) beside the inbox, so
that every domain can tell an owner something without reaching up into care. app/campaigns
still imports it from here until its rooms slice lands; then this module goes."""

from app.members.outbox import (  # noqa: F401
    OUTBOX,
    Channel,
    Message,
    OutboxStatus,
    insert_rows,
    load_recipients,
    queue_messages,
    recipient_channels,
    send_due,
)
