"""Fuzzing the command line: random and damaged returns (CSV, .sav, .xlsx), population tables, council lookups
and odd options. Whatever goes in, ``surveykit run`` and ``surveykit check`` end with status 0, 2 or 3, and
what they print on stderr is never a traceback, a library warning or an "internal error" (the job's last
guard, which only a bug reaches), and a status 2 is one ``surveykit: error:`` line.

Examples are few and inputs small (three councils) so this runs in well under a minute; the readers' own fuzz
tests are in test_read_fuzz.py.
"""

import contextlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveykit.cli import main
from surveykit.official_workbook import write_official_workbook
from surveykit.questionnaire import load_spec
from surveykit.synth import make_return, population_wide

REPO = Path(__file__).parent.parent
PSPP = Path(__file__).parent / "fixtures" / "pspp"
# The same examples every run (CI stays deterministic); SURVEYKIT_FUZZ_EXAMPLES=2000 explores afresh, for a
# developer's long run.
LONG = int(os.environ.get("SURVEYKIT_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=LONG or 45, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=not LONG, database=None, print_blob=bool(LONG))

SYNTH = make_return("ascs", "2025-26", councils=3, respondents=40, seed=13)
RETURN_CSV = SYNTH.data.to_csv(index=False)
POPULATION_CSV = population_wide(SYNTH.population).to_csv(index=False)
COUNCILS_CSV = SYNTH.councils.to_csv(index=False)


def _workbook_bytes() -> bytes:
    spec = load_spec("ascs", "2021-22")
    ret = make_return("ascs", "2021-22", councils=["211"], respondents=8, seed=1, spec=spec)
    with tempfile.TemporaryDirectory() as folder:
        return write_official_workbook(Path(folder) / "r.xlsx", spec, ret.data, council="211",
                                       council_name="Kirklees", council_list=ret.councils,
                                       eligible=ret.eligible).read_bytes()


BINARY = {".sav": ((PSPP / "ascs-small.sav").read_bytes(), "2020-21"),
          ".zsav": ((PSPP / "ascs-small.zsav").read_bytes(), "2020-21"),
          ".xlsx": (_workbook_bytes(), "2021-22")}

CELL = st.one_of(st.sampled_from(["", "1", "2", "-9", "0", "7", "211", "102", "999", "inf", "-inf", "nan", "NA",
                                  "1e20", "1e400", "9" * 400, "-1", "3.5", "TRUE", "=1+1", "x", "\ufeff", '"']),
                 st.text(max_size=5))


def _sometimes(draw, one_in: int) -> bool:
    return draw(st.integers(0, one_in - 1)) == 0


@st.composite
def garbled_csv(draw, text: str, changes: int = 8):
    """``text`` (a CSV) with some cells changed, and now and then a column dropped, rows cut or doubled, the
    file cut short: mostly still a return that gets as far as the estimates."""
    rows = [line.split(",") for line in text.splitlines()]
    for _ in range(draw(st.integers(0, changes))):
        r = 0 if _sometimes(draw, 25) else draw(st.integers(1, len(rows) - 1))   # the header now and then
        if rows[r]:
            c = draw(st.integers(0, len(rows[r]) - 1))
            rows[r][c] = draw(CELL)
    if _sometimes(draw, 12) and len(rows[0]) > 1:
        c = draw(st.integers(0, len(rows[0]) - 1))
        rows = [row[:c] + row[c + 1:] for row in rows]
    if _sometimes(draw, 10):
        rows = rows[:draw(st.integers(1, len(rows)))]
    if _sometimes(draw, 4) and len(rows) > 1:
        rows.append(list(rows[draw(st.integers(1, len(rows) - 1))]))
    out = "\n".join(",".join(row) for row in rows) + "\n"
    if _sometimes(draw, 20):
        out = out[:draw(st.integers(0, len(out)))]
    return out.encode("utf-8", errors="replace")


@st.composite
def damaged(draw, data: bytes):
    data = bytearray(data[: max(1, int(len(data) * draw(st.floats(0.05, 1))))])
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


GOOD_OPTIONS = [["--ci", "wald"], ["--ci", "beta"], ["--ci", "wald-t"], ["--breakdowns", "stratum", "ethnicity"],
                ["--framework", "ascof-2023-24"], ["--strict"]]
ODD_OPTIONS = [["--ci", "nonsense"], ["--breakdowns", "nonsense"], ["--framework", "x"], ["--spine", "102"],
               ["--plots", "--spine", "999"], ["--ci"]]
OPTIONS = st.lists(st.one_of(st.sampled_from(GOOD_OPTIONS), st.sampled_from(GOOD_OPTIONS),
                             st.sampled_from(GOOD_OPTIONS), st.sampled_from(ODD_OPTIONS)), max_size=2)


def _cli(args) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main(args)
        except SystemExit as exc:      # argparse on an option it cannot parse
            status = exc.code
    return status, err.getvalue()


def _assert_clean(status, stderr):
    assert status in (0, 2, 3), (status, stderr)
    assert "Traceback" not in stderr and "Warning" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    if status == 2:
        lines = stderr.strip().splitlines()
        if lines and lines[0].startswith("usage: surveykit"):   # argparse's own: usage, then one error line
            assert lines[-1].startswith("surveykit run: error: "), stderr
            return
        assert len(lines) == 1 and lines[0].startswith("surveykit: error: "), stderr


@FUZZ
@given(kind=st.sampled_from([".csv", ".csv", ".sav", ".zsav", ".xlsx"]), data=st.data(), options=OPTIONS,
       population=st.one_of(st.none(), st.just(POPULATION_CSV.encode()), st.just(POPULATION_CSV.encode()),
                            garbled_csv(POPULATION_CSV, 2), garbled_csv(POPULATION_CSV, 2)),
       councils=st.one_of(st.none(), st.just(COUNCILS_CSV.encode()), garbled_csv(COUNCILS_CSV, 2)),
       command=st.sampled_from(["run", "run", "check"]))
def test_the_command_line_on_damaged_inputs(kind, data, options, population, councils, command):
    if kind == ".csv":
        content, year = data.draw(garbled_csv(RETURN_CSV)), "2025-26"
    else:
        seed, year = BINARY[kind]
        content = data.draw(st.one_of(st.just(seed), damaged(seed), damaged(seed)))
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        ret = folder / f"return{kind}"
        ret.write_bytes(content)
        args = [command, str(ret), "--survey", "ascs", "--year", year]
        if population is not None:
            (folder / "pop.csv").write_bytes(population)
            args += ["--population", str(folder / "pop.csv")]
        if councils is not None:
            (folder / "councils.csv").write_bytes(councils)
            args += ["--councils", str(folder / "councils.csv")]
        if command == "run":
            args += ["--out", str(folder / "out"), "--quiet", *[o for option in options for o in option]]
        status, stderr = _cli(args)
        _assert_clean(status, stderr)
        if command == "run" and status in (0, 3):
            assert {"ascof.csv", "ledger.csv", "problems.csv", "run.json"} <= {p.name for p in (folder / "out").iterdir()}
        if command == "run" and status == 2:
            assert not (folder / "out").exists()


@settings(max_examples=6, deadline=None, derandomize=True)
@given(content=garbled_csv(RETURN_CSV), population=garbled_csv(POPULATION_CSV))
def test_the_installed_command_in_a_subprocess(content, population):
    """As a user runs it: a separate process, every warning switched on."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "return.csv").write_bytes(content)
        (folder / "pop.csv").write_bytes(population)
        done = subprocess.run([sys.executable, "-m", "surveykit.cli", "run", str(folder / "return.csv"), "--survey",
                               "ascs", "--year", "2025-26", "--population", str(folder / "pop.csv"), "--out",
                               str(folder / "out"), "--quiet"], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "always"})
        _assert_clean(done.returncode, done.stderr)
        assert done.stderr == "" or done.returncode == 2


def test_the_fuzzed_inputs_start_from_a_return_that_runs_clean():
    """The seeds themselves: the undamaged return, population and lookup run with status 0."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for name, text in (("return.csv", RETURN_CSV), ("pop.csv", POPULATION_CSV), ("councils.csv", COUNCILS_CSV)):
            (folder / name).write_text(text)
        status, stderr = _cli(["run", str(folder / "return.csv"), "--survey", "ascs", "--year", "2025-26",
                               "--population", str(folder / "pop.csv"), "--councils", str(folder / "councils.csv"),
                               "--out", str(folder / "out"), "--quiet"])
        assert (status, stderr) == (0, "")
        assert len(pd.read_csv(folder / "out" / "ledger.csv")) == len(SYNTH.data)
