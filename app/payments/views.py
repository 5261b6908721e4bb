"""Paying for an event: checkout, the return page, the Stripe webhook."""

from flask import Blueprint

bp = Blueprint("payments", __name__)
