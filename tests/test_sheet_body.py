"""Table bodies written as SpreadsheetML and spliced into xlsxwriter's sheets (publish/sheet_body.py): every
cell reads back with its value, type, number format, alignment and quote prefix; text is escaped and never a
formula; the sheet's dimension covers the body; section headings stay rows of their own."""

import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from surveykit.publish.sheet import Block, PublishedSheet, Section
from surveykit.publish.sheet_body import _number_texts, number_text
from surveykit.workbook_layout import column_index, column_letter
from surveykit.publish.workbook import write_workbook


def test_column_letters_and_back():
    for index, letters in [(0, "A"), (25, "Z"), (26, "AA"), (51, "AZ"), (52, "BA"), (701, "ZZ"), (702, "AAA"),
                           (16383, "XFD")]:
        assert column_letter(index) == letters
        assert column_index(letters) == index


def test_numbers_are_written_exactly():
    assert number_text(0.1) == "0.1"
    assert float(number_text(1 / 3)) == 1 / 3          # 17 significant digits where 16 would not read back
    assert float(number_text(2 ** 0.5)) == 2 ** 0.5
    assert number_text(7) == "7" and number_text(np.int64(12)) == "12"
    assert number_text(np.float64(67.7)) == "67.7" and number_text(np.float32(0.5)) == "0.5"
    assert number_text(10 ** 17) == "100000000000000000"


def test_a_column_of_numbers_is_written_as_each_number_alone_would_be():
    # the one-pass path (all floats, all ints) and the mixed one give number_text's text, value by value
    for values in ([0.1, 1 / 3, 67.7, 2.0], [7, 10 ** 17, True, False], [np.float64(67.7), 0.5],
                   [1, 2.5, np.int64(12)], [np.float32(0.1), np.int64(3)], []):
        assert _number_texts(values) == [number_text(v) for v in values], values


def _as_excel_reads(text):
    """ECMA-376's escapes undone: "_x000D_" is a carriage return, "_x005F_" an underscore before one."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


@pytest.fixture
def workbook(tmp_path):
    frame = pd.DataFrame({
        "name": ["North_x0041_town", "A & B <council>", "  padded", "=SUM(A1:A2)", "South\rtown"],
        "pct": [67.7, "[c]", 1 / 3, "[x]", None],
        "count": [1200, 5, np.int64(123456), None, 0],
        "score": [np.float64(0.7123), 0.0, -0.25, "[z]", 19.5],
    }, dtype=object)
    sheet = PublishedSheet(
        name="T1", title="Table 1", lines=["How to read it"], frame=frame,
        blocks=[Block("", ("name",), ("Council",)), Block("Q1 words", ("pct", "count"), ("Percent", "Respondents")),
                Block("", ("score",), ("Score",))],
        formats={"pct": "percent", "count": "count", "score": "score3"},
        sections=[Section("First part", 0, 1), Section("Second part", 2, 4)], freeze_columns=1)
    path = write_workbook([sheet], tmp_path / "t.xlsx", notes={"created": "2025-06-30T09:00:00+00:00"})
    return path, frame


def test_every_body_cell_reads_back_as_written(workbook):
    path, frame = workbook
    ws = openpyxl.load_workbook(path)["T1"]
    # title, one line, a blank row, block titles, labels: the body starts on row 6, pushed down by two headings
    assert ws["A6"].value == "First part" and ws["A6"].font.b
    assert [ws.cell(6, j).value for j in range(2, 5)] == [None, None, None]
    assert ws["A9"].value == "Second part"
    sheet_rows = [7, 8, 10, 11, 12]
    expected_formats = {2: "0.0", 3: "#,##0", 4: "0.000"}
    for i, row in enumerate(sheet_rows):
        for j, column in enumerate(frame.columns, start=1):
            value, cell = frame.iloc[i, j - 1], ws.cell(row, j)
            if value is None:
                assert cell.value is None
            elif isinstance(value, str):
                assert cell.data_type == "s" and _as_excel_reads(cell.value) == value
                assert cell.alignment.horizontal == ("right" if j > 1 else None)   # symbols align with numbers
                assert cell.quotePrefix == value.startswith("=")                 # kept as text when edited
            else:
                assert cell.data_type == "n" and cell.value == value and type(cell.value) is (
                    int if isinstance(value, (int, np.integer)) else float)
                assert cell.number_format == expected_formats[j]


def test_the_sheet_xml_holds_no_formula_and_a_dimension_over_the_body(workbook):
    path, _ = workbook
    with zipfile.ZipFile(path) as package:
        names = package.namelist()
        xml = package.read("xl/worksheets/sheet2.xml").decode()
    assert names[0] == "[Content_Types].xml"
    assert '<dimension ref="A1:D12"/>' in xml
    assert "<f>" not in xml
    assert "A &amp; B &lt;council&gt;" in xml and "South_x000D_town" in xml and "North_x005F_x0041_town" in xml and '<t xml:space="preserve">  padded</t>' in xml
    rows = [int(r) for r in re.findall(r'<row r="(\d+)"', xml)]
    assert rows == sorted(rows) and len(rows) == len(set(rows))
