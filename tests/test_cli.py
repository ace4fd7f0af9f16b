"""The command line end to end: the demo, a run on a messy return, and one-line errors."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from surveykit.cli import main
from surveykit.resources import bundled_path


def _run(*args):
    return subprocess.run([sys.executable, "-m", "surveykit.cli", *args], capture_output=True, text=True)


def test_demo_writes_every_table_and_the_ledger_reconciles(tmp_path):
    out = tmp_path / "results"
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    for name in ["ascof.csv", "questions.csv", "ledger.csv", "problems.csv", "results.xlsx", "run.json"]:
        assert (out / name).stat().st_size > 0, name
    run = json.loads((out / "run.json").read_text())
    ledger = pd.read_csv(out / "ledger.csv")
    assert run["rows_read"] == len(ledger) == 5011
    assert run["rows_used"] + sum(run["excluded"].values()) == run["rows_read"]
    assert run["rows_used"] == int(ledger["used"].sum())
    ascof = pd.read_csv(out / "ascof.csv", dtype=str)
    assert {"1A", "1B", "3A", "1J"} <= set(ascof["measure"])
    assert set(ascof["area_level"]) == {"england", "region", "council"}
    # percentages get logit intervals by default, inside 0-100, and each row can say why it is odd
    assert run["options"]["ci"] == "logit" and "note" in ascof.columns
    shown = ascof[ascof["ci_lower"].str.match(r"^-?\d") & ascof["measure"].isin(["1B", "3A", "4A"])]
    assert len(shown) > 0 and (shown["ci_lower"].astype(float) >= 0).all()
    assert (shown["ci_upper"].astype(float) <= 100).all()
    assert not list(tmp_path.rglob("*.part")), "no temporary files left behind"


def test_sace_demo(tmp_path):
    assert main(["demo", "--survey", "sace", "--out", str(tmp_path), "--quiet"]) == 0
    ascof = pd.read_csv(tmp_path / "ascof.csv", dtype=str)
    assert {"1D", "3B", "3C"} <= set(ascof["measure"])


def test_messy_return_is_reported_and_still_runs(tmp_path):
    synth = _run("synth", "--councils", "4", "--respondents", "400", "--seed", "3", "--messy",
                 "--out", str(tmp_path / "in"))
    assert synth.returncode == 0, synth.stderr
    files = {p.name.split("-")[-1]: p for p in (tmp_path / "in").iterdir()}
    done = _run("run", str(files["return.csv"]), "--survey", "ascs", "--year", "2025-26",
                "--population", str(files["population.csv"]), "--councils", str(files["councils.csv"]),
                "--out", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 3, done.stderr      # everything written, errors found in the input
    assert done.stderr == ""
    problems = pd.read_csv(tmp_path / "out" / "problems.csv")
    rules = set(problems["rule"])
    assert len(rules) >= 5, rules
    ledger = pd.read_csv(tmp_path / "out" / "ledger.csv")
    assert len(ledger) == len(pd.read_csv(files["return.csv"]))
    strict = _run("run", str(files["return.csv"]), "--survey", "ascs", "--year", "2025-26",
                  "--population", str(files["population.csv"]), "--out", str(tmp_path / "strict"),
                  "--strict", "--quiet")
    assert strict.returncode == 2
    assert strict.stderr.count("\n") == 1 and "Traceback" not in strict.stderr
    assert "row" in strict.stderr


@pytest.mark.parametrize("name,content,expected", [
    ("bad.csv", b"LaCode,SerialNo\n211,1\n", "missing required column"),
    ("bad.sav", b"LaCode,SerialNo\n211,1\n", ".sav but the file holds CSV text"),
    ("bad.csv", b"\x00\x01garbage\x00", "bad.csv"),
])
def test_bad_input_is_one_clear_line(tmp_path, name, content, expected):
    bad = tmp_path / name
    bad.write_bytes(content)
    population = bundled_path("bundled", "demo-ascs-population.csv")
    done = _run("run", str(bad), "--survey", "ascs", "--year", "2020-21", "--population",
                str(population), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    error = done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr and error.startswith("surveykit: error: ")
    assert expected in error and str(bad) in error
    quiet = _run("run", str(bad), "--survey", "ascs", "--year", "2020-21", "--population",
                 str(population), "--out", str(tmp_path / "out"), "--quiet")
    assert quiet.stderr == done.stderr.splitlines()[-1] + "\n"
    assert not (tmp_path / "out" / "ascof.csv").exists()
