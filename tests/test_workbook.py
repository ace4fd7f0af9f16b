"""The results workbook as a survey lead opens and prints it: numbers stored as numbers with the right
formats, plain-English headings, Contents and Notes, print set-up, and no suppressed figure anywhere.

Two workbooks: one the main job writes for the bundled demo return (every sheet it has), and one written
from hand-made ASCOF results whose published figures are worked out here by hand."""

import dataclasses
import re
import shutil
import subprocess
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

import surveykit
from surveykit.pipeline import run_demo
from surveykit.publish import write_tables
from surveykit.publish.answer_tables import answers_sheets, question_heading
from surveykit.publish.ascof_tables import ascof_sheets, ledger_sheet, problems_sheet
from surveykit.publish.sheet import Block, PublishedSheet
from surveykit.publish.workbook import write_workbook
from surveykit.questionnaire import load_spec

SYMBOLS = {"[c]", "[w]", "[x]", "[z]"}
CODE_HEADINGS = {"Council code", "ONS code", "Area code", "Value found", "Cell"}   # identifiers: text
NOTES = {"input_file": "ascs.csv", "checksum": "ab" * 32, "options": {"ci": "logit"},
         "created": "2025-06-30T09:00:00+00:00"}
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    run_demo(out=out, quiet=True)
    return out


@pytest.fixture(scope="module")
def sace_demo(tmp_path_factory):
    """The SACE has no annex, so its results workbook carries the answers by area."""
    out = tmp_path_factory.mktemp("sace") / "out"
    run_demo(survey="sace", out=out, quiet=True)
    return out


def _code_heading(label) -> bool:
    """Identifier columns hold codes as text ("CASSR Code [note 4]" is the annex's)."""
    return label in CODE_HEADINGS or bool(re.match(r"(CASSR|ONS area) code\b", str(label or ""), re.I))


def _header_row(ws):
    """The label row: the row above the frozen panes."""
    return int(re.match(r"[A-Z]+(\d+)", ws.freeze_panes).group(1)) - 1


def _body(ws):
    """(label row, [labels], [[cells of a body row]]) of a table sheet."""
    header = _header_row(ws)
    labels = [c.value for c in ws[header]]
    rows = [list(row) for row in ws.iter_rows(min_row=header + 1, max_col=len(labels))]
    return header, labels, rows


def _table_sheets(wb):
    return [ws for ws in wb if ws.title not in ("Contents", "Notes")]


# ------------------------------------------------------------------------------- the demo workbook

def test_the_main_job_writes_contents_measures_answers_quality_and_notes(demo, sace_demo):
    # the ASCS's answers are the annex's, named as NHS Digital name its sheets
    annex = openpyxl.load_workbook(demo / "annex.xlsx", read_only=True)
    assert annex.sheetnames == ["Contents", "T1a - Answers by Council", "T1b - Answers by Council",
                                "T2a - Answers by Demographic", "T2b - Answers by Demographic",
                                "T3a - Answers by Response", "T3b - Answers by Response", "T4 - Response Rates",
                                "T5 - Margins of Error", "T6 - Demographics", "Notes"]
    sace = openpyxl.load_workbook(sace_demo / "results.xlsx", read_only=True)
    codes = load_spec("sace", "2023-24").measures
    assert sace.sheetnames == ["Contents", *[f"ASCOF {c}" if m.code_set else c for c, m in codes.items()],
                               "Answers by area", "Margins of error", "Ledger summary", "Problems", "Notes"]
    wb = openpyxl.load_workbook(demo / "results.xlsx")
    measures = load_spec("ascs", "2025-26").measures
    assert wb.sheetnames == ["Contents", *[f"ASCOF {c}" if m.code_set else c for c, m in measures.items()],
                             "Ledger summary", "Problems", "Notes"]
    contents = wb["Contents"]
    listed = {r[0].value: (r[0].hyperlink.location if r[0].hyperlink else None, r[1].value)
              for r in contents.iter_rows(min_row=1) if r[0].value in wb.sheetnames}
    assert set(listed) == set(wb.sheetnames) - {"Contents"}
    for name, (link, description) in listed.items():
        assert link == f"'{name}'!A1" and description
    assert listed["ASCOF 1B"][1].startswith("ASCOF 1B: Proportion of people who use services who have control")


@pytest.mark.parametrize("book", ["results.xlsx", "annex.xlsx", "sace"])
def test_every_number_in_every_workbook_is_stored_as_a_number(demo, sace_demo, book):
    wb = openpyxl.load_workbook(sace_demo / "results.xlsx" if book == "sace" else demo / book)
    for ws in _table_sheets(wb):
        _, labels, rows = _body(ws)
        numbers = 0
        for row in rows:
            for label, cell in zip(labels, row):
                if cell.value is None:
                    continue
                if isinstance(cell.value, str):
                    # text is a symbol, a label or a code, never a number stored as text
                    if not _code_heading(label):
                        assert cell.value in SYMBOLS or not re.fullmatch(r"[-+]?[\d,]*\.?\d+", cell.value), \
                            (ws.title, cell.coordinate, cell.value)
                    assert cell.data_type == "s"
                else:
                    assert cell.data_type == "n" and isinstance(cell.value, (int, float)), (ws.title, cell)
                    numbers += 1
        assert numbers or ws.title == "Problems", ws.title
    if book != "results.xlsx":
        return
    # the figures themselves: England's 1B total from the published CSV, now a number in the sheet
    published = pd.read_csv(demo / "ascof.csv", dtype=str)
    england = published[(published["measure"] == "1B") & (published["area_level"] == "england")
                        & (published["group"] == "Total")].iloc[0]
    _, labels, rows = _body(wb["ASCOF 1B"])
    assert rows[0][3].value == "England"
    assert rows[0][4].value == float(england["estimate"]) and rows[0][5].value == float(england["margin_of_error"])
    assert rows[0][6].value == int(england["respondents"])


def test_formats_follow_the_measure(demo, sace_demo):
    wb = openpyxl.load_workbook(demo / "results.xlsx")
    sace = openpyxl.load_workbook(sace_demo / "results.xlsx")

    def formats(sheet):
        _, labels, rows = _body(wb[sheet] if sheet in wb.sheetnames else sace[sheet])
        out = {}
        for label, cells in zip(labels, zip(*rows)):
            out.setdefault(label, set()).update(c.number_format for c in cells if not isinstance(c.value, str))
        return out

    assert formats("ASCOF 1B")["Percentage"] == {"0.0"} and formats("ASCOF 1B")["Margin of error"] == {"0.0"}
    assert formats("ASCOF 1A")["Score"] == {"0.0"}
    for sheet in ("ASCOF 1J", "ASCOT"):   # 3 dp, outcome and margin alike
        assert formats(sheet)["Score"] == {"0.000"} and formats(sheet)["Margin of error"] == {"0.000"}
    for sheet in ("ASCOF 1B", "ASCOF 1J", "Answers by area"):   # the last the SACE's
        assert formats(sheet)["Respondents"] == {"#,##0"}
    answers = formats("Answers by area")     # the SACE's
    assert answers["I am extremely satisfied"] == {"0.0"} and answers["Yes, a lot"] == {"0.0"}
    assert formats("Ledger summary")["Count"] == {"#,##0"}


def test_headings_are_plain_english(demo, sace_demo):
    wb = openpyxl.load_workbook(demo / "results.xlsx")
    sace = openpyxl.load_workbook(sace_demo / "results.xlsx")
    for ws in [*_table_sheets(wb), *_table_sheets(sace)]:
        header = _header_row(ws)
        for row in ws.iter_rows(max_row=header):
            for cell in row:
                if isinstance(cell.value, str):
                    assert not re.search(r"ci_lower|ci_upper|margin_of_error|q\d+\w*Comb|\w+_\w+|: \d+$",
                                         cell.value), (ws.title, cell.coordinate, cell.value)
    ws = wb["ASCOF 1B"]
    header = _header_row(ws)
    assert [c.value for c in ws[header]][:7] == ["Area type", "Council code", "ONS code", "Area", "Percentage",
                                                  "Margin of error", "Respondents"]
    blocks = [c.value for c in ws[header - 1] if c.value]
    assert blocks == ["Total", "Male", "Female", "Aged 18-64", "Aged 65 and over"]
    assert {str(r) for r in ws.merged_cells.ranges} >= {f"E{header - 1}:G{header - 1}", f"H{header - 1}:J{header - 1}"}
    assert ws["A1"].value == ("ASCOF 1B: Proportion of people who use services who have control over their "
                              "daily life")
    assert any("Definition: Percentage who have control over their daily life" in (ws.cell(r, 1).value or "")
               for r in range(2, header))
    answers = sace["Answers by area"]
    titles = [c.value for c in answers[_header_row(answers) - 1] if c.value]
    assert titles[0] == "Q1: How old is the person you care for?"


def test_areas_england_then_regions_then_councils_with_codes(demo):
    wb = openpyxl.load_workbook(demo / "results.xlsx")
    _, _, rows = _body(wb["ASCOF 4A"])
    lookup = pd.read_csv(surveykit.resources.bundled_path("bundled", "demo-councils.csv"), dtype=str)
    types = [r[0].value for r in rows]
    assert types == ["England"] + ["Region"] * 9 + ["Council"] * len(lookup)
    councils = rows[10:]
    assert [r[1].value for r in councils] == sorted(lookup["council"], key=int)
    by_code = dict(zip(lookup["council"], lookup["ons_code"]))
    assert all(r[2].value == by_code[r[1].value] for r in councils)
    assert [r[1].value for r in rows[:10]] == ["[z]"] * 10 and rows[0][2].value == "E92000001"
    assert wb["ASCOF 4A"].freeze_panes == f"E{_header_row(wb['ASCOF 4A']) + 1}"


def test_print_setup_autofilter_and_panes(demo):
    wb = openpyxl.load_workbook(demo / "results.xlsx")
    for ws in wb:
        setup = ws.page_setup
        assert setup.orientation == "landscape" and setup.paperSize == 9, ws.title
        assert ws.page_margins.left == 0.4 and ws.page_margins.bottom == 0.6
        assert "&P" in ws.oddFooter.right.text
        if ws.title in ("Contents", "Notes"):
            continue
        header = _header_row(ws)
        assert ws.auto_filter.ref.startswith(f"A{header}:")
        first = next(r for r in range(1, header + 1) if ws.cell(r, 1).value is None) + 1  # under the blank
        assert ws.print_title_rows == f"${first}:${header}", ws.title
        if ws.title == "Answers by area" or ws.title == "Margins of error":
            # too wide to fit one page: printed across pages at 75%, the area columns on every page, and
            # every page break at the start of a question
            assert setup.scale == 75 and ws.print_title_cols == "$A:$D"
            starts = {c.column - 1 for c in ws[header - 1] if c.value}
            breaks = [b.id for b in ws.col_breaks.brk]
            assert breaks and set(breaks) <= starts
        else:
            # one page wide (fitToWidth 1 is the default, so xlsxwriter leaves it out), as long as it takes
            assert ws.sheet_properties.pageSetUpPr.fitToPage and setup.fitToWidth in (None, 1)
            assert setup.fitToHeight == 0


def test_ledger_summary_counts_come_from_the_ledger(demo):
    ledger = pd.read_csv(demo / "ledger.csv")
    wb = openpyxl.load_workbook(demo / "results.xlsx")
    _, labels, rows = _body(wb["Ledger summary"])
    assert labels == ["Rows", "Count"]
    counts = {r[0].value: r[1].value for r in rows}
    assert counts["Rows read from the return"] == len(ledger)
    assert counts["Rows used (respondents)"] == int(ledger["used"].sum())
    excluded = ledger.loc[~ledger["used"], "reason"].value_counts()
    assert {k.removeprefix("Rows excluded: "): v for k, v in counts.items() if k.startswith("Rows excluded")} \
        == excluded.to_dict()
    assert counts["Empty rows of the official form skipped (not people, so not among the rows read)"] == 0


def test_notes_sheet_has_provenance_and_numbered_notes(demo):
    wb = openpyxl.load_workbook(demo / "results.xlsx")
    rows = {r[0].value: r[1].value for r in wb["Notes"].iter_rows() if r[0].value}
    run = pd.read_json(demo / "run.json", typ="series")
    assert rows["Input checksum (SHA-256)"] == run["checksum"]
    assert rows["Input file"] == run["input"] and rows["surveykit version"] == surveykit.__version__
    assert rows["Date made"] == str(run["created"])[:10]
    assert rows["Option: ci"] == "logit" and rows["Option: breakdowns"] == "(none)"
    assert rows["Note 1"].startswith("[c] Suppressed") and rows["Note 4"].startswith("[z] Not applicable")
    notes = [k for k in rows if re.fullmatch(r"Note \d+", str(k))]
    assert notes == [f"Note {i}" for i in range(1, len(notes) + 1)]
    cited = {int(n) for ws in _table_sheets(wb) for row in ws.iter_rows(max_row=8) for c in row
             if isinstance(c.value, str) for group in re.findall(r"\[notes? ([\d, ]+)\]", c.value)
             for n in group.split(",")}
    assert cited and cited <= set(range(1, len(notes) + 1))


# ----------------------------------------------------------------- hand-made results, worked by hand

def _results():
    """1B and 1J for England, one region and two councils, total and the four splits. One council has
    2 male respondents (suppressed, every figure of the row), the other a flagged row."""
    rows = []
    areas = [("england", "E92000001", "England"), ("region", "E12000001", "North East"),
             ("council", "102", "Longcester"), ("council", "209", "Stoneley")]
    splits = [("total", "Total"), ("sex", "Male"), ("sex", "Female"), ("age_group", "18-64"),
              ("age_group", "65 and over")]
    for measure, estimate, se in (("1B", 67.65, 0.7142857), ("1J", 0.41235, 0.0125)):
        for level, code, name in areas:
            for breakdown, group in splits:
                respondents = 6513
                suppressed = False
                if code == "102" and group == "Male":
                    respondents = 2
                if code == "209" and group == "Female":
                    suppressed = True
                rows.append(dict(measure=measure, measure_name="x", area_level=level, area_code=code,
                                 area_name=name, breakdown=breakdown, group=group, estimate=estimate,
                                 se=se, ci_lower=estimate - 1.96 * se, ci_upper=estimate + 1.96 * se,
                                 margin_of_error=1.96 * se, respondents=respondents, population=10015.0,
                                 suppressed=suppressed, df=10.0, deff=1.0, n_eff=100.0, note=""))
    return pd.DataFrame(rows)


LOOKUP = pd.DataFrame({"council": ["102", "209"], "council_name": ["Longcester", "Stoneley"],
                       "region_code": ["E12000001"] * 2, "region_name": ["North East"] * 2,
                       "ons_code": ["E06000001", np.nan]})


def test_measure_sheets_hold_the_published_figures(tmp_path):
    spec = load_spec("ascs", "2025-26")
    sheets = ascof_sheets(_results(), spec, LOOKUP)
    assert [s.name for s in sheets] == ["ASCOF 1B", "ASCOF 1J"]
    target = write_tables(sheets, tmp_path / "r.xlsx", NOTES)
    wb = openpyxl.load_workbook(target)
    _, labels, rows = _body(wb["ASCOF 1B"])
    values = [[c.value for c in row] for row in rows]
    # 67.65 -> 67.7; 1.96 x 0.7142857 = 1.40000 -> 1.4; 6513 -> 6515 (nearest 5)
    assert values[0][:7] == ["England", "[z]", "E92000001", "England", 67.7, 1.4, 6515]
    assert values[2][:4] == ["Council", "102", "E06000001", "Longcester"]
    assert values[3][:4] == ["Council", "209", "[x]", "Stoneley"]   # no ONS code in the lookup
    male = labels.index("Percentage", 7)
    assert values[2][male:male + 3] == ["[c]", "[c]", "[c]"]      # 2 respondents
    female = labels.index("Percentage", male + 1)
    assert values[3][female:female + 3] == ["[c]", "[c]", "[c]"]  # flagged
    assert values[2][female:female + 3] == [67.7, 1.4, 6515]
    _, _, rows = _body(wb["ASCOF 1J"])
    # 0.41235 -> 0.412; 1.96 x 0.0125 = 0.0245 -> 0.025 (half away from zero, 3 dp)
    assert [c.value for c in rows[0][4:7]] == [0.412, 0.025, 6515]
    assert [c.number_format for c in rows[0][4:7]] == ["0.000", "0.000", "#,##0"]


def test_no_suppressed_figure_reaches_the_workbook(tmp_path):
    spec = load_spec("ascs", "2025-26")
    results = _results()
    hidden = results[(results["area_code"] == "102") & (results["group"] == "Male")
                     | (results["area_code"] == "209") & (results["group"] == "Female")].copy()
    # make the hidden rows' figures unique, so any trace of them can be found
    results.loc[hidden.index, "estimate"] = [12.3456789, 0.9876543, 43.2109876, 0.6543219]
    results.loc[hidden.index, "margin_of_error"] = [6.5333333, 0.0777777, 5.3278324, 0.0888888]
    results.loc[hidden.index[hidden["group"] == "Female"], "respondents"] = 4567  # suppressed by the flag
    target = write_tables(ascof_sheets(results, spec, LOOKUP), tmp_path / "r.xlsx", NOTES)
    wb = openpyxl.load_workbook(target)
    shown = [c.value for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, (int, float))]
    forbidden = [12.3456789, 12.3, 0.988, 0.9876543, 43.2, 43.2109876, 0.654, 6.5, 6.5333333, 0.078, 5.3,
                 5.3278324, 0.089, 4565, 4567]
    assert not [v for v in shown if any(np.isclose(v, f, rtol=0, atol=1e-9) for f in forbidden)]
    with zipfile.ZipFile(target) as zf:
        blob = b"".join(zf.read(n) for n in zf.namelist())
    for raw in [b"12.3", b"43.2", b"0.988", b"0.654", b"4567", b"4565", b"6.53", b"5.32"]:
        assert raw not in blob


def test_problems_sheet_cells_and_rows(tmp_path):
    problems = pd.DataFrame({"severity": ["error", "warning"], "file": ["ascs.xlsx", "ascs.xlsx"],
                             "row": pd.array([12, None], dtype="Int64"), "cell": ["BC12", ""],
                             "column": ["q3a", "LaCode"], "value": ["7", "=1+1"],
                             "rule": ["out of range", "missing column"], "message": ["set missing", "left out"]})
    sheet = problems_sheet(problems)
    none = dataclasses.replace(problems_sheet(problems.iloc[:0]), name="No problems")
    target = write_workbook([sheet, none], tmp_path / "p.xlsx", NOTES)
    wb = openpyxl.load_workbook(target)
    _, labels, rows = _body(wb["Problems"])
    assert labels == ["Severity", "File", "Row", "Cell", "Column", "Value found", "Problem", "What it means"]
    assert [c.value for c in rows[0]] == ["Error", "ascs.xlsx", 12, "BC12", "q3a", "7", "out of range",
                                          "set missing"]
    assert rows[0][2].data_type == "n" and rows[0][5].data_type == "s"
    assert rows[1][2].value == "[z]" and rows[1][5].value == "=1+1" and rows[1][5].quotePrefix
    lines = [wb["No problems"].cell(r, 1).value for r in range(1, 4)]
    assert "No problems were found in the return." in lines
    many = problems_sheet(pd.concat([problems] * 3, ignore_index=True), limit=4)
    assert len(many.frame) == 4 and "The first 4 of 6 problems; problems.csv lists every one." in many.lines


def test_area_code_column_without_ons_codes_and_question_headings():
    spec = load_spec("ascs", "2025-26")
    sheets = ascof_sheets(_results(), spec, LOOKUP.drop(columns="ons_code"))
    block = sheets[0].blocks[0]
    assert block.labels == ("Area type", "Area code", "Area")
    assert sheets[0].frame.iloc[:, 1].tolist() == ["E92000001", "E12000001", "102", "209"]
    assert question_heading(spec, "q19a") == ("Q19a: Do you receive any practical help on a regular basis from "
                                              "your husband/wife, partner, friends, neighbours or family "
                                              "members? Option: Yes, from someone living in my household")
    assert question_heading(spec, "q3a").startswith("Q3a: Which of the following statements best describes")


def test_answers_sheets_from_raw_question_tables():
    spec = load_spec("ascs", "2025-26")
    raw = pd.DataFrame({"question": ["q7b"] * 4, "answer": [1, 2, 1, 2], "answer_label": ["Yes", "No"] * 2,
                        "area_level": ["england"] * 2 + ["council"] * 2, "area_code": ["E92000001"] * 2 + ["102"] * 2,
                        "area_name": ["England"] * 2 + ["Longcester"] * 2,
                        "percent": [81.25, 18.75, 50.0, 50.0], "margin_of_error": [2.05, 2.05, 40.0, 40.0],
                        "respondents": [1300, 300, 1, 1], "base": [1600, 1600, 2, 2],
                        "population": [10000.0, 2300.0, 10.0, 10.0]})
    percent, margin = answers_sheets(raw, spec)
    assert percent.blocks[1].labels == ("Yes", "No", "Respondents")
    # 81.25 -> 81.3, 18.75 -> 18.8 (halves away from zero); a base of 2 is suppressed
    assert percent.frame.iloc[0, 3:].tolist() == [81.3, 18.8, 1600]
    assert percent.frame.iloc[1, 3:].tolist() == ["[c]", "[c]", "[c]"]
    assert margin.frame.iloc[0, 3:].tolist() == [2.1, 2.1]


def test_a_published_sheet_may_not_hold_numbers_as_text(tmp_path):
    sheet = PublishedSheet(name="T", title="T", lines=[], frame=pd.DataFrame({"p": ["67.7", "[c]"]}, dtype=object),
                           blocks=[Block("", ("p",), ("Percentage",))], formats={"p": "percent"})
    with pytest.raises(ValueError, match="given as text"):
        write_workbook([sheet], tmp_path / "t.xlsx", NOTES)
    assert list(tmp_path.iterdir()) == []


def test_an_infinity_among_a_columns_numbers_is_written_as_text(tmp_path):
    # a mixed column's infinities become the text "inf"/"-inf" (Excel has no infinite number), NaN and None
    # blanks; the sheet's own frame is left as it was (pandas gives its arrays read-only)
    frame = pd.DataFrame({"a": pd.Series([1.5, float("inf"), "[c]", None, float("nan")], dtype=object),
                          "b": pd.Series(["x", -float("inf"), 2, 3, 4], dtype=object)})
    sheet = PublishedSheet("T", "T title", [], frame, [Block("", ("a", "b"), ("A", "B"))],
                           {"a": "percent", "b": "count"})
    write_workbook([sheet], tmp_path / "inf.xlsx", notes={}, title="t")
    ws = openpyxl.load_workbook(tmp_path / "inf.xlsx")["T"]
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=ws.max_row - 4)]
    assert body == [[1.5, "x"], ["inf", "-inf"], ["[c]", 2], [None, 3], [None, 4]]
    assert frame["a"].tolist()[1] == float("inf") and frame["b"].tolist()[1] == -float("inf")


def test_ledger_sheet_with_workbooks_left_out():
    class Return:
        empty_form_rows = 7
        files = pd.DataFrame({"file": ["a.xlsx", "b.xlsx", "c.xlsx"], "status": ["read", "skipped", "read"]})

        def summary(self):
            return pd.Series({"rows read": 10, "used": 6, "excluded: non-respondent": 4})

    frame = ledger_sheet(Return()).frame
    assert frame["rows"].tolist() == [10, 6, 4, 7, 2, 1]


# ------------------------------------------------------------------------------------ LibreOffice

@pytest.mark.libreoffice
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not on PATH")
def test_libreoffice_round_trip_keeps_every_value(demo, tmp_path):
    """LibreOffice opens the workbook and saves it again as .xlsx and as CSV ("as shown"): every value
    comes back the same, and each number is shown with its format's decimals."""
    source = demo / "results.xlsx"
    profile = (tmp_path / "lo-profile").as_uri()
    for target in ("xlsx", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"):
        subprocess.run([SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", target,
                        "--outdir", str(tmp_path / "lo"), str(source)], check=True, capture_output=True,
                       timeout=300)
    original = openpyxl.load_workbook(source)
    again = openpyxl.load_workbook(tmp_path / "lo" / "results.xlsx")
    assert again.sheetnames == original.sheetnames
    for ws in original:
        other = again[ws.title]
        for row in ws.iter_rows():
            for cell in row:
                back = other[cell.coordinate].value
                if isinstance(cell.value, float):
                    assert back == pytest.approx(cell.value, abs=1e-12), (ws.title, cell.coordinate)
                else:
                    assert back == cell.value, (ws.title, cell.coordinate, back, cell.value)
    shown = {}
    for path in (tmp_path / "lo").glob("results-*.csv"):
        shown[path.stem.removeprefix("results-")] = path.read_text(encoding="utf-8").splitlines()
    assert set(shown) == set(original.sheetnames)
    # England's row on 1J: outcome and margin shown to 3 decimals, respondents with a thousands comma
    ws = original["ASCOF 1J"]
    header = _header_row(ws)
    england = shown["ASCOF 1J"][header].split(",", 4)
    assert england[:4] == ["England", "[z]", "E92000001", "England"]
    outcome = ws.cell(header + 1, 5).value
    assert england[4].startswith(f"{outcome:.3f},")
    total = original["ASCOF 1B"].cell(header + 1, 7).value
    assert f'"{total:,}"' in shown["ASCOF 1B"][header] or f",{total}," in shown["ASCOF 1B"][header]


def test_sections_get_heading_rows_and_blocks_span_their_columns(tmp_path):
    """T2's shape: runs of rows under a heading row (Gender over Male, Female), a block over two columns."""
    from surveykit.publish.sheet import Section

    frame = pd.DataFrame({"group": ["Male", "Female", "18-64", "65 and over"],
                          "pct": [40.25, 59.75, 30.0, 70.0], "n": [400, 600, 300, 700]}, dtype=object)
    sheet = PublishedSheet(name="T2", title="Table 2", lines=["One line."], frame=frame,
                           blocks=[Block("", ("group",), ("Group",)),
                                   Block("All respondents", ("pct", "n"), ("Percentage", "Respondents"))],
                           formats={"pct": "percent", "n": "count"},
                           sections=[Section("Gender", 0, 1), Section("Age", 2, 3)], freeze_columns=1)
    wb = openpyxl.load_workbook(write_workbook([sheet], tmp_path / "t.xlsx", NOTES))
    ws = wb["T2"]
    header = _header_row(ws)
    assert header == 5 and ws.freeze_panes == "B6"      # title, line, blank, block headings, labels
    assert ws["B4"].value == "All respondents" and "B4:C4" in {str(r) for r in ws.merged_cells.ranges}
    column = [ws.cell(r, 1).value for r in range(header + 1, header + 7)]
    assert column == ["Gender", "Male", "Female", "Age", "18-64", "65 and over"]
    assert ws.cell(header + 1, 1).font.b and ws.cell(header + 1, 2).value is None
    assert [ws.cell(header + 2, c).value for c in (2, 3)] == [40.25, 400]
    assert ws.cell(header + 2, 2).number_format == "0.0" and ws.cell(header + 6, 3).value == 700
    assert ws.auto_filter.ref == f"A{header}:C{header + 6}"


def test_areas_are_ordered_england_regions_then_councils_by_number():
    from surveykit.publish.ascof_tables import area_columns

    published = pd.DataFrame({"area_level": ["council", "council", "england", "council", "region"],
                              "area_code": ["1000", "102", "E92000001", "99", "E12000001"],
                              "area_name": ["Thousand", "Longcester", "England", "Ninety-nine", "North East"]})
    areas, _ = area_columns(published)
    assert [code for _, code in areas.index] == ["E92000001", "E12000001", "99", "102", "1000"]
