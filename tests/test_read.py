"""Readers (surveykit/read/): every format gives the same RawReturn, and bad input gets one clear error.

The official Excel workbook has its own tests (test_excel_return.py); here a workbook appears only as one
of the three formats of the same return.

Expected values are written out by hand from the fixture definitions (tests/fixtures/pspp/make_fixtures.sps
and the frames built below), never read back through the code under test.
"""

import hashlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

from surveykit.errors import SurveyKitError
from surveykit.official_workbook import write_official_workbook
from surveykit.read import RawReturn, detect_format, read_councils, read_population, read_raw
from surveykit.questionnaire import ColumnSpec, load_spec

FIXTURES = Path(__file__).parent / "fixtures"
PSPP = FIXTURES / "pspp"
IO_FIXTURES = FIXTURES / "io"
REPO = Path(__file__).parent.parent


class SmallSpec:
    """The few attributes of a Questionnaire the readers use, for a ten-column return."""
    survey, year, council_column = "ascs", "2020-21", "LaCode"
    workbook = None   # no official workbook layout: these tests read CSV and SPSS

    def __init__(self):
        def col(name, kind="code", aliases=(), required=False):
            return ColumnSpec(name, list(aliases), kind, None, None, required, name.startswith("q"))
        self.columns = {c.name: c for c in [
            col("LaCode", "string", ["LA Code"], True),
            col("SerialNo", "string", ["SerialNumber"], True),
            col("Stratum", aliases=["Stratum"]),
            col("PopInStratum", "integer", ["Population In Stratum"]),
            col("MethodCollection", aliases=["Method of Collection"]),
            col("Response", required=True),
            col("Age", "integer", ["Age"]),
            col("Translated", aliases=["Language"]),
            col("q1"),
            col("q3a"),
        ]}


def small_spec():
    return SmallSpec()


@pytest.fixture(scope="module")
def spec():
    return load_spec("ascs", "2020-21")


def data_only(raw: RawReturn) -> pd.DataFrame:
    return raw.data.drop(columns=["_file", "_row"])


def message(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# ------------------------------------------------------------------------------------------ SPSS

@pytest.mark.parametrize("name", ["ascs-small.sav", "ascs-small.zsav"])
def test_pspp_files_read_with_user_missing_blank_and_labels(spec, name):
    raw = read_raw(PSPP / name, spec)
    df = raw.data
    assert isinstance(raw, RawReturn) and raw.survey == "ascs" and raw.year == "2020-21"
    assert raw.source == str(PSPP / name)
    assert raw.checksum == hashlib.sha256((PSPP / name).read_bytes()).hexdigest()
    assert len(df) == 10 and df["_row"].tolist() == list(range(1, 11))
    assert set(df["_file"]) == {name}
    # LaCode and SerialNo are numeric in the file: read as text without ".0"
    assert df["LaCode"].tolist() == ["211"] * 10
    assert df["SerialNo"].tolist() == [str(s) for s in range(1001, 1011)]
    # -9 is declared user-missing there: blank; sysmis "." blank too
    np.testing.assert_array_equal(df["q1"].to_numpy(), [2, 5, np.nan, np.nan, 1, 7, np.nan, 3, 1, 6])
    np.testing.assert_array_equal(df["Gender"].to_numpy(), [1, 2, 2, 1, np.nan, 1, 2, 2, 1, 2])
    np.testing.assert_array_equal(df["q12"].to_numpy(), [1, 3, 2, np.nan, 5, 4, np.nan, 1, 2, np.nan])
    np.testing.assert_array_equal(df["Response"].to_numpy(), [1, 1, 1, 2, 1, 1, 3, 1, 1, 1])
    # the computed items: 2 - serial mod 2 for respondents, blank for others
    np.testing.assert_array_equal(df["q22f"].to_numpy(), [1, 2, 1, np.nan, 1, 2, np.nan, 2, 1, 2])
    assert df["q3a"].dtype == np.float64 and df["LaCode"].dtype == "str"
    # canonical order: the spec's data-return order
    assert list(df.columns[:8]) == ["LaCode", "SerialNo", "Response", "Gender", "Age",
                                    "PrimarySupportReason", "SupportSetting", "Questionnaire"]
    assert raw.value_labels["Gender"] == {1: "Male", 2: "Female", 3: "Other"}
    assert raw.value_labels["q3a"][4] == "I have no control"


def test_sav_and_zsav_hold_the_same_data(spec):
    a, b = read_raw(PSPP / "ascs-small.sav", spec), read_raw(PSPP / "ascs-small.zsav", spec)
    pd.testing.assert_frame_equal(data_only(a), data_only(b))


def test_truncated_sav_is_one_clear_error(tmp_path, spec):
    cut = tmp_path / "cut.sav"
    cut.write_bytes((PSPP / "ascs-small.sav").read_bytes()[:1500])
    with pytest.raises(SurveyKitError) as err:
        read_raw(cut, spec)
    assert message(err).startswith(f"{cut}: not a readable SPSS file")


# ----------------------------------------------------------------------- same return, three formats

def small_return(spec) -> pd.DataFrame:
    """Six people of council 211, every column of the real spec, with -9s and blanks."""
    n = 6
    data = {}
    for name, col in spec.columns.items():
        data[name] = np.full(n, np.nan) if col.kind != "string" else pd.Series([None] * n, dtype="str")
    data["LaCode"] = pd.Series(["211"] * n, dtype="str")
    data["SerialNo"] = pd.Series(["0042", "1002", "1003", "A17", "1005", "1006"], dtype="str")
    data["Response"] = np.array([1, 1, 2, 1, 1, 3], dtype=float)
    data["Age"] = np.array([45, 82, 67, np.nan, 91, 30], dtype=float)
    data["Gender"] = np.array([1, -9, 2, 1, 2, 1], dtype=float)
    data["PrimarySupportReason"] = np.array([1, 2, 7, 1, 2, 8], dtype=float)
    data["SupportSetting"] = np.array([1, 1, 2, 1, 3, 1], dtype=float)
    data["q1"] = np.array([2, 7, np.nan, -9, 1, np.nan])
    data["q3a"] = np.array([1, 4, np.nan, 3, -9, np.nan])
    return pd.DataFrame(data)


def write_three_ways(frame: pd.DataFrame, spec, folder: Path):
    sav = frame.copy()
    for c in ("LaCode", "SerialNo", "PrimaryKey", "CentrallyFundedInfo"):
        sav[c] = sav[c].astype(object).where(sav[c].notna(), "")
    pyreadstat.write_sav(sav, folder / "r.sav")
    frame.to_csv(folder / "r.csv", index=False)
    councils = pd.DataFrame({"council": ["211"], "council_name": ["Kirklees"]})
    write_official_workbook(folder / "r.xlsx", spec, frame, council="211", council_name="Kirklees",
                            council_list=councils)
    return folder / "r.sav", folder / "r.csv", folder / "r.xlsx"


def test_same_return_as_sav_csv_xlsx_reads_identically(tmp_path, spec):
    frame = small_return(spec)
    reads = [read_raw(p, spec) for p in write_three_ways(frame, spec, tmp_path)]
    # what each format cannot hold is left out of the comparison: the workbook computes its own
    # primary key, stratum and population, and SPSS has no missing text (blank strings read as missing)
    computed = ["PrimaryKey", "Stratum", "PopInStratum"]
    for raw in reads:
        got = data_only(raw).drop(columns=computed)
        pd.testing.assert_frame_equal(got, frame.drop(columns=computed), check_dtype=False)
    # -9 is kept at this stage (validation recodes)
    assert reads[1].data["Gender"].iloc[1] == -9 and reads[2].data["q3a"].iloc[4] == -9
    assert reads[0].data["_row"].tolist() == [1, 2, 3, 4, 5, 6]          # SPSS case numbers
    assert reads[1].data["_row"].tolist() == [2, 3, 4, 5, 6, 7]          # CSV lines, header = line 1
    assert reads[2].data["_row"].tolist() == [2, 3, 4, 5, 6, 7]          # sheet rows, header = row 1
    # the workbook's own formula columns as the form computes them: stratum 1 for learning disability
    # support even with age missing is not tested here (age is given); person 4 has no age: -9
    np.testing.assert_array_equal(reads[2].data["Stratum"].to_numpy(), [2, 4, 1, -9, 3, 2])
    assert reads[2].data["PrimaryKey"].tolist() == ["211_0042", "211_1002", "211_1003", "211_A17", "211_1005",
                                                    "211_1006"]


# -------------------------------------------------------------------------------------------- CSV

def test_csv_any_order_case_bom_whitespace_blanks(tmp_path):
    path = tmp_path / "return.csv"
    path.write_bytes(
        "\ufeff q3A ,Response, serialnumber ,Extra,Q1,la code\r\n"
        " 2 ,1,  0042 ,x, -9 , 211 \r\n"
        ",2,1002,,,211\r\n"
        "\r\n"
        "4,1,1003,y,7,211.0\r\n".encode("utf-8"))
    raw = read_raw(path, small_spec())
    df = raw.data
    assert list(df.columns) == ["LaCode", "SerialNo", "Response", "q1", "q3a", "Extra", "_file", "_row"]
    assert df["LaCode"].tolist() == ["211", "211", "211"]
    assert df["SerialNo"].tolist() == ["0042", "1002", "1003"]
    np.testing.assert_array_equal(df["q1"].to_numpy(), [-9, np.nan, 7])
    np.testing.assert_array_equal(df["q3a"].to_numpy(), [2, np.nan, 4])
    assert df["_row"].tolist() == [2, 3, 5]          # the blank line 4 is not a person
    assert df["Extra"].iloc[0] == "x" and raw.value_labels == {}


def test_csv_missing_required_columns_names_them(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("LaCode,q1\n211,2\n")
    with pytest.raises(SurveyKitError) as err:
        read_raw(path, small_spec())
    assert message(err) == f"{path}: missing required columns: SerialNo, Response"


def test_csv_bad_cells_are_problems_and_the_cell_is_set_missing(tmp_path):
    """Text, TRUE, inf and a 400-digit number in number columns: one problem each, reading carries on."""
    path = tmp_path / "text.csv"
    path.write_text("LaCode,SerialNo,Response,q1,Q3a\n211,1,1,2,1\n211,2,1,2,3\n211,3,1,inf,Yes\n"
                    f"211,4,1,{'9' * 400},TRUE\n211,5,1,-inf,2\n")
    raw = read_raw(path, small_spec())
    p = raw.problems
    assert list(zip(p["row"], p["column"], p["value"], p["rule"])) == [
        (4, "q1", "inf", "not a number"), (5, "q1", "inf", "not a number"),   # pandas reads 9...9 as inf
        (6, "q1", "-inf", "not a number"),
        (4, "Q3a", "Yes", "not a number"), (5, "Q3a", "TRUE", "not a number")]
    assert (p["severity"] == "error").all() and (p["file"] == "text.csv").all()
    np.testing.assert_array_equal(raw.data["q3a"].to_numpy(), [1, 3, np.nan, np.nan, 2])
    np.testing.assert_array_equal(raw.data["q1"].to_numpy(), [2, 2, np.nan, np.nan, np.nan])
    assert p.iloc[3]["message"] == "Q3a is text, not a number: set missing"
    assert p.iloc[0]["message"] == "q1 is not a usable number (infinite or far too large): set missing"


def test_csv_two_headers_for_one_column(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("LaCode,SerialNo,SerialNumber,Response,q1,q3a\n211,1,1,1,2,1\n")
    with pytest.raises(SurveyKitError, match="two columns both read as SerialNo"):
        read_raw(path, small_spec())


def test_csv_fixture_with_semicolons_and_cp1252():
    raw = read_raw(IO_FIXTURES / "semicolon-cp1252.csv", small_spec())
    assert raw.data["LaCode"].tolist() == ["316", "316"]
    assert raw.data["Extra"].tolist() == ["£12", "café"]
    np.testing.assert_array_equal(raw.data["q1"].to_numpy(), [3, np.nan])


# ------------------------------------------------------------------------------- content vs. name

def test_file_not_what_its_extension_says(tmp_path, spec):
    csv_as_sav = tmp_path / "return.sav"
    csv_as_sav.write_text("LaCode,SerialNo\n211,1\n")
    with pytest.raises(SurveyKitError) as err:
        read_raw(csv_as_sav, spec)
    assert message(err) == (f"{csv_as_sav}: the name ends .sav but the file holds CSV text: "
                            "rename it or export it again")
    sav_as_csv = tmp_path / "return.csv"
    sav_as_csv.write_bytes((PSPP / "ascs-small.sav").read_bytes())
    with pytest.raises(SurveyKitError, match="ends .csv but the file holds an SPSS data file"):
        read_raw(sav_as_csv, spec)
    old_xls = tmp_path / "return.xlsx"
    old_xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(SurveyKitError, match="old-style .xls"):
        read_raw(old_xls, spec)
    binary = tmp_path / "return.dat"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SurveyKitError, match="not a data return"):
        read_raw(binary, spec)


def test_unknown_extension_dispatches_on_content(tmp_path, spec):
    copy = tmp_path / "export.data"
    copy.write_bytes((PSPP / "ascs-small.zsav").read_bytes())
    assert detect_format(copy) == "spss"
    assert len(read_raw(copy, spec).data) == 10


def test_missing_and_empty_files(tmp_path, spec):
    with pytest.raises(SurveyKitError, match="no such file"):
        read_raw(tmp_path / "nope.csv", spec)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SurveyKitError, match="the file is empty"):
        read_raw(empty, spec)


# ------------------------------------------------------------------------------------- populations

def test_population_wide_csv_to_long(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("LaCode,stratum1Pop,stratum2Pop,stratum3Pop,stratum4Pop,stratum1Sample,stratum2Sample,"
                    "stratum3Sample,stratum4Sample\n"
                    "211,120,800,450,1600,60,200,150,300\n"
                    "213,95.0,610,300,990,,180,120,250\n")
    pop = read_population(path)
    assert list(pop.columns) == ["council", "stratum", "population", "sample"]
    assert pop["council"].tolist() == ["211"] * 4 + ["213"] * 4
    assert pop["stratum"].tolist() == [1, 2, 3, 4] * 2
    assert pop["population"].tolist() == [120, 800, 450, 1600, 95, 610, 300, 990]
    assert pop["sample"].isna().tolist() == [False] * 4 + [True] + [False] * 3
    assert pop["sample"].dropna().tolist() == [60, 200, 150, 300, 180, 120, 250]
    assert pop["sample"].dtype == "Int64" and pop["population"].dtype == np.int64


def test_population_long_xlsx_matches_wide(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Council", "Stratum", "Population", "Sample"])
    for council, pops in (("213", [95, 610]), ("211", [120, 800])):
        for s, p in enumerate(pops, 1):
            ws.append([int(council), s, p, None if s == 2 else 10])
    wb.save(tmp_path / "pop.xlsx")
    pop = read_population(tmp_path / "pop.xlsx")
    assert pop["council"].tolist() == ["213", "213", "211", "211"]
    assert pop["stratum"].tolist() == [1, 2, 1, 2]
    assert pop["population"].tolist() == [95, 610, 120, 800]
    assert pop["sample"].isna().tolist() == [False, True, False, True]


def test_population_wide_stratum_missing(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("LaCode,stratum1Pop,stratum2Pop,stratum3Pop,stratum4Pop\n211,1,2,3,4\n213,1,2,,4\n")
    with pytest.raises(SurveyKitError) as err:
        read_population(path)
    assert message(err) == f"{path}, row 3, column stratum3Pop: blank: every council needs a value here"
    gap = tmp_path / "gap.csv"
    gap.write_text("LaCode,stratum1Pop,stratum2Pop,stratum4Pop\n211,1,2,4\n")
    with pytest.raises(SurveyKitError) as err:
        read_population(gap)
    assert message(err) == f"{gap}, column stratum3Pop: no column for stratum 3 (the table has strata up to 4)"


def test_population_long_stratum_missing(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("council,stratum,population\n211,1,10\n211,2,20\n213,1,5\n")
    with pytest.raises(SurveyKitError) as err:
        read_population(path)
    assert message(err) == (f"{path}, row 4, column stratum: council 213 has no row for stratum 2 "
                            "(every council needs strata 1-2)")


@pytest.mark.parametrize("value,said", [
    ("-5", "'-5' is not a whole number of people (0 or more)"),
    ("12.5", "'12.5' is not a whole number of people (0 or more)"),
    ("many", "'many' is not a whole number of people (0 or more)"),
    ("1e20", "'1e20' is far too large for a number of people"),
    ("9" * 400, "'999999999999999999999999999999…' (400 characters) is far too large for a number of people"),
    ("inf", "'inf' is infinite, not a number of people"),
    ("-inf", "'-inf' is infinite, not a number of people")])
def test_population_bad_numbers(tmp_path, value, said):
    path = tmp_path / "pop.csv"
    path.write_text(f"council,stratum,population\n211,1,10\n211,2,{value}\n")
    with pytest.raises(SurveyKitError) as err:
        read_population(path)
    text = message(err)
    assert text == f"{path}, row 3, column population: {said}"   # a 400-digit value is cut, not echoed


def test_population_sub_populations_wide_and_long(tmp_path):
    """Named populations Q2c and 1J: wide stratum{h}Pop<name>, long population_<name>; unlisted strata 0."""
    wide = tmp_path / "wide.csv"
    wide.write_text("LaCode,stratum1Pop,stratum2Pop,stratum3Pop,stratum4Pop,stratum2PopQ2c,stratum4PopQ2c,"
                    "stratum2Pop1J,stratum4Pop1J\n211,100,200,300,400,180,400,150,380\n")
    pop = read_population(wide)
    assert pop["population_q2c"].tolist() == [0, 180, 0, 400]
    assert pop["population_1j"].tolist() == [0, 150, 0, 380]
    long = tmp_path / "long.csv"
    long.write_text("council,stratum,population,population_q2c\n211,1,100,0\n211,2,200,180\n")
    assert read_population(long)["population_q2c"].tolist() == [0, 180]


def test_population_duplicate_council(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text("LaCode,stratum1Pop\n211,5\n211,6\n")
    with pytest.raises(SurveyKitError, match="row 3, column LaCode: the same council appears twice"):
        read_population(path)


# ---------------------------------------------------------------------------------------- councils

def test_councils_tolerant_headers(tmp_path):
    path = tmp_path / "councils.csv"
    path.write_bytes("\ufeffLA Code , Council Name,Region Code,Region\n 211 ,Eastshire , E12000006,East\n"
                     "213.0,Westham,E12000007,London\n".encode())
    out = read_councils(path)
    assert list(out.columns) == ["council", "council_name", "region_code", "region_name", "ons_code"]
    assert out.iloc[:, :4].values.tolist() == [["211", "Eastshire", "E12000006", "East"],
                                               ["213", "Westham", "E12000007", "London"]]
    assert out["ons_code"].isna().all()   # optional


def test_councils_bundled_synthetic_lookup():
    out = read_councils(REPO / "weights" / "councils-synthetic.csv")
    assert out.iloc[0].tolist()[:4] == ["102", "Longcester Borough Council", "E12000001", "North East"]
    assert out["ons_code"].str.fullmatch(r"E0[6-9]\d{6}|E10\d{6}").all()
    assert out["council"].is_unique


def test_councils_missing_name_column(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("code,region\n211,East\n")
    with pytest.raises(SurveyKitError, match="council lookup needs columns council_name"):
        read_councils(path)


def test_csv_line_with_too_many_cells(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("LaCode,SerialNo,Response,q1,q3a\n211,1,1,2,1\n211,2,1,2,1,5\n")
    with pytest.raises(SurveyKitError) as err:
        read_raw(path, small_spec())
    assert message(err) == f"{path}, row 3: more cells than the 5 columns the header names"


def test_a_pspp_file_with_only_the_ascof_items_runs_and_says_what_it_omits(tmp_path):
    """Written by GNU PSPP (tests/fixtures/pspp/ascof-items.sps): the strata's inputs and the items of 1A,
    1B, 1I(1), 3A, 3D(1), 4A and 4B only. It runs; each missing column a measure or table needs is one
    warning, and what needs it is left out (1J, the other questions' tables)."""
    from surveykit.cli import main

    pop = tmp_path / "pop.csv"
    pop.write_text("LaCode,stratum1Pop,stratum2Pop,stratum3Pop,stratum4Pop\n316,100,100,100,100\n")
    out = tmp_path / "out"
    status = main(["run", str(PSPP / "ascs-ascof-items.sav"), "--survey", "ascs", "--year", "2025-26",
                   "--population", str(pop), "--out", str(out), "--quiet"])
    assert status == 0
    problems = pd.read_csv(out / "problems.csv", dtype=str)
    missing = problems[problems["rule"] == "optional column missing"]
    assert set(missing["column"]) >= {"q13", "q15a", "q17", "q18", "q2a", "q22a"}
    assert (missing["severity"] == "warning").all() and "q3a" not in set(missing["column"])
    q13 = missing.set_index("column").loc["q13", "message"]
    assert q13.startswith("column q13 is not in the return: omitted measure 1J, question q13")
    ascof = pd.read_csv(out / "ascof.csv", dtype=str)
    assert set(ascof["measure"]) == {"1A", "1B", "1I(1)", "3A", "3D(1)", "4A", "4B", "ASCOT"}
    # 1B by hand: strata 1 and 2 all in control (2 of 2 each), strata 3 and 4 two of three; N = 100 each
    council = ascof[(ascof["measure"] == "1B") & (ascof["area_level"] == "council") & (ascof["breakdown"] == "total")]
    assert council["estimate"].iloc[0] == "83.3"     # 100 (1 + 1 + 2/3 + 2/3) / 4
    run = pd.read_json(out / "run.json", typ="series")
    assert run["omitted"]["measure 1J"] == "column q15a is not in the return"   # the first of its inputs missing
