"""The Carclub application factory."""

import logging
from datetime import timedelta

from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    render_template,
    request,
    send_from_directory,
    session,
)
from flask_babel import get_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from jinja2 import pass_context
from sqlalchemy.orm import configure_mappers

from app.core import assets, database, images, security
from app.core.audit import write_durable_audit
from app.core.clock import SystemClock
from app.core.models import render_migration_item
from app.core.money import grouped_yuan
from app.core.tokens import load_signer
from app.extensions import babel, csrf, db, limiter, login_manager, migrate

log = logging.getLogger(__name__)


def select_locale() -> str:
    """The user's chosen language (cookie), else the best Accept-Language match."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    from flask_login import current_user

    # A signed-in user's language is their profile choice; the cookie is a visitor's.
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = request.cookies.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or "en"


def create_app(config: type | str | None = None, **overrides) -> Flask:
    """Build the app from a config class (or CARCLUB_ENV) plus keyword overrides."""
    from config import CONFIGS, INSTANCE_DIR, ProductionConfig, config_from_env

    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    if isinstance(config, str):
        config = CONFIGS[config]
    config = config or config_from_env()
    if config is ProductionConfig:
        ProductionConfig.check()
    app.config.from_object(config)
    app.config.update(overrides)

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(
        app, db, render_as_batch=True, compare_type=True, render_item=render_migration_item
    )
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(
        days=app.config["REMEMBER_COOKIE_DURATION_DAYS"]
    )

    app.extensions["clock"] = SystemClock()
    app.extensions["token_signer"] = load_signer(app.config)

    _register_models()
    _register_blueprints(app)
    images.init_app(app)
    _register_request_hooks(app)
    _register_error_handlers(app)
    _register_template_helpers(app)
    assets.init_app(app)
    from app.cli import register_cli

    register_cli(app)
    return app


def _register_models() -> None:
    # Import every model so metadata (and Alembic autogenerate) sees all tables.
    import app.api.models
    import app.auth.models
    import app.campaigns.calls.models
    import app.campaigns.grading.models
    import app.campaigns.results.models
    import app.campaigns.segments.models
    import app.cards.models
    import app.care.models
    import app.core.audit
    import app.core.idempotency
    import app.events.draw_models
    import app.events.models
    import app.events.trip_models
    import app.loyalty.member_benefits.models
    import app.loyalty.models
    import app.members.models
    import app.partners.models
    import app.payments.models
    import app.referrals.models
    import app.rewards.models
    import app.service.models  # noqa: F401

    # Backrefs (``User.member``, ``User.dealer``) exist once the mappers are configured.
    configure_mappers()


def _register_blueprints(app: Flask) -> None:
    from app.admin.views import bp as admin_bp
    from app.auth import code_views  # noqa: F401 - adds the code routes to the auth blueprint
    from app.auth.views import bp as auth_bp
    from app.campaigns.calls.views import bp as campaign_admin_bp
    from app.campaigns.event_invites.views import bp as event_invites_bp
    from app.campaigns.grading.views import bp as grading_bp
    from app.campaigns.results.views import bp as campaign_results_bp
    from app.campaigns.segments.views import bp as campaigns_bp
    from app.cards.views import bp as cards_bp
    from app.care.views import bp as care_bp
    from app.events.views import bp as events_bp
    from app.hq.views import bp as hq_bp
    from app.loyalty.member_benefits.views import bp as benefits_bp
    from app.loyalty.views import bp as loyalty_bp
    from app.members.privacy_views import bp as privacy_bp
    from app.members.views import bp as members_bp
    from app.partners.views import bp as partners_bp
    from app.payments.views import bp as payments_bp
    from app.referrals.views import bp as referrals_bp
    from app.rewards.views import bp as rewards_bp
    from app.service.views import bp as service_bp

    for blueprint in (
        auth_bp,
        members_bp,
        privacy_bp,
        cards_bp,
        loyalty_bp,
        benefits_bp,
        care_bp,
        admin_bp,
        rewards_bp,
        referrals_bp,
        events_bp,
        payments_bp,
        partners_bp,
        service_bp,
        campaigns_bp,
        grading_bp,
        hq_bp,
        campaign_admin_bp,
        campaign_results_bp,
        event_invites_bp,
    ):
        app.register_blueprint(blueprint)

    if app.config.get("DEV_MESSAGES_PAGE"):
        # Development only: the codes and links the log channels took (a 404 elsewhere).
        from app.care.dev_views import bp as dev_bp

        app.register_blueprint(dev_bp)

    from app.api.views import bp as api_bp

    # Dealer systems authenticate with an API key, not a session: no CSRF token to check.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)

    @app.get("/favicon.ico")
    def favicon():
        return send_from_directory(app.static_folder, "img/favicon.ico", max_age=86400)

    from app.auth.sessions import load_session_user

    login_manager.user_loader(load_session_user)


def _register_request_hooks(app: Flask) -> None:
    @app.after_request
    def commit_session(response):
        """One commit per request: only when the request succeeded and changed something."""
        if response.status_code >= 400:
            db.session.rollback()
        elif database.changed(db.session):
            db.session.commit()
        write_durable_audit()
        return response

    @app.before_request
    def collect_durable_audit():
        g.collect_durable_audit = True

    security.init_app(app)

    @app.teardown_request
    def rollback_on_error(exc):
        if exc is not None:
            db.session.rollback()


def _register_error_handlers(app: Flask) -> None:
    from app.api.errors import is_api_path, json_error

    def render_error(code: int, title, message):
        db.session.rollback()
        if is_api_path(request.path):
            return json_error(code, message)
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return render_error(
            400,
            _l("The form expired"),
            _l("Your session or the form expired. Go back, reload the page and try again."),
        )

    @app.errorhandler(400)
    def bad_request(err):
        return render_error(400, _l("Bad request"), _l("The request could not be understood."))

    @app.errorhandler(403)
    def forbidden(err):
        return render_error(403, _l("Not allowed"), _l("Your account may not open this page."))

    @app.errorhandler(404)
    def not_found(err):
        return render_error(404, _l("Page not found"), _l("There is nothing at this address."))

    @app.errorhandler(405)
    def method_not_allowed(err):
        return render_error(405, _l("Not allowed"), _l("This page cannot be used that way."))

    @app.errorhandler(413)
    def too_large(err):
        if images.upload_view():
            return render_error(
                413,
                _l("Too large"),
                _l(
                    "The picture is too large: send one of at most %(mb)s MB.",
                    mb=app.config["COVER_MAX_BYTES"] // (1024 * 1024),
                ),
            )
        return render_error(
            413,
            _l("Too large"),
            _l(
                "The request is too large: send at most %(kb)s KB.",
                kb=(app.config.get("MAX_CONTENT_LENGTH") or 0) // 1024,
            ),
        )

    @app.errorhandler(415)
    def unsupported_media_type(err):
        return render_error(
            415,
            _l("Bad request"),
            _l("Send the body as JSON, with 'Content-Type: application/json'."),
        )

    @app.errorhandler(429)
    def too_many(err):
        return render_error(
            429,
            _l("Too many attempts"),
            _l("Too many attempts in a short time. Wait a minute and try again."),
        )

    @app.errorhandler(500)
    def server_error(err):
        log.exception("Unhandled error", exc_info=getattr(err, "original_exception", err))
        return render_error(
            500, _l("Something went wrong"), _l("We are sorry: the page failed. Nothing was saved.")
        )


def _unread(user) -> int:
    if not (getattr(user, "is_authenticated", False) and user.is_member and user.member):
        return 0
    if "unread_messages" in g:
        return g.unread_messages  # the page loaded it with its own figures (the card page)
    from app.members.inbox import unread_count

    return unread_count(user.member)


def _translate_from_the_render(app: Flask) -> None:
    """Templates translate with the catalogue their render looked up once (the context
    processor's ``babel_translations``), not through Flask-Babel's lookup at every ``_()``
    (a page has about thirty); a macro imported without context looks it up as before."""

    def catalogue(context):
        found = context.get("babel_translations")
        return get_translations() if found is None else found

    @pass_context
    def gettext(context, string):
        return catalogue(context).ugettext(string)

    @pass_context
    def ngettext(context, singular, plural, n):
        return catalogue(context).ungettext(singular, plural, n)

    @pass_context
    def pgettext(context, message_context, string):
        return catalogue(context).upgettext(message_context, string)

    @pass_context
    def npgettext(context, message_context, singular, plural, n):
        return catalogue(context).unpgettext(message_context, singular, plural, n)

    app.jinja_env.install_gettext_callables(
        gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext
    )


def _register_template_helpers(app: Flask) -> None:
    from app.core.idempotency import new_idempotency_key
    from app.core.identifiers import mask_mobile
    from app.core.permissions import ROLE_LABELS, has_permission
    from app.loyalty.member_benefits.catalogue import terms as benefit_terms
    from app.loyalty.rules import point_value_yuan
    from app.loyalty.services import tier_label

    @app.context_processor
    def inject():
        from flask_login import current_user

        return {
            "current_locale": str(get_locale()),
            "babel_translations": get_translations(),
            "can": lambda permission: has_permission(current_user, permission),
            "unread_messages": _unread(current_user),
        }

    # Globals (not context variables) so imported macros can use them too.
    app.jinja_env.globals.update(
        role_label=lambda role: ROLE_LABELS.get(role, role),
        tier_label=tier_label,
        point_value_yuan=point_value_yuan,
        new_idempotency_key=new_idempotency_key,
        benefit_terms=benefit_terms,
    )

    _translate_from_the_render(app)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["mask_mobile"] = mask_mobile
    app.jinja_env.filters["yuan"] = grouped_yuan
    from app.core.dates import format_local_date, format_local_datetime

    app.jinja_env.filters["date"] = format_local_date
    app.jinja_env.filters["datetime"] = format_local_datetime
    app.jinja_env.globals["session"] = session
