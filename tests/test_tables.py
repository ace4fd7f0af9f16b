"""Publishing rules: rounding halves away from zero on the decimal value, suppression symbols.

Expected values are worked by hand from the rules NHS Digital publishes with (ASC-User-Survey annex
tables; ASC-Outcomes-Framework ascof/ascs.py and rounding.py), and checked against Python's decimal
module (ROUND_HALF_UP is half away from zero) for random inputs.
"""

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveykit.errors import SurveyKitError
from surveykit.publish.rules import publish_ascof, publish_questions, round_half_away, round_to


# ------------------------------------------------------------------------------------------ rounding

@pytest.mark.parametrize(
    "value, ndigits, expected",
    [
        (0.05, 1, 0.1),
        (2.25, 1, 2.3),
        (-2.25, 1, -2.3),
        (2.675, 2, 2.68),  # the double is 2.67499999999999982..., the decimal as printed is a half
        (1.005, 2, 1.01),  # likewise 1.00499999999999989...
        (0.15, 1, 0.2),
        (-0.15, 1, -0.2),
        (0.35, 1, 0.4),
        (67.65, 1, 67.7),
        (2.5, 0, 3.0),
        (-2.5, 0, -3.0),
        (0.5, 0, 1.0),
        (-0.5, 0, -1.0),
        (2.2499, 1, 2.2),
        (-2.2499, 1, -2.2),
        (0.04999, 1, 0.0),
        (1235.0, -1, 1240.0),
        (1234.5, -1, 1230.0),
        (-1235.0, -1, -1240.0),
    ],
)
def test_round_half_away_on_decimal_halves(value, ndigits, expected):
    assert round_half_away(value, ndigits) == expected


def test_round_half_away_never_gives_negative_zero():
    assert math.copysign(1.0, round_half_away(-0.04, 1)) == 1.0


def test_round_half_away_keeps_missing_and_infinite():
    assert math.isnan(round_half_away(float("nan"), 1))
    assert round_half_away(float("inf"), 1) == float("inf")
    got = round_half_away(np.array([np.nan, 0.05, -np.inf]), 1)
    assert np.isnan(got[0]) and got[1] == 0.1 and got[2] == -np.inf


def test_round_half_away_keeps_series_index_and_name():
    s = pd.Series([0.25, -0.25, np.nan], index=["a", "b", "c"], name="estimate")
    got = round_half_away(s, 1)
    assert list(got.index) == ["a", "b", "c"] and got.name == "estimate"
    assert got["a"] == 0.3 and got["b"] == -0.3 and np.isnan(got["c"])
    assert s["a"] == 0.25  # the input is not changed


@given(
    st.integers(min_value=-10**9, max_value=10**9),
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=0, max_value=4),
)
def test_round_half_away_matches_decimal_arithmetic(units, scale, ndigits):
    text = str(Decimal(units).scaleb(-scale))  # a decimal such as "-1234.565"
    expected = float(Decimal(text).quantize(Decimal(1).scaleb(-ndigits), rounding=ROUND_HALF_UP))
    assert round_half_away(float(text), ndigits) == expected


@pytest.mark.parametrize(
    "value, base, expected",
    [
        (12.5, 5, 15.0),
        (-12.5, 5, -15.0),
        (7.4999, 5, 5.0),
        (2, 5, 0.0),
        (3, 5, 5.0),
        (6513, 5, 6515.0),
        (6517.5, 5, 6520.0),
        (15, 10, 20.0),
        (25, 10, 30.0),
        (10015, 10, 10020.0),
        (1004.9, 10, 1000.0),
    ],
)
def test_round_to_nearest_multiple_halves_away(value, base, expected):
    assert round_to(value, base) == expected


def test_round_to_series_and_missing():
    got = round_to(pd.Series([12.5, np.nan, -2.5]), 5)
    assert got.iloc[0] == 15.0 and np.isnan(got.iloc[1]) and got.iloc[2] == -5.0


def test_round_to_rejects_nonpositive_base():
    with pytest.raises(SurveyKitError):
        round_to(3.0, 0)


def test_rounding_non_numbers_is_a_user_error():
    with pytest.raises(SurveyKitError):
        round_half_away(pd.Series(["a", "b"]), 1)


# ----------------------------------------------------------------------------------- ASCOF tables

def _ascof_row(code, group="Total", breakdown="total", estimate=50.0, respondents=100, **extra):
    row = {
        "measure": "3A", "area_level": "council", "area_code": code, "area_name": f"Council {code}",
        "breakdown": breakdown, "group": group, "estimate": estimate, "se": 1.0, "ci_lower": 48.04,
        "ci_upper": 51.96, "margin_of_error": 1.96, "respondents": respondents, "population": 1000.0,
        "suppressed": False, "df": 99.0,
    }
    row.update(extra)
    return row


VALUE_COLUMNS = ["estimate", "se", "ci_lower", "ci_upper", "margin_of_error", "respondents", "population"]


def test_publish_ascof_rounds_each_column_by_its_rule():
    results = pd.DataFrame([
        _ascof_row("E1", estimate=67.65, se=0.7143, ci_lower=66.25, ci_upper=69.05,
                   margin_of_error=1.35, respondents=6513, population=10015.0),
        _ascof_row("E2", estimate=19.05, se=0.125, ci_lower=-0.05, ci_upper=20.0,
                   margin_of_error=0.95, respondents=3, population=4.0, measure="1A"),
    ])
    out = publish_ascof(results)
    assert list(out.columns) == ["measure", "area_level", "area_code", "area_name", "breakdown", "group",
                                 *VALUE_COLUMNS, "suppressed"]
    assert out["suppressed"].tolist() == [False, False]
    assert out.iloc[0][VALUE_COLUMNS].tolist() == ["67.7", "0.71", "66.3", "69.1", "1.4", "6515", "10020"]
    # a score (1A) rounds to 1 dp too; 3 respondents publish as 5; -0.05 rounds away to -0.1
    assert out.iloc[1][VALUE_COLUMNS].tolist() == ["19.1", "0.13", "-0.1", "20.0", "1.0", "5", "0"]


def test_publish_ascof_suppresses_small_bases_in_every_value_column():
    results = pd.DataFrame([
        _ascof_row("E1", respondents=10),
        _ascof_row("E1", group="Male", breakdown="sex", respondents=2, estimate=12.3456789),
        _ascof_row("E1", group="Female", breakdown="sex", respondents=8),
        _ascof_row("E1", group="18-64", breakdown="age_group", respondents=1),
        _ascof_row("E1", group="65 and over", breakdown="age_group", respondents=9),
        _ascof_row("E2", respondents=0, estimate=np.nan),
        _ascof_row("E3", respondents=np.nan),
        _ascof_row("E4", respondents=4567, suppressed=True),
    ])
    out = publish_ascof(results).set_index(["area_code", "group"])
    # label, or the published respondents (nearest 5) for rows that are shown
    expected = {
        ("E1", "Total"): "10", ("E1", "Male"): "[c]", ("E1", "Female"): "10", ("E1", "18-64"): "[c]",
        ("E1", "65 and over"): "10", ("E2", "Total"): "[w]", ("E3", "Total"): "[x]", ("E4", "Total"): "[c]",
    }
    for key, shown in expected.items():
        values = out.loc[key, VALUE_COLUMNS].tolist()
        if shown.startswith("["):
            assert values == [shown] * len(VALUE_COLUMNS), key
        else:
            assert values == ["50.0", "1.00", "48.0", "52.0", "2.0", shown, "1000"], key


def test_publish_ascof_carries_the_note_and_hides_it_with_the_row():
    results = pd.DataFrame([
        _ascof_row("E1", ci_lower=np.nan, ci_upper=np.nan, note="design df is 0 (one respondent per stratum)"),
        _ascof_row("E2", note=""),
        _ascof_row("E3", respondents=2, note="variance is 0 (census domain, or every answer the same)"),
        _ascof_row("E4", respondents=0, note="no respondents"),
    ])
    out = publish_ascof(results).set_index("area_code")
    assert list(out.columns)[-2:] == ["note", "suppressed"]
    assert out.loc["E1", "note"] == "design df is 0 (one respondent per stratum)"
    assert out.loc["E1", ["ci_lower", "ci_upper"]].tolist() == ["[x]", "[x]"]
    assert out.loc["E2", "note"] == ""
    assert out.loc["E3", "note"] == "[c]" and out.loc["E4", "note"] == "[w]"


def test_publish_ascof_marks_single_missing_values_not_available():
    results = pd.DataFrame([_ascof_row("E1", se=np.nan, ci_lower=np.nan, ci_upper=np.nan,
                                       margin_of_error=np.nan)])
    out = publish_ascof(results)
    assert out.iloc[0][VALUE_COLUMNS].tolist() == ["50.0", "[x]", "[x]", "[x]", "[x]", "100", "1000"]


def test_publish_ascof_leaves_raw_results_unchanged():
    results = pd.DataFrame([_ascof_row("E1", estimate=67.65), _ascof_row("E2", respondents=2)])
    before = results.copy()
    publish_ascof(results)
    pd.testing.assert_frame_equal(results, before)


def test_publish_ascof_names_missing_column():
    results = pd.DataFrame([_ascof_row("E1")]).drop(columns="respondents")
    with pytest.raises(SurveyKitError, match="respondents"):
        publish_ascof(results)


def test_publish_ascof_names_non_numeric_column():
    results = pd.DataFrame([_ascof_row("E1", estimate="high")])
    with pytest.raises(SurveyKitError) as err:
        publish_ascof(results)
    assert err.value.column == "estimate"


# --------------------------------------------------------------------------------- question tables

def _question_rows(code, base, answers):
    """answers: list of (answer code, respondents, percent, margin, population)."""
    return [
        {"question": "q3a", "answer": float(a), "answer_label": f"label {a}", "area_level": "council",
         "area_code": code, "area_name": f"Council {code}", "percent": pct, "margin_of_error": moe,
         "respondents": n, "base": base, "population": pop}
        for a, n, pct, moe, pop in answers
    ]


def test_publish_questions_suppresses_by_base_and_rounds():
    rows = (
        _question_rows("E1", 50, [(1, 37, 74.25, 12.35, 1235.0), (2, 12, 24.0, 11.85, 400.0),
                                  (3, 1, 1.75, 3.6, 29.0), (4, 0, 0.0, 0.0, 0.0),
                                  (5, 2, 3.45, 5.05, 58.0)])
        + _question_rows("E2", 2, [(1, 2, 100.0, 0.0, 40.0), (2, 0, 0.0, 0.0, 0.0)])
        + _question_rows("E3", 0, [(1, 0, np.nan, np.nan, 0.0)])
        + _question_rows("E4", np.nan, [(1, np.nan, np.nan, np.nan, np.nan)])
    )
    out = publish_questions(pd.DataFrame(rows))
    cols = ["percent", "margin_of_error", "respondents", "base", "population"]
    assert out["answer"].tolist() == [1, 2, 3, 4, 5, 1, 2, 1, 1]
    got = out[cols].values.tolist()
    assert got[0] == ["74.3", "12.4", "35", "50", "1240"]
    assert got[1] == ["24.0", "11.9", "10", "50", "400"]
    # NHS Digital's annex rule: an answer 1 or 2 people gave keeps its percentage (the base is 50);
    # one person's answer has no margin ("[c]": "[w]" would say nobody gave it), two people's has
    assert got[2] == ["1.8", "[c]", "0", "50", "30"]
    assert got[3] == ["0.0", "[w]", "0", "50", "0"]  # nobody gave it
    assert got[4] == ["3.5", "5.1", "0", "50", "60"]
    assert got[5] == ["[c]"] * 5 and got[6] == ["[c]"] * 5
    assert got[7] == ["[w]"] * 5
    assert got[8] == ["[x]"] * 5


def test_publish_questions_needs_its_columns():
    with pytest.raises(SurveyKitError, match="base"):
        rows = pd.DataFrame(_question_rows("E1", 5, [(1, 5, 100.0, 0.0, 9.0)]))
        publish_questions(rows.drop(columns="base"))


def test_the_question_tables_and_the_annex_share_one_suppression_rule():
    """publishing.yaml's rule, on an array of any shape (the annex's areas x questions): a base of 0 is [w],
    1-2 [c], unknown [x]; an answer's margin is withheld where 0 ([w]) or 1 ([c]) gave it."""
    from surveykit.publish.rules import margin_labels, question_labels

    base = np.array([[0, 1, 2, 3], [np.nan, 50, 0, 2]])
    assert question_labels(base).tolist() == [["[w]", "[c]", "[c]", ""], ["[x]", "", "[w]", "[c]"]]
    assert margin_labels(np.array([[0, 1, 2], [3, 0, 40]])).tolist() == [["[w]", "[c]", ""], ["", "[w]", ""]]
