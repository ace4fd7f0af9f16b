"""Safe file output: atomic writes, inert formula-like text, and no suppressed figure in any file."""

import csv
import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

import surveykit
from surveykit.errors import SurveyKitError
from surveykit.publish.atomic import atomic_write
from surveykit.publish import write_tables
from surveykit.publish.csv import write_csv
from surveykit.publish.workbook import Sheet, write_workbook
from surveykit.publish.rules import publish_ascof, publishing_rules, round_half_away, round_to

NOTES = {"input_file": "ascs_2020-21.sav", "checksum": "9f86d081884c7d659a2feaa0c55ad015",
         "options": {"ci": "wald", "level": 0.95, "by": ["council"]}}
INJECTIONS = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tcmd", "\r=2"]


def _read_csv_cells(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _label(column):
    """The plain-English heading a tidy table's column gets in the workbook."""
    return publishing_rules()["column_labels"].get(column, column)


def _excel_text(text):
    """A stored string as Excel reads it: "_x000D_" is ECMA-376's escape of a carriage return."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def _xlsx_cells(path):
    """Every non-empty cell of every sheet: (sheet, row, column, cell)."""
    wb = openpyxl.load_workbook(path)
    return [(ws.title, c.row, c.column, c) for ws in wb for row in ws.iter_rows() for c in row
            if c.value is not None]


# ------------------------------------------------------------------------------------ atomic_write

def test_atomic_write_writes_whole_file(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write(target, lambda tmp: tmp.write_text("complete"))
    assert target.read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_leaves_nothing_when_writer_fails(tmp_path):
    target = tmp_path / "out.csv"

    def half_then_fail(tmp):
        tmp.write_text("partial,row\n")
        raise RuntimeError("disk trouble")

    with pytest.raises(RuntimeError, match="disk trouble"):
        atomic_write(target, half_then_fail)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_previous_file_when_writer_fails(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old good results")

    def fail(tmp):
        tmp.write_text("new half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, fail)
    assert target.read_text() == "old good results"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_write_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(SurveyKitError) as err:
        atomic_write(tmp_path / "no" / "such" / "out.csv", lambda tmp: tmp.write_text("x"))
    assert "out.csv" in str(err.value)


def test_workbook_failure_leaves_no_file(tmp_path):
    target = tmp_path / "results.xlsx"
    with pytest.raises(SurveyKitError):
        write_workbook({"bad:name": pd.DataFrame({"a": [1]})}, target, NOTES)
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------------- formula injection

def test_csv_makes_formula_text_inert_but_keeps_numbers(tmp_path):
    frame = pd.DataFrame({
        "text": INJECTIONS + ["-2.3", "plain"],
        "number": [-2.5, -1.0, 0.0, 1.5, 2.0, 3.0, 4.0, 5.0],
        "mixed": pd.Series(["=HYPERLINK(\"x\")", -7, None, "ok", 1.25, "@x", "a", "b"], dtype=object),
    })
    target = tmp_path / "t.csv"
    write_csv(frame, target)
    rows = _read_csv_cells(target)
    assert rows[0] == ["text", "number", "mixed"]
    assert [r[0] for r in rows[1:]] == ["'" + s for s in INJECTIONS] + ["-2.3", "plain"]
    assert [r[1] for r in rows[1:]] == ["-2.5", "-1.0", "0.0", "1.5", "2.0", "3.0", "4.0", "5.0"]
    assert [r[2] for r in rows[1:]] == ["'=HYPERLINK(\"x\")", "-7", "", "ok", "1.25", "'@x", "a", "b"]
    assert frame["text"].iloc[0] == "=1+1"  # caller's frame untouched


def test_csv_header_is_made_inert(tmp_path):
    target = tmp_path / "t.csv"
    write_csv(pd.DataFrame({"=cmd|' /C calc'!A0": [1]}), target)
    assert _read_csv_cells(target)[0] == ["'=cmd|' /C calc'!A0"]


def test_xlsx_keeps_formula_like_text_as_text(tmp_path):
    frame = pd.DataFrame({"area_name": INJECTIONS, "estimate": ["1.0"] * len(INJECTIONS)})
    target = tmp_path / "t.xlsx"
    write_workbook({"Table": frame}, target, NOTES)
    ws = openpyxl.load_workbook(target)["Table"]
    column = list(ws["A"])[-len(INJECTIONS):]
    assert [_excel_text(c.value) for c in column] == INJECTIONS
    assert all(c.data_type == "s" for c in column)
    assert all(c.quotePrefix for c in column)
    with zipfile.ZipFile(target) as zf:  # no formula element anywhere in the package
        assert not any(b"<f>" in zf.read(n) or b"<f " in zf.read(n) for n in zf.namelist())
    assert not any(cell.data_type == "f" for *_, cell in _xlsx_cells(target))


# ------------------------------------------------------------------------ no suppressed value leaks

# a note on a suppressed row would tell what the hidden figures are
SUPPRESSED_NOTE = "variance is 0 (census domain, or every answer the same): interval is the estimate"
SHOWN_NOTE = "the interval ran past the 0-100 scale and is cut at its end"


def _results_with_suppressed_rows():
    shown = dict(measure="3A", area_level="council", breakdown="total", group="Total", se=0.714,
                 ci_lower=66.25, ci_upper=69.05, margin_of_error=1.4, suppressed=False, df=17.0,
                 note=SUPPRESSED_NOTE)
    rows = [
        dict(shown, area_code="E1", area_name="Shown", estimate=67.65, respondents=6513, population=10015.0,
             note=SHOWN_NOTE),
        dict(shown, area_code="E2", area_name="Small base", estimate=12.3456789, se=3.33333331,
             ci_lower=5.8123456, ci_upper=18.8790123, margin_of_error=6.5333333, respondents=2,
             population=87654.321),
        dict(shown, area_code="E3", area_name="Flagged", estimate=43.2109876, se=2.71828183,
             ci_lower=37.8831752, ci_upper=48.5388, margin_of_error=5.3278324, respondents=4567,
             population=76543.219, suppressed=True),
        dict(shown, area_code="E4", area_name="Single", group="Male", breakdown="sex",
             estimate=98.7654321, se=0.56789012, ci_lower=97.6523675, ci_upper=99.8784967,
             margin_of_error=1.11306464, respondents=1, population=65432.178),
    ]
    return pd.DataFrame(rows)


def _forbidden_numbers(results):
    """Raw values of the suppressed rows and every rounded form a table might show."""
    hidden = results[results["area_code"].isin(["E2", "E3", "E4"])]
    numbers = set()
    for column in ["estimate", "se", "ci_lower", "ci_upper", "margin_of_error", "population"]:
        for v in hidden[column]:
            numbers |= {v, *(round_half_away(v, d) for d in range(4)), round_to(v, 5), round_to(v, 10)}
    numbers |= {4567.0, 4565.0}  # the flagged row's base
    return numbers


def _as_number(value):
    try:
        return float(str(value).replace(",", "").lstrip("'"))
    except ValueError:
        return None


def _assert_no_leak(values, forbidden):
    for value in values:
        number = _as_number(value)
        assert number is None or not any(np.isclose(number, f, rtol=0, atol=1e-9) for f in forbidden), value


def test_no_suppressed_value_reaches_any_written_file(tmp_path):
    results = _results_with_suppressed_rows()
    forbidden = _forbidden_numbers(results)
    csv_path, xlsx_path = tmp_path / "ascof.csv", tmp_path / "ascof.xlsx"
    write_tables(results, csv_path)  # raw results: published on the way out
    write_tables({"ASCOF": results, "Published": publish_ascof(results)}, xlsx_path, NOTES)

    csv_rows = _read_csv_cells(csv_path)
    header = csv_rows[0]
    _assert_no_leak([cell for row in csv_rows for cell in row], forbidden)
    by_code = {row[header.index("area_code")]: row for row in csv_rows[1:]}
    value_columns = ["estimate", "se", "ci_lower", "ci_upper", "margin_of_error", "respondents", "population",
                     "note"]
    for code in ["E2", "E3", "E4"]:
        assert [by_code[code][header.index(c)] for c in value_columns] == ["[c]"] * len(value_columns)
    assert by_code["E1"][header.index("estimate")] == "67.7"
    assert by_code["E1"][header.index("note")] == SHOWN_NOTE
    assert not any(SUPPRESSED_NOTE in cell for row in csv_rows for cell in row)
    assert "df" not in header
    assert [by_code[code][header.index("suppressed")] for code in ["E1", "E2", "E3", "E4"]] == \
        ["False", "True", "True", "True"]

    cells = _xlsx_cells(xlsx_path)
    _assert_no_leak([c.value for *_, c in cells], forbidden)
    assert {sheet for sheet, *_ in cells} == {"Contents", "ASCOF", "Published", "Notes"}
    for sheet in ["ASCOF", "Published"]:
        rows = {}
        for s, r, _, c in cells:
            if s == sheet:
                rows.setdefault(r, []).append(c.value)
        suppressed = [v for v in rows.values() if len(v) > 2 and v[2] in ("E2", "E3", "E4")]
        assert len(suppressed) == 3 and all(v[6:14] == ["[c]"] * 8 and v[14] == "True" for v in suppressed)
        assert SHOWN_NOTE in [v[13] for v in rows.values() if len(v) > 2 and v[2] == "E1"]
    assert SUPPRESSED_NOTE not in [c.value for *_, c in cells]
    with zipfile.ZipFile(xlsx_path) as zf:  # not hidden in any part of the package either
        blob = b"".join(zf.read(n) for n in zf.namelist())
    for raw in ["12.3456789", "43.2109876", "98.7654321", "87654.321", "4567"]:
        assert raw.encode() not in blob


# ------------------------------------------------------------------------------- workbook layout

def test_workbook_headers_formats_and_notes(tmp_path):
    results = _results_with_suppressed_rows()
    target = tmp_path / "results.xlsx"
    sheet = Sheet(publish_ascof(results), "ASCOF measures by council", ["3A: satisfied with care"])
    write_workbook({"ASCOF": sheet}, target, dict(NOTES, created="2025-06-30T10:00:00+00:00"))
    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames == ["Contents", "ASCOF", "Notes"]
    ws = wb["ASCOF"]
    assert ws["A1"].value == "ASCOF measures by council"
    assert ws["A2"].value == "3A: satisfied with care"
    assert ws["A3"].value.startswith("Symbols: [c] suppressed") and "[notes 1, 2, 3, 4]" in ws["A3"].value
    header_row = next(c.row for c in ws["A"] if c.value == "Measure code")
    assert ws.freeze_panes == f"A{header_row + 1}"
    headers = [c.value for c in ws[header_row]]
    assert headers[:8] == ["Measure code", "Area type", "Area code", "Area", "Split", "Group", "Outcome",
                           "Standard error"]
    first = {h: c for h, c in zip(headers, ws[header_row + 1])}
    assert first["Outcome"].value == 67.7 and first["Outcome"].number_format == "0.0"
    assert first["Standard error"].value == 0.71 and first["Standard error"].number_format == "0.00"
    assert first["Respondents"].value == 6515 and first["Respondents"].number_format == "#,##0"
    assert first["Estimated population"].value == 10020
    assert first["Estimated population"].number_format == "#,##0"
    assert first["Area code"].value == "E1" and first["Area code"].data_type == "s"
    assert ws.column_dimensions["D"].width >= len("Small base")

    notes = {r[0].value: r[1].value for r in wb["Notes"].iter_rows(min_row=3) if r[0].value}
    assert notes["Input file"] == "ascs_2020-21.sav"
    assert notes["Input checksum (SHA-256)"] == NOTES["checksum"]
    assert notes["surveykit version"] == surveykit.__version__
    assert notes["Date made"] == "2025-06-30"
    assert notes["Option: ci"] == "wald" and notes["Option: level"] == "0.95" and notes["Option: by"] == "council"
    assert notes["Note 1"].startswith("[c] Suppressed: fewer than 3 respondents")
    contents = [(r[0].value, r[1].value, r[0].hyperlink) for r in wb["Contents"].iter_rows(min_row=4)
                if r[0].value]
    assert [(name, text) for name, text, _ in contents][1:] == [
        ("ASCOF", "ASCOF measures by council"),
        ("Notes", "Where these tables came from (input file, its checksum, toolkit version, options, date) and "
                  "the numbered notes the tables cite")]
    assert [link.location for *_, link in contents[1:]] == ["'ASCOF'!A1", "'Notes'!A1"]


def test_write_tables_rejects_unknown_suffix(tmp_path):
    with pytest.raises(SurveyKitError, match=".ods"):
        write_tables(_results_with_suppressed_rows(), tmp_path / "r.ods")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------- workbook cells, by hand

def _table_cells(path, sheet="Table"):
    """Header row number and {column name: [data cells]} of a tidy table written by write_workbook, its
    columns found by their plain-English headings."""
    ws = openpyxl.load_workbook(path)[sheet]
    header_row = int(ws.freeze_panes[1:]) - 1
    headers = [c.value for c in ws[header_row]]
    labels = {_label(name): name for name in publishing_rules()["column_labels"]}
    columns = {labels.get(h, h): [] for h in headers}
    for row in ws.iter_rows(min_row=header_row + 1, max_col=len(headers)):
        for h, c in zip(headers, row):
            columns[labels.get(h, h)].append(c)
    return ws, header_row, columns


def test_published_number_text_gets_the_format_of_its_printed_decimals(tmp_path):
    frame = pd.DataFrame({
        "measure": ["1A", "1J", "3A", "3A", "3A"],
        "area_code": ["E1", "67.7", "E3", "E4", "E5"],       # not a value column: stays text
        "estimate": ["19.0", "0.412", "[c]", "+7", "1e999"],  # 1e999 cannot be a number: text
        "se": ["0.20", "0.005", "[c]", "-2.5", "=1+1"],
        "respondents": ["6515", "1235", "[c]", "007", "12"],
    })
    target = tmp_path / "t.xlsx"
    write_workbook({"Table": frame}, target, NOTES)
    _, _, col = _table_cells(target)
    assert [(c.value, c.number_format) for c in col["estimate"][:2]] == [(19.0, "0.0"), (0.412, "0.000")]
    assert (col["estimate"][3].value, col["estimate"][3].number_format) == (7, "0")
    assert [(c.value, c.number_format) for c in col["se"]][:2] == [(0.2, "0.00"), (0.005, "0.000")]
    assert (col["se"][3].value, col["se"][3].number_format) == (-2.5, "0.0")
    assert [c.value for c in col["respondents"]] == [6515, 1235, "[c]", 7, 12]
    assert [c.number_format for i, c in enumerate(col["respondents"]) if i != 2] == ["#,##0"] * 4
    # labels and other text in value columns: right-aligned text; formula-like also quote-prefixed
    for cell in [col["estimate"][2], col["estimate"][4], col["se"][2], col["se"][4], col["respondents"][2]]:
        assert cell.data_type == "s" and cell.alignment.horizontal == "right"
    assert col["estimate"][4].value == "1e999" and col["se"][4].value == "=1+1"
    assert col["se"][4].quotePrefix and not col["se"][2].quotePrefix
    assert [c.value for c in col["area_code"]] == ["E1", "67.7", "E3", "E4", "E5"]
    assert all(c.data_type == "s" and c.alignment.horizontal is None for c in col["area_code"])
    with zipfile.ZipFile(target) as zf:  # numbers are stored once, as numbers, not also as text
        xml = "".join(zf.read(n).decode() for n in zf.namelist() if n.endswith(".xml"))
    assert "<t>6515</t>" not in xml and "<t>0.412</t>" not in xml and "<t>67.7</t>" in xml
    assert "<v>6515</v>" in xml and "<v>0.412</v>" in xml and "<v>67.7</v>" not in xml


def test_workbook_cells_follow_column_dtypes(tmp_path):
    frame = pd.DataFrame({
        "n": np.array([1, 2, 3], dtype="int64"),
        "x": [0.5, np.nan, -np.inf],
        "flag": [True, False, True],
        "mixed": pd.Series(["a", 7, None], dtype=object),
        "nullable": pd.array([1, None, 3], dtype="Int64"),
        "group": pd.Categorical(["u", "v", "u"]),
        "respondents": np.array([6513, 0, 12], dtype="int64"),
        "estimate": [67.65, 1.0, np.nan],
        "text": pd.Series(["x", None, "@y"], dtype="str"),
    })
    target = tmp_path / "t.xlsx"
    write_workbook({"Table": frame}, target, NOTES)
    _, _, col = _table_cells(target)
    values = {name: [c.value for c in cells] for name, cells in col.items()}
    assert values["n"] == [1, 2, 3] and all(c.number_format == "General" for c in col["n"])
    assert values["x"] == [0.5, None, "-inf"] and col["x"][2].data_type == "s"
    assert values["flag"] == ["True", "False", "True"]
    assert values["mixed"] == ["a", "7", None] and col["mixed"][1].data_type == "s"
    assert values["nullable"] == [1, None, 3]
    assert values["group"] == ["u", "v", "u"]
    assert values["respondents"] == [6513, 0, 12]
    assert {c.number_format for c in col["respondents"]} == {"#,##0"}
    assert values["estimate"] == [67.65, 1.0, None] and col["estimate"][0].number_format == "0.0"
    assert values["text"] == ["x", None, "@y"] and col["text"][2].quotePrefix


def test_workbook_titles_and_headers_are_inert_and_styled(tmp_path):
    target = tmp_path / "t.xlsx"
    sheet = Sheet(pd.DataFrame({"=cmd|' /C calc'!A0": [1], "plain": ["a"]}), "=SUM(A1)", ["+definition"])
    write_workbook({"Table": sheet}, target, NOTES)
    ws, header_row, _ = _table_cells(target)
    assert ws["A1"].value == "=SUM(A1)" and ws["A1"].quotePrefix and ws["A1"].data_type == "s"
    assert ws["A1"].font.b and ws["A1"].font.sz == 14
    assert ws["A2"].value == "+definition" and ws["A2"].quotePrefix and not ws["A2"].font.b
    assert ws["A3"].value.startswith("Symbols: [c] suppressed")
    assert header_row == 5 and ws["A4"].value is None  # a blank line, then the header
    header = ws[f"A{header_row}"]
    assert header.value == "=cmd|' /C calc'!A0" and header.data_type == "s"
    assert header.quotePrefix and header.font.b
    assert ws[f"B{header_row}"].font.b and not ws[f"B{header_row}"].quotePrefix


def test_workbook_wide_sheet_letters_and_widths(tmp_path):
    frame = pd.DataFrame({f"c{i}": [i] for i in range(30)})
    frame["long"] = "y" * 100
    frame["short"] = "abc"
    target = tmp_path / "t.xlsx"
    write_workbook({"Table": frame}, target, NOTES)
    ws, header_row, col = _table_cells(target)
    assert ws[f"AD{header_row}"].value == "c29" and ws[f"AD{header_row + 1}"].value == 29
    assert ws.max_column == 32
    # xlsxwriter stores a width w as w + 5/7 (its pixel padding)
    assert ws.column_dimensions["AE"].width == pytest.approx(52 + 5 / 7, abs=0.01)  # 100 characters, capped
    assert ws.column_dimensions["AF"].width == pytest.approx(len("short") + 2 + 5 / 7, abs=0.01)
    assert ws.column_dimensions["A"].width == pytest.approx(6 + 5 / 7, abs=0.01)  # the narrowest column


def test_workbook_control_character_is_a_user_error_naming_the_cell(tmp_path):
    target = tmp_path / "t.xlsx"
    with pytest.raises(SurveyKitError) as err:
        write_workbook({"Table": pd.DataFrame({"area_name": ["ok", "bad\x01name"]})}, target, NOTES)
    # a title and the symbols line above, a blank line, the header in row 4: data in rows 5-6
    assert (err.value.row, err.value.column) == (6, "area_name") and "t.xlsx" in str(err.value)
    with pytest.raises(SurveyKitError, match="control character"):
        write_workbook({"Table": pd.DataFrame({"bad\x1fheader": [1]})}, target, NOTES)
    with pytest.raises(SurveyKitError) as err:
        write_workbook({"Table": pd.DataFrame({"who": pd.Series(["x", "\ud800"], dtype=object)})},
                       target, NOTES)
    assert err.value.column == "who"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["", "x" * 32, "a/b", "a[1]", "what?", "notes", "CONTENTS", "'quoted'"])
def test_workbook_rejects_bad_sheet_names(tmp_path, name):
    with pytest.raises(SurveyKitError, match="sheet name"):
        write_workbook({name: pd.DataFrame({"a": [1]})}, tmp_path / "t.xlsx", NOTES)
    assert list(tmp_path.iterdir()) == []


def test_workbook_sheet_names_rules(tmp_path):
    with pytest.raises(SurveyKitError, match="upper/lower case"):
        write_workbook({"ASCOF": pd.DataFrame({"a": [1]}), "ascof": pd.DataFrame({"a": [2]})},
                       tmp_path / "t.xlsx", NOTES)
    with pytest.raises(SurveyKitError, match="no tables"):
        write_workbook({}, tmp_path / "t.xlsx", NOTES)
    target = tmp_path / "t.xlsx"
    write_workbook({'R&D "<1>"': pd.DataFrame({"a": [1]}), "Answers by area": pd.DataFrame({"b": [2]})},
                   target, NOTES)
    assert openpyxl.load_workbook(target).sheetnames == ["Contents", 'R&D "<1>"', "Answers by area", "Notes"]


def test_workbook_empty_tables_keep_their_header(tmp_path):
    target = tmp_path / "t.xlsx"
    write_workbook({"Table": pd.DataFrame(columns=["measure", "estimate"]),
                    "Nothing": pd.DataFrame()}, target, NOTES)
    ws, header_row, col = _table_cells(target)
    assert col == {"measure": [], "estimate": []} and ws.max_row == header_row
    nothing = openpyxl.load_workbook(target)["Nothing"]
    assert nothing["A1"].value == "Nothing" and nothing.freeze_panes == "A5"


def test_workbook_bytes_depend_only_on_the_tables(tmp_path):
    results = _results_with_suppressed_rows()
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_tables({"ASCOF": results}, first, NOTES)
    write_tables({"ASCOF": results}, second, NOTES)
    assert first.read_bytes() == second.read_bytes()
