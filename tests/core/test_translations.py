"""Every user-visible string of the code has its Chinese, once."""

import re
from collections import Counter

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.conftest import ROOT

CATALOGUE = ROOT / "app" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "_nl": (1, 2),
    "lazy_ngettext": (1, 2),
}
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def messages():
    """Every message of the application and of its data generators (bench/, demo/)."""
    for folder in ("app", "bench", "demo"):
        yield from extract_from_dir(
            ROOT / folder,
            METHODS,
            keywords=KEYWORDS,
            options_map={"**/templates/**.html": {"extensions": "jinja2.ext.do"}},
        )


def test_every_message_in_the_code_is_translated():
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh)
    missing = set()
    for _file, _line, message, _comments, _context in messages():
        msgid = message[0] if isinstance(message, tuple) else message
        entry = catalogue.get(msgid)
        translated = entry is not None and (
            all(entry.string) if isinstance(entry.string, tuple) else entry.string
        )
        if not translated or entry.fuzzy:
            missing.add(msgid)
    assert sorted(missing) == []


def test_no_message_is_defined_twice():
    text = CATALOGUE.read_text(encoding="utf-8")
    ids = [i for i in re.findall(r'^msgid (".*")$', text, flags=re.M) if i != '""']
    assert [msgid for msgid, n in Counter(ids).items() if n > 1] == []
