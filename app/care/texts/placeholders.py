"""Placeholders in care texts: ``{name}``, ``{car}``, ``{due_date}``…; ``{{`` and ``}}`` are a
brace of their own.

A text is read here, never by ``str.format`` or Jinja: a placeholder is a plain name in braces
(no attribute, index, conversion or format spec), and filling one in puts the value in as text,
which is not read again. An owner named ``{dealer}`` or ``{0.__class__}`` gets a message with
exactly that name in it.
"""

import logging
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from flask_babel import gettext as _

from app.core.errors import ValidationFailed

log = logging.getLogger(__name__)

_NAME = re.compile(r"[a-z][a-z0-9_]*")
# How much of the text around a bad brace the message quotes.
_SHOWN = 24


class Malformed(ValueError):
    """A brace that is neither a placeholder nor doubled; ``fragment`` is where it is."""

    def __init__(self, fragment: str) -> None:
        super().__init__(fragment)
        self.fragment = fragment


@lru_cache(maxsize=512)
def parse(text: str) -> tuple[tuple[str, bool], ...]:
    """The text as pieces ``(literal text, False)`` and ``(placeholder name, True)``; raises
    ``Malformed`` at the first brace that is neither."""
    pieces: list[tuple[str, bool]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text.startswith(char * 2, i):
            literal.append(char)
            i += 2
        elif char == "{":
            end = text.find("}", i + 1)
            opened = text.find("{", i + 1)
            if end == -1 or (opened != -1 and opened < end):
                raise Malformed(text[i : i + _SHOWN])
            name = text[i + 1 : end]
            if not _NAME.fullmatch(name):
                raise Malformed(text[i : end + 1][:_SHOWN])
            if literal:
                pieces.append(("".join(literal), False))
                literal = []
            pieces.append((name, True))
            i = end + 1
        elif char == "}":
            raise Malformed(text[max(0, i - _SHOWN + 1) : i + 1])
        else:
            literal.append(char)
            i += 1
    if literal:
        pieces.append(("".join(literal), False))
    return tuple(pieces)


def names_in(text: str) -> list[str]:
    """The placeholders ``text`` uses, in order (raises ``Malformed``)."""
    return [piece for piece, is_name in parse(text) if is_name]


def check_text(text: str, allowed: Iterable[str], *, field: str) -> None:
    """Refuse ``text`` with a message naming the bad placeholder: one not in ``allowed``, or a
    brace that is not one (ValidationFailed on ``field``)."""
    allowed = tuple(allowed)
    try:
        used = names_in(text)
    except Malformed as bad:
        raise ValidationFailed(
            _(
                "“%(fragment)s” is not a placeholder: write a name in braces, such as {name}, "
                "and {{ or }} for a brace of its own.",
                fragment=bad.fragment,
            ),
            field=field,
        ) from None
    unknown = [name for name in used if name not in allowed]
    if unknown:
        raise ValidationFailed(
            _(
                "Unknown placeholder {%(name)s}: this text may use %(allowed)s.",
                name=unknown[0],
                allowed=", ".join(f"{{{name}}}" for name in allowed),
            ),
            field=field,
        )


def render(text: str, values: Mapping[str, object]) -> str:
    """``text`` with its placeholders filled in from ``values`` (a missing one is left empty).
    A text that cannot be read (never saved so: a built-in translation gone wrong) comes back
    as it is, logged, rather than stopping the job that sends it."""
    try:
        pieces = parse(text)
    except Malformed:
        log.error("A care text with a malformed placeholder was sent as it is: %r", text[:80])
        return text
    return "".join(str(values.get(piece, "")) if is_name else piece for piece, is_name in pieces)


def as_template(text: str) -> str:
    """Literal ``text`` as a template: its braces doubled, so that it reads as itself."""
    return text.replace("{", "{{").replace("}", "}}")
