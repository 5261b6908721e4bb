"""The prize draw at an event: staff define prizes and draw them on the phone; the live page
(on the screen at the event) shows the winners and updates itself from a small JSON answer."""

from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.core.clock import utcnow
from app.core.errors import NotFound
from app.core.idempotency import once
from app.core.permissions import permission_required
from app.core.web import call_service, try_service
from app.events import draws, tripday
from app.events.draw_forms import DrawForm, PrizeForm, RedrawForm
from app.events.views import bp


@bp.app_template_global()
def prizes_won(registration):
    """The prizes an owner won with this ticket."""
    return draws.prizes_won(registration)


def _or_404(loader, *args):
    try:
        return loader(current_user, *args)
    except NotFound:
        abort(404)


def _draw_forms(rows, bound=None):
    forms = {}
    for row in rows:
        form = DrawForm(formdata=None, prefix=f"p{row.prize.id}")
        form.count.data, form.round.data = max(row.remaining, 1), row.next_round
        forms[row.prize.id] = form
    if bound is not None:
        forms[bound[0]] = bound[1]
    return forms


def _draw_page(event, prize_form=None, bound=None, status=200):
    rows = draws.prize_rows(event)
    opens, closes = draws.draw_window(event)
    return render_template(
        "events/draw/draw.html",
        event=event,
        rows=rows,
        forms=_draw_forms(rows, bound),
        rounds={row.prize.id: row.next_round for row in rows},
        prize_form=prize_form or PrizeForm(formdata=None),
        board=draws.board(event),
        checked_in=draws.checked_in_count(event),
        is_open=opens <= utcnow() <= closes,
        opens=opens,
        revealed=draws.seed_revealed(event),
        records=draws.draws_of(event),
    ), status


@bp.get("/admin/events/<int:event_id>/draw")
@permission_required("events.manage")
def draw_page(event_id: int):
    """The prizes, drawing them, the winners (absent ones drawn again)."""
    return _draw_page(_or_404(tripday.event_for_staff, event_id))


@bp.post("/admin/events/<int:event_id>/draw/prizes")
@permission_required("events.manage")
@once("events.add_prize")
def add_prize(event_id: int):
    """Define a prize (its seed's commitment is shown from now on)."""
    event = _or_404(tripday.event_for_staff, event_id)
    form = PrizeForm()
    if form.validate():
        ok, prize = call_service(form, draws.add_prize, current_user, event_id, **form.to_prize())
        if ok:
            flash(_("Prize added: %(name)s.", name=prize.name), "success")
            return redirect(url_for("events.draw_page", event_id=event_id) + "#prizes")
    return _draw_page(event, prize_form=form, status=422)


@bp.route("/admin/events/<int:event_id>/draw/prizes/<int:prize_id>", methods=["GET", "POST"])
@permission_required("events.manage")
def edit_prize(event_id: int, prize_id: int):
    """Rename a prize or change how many there are."""
    prize = _or_404(draws.prize_for_staff, event_id, prize_id)
    form = PrizeForm()
    if not form.is_submitted():
        form.process(obj=prize)
    elif form.validate():
        ok, _prize = call_service(
            form, draws.update_prize, current_user, event_id, prize_id, **form.to_prize()
        )
        if ok:
            flash(_("The prize is saved."), "success")
            return redirect(url_for("events.draw_page", event_id=event_id) + "#prizes")
    event = tripday.event_for_staff(current_user, event_id)
    status = 422 if form.is_submitted() else 200
    return render_template("events/draw/prize.html", event=event, prize=prize, form=form), status


@bp.post("/admin/events/<int:event_id>/draw/prizes/<int:prize_id>/remove")
@permission_required("events.manage")
def remove_prize(event_id: int, prize_id: int):
    """Remove a prize that was never drawn."""
    name = _or_404(draws.prize_for_staff, event_id, prize_id).name
    if try_service(draws.remove_prize, current_user, event_id, prize_id)[0]:
        flash(_("“%(name)s” is removed.", name=name), "success")
    return redirect(url_for("events.draw_page", event_id=event_id) + "#prizes")


@bp.post("/admin/events/<int:event_id>/draw/prizes/<int:prize_id>/draw")
@permission_required("events.manage")
@once("events.draw_prize")
def draw_prize(event_id: int, prize_id: int):
    """Draw winners of a prize (a double tap draws once: the round is drawn once)."""
    prize = _or_404(draws.prize_for_staff, event_id, prize_id)
    form = DrawForm(prefix=f"p{prize_id}")
    if not form.validate():
        event = tripday.event_for_staff(current_user, event_id)
        return _draw_page(event, bound=(prize_id, form), status=422)
    ok, draw = try_service(
        draws.draw_prize,
        current_user,
        event_id,
        prize.id,
        count=form.count.data,
        round_expected=form.round.data,
    )
    if ok:
        won = len(draws.winners_of(draw))
        flash(ngettext("%(num)d winner drawn.", "%(num)d winners drawn.", won), "success")
    return redirect(url_for("events.draw_page", event_id=event_id) + "#winners")


@bp.post("/admin/events/<int:event_id>/draw/winners/<int:winner_id>/redraw")
@permission_required("events.manage")
@once("events.redraw")
def redraw(event_id: int, winner_id: int):
    """The winner was not there when called: draw the prize again among the others."""
    _or_404(draws.winner_for_staff, event_id, winner_id)
    form = RedrawForm()
    if not form.validate():
        flash(_("This form is not valid. Reload the page."), "error")
    elif try_service(
        draws.redraw_absent, current_user, event_id, winner_id, round_expected=form.round.data
    )[0]:
        flash(_("Marked absent; the prize was drawn again."), "success")
    return redirect(url_for("events.draw_page", event_id=event_id) + "#winners")


@bp.get("/admin/events/<int:event_id>/draw/live")
@permission_required("events.manage")
def draw_live(event_id: int):
    """The screen at the event: the latest winners and every prize's, updating by itself."""
    event = _or_404(tripday.event_for_staff, event_id)
    return render_template(
        "events/draw/live.html",
        event=event,
        board=draws.board(event),
        revealed=draws.seed_revealed(event),
    )


def _shown(winner) -> dict:
    return {
        "id": winner.id,
        "prize": winner.prize,
        "name": winner.name,
        "mobile": winner.mobile,
        "status": winner.status.value,
    }


@bp.get("/admin/events/<int:event_id>/draw/live.json")
@permission_required("events.manage")
def draw_live_data(event_id: int):
    """What the live page polls: the latest winners and each prize's."""
    event = _or_404(tripday.event_for_staff, event_id)
    board = draws.board(event)
    response = jsonify(
        {
            "latest": [_shown(w) for w in board["latest"]],
            "prizes": [
                {
                    "id": p["prize"].id,
                    "name": p["prize"].name,
                    "quantity": p["prize"].quantity,
                    "won": p["won"],
                    "commitment": p["prize"].commitment,
                    "winners": [_shown(w) for w in p["winners"]],
                }
                for p in board["prizes"]
            ],
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/events/<int:event_id>/draw/records/<int:draw_id>.json")
@permission_required("events.manage")
def draw_record(event_id: int, draw_id: int):
    """A draw's record: everything needed to re-run it (the seed once the event is over)."""
    draw = _or_404(draws.draw_for_staff, event_id, draw_id)
    return jsonify(draws.draw_record(draw))
