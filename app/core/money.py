"""Money: integer fen (分) everywhere, yuan only at the edges.

Amounts are stored, added and compared as whole fen; they become yuan text when shown and come
back from yuan (a form's Decimal, an API string) through ``to_fen``. A float never holds money:
0.1 + 0.2 is not 0.3 in binary, and a yuan amount typed as 19.99 must be exactly 1999 fen.
"""

from decimal import Decimal, InvalidOperation


def yuan(fen: int, *, grouped: bool = False) -> str:
    """Fen as yuan with two decimals: 123456 → '1234.56' ('1,234.56' grouped), -5 → '-0.05'.

    Pages group the thousands; CSV files, JSON and report tables do not."""
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    whole = f"{fen // 100:,}" if grouped else str(fen // 100)
    return f"{sign}{whole}.{fen % 100:02d}"


def grouped_yuan(fen: int, grouped: bool = True) -> str:
    """The ``yuan`` template filter: '1,234.50' (``|yuan(False)``: '1234.50')."""
    return yuan(fen, grouped=grouped)


def to_fen(amount: Decimal | str | int) -> int:
    """A yuan amount (a Decimal, its text, or whole yuan) as fen, exactly: Decimal('19.99') →
    1999. ValueError for a float, more than two decimals, or what is not a finite number."""
    if isinstance(amount, float | bool) or not isinstance(amount, Decimal | str | int):
        raise ValueError(f"not a yuan amount: {amount!r} (use a Decimal or a string)")
    try:
        value = Decimal(amount.strip() if isinstance(amount, str) else amount)
    except InvalidOperation:
        raise ValueError(f"not a yuan amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a yuan amount: {amount!r}")
    # Integer arithmetic on the digits: Decimal's own would round past 28 digits.
    sign, digits, exponent = value.as_tuple()
    number, shift = int("".join(map(str, digits))), exponent + 2
    if shift < 0:
        number, rest = divmod(number, 10**-shift)
        if rest:
            raise ValueError(f"not a yuan amount in whole fen: {amount!r}")
    else:
        number *= 10**shift
    return -number if sign else number


def fen_to_decimal(fen: int) -> Decimal:
    """Fen as an exact Decimal of yuan with two places (for a form's amount field): 1250 →
    Decimal('12.50')."""
    return Decimal(fen).scaleb(-2)
