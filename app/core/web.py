"""Small helpers for thin views: safe redirects and calling a service from a form."""

from urllib.parse import urlsplit

from flask import request, url_for

from app.core.errors import DomainError
from app.extensions import db


def safe_next(default_endpoint: str, **values) -> str:
    """The ``next`` parameter when it points inside this site, else ``default_endpoint``."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if (
        target
        and not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return url_for(default_endpoint, **values)


def call_service(form, service, *args, **kwargs):
    """Run ``service``; on a DomainError roll back, attach the message to the form, return None.

    The message goes next to the field the error names, or to the form as a whole.
    Returns ``(True, result)`` on success and ``(False, None)`` on a broken rule.
    """
    try:
        return True, service(*args, **kwargs)
    except DomainError as err:
        db.session.rollback()
        field = getattr(form, err.field, None) if err.field else None
        if field is not None:
            field.errors = [*field.errors, err.message]
        else:
            form.form_errors.append(err.message)
        return False, None


def try_service(service, *args, **kwargs):
    """Run a POST action's service: 404 for NotFound; on a DomainError roll back and flash the
    rule's message. Returns ``(True, result)`` on success and ``(False, None)`` otherwise."""
    from flask import abort, flash

    from app.core.errors import NotFound

    try:
        return True, service(*args, **kwargs)
    except NotFound:
        abort(404)
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
        return False, None


def flash_service(service, *args, success: str, **kwargs) -> bool:
    """Run a POST-and-redirect action (see :func:`try_service`), flashing ``success`` when it
    worked. Returns True on success."""
    from flask import flash

    ok, _result = try_service(service, *args, **kwargs)
    if ok:
        flash(success, "success")
    return ok


def dealer_arg() -> int | None:
    """The dealer an HQ admin picked in ``?dealer=`` (the services ignore it for dealer staff)."""
    return request.args.get("dealer", type=int)


def page_arg() -> int:
    """The page number in ``?page=``, at least 1."""
    return max(request.args.get("page", 1, type=int) or 1, 1)
