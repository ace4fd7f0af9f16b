"""ASCOF results checked against NHS Digital's published formula worked out by hand.

The hand calculation below reads the synthetic return directly with plain pandas (its own stratum
rule, its own scoring, its own variance formula), so it shares no code with the pipeline it checks:
read CSV -> validate -> weight -> score -> estimate.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from scipy.stats import t as t_dist

import surveykit as sk
from surveykit.synth import make_return, write_return
from surveykit.weights import ReturnDesign

Z = norm.ppf(0.975)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    synthetic = make_return("ascs", "2020-21", councils=3, respondents=300, seed=5)
    folder = tmp_path_factory.mktemp("ret")
    files = write_return(synthetic, folder, fmt="csv")
    ret = sk.read_return(files["return"], survey="ascs", year="2020-21",
                         population=files["population"], councils=files["councils"])
    pop = sk.read_population(files["population"])
    design = sk.weight(ret, pop, sk.read_councils(files["councils"]))
    return synthetic, sk.ascof(design), design


def _hand_stratum(row):
    """The ASCS stratum rule as the reference states it."""
    if np.isnan(row.Age) or np.isnan(row.PrimarySupportReason) or np.isnan(row.SupportSetting):
        return np.nan
    if row.PrimarySupportReason == 7:
        return 1
    if row.Age < 65:
        return 2
    return 3 if row.SupportSetting in (2, 3) else 4


def _hand_scores(df):
    """1A, 1B and 3A per respondent, straight from the recipes in the reference."""
    q = df.replace(-9, np.nan)
    domains = ["q3a", "q4a", "q5a", "q6a", "q7a", "q8a", "q9a", "q11"]
    out = pd.DataFrame(index=df.index)
    out["1A"] = 32 - q[domains].sum(axis=1, min_count=8)
    out["1B"] = np.where(q["q3a"].isna(), np.nan, q["q3a"].isin([1, 2]).astype(float))
    easy_read = q["Questionnaire"] == 3
    combined = np.where(easy_read, q["q1"], np.clip(q["q1"] - 1, 1, 5))
    combined = np.where(q["Questionnaire"].isna(), np.nan, combined)
    out["3A"] = np.where(np.isnan(combined), np.nan, (combined == 1).astype(float))
    return out


def _nhs_estimate(values, strata, population):
    """Stratified mean with per-item weights and NHS Digital's variance:
    Σ N_h² (1 − m_h/N_h) s²_h / m_h / (Σ N_h)², s²_h the sample variance (m_h − 1 divisor);
    one-respondent strata add nothing."""
    frame = pd.DataFrame({"y": values, "h": strata}).dropna()
    g = frame.groupby("h")["y"]
    m, mean, var = g.count(), g.mean(), g.var(ddof=1).fillna(0.0)
    N = population.reindex(m.index).astype(float)
    total = N.sum()
    estimate = (N * mean).sum() / total
    variance = (N ** 2 * (1 - m / N) * var / m).sum() / total ** 2
    return estimate, np.sqrt(variance), int(m.sum()), total


def _hand_interval(est, se, df, proportion):
    """Scores: est -/+ z se. Proportions: the default logit interval, R svyciprop's:
    expit(logit(p) -/+ t(df) se / (p (1 - p))), df = respondents - strata."""
    if not proportion:
        return est - Z * se, est + Z * se
    eta, half = np.log(est / (1 - est)), t_dist.ppf(0.975, df) * se / (est * (1 - est))
    return 1 / (1 + np.exp(-(eta - half))), 1 / (1 + np.exp(-(eta + half)))


@pytest.mark.parametrize("measure,scale", [("1A", 1.0), ("1B", 100.0), ("3A", 100.0)])
def test_council_total_matches_nhs_formula_by_hand(small_run, measure, scale):
    synthetic, results, _ = small_run
    raw = synthetic.data
    respondents = raw[raw["Response"] == 1].copy()
    respondents["h"] = respondents.apply(_hand_stratum, axis=1)
    scores = _hand_scores(respondents)
    for council, rows in respondents.groupby("LaCode"):
        pop = synthetic.population[synthetic.population["council"] == council].set_index("stratum")["population"]
        est, se, n, total = _nhs_estimate(scores.loc[rows.index, measure], rows["h"], pop)
        strata = scores.loc[rows.index, measure].groupby(rows["h"]).count().gt(0).sum()
        got = results[(results["measure"] == measure) & (results["area_code"] == council)
                      & (results["breakdown"] == "total")]
        assert len(got) == 1
        got = got.iloc[0]
        assert got["estimate"] == pytest.approx(scale * est, rel=1e-12)
        assert got["se"] == pytest.approx(scale * se, rel=1e-12)
        lower, upper = _hand_interval(est, se, n - strata, proportion=scale == 100.0)
        assert got["ci_lower"] == pytest.approx(scale * lower, rel=1e-9)
        assert got["ci_upper"] == pytest.approx(scale * upper, rel=1e-9)
        assert got["margin_of_error"] == pytest.approx(scale * 1.96 * se, rel=1e-12)
        assert got["respondents"] == n
        assert got["population"] == pytest.approx(total, rel=1e-12)
        assert not got["suppressed"]
        assert got["area_level"] == "council" and got["area_name"] == synthetic.councils.set_index(
            "council").loc[council, "council_name"]


def test_england_is_every_council_stratum_as_one_stratified_sample(small_run):
    synthetic, results, _ = small_run
    raw = synthetic.data
    respondents = raw[raw["Response"] == 1].copy()
    stratum = respondents.apply(_hand_stratum, axis=1)
    respondents = respondents[stratum.notna()]
    respondents["h"] = list(zip(respondents["LaCode"], stratum[stratum.notna()].astype(int)))
    pop = synthetic.population.set_index(["council", "stratum"])["population"]
    pop.index = pop.index.to_flat_index()
    est, se, n, _ = _nhs_estimate(_hand_scores(respondents)["1B"], respondents["h"], pop)
    got = results[(results["measure"] == "1B") & (results["area_level"] == "england")
                  & (results["breakdown"] == "total")].iloc[0]
    assert got["estimate"] == pytest.approx(100 * est, rel=1e-12)
    assert got["margin_of_error"] == pytest.approx(196 * se, rel=1e-12)
    assert got["respondents"] == n


def test_published_splits_and_every_area_level(small_run):
    _, results, _ = small_run
    groups = set(map(tuple, results[["breakdown", "group"]].drop_duplicates().to_numpy()))
    assert groups == {("total", "Total"), ("sex", "Male"), ("sex", "Female"),
                      ("age_group", "18-64"), ("age_group", "65 and over")}
    assert set(results["area_level"]) == {"council", "region", "england"}
    assert set(results["measure"]) == {"1A", "1B", "1I(1)", "3A", "3D(1)", "4A", "4B", "1J", "ASCOT"}
    assert list(results.columns[:15]) == ["measure", "measure_name", "area_level", "area_code", "area_name",
                                          "breakdown", "group", "estimate", "se", "ci_lower", "ci_upper",
                                          "margin_of_error", "respondents", "population", "suppressed"]


def test_sex_split_populations_follow_nhs_breakdown_rule(small_run):
    """Male + Female respondents never exceed the total; the split populations (N_h m_hg / m_h)
    add up to at most the total population."""
    _, results, _ = small_run
    r = results[(results["measure"] == "1B") & (results["area_level"] == "england")].set_index("group")
    assert r.loc["Male", "respondents"] + r.loc["Female", "respondents"] <= r.loc["Total", "respondents"]
    assert r.loc["Male", "population"] + r.loc["Female", "population"] <= r.loc["Total", "population"] + 1e-6


def test_extra_breakdowns_and_unknown_breakdown(small_run):
    _, _, design = small_run
    res = sk.ascof(design, breakdowns=["stratum"], measures=["1B"])
    assert set(res.loc[res["breakdown"] == "stratum", "group"]) <= {
        "1 - Learning disability support [all ages]", "2 - 18-64, excluding learning disability support",
        "3 - 65 and over in residential care, excluding learning disability support",
        "4 - 65 and over in the community, excluding learning disability support"} | {
        str(k) for k in range(1, 5)}
    with pytest.raises(sk.SurveyKitError, match="unknown breakdown 'shoe_size'"):
        sk.ascof(design, breakdowns=["shoe_size"])


def test_small_groups_never_publish_a_zero_margin_when_answers_differ(small_run):
    """Where NHS Digital's breakdown variance is 0 only because every group-stratum cell holds one
    respondent (or agrees), the domain variance is reported instead, with a note saying so."""
    _, _, design = small_run
    res = sk.ascof(design, breakdowns=["age_band", "ethnicity"], measures=["1B"])
    swapped = res[res["note"].str.startswith("NHS breakdown variance is 0")]
    assert len(swapped) > 0
    domain = design.proportion("1B", by=["council", "age_band"], variance="domain")
    for _, row in swapped[(swapped["area_level"] == "council") & (swapped["breakdown"] == "age_band")].iterrows():
        d = domain[(domain["council"] == row["area_code"]) & (domain["age_band"] == row["group"])].iloc[0]
        assert row["se"] == pytest.approx(100 * d["se"], rel=1e-12) and row["se"] > 0
    varied = res[(res["respondents"] >= 2) & (res["estimate"] > 0) & (res["estimate"] < 100)]
    # not merely > 0: B - A^2/m used to leave SEs of 1e-7 points that slipped past a test for 0
    assert (varied["se"] > 1e-6).all()


def test_refreshed_framework_codes_come_from_data(small_run):
    _, _, design = small_run
    res = sk.ascof(design, measures=["1J", "3D(1)", "3A", "1I(1)"], framework="ascof-2023-24")
    codes = dict(zip(res["measure"], res["framework_code"]))
    assert codes == {"1J": "1C", "3D(1)": "3A", "3A": "", "1I(1)": "5A"}
    assert "framework_code" in sk.publish_ascof(res).columns


def test_published_percentages_have_an_interval_inside_0_100(small_run):
    """Logit, the default, never leaves 0-100; Wald, asked for, runs past it for small councils
    (as 3D(1) 55.6-102.4 did) and is then cut at the end of the scale, with a note."""
    _, results, design = small_run
    percent = results[results["measure"].isin(["1B", "1I(1)", "3A", "3D(1)", "4A", "4B"])]
    assert ((percent["ci_lower"] >= 0) & (percent["ci_upper"] <= 100)).all()
    raw = design.proportion(["4B", "1B"], by="council", ci="wald")
    assert (raw["ci_upper"] > 1).any()  # the uncut Wald interval runs past 100%
    wald = sk.ascof(design, ci="wald", measures=["4B", "1B", "1A"])
    cut = wald[wald["note"].str.contains("cut at its end")]
    assert len(cut) > 0 and set(cut["measure"]) <= {"4B", "1B"}
    assert ((wald["ci_lower"] >= 0) & (wald["ci_upper"] <= 100) | (wald["measure"] == "1A")).all()
    council = cut[cut["area_level"] == "council"].iloc[0]
    uncut = raw[(raw["variable"] == council["measure"]) & (raw["council"] == council["area_code"])].iloc[0]
    assert council["ci_upper"] == 100.0
    assert council["ci_lower"] == pytest.approx(100 * uncut["ci_lower"], rel=1e-12)
    # scores keep the Wald interval and NHS Digital's margin is 1.96 SE for every row
    score = results[results["measure"] == "1A"]
    np.testing.assert_allclose(score["ci_upper"] - score["estimate"], Z * score["se"], rtol=1e-12)
    np.testing.assert_allclose(results["margin_of_error"], 1.96 * results["se"], rtol=1e-12)


def test_a_published_row_without_an_interval_says_why(small_run):
    """A group of 3 or more whose respondents sit one per stratum has design df 0: the logit
    interval, t-based as in R, does not exist, and the published row says so."""
    _, _, design = small_run
    data = design.data.copy()
    answered = data[data["1B"].notna()]
    council = answered["council"].iloc[0]
    picked = answered[answered["council"] == council].drop_duplicates("stratum_number").index[:3]
    data["ethnicity"] = data["ethnicity"].astype("object")
    data.loc[picked, "ethnicity"] = "Only one per stratum"
    three = ReturnDesign(data, spec=design.spec, councils=design.councils,
                         survey_return=design.survey_return, lonely=design.lonely)
    res = sk.ascof(three, breakdowns=["ethnicity"], measures=["1B"])
    no_df = res[(res["group"] == "Only one per stratum") & (res["area_code"] == council)]
    assert len(no_df) == 1 and no_df["respondents"].iloc[0] == 3 and no_df["df"].iloc[0] == 0
    published = sk.publish_ascof(res).loc[no_df.index]
    assert (published["ci_lower"] == "[x]").all() and (published["ci_upper"] == "[x]").all()
    assert published["note"].str.contains("design df is 0").all()
    assert published["margin_of_error"].str.fullmatch(r"\d+\.\d").all()  # the margin is still shown


def test_groups_and_areas_with_no_respondents_keep_their_rows(small_run):
    """A council with no men still has a Male row, and a council where nobody answered a measure
    still has its rows: published "[w]" (no respondents) in every value column, never dropped."""
    _, _, design = small_run
    data = design.data.copy()
    councils = sorted(data["council"].unique())
    no_men, nobody = councils[0], councils[1]
    data.loc[(data["council"] == no_men) & (data["sex"] == "Male"), "sex"] = "Female"
    data.loc[data["council"] == nobody, "1B"] = np.nan
    changed = ReturnDesign(data, spec=design.spec, councils=design.councils,
                           survey_return=design.survey_return, lonely=design.lonely)
    res = sk.ascof(changed, measures=["1B", "1A"])
    per_area = res.groupby(["measure", "area_code"]).size()
    assert (per_area == 5).all()  # Total, Male, Female, 18-64, 65 and over everywhere
    men = res[(res["area_code"] == no_men) & (res["group"] == "Male")]
    assert len(men) == 2 and (men["respondents"] == 0).all() and men["estimate"].isna().all()
    assert (men["note"] == "no respondents").all()
    empty = res[(res["area_code"] == nobody) & (res["measure"] == "1B")]
    assert len(empty) == 5 and (empty["respondents"] == 0).all()
    published = sk.publish_ascof(pd.concat([men, empty]))
    for column in ["estimate", "se", "ci_lower", "ci_upper", "margin_of_error", "respondents", "note"]:
        assert (published[column] == "[w]").all(), column
    # the other measure in the same council is untouched
    assert (res[(res["area_code"] == nobody) & (res["measure"] == "1A")]["respondents"] > 0).any()

