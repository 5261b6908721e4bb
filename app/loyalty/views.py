"""The owner's points history."""

from flask import Blueprint, g, render_template
from flask_login import current_user

from app.core.permissions import member_required
from app.core.web import page_arg
from app.loyalty import services
from app.loyalty.benefits import tier_benefits
from app.loyalty.history import points_history

bp = Blueprint("loyalty", __name__)


@bp.get("/me/points")
@member_required
def history():
    """Every points movement, newest first, each saying why."""
    history = points_history(current_user.member.id, page=page_arg())
    # The layout's unread badge came with the page's figures.
    g.unread_messages = history.unread
    return render_template(
        "loyalty/history.html",
        balance=history.balance,
        page=history.page,
        expiring=history.expiring,
        describe=services.entry_describer(),
    )


@bp.get("/me/tier")
@member_required
def tier():
    """Why the member holds their tier and what keeps it or reaches the next."""
    from app.loyalty.member_benefits.catalogue import by_tier, upcoming_catalogues
    from app.loyalty.member_benefits.uses import owner_benefits
    from app.loyalty.rules import upcoming_rules
    from app.loyalty.tiers import tier_status

    member = current_user.member
    account = services.account_for(member)
    return render_template(
        "loyalty/tier.html",
        status=tier_status(account),
        benefits=tier_benefits(member),
        mine=owner_benefits(member, tier_code=account.tier_code),
        benefit_changes=[(c, by_tier(c)[account.tier_code]) for c in upcoming_catalogues()],
        upcoming=upcoming_rules(),
        tier_changes=services.upcoming_tier_changes(),
    )
