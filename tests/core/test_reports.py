"""The report toolkit (app/core/reports.py): the one CSV download every report uses, rows,
charts and the figures' formats."""

from app.core.reports import (
    NONE,
    Cell,
    Column,
    Report,
    Table,
    average_fen,
    chart,
    csv_response,
    row,
    yuan_or_none,
)
from app.members.scope import export_table


def test_a_table_downloads_as_an_uncached_utf8_csv_attachment(app):
    table = Table("owners", "Owners", [Column("Name"), Column("Points", True)], [])
    table.rows = [[Cell("张伟"), Cell("120")], [Cell("=1+1"), Cell("-5")]]
    with app.test_request_context():
        response = csv_response("owners-SZ01.csv", table)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="owners-SZ01.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data().decode("utf-8")
    assert body == "\ufeffName,Points\r\n张伟,120\r\n'=1+1,'-5\r\n"


def test_csv_text_downloads_as_it_is(app):
    with app.test_request_context():
        response = csv_response("list.csv", "\ufeffa,b\r\n1,2\r\n")
    assert response.get_data().decode("utf-8") == "\ufeffa,b\r\n1,2\r\n"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_row_is_cells_of_the_values_texts():
    owner = Cell("张伟", 7)
    assert row(owner, 120, "—") == [owner, Cell("120"), Cell("—")]


def test_a_chart_scales_bars_to_the_longest_or_to_its_scale():
    drawn = chart("T", [("a", "3", [("x", "", 3), ("y", "", 1)]), ("b", "2", [("x", "", 2)])])
    assert [(p.x, p.width) for p in drawn.bars[0].parts] == [(0, 75.0), (75.0, 25.0)]
    assert [(p.x, p.width) for p in drawn.bars[1].parts] == [(0, 50.0)]
    assert chart("T", [("a", "50%", [("x", "", 50)])], scale=100).bars[0].parts[0].width == 50.0
    assert chart("T", [("a", "0", [("x", "", 0)])]).bars[0].parts == ()


def test_money_cells_and_averages():
    assert yuan_or_none(123456) == "1234.56"
    assert yuan_or_none(None) == NONE
    assert average_fen(523_342_00, 220) == 237_883  # ¥523,342 ÷ 220, half up to a fen
    assert average_fen(5, 2) == 3
    assert average_fen(100, 0) is None


def test_an_export_names_the_report_the_table_and_the_scope(ctx):
    from tests.factories import make_dealer

    dealer = make_dealer("SZ01")
    table = Table("cars", "Cars", [Column("Car")], [row("Golf")])
    report = Report(dealer.id, [table])
    export = export_table(report, None, prefix="insight-lost", stamp="2026-11")
    assert export.filename == "insight-lost-cars-SZ01-2026-11.csv"
    assert export.body == "\ufeffCar\r\nGolf\r\n"
    every = export_table(Report(None, [table]), "cars", prefix="p", stamp="x")
    assert every.filename == "p-cars-all-x.csv"
    assert export_table(report, "nope", prefix="p", stamp="x") is None
