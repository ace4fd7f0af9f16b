"""The main job's edges: the output folder swapped in whole even when the run is killed, options checked before
any work, and run.json recording every option and the checksums of every input."""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from surveykit.cli import build_parser, main
from surveykit.synth import make_return, write_return

REPO = Path(__file__).parent.parent


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _digests(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _workers() -> set[int]:
    """Processes of surveykit's command line now running (a killed run's workers would be among them)."""
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"surveykit.cli" in (proc / "cmdline").read_bytes():
                    found.add(int(proc.name))
            except OSError:
                pass
    return found


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """A national-size return (152 councils, ~81,000 rows): the run takes seconds, long enough to be killed."""
    folder = tmp_path_factory.mktemp("national")
    return write_return(make_return("ascs", "2025-26"), folder, "csv")


def _command(national, out, ci):
    return [sys.executable, "-m", "surveykit.cli", "run", str(national["return"]), "--survey", "ascs", "--year",
            "2025-26", "--population", str(national["population"]), "--councils", str(national["councils"]),
            "--out", str(out), "--ci", ci]


@pytest.mark.slow
def test_a_run_killed_mid_write_leaves_the_previous_folder_whole_and_the_next_run_recovers(national, tmp_path):
    out = tmp_path / "results"
    first = subprocess.run(_command(national, out, "wald") + ["--quiet"], capture_output=True, text=True, env=_env())
    assert first.returncode == 0, first.stderr
    before = _digests(out)
    assert json.loads((out / "run.json").read_text())["options"]["ci"] == "wald"

    rng = random.Random(9)
    for step in ("write tables", "write tables", "ASCOF measures"):   # killed while writing, and before
        workers_before = _workers()
        proc = subprocess.Popen(_command(national, out, "logit"), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                env=_env())
        seen = b""
        while step.encode() not in seen:
            chunk = proc.stderr.read1(256)
            assert chunk, f"the run ended before {step!r}: {seen.decode()}"
            seen += chunk
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        deadline = time.monotonic() + 0.5   # the kernel kills them at once; the annex would take seconds
        while _workers() - workers_before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _workers() - workers_before, "a worker outlived the killed run"
        # the folder is the previous run's, file for file; what the killed run wrote is only a hidden new-folder
        assert _digests(out) == before
        left = _leftovers(tmp_path, "results")
        # the new folder exists from before the estimates (the annex is written into it alongside them): it is
        # left aside, and the annex's worker died with the run
        assert len(left) == 1 and left[0].startswith(".results.new-"), left

    again = subprocess.run(_command(national, out, "logit") + ["--quiet"], capture_output=True, text=True, env=_env())
    assert again.returncode == 0, again.stderr
    assert _leftovers(tmp_path, "results") == []
    after = _digests(out)
    assert set(after) == set(before) and after != before
    assert json.loads((out / "run.json").read_text())["options"]["ci"] == "logit"


KILL_BETWEEN_RENAMES = """
import os, signal, sys
from surveykit.publish import atomic
renames = []
real = os.rename
def rename(a, b):
    renames.append((a, b))
    real(a, b)
    if len(renames) == 1:                      # the old folder is aside, the new one not yet in its place
        os.kill(os.getpid(), signal.SIGKILL)
atomic.os.rename = rename
from surveykit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_run_killed_between_the_two_renames_is_undone_by_the_next_run(tmp_path):
    synthetic = make_return("ascs", "2025-26", councils=3, respondents=120, seed=3)
    paths = write_return(synthetic, tmp_path / "in", "csv")
    out = tmp_path / "results"
    args = ["run", str(paths["return"]), "--survey", "ascs", "--year", "2025-26", "--population",
            str(paths["population"]), "--out", str(out), "--quiet"]
    assert main(args + ["--ci", "wald"]) == 0
    before = _digests(out)
    killed = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, *args], env=_env(), capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert not out.exists()                                # the one moment a swap can be caught in
    aside = _leftovers(tmp_path, "results")
    assert len(aside) == 2 and aside[0].startswith(".results.new-") and aside[1].startswith(".results.old-")
    # the next run puts the previous results back before anything else, even one that then stops on a bad option
    assert main(args + ["--ci", "nonsense"]) == 2
    assert _digests(out) == before and _leftovers(tmp_path, "results") == []
    assert main(args) == 0 and _leftovers(tmp_path, "results") == []
    assert json.loads((out / "run.json").read_text())["options"]["ci"] == "logit"


# ------------------------------------------------------------------------------------------ options

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    return write_return(make_return("ascs", "2025-26", councils=3, respondents=150, seed=11), folder, "csv")


@pytest.mark.parametrize("options,said", [
    (["--spine", "999"], "--spine draws plots: add --plots"),
    (["--plots", "--spine", "999"], "--spine 999: not a council of the council lookup (councils: 102, 609, 916)"),
    (["--ci", "exact"], "--ci exact: not an interval method; choose one of wald, wald-t, logit, xlogit, asin, beta, "
                        "wilson"),
    (["--breakdowns", "shoe_size"], "--breakdowns shoe_size: not a breakdown of ASCS 2025-26; choose from sex, "
                                    "age_group, age_band, support_reason, stratum, religion, ethnicity, sexuality, "
                                    "questionnaire, collection_method, translated, autism, asperger, support_setting, "
                                    "delivery, full_cost"),
    (["--framework", "ascof-1999"], "--framework ascof-1999: not a framework surveykit knows; choose one of "
                                    "ascof-2022-23, ascof-2023-24"),
])
def test_options_are_checked_before_the_return_is_read(small, tmp_path, capsys, options, said):
    """The return named does not exist: an option's error coming first shows that nothing was read."""
    status = main(["run", str(tmp_path / "not-read.csv"), "--survey", "ascs", "--year", "2025-26", "--population",
                   str(small["population"]), "--councils", str(small["councils"]), "--out", str(tmp_path / "out"),
                   "--quiet", *options])
    assert status == 2
    assert capsys.readouterr().err == f"surveykit: error: {said}\n"
    assert not (tmp_path / "out").exists()


def test_spine_without_a_lookup_is_checked_against_the_population_then_the_return(small, tmp_path, capsys):
    base = ["run", str(tmp_path / "not-read.csv"), "--survey", "ascs", "--year", "2025-26", "--population",
            str(small["population"]), "--out", str(tmp_path / "out"), "--quiet", "--plots"]
    assert main(base + ["--spine", "999"]) == 2
    assert capsys.readouterr().err == ("surveykit: error: --spine 999: not a council of the population table "
                                       "(councils: 102, 609, 916)\n")
    df = pd.read_csv(small["return"], dtype=str, keep_default_na=False)
    df[df["LaCode"] != "916"].to_csv(tmp_path / "two.csv", index=False)   # 916 has a population, no return
    base[1] = str(tmp_path / "two.csv")
    assert main(base + ["--spine", "916"]) == 2
    assert capsys.readouterr().err == "surveykit: error: --spine 916: not a council of the return (councils: 102, 609)\n"


def test_run_json_records_every_option_and_the_inputs_checksums(small, tmp_path):
    out = tmp_path / "out"
    args = ["run", str(small["return"]), "--survey", "ascs", "--year", "2025-26", "--population",
            str(small["population"]), "--councils", str(small["councils"]), "--out", str(out), "--breakdowns",
            "stratum", "ethnicity", "--ci", "wilson", "--framework", "ascof-2023-24", "--quiet"]
    assert main(args) == 0
    run = json.loads((out / "run.json").read_text())
    parser = build_parser()
    run_parser = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith(" run"))
    dests = {a.dest for a in run_parser._actions if a.dest not in ("help", "return_path")}
    assert dests <= set(run["options"]), dests - set(run["options"])    # every command-line option, recorded
    assert run["options"] | {} == run["options"] and {k: run["options"][k] for k in (
        "survey", "year", "population", "councils", "out", "breakdowns", "ci", "framework", "strict", "plots",
        "spine", "quiet", "average")} == {
        "survey": "ascs", "year": "2025-26", "population": str(small["population"]),
        "councils": str(small["councils"]), "out": str(out), "breakdowns": "stratum ethnicity", "ci": "wilson",
        "framework": "ascof-2023-24", "strict": False, "plots": False, "spine": "", "quiet": True, "average": ""}
    for name in ("return", "population", "councils"):
        expected = hashlib.sha256(Path(small[name]).read_bytes()).hexdigest()
        assert run["inputs"][name] == {"path": str(small[name]), "sha256": expected}
    assert run["checksum"] == run["inputs"]["return"]["sha256"]


def test_the_annex_is_the_same_with_plots_as_without(small, tmp_path):
    """With --plots the annex's child takes the run's weights instead of making its own (pipeline.py): the same
    tables either way."""
    from openpyxl import load_workbook

    def annex(out, *extra):
        assert main(["run", str(small["return"]), "--survey", "ascs", "--year", "2025-26", "--population",
                     str(small["population"]), "--councils", str(small["councils"]), "--out", str(out), "--quiet",
                     *extra]) == 0
        book = load_workbook(out / "annex.xlsx", read_only=True)
        return {sheet.title: [row for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}

    plain, plotted = annex(tmp_path / "plain"), annex(tmp_path / "plotted", "--plots")
    assert list(plain) == list(plotted) and len(plain) > 10
    differ = [name for name in plain if plain[name] != plotted[name]]
    assert differ == ["Notes"]                       # which records the options, --plots among them
    assert sum(len(rows) for rows in plain.values()) > 500
