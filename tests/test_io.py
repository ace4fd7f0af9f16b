"""Readers of surveykit/io.py: every format gives the same RawReturn, and bad input gets one clear error.

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
from surveykit.io import (RawReturn, detect_format, read_councils, read_population, read_raw,
                          write_excel_return)
from surveykit.questionnaire import ColumnSpec, load_spec

FIXTURES = Path(__file__).parent / "fixtures"
PSPP = FIXTURES / "pspp"
IO_FIXTURES = FIXTURES / "io"
REPO = Path(__file__).parent.parent


class SmallSpec:
    """The few attributes of a Questionnaire the readers use, for a ten-column return."""
    survey, year, council_column = "ascs", "2020-21", "LaCode"

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
            col("q1", required=True),
            col("q3a", required=True),
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

def small_return() -> pd.DataFrame:
    """Six people of council 211, every required column of the real spec, with -9s and blanks."""
    spec = load_spec("ascs", "2020-21")
    n = 6
    data = {}
    for name, col in spec.columns.items():
        if not col.required:
            continue
        data[name] = np.array([1, 2, 1, 2, 1, 2], dtype=float) if col.kind != "string" else None
    data["LaCode"] = ["211"] * n
    data["SerialNo"] = ["0042", "1002", "1003", "A17", "1005", "1006"]
    data["Response"] = np.array([1, 1, 2, 1, 1, 3], dtype=float)
    data["Age"] = np.array([45, 82, 67, np.nan, 91, 30], dtype=float)
    data["Gender"] = np.array([1, -9, 2, 1, 2, 1], dtype=float)
    data["q1"] = np.array([2, 7, np.nan, -9, 1, np.nan])
    data["q3a"] = np.array([1, 4, np.nan, 3, -9, np.nan])
    frame = pd.DataFrame(data)
    frame["LaCode"] = frame["LaCode"].astype("str")
    frame["SerialNo"] = frame["SerialNo"].astype("str")
    return frame


def write_three_ways(frame: pd.DataFrame, folder: Path):
    sav = frame.copy()
    for c in ("LaCode", "SerialNo"):
        sav[c] = sav[c].astype(object)
    pyreadstat.write_sav(sav, folder / "r.sav")
    frame.to_csv(folder / "r.csv", index=False)
    write_excel_return(frame, folder / "r.xlsx", "211")
    return folder / "r.sav", folder / "r.csv", folder / "r.xlsx"


def test_same_return_as_sav_csv_xlsx_reads_identically(tmp_path, spec):
    frame = small_return()
    reads = [read_raw(p, spec) for p in write_three_ways(frame, tmp_path)]
    for raw in reads:
        pd.testing.assert_frame_equal(data_only(raw), frame)
    # -9 is kept at this stage (validation recodes); "0042" keeps its zeros in every format but SPSS numeric
    assert reads[1].data["Gender"].iloc[1] == -9 and reads[2].data["q3a"].iloc[4] == -9
    assert reads[0].data["_row"].tolist() == [1, 2, 3, 4, 5, 6]          # SPSS case numbers
    assert reads[1].data["_row"].tolist() == [2, 3, 4, 5, 6, 7]          # CSV lines, header = line 1
    assert reads[2].data["_row"].tolist() == [2, 3, 4, 5, 6, 7]          # sheet rows, header = row 1


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
    path.write_text("LaCode,SerialNo,q1\n211,1,2\n")
    with pytest.raises(SurveyKitError) as err:
        read_raw(path, small_spec())
    assert message(err) == f"{path}: missing required columns: Response, q3a"


def test_csv_text_in_code_column_names_line_and_column(tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("LaCode,SerialNo,Response,q1,Q3a\n211,1,1,2,1\n211,2,1,2,3\n211,3,1,2,Yes\n")
    with pytest.raises(SurveyKitError) as err:
        read_raw(path, small_spec())
    assert message(err) == f"{path}, row 4, column Q3a: 'Yes' is not a number"
    assert err.value.row == 4 and err.value.column == "Q3a"


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


# ------------------------------------------------------------------------------------------ Excel

def official_workbook(path, header, rows, council=211, *, title_rows=0, data_sheet="Service User Data",
                      sign_off="Sign Off Sheet"):
    """A workbook in the official layout built with openpyxl directly (not with the writer under test)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = data_sheet
    for i in range(title_rows):
        ws.append([f"Adult Social Care Survey 2020-21, title line {i + 1}"] if i == 0 else [])
    ws.append(header)
    for r in rows:
        ws.append(r)
    so = wb.create_sheet(sign_off)
    so["D2"] = "Council code"
    so["E2"] = council
    wb.save(path)
    return path


LONG_HEADER = ["LA Code", "SerialNumber (unique)", "Stratum", "Population In Stratum", "Method of Collection",
               "Response", "Age (years)", "Language translated into", "q1", "q3a"]


def test_excel_header_found_substrings_matched_council_filled(tmp_path):
    path = official_workbook(tmp_path / "211.xlsx", ["Language translated into", "Age (years)",
                             "SerialNumber (unique)", "Population In Stratum", "Stratum", "Response",
                             "Q1 - satisfaction", "q1", "q3a", "Notes"],
                             [[1, 45, 1001, 350, 2, 1, None, 2, 1, "ok"],
                              [3, 80, "1002", 120, 3, 1, None, 5, -9, None],
                              [None] * 10,
                              [1, 67.0, 1003.0, 120, 3, 2, None, None, None, None]], title_rows=2)
    spec = small_spec()
    # "Q1 - satisfaction" contains q1 but q1 is taken by its exact header: it stays an unknown column
    raw = read_raw(path, spec)
    df = raw.data
    assert df["LaCode"].tolist() == ["211", "211", "211"]          # from Sign Off Sheet E2
    assert df["SerialNo"].tolist() == ["1001", "1002", "1003"]
    np.testing.assert_array_equal(df["Translated"].to_numpy(), [1, 3, 1])   # not taken for Age
    np.testing.assert_array_equal(df["Age"].to_numpy(), [45, 80, 67])
    np.testing.assert_array_equal(df["PopInStratum"].to_numpy(), [350, 120, 120])
    np.testing.assert_array_equal(df["Stratum"].to_numpy(), [2, 3, 3])
    np.testing.assert_array_equal(df["q3a"].to_numpy(), [1, -9, np.nan])
    assert df["_row"].tolist() == [4, 5, 7]        # header on sheet row 3; row 6 is empty
    assert "Q1 - satisfaction" in df.columns and "Notes" in df.columns


def test_excel_official_positional_layout_with_real_spec(tmp_path, spec):
    header = [f"{(c.aliases or [c.name])[0]} [see guidance]" for c in spec.columns.values()]
    row = [211, "S1", None, None, None, 1, 1, 2, 70] + [1] * (len(header) - 9)
    # the Questionnaire header also holds "Request a copy" (CopyRequested's alias): position decides
    header[list(spec.columns).index("Questionnaire")] = "Questionnaire version sent (Request a copy: see Q50)"
    row[list(spec.columns).index("Questionnaire")] = 3
    path = official_workbook(tmp_path / "r.xlsx", header, [row])
    df = read_raw(path, spec).data
    assert list(df.columns[:-2]) == list(spec.columns)
    assert df["LaCode"].iloc[0] == "211" and df["SerialNo"].iloc[0] == "S1"
    assert df["Response"].iloc[0] == 1 and df["Gender"].iloc[0] == 2 and df["Age"].iloc[0] == 70
    assert df["Questionnaire"].iloc[0] == 3 and df["CopyRequested"].iloc[0] == 1


def test_excel_council_code_disagreement(tmp_path):
    path = official_workbook(tmp_path / "r.xlsx", LONG_HEADER,
                             [[211, 1, None, None, 1, 1, 50, 1, 1, 1], [213, 2, None, None, 1, 1, 50, 1, 1, 1]])
    with pytest.raises(SurveyKitError) as err:
        read_raw(path, small_spec())
    assert message(err) == (f"{path}, row 3, column LaCode: council code '213' differs from '211' "
                            "in sheet 'Sign Off Sheet' cell E2")


def test_excel_renamed_sheet(tmp_path):
    path = official_workbook(tmp_path / "r.xlsx", LONG_HEADER, [], data_sheet="Data")
    with pytest.raises(SurveyKitError) as err:
        read_raw(path, small_spec())
    assert message(err) == (f"{path}: no sheet named 'Service User Data' (the workbook has 'Data', "
                            "'Sign Off Sheet'): was it renamed?")


def test_excel_no_council_code(tmp_path):
    header = LONG_HEADER[1:]
    path = official_workbook(tmp_path / "r.xlsx", header, [[1, None, None, 1, 1, 50, 1, 1, 1]], council=None)
    with pytest.raises(SurveyKitError) as err:
        read_raw(path, small_spec())
    assert message(err) == (f"{path}, row 2, column E: no council code: sheet 'Sign Off Sheet' cell E2 is "
                            "blank and column LaCode does not give it for every row")
    # the council column filled on every row is enough without E2
    full = official_workbook(tmp_path / "full.xlsx", LONG_HEADER, [[316, 1, None, None, 1, 1, 50, 1, 1, 1]],
                             council=None)
    assert read_raw(full, small_spec()).data["LaCode"].tolist() == ["316"]


def test_excel_text_in_code_column_names_sheet_row(tmp_path):
    path = official_workbook(tmp_path / "r.xlsx", LONG_HEADER,
                             [[211, 1, None, None, 1, 1, 50, 1, 1, 1], [211, 2, None, None, 1, 1, 50, 1, "two", 1]])
    with pytest.raises(SurveyKitError) as err:
        read_raw(path, small_spec())
    assert message(err) == f"{path}, row 3, column q1: 'two' is not a number"


def test_write_excel_return_layout(tmp_path):
    frame = pd.DataFrame({"LaCode": pd.Series(["211", None], dtype="str"), "SerialNo": ["=1+1", "7"],
                          "q1": [2.0, np.nan]})
    path = write_excel_return(frame, tmp_path / "w.xlsx", 211)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Service User Data", "Sign Off Sheet"]
    assert wb["Sign Off Sheet"]["E2"].value == 211
    rows = list(wb["Service User Data"].values)
    assert rows == [("LaCode", "SerialNo", "q1"), ("211", "=1+1", 2), (None, "7", None)]
    assert wb["Service User Data"]["B2"].data_type == "s"      # text, never a formula
    assert not list(tmp_path.glob(".*part"))


def test_folder_of_workbooks_is_one_return(tmp_path, capsys):
    folder = tmp_path / "returns"
    folder.mkdir()
    official_workbook(folder / "b-213.xlsx", LONG_HEADER, [[None, 7, None, None, 1, 1, 50, 1, 1, 1]], council=213)
    official_workbook(folder / "a-211.xlsx", LONG_HEADER, [[None, 1, None, None, 1, 1, 50, 1, 2, 2],
                                                           [None, 2, None, None, 1, 2, 60, 1, None, None]])
    (folder / "~$a-211.xlsx").write_bytes(b"lock")
    (folder / "notes.txt").write_text("ignored")
    raw = read_raw(folder, small_spec(), progress=False)
    assert capsys.readouterr().err == ""
    df = raw.data
    assert df["LaCode"].tolist() == ["211", "211", "213"]
    assert df["_file"].tolist() == ["a-211.xlsx", "a-211.xlsx", "b-213.xlsx"]
    assert df["_row"].tolist() == [2, 3, 2]
    sums = sorted(hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in ("a-211.xlsx", "b-213.xlsx"))
    assert raw.checksum == hashlib.sha256("\n".join(sums).encode()).hexdigest()
    read_raw(folder, small_spec(), progress=True)
    assert "2/2" in capsys.readouterr().err


def test_folder_error_names_the_bad_workbook(tmp_path):
    official_workbook(tmp_path / "a.xlsx", LONG_HEADER, [[None, 1, None, None, 1, 1, 50, 1, 2, 2]])
    official_workbook(tmp_path / "b.xlsx", LONG_HEADER, [], sign_off="Signoff")
    with pytest.raises(SurveyKitError) as err:
        read_raw(tmp_path, small_spec(), progress=False)
    assert message(err).startswith(f"{tmp_path / 'b.xlsx'}: no sheet named 'Sign Off Sheet'")


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


@pytest.mark.parametrize("value, shown", [("-5", "'-5'"), ("12.5", "'12.5'"), ("many", None)])
def test_population_bad_numbers(tmp_path, value, shown):
    path = tmp_path / "pop.csv"
    path.write_text(f"council,stratum,population\n211,1,10\n211,2,{value}\n")
    with pytest.raises(SurveyKitError) as err:
        read_population(path)
    text = message(err)
    assert text.startswith(f"{path}, row 3, column population: ")
    assert (shown + " is not a whole number") in text if shown else "'many' is not a number" in text


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
    assert list(out.columns) == ["council", "council_name", "region_code", "region_name"]
    assert out.values.tolist() == [["211", "Eastshire", "E12000006", "East"],
                                   ["213", "Westham", "E12000007", "London"]]


def test_councils_bundled_synthetic_lookup():
    out = read_councils(REPO / "weights" / "councils-synthetic.csv")
    assert out.iloc[0].tolist() == ["102", "Longcester Borough Council", "E12000001", "North East"]
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
