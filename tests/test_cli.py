"""The command line end to end: the demo, a run on a messy return, and one-line errors."""

import argparse
import json
import re
import shlex
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


def test_the_command_leaves_with_everything_said_and_written(tmp_path):
    # `surveykit` skips the interpreter's teardown (cli.command): its summary must still reach a pipe whole, and
    # every output be in place, with the run's exit status
    done = _run("demo", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("exit status 0: ran clean")
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["exit_status"] == 0 and (tmp_path / "out" / "annex.xlsx").stat().st_size > 0


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
    told = _run("run", str(files["return.csv"]), "--survey", "ascs", "--year", "2025-26",
                "--population", str(files["population.csv"]), "--out", str(tmp_path / "told"))
    errors = int((pd.read_csv(tmp_path / "told" / "problems.csv")["severity"] == "error").sum())
    assert told.returncode == 3 and errors > 0
    assert told.stdout.splitlines()[-1] == (f"exit status 3: everything was written, but {errors} error(s) were "
                                            f"found in the input: see {tmp_path / 'told' / 'problems.csv'}")
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


# ------------------------------------------------------------------------- a command that explains itself

def _subparsers():
    from surveykit.cli import build_parser
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return parser, sub.choices


def _help_of(parser, action):
    """An option's help as printed (placeholders filled in)."""
    return " ".join(parser.formatter_class(prog=parser.prog)._expand_help(action).split())


def test_top_level_help_describes_the_tool_its_commands_and_an_example():
    done = _run("--help")
    assert done.returncode == 0
    text = done.stdout
    assert "weighted ASCOF measures with confidence intervals" in " ".join(text.split())
    assert "Adult Social Care Survey (ASCS)" in " ".join(text.split())
    assert "argument parsing" not in text                      # the module's docstring is not the tool's
    for command in ("run", "check", "demo", "synth", "report"):
        assert re.search(rf"^\s+{command}\s+\S", text, re.M), command
    examples = [line.strip() for line in text.splitlines() if line.strip().startswith("surveykit ")]
    assert any(e.startswith("surveykit run ") for e in examples) and any(e.startswith("surveykit demo") for e in examples)
    assert "exit status: 0 ran clean" in text


def test_the_command_line_loads_nothing_heavy_before_the_read_ahead():
    # the .sav's read-ahead is forked before numpy and pandas load (prefetch.py), and the command's BLAS
    # threads are set before numpy reads them: reading a run's arguments must load neither (nor the YAML
    # questionnaires, read only when a help page shows what they hold)
    code = ("import sys, surveykit.cli, surveykit.prefetch; "
            "surveykit.cli.build_parser().parse_args(['run', 'r.sav', '--survey', 'ascs', '--year', '2025-26', "
            "'--out', 'o']); print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'yaml') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_every_option_says_its_default_and_its_valid_values():
    from surveykit.questionnaire import available_specs, load_spec
    from surveykit.ci import METHODS

    _, commands = _subparsers()
    for name, parser in commands.items():
        for action in parser._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction):
                continue
            text = _help_of(parser, action)
            assert "default" in text or "required" in text, (name, action.dest, text)
            for choice in action.choices or ():
                assert re.search(rf"\b{re.escape(choice)}\b", text), (name, action.dest, choice)
            if action.dest == "year":
                assert all(year in text for _, year in available_specs()), (name, text)
    run = commands["run"]
    breakdowns = _help_of(run, next(a for a in run._actions if a.dest == "breakdowns"))
    groupings = {name for survey, year in available_specs() for name in load_spec(survey, year).groupings}
    assert groupings and all(re.search(rf"\b{g}\b", breakdowns) for g in groupings)
    ci = next(a for a in run._actions if a.dest == "ci")     # checked by the job, which names the valid ones
    assert all(re.search(rf"\b{re.escape(m)}\b", _help_of(run, ci)) for m in METHODS) and ci.default == "logit"


def test_run_help_lists_the_bundled_years_and_an_example_that_parses():
    from surveykit.questionnaire import available_specs

    done = _run("run", "--help")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    for survey in {s for s, _ in available_specs()}:
        row = next(line for line in lines if line.split()[:1] == [survey])     # "  ascs  2020-21 2021-22 ..."
        assert row.split()[1:1 + len([y for s, y in available_specs() if s == survey])] == \
            [y for s, y in available_specs() if s == survey]
    start = next(i for i, line in enumerate(lines) if line.startswith("example"))
    commands, current = [], ""
    for line in lines[start + 1:]:
        if not line.strip():
            break
        current += " " + line.strip().rstrip("\\")
        if not line.rstrip().endswith("\\"):
            commands.append(current.strip())
            current = ""
    assert [c.split()[1] for c in commands] == ["synth", "run"]
    parser, _ = _subparsers()
    for command in commands:
        parser.parse_args(shlex.split(command)[1:])           # would exit 2 on an unknown option


def test_run_says_where_each_output_is_and_what_the_exit_status_means(tmp_path):
    out = tmp_path / "results"
    done = _run("demo", "--out", str(out), "--plots", "--spine", "209")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for name in ["ascof.csv", "questions.csv", "ledger.csv", "problems.csv", "results.xlsx", "run.json"]:
        shown = [line for line in lines if line.strip().startswith(str(out / name))]
        assert len(shown) == 1 and (out / name).is_file(), name
    measures = pd.read_csv(out / "ascof.csv", dtype=str)["measure"].nunique()
    plots_line = next(line for line in lines if line.strip().startswith(f"{out / 'plots'}/"))
    assert f"{2 * measures + 1} plots" in plots_line                 # a funnel and a caterpillar each, one spine
    assert len(list((out / "plots").glob("*.png"))) == 2 * measures + 1
    assert f"surveykit report {out}" in done.stdout
    assert lines[-1].startswith("exit status 0: ran clean")


def test_average_names_a_group_and_is_recorded(tmp_path, monkeypatch):
    assert main(["demo", "--out", str(tmp_path / "a"), "--quiet", "--average", "Comparator average",
                 "102", "209"]) == 0
    options = json.loads((tmp_path / "a" / "run.json").read_text())["options"]
    assert (options["average"], options["average_councils"]) == ("Comparator average", "102 209")
    assert main(["demo", "--out", str(tmp_path / "b"), "--quiet", "--average", "10 council average"]) == 0
    options = json.loads((tmp_path / "b" / "run.json").read_text())["options"]
    assert (options["average"], options["average_councils"]) == ("10 council average", "every council in the return")
    # the annex's average row: over 102 and 209 in one; over every council in the other, so England's figures
    import openpyxl
    t1a = openpyxl.load_workbook(tmp_path / "a" / "annex.xlsx", read_only=True)["T1a - Answers by Council"]
    assert "Comparator average" in [r[2] for r in t1a.iter_rows(values_only=True)]
    t1a = openpyxl.load_workbook(tmp_path / "b" / "annex.xlsx", read_only=True)["T1a - Answers by Council"]
    rows = {r[2]: r[3:] for r in t1a.iter_rows(values_only=True)}
    assert rows["10 council average"] == rows["England"] and "10 CASSR Average" not in rows
    assert main(["demo", "--out", str(tmp_path / "c"), "--quiet", "--average", "Pair", "102", "999"]) == 2

    import surveykit.pipeline
    seen = {}
    monkeypatch.setattr(surveykit.pipeline, "run_job", lambda *a, **k: seen.update(k) or {"exit_status": 0})
    assert main(["run", "x.csv", "--survey", "ascs", "--year", "2020-21", "--out", "o",
                 "--average", "18 CASSR average", "211", "316"]) == 0
    assert seen["average"] == ("18 CASSR average", ["211", "316"])
    assert main(["run", "x.csv", "--survey", "ascs", "--year", "2020-21", "--out", "o"]) == 0
    assert seen["average"] is None


@pytest.mark.parametrize("args,expected", [
    (["--average", " "], "--average needs a name"),
    (["--average", "Pair", "211", "211"], "council 211 is listed twice"),
])
def test_a_bad_average_is_one_clear_line(args, expected, tmp_path):
    done = _run("demo", "--out", str(tmp_path / "out"), *args)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("surveykit: error: ") and expected in line
    assert not (tmp_path / "out").exists()


def test_england_never_gives_council_rows_only_and_is_recorded(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "out"), "--quiet", "--england", "never"]) == 0
    ascof = pd.read_csv(tmp_path / "out" / "ascof.csv", dtype=str)
    assert set(ascof["area_level"]) == {"council"} and ascof["area_code"].nunique() == 10
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["options"]["england"] == "never" and run["omitted"]["England and region rows"] == "not asked for"
