"""A local fake of Alibaba Cloud SMS's SendSms, for the official SDK (alibabacloud-dysmsapi).

It listens on 127.0.0.1 (a random port) and checks each request as Aliyun would: the V3
signature the SDK sends (``Authorization: ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,
Signature=…``, recomputed here with the test's secret; a wrong key gets Aliyun's
``SignatureDoesNotMatch``), the sign name, the template and its variables, the number. It
records every request and answers the documented JSON: ``{"Code": "OK", "Message": "OK",
"BizId": …, "RequestId": …}`` or an error code. ``fail_next`` queues error answers.
"""

import hashlib
import hmac
import itertools
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

ACCESS_KEY_ID = "LTAI-fake-carclub"
ACCESS_KEY_SECRET = "fake-aliyun-secret"
SIGN_NAME = "车友会"
TEMPLATE_CODE = "SMS_100000001"  # "您的验证码为${code}，5分钟内有效。"
TEMPLATE_NOTICE = "SMS_100000002"  # "${content}"

_AUTHORIZATION = re.compile(
    r"^ACS3-HMAC-SHA256 Credential=(?P<ak>[^,]+),SignedHeaders=(?P<signed>[^,]+),"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
# Headers a V3 signature must cover.
_MUST_SIGN = {"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-version"}
_MAINLAND_MOBILE = re.compile(r"^(\+?86|0086)?1[3-9]\d{9}$")


@dataclass
class Recorded:
    """One request as it reached the fake (after its signature was checked)."""

    action: str
    params: dict[str, str]
    headers: dict[str, str]
    signature_ok: bool
    answer: str  # the Code the fake answered

    @property
    def template_param(self) -> dict:
        """TemplateParam, decoded."""
        return json.loads(self.params.get("TemplateParam") or "{}")


def canonical_signature(
    secret: str, method: str, path: str, query: dict, headers: dict, signed: list[str]
) -> str:
    """Aliyun's V3 (ACS3-HMAC-SHA256) signature of a request, as its documentation defines it."""
    canonical_query = "&".join(
        f"{quote(key, safe='~')}={quote(query[key], safe='~')}" for key in sorted(query)
    )
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    canonical_request = "\n".join(
        [
            method,
            path or "/",
            canonical_query,
            canonical_headers,
            ";".join(signed),
            headers["x-acs-content-sha256"],
        ]
    )
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = f"ACS3-HMAC-SHA256\n{digest}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


class FakeAliyunSms:
    """The fake server and what it received."""

    def __init__(
        self, access_key_id: str = ACCESS_KEY_ID, access_key_secret: str = ACCESS_KEY_SECRET
    ) -> None:
        self.keys = {access_key_id: access_key_secret}
        self.sign_names = {SIGN_NAME}
        self.templates = {TEMPLATE_CODE: {"code"}, TEMPLATE_NOTICE: {"content"}}
        self.requests: list[Recorded] = []
        self._failures: list[tuple[int, str]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:PORT``: ALIYUN_SMS_ENDPOINT for the app (protocol http)."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> "FakeAliyunSms":
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def fail_next(self, code: str, status: int = 200) -> None:
        """Answer the next SendSms with ``code`` (Aliyun's business errors come with 200)."""
        with self._lock:
            self._failures.append((status, code))

    @property
    def sent(self) -> list[Recorded]:
        """The requests answered OK."""
        return [r for r in self.requests if r.answer == "OK"]

    # --------------------------------------------------------------------- answering

    def answer(self, method: str, url: str, headers: dict, body: bytes) -> tuple[int, dict]:
        """Check one request as Aliyun would and answer it: (HTTP status, JSON body)."""
        request_id = f"FAKE-{next(self._ids):08d}"
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {name.lower(): value for name, value in headers.items()}

        def error(status: int, code: str, message: str, *, ok_signature: bool):
            self._record(headers, query, ok_signature, code)
            return status, {"RequestId": request_id, "Code": code, "Message": message}

        match = _AUTHORIZATION.match(headers.get("authorization", ""))
        if match is None:
            return error(
                400, "MissingAuthorization", "Authorization is mandatory.", ok_signature=False
            )
        secret = self.keys.get(match["ak"])
        if secret is None:
            return error(
                404,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
                ok_signature=False,
            )
        signed = match["signed"].split(";")
        if not set(signed) >= _MUST_SIGN or any(name not in headers for name in signed):
            return error(
                400,
                "IncompleteSignature",
                "The request signature does not conform.",
                ok_signature=False,
            )
        if headers["x-acs-content-sha256"] != hashlib.sha256(body).hexdigest():
            return error(400, "ContentSHA256NotMatched", "Body hash differs.", ok_signature=False)
        expected = canonical_signature(secret, method, parts.path, query, headers, signed)
        if not hmac.compare_digest(expected, match["signature"]):
            return error(
                400,
                "SignatureDoesNotMatch",
                "Specified signature does not match our calculation.",
                ok_signature=False,
            )
        if headers.get("x-acs-action") != "SendSms" or headers.get("x-acs-version") != "2017-05-25":
            return error(
                400, "InvalidAction.NotFound", "Specified api is not found.", ok_signature=True
            )
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, code = failure
            return error(status, code, f"fake failure {code}", ok_signature=True)
        if query.get("SignName") not in self.sign_names:
            return error(
                200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名", ok_signature=True
            )
        variables = self.templates.get(query.get("TemplateCode", ""))
        if variables is None:
            return error(
                200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板", ok_signature=True
            )
        try:
            param = json.loads(query.get("TemplateParam") or "{}")
        except ValueError:
            return error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法", ok_signature=True)
        if set(param) != variables or not all(isinstance(v, str) for v in param.values()):
            return error(
                200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值", ok_signature=True
            )
        if not _MAINLAND_MOBILE.match(query.get("PhoneNumbers", "")):
            return error(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", ok_signature=True)
        self._record(headers, query, True, "OK")
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "BizId": f"9{next(self._ids):08d}^0",
            "RequestId": request_id,
        }

    def _record(self, headers: dict, query: dict, signature_ok: bool, answer: str) -> None:
        with self._lock:
            self.requests.append(
                Recorded(headers.get("x-acs-action", ""), query, headers, signature_ok, answer)
            )


def aliyun_settings(fake: FakeAliyunSms, **changes) -> dict:
    """The app settings for SMS_BACKEND=aliyun against ``fake``."""
    return {
        "SMS_BACKEND": "aliyun",
        "ALIYUN_SMS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "ALIYUN_SMS_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
        "ALIYUN_SMS_SIGN_NAME": SIGN_NAME,
        "ALIYUN_SMS_TEMPLATE_CODE": TEMPLATE_CODE,
        "ALIYUN_SMS_TEMPLATE_NOTICE": TEMPLATE_NOTICE,
        "ALIYUN_SMS_ENDPOINT": fake.endpoint,
        "ALIYUN_SMS_PROTOCOL": "http",
        **changes,
    }


def _handler_for(fake: FakeAliyunSms):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, answer = fake.answer(self.command, self.path, dict(self.headers), body)
            payload = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format, *args):
            """Quiet: the request line holds the number and the text."""

    return Handler
