"""The invitation form: the campaign target filters choosing the owners to invite."""

from app.campaigns.calls.forms import TargetFilterForm


class InviteForm(TargetFilterForm):
    """ "Count" shows whom the filters would invite, "Invite" invites them; the rules (who is
    left out, at most how many) are app/events/invitations.py's."""
