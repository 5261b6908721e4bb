"""Drawing QR codes as inline SVG."""

from functools import lru_cache

import segno


# Drawing a QR code costs milliseconds (segno scores eight masks): the card page shows the
# same token for a while, tickets and vouchers the same code for ever, so keep the drawings.
@lru_cache(maxsize=1024)
def qr_svg(text: str, *, title: str = "") -> str:
    """An SVG QR code of ``text`` that scales to its container (error correction M)."""
    code = segno.make_qr(text, error="m")
    return code.svg_inline(
        scale=1,
        border=4,
        dark="#111",
        light="#fff",
        omitsize=True,
        svgclass="qr",
        lineclass=None,
        title=title or None,
    )
