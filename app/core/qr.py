"""Drawing QR codes as SVG: inline in a page, or as a picture of its own."""

import io
from functools import lru_cache

import segno


# Drawing a QR code costs milliseconds, most of them choosing the best of eight masks: tickets
# and vouchers show the same code for ever, so keep the drawings. A fixed ``mask`` (0-7) skips
# the choice, for codes drawn once and shown briefly.
@lru_cache(maxsize=1024)
def qr_svg(text: str, *, title: str = "", mask: int | None = None, standalone: bool = False) -> str:
    """An SVG QR code of ``text`` that scales to its container (error correction M): for a
    page, or ``standalone`` for a file of its own (an image's source, with the namespace)."""
    out = io.BytesIO()
    segno.make_qr(text, error="m", mask=mask).save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=standalone,
        nl=False,
        scale=1,
        border=4,
        dark="#111",
        light="#fff",
        omitsize=True,
        svgclass="qr",
        lineclass=None,
        title=title or None,
    )
    return out.getvalue().decode()
