"""The report toolkit: tables, charts, CSV and the figures' formats, for every domain's reports.

A report is a few set-based queries in the domain that owns the figures (its ``reports.py``);
what it returns is built from these pieces, so that what the page shows is what the CSV holds,
cell for cell, and every page draws its charts the same way.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Response
from flask_sqlalchemy.pagination import Pagination

from app.core.csvfile import csv_text
from app.core.money import yuan

NONE = "—"


# ------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Cell:
    """One cell: its text, and the owner it names (the page links to them)."""

    text: str
    member_id: int | None = None

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Column:
    """A column's heading; numeric columns align right."""

    label: str
    numeric: bool = False


@dataclass
class Table:
    """A report table: what the page shows is what the CSV holds."""

    key: str
    caption: str
    columns: list[Column]
    rows: list[list[Cell]]
    totals: list[Cell] | None = None
    empty: str = ""

    def all_rows(self) -> list[list[Cell]]:
        """The body rows, then the totals row."""
        return [*self.rows, *([self.totals] if self.totals else [])]


def row(*values: Any) -> list[Cell]:
    """A table row: each value as a Cell (its text), a Cell as it is."""
    return [v if isinstance(v, Cell) else Cell(str(v)) for v in values]


def table_csv(table: Table) -> str:
    """The table as CSV (see :mod:`app.core.csvfile`)."""
    return csv_text(
        [column.label for column in table.columns],
        ([cell.text for cell in cells] for cells in table.all_rows()),
    )


def csv_response(filename: str, table_or_text: "Table | str") -> Response:
    """A CSV download: a table (see ``table_csv``) or CSV text, as a UTF-8 attachment that is
    never cached (it holds owners' data)."""
    text = table_csv(table_or_text) if isinstance(table_or_text, Table) else table_or_text
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# ------------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Part:
    """A segment of a bar: its fill class, what it counts, where it starts and how wide (%)."""

    css: str
    label: str
    x: float
    width: float


@dataclass(frozen=True)
class Bar:
    """One bar of a chart, with its label and the figure written next to it."""

    label: str
    text: str
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Chart:
    """Horizontal (stacked) bars scaled to the longest bar, or to ``scale``."""

    title: str
    bars: tuple[Bar, ...]
    legend: tuple[tuple[str, str], ...] = ()


def chart(
    title: str,
    bars: Sequence[tuple[str, str, Sequence[tuple[str, str, float]]]],
    *,
    legend: Iterable[tuple[str, str]] = (),
    scale: float | None = None,
) -> Chart:
    """Bars of (label, text, [(css, part label, value)...]) as widths in percent."""
    top = scale or max((sum(v for *_, v in parts) for *_, parts in bars), default=0) or 1
    drawn = []
    for label, text, parts in bars:
        x, pieces = 0.0, []
        for css, part_label, value in parts:
            if value <= 0:
                continue
            width = min(round(value * 100 / top, 2), round(100 - x, 2))
            pieces.append(Part(css, part_label, round(x, 2), width))
            x += width
        drawn.append(Bar(label, text, tuple(pieces)))
    return Chart(title, tuple(drawn), tuple(legend))


# ------------------------------------------------------------------------------ figures


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as '12.5%' (one decimal), or '—' when ``whole`` is 0."""
    if not whole:
        return NONE
    return f"{part * 100 / whole:.1f}%"


def ratio(part: int, whole: int) -> float:
    """``part`` of ``whole`` in percent, for a bar's length (0 when ``whole`` is 0)."""
    return part * 100 / whole if whole else 0.0


def average_fen(total: int, count: int) -> int | None:
    """``total`` / ``count`` rounded half up to a fen, or None without a count."""
    if not count:
        return None
    return (2 * total + count) // (2 * count)


def yuan_or_none(fen: int | None) -> str:
    """Fen as yuan with two decimals (see :func:`app.core.money.yuan`), '—' for None."""
    return NONE if fen is None else yuan(fen)


# ------------------------------------------------------------------------------ reports


@dataclass
class Report:
    """What a report page shows: its tables and charts, and what it needs besides."""

    dealer_id: int | None
    tables: list[Table]
    charts: list[Chart] = field(default_factory=list)
    page: Any = None
    facts: dict[str, Any] = field(default_factory=dict)

    def table(self, key: str | None) -> Table | None:
        """The table named ``key`` (the first one when ``key`` is None)."""
        if key is None:
            return self.tables[0] if self.tables else None
        return next((t for t in self.tables if t.key == key), None)


@dataclass(frozen=True)
class Export:
    """A CSV file to download."""

    filename: str
    body: str


class ListPagination(Pagination):
    """Flask-SQLAlchemy's pager over a list already fetched (``items=``)."""

    def _query_items(self) -> list:
        start = (self.page - 1) * self.per_page
        return self._query_args["items"][start : start + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["items"])
