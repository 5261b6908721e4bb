"""Events: owners browse, sign up, hold tickets; staff organise (R7).

The gate (check-in) and the trip day / lecture screens register their routes on this
blueprint from their own modules, imported at the end.
"""

from flask import Blueprint

bp = Blueprint("events", __name__)


from app.events import checkin_views, tripday_views  # noqa: E402, F401
