"""The referral funnel report (R6, R10): the referrals domain's funnel per dealer, on the
report toolkit (app/core/reports.py)."""

from flask_babel import gettext as _

from app.auth.models import User
from app.core.reports import Column, Report, Table, chart, percent, row
from app.extensions import db
from app.members.models import Dealer
from app.members.scope import dealer_scope
from app.referrals import services as referrals
from app.referrals.presenters import funnel_label


def referral_funnel(actor: User, *, dealer_id: int | None = None) -> Report:
    """The referrals domain's funnel per dealer (for HQ: every dealer or the one picked)."""
    scope = dealer_scope(actor, dealer_id)
    counts = referrals.funnel(actor, by="dealer")
    if scope is not None:
        code = db.session.get(Dealer, scope).code
        counts = {k: v for k, v in counts.items() if k == code}
    steps = referrals.FUNNEL_STEPS
    rows = [row(code, *(counter[s] for s in steps)) for code, counter in sorted(counts.items())]
    total = {s: sum(counter[s] for counter in counts.values()) for s in steps}
    table = Table(
        "funnel",
        _("Referral funnel"),
        [Column(_("Dealer")), *(Column(funnel_label(s), True) for s in steps)],
        rows,
        row(_("Total"), *(total[s] for s in steps)) if len(rows) > 1 else None,
        _("No referral yet."),
    )
    registered = total["registered"]
    drawn = chart(
        _("From registration to reward"),
        [
            (
                funnel_label(s),
                f"{total[s]} · {percent(total[s], registered)}",
                [(f"insight-fill-{'lost' if s == 'fraud' else 'bar'}", "", total[s])],
            )
            for s in steps
        ],
    )
    return Report(scope, [table], [drawn], facts={"registered": registered})
