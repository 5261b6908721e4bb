"""A local fake of the few Stripe API endpoints the portal uses, for the real `stripe` library.

It listens on 127.0.0.1 (a random port), reads form-encoded bodies as Stripe does, checks the
bearer key, honours Idempotency-Key (same key → the first answer again) and records every
request so tests can count what reached "Stripe". A hosted page at each session's ``url`` has a
Pay button, so a browser can go through checkout too.
"""

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_KEY = "sk_test_fake_carclub"
WEBHOOK_SECRET = "whsec_fake_carclub"


@dataclass
class Recorded:
    """One request as it reached the fake."""

    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern
    status: int
    times: int


def decode_form(body: str) -> dict[str, Any]:
    """``a[0]=x&b[c][d]=1`` → ``{"a": ["x"], "b": {"c": {"d": "1"}}}`` (Stripe's encoding)."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def _error(status: int, kind: str, message: str, code: str | None = None):
    error = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return status, {"error": error}


class FakeStripe:
    """The fake server and its state: sessions, payment intents, refunds, requests."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.sessions: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.requests: list[Recorded] = []
        self._replies: dict[str, tuple[dict, int, dict]] = {}
        self._failures: list[_Failure] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: STRIPE_API_BASE for the app."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeStripe":
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --------------------------------------------------------------- test helpers

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):06d}"

    def mark_paid(self, session_id: str) -> dict:
        """The owner paid on the hosted page: the session completes with a payment intent.

        Like Stripe's own race, this does not look at whether the session has expired since.
        """
        with self._lock:
            session = self.sessions[session_id]
            intent_id = self._new_id("pi")
            self.payment_intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": session["amount_total"],
                "amount_received": session["amount_total"],
                "currency": session["currency"],
                "status": "succeeded",
                "metadata": session["metadata"],
            }
            session.update(status="complete", payment_status="paid", payment_intent=intent_id)
            return session

    def fail_next(self, method: str, path_regex: str, *, status: int = 500, times: int = 1):
        """Make the next ``times`` matching requests fail, as an outage would."""
        with self._lock:
            self._failures.append(_Failure(method, re.compile(path_regex), status, times))

    def calls(self, method: str, path_regex: str) -> list[Recorded]:
        """The recorded requests matching ``method`` and ``path_regex``."""
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    def last_session(self) -> dict:
        """The session created last."""
        return list(self.sessions.values())[-1]

    def event(self, session_id: str, kind: str = "checkout.session.completed") -> dict:
        """A webhook event about the session, as Stripe would send it."""
        return {
            "id": self._new_id("evt"),
            "object": "event",
            "type": kind,
            "api_version": "2026-02-25.clover",
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": dict(self.sessions[session_id])},
        }

    # ----------------------------------------------------------------- dispatching

    def handle(self, method: str, raw_path: str, body: str, headers: dict[str, str]):
        """Answer one API request: (status, JSON body, extra headers)."""
        path = urlsplit(raw_path).path
        params = decode_form(body) if body else dict(parse_qsl(urlsplit(raw_path).query))
        with self._lock:
            self.requests.append(Recorded(method, path, params, headers))
            for failure in self._failures:
                if failure.times and failure.method == method and failure.pattern.fullmatch(path):
                    failure.times -= 1
                    status, reply = _error(failure.status, "api_error", "Fake Stripe outage.")
                    return status, reply, {"Stripe-Should-Retry": "false"}
            if headers.get("authorization") != f"Bearer {self.api_key}":
                status, reply = _error(401, "invalid_request_error", "Invalid API Key provided.")
                return status, reply, {}
            key = headers.get("idempotency-key")
            if method == "POST" and key and key in self._replies:
                first_params, status, reply = self._replies[key]
                if first_params != {"path": path, **params}:
                    status, reply = _error(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used "
                        "with the same parameters they were first used with.",
                    )
                    return status, reply, {}
                return status, reply, {"Idempotent-Replayed": "true"}
            status, reply = self._route(method, path, params)
            if method == "POST" and key:
                self._replies[key] = ({"path": path, **params}, status, reply)
            return status, reply, {}

    def _route(self, method: str, path: str, params: dict):
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(params)
        found = re.fullmatch(r"/v1/checkout/sessions/(\w+)", path)
        if found and method == "GET":
            return self._with_session(found[1], lambda s: (200, s))
        found = re.fullmatch(r"/v1/checkout/sessions/(\w+)/expire", path)
        if found and method == "POST":
            return self._with_session(found[1], self._expire)
        if method == "POST" and path == "/v1/refunds":
            return self._create_refund(params)
        if (found := re.fullmatch(r"/v1/payment_intents/([\w]+)", path)) and method == "GET":
            intent = self.payment_intents.get(found[1])
            if intent is None:
                return _error(404, "invalid_request_error", "No such payment_intent.")
            return 200, intent
        return _error(404, "invalid_request_error", f"Unrecognized request URL ({path}).")

    def _create_session(self, params: dict):
        for name in ("mode", "success_url", "line_items"):
            if name not in params:
                return _error(400, "invalid_request_error", f"Missing required param: {name}.")
        items = params["line_items"]
        amount = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items
        )
        currencies = {item["price_data"]["currency"] for item in items}
        session_id = self._new_id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount,
            "currency": currencies.pop(),
            "payment_method_types": params.get("payment_method_types", ["card"]),
            "payment_method_options": params.get("payment_method_options", {}),
            "metadata": params.get("metadata", {}),
            "client_reference_id": params.get("client_reference_id"),
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "expires_at": int(params["expires_at"]) if "expires_at" in params else None,
            "payment_intent": None,
            "url": f"{self.base_url}/c/pay/{session_id}",
            "livemode": False,
            "created": int(time.time()),
        }
        self.sessions[session_id] = session
        return 200, session

    def _with_session(self, session_id: str, then):
        session = self.sessions.get(session_id)
        if session is None:
            return _error(
                404,
                "invalid_request_error",
                f"No such checkout.session: '{session_id}'",
                code="resource_missing",
            )
        return then(session)

    def _expire(self, session: dict):
        if session["status"] != "open":
            return _error(
                400,
                "invalid_request_error",
                f'Only Checkout Sessions with a status in ["open"] can be expired. This '
                f'Checkout Session has a status of "{session["status"]}".',
            )
        session["status"] = "expired"
        return 200, session

    def _create_refund(self, params: dict):
        intent = self.payment_intents.get(params.get("payment_intent", ""))
        if intent is None:
            return _error(404, "invalid_request_error", "No such payment_intent.")
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        amount = int(params.get("amount", intent["amount"] - refunded))
        if refunded >= intent["amount"]:
            return _error(
                400,
                "invalid_request_error",
                "Charge has already been refunded.",
                code="charge_already_refunded",
            )
        if amount > intent["amount"] - refunded:
            return _error(400, "invalid_request_error", "Refund amount is too large.")
        refund_id = self._new_id("re")
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "reason": params.get("reason"),
            "metadata": params.get("metadata", {}),
            "status": "succeeded",
            "created": int(time.time()),
        }
        self.refunds[refund_id] = refund
        return 200, refund

    # --------------------------------------------------------------- hosted page

    def hosted_page(self, session_id: str) -> tuple[int, str]:
        """The checkout page a browser sees at the session's ``url``."""
        session = self.sessions.get(session_id)
        if session is None:
            return 404, "<h1>No such checkout</h1>"
        if session["status"] != "open":
            return 200, f"<h1>This checkout is {session['status']}</h1>"
        amount = f"{session['amount_total'] / 100:.2f}"
        return 200, (
            '<!doctype html><html><head><meta name="viewport" content="width=device-width">'
            f"<title>Fake Stripe Checkout</title></head><body><h1>Fake Stripe Checkout</h1>"
            f"<p>Amount: ¥{amount} ({session['currency'].upper()})</p>"
            f'<form method="post" action="/c/pay/{session_id}">'
            '<button type="submit">Pay</button></form>'
            f'<p><a href="{session["cancel_url"]}">Back</a></p></body></html>'
        )

    def pay_on_hosted_page(self, session_id: str) -> str:
        """Pay on the hosted page; the address the browser is sent back to."""
        session = self.mark_paid(session_id)
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)


def _handler_for(fake: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: bytes, content_type: str, extra=None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Request-Id", f"req_fake_{time.monotonic_ns()}")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _api(self, method: str):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, reply, extra = fake.handle(method, self.path, body, headers)
            self._reply(status, json.dumps(reply).encode(), "application/json", extra)

        def do_GET(self):
            if found := re.fullmatch(r"/c/pay/(\w+)", self.path):
                status, html = fake.hosted_page(found[1])
                self._reply(status, html.encode(), "text/html; charset=utf-8")
            else:
                self._api("GET")

        def do_POST(self):
            if found := re.fullmatch(r"/c/pay/(\w+)", self.path):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if found[1] not in fake.sessions:
                    self._reply(404, b"No such checkout", "text/plain")
                    return
                self.send_response(303)
                self.send_header("Location", fake.pay_on_hosted_page(found[1]))
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._api("POST")

        def log_message(self, format, *args):
            pass

    return Handler


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, *, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header: ``t=…,v1=HMAC-SHA256(secret, "t.payload")``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook(event: dict, secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a signed webhook delivery of ``event``."""
    payload = json.dumps(event).encode()
    return payload, {"Stripe-Signature": sign(payload, secret), "Content-Type": "application/json"}
