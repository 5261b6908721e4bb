"""SMS through Alibaba Cloud SMS (dysmsapi, API version 2017-05-25) on its official SDK.

``SMS_BACKEND=aliyun``. Aliyun sends only templates approved in its console, under an approved
sign name (ALIYUN_SMS_SIGN_NAME): one-time codes fill ALIYUN_SMS_TEMPLATE_CODE (variable
``${code}``), every other text fills ALIYUN_SMS_TEMPLATE_NOTICE, whose one variable
``${content}`` carries the whole text. The outbox reference goes as ``OutId``: Aliyun hands it
back in delivery receipts, so a receipt (or a support ticket) names the outbox row.

Answers. ``Code: OK`` means Aliyun took the message. Other codes raise ``DeliveryError``:
permanent when this message can never go (a number Aliyun refuses, words or a variable it
refuses), transient when time or the operator can fix it (rate limits, the balance, the
account, sign or template set-up, a wrong key, Aliyun's own errors, the network). The outbox
retries those with back-off and gives up after its last attempt; the SDK itself never retries.

Privacy. A request holds the full number and the text (maybe a sign-in code or a set-password
link); so do the SDK's exception messages (its connection errors quote the whole URL). Nothing of
them is logged or kept: logs and errors name the masked number, the reference, Aliyun's code and
RequestId only, and SDK exceptions are not chained to the ``DeliveryError``.
"""

import json
import logging

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import models as openapi_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import TeaException

from app.core.channels import DeliveryError
from app.core.identifiers import mask_mobile
from config import ALIYUN_SMS_REQUIRED

log = logging.getLogger(__name__)


def _without_query_strings(record: logging.LogRecord) -> bool:
    """Cut query strings out of a record's arguments: SendSms carries the number and the text
    in the URL, which urllib3 logs at DEBUG ("POST /?PhoneNumbers=…")."""
    if isinstance(record.args, tuple):
        record.args = tuple(
            arg.partition("?")[0] + "?…" if isinstance(arg, str) and "?" in arg else arg
            for arg in record.args
        )
    return True


logging.getLogger("urllib3.connectionpool").addFilter(_without_query_strings)
# With DEBUG set in the environment the SDK's core prints every request line through this
# logger and its own stderr handler: silence it.
logging.getLogger("darabonba-core").disabled = True

# Aliyun's answers after which sending this same message again cannot succeed.
PERMANENT_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",  # not a number Aliyun can send to
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
        "isv.BLACK_KEY_CONTROL_LIMIT",  # a blacklisted word in the variables
        "isv.SMS_CONTENT_ILLEGAL",
        "isv.PARAM_LENGTH_LIMIT",  # the text is longer than the variable allows
        "isv.PARAM_NOT_SUPPORT_URL",  # a link in a variable
        "isv.INVALID_JSON_PARAM",
        "isv.INVALID_PARAMETERS",
        "isv.TEMPLATE_MISSING_PARAMETERS",
    }
)

CONNECT_TIMEOUT_MS = 5_000
READ_TIMEOUT_MS = 10_000


def missing_settings(config) -> list[str]:
    """The Aliyun settings ``config`` lacks."""
    return [name for name in ALIYUN_SMS_REQUIRED if not config.get(name)]


class AliyunSmsBackend:
    """``SmsBackend`` on Alibaba Cloud SMS: one SendSms call per text."""

    def __init__(self, config) -> None:
        missing = missing_settings(config)
        if missing:
            raise RuntimeError(
                "SMS_BACKEND=aliyun needs these settings: " + ", ".join(missing) + "."
            )
        self.sign_name = config["ALIYUN_SMS_SIGN_NAME"]
        self.templates = {
            "code": config["ALIYUN_SMS_TEMPLATE_CODE"],
            "notice": config["ALIYUN_SMS_TEMPLATE_NOTICE"],
        }
        self.client = Client(
            openapi_models.Config(
                access_key_id=config["ALIYUN_SMS_ACCESS_KEY_ID"],
                access_key_secret=config["ALIYUN_SMS_ACCESS_KEY_SECRET"],
                endpoint=config.get("ALIYUN_SMS_ENDPOINT") or "dysmsapi.aliyuncs.com",
                protocol=config.get("ALIYUN_SMS_PROTOCOL") or "https",
                connect_timeout=CONNECT_TIMEOUT_MS,
                read_timeout=READ_TIMEOUT_MS,
            )
        )

    def request_for(
        self, mobile: str, text: str, *, reference: str, template: str, params: dict | None
    ) -> sms_models.SendSmsRequest:
        """The SendSms request: the template ``template`` names, filled."""
        if template == "code":
            variables = {"code": str((params or {})["code"])}
        else:
            variables = {"content": text}
        return sms_models.SendSmsRequest(
            phone_numbers=mobile,
            sign_name=self.sign_name,
            template_code=self.templates[template],
            template_param=json.dumps(variables, ensure_ascii=False),
            out_id=reference,
        )

    def send(
        self,
        mobile: str,
        text: str,
        *,
        reference: str,
        template: str = "notice",
        params: dict | None = None,
    ) -> None:
        """Hand the text to Aliyun; DeliveryError when it does not take it."""
        request = self.request_for(
            mobile, text, reference=reference, template=template, params=params
        )
        masked = mask_mobile(mobile)
        try:
            response = self.client.send_sms_with_options(request, RuntimeOptions(autoretry=False))
        except AlibabaCloudException as err:
            # An HTTP error answer: a wrong key (SignatureDoesNotMatch), throttling, Aliyun down.
            code, request_id = err.code, err.request_id
            log.warning(
                "SMS to %s (%s) refused by Aliyun: HTTP %s %s (RequestId %s)",
                masked,
                reference,
                err.status_code,
                code,
                request_id,
            )
            raise DeliveryError(
                f"Aliyun HTTP {err.status_code} {code} (RequestId {request_id})"
            ) from None
        except TeaException as err:
            # The network, a timeout, an unreadable answer: the SDK's message quotes the URL.
            kind = type(err).__name__
            log.warning("SMS to %s (%s) not sent: Aliyun unreachable (%s)", masked, reference, kind)
            raise DeliveryError(f"Aliyun unreachable ({kind})") from None
        body = response.body
        code, request_id = body.code, body.request_id
        if code == "OK":
            log.info(
                "SMS to %s (%s) taken by Aliyun: BizId %s (RequestId %s)",
                masked,
                reference,
                body.biz_id,
                request_id,
            )
            return
        permanent = code in PERMANENT_CODES
        log.warning(
            "SMS to %s (%s) refused by Aliyun: %s (RequestId %s)%s",
            masked,
            reference,
            code,
            request_id,
            "" if permanent else ", will retry",
        )
        raise DeliveryError(f"Aliyun {code} (RequestId {request_id})", permanent=permanent)
