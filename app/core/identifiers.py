"""Identifiers owners type in: mainland mobile numbers, VINs, plates, card numbers."""

import re
import secrets

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalize_mobile(raw: str) -> str | None:
    """Return an 11-digit mainland mobile number, or None when ``raw`` is not one.

    Accepts spaces, dashes and a +86 / 0086 / 86 country prefix.
    """
    digits = re.sub(r"[\s\-()]", "", raw or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if _MOBILE_RE.match(digits) else None


def mask_mobile(mobile: str) -> str:
    """139****1234: what staff lists show."""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) == 11 else "****"


def mask_email(address: str) -> str:
    """z***@example.com: enough to tell addresses apart in a log, not to write to one."""
    local, at, domain = (address or "").rpartition("@")
    return f"{local[:1]}***@{domain}" if at and local else "***"


def mask_plate(plate: str | None) -> str:
    """粤B1**45: enough for staff to recognise a car in a list, not to look it up."""
    if not plate:
        return ""
    return f"{plate[:3]}{'*' * (len(plate) - 5)}{plate[-2:]}" if len(plate) >= 7 else "****"


# ISO 3779 / GB 16735 VIN check digit (position 9).
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def vin_check_digit(vin: str) -> str:
    """The check character a 17-character VIN must carry at position 9."""
    total = sum(_VIN_VALUES[ch] * w for ch, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_vin(raw: str) -> str:
    """Upper-case, without spaces."""
    return re.sub(r"\s", "", raw or "").upper()


def is_valid_vin(vin: str) -> bool:
    """17 characters (no I, O, Q) with a correct check digit."""
    if len(vin) != 17 or any(ch not in _VIN_VALUES for ch in vin):
        return False
    return vin[8] == vin_check_digit(vin)


PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"  # plate letters never use I or O
_PLATE_PATTERNS = (
    # Ordinary plate: 粤B12345, 粤B1234学
    re.compile(rf"^[{PROVINCES}][{_L}][{_L}0-9]{{4}}[{_L}0-9挂学警港澳]$"),
    # Small new-energy plate (8 characters): 粤BD12345, 粤BFA1234
    re.compile(rf"^[{PROVINCES}][{_L}][DABCEFGHJK][{_L}0-9][0-9]{{4}}$"),
    # Large new-energy plate (8 characters): 粤B12345D
    re.compile(rf"^[{PROVINCES}][{_L}][0-9]{{5}}[DABCEFGHJK]$"),
)


def normalize_plate(raw: str) -> str:
    """Upper-case, without spaces, dots or dashes (粤B·12345 → 粤B12345)."""
    return re.sub(r"[\s·\.\-]", "", raw or "").upper()


def is_valid_plate(plate: str) -> bool:
    """A mainland plate: 7 characters, or 8 for new-energy vehicles."""
    return any(p.match(plate) for p in _PLATE_PATTERNS)


def luhn_check_digit(payload: str) -> str:
    """The Luhn digit to append to the digit string ``payload``."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_luhn(number: str) -> bool:
    """True for a digit string whose last digit is its Luhn check digit."""
    return len(number) >= 2 and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


# Short codes read aloud and typed (vouchers, perk claims, tickets): no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def random_code(length: int) -> str:
    """``length`` characters drawn at random from CODE_ALPHABET."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalize_code(text: str) -> str:
    """A typed short code without spaces or dashes, in capitals."""
    return re.sub(r"[\s\-]+", "", text or "").upper()


def is_code(text: str, length: int) -> bool:
    """True for ``length`` characters of CODE_ALPHABET (a normalised short code)."""
    return len(text) == length and all(ch in CODE_ALPHABET for ch in text)


# GB 11643 resident ID number (居民身份证号码): 17 digits and an ISO 7064 MOD 11-2 check character.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_RE = re.compile(r"^\d{17}[\dX]$")


def normalize_id_number(raw: str) -> str | None:
    """An 18-character resident ID number with a valid check character, or None."""
    text = re.sub(r"[\s\-]", "", raw or "").upper()
    if not _ID_RE.match(text):
        return None
    total = sum(int(ch) * w for ch, w in zip(text[:17], _ID_WEIGHTS, strict=True))
    return text if "10X98765432"[total % 11] == text[17] else None
