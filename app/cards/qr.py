"""Drawing QR codes as inline SVG."""

import segno


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
