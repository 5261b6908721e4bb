"""Staff pages of the care texts: the list, a text with its preview and versions, saving,
handing a text back and restoring an old version. HQ works on the group's texts (or a
dealer's, ``?dealer=``); a dealer's staff on their dealer's."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.care.texts import services
from app.care.texts.forms import TextForm
from app.care.texts.kinds import (
    FAMILIES,
    LANGUAGES,
    PLACEHOLDER_LABELS,
    PLACEHOLDERS,
    TextKind,
    has_title,
    label,
    text_kind,
)
from app.core.errors import DomainError, ValidationFailed
from app.core.permissions import Role, permission_required
from app.core.web import call_service, page_arg, try_service
from app.extensions import db
from app.members.models import Dealer
from app.members.scope import dealer_choices, scope_arg

bp = Blueprint("texts", __name__, url_prefix="/admin/care/texts")

VERSIONS_PER_PAGE = 10


def _kind(kind: str, language: str) -> TextKind:
    found = text_kind(kind)
    if found is None or language not in LANGUAGES:
        abort(404)
    return found


def _here(endpoint: str, scope: int | None, **values) -> str:
    """A page of the texts of ``scope``: HQ keeps the dealer it chose in the address."""
    dealer = scope if current_user.role == Role.HQ_ADMIN else None
    return url_for(endpoint, dealer=dealer, **values)


@bp.get("")
@permission_required("care.texts")
def text_list():
    """Every care text, with where the words in force come from, per language."""
    scope = scope_arg()
    return render_template(
        "care/texts.html",
        families=FAMILIES,
        languages=LANGUAGES,
        sources=services.sources_in_force(scope),
        scope=scope,
        scope_dealer=db.session.get(Dealer, scope) if scope else None,
        dealers=dealer_choices(current_user),
        may_edit=services.may_edit(current_user, scope),
        label=label,
    )


def _shown(kind, language, form, scope):
    """The form's words as a made-up owner reads them; None (the reasons on the form) when
    they are refused."""
    dealer = db.session.get(Dealer, scope) if scope else None
    try:
        return services.preview(
            kind, language, **form.words(), dealer_name=dealer.name if dealer else ""
        )
    except ValidationFailed as err:
        form.show_error(err)
        return None


def _text_page(kind: TextKind, language: str, scope, form: TextForm | None = None):
    current = services.text_in_force(scope, kind, language)
    if form is None:
        base = services.own_version(scope, kind, language)
        form = TextForm(data={"title": current.title, "body": current.body, "base_version": base})
    versions = db.paginate(
        services.history(scope, kind, language),
        page=page_arg(),
        per_page=VERSIONS_PER_PAGE,
        error_out=False,
    )
    if not has_title(kind):
        del form.title
    return render_template(
        "care/text.html",
        kind=kind,
        language=language,
        languages=LANGUAGES,
        label=label,
        current=current,
        form=form,
        shown=_shown(kind, language, form, scope),
        placeholders=[(n, PLACEHOLDER_LABELS[n]) for n in PLACEHOLDERS[kind]],
        versions=versions,
        may_edit=services.may_edit(current_user, scope),
        here=lambda endpoint, **values: _here(endpoint, scope, **values),
        dealer=scope if current_user.role == Role.HQ_ADMIN else None,
    )


@bp.get("/<kind>/<language>")
@permission_required("care.texts")
def text_page(kind: str, language: str):
    """A care text in one language: the words in force, a preview, the editor, the versions."""
    return _text_page(_kind(kind, language), language, scope_arg())


def _saved(version) -> str:
    if version is None:
        return _("Nothing changed: this is the text in force.")
    return _("Version %(n)s saved: it is in force now.", n=version.version)


@bp.post("/<kind>/<language>")
@permission_required("care.texts_edit")
def text_save(kind: str, language: str):
    """Preview the edited words, or save them as the next version."""
    text_kind_, scope = _kind(kind, language), scope_arg()
    form = TextForm()
    if not form.validate_on_submit():
        form.form_errors.append(_("The form expired or was changed. Reload the page."))
    elif request.form.get("action") == "save":
        ok, version = call_service(
            form,
            services.save_text,
            current_user,
            scope,
            text_kind_,
            language,
            **form.words(),
            base_version=form.base_version.data,
        )
        if ok:
            flash(_saved(version), "success")
            return redirect(_here(".text_page", scope, kind=kind, language=language))
    return _text_page(text_kind_, language, scope, form)


@bp.post("/<kind>/<language>/inherit")
@permission_required("care.texts_edit")
def text_inherit(kind: str, language: str):
    """Hand the text back: the group's text (or the built-in one) is in force again."""
    text_kind_, scope = _kind(kind, language), scope_arg()
    ok, version = try_service(services.inherit_text, current_user, scope, text_kind_, language)
    if ok:
        flash(_("The text is handed back.") if version else _("Nothing changed."), "success")
    return redirect(_here(".text_page", scope, kind=kind, language=language))


@bp.post("/versions/<int:version_id>/restore")
@permission_required("care.texts_edit")
def version_restore(version_id: int):
    """Make an older version's words the text in force again (as a new version)."""
    try:
        old = services.get_version(current_user, version_id)
    except DomainError:
        abort(404)
    ok, version = try_service(services.restore_version, current_user, version_id)
    if ok:
        flash(
            _("Version %(old)s restored.", old=old.version)
            if version
            else _("Nothing changed: this is the text in force."),
            "success",
        )
    return redirect(_here(".text_page", old.dealer_id, kind=old.kind, language=old.language))
