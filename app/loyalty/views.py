"""The owner's points history."""

from flask import Blueprint, render_template
from flask_login import current_user

from app.core.permissions import member_required
from app.core.web import page_arg
from app.extensions import db
from app.loyalty import services
from app.loyalty.benefits import tier_benefits
from app.loyalty.ledger import account_with_expiring

bp = Blueprint("loyalty", __name__)


@bp.get("/me/points")
@member_required
def history():
    """Every points movement, newest first, each saying why."""
    member = current_user.member
    account, expiring = account_with_expiring(member.id)
    page = db.paginate(
        services.history_query(member),
        page=page_arg(),
        per_page=30,
        error_out=False,
    )
    return render_template(
        "loyalty/history.html",
        account=account,
        page=page,
        expiring=expiring,
        describe=services.describe_entry,
    )


@bp.get("/me/tier")
@member_required
def tier():
    """Why the member holds their tier and what keeps it or reaches the next."""
    from app.loyalty.rules import upcoming_rules
    from app.loyalty.tiers import tier_status

    member = current_user.member
    return render_template(
        "loyalty/tier.html",
        status=tier_status(services.account_for(member)),
        benefits=tier_benefits(member),
        upcoming=upcoming_rules(),
        tier_changes=services.upcoming_tier_changes(),
    )
