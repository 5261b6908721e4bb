"""The API's error answer: ``{"error": {"code", "message", "fields"?}}`` with its HTTP status."""

from flask import has_request_context, jsonify, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import MethodNotAllowed

from app.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "bad_request",
    415: "bad_request",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
}

# Most specific first: a subclass of Conflict answers 409 too.
_DOMAIN_STATUS = ((NotFound, 404), (Forbidden, 403), (Conflict, 409), (ValidationFailed, 422))


class MalformedBody(DomainError):
    """The body is not a JSON object."""


class InvalidFields(ValidationFailed):
    """Field errors of a request body: ``fields`` maps a dotted field name to messages."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(_l("Some fields are missing or not valid."))
        self.fields = fields


def is_api_path(path: str) -> bool:
    """True for addresses of the JSON API, which answer errors in JSON."""
    return path == "/api" or path.startswith("/api/")


def json_error(http_status: int, message, /, *, code: str | None = None, fields=None, **extra):
    """A JSON error response; ``extra`` keys go next to ``error`` (e.g. a voucher's status)."""
    error = {"code": code or STATUS_CODES.get(http_status, "error"), "message": str(message)}
    if fields:
        error["fields"] = {name: [str(m) for m in messages] for name, messages in fields.items()}
    response = jsonify({**extra, "error": error})
    response.status_code = http_status
    if http_status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="carclub"'
    if http_status == 405:
        # RFC 9110: a 405 lists the methods the address does allow.
        routing = getattr(request, "routing_exception", None) if has_request_context() else None
        if isinstance(routing, MethodNotAllowed) and routing.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(routing.valid_methods))
    return response


def domain_error_response(err: DomainError):
    """The answer to a broken rule: 404/403/409/422, or 400 for a malformed body."""
    from app.api.auth import Unauthorized

    if isinstance(err, MalformedBody):
        return json_error(400, err.message)
    if isinstance(err, Unauthorized):
        return json_error(401, err.message)
    status = next((s for cls, s in _DOMAIN_STATUS if isinstance(err, cls)), 422)
    fields = getattr(err, "fields", None) or ({err.field: [err.message]} if err.field else None)
    return json_error(status, err.message, fields=fields)
