"""Never a traceback, a crash, a hang or a memory blow-up: each input that once caused one (issue 9) ends in
one line naming the user's file, row and column (exit 2), or in problems.csv (exit 3), or, inside a folder of
workbooks, in one problem with that file left out.

Hostile workbooks are crafted here as small zips; where the real file would be hundreds of megabytes the
guard's limit is lowered instead (the parsing child is forked, so it sees the lowered limit too).
"""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from surveykit.cli import main
from surveykit.errors import SurveyKitError
from surveykit.read import read_population, read_raw, xlsx_guard
from surveykit.questionnaire import load_spec
from surveykit.synth import make_return, write_return

from test_excel_return import person, template_workbook

REPO = Path(__file__).parent.parent
PSPP = Path(__file__).parent / "fixtures" / "pspp"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def cli(*args, env=None):
    """``python -m surveykit.cli`` as a user runs it: (exit status, stderr)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    done = subprocess.run([sys.executable, "-m", "surveykit.cli", *map(str, args)], capture_output=True, text=True,
                          env=environment, timeout=300)
    return done.returncode, done.stderr


def one_line(err: str) -> str:
    assert "Traceback" not in err and "Warning" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("surveykit: error: "), err
    return lines[0].removeprefix("surveykit: error: ")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A clean 3-council ASCS 2025-26 return with its population and lookup, as CSV."""
    folder = tmp_path_factory.mktemp("small")
    ret = make_return("ascs", "2025-26", councils=3, respondents=150, seed=7)
    return write_return(ret, folder, "csv")


def run(small, ret, out, *extra, population=None):
    return main(["run", str(ret), "--survey", "ascs", "--year", "2025-26", "--population",
                 str(population or small["population"]), "--councils", str(small["councils"]), "--out", str(out),
                 "--quiet", *extra])


# -------------------------------------------------------------------------------- cells of a return

def test_inf_and_minus_inf_in_code_cells_are_problems_at_their_cells(small, tmp_path, capsys):
    df = pd.read_csv(small["return"], dtype=str, keep_default_na=False)
    respondents = df.index[df["Response"] == "1"]
    df.loc[respondents[0], "q3a"] = "inf"
    df.loc[respondents[1], "Age"] = "-inf"
    df.loc[respondents[2], "Response"] = "inf"
    df.to_csv(tmp_path / "inf.csv", index=False)
    assert run(small, tmp_path / "inf.csv", tmp_path / "out") == 3
    assert capsys.readouterr().err == ""
    p = pd.read_csv(tmp_path / "out" / "problems.csv", dtype=str)
    lines = [int(r) + 2 for r in respondents[:3]]
    got = p[p["rule"].isin(["not a number", "response missing or invalid"])]
    assert got[["row", "column", "rule", "message"]].values.tolist() == [
        [str(lines[2]), "Response", "not a number", "Response is not a usable number (infinite or far too large): "
                                                    "set missing"],
        [str(lines[1]), "Age", "not a number", "Age is not a usable number (infinite or far too large): set missing"],
        [str(lines[0]), "q3a", "not a number", "q3a is not a usable number (infinite or far too large): set missing"],
        [str(lines[2]), "Response", "response missing or invalid", "Response is not a number: row excluded"]]
    # --strict stops at the first of them, in one line
    assert run(small, tmp_path / "inf.csv", tmp_path / "strict", "--strict") == 2
    assert one_line(capsys.readouterr().err) == (f"inf.csv, row {lines[2]}, column Response: Response is not a "
                                                 "usable number (infinite or far too large): set missing")


def test_a_400_digit_number_in_a_return_is_one_problem_with_its_value_cut(small, tmp_path):
    df = pd.read_csv(small["return"], dtype=str, keep_default_na=False)
    df.loc[0, "Age"] = "9" * 400
    df.to_csv(tmp_path / "big.csv", index=False)
    assert run(small, tmp_path / "big.csv", tmp_path / "out") == 3
    p = pd.read_csv(tmp_path / "out" / "problems.csv", dtype=str)
    row = p[p["rule"] == "not a number"].iloc[0]
    assert (row["row"], row["column"]) == ("2", "Age") and row["value"] == "9" * 79 + "…"


# ------------------------------------------------------------------------------- no usable rows

@pytest.mark.parametrize("case,said", [
    ("header", "header.csv: the return holds no people (its columns are named, but it has no rows): nothing to "
               "estimate"),
    ("unknown", "unknown.csv: none of its {n} rows can be used (unknown council {n}): nothing to estimate; "
                "'surveykit check' lists every problem"),
    ("sav", "empty.sav: the return holds no people (its columns are named, but it has no rows): nothing to estimate"),
    ("nobody", "nobody.csv: none of its {n} rows can be used (non-respondent {n}): nothing to estimate; 'surveykit "
               "check' lists every problem"),
])
def test_a_return_with_no_usable_row_is_one_line_not_a_traceback(small, tmp_path, capsys, case, said):
    df = pd.read_csv(small["return"], dtype=str, keep_default_na=False)
    if case == "header":
        path = tmp_path / "header.csv"
        df.iloc[:0].to_csv(path, index=False)
    elif case == "unknown":
        path = tmp_path / "unknown.csv"
        df.assign(LaCode="999").to_csv(path, index=False)
    elif case == "nobody":
        path = tmp_path / "nobody.csv"
        df[df["Response"] != "1"].to_csv(path, index=False)
        df = df[df["Response"] != "1"]
    else:
        path = tmp_path / "empty.sav"
        frame = pd.read_csv(small["return"]).iloc[:0]
        pyreadstat.write_sav(frame.astype({c: "float64" for c in frame.columns if frame[c].dtype != object}), path)
    assert run(small, path, tmp_path / "out") == 2
    assert one_line(capsys.readouterr().err) == f"{tmp_path}/" + said.format(n=len(df))
    assert not (tmp_path / "out").exists()


def test_a_header_only_population_table_is_one_line(small, tmp_path, capsys):
    pd.read_csv(small["population"]).iloc[:0].to_csv(tmp_path / "pop.csv", index=False)
    assert run(small, small["return"], tmp_path / "out", population=tmp_path / "pop.csv") == 2
    assert one_line(capsys.readouterr().err) == f"{tmp_path / 'pop.csv'}: the population table has a header but " \
                                                "no councils"


@pytest.mark.parametrize("value,said", [("1e20", "'1e20' is far too large for a number of people"),
                                        ("100000000000000000000", "'100000000000000000000' is far too large for a "
                                                                  "number of people")])
def test_a_population_of_1e20_is_one_line(small, tmp_path, capsys, value, said):
    pop = pd.read_csv(small["population"], dtype=str)
    pop.loc[1, "stratum3Pop"] = value
    pop.to_csv(tmp_path / "pop.csv", index=False)
    assert run(small, small["return"], tmp_path / "out", population=tmp_path / "pop.csv") == 2
    assert one_line(capsys.readouterr().err) == f"{tmp_path / 'pop.csv'}, row 3, column stratum3Pop: {said}"


# ------------------------------------------------------------------------------------------- --out

def test_out_that_cannot_be_a_folder_is_refused_before_any_work(small, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    os.symlink(tmp_path / "nowhere" / "zz", tmp_path / "dangling")
    cases = {
        tmp_path / "afile": "the output folder is an existing file: give a folder",
        tmp_path / "dangling": "the output folder is a link to something that does not exist",
        tmp_path / "afile" / "sub": f"cannot make a folder here: {tmp_path / 'afile'} is a file",
        tmp_path / ("x" * 300): f"the name {'x' * 40!r}... is 300 characters: too long for a folder name here (at "
                                "most 235)",
    }
    for out, said in cases.items():
        assert run(small, small["return"], out) == 2
        assert one_line(capsys.readouterr().err) == f"{out}: {said}"
    assert (tmp_path / "afile").read_text() == "x" and os.path.islink(tmp_path / "dangling")


# ------------------------------------------------------------------------------------ a damaged .sav

def test_a_damaged_pspp_file_that_crashes_the_reader_is_one_line(tmp_path):
    """Byte 245 of the PSPP fixture set to 0xff makes pyreadstat's C library die with SIGSEGV (found by
    flipping bytes one at a time); the parse runs in a contained child, so the command survives it."""
    damaged = bytearray((PSPP / "ascs-small.sav").read_bytes())
    damaged[245] = 0xFF
    path = tmp_path / "damaged.sav"
    path.write_bytes(bytes(damaged))
    crash = subprocess.run([sys.executable, "-c", "import pyreadstat, sys; pyreadstat.read_sav(sys.argv[1])",
                            str(path)], capture_output=True)
    assert crash.returncode == -11            # the library itself does crash on this file
    spec = load_spec("ascs", "2020-21")
    with pytest.raises(SurveyKitError) as err:
        read_raw(path, spec)
    assert str(err.value) == f"{path}: not a readable SPSS file: the reader crashed (segmentation fault) on it " \
                             "(damaged file?)"
    status, stderr = cli("run", path, "--survey", "ascs", "--year", "2020-21", "--population",
                         REPO / "weights" / "ascs-synthetic.csv", "--out", tmp_path / "out", "--quiet")
    assert status == 2 and one_line(stderr) == str(err.value)


# ------------------------------------------------------------------------------ hostile workbooks

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                 'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>')
RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>')
BOOK = ('<?xml version="1.0"?><workbook ' + NS + ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
BOOK_RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
             '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
             'worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.'
             'org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
HEADER_ROW = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>council</t></is></c><c r="B1" t="inlineStr"><is><t>stratum'
              b'</t></is></c><c r="C1" t="inlineStr"><is><t>population</t></is></c></row>')


def workbook(path, rows: bytes = b"", strings: bytes | None = None):
    """A minimal .xlsx (a population table's layout) with sheet rows and shared strings as given."""
    sheet = f'<?xml version="1.0"?><worksheet {NS}><sheetData>'.encode() + HEADER_ROW + rows + \
        b"</sheetData></worksheet>"
    if strings is None:
        strings = f'<?xml version="1.0"?><sst {NS} count="0" uniqueCount="0"></sst>'.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", RELS), ("xl/workbook.xml", BOOK),
                           ("xl/_rels/workbook.xml.rels", BOOK_RELS), ("xl/worksheets/sheet1.xml", sheet),
                           ("xl/sharedStrings.xml", strings)):
            z.writestr(name, data)
    return path


def refused(path) -> str:
    with pytest.raises(SurveyKitError) as err:
        read_population(path)
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"{path}: ")
    return text.removeprefix(f"{path}: ")


def test_a_small_table_workbook_reads(tmp_path):
    rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>211</t></is></c><c r="B%d"><v>%d</v></c>'
                    b'<c r="C%d"><v>50</v></c></row>' % (r, r, r, r - 1, r) for r in (2, 3))
    table = read_population(workbook(tmp_path / "ok.xlsx", rows))
    assert table[["council", "stratum", "population"]].values.tolist() == [["211", 1, 50], ["211", 2, 50]]


def test_a_million_one_cell_rows_in_5_mb_is_refused_before_parsing(tmp_path):
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (r, r) for r in range(2, 1_000_002))
    path = workbook(tmp_path / "million.xlsx", rows)     # no <dimension>: only a scan of the rows finds them
    assert path.stat().st_size < 6 * 2**20
    assert refused(path) == ("refused: sheet 'Sheet1' holds more than 200,000 rows; a data return has at most "
                             "200,000 rows and 1,000 columns: is something typed far below or right of the data?")


def test_one_cell_a_million_rows_down_or_far_right_is_refused(tmp_path):
    far_down = workbook(tmp_path / "down.xlsx", b'<row r="1000000"><c r="A1000000"><v>1</v></c></row>')
    assert refused(far_down).startswith("refused: sheet 'Sheet1' holds more than 200,000 rows")
    far_right = workbook(tmp_path / "right.xlsx", b'<row r="2"><c r="XFD2"><v>1</v></c></row>')
    assert refused(far_right).startswith("refused: sheet 'Sheet1' holds cells as far right as column 16,384")


def test_3_million_shared_strings_in_150_kb_are_refused(tmp_path, monkeypatch):
    body = b"<si><t>x</t></si>" * 3_000_000
    counted = workbook(tmp_path / "counted.xlsx", strings=f'<sst {NS} uniqueCount="3000000">'.encode() + body
                       + b"</sst>")
    uncounted = workbook(tmp_path / "uncounted.xlsx", strings=f"<sst {NS}>".encode() + body + b"</sst>")
    assert counted.stat().st_size < 150 * 2**10 and uncounted.stat().st_size < 150 * 2**10
    for path in (counted, uncounted):   # 49 MB of text from so few bytes is refused first as a zip bomb
        assert refused(path) == "refused: part xl/sharedStrings.xml unpacks to 49 MB from 121 KB (a zip bomb?)"
    monkeypatch.setattr(xlsx_guard, "MAX_RATIO", 10**6)   # and without that check, for the number of texts:
    assert refused(counted) == "refused: the workbook holds 3,000,000 different texts (more than 2,000,000)"
    assert refused(uncounted) == "refused: the workbook holds 3,000,000 different texts (more than 2,000,000)"


def test_one_400_mb_string_is_refused(tmp_path, monkeypatch):
    """The real file holds one 400 MB text; here the limits are a thousandth as large, and the text too."""
    monkeypatch.setattr(xlsx_guard, "MAX_SHARED_STRINGS_BYTES", 128 * 2**10)
    monkeypatch.setattr(xlsx_guard, "MAX_MEMBER_BYTES", 512 * 2**10)
    text = b"A" * (400 * 2**10)
    shared = workbook(tmp_path / "shared.xlsx", strings=f"<sst {NS}><si><t>".encode() + text + b"</t></si></sst>")
    assert refused(shared) == "refused: the workbook's text would unpack to 400 KB"
    inline = workbook(tmp_path / "inline.xlsx", b'<row r="2"><c r="A2" t="inlineStr"><is><t>' + text * 2
                      + b"</t></is></c></row>")
    assert refused(inline) == "refused: part xl/worksheets/sheet1.xml would unpack to 800 KB"


def test_a_zip_bomb_is_refused(tmp_path):
    bomb = workbook(tmp_path / "bomb.xlsx", b'<row r="2"><c r="A2" t="inlineStr"><is><t>' + b" " * (40 * 2**20)
                    + b"</t></is></c></row>")
    assert refused(bomb).endswith("(a zip bomb?)")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_xml_entity_expansion_is_refused_however_it_is_hidden(tmp_path, encoding):
    laughs = "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    prolog = '<?xml version="1.0"?><!--' + "x" * 8000 + '--><!DOCTYPE s [<!ENTITY l0 "lol">' + laughs + "]>"
    strings = (prolog + f"<sst {NS}><si><t>&l9;</t></si></sst>").encode(encoding)
    path = workbook(tmp_path / "laughs.xlsx", strings=strings)
    assert refused(path) == ("refused: part xl/sharedStrings.xml declares XML entities (a workbook saved by Excel or "
                             "LibreOffice never does)")


def test_a_hostile_workbook_in_a_folder_is_one_problem_and_left_out(tmp_path):
    spec = load_spec("ascs", "2021-22")
    folder = tmp_path / "returns"
    folder.mkdir()
    ret = make_return("ascs", "2021-22", councils=["211"], respondents=30, seed=1, spec=spec)
    write_return(ret, tmp_path / "in", "xlsx", spec=spec)
    (tmp_path / "in" / "ascs-2021-22-return" / "211.xlsx").rename(folder / "211.xlsx")
    template_workbook(folder / "bomb.xlsx", [person("S1")], rows=3)
    with zipfile.ZipFile(folder / "bomb.xlsx", "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/media/padding.bin", bytes(40 * 2**20))
    out = tmp_path / "out"
    status, stderr = cli("run", folder, "--survey", "ascs", "--year", "2021-22", "--out", out, "--quiet")
    assert status == 3 and stderr == ""
    problems = pd.read_csv(out / "problems.csv", dtype=str)
    bomb = problems[problems["file"] == "bomb.xlsx"]
    assert bomb[["rule", "message"]].values.tolist() == [
        ["unreadable return", "workbook left out: refused: part xl/media/padding.bin unpacks to 40 MB from 40 KB "
                              "(a zip bomb?)"]]
    assert set(pd.read_csv(out / "ascof.csv", dtype=str).query("area_level == 'council'")["area_code"]) == {"211"}


# ----------------------------------------------------------------------------------------- warnings

def test_library_warnings_never_reach_the_terminal(small, tmp_path):
    """Every warning on, as a user's environment may have it: the odd inputs above still print one clean line."""
    df = pd.read_csv(small["return"], dtype=str, keep_default_na=False)
    df.loc[:, "q3a"] = "inf"                              # every answer unusable: NaN estimates, 0/0 in numpy
    df.to_csv(tmp_path / "odd.csv", index=False)
    status, stderr = cli("run", tmp_path / "odd.csv", "--survey", "ascs", "--year", "2025-26", "--population",
                         small["population"], "--councils", small["councils"], "--out", tmp_path / "out", "--quiet",
                         env={"PYTHONWARNINGS": "always"})
    assert status == 3 and stderr == ""
    status, stderr = cli("check", tmp_path / "odd.csv", "--survey", "ascs", "--year", "2025-26",
                         env={"PYTHONWARNINGS": "always"})
    assert status == 3 and "Warning" not in stderr and "Traceback" not in stderr


def test_the_api_says_why_when_no_row_can_be_used(small, tmp_path):
    """weight() is where an empty return used to pass on to ascof() and question_tables() and fail in pandas."""
    from surveykit.pipeline import read_return
    from surveykit.weights import weight

    df = pd.read_csv(small["return"], dtype=str, keep_default_na=False)
    df.assign(LaCode="999").to_csv(tmp_path / "unknown.csv", index=False)
    ret = read_return(tmp_path / "unknown.csv", "ascs", "2025-26", population=small["population"])
    assert ret.data.empty
    with pytest.raises(SurveyKitError) as err:
        weight(ret)
    assert str(err.value) == (f"{tmp_path / 'unknown.csv'}: none of its {len(df)} rows can be used (unknown council "
                              f"{len(df)}): nothing to estimate; 'surveykit check' lists every problem")


def test_a_killed_runs_spill_files_are_removed_and_a_running_ones_kept(tmp_path):
    from surveykit.contained import remove_stale_spills

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    dead = f"surveykit-{int(finished.stdout)}-0123456789abcdef.pickle"
    running = f"surveykit-{os.getppid()}-fedcba9876543210.pickle"
    other = "surveykit-notes.txt"
    for name in (dead, running, other):
        (tmp_path / name).write_bytes(b"x")
    assert remove_stale_spills(str(tmp_path)) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running, other])
