"""Question tables: the count-based fast path equals the general design estimator, and by hand."""

import numpy as np
import pytest

import surveykit as sk
from surveykit.design import SurveyDesign
from surveykit.questions import answers_by_area, question_tables
from surveykit.synth import make_return
from surveykit.validate import validate
from surveykit.weights import ReturnDesign, weight


@pytest.fixture(scope="module")
def design():
    synthetic = make_return("ascs", "2020-21", councils=6, respondents=700, seed=11)
    ret = validate(synthetic.data, sk.load_spec("ascs", "2020-21"), population=synthetic.population,
                   councils=synthetic.councils)
    return weight(ret, synthetic.population, synthetic.councils)


@pytest.mark.parametrize("question", ["q3a", "q12", "q1Comb", "q15a"])
def test_fast_path_equals_the_design_estimator(design, question):
    table = question_tables(design)
    data = design.data.copy()
    codes = sorted(table.loc[table["question"] == question, "answer"].unique())
    for code in codes:
        data[f"is{code}"] = np.where(data[question].isna(), np.nan, (data[question] == code).astype(float))
    general = SurveyDesign(data, strata=["council", "stratum_number"], population="N_h", lonely="certainty")
    for level, column in [("council", "council"), ("region", "region"), ("england", None)]:
        est = general.proportion([f"is{c}" for c in codes], by=column)
        est["area_code"] = est[column].astype(str) if column else "E92000001"
        est["answer"] = est["variable"].str.removeprefix("is").astype(int)
        got = table[(table["question"] == question) & (table["area_level"] == level)]
        merged = got.merge(est, on=["area_code", "answer"], validate="one_to_one")
        assert len(merged) == len(est) > 0
        np.testing.assert_allclose(merged["percent"], 100 * merged["estimate"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(merged["margin_of_error"], 196 * merged["se"], rtol=1e-12, atol=1e-12)
        assert (merged["base"] == merged["n"]).all()


def test_one_council_by_hand(design):
    """Percent answering q3a = 1 in one council, from N_h and counts alone."""
    table = question_tables(design)
    data = design.data
    council = sorted(data["council"].unique())[0]
    rows = data[(data["council"] == council) & data["q3a"].notna()]
    by_h = rows.groupby("stratum_number").agg(m=("q3a", "size"), hits=("q3a", lambda s: (s == 1).sum()),
                                              N=("N_h", "first"))
    p_h = by_h["hits"] / by_h["m"]
    expected = (by_h["N"] * p_h).sum() / by_h["N"].sum()
    got = table[(table["question"] == "q3a") & (table["answer"] == 1) & (table["area_code"] == council)]
    assert got["percent"].item() == pytest.approx(100 * expected, rel=1e-12)
    assert got["respondents"].item() == by_h["hits"].sum()
    assert got["base"].item() == by_h["m"].sum()
    assert got["population"].item() == pytest.approx((by_h["N"] * p_h).sum(), rel=1e-12)


def test_wide_layout_has_one_row_per_area(design):
    published = sk.publish_questions(question_tables(design))
    wide = answers_by_area(published)
    assert wide["area_level"].iloc[0] == "england"
    assert len(wide) == 1 + design.data["region"].nunique() + design.data["council"].nunique()
    assert "q3a: 1" in wide.columns and "q1Comb: 5" in wide.columns


def test_a_question_no_one_in_an_area_answered_keeps_its_rows(design):
    data = design.data.copy()
    council = sorted(data["council"].unique())[0]
    data.loc[data["council"] == council, "q3a"] = np.nan
    changed = ReturnDesign(data, spec=design.spec, councils=design.councils,
                           survey_return=design.survey_return, lonely=design.lonely)
    table = question_tables(changed)
    rows = table[(table["question"] == "q3a") & (table["area_code"] == council)]
    assert sorted(rows["answer"]) == sorted(design.spec.items["q3a"].codes)
    assert (rows["base"] == 0).all() and (rows["respondents"] == 0).all()
    published = sk.publish_questions(rows)
    for column in ["percent", "margin_of_error", "respondents", "base", "population"]:
        assert (published[column] == "[w]").all(), column
    # every area has every answer of every question, answered or not
    assert table.groupby(["area_code"]).size().nunique() == 1

