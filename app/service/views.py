"""Service appointments: owners book a maintenance slot; advisors manage slots and the day."""

from flask import Blueprint

bp = Blueprint("service", __name__)
