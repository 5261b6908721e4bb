"""Staff screens of member benefits: the counter (an owner's benefits, what is left this year,
recording and voiding a use) and HQ's catalogue (the draft, announcing it)."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.core.clock import local_date, utcnow
from app.core.dates import format_local_date
from app.core.errors import NotFound
from app.core.idempotency import once
from app.core.permissions import permission_required
from app.core.web import call_service, flash_service
from app.loyalty.figures import account_as_of_today
from app.loyalty.member_benefits import catalogue, uses
from app.loyalty.member_benefits.forms import (
    AnnounceForm,
    BenefitForm,
    DiscardForm,
    UseForm,
    VoidForm,
)
from app.members.services import get_member_for_staff

bp = Blueprint("benefits", __name__, url_prefix="/admin")


def _member_or_404(member_id: int):
    try:
        return get_member_for_staff(current_user, member_id)
    except NotFound:
        abort(404)


def _counter_page(member, failed: tuple[str, UseForm] | None = None):
    """The owner's benefits at the counter; ``failed`` is the benefit and form just refused."""
    account = account_as_of_today(member.id)
    mine = uses.owner_benefits(member, tier_code=account.tier_code)
    forms = {item.benefit.code: UseForm(prefix=item.benefit.code) for item in mine.items}
    if failed and failed[0] in forms:
        forms[failed[0]] = failed[1]
    elif failed:  # not a benefit of the owner's tier: no form of it to show the reason next to
        for message in failed[1].form_errors:
            flash(str(message), "error")
    for item in mine.items:
        forms[item.benefit.code].fit(item.benefit.kind)
    return render_template(
        "benefits/counter.html",
        member=member,
        account=account,
        mine=mine,
        forms=forms,
        failed=failed[0] if failed else None,
        history=uses.year_uses(member),
        void_form=VoidForm(),
        may_record=member.dealer_id == current_user.dealer_id,
    )


@bp.get("/members/<int:member_id>/benefits")
@permission_required("members.view")
def counter(member_id: int):
    """An owner's benefits: what is left this membership year, and this year's uses."""
    return _counter_page(_member_or_404(member_id))


@bp.post("/members/<int:member_id>/benefits/<code>/use")
@permission_required("benefits.record")
@once("benefits.use")
def record_use(member_id: int, code: str):
    """Record a use of the benefit ``code``: staff of the owner's own dealer only."""
    member = _member_or_404(member_id)
    if member.dealer_id != current_user.dealer_id:
        abort(404)
    form = UseForm(prefix=code)
    if form.validate_on_submit():
        ok, result = call_service(
            form,
            uses.record_use,
            current_user,
            member,
            form.claim(code),
            dealer_id=current_user.dealer_id,
        )
        if ok:
            _flash_recorded(result)
            return redirect(url_for("benefits.counter", member_id=member.id))
    return _counter_page(member, failed=(code, form))


def _flash_recorded(result) -> None:
    if not result.created:
        flash(
            _(
                "Already recorded on %(reference)s; nothing changed.",
                reference=result.use.reference,
            ),
            "info",
        )
        return
    name = result.use.benefit.label(str(get_locale()))
    flash(_("Recorded: %(benefit)s.", benefit=name), "success")


@bp.post("/benefit-uses/<int:use_id>/void")
@permission_required("benefits.void")
def void_use(use_id: int):
    """Take back a use recorded by mistake, with the reason (audited)."""
    try:
        use = uses.use_for_staff(current_user, use_id)
    except NotFound:
        abort(404)
    form = VoidForm()
    if not form.validate_on_submit():
        flash(_("Say why the use is taken back."), "error")
    else:
        flash_service(
            uses.void_use,
            current_user,
            use,
            reason=form.reason.data,
            success=_("Use taken back: it no longer counts this year."),
        )
    return redirect(url_for("benefits.counter", member_id=use.member_id))


# ------------------------------------------------------------------------ HQ's catalogue


@bp.get("/benefits")
@permission_required("benefits.manage")
def catalogue_page():
    """The version in force, those announced for later, the draft and its announcement."""
    return _catalogue_page(AnnounceForm())


def _catalogue_page(form: AnnounceForm):
    draft = catalogue.current_draft()
    return render_template(
        "benefits/catalogue.html",
        current=catalogue.catalogue_in_force(local_date(utcnow())),
        versions=catalogue.announced_catalogues(),
        draft=draft,
        draft_tiers=catalogue.by_tier(draft) if draft else {},
        by_tier=catalogue.by_tier,
        form=form,
        discard_form=DiscardForm(draft_id=draft.id if draft else ""),
        kind_label=catalogue.kind_label,
    )


@bp.post("/benefits/draft")
@permission_required("benefits.manage")
def start_draft():
    """Open a draft from the newest version."""
    flash_service(catalogue.start_draft, current_user, success=_("Draft opened."))
    return redirect(url_for("benefits.catalogue_page"))


@bp.route("/benefits/draft/new", methods=["GET", "POST"], defaults={"benefit_id": None})
@bp.route("/benefits/draft/<int:benefit_id>", methods=["GET", "POST"])
@permission_required("benefits.manage")
def benefit_form(benefit_id: int | None):
    """Add a benefit to the draft, or change one."""
    if catalogue.current_draft() is None:
        abort(404)
    benefit = _draft_benefit_or_404(benefit_id) if benefit_id else None
    form = BenefitForm(obj=benefit)
    if form.validate_on_submit():
        ok, _saved = call_service(
            form, catalogue.save_benefit, current_user, benefit_id, form.values()
        )
        if ok:
            flash(_("Saved in the draft."), "success")
            return redirect(url_for("benefits.catalogue_page") + "#draft")
    return render_template("benefits/benefit_form.html", form=form, benefit=benefit)


def _draft_benefit_or_404(benefit_id: int):
    try:
        return catalogue.draft_benefit(benefit_id)
    except NotFound:
        abort(404)


@bp.post("/benefits/draft/<int:benefit_id>/remove")
@permission_required("benefits.manage")
def remove_benefit(benefit_id: int):
    """Take a benefit out of the draft."""
    flash_service(
        catalogue.remove_benefit, current_user, benefit_id, success=_("Removed from the draft.")
    )
    return redirect(url_for("benefits.catalogue_page") + "#draft")


@bp.post("/benefits/draft/announce")
@permission_required("benefits.manage")
def announce():
    """Announce the draft for a day after the notice period."""
    form = AnnounceForm()
    if form.validate_on_submit():
        ok, version = call_service(
            form,
            catalogue.announce_draft,
            current_user,
            effective_from=form.effective_from.data,
            note=form.note.data,
        )
        if ok:
            when = format_local_date(version.effective_from)
            flash(_("Benefits announced: they apply from %(date)s.", date=when), "success")
            return redirect(url_for("benefits.catalogue_page"))
    return _catalogue_page(form)


@bp.post("/benefits/<int:catalogue_id>/withdraw")
@permission_required("benefits.manage")
def withdraw(catalogue_id: int):
    """Take an announced version back before its day: it is the draft again."""
    if flash_service(
        catalogue.withdraw_announcement,
        current_user,
        catalogue_id,
        success=_("The announcement is withdrawn: the version is your draft again."),
    ):
        return redirect(url_for("benefits.catalogue_page", _anchor="draft"))
    return redirect(url_for("benefits.catalogue_page"))


@bp.post("/benefits/draft/discard")
@permission_required("benefits.manage")
def discard():
    """Throw the draft away (the one the page showed)."""
    draft = catalogue.current_draft()
    if draft is None or DiscardForm().draft_id.data != str(draft.id):
        flash(_("This draft is no longer open; nothing changed."), "error")
    else:
        flash_service(catalogue.discard_draft, current_user, success=_("Draft discarded."))
    return redirect(url_for("benefits.catalogue_page"))
