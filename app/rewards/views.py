"""Owners' reward catalog and vouchers; staff catalog admin and the voucher counter."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import DomainError, Forbidden, NotFound
from app.core.idempotency import once
from app.core.images import accepts_upload
from app.core.permissions import member_required, permission_required
from app.core.security import uses_camera
from app.core.web import call_service, try_service
from app.extensions import db
from app.loyalty.figures import account_as_of_today
from app.loyalty.forms import tier_choices
from app.members.forms import fill_dealer_choices
from app.members.services import list_dealers
from app.rewards import services
from app.rewards.forms import RewardForm, VoucherRedeemForm
from app.rewards.models import VoucherStatus

bp = Blueprint("rewards", __name__)


@bp.app_template_global()
def reward_kind_label(kind) -> str:
    """The reward kind's name, for templates."""
    return services.kind_label(kind)


@bp.app_template_filter()
def voucher_code(code: str) -> str:
    """ABCDE-FGHJK."""
    return services.format_voucher_code(code)


# ---------------------------------------------------------------------------------- owners


@bp.get("/rewards")
@member_required
def catalog():
    """What the owner can spend points on."""
    member = current_user.member
    return render_template(
        "rewards/catalog.html",
        account=account_as_of_today(member.id),
        items=services.catalog_for(member),
    )


@bp.post("/rewards/<int:reward_id>/redeem")
@member_required
@once("rewards.redeem")
def redeem(reward_id: int):
    """Spend points on a reward and show the new voucher."""
    ok, voucher = try_service(services.redeem_reward, current_user.member, reward_id)
    if not ok:
        return redirect(url_for("rewards.catalog"))
    flash(_("Your voucher is ready. Show it at the counter."), "success")
    return redirect(url_for("rewards.voucher", voucher_id=voucher.id))


@bp.get("/me/vouchers")
@member_required
def vouchers():
    """The owner's vouchers: usable, used, expired or cancelled."""
    return render_template(
        "rewards/vouchers.html", lists=services.vouchers_for(current_user.member)
    )


def _own_voucher_or_404(voucher_id: int):
    try:
        return services.get_own_voucher(current_user.member, voucher_id)
    except NotFound:
        abort(404)


@bp.get("/me/vouchers/<int:voucher_id>")
@member_required
def voucher(voucher_id: int):
    """One voucher: its code and QR to show at the counter."""
    found = _own_voucher_or_404(voucher_id)
    usable = services.is_usable(found)
    return render_template(
        "rewards/voucher.html",
        voucher=found,
        dealer=services.voucher_dealer(found),
        usable=usable,
        expired=found.status == VoucherStatus.ISSUED and not usable,
        cancellable=services.is_cancellable(found),
        qr=services.voucher_qr(found, title=_("Voucher QR code")) if usable else None,
    )


@bp.post("/me/vouchers/<int:voucher_id>/cancel")
@member_required
def cancel_voucher(voucher_id: int):
    """Cancel an unused voucher; its points return."""
    found = _own_voucher_or_404(voucher_id)
    try:
        cancelled = services.cancel_voucher(current_user.member, found.id)
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
    else:
        flash(
            _(
                "Voucher cancelled: %(points)s points are back in your account.",
                points=cancelled.cost_points,
            ),
            "success",
        )
    return redirect(url_for("rewards.voucher", voucher_id=voucher_id))


# ----------------------------------------------------------------------------------- staff


@bp.get("/admin/rewards")
@permission_required("rewards.manage")
def admin_list():
    """The catalog as staff manage it."""
    return render_template(
        "rewards/admin_list.html",
        rewards=services.rewards_for_staff(current_user),
        can_edit=lambda reward: services.can_edit_reward(current_user, reward),
        dealers={d.id: d for d in list_dealers()},
    )


def _reward_form(reward) -> RewardForm:
    form = RewardForm(obj=reward)
    form.min_tier_code.choices = tier_choices(_("None: every member"))
    fill_dealer_choices(
        form.dealer_id, current_user, new=reward is None, submitted=form.is_submitted()
    )
    if reward is not None and not form.is_submitted():
        form.stock_seen.data = reward.stock
    return form


def _reward_or_abort(reward_id: int):
    """A reward the staff member may change: 404 when not theirs to see, 403 when only seen."""
    try:
        return services.get_reward_for_staff(current_user, reward_id)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


@bp.route("/admin/rewards/new", methods=["GET", "POST"], defaults={"reward_id": None})
@bp.route("/admin/rewards/<int:reward_id>", methods=["GET", "POST"])
@accepts_upload
@permission_required("rewards.manage")
def admin_edit(reward_id: int | None):
    """Add a reward or change one."""
    reward = _reward_or_abort(reward_id) if reward_id is not None else None
    form = _reward_form(reward)
    if form.validate_on_submit():
        ok, _saved = call_service(
            form, services.save_reward, current_user, reward, **form.to_reward()
        )
        if ok:
            flash(_("Reward saved."), "success")
            return redirect(url_for("rewards.admin_list"))
    return render_template("rewards/admin_form.html", form=form, reward=reward)


@bp.route("/admin/vouchers/redeem", methods=["GET", "POST"])
@uses_camera
@permission_required("vouchers.redeem")
def admin_redeem():
    """Redeem a voucher at the counter: paste the scanned QR text or type the code."""
    form = VoucherRedeemForm()
    redeemed = refusal = None
    if form.validate_on_submit():
        try:
            redeemed = services.redeem_voucher(
                current_user, form.code.data, dealer_id=current_user.dealer_id
            )
        except services.VoucherRefused as err:
            # The refusal's audit entry is durable: it is written whatever happens next.
            refusal = err
        form.code.data = ""
    return render_template(
        "rewards/admin_redeem.html", form=form, redeemed=redeemed, refusal=refusal
    )
