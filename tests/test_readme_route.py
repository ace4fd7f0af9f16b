"""The README's route: `surveykit synth` with its default seed, then `surveykit run` with the populations and
council lookup in weights/. Those files must fit what synth writes: no population smaller than its sample,
and nothing else wrong either, for a national return in the README's format and year."""

import json
from pathlib import Path

import pandas as pd
import pytest

from surveykit.cli import main

WEIGHTS = Path(__file__).parent.parent / "weights"


def _synth(tmp_path, survey, year, *extra):
    assert main(["synth", "--survey", survey, "--year", year, *extra, "--out", str(tmp_path / "synthetic")]) == 0
    return next((tmp_path / "synthetic").glob(f"{survey}-{year}-return.*"))


def _run(tmp_path, ret, survey, year):
    out = tmp_path / "results"
    status = main(["run", str(ret), "--survey", survey, "--year", year, "--population",
                   str(WEIGHTS / f"{survey}-synthetic.csv"), "--councils", str(WEIGHTS / "councils-synthetic.csv"),
                   "--out", str(out), "--quiet"])
    return status, pd.read_csv(out / "problems.csv", dtype=str), json.loads((out / "run.json").read_text())


@pytest.mark.slow
def test_the_national_route_in_the_readme_runs_clean(tmp_path):
    """As the README shows it: a national .sav for 2020-21 (152 councils, default seed 2021)."""
    ret = _synth(tmp_path, "ascs", "2020-21", "--format", "sav")
    status, problems, run = _run(tmp_path, ret, "ascs", "2020-21")
    assert problems.empty, problems["rule"].value_counts()
    assert status == 0 and run["councils"] == 152 and run["coverage"]["partial"] == []


@pytest.mark.parametrize("survey,year", [("ascs", "2025-26"), ("ascs", "2021-22"), ("sace", "2023-24"),
                                         ("sace", "2025-26")])
def test_fewer_councils_with_the_same_files_have_no_population_below_its_sample(tmp_path, survey, year):
    ret = _synth(tmp_path, survey, year, "--councils", "12")
    status, problems, run = _run(tmp_path, ret, survey, year)
    assert "population smaller than sample" not in set(problems["rule"])
    # the only problems: England and the regions are built from 12 of the lookup's 152 councils
    assert set(problems["rule"]) == {"area built from part of the country"} and status == 3
    assert run["coverage"]["england"]["name"] == "England (partial: 12 of 152 councils)"
