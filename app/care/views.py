"""The member's in-app inbox."""

from flask import Blueprint, render_template, request
from flask_login import current_user

from app.care import services
from app.core.permissions import member_required
from app.extensions import db

bp = Blueprint("care", __name__)


@bp.get("/me/inbox")
@member_required
def inbox():
    """Messages from the club, newest first; opening the inbox marks them read."""
    member = current_user.member
    page = db.paginate(
        services.inbox_query(member),
        page=request.args.get("page", 1, type=int),
        per_page=20,
        error_out=False,
    )
    unread = {m.id for m in page.items if m.read_at is None}
    services.mark_all_read(member)
    return render_template("care/inbox.html", page=page, unread=unread)
