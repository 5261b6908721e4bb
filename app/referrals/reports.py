"""The referral funnel report (R6, R10): the referrals domain's funnel per dealer, and for
those who may see it the staff flagged for fraudulent referrals, on the report toolkit
(app/core/reports.py)."""

from flask_babel import gettext as _

from app.auth.models import User
from app.core.clock import local_date
from app.core.permissions import ROLE_LABELS, has_permission
from app.core.reports import Column, Report, Table, chart, percent, row
from app.extensions import db
from app.members.models import Dealer
from app.members.scope import dealer_scope
from app.referrals import services as referrals
from app.referrals import staff
from app.referrals.presenters import funnel_label, handled_label, offence_label


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
    tables = [table]
    if has_permission(actor, "referrals.funnel"):
        tables.append(_flags_table(actor, scope))
    return Report(scope, tables, [drawn], facts={"registered": registered})


def _flags_table(actor: User, scope: int | None) -> Table:
    """Each flag of a staff member who handled a fraudulent referral: first or repeat."""
    rows = [
        row(
            user.name,
            str(ROLE_LABELS.get(user.role, user.role)),
            user.dealer.code if user.dealer else "—",
            f"R{flag.referral_id}",
            handled_label(flag.handled) or "—",
            local_date(flag.created_at).isoformat(),
            offence_label(flag.offence),
        )
        for flag, user in staff.staff_flags(actor, dealer_id=scope)
    ]
    return Table(
        "flags",
        _("Staff flagged for fraudulent referrals"),
        [
            Column(_("Staff member")),
            Column(_("Role")),
            Column(_("Dealer")),
            Column(_("Referral")),
            Column(_("Handled")),
            Column(_("Flagged on")),
            Column(_("Offence")),
        ],
        rows,
        None,
        _("No staff member is flagged."),
    )
