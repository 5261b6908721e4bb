"""Staff pages of broadcasts: the history with the month's count, composing with a live count
of the owners, a broadcast's page (previews, audience, counts) and its moves. The care
manager (a dealer's admin) works on their dealer's; HQ on any dealer's, picked first."""

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from app.campaigns.broadcasts import services
from app.campaigns.broadcasts.forms import BroadcastForm
from app.campaigns.broadcasts.models import STATUS_LABELS, Broadcast, BroadcastStatus
from app.campaigns.calls.targeting import describe, model_choices
from app.campaigns.segments.services import SEGMENT_LABELS
from app.care.texts.kinds import BROADCAST_KINDS, label
from app.care.texts.placeholders import render
from app.care.texts.services import sample_values, text_in_force
from app.core.clock import local_date, utcnow
from app.core.errors import NotFound, ValidationFailed
from app.core.idempotency import once
from app.core.permissions import permission_required
from app.core.web import call_service, flash_service, page_arg
from app.extensions import db
from app.loyalty.services import list_tiers, tier_label
from app.members.models import Dealer
from app.members.scope import dealer_choices, scope_arg

bp = Blueprint("broadcasts", __name__, url_prefix="/broadcasts")

PER_PAGE = 20


@bp.app_template_global()
def broadcast_status_label(status: str) -> str:
    """A broadcast's status in the user's language, for templates."""
    return str(STATUS_LABELS[BroadcastStatus(status)])


def _get(broadcast_id: int) -> Broadcast:
    try:
        return services.load_broadcast(current_user, broadcast_id)
    except NotFound:
        abort(404)


def _form(dealer_id: int, formdata=None) -> BroadcastForm:
    if formdata is not None:
        form = BroadcastForm(formdata=formdata, meta={"csrf": False})
    else:
        form = BroadcastForm()
    form.set_choices(
        [(key.value, text) for key, text in SEGMENT_LABELS.items()],
        [(t.code, tier_label(t.code)) for t in list_tiers()],
        model_choices(dealer_id),
    )
    return form


def _count_text(count: services.AudienceCount) -> str:
    sent = ngettext(
        "%(num)d owner will receive it", "%(num)d owners will receive it", count.consenting
    )
    left = ngettext(
        "%(num)d more did not accept marketing messages",
        "%(num)d more did not accept marketing messages",
        count.without_consent,
    )
    return f"{sent} · {left}"


def _count(form: BroadcastForm, dealer_id: int) -> str:
    """The live count of the form's filters ('' with the reason on the form when refused)."""
    try:
        return _count_text(services.count_audience(dealer_id, form.filters(), local_date()))
    except ValidationFailed as err:
        form.show_error(err)
        return ""


@bp.get("")
@permission_required("campaigns.broadcasts")
def broadcast_list():
    """The dealer's broadcasts (HQ: every dealer's, or one), newest first, and this month's
    count of each dealer against the standard of at least three a month."""
    scope = scope_arg()
    page = db.paginate(
        services.visible_broadcasts(current_user, scope),
        page=page_arg(),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "campaigns/broadcast_list.html",
        page=page,
        dealers=dealer_choices(current_user),
        dealer_id=scope,
        month=services.month_summary(scope),
        standard=services.MONTHLY_STANDARD,
        label=label,
    )


def _compose(form: BroadcastForm, dealer: Dealer, broadcast: Broadcast | None = None):
    return render_template(
        "campaigns/broadcast_form.html",
        form=form,
        dealer=dealer,
        broadcast=broadcast,
        count_text=_count(form, dealer.id),
        kinds=[(k.value, label(k)) for k in BROADCAST_KINDS],
    )


def _new_form(dealer: Dealer) -> BroadcastForm:
    """A new broadcast's form: the care texts in force for the kind asked (``?kind=``)."""
    form = _form(dealer.id)
    kind = request.args.get("kind", "")
    kind = next((k for k in BROADCAST_KINDS if k.value == kind), BROADCAST_KINDS[0])
    texts = {}
    for code in services.LANGUAGES:
        text = text_in_force(dealer.id, kind, code)
        texts |= {f"title_{code}": text.title, f"body_{code}": text.body}
    form.start(kind.value, texts, utcnow())
    return form


@bp.route("/new", methods=["GET", "POST"])
@permission_required("campaigns.broadcasts")
@once("broadcasts.create")
def broadcast_new():
    """Compose a greeting or warning for the dealer's owners (HQ picks the dealer first)."""
    scope = scope_arg()
    if scope is None:
        return render_template(
            "campaigns/broadcast_dealer.html", dealers=dealer_choices(current_user)
        )
    dealer = db.session.get(Dealer, scope)
    form = _new_form(dealer) if request.method == "GET" else _form(dealer.id)
    if form.validate_on_submit() and request.form.get("action") == "save":
        ok, broadcast = call_service(
            form,
            services.create_broadcast,
            current_user,
            form.data_for_service(),
            dealer_id=dealer.id,
        )
        if ok:
            flash(_("Broadcast saved as a draft. Check it, then schedule it."), "success")
            return redirect(url_for(".broadcast_detail", broadcast_id=broadcast.id))
    return _compose(form, dealer)


@bp.route("/<int:broadcast_id>/edit", methods=["GET", "POST"])
@permission_required("campaigns.broadcasts")
def broadcast_edit(broadcast_id: int):
    """Change a draft."""
    broadcast = _get(broadcast_id)
    if broadcast.status != BroadcastStatus.DRAFT:
        flash(_("Only a draft can change: take it back to a draft first."), "error")
        return redirect(url_for(".broadcast_detail", broadcast_id=broadcast.id))
    form = _form(broadcast.dealer_id)
    if request.method == "GET":
        form.fill(services.data_of(broadcast))
    elif form.validate_on_submit() and request.form.get("action") == "save":
        ok, _saved = call_service(
            form, services.update_broadcast, current_user, broadcast.id, form.data_for_service()
        )
        if ok:
            flash(_("Draft saved."), "success")
            return redirect(url_for(".broadcast_detail", broadcast_id=broadcast.id))
    return _compose(form, broadcast.dealer, broadcast)


@bp.get("/count.json")
@permission_required("campaigns.broadcasts")
def broadcast_count():
    """The live count of the form's filters, as JSON (the form's script asks it)."""
    scope = scope_arg()
    if scope is None:
        abort(404)
    form = _form(scope, formdata=request.args)
    form.validate()
    try:
        count = services.count_audience(scope, form.filters(), local_date())
    except ValidationFailed as err:
        return jsonify({"error": err.message, "field": err.field}), 422
    return jsonify(
        {"owners": count.owners, "consenting": count.consenting, "text": _count_text(count)}
    )


def _previews(broadcast: Broadcast) -> dict[str, tuple[str, str]]:
    """The words in each language as a made-up owner reads them."""
    shown = {}
    for code in services.LANGUAGES:
        with force_locale(code):
            values = sample_values(broadcast.dealer.name)
            title, body = getattr(broadcast, f"title_{code}"), getattr(broadcast, f"body_{code}")
            shown[code] = render(title, values), render(body, values)
    return shown


@bp.get("/<int:broadcast_id>")
@permission_required("campaigns.broadcasts")
def broadcast_detail(broadcast_id: int):
    """A broadcast: its words, its owners (counted now while it waits), what it did."""
    broadcast = _get(broadcast_id)
    filters = services.data_of(broadcast).filters
    waiting = broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)
    return render_template(
        "campaigns/broadcast_detail.html",
        broadcast=broadcast,
        previews=_previews(broadcast),
        parts=describe(filters),
        count=services.count_now(broadcast) if waiting else None,
        label=label,
    )


def _move(service, broadcast_id: int, success: str):
    broadcast = _get(broadcast_id)
    flash_service(service, current_user, broadcast.id, success=success)
    return redirect(url_for(".broadcast_detail", broadcast_id=broadcast.id))


@bp.post("/<int:broadcast_id>/schedule")
@permission_required("campaigns.broadcasts")
def broadcast_schedule(broadcast_id: int):
    """Schedule a draft to go at its send time."""
    return _move(services.schedule_broadcast, broadcast_id, _("Scheduled."))


@bp.post("/<int:broadcast_id>/unschedule")
@permission_required("campaigns.broadcasts")
def broadcast_unschedule(broadcast_id: int):
    """Take a scheduled broadcast back to a draft, to change it."""
    return _move(services.unschedule_broadcast, broadcast_id, _("Back to a draft."))


@bp.post("/<int:broadcast_id>/cancel")
@permission_required("campaigns.broadcasts")
def broadcast_cancel(broadcast_id: int):
    """Cancel a draft or scheduled broadcast."""
    return _move(services.cancel_broadcast, broadcast_id, _("Cancelled."))
