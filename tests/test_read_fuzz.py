"""Fuzzing the readers: whatever the bytes, the answer is a RawReturn (or population/council frame) or a
SurveyKitError, never another exception. Example counts are kept small so this runs in seconds."""

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveykit.errors import SurveyKitError
from surveykit.official_workbook import write_official_workbook
from surveykit.questionnaire import load_spec
from surveykit.read import RawReturn, read_councils, read_population, read_raw
from surveykit.synth import make_return

from test_read import PSPP, small_spec

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPEC = small_spec()
SUFFIXES = [".csv", ".sav", ".zsav", ".xlsx", ".dat"]


WORKBOOK_SPEC = load_spec("ascs", "2021-22")


def _workbook_bytes() -> bytes:
    """An official-layout workbook of one small council, as the damaged files start from."""
    ret = make_return("ascs", "2021-22", councils=["211"], respondents=8, seed=1, spec=WORKBOOK_SPEC)
    with tempfile.TemporaryDirectory() as folder:
        path = write_official_workbook(Path(folder) / "r.xlsx", WORKBOOK_SPEC, ret.data, council="211",
                                       council_name="Kirklees", council_list=ret.councils,
                                       eligible=ret.eligible)
        return path.read_bytes()


SEEDS = {".sav": (PSPP / "ascs-small.sav").read_bytes(), ".zsav": (PSPP / "ascs-small.zsav").read_bytes(),
         ".xlsx": _workbook_bytes()}


def outcome(reader, data: bytes, suffix: str, *args):
    """Run ``reader`` on ``data`` saved under ``suffix``; only a result or SurveyKitError may come back."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        try:
            return reader(path, *args)
        except SurveyKitError as exc:
            assert str(exc) and "\n" not in str(exc).strip()
            return exc


@FUZZ
@given(data=st.binary(max_size=2048), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(data, suffix):
    result = outcome(read_raw, data, suffix, SPEC)
    assert isinstance(result, (RawReturn, SurveyKitError))


@FUZZ
@given(prefix=st.sampled_from([b"$FL2", b"$FL3", b"PK\x03\x04", b"\xef\xbb\xbf"]), data=st.binary(max_size=2048),
       suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_behind_real_magic(prefix, data, suffix):
    assert isinstance(outcome(read_raw, prefix + data, suffix, SPEC), (RawReturn, SurveyKitError))


@FUZZ
@given(kind=st.sampled_from(sorted(SEEDS)), cut=st.floats(0, 1), flips=st.lists(
    st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4))
def test_truncated_and_damaged_real_files(kind, cut, flips):
    data = bytearray(SEEDS[kind][: int(len(SEEDS[kind]) * cut)])
    for where, byte in flips:
        if data:
            data[min(int(where * len(data)), len(data) - 1)] = byte
    spec = WORKBOOK_SPEC if kind == ".xlsx" else SPEC
    assert isinstance(outcome(read_raw, bytes(data), kind, spec), (RawReturn, SurveyKitError))


HEADER = st.sampled_from(["LaCode", "la code", "SerialNo", " SerialNumber", "Response", "RESPONSE", "q1",
                          "Q3A", "q3a", "Age", "Language", "extra", "", "\ufeffLaCode"])
CELL = st.one_of(st.sampled_from(["", "1", "2", "-9", " 3 ", "211", "211.0", "NA", "x", "1e400", "-0", "nan",
                                  '"1,2"', '"', "9" * 30]),
                 st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6))


@FUZZ
@given(header=st.lists(HEADER, min_size=1, max_size=8), rows=st.lists(st.lists(CELL, max_size=9), max_size=6),
       sep=st.sampled_from([",", ";", "\t"]), newline=st.sampled_from(["\n", "\r\n", "\r"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
def test_garbled_csv(header, rows, sep, newline, encoding):
    text = newline.join(sep.join(r) for r in [header, *rows]) + newline
    data = text.encode(encoding, errors="replace")
    result = outcome(read_raw, data, ".csv", SPEC)
    assert isinstance(result, (RawReturn, SurveyKitError))
    if isinstance(result, RawReturn):
        assert list(result.data.columns[-2:]) == ["_file", "_row"]
        assert all(result.data[c].dtype == "float64" for c in ("Response", "q1", "q3a") if c in result.data)


TABLE_HEADER = st.sampled_from(["council", "LaCode", "stratum", "population", "sample", "stratum1Pop",
                                "stratum2Pop", "stratum1Sample", "council_name", "region", "region code", "x"])


@FUZZ
@given(header=st.lists(TABLE_HEADER, min_size=1, max_size=6), rows=st.lists(st.lists(CELL, max_size=7), max_size=6),
       reader=st.sampled_from([read_population, read_councils]))
def test_garbled_tables(header, rows, reader):
    text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    result = outcome(reader, text.encode("utf-8", errors="replace"), ".csv")
    assert isinstance(result, (pd.DataFrame, SurveyKitError))


def _table_workbook_bytes() -> bytes:
    """A population table saved as .xlsx (openpyxl, as a spreadsheet saves one), for the damaged-table fuzz."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [["LaCode", "stratum1Pop", "stratum2Pop", "council_name", "region_name"], ["211", 40, 50, "K", "Y"],
                ["316", 30, 20, "L", "N"]]:
        ws.append(row)
    with tempfile.TemporaryDirectory() as folder:
        wb.save(Path(folder) / "t.xlsx")
        return (Path(folder) / "t.xlsx").read_bytes()


TABLE_XLSX = _table_workbook_bytes()


@FUZZ
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4),
       reader=st.sampled_from([read_population, read_councils]))
def test_damaged_table_workbooks(cut, flips, reader):
    """Population tables and council lookups may be .xlsx too: damaged ones give a table or one clear error."""
    data = bytearray(TABLE_XLSX[: max(1, int(len(TABLE_XLSX) * cut))])
    for where, byte in flips:
        data[min(int(where * len(data)), len(data) - 1)] = byte
    assert isinstance(outcome(reader, bytes(data), ".xlsx"), (pd.DataFrame, SurveyKitError))
