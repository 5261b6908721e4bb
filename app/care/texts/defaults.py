"""The built-in text of every care text kind, as a template to edit: the reminders as shipped
(app/care/texts/reminders.py), the greetings, warnings and call scripts below. A dealer whose
manager never edited a kind uses these."""

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from app.care.texts.kinds import REMINDER_KINDS, TextKind
from app.care.texts.reminders import builtin_template

K = TextKind

# (title, body); a script's title is empty. Braces are placeholders (app/care/texts/
# placeholders.py), not gettext's: the texts take no gettext variables.
_TEXTS = {
    K.HOLIDAY_GREETING: (
        _l("Season's greetings from {dealer}"),
        _l(
            "Dear {name}, everyone at {dealer} wishes you and your family a happy holiday and "
            "safe travels."
        ),
    ),
    K.WEATHER_WARNING: (
        _l("Weather warning from {dealer}"),
        _l(
            "Dear {name}, severe weather is expected. Keep off flooded roads, park away from "
            "trees and billboards, and call us if your car needs help."
        ),
    ),
    # 首保提示: the car's recent condition, when and at what mileage, what to bring.
    K.FIRST_MAINTENANCE_SCRIPT: (
        "",
        _l(
            "Hello, is this {name}? This is {agent} from {dealer}. Your {car} was delivered "
            "recently: how is it running? Its first maintenance is due within three months of "
            "delivery or at the mileage in the booklet, whichever comes first. May I book you a "
            "visit? Please bring the maintenance booklet and the vehicle licence (行驶证)."
        ),
    ),
    K.MAINTENANCE_SCRIPT: (
        "",
        _l(
            "Hello {name}, this is {agent} from {dealer}. Your {car} is due for its regular "
            "maintenance around {due_date}. Is everything well with the car? Shall I book a "
            "time that suits you?"
        ),
    ),
    # 车辆保修到期日前一个月电话提醒客户,邀约客户进厂进行车辆检查.
    K.WARRANTY_SCRIPT: (
        "",
        _l(
            "Hello {name}, this is {agent} from {dealer}. The warranty of your {car} ends on "
            "{due_date}. We invite you for a check-up before then, so that anything the "
            "warranty covers is repaired free of charge. When would suit you?"
        ),
    ),
    K.BIRTHDAY_SCRIPT: (
        "",
        _l(
            "Hello {name}, this is {agent} from {dealer}. Everyone at the owners' club wishes "
            "you a happy birthday and a wonderful year! Thank you for being with us."
        ),
    ),
    # 流失客户: ask why they stopped coming, note the reason, invite them back.
    K.LOST_OWNER_SCRIPT: (
        "",
        _l(
            "Hello {name}, this is {agent} from {dealer}. We have not seen your {car} for a "
            "while and wanted to ask how it is running. Was there anything about our service "
            "that did not suit you? (Note the reason.) We would be glad to welcome you back: "
            "may I book you a check-up?"
        ),
    ),
    # 主动预约话术: book the owner near the maintenance time and mileage.
    K.APPOINTMENT_SCRIPT: (
        "",
        _l(
            "Your {car} is close to its maintenance time and mileage. Booked ahead, it is "
            "seen without waiting: which day and time suit you? (Book the appointment and "
            "tell the owner the time and what to bring.)"
        ),
    ),
}


def builtin(kind: TextKind, language: str) -> tuple[str, str]:
    """The built-in (title, body) of ``kind`` in ``language`` as a template."""
    with force_locale(language):
        if kind in REMINDER_KINDS:
            return builtin_template(kind)
        title, body = _TEXTS[kind]
        return str(title), str(body)
