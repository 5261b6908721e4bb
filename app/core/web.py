"""Small helpers for thin views: safe redirects and calling a service from a form."""

import re
from urllib.parse import urlsplit

from flask import abort, current_app, has_request_context, request, url_for

from app.core.errors import DomainError, NotFound
from app.core.security import MAX_ID, plain_int
from app.extensions import db

# Control characters (CR and LF would split the Location header), DEL and lone surrogates.
_UNSAFE_IN_NEXT = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
# The deepest page a list offers: beyond it a page is empty anyway.
MAX_PAGE = 10_000


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
        and not _UNSAFE_IN_NEXT.search(target)
    ):
        return target
    return url_for(default_endpoint, **values)


def path_for(endpoint: str, **values) -> str:
    """The path of a page of this site, also outside a request (a daily job's notice links to
    the page to act on; ``url_for`` there would need SERVER_NAME)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


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
    from flask import flash

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


def int_arg(
    name: str,
    default: int | None = None,
    *,
    low: int = 1,
    high: int = MAX_ID,
    clamp: bool = False,
):
    """The integer query parameter ``name``, the one way views read one.

    ``default`` when it is missing or not a plain decimal number (as ``type=int`` did);
    a number outside ``low``..``high`` is brought to the nearer end with ``clamp``, else 404:
    no row has such an id, and the database would refuse to compare a column with it
    (PostgreSQL INTEGER ends at 2**31 - 1)."""
    value = plain_int(request.args.get(name))
    if value is None:
        return default
    if low <= value <= high:
        return value
    if clamp:
        return min(max(value, low), high)
    abort(404)


def dealer_arg() -> int | None:
    """The dealer id in ``?dealer=`` as it was sent (``app.members.scope.scope_arg`` gives the
    one to show)."""
    return int_arg("dealer")


def page_arg() -> int:
    """The page number in ``?page=``: 1 when missing or not a number, at most MAX_PAGE."""
    return int_arg("page", 1, high=MAX_PAGE, clamp=True)
