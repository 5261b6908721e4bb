"""The one CSV writer every export uses: UTF-8 with a BOM (Excel opens Chinese names intact),
CRLF lines, and no cell a spreadsheet would run as a formula."""

import csv
import io
from collections.abc import Iterable

# A cell starting with one of these is a formula to Excel, LibreOffice and Sheets
# (=HYPERLINK(...), +cmd|..., -2+3, @SUM(...)); a tab or CR can hide one after it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str | int:
    """``value`` as a cell: text starting like a formula gets a leading ``'`` (so a name typed
    as =1+1 stays text); numbers stay numbers."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Iterable, rows: Iterable[Iterable]) -> str:
    """``header`` and ``rows`` as CSV text, every cell through :func:`safe_cell`."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(str(label)) for label in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
