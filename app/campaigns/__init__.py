"""Campaigns on the owner base (R11), in rooms: segments/ (C3), grading/ (ABC), calls/
(campaigns, targeting, call lists), results/ (results, incentives, callbacks) and broadcasts/
(greetings and weather warnings to chosen owners).

Campaigns answer care's signal (app/core/signals.py): the consultant of an owner's ABC grading
is responsible for the owner's birthday call.
"""

from app.campaigns.broadcasts import models as _broadcast_models  # noqa: F401 - its table
from app.core.signals import care_assignees


@care_assignees.connect
def _responsible_consultants(kind, *, member_ids, **_):
    from app.campaigns.grading.services import responsible_consultants

    return responsible_consultants(member_ids)
