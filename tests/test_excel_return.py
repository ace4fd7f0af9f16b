"""The official Excel data return as councils hold it (surveykit/read/excel_return.py, folder.py).

Two kinds of workbook: ones built here with openpyxl straight from the template's own header texts
(tests/fixtures/template, copied from ../shared/reference), independent of surveykit's spec and writer; and
ones written by surveykit's official-layout writer, with the formulas' saved values (as Excel saves them)
and without (as a script writes them). Expected values are worked out here from what was put in.
"""

import re
import shutil
import signal
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from surveykit.cli import main
from surveykit.errors import SurveyKitError
from surveykit.official_workbook import write_official_workbook
from surveykit.questionnaire import load_spec
from surveykit.read import read_raw
from surveykit.contained import contained
from surveykit.synth import make_return, write_return

TEMPLATE = Path(__file__).parent / "fixtures" / "template" / "ascs-2021-22-template-columns.txt"
COUNCILS = pd.DataFrame({"council": ["211", "213", "316"], "council_name": ["Kirklees", "Wakefield", "Liverpool"]})


@pytest.fixture(scope="module")
def spec():
    return load_spec("ascs", "2021-22")


def template_headers() -> list[str]:
    """Row 1 of 'Service User Data' A..GB as the template has it (" / " stands for a line break)."""
    headers = []
    for line in TEMPLATE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Z]{1,2}) \| (.*) \| (input|formula)$", line)
        if m:
            headers.append(m.group(2).replace(" / ", "\n"))
    return headers


def template_workbook(path, people, *, council_name="Kirklees", code_cached=None, headers=None,
                      rows=4000, rename=None):
    """The template built with openpyxl: every header A..GB, formulas in A, C, D, E of rows 2..rows (no saved
    values, as openpyxl writes them), the Sign Off Sheet with the council chosen in E3 and the list in
    E18:F169, and ``people`` ({column letter: value}) from row 2 down."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = rename or "Service User Data"
    for j, text in enumerate(headers or template_headers(), start=1):
        if text:
            ws.cell(row=1, column=j, value=text)
    for r in range(2, rows + 1):
        ws.cell(row=r, column=1, value="='Sign Off Sheet'!$E$2")
        ws.cell(row=r, column=3, value=f'=IF(B{r}="","",A{r}&"_"&B{r})')
        ws.cell(row=r, column=4, value=f"=IF(M{r}=7,1,-9)")
        ws.cell(row=r, column=5, value=f"=IFERROR(VLOOKUP(D{r},'Eligible Population'!$B$56:$E$59,4,FALSE),\".\")")
        ws.cell(row=r, column=120, value=f"=D{r}")   # DP, the helper column also headed "Stratum"
    for i, person in enumerate(people):
        for letter, value in person.items():
            cell = ws[f"{letter}{i + 2}"]
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"
    so = wb.create_sheet("Sign Off Sheet")
    so["B2"], so["B3"] = "Council Code:", "Name of Council:"
    so["E2"] = code_cached if code_cached is not None else \
        '=IF($E$3="","Select LA name in cell below",VLOOKUP($E$3,$E$18:$F$169,2,FALSE))'
    if council_name:
        so["E3"] = council_name
    for k, (code, name) in enumerate(zip(COUNCILS["council"], COUNCILS["council_name"])):
        so.cell(row=18 + k, column=5, value=name)
        so.cell(row=18 + k, column=6, value=code).data_type = "s"
    wb.create_sheet("Eligible Population")
    wb.save(path)
    return path


def person(serial, response=1, age=70, psr=1, setting=1, questionnaire=1, **answers):
    """One person as the template's input columns B, F.. hold them."""
    row = {"B": serial, "F": 1, "G": response, "H": 2, "I": age, "M": psr, "N": setting, "AR": 2, "AS": 2,
           "AU": questionnaire}
    row.update(answers)
    return row


# ------------------------------------------------------------------------ the template's own headers

def test_template_headers_match_every_column_and_helpers_are_ignored(tmp_path, spec):
    path = template_workbook(tmp_path / "kirklees.xlsx", [person("S1", AY=2, BC=1), person("S2", age=40, BC=3)])
    raw = read_raw(path, spec)
    df = raw.data
    assert list(df.columns) == list(spec.columns) + ["_file", "_row"]   # A..CS only: DP "Stratum" ignored
    assert df["SerialNo"].tolist() == ["S1", "S2"] and df["_row"].tolist() == [2, 3]
    assert df["LaCode"].tolist() == ["211", "211"]        # E2 saved no value: E3 looked up in E18:F169
    np.testing.assert_array_equal(df["q1"].to_numpy(), [2, np.nan])
    np.testing.assert_array_equal(df["q3a"].to_numpy(), [1, 3])
    assert raw.empty_form_rows == 3999 - 2               # rows 2..4000 less the two people
    assert raw.population is None                        # the sheet is there but holds no populations
    assert raw.problems["rule"].tolist() == ["population not in return"]
    assert raw.problems["message"].iloc[0] == (
        "sheet 'Eligible Population': no eligible population in E56, E57, E58, E59 (saved without values, or not "
        "filled in): give a population file (--population)")


def test_a_deleted_column_is_one_error_naming_its_letter_and_header(tmp_path, spec):
    headers = template_headers()
    del headers[54]                                      # BC, Q3a: everything after shifts left
    path = template_workbook(tmp_path / "r.xlsx", [person("S1")], headers=headers)
    with pytest.raises(SurveyKitError) as err:
        read_raw(path, spec)
    text = str(err.value)
    assert text.startswith(f"{path}, row 1, column BC: sheet 'Service User Data' column BC: expected a header "
                           "like 'Q3a - Which of the following statements best describes how much control")
    assert "found 'Q3b - Do care and support services help you in having control" in text
    assert "columns differ" in text and "\n" not in text


def test_another_years_template_says_which_year_it_is(tmp_path, spec):
    headers = template_headers()
    headers[42] = "Reported Health Condition: No relevant Long Term Reported Health Condition (Voluntary Field)"
    path = template_workbook(tmp_path / "r.xlsx", [person("S1")], headers=headers)
    with pytest.raises(SurveyKitError) as err:
        read_raw(path, spec)
    assert "column AQ" in str(err.value)
    assert "The headers are those of the 2020-21 template: run with --year 2020-21?" in str(err.value)
    assert len(read_raw(path, load_spec("ascs", "2020-21")).data) == 1


def test_sign_off_sheet_council(tmp_path, spec):
    none = template_workbook(tmp_path / "none.xlsx", [person("S1")], council_name=None,
                             code_cached="Select LA name in cell below")
    with pytest.raises(SurveyKitError) as err:
        read_raw(none, spec)
    assert str(err.value) == (f"{none}: no council chosen: sheet 'Sign Off Sheet' cell E3 is blank (cell E2 says "
                              "'Select LA name in cell below'); choose the council there and save the workbook")
    cached = template_workbook(tmp_path / "cached.xlsx", [person("S1")], council_name="Liverpool", code_cached=316)
    assert read_raw(cached, spec).data["LaCode"].tolist() == ["316"]
    unknown = template_workbook(tmp_path / "unknown.xlsx", [person("S1")], council_name="Atlantis")
    with pytest.raises(SurveyKitError, match="council 'Atlantis' chosen in sheet 'Sign Off Sheet' cell E3 is not"):
        read_raw(unknown, spec)


def test_renamed_sheet_is_one_error(tmp_path, spec):
    path = template_workbook(tmp_path / "r.xlsx", [person("S1")], rename="Data")
    with pytest.raises(SurveyKitError, match=r"no sheet named 'Service User Data' \(the workbook has 'Data', "
                                             r"'Sign Off Sheet', 'Eligible Population'\): was it renamed\?"):
        read_raw(path, spec)


def test_bad_cells_are_problems_at_their_cells_and_reading_goes_on(tmp_path, spec):
    people = [person("S1", J="hello", AY=3.5), person("S2", AY=True, BC=1), person("S3", BC=1e300),
              person("S4", BC="2", AY="=HYPERLINK(1)")]
    raw = read_raw(template_workbook(tmp_path / "r.xlsx", people), spec)
    p = raw.problems[raw.problems["rule"] != "population not in return"]
    assert list(zip(p["row"], p["column"], p["value"])) == [
        (2, "Ethnicity", "hello"), (3, "q1", "TRUE"), (5, "q1", "=HYPERLINK(1)"), (4, "q3a", "1e+300")]
    assert (p["rule"] == "not a number").all() and (p["severity"] == "error").all()
    df = raw.data
    np.testing.assert_array_equal(df["q1"].to_numpy(), [3.5, np.nan, np.nan, np.nan])   # 3.5: validation's job
    np.testing.assert_array_equal(df["q3a"].to_numpy(), [np.nan, 1, np.nan, 2])          # "2" typed as text is 2
    assert df["Ethnicity"].isna().iloc[0]


def test_check_lists_problems_with_the_workbooks_cells(tmp_path, capsys, spec):
    path = template_workbook(tmp_path / "kirklees.xlsx",
                             [person("S1", J="hello"), person("S1", BC=9), person("S3", response=2, AY=2, AR=1)])
    status = main(["check", str(path), "--survey", "ascs", "--year", "2021-22", "--csv", str(tmp_path / "p.csv")])
    out = capsys.readouterr().out
    assert status == 3
    assert "ERROR   kirklees.xlsx Service User Data!J2: Ethnicity is text, not a number: set missing" in out
    assert "kirklees.xlsx Service User Data!BC3: q3a = 9 is not a valid code: set missing" in out
    assert "Service User Data!B2: serial number S1 is on 2 rows of council 211" in out
    assert "Service User Data!AY4: q1 is answered but the person did not respond" in out
    assert "Service User Data!AR4: Advocate must be 2 when the person did not respond" in out
    csv = pd.read_csv(tmp_path / "p.csv", dtype=str)
    assert "Service User Data!BC3" in set(csv["cell"])
    clean = template_workbook(tmp_path / "clean.xlsx", [person("S1", BC=1)])
    assert main(["check", str(clean), "--survey", "ascs", "--year", "2021-22"]) == 0


# ------------------------------------------------------------------- surveykit's official-layout writer

@pytest.fixture(scope="module")
def synthetic(spec):
    return make_return("ascs", "2021-22", councils=["211", "316"], seed=4, spec=spec)


@pytest.mark.parametrize("cached", [True, False])
def test_written_workbook_reads_back_with_or_without_saved_values(tmp_path, spec, synthetic, cached):
    paths = write_return(synthetic, tmp_path, "xlsx", spec=spec, cached=cached)
    raw = read_raw(paths["return"] / "211.xlsx", spec)
    rows = synthetic.data[synthetic.data["LaCode"] == "211"].reset_index(drop=True)
    inputs = [c for c in spec.columns if c not in spec.workbook.formula_columns]
    pd.testing.assert_frame_equal(raw.data[inputs], rows[inputs], check_dtype=False)
    assert raw.data["LaCode"].eq("211").all()
    assert raw.empty_form_rows == 3999 - len(rows)
    # the Eligible Population sheet: table 3 and the Q2c and 1J populations, saved or summed from tables 1-2
    expected = synthetic.population[synthetic.population["council"] == "211"].reset_index(drop=True)
    got = raw.population
    assert got["population"].tolist() == expected["population"].tolist()
    assert got["population_q2c"].tolist() == expected["population_q2c"].tolist()
    assert got["population_1j"].tolist() == expected["population_1j"].tolist()
    assert got["population_q2c"].iloc[0] == 0 and got["population_q2c"].iloc[2] == 0
    if cached:   # the form's own columns read back as their saved values
        assert raw.data["PrimaryKey"].iloc[0] == f"211_{rows['SerialNo'].iloc[0]}"


def test_folder_with_broken_workbooks_publishes_the_rest(tmp_path, spec, synthetic):
    paths = write_return(synthetic, tmp_path / "in", "xlsx", spec=spec)
    folder = paths["return"]
    good = read_raw(folder / "211.xlsx", spec)
    wb = openpyxl.load_workbook(folder / "316.xlsx")           # a council renames a sheet
    wb["Sign Off Sheet"].title = "Signoff"
    wb.save(folder / "renamed.xlsx")
    wb = openpyxl.load_workbook(folder / "316.xlsx")           # ... deletes column BC
    wb["Service User Data"].delete_cols(55)
    wb.save(folder / "deleted.xlsx")
    template_workbook(folder / "nocouncil.xlsx", [person("S1")], council_name=None,
                      code_cached="Select LA name in cell below")
    (folder / "notes.xlsx").write_text("not a workbook")
    (folder / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    (folder / "316.xlsx").rename(folder / "z316.xlsx")
    write_official_workbook(folder / "twice.xlsx", spec, synthetic.data[synthetic.data["LaCode"] == "211"],
                            council="211", council_name="Kirklees", council_list=COUNCILS)
    raw = read_raw(folder, spec, progress=False)
    files = raw.files.set_index("file")
    assert files.loc["211.xlsx", "status"] == "read" and files.loc["z316.xlsx", "status"] == "read"
    reasons = files.loc[files["status"] == "skipped", "reason"].to_dict()
    assert set(reasons) == {"renamed.xlsx", "deleted.xlsx", "nocouncil.xlsx", "notes.xlsx", "old.xls", "twice.xlsx"}
    assert "no sheet named 'Sign Off Sheet'" in reasons["renamed.xlsx"]
    assert "column BC: expected a header like 'Q3a" in reasons["deleted.xlsx"]
    assert "no council chosen" in reasons["nocouncil.xlsx"]
    assert "holds CSV text" in reasons["notes.xlsx"]
    assert "old-style .xls" in reasons["old.xls"]
    assert "council 211 is also the council of 211.xlsx" in reasons["twice.xlsx"]
    unreadable = raw.problems[raw.problems["rule"] == "unreadable return"]
    assert sorted(unreadable["file"]) == sorted(reasons) and (unreadable["severity"] == "error").all()
    assert sorted(set(raw.data["LaCode"])) == ["211", "316"]
    assert len(raw.data) == len(synthetic.data)
    assert raw.empty_form_rows == 2 * 3999 - len(synthetic.data)
    assert good.data["SerialNo"].tolist() == raw.data.loc[raw.data["_file"] == "211.xlsx", "SerialNo"].tolist()

    out = tmp_path / "results"
    status = main(["run", str(folder), "--survey", "ascs", "--year", "2021-22", "--out", str(out), "--quiet"])
    assert status == 3
    run = pd.read_json(out / "run.json", typ="series")
    assert sorted(s["file"] for s in run["skipped_files"]) == sorted(reasons)
    problems = pd.read_csv(out / "problems.csv", dtype=str)
    assert set(problems.loc[problems["rule"] == "unreadable return", "file"]) == set(reasons)
    ascof = pd.read_csv(out / "ascof.csv", dtype=str)
    assert set(ascof.loc[ascof["area_level"] == "council", "area_code"]) == {"211", "316"}
    # no lookup and no population file: England is the councils read and one for each workbook that could not
    # be (the copy of 211 is no other council): 2 of 2 + 5
    assert set(ascof.loc[ascof["area_level"] == "england", "area_name"]) == {"England (partial: 2 of 7 councils)"}
    assert "area built from part of the country" in set(problems["rule"])


def test_population_file_wins_and_a_difference_is_reported(tmp_path, spec, synthetic):
    paths = write_return(synthetic, tmp_path, "xlsx", spec=spec)
    pop = pd.read_csv(paths["population"], dtype=str)
    pop.loc[pop["LaCode"] == "211", "stratum2Pop"] = str(int(pop.loc[pop["LaCode"] == "211", "stratum2Pop"].iloc[0])
                                                         + 7)
    pop.to_csv(tmp_path / "changed.csv", index=False)
    from surveykit.pipeline import read_return
    ret = read_return(paths["return"] / "211.xlsx", "ascs", "2021-22", population=tmp_path / "changed.csv")
    differs = ret.problems[ret.problems["rule"] == "population differs"]
    assert len(differs) == 1 and "council 211 stratum 2: the population file says" in differs.iloc[0]["message"]
    n2 = int(pop.loc[pop["LaCode"] == "211", "stratum2Pop"].iloc[0])
    assert ret.population.set_index(["council", "stratum"]).loc[("211", 2), "population"] == n2
    own = read_return(paths["return"] / "211.xlsx", "ascs", "2021-22")
    assert own.population_source == "workbook" and own.problems.empty


# --------------------------------------------------------------------------- files that would hurt

def _zip_with(path, name, data: bytes, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "a", compression) as z:
        z.writestr(name, data)


def test_a_cell_far_down_the_sheet_is_refused_before_reading(tmp_path, spec):
    import xlsxwriter

    path = tmp_path / "far.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Service User Data")
    ws.write(0, 0, "LA Code")
    ws.write(1_000_000, 5000, "x")
    wb.add_worksheet("Sign Off Sheet")
    wb.close()
    with pytest.raises(SurveyKitError, match=r"refused: sheet 'Service User Data' spans A1:GJI1000001 "
                                             r"\(1,000,001 rows, 5,001 columns\)"):
        read_raw(path, spec)


def test_zip_bomb_and_entities_are_refused(tmp_path, spec):
    bomb = template_workbook(tmp_path / "bomb.xlsx", [person("S1")], rows=3)
    _zip_with(bomb, "xl/media/padding.bin", bytes(40 * 2**20))
    with pytest.raises(SurveyKitError, match="a zip bomb"):
        read_raw(bomb, spec)
    entity = template_workbook(tmp_path / "entity.xlsx", [person("S1")], rows=3)
    _zip_with(entity, "xl/extra.xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    with pytest.raises(SurveyKitError, match="declares XML entities"):
        read_raw(entity, spec)


def test_a_reader_that_crashes_is_one_clear_error():
    def crash():
        signal.raise_signal(signal.SIGSEGV)

    with pytest.raises(SurveyKitError) as err:
        contained(crash, file="damaged.sav", what="SPSS file")
    assert str(err.value) == ("damaged.sav: not a readable SPSS file: the reader crashed (segmentation fault) "
                              "on it (damaged file?)")


# ------------------------------------------------------------------ saved by a real spreadsheet program

@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not on PATH")
def test_a_workbook_libreoffice_recalculated_and_saved_reads_as_the_cached_one(tmp_path, spec, synthetic):
    """A script-written workbook (formulas with no saved values) opened and saved by LibreOffice: LibreOffice
    computes the template's formulas (the council from E3 by VLOOKUP, the form's stratum, table 3's sums,
    the Q2c and 1J populations) and the reader gets the same people and populations as from surveykit's
    own saved values: the formulas are the template's and mean what the reader takes them to mean."""
    rows = synthetic.data[synthetic.data["LaCode"] == "316"].reset_index(drop=True)
    cells = synthetic.eligible[synthetic.eligible["council"] == "316"]
    kwargs = dict(council="316", council_name="Liverpool", council_list=COUNCILS, eligible=cells)
    cached = write_official_workbook(tmp_path / "cached.xlsx", spec, rows, cached=True, **kwargs)
    (tmp_path / "in").mkdir()
    script = write_official_workbook(tmp_path / "in" / "script.xlsx", spec, rows, cached=False, **kwargs)
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xlsx",
                    "--outdir", str(tmp_path / "saved"), str(script)], check=True, capture_output=True, timeout=300)
    saved = read_raw(tmp_path / "saved" / "script.xlsx", spec)
    ours = read_raw(cached, spec)
    pd.testing.assert_frame_equal(saved.data.drop(columns="_file"), ours.data.drop(columns="_file"))
    pd.testing.assert_frame_equal(saved.population, ours.population)
    expected = synthetic.population[synthetic.population["council"] == "316"].reset_index(drop=True)
    assert saved.population["population_1j"].tolist() == expected["population_1j"].tolist()
    assert saved.problems.empty and saved.empty_form_rows == ours.empty_form_rows
