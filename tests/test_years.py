"""Every bundled survey year: real labels, headers that match, and a run end to end on synthetic returns."""

import re

import pandas as pd
import pytest

from surveykit.cli import main
from surveykit.questionnaire import available_specs, load_spec
from surveykit.read import read_raw
from surveykit.synth import make_return, write_return

YEARS = available_specs()
PLACEHOLDER = re.compile(r"\[L\]|\bCode \d+\b|Not tabulated|Best level|Worst level|Middle level|\bTODO\b", re.I)


def test_every_year_in_use_is_bundled():
    assert {y for s, y in YEARS if s == "ascs"} >= {"2020-21", "2021-22", "2022-23", "2023-24", "2024-25", "2025-26"}
    assert {y for s, y in YEARS if s == "sace"} >= {"2021-22", "2023-24", "2025-26"}


@pytest.mark.parametrize("survey,year", YEARS)
def test_every_label_and_question_is_real_text(survey, year):
    spec = load_spec(survey, year)
    texts = []
    for col in spec.columns.values():
        texts += list((col.codes or {}).values()) + ([col.header] if col.header else [])
    for item in spec.items.values():
        texts.append(item.text)
        if item.easy_read is not None:
            texts += list(item.easy_read.codes.values()) + list(item.easy_read.combined_labels.values())
    texts += [label for _, label in spec.strata]
    texts += [m.name for m in spec.measures.values()] + [m.description for m in spec.measures.values()]
    bad = [t for t in texts if PLACEHOLDER.search(t)]
    assert not bad, bad[:5]


@pytest.mark.parametrize("survey,year", [(s, y) for s, y in YEARS if load_spec(s, y).workbook is not None])
def test_each_templates_headers_match_its_own_columns_by_position(survey, year, tmp_path):
    """The header written from each column's official text contains its alias: the year's workbook reads."""
    from surveykit.read.cells import standard_header

    spec = load_spec(survey, year)
    for name, col in spec.columns.items():
        assert col.header, name
        assert any(standard_header(a) in standard_header(col.header) for a in (name, *col.aliases)), name


def test_the_years_differ_where_the_template_says():
    a, b = load_spec("ascs", "2020-21"), load_spec("ascs", "2021-22")
    assert a.columns["q3b"].codes == {1: "Yes", 2: "No"}
    assert b.columns["q3b"].codes[1].startswith("I do not need care and support services")
    assert (b.columns["q3b"].codes[2], b.columns["q3b"].codes[3]) == ("Yes", "No")
    assert b.columns["q7b"].codes == {1: "Yes", 2: "No"}                       # q7b unchanged [H]
    assert "RHC_none" in a.columns and "RHC_other_relevant" in b.columns      # AQ's meaning reversed
    assert list(a.columns).index("RHC_none") == list(b.columns).index("RHC_other_relevant") == 42
    assert b.columns["q17"].codes == {1: "My home meets my needs very well", 2: "My home meets most of my needs",
                                      3: "My home meets some of my needs",
                                      4: "My home is totally inappropriate for my needs"}
    assert b.changes and all(load_spec("ascs", y).changes for y in ("2022-23", "2023-24", "2024-25", "2025-26"))


@pytest.mark.parametrize("survey,year", YEARS)
def test_each_year_runs_end_to_end_on_synth_output(survey, year, tmp_path):
    spec = load_spec(survey, year)
    fmt = "xlsx" if spec.workbook is not None else "csv"
    ret = make_return(survey, year, councils=3, respondents=240, spec=spec)
    paths = write_return(ret, tmp_path / "in", fmt, spec=spec)
    args = ["run", str(paths["return"]), "--survey", survey, "--year", year, "--councils", str(paths["councils"]),
            "--out", str(tmp_path / "out"), "--quiet"]
    if fmt != "xlsx":                      # an official workbook carries its own populations
        args += ["--population", str(paths["population"])]
    assert main(args) == 0
    ascof = pd.read_csv(tmp_path / "out" / "ascof.csv", dtype=str)
    assert set(ascof["measure"]) == set(spec.measures)
    council = ascof[(ascof["area_level"] == "council") & (ascof["breakdown"] == "total")]
    assert len(council) == 3 * len(spec.measures)
    if fmt == "xlsx":
        raw = read_raw(paths["return"], spec)
        assert raw.population is not None and len(raw.data) == len(ret.data)
