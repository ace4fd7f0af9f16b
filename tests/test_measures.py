"""Per-respondent ASCOF scores against hand-worked values and NHS Digital's own 1J test values."""

import numpy as np
import pandas as pd
import pytest

from surveykit.errors import SurveyKitError
from surveykit.measures import measure_info, score

NAN = np.nan
DOMAINS = ["q3a", "q4a", "q5a", "q6a", "q7a", "q8a", "q9a", "q11"]
ADJ_INPUTS = ["q13", "q15a", "q15b", "q15c", "q15d", "q16a", "q16b", "q16c", "q16d", "q17", "q18"]


def _ascs_rows(ascs, n, **columns):
    """n respondents answering every ASCS item 1, aged 40, community, physical support, standard version,
    with `columns` overriding."""
    base = {c: [1.0] * n for c in ascs.items}
    base.update(Age=[40.0] * n, SupportSetting=[1.0] * n, PrimarySupportReason=[1.0] * n,
                Questionnaire=[1.0] * n)
    base.update({k: [float(x) for x in v] for k, v in columns.items()})
    return pd.DataFrame(base)


def test_1j_matches_nhs_digital_test_values(ascs):
    # NHS Digital's own tests: every item answered 1 (or 2), aged 18-64.
    ones = _ascs_rows(ascs, 1)
    twos = _ascs_rows(ascs, 1, **{c: [2] for c in ascs.items})
    assert score(ones, ascs, ["1J"])["1J"].iloc[0] == pytest.approx(0.418845, abs=1e-6)
    assert score(twos, ascs, ["1J"])["1J"].iloc[0] == pytest.approx(0.410181, abs=1e-6)


def test_1j_age_effect_and_expected_terms(ascs):
    # By hand: aged 65+ adds 0.0473 to expected, so all-1s drops to 0.418845 - 0.0473.
    # Row 2: all domains 1 (current 0.998645); q13=4 (-0.109), q17=3 (-0.125), q18=4 (-0.110),
    # q15a..q16c = 3 (ADL 14 -> -0.2828), q16d=3 ignored: expected = 0.5798-0.2828-0.109-0.125-0.110 = -0.0470.
    df = _ascs_rows(ascs, 2, Age=[65, 30], q13=[1, 4], q17=[1, 3], q18=[1, 4],
                    **{c: [1, 3] for c in ["q15a", "q15b", "q15c", "q15d", "q16a", "q16b", "q16c", "q16d"]})
    got = score(df, ascs, ["1J"])["1J"].to_numpy()
    np.testing.assert_allclose(got, [0.418845 - 0.0473, 0.998645 - (-0.0470)], atol=1e-9)


def test_1j_only_community_non_ld_with_every_input(ascs):
    df = _ascs_rows(ascs, 6, SupportSetting=[1, 2, 3, 1, 1, 1], PrimarySupportReason=[1, 1, 1, 7, 1, 1],
                    q17=[1, 1, 1, 1, NAN, 1], Age=[40, 40, 40, 40, 40, NAN])
    got = score(df, ascs, ["1J"])["1J"].to_numpy()
    assert got[0] == pytest.approx(0.418845, abs=1e-6)
    assert np.isnan(got[1:]).all()   # residential, nursing, LD, q17 missing, age missing


def test_1j_needs_only_its_own_inputs(ascs):
    # q16d is not an input: missing q16d still scores.
    df = _ascs_rows(ascs, 1, q16d=[NAN])
    assert score(df, ascs, ["1J"])["1J"].iloc[0] == pytest.approx(0.418845, abs=1e-6)


def test_1a_hand_worked(ascs):
    rows = {
        "all best": ([1] * 8, 24.0),
        "all worst": ([4] * 8, 0.0),
        "mixed": ([1, 2, 3, 4, 1, 2, 3, 4], 32 - 20),
        "dignity counts, q10 does not": ([2, 2, 2, 2, 2, 2, 2, 4], 32 - 18),
        "one unanswered": ([1, 1, 1, 1, 1, 1, 1, NAN], NAN),
    }
    df = _ascs_rows(ascs, len(rows), **{d: [r[0][i] for r in rows.values()] for i, d in enumerate(DOMAINS)},
                    q10=[4] * len(rows))
    np.testing.assert_array_equal(score(df, ascs, ["1A"])["1A"], [r[1] for r in rows.values()])


def test_ascot_index_hand_worked(ascs):
    # 0.203 * sum of preference weights - 0.466: all 1s 7.215 -> 0.998645; all 4s 1.455 -> -0.170635.
    df = _ascs_rows(ascs, 2, **{d: [1, 4] for d in DOMAINS})
    np.testing.assert_allclose(score(df, ascs, ["ASCOT"])["ASCOT"], [0.998645, -0.170635], atol=1e-9)


def test_proportions_hand_worked(ascs):
    df = _ascs_rows(ascs, 6, q3a=[1, 2, 3, 4, NAN, 1], q8a=[1, 2, 3, 4, NAN, 1], q7a=[1, 2, 3, 4, NAN, 1],
                    q7b=[1, 2, 1, 2, NAN, 1], q12=[1, 2, 3, 4, 5, NAN])
    got = score(df, ascs, ["1B", "1I(1)", "4A", "4B", "3D(1)"])
    assert list(got.columns) == ["1B", "1I(1)", "4A", "4B", "3D(1)"]
    np.testing.assert_array_equal(got["1B"], [1, 1, 0, 0, NAN, 1])
    np.testing.assert_array_equal(got["1I(1)"], [1, 0, 0, 0, NAN, 1])
    np.testing.assert_array_equal(got["4A"], [1, 0, 0, 0, NAN, 1])
    np.testing.assert_array_equal(got["4B"], [1, 0, 1, 0, NAN, 1])
    # 3D(1): never tried (1) is out of the denominator; 2,3 easy; 4,5 difficult.
    np.testing.assert_array_equal(got["3D(1)"], [NAN, 1, 1, 0, 0, NAN])


def test_3a_combines_standard_and_easy_read(ascs):
    # Standard 1,2 -> combined 1 (satisfied); easy-read 1 kept as 1; easy-read 2 is "quite happy" (not 1).
    df = _ascs_rows(ascs, 13, Questionnaire=[1, 1, 2, 2, 1, 2, 1, 3, 3, 3, 3, 3, NAN],
                    q1=[1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 1])
    got = score(df, ascs, ["3A"])   # q1Comb absent: made from the spec
    np.testing.assert_array_equal(got["3A"], [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, NAN])
    ready = ascs.combine_easy_read(df).assign(q1Comb=[1] * 13)   # a present q1Comb is used as given
    assert score(ready, ascs, ["3A"])["3A"].eq(1).all()


def test_code_outside_the_item_is_not_a_failure(ascs):
    # Validated data never holds these; if it does, they are not counted as "no".
    df = _ascs_rows(ascs, 2, q3a=[9, 2.5])
    assert score(df, ascs, ["1B"])["1B"].isna().all()


def test_scores_keep_the_index_and_all_measures_by_default(ascs):
    df = _ascs_rows(ascs, 3).set_axis([10, 20, 30])
    got = score(df, ascs)
    assert list(got.index) == [10, 20, 30]
    assert list(got.columns) == list(ascs.measures)
    assert all(str(t) == "float64" for t in got.dtypes)


def test_unknown_measure_and_missing_column(ascs):
    df = _ascs_rows(ascs, 1)
    with pytest.raises(SurveyKitError, match=rf"unknown measure '1D' for ascs {ascs.year}"):
        score(df, ascs, ["1D"])
    with pytest.raises(SurveyKitError, match=r"column 'q11' is needed for the measures but is not in the data"):
        score(df.drop(columns="q11"), ascs, ["1A"])


def test_sace_1d_hand_worked(sace):
    items = ["q7", "q8", "q9", "q10", "q11", "q12"]
    rows = [([1] * 6, 12.0), ([1, 2, 3, 1, 2, 3], 6.0), ([3] * 6, 0.0), ([2] * 6, 6.0),
            ([1, 1, 1, 1, 1, NAN], NAN)]
    df = pd.DataFrame({it: [float(r[0][i]) for r in rows] for i, it in enumerate(items)})
    df = df.assign(q4=2.0, q17=1.0, q19=1.0)
    np.testing.assert_array_equal(score(df, sace, ["1D"])["1D"], [r[1] for r in rows])


def test_sace_proportions_exclude_the_not_applicable_answers(sace):
    # 2023-24 codes: q4 1 = no support received, 2-3 extremely/very satisfied; q17 5 = never tried;
    # q19 5 = no discussions (the codes' order is [L] in the spec: see its header)
    df = pd.DataFrame({"q4": [2, 3, 4, 8, 1, NAN], "q11": [1, 2, 3, 1, 1, 1],
                       "q17": [1, 2, 3, 4, 5, 1], "q19": [1, 2, 3, 4, 5, NAN]}, dtype=float)
    got = score(df, sace, ["3B", "1I(2)", "3D(2)", "3C"])
    np.testing.assert_array_equal(got["3B"], [1, 1, 0, 0, NAN, NAN])      # 1: no support received
    np.testing.assert_array_equal(got["1I(2)"], [1, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(got["3D(2)"], [1, 1, 0, 0, NAN, 1])     # 5: never tried
    np.testing.assert_array_equal(got["3C"], [1, 1, 0, 0, NAN, NAN])      # 5: no discussions


def test_measure_info(ascs, sace):
    info = measure_info(ascs).set_index("code")
    assert info.loc["1A", "unit"] == "score" and info.loc["3A", "unit"] == "percent"
    assert info.loc["1J", "kind"] == "adjusted" and info.loc["1J", "ascof-2023-24"] == "1C"
    assert info.loc["3D(1)", "ascof-2023-24"] == "3A"
    assert pd.isna(info.loc["ASCOT", "code_set"])
    assert list(measure_info(sace)["code"]) == ["1D", "1I(2)", "3B", "3C", "3D(2)"]
