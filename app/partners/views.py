"""Partner perks: admin screens, the owners' perk list and claims, the partner's check page."""

from flask import Blueprint

bp = Blueprint("partners", __name__)
