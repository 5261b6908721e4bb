"""The one CSV download every report uses, and the one yuan formatter (signed amounts too)."""

import pytest

from app.admin.insight import Cell, Column, Table, csv_response, yuan


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


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (5, "0.05"), (123456, "1234.56"), (-5, "-0.05"), (-1230, "-12.30")],
)
def test_yuan_shows_fen_with_two_decimals_and_a_sign(fen, text):
    assert yuan(fen) == text
