"""SurveyDesign against R `survey` (fixtures from tests/r/make_design_fixtures.R) and by hand."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scipy.stats import t as scipy_t

from surveykit.design import SurveyDesign
from surveykit.errors import SurveyKitError

FIXTURES = Path(__file__).parent / "fixtures" / "r"
DESIGN_ARGS = {
    "fpc": dict(population="N"),
    "lonely": dict(population="N"),
    "weights": dict(weights="w"),
    "weights_fpc": dict(population="N", weights="w"),
}
KEYS = ["design", "lonely", "stat", "variable", "by", "ci", "variance"]


def _load(data_file, results_file):
    data = pd.read_csv(FIXTURES / data_file)
    numbers = ["estimate", "se", "ci_lower", "ci_upper", "deff", "df"]
    results = pd.read_csv(FIXTURES / results_file, keep_default_na=False,
                          na_values={c: ["", "NA"] for c in numbers},
                          dtype={"by": str, "domain": str})
    return data, results


DATA, RESULTS = _load("design_data.csv", "design_results.csv")
GROUPS = {key: group for key, group in RESULTS.groupby(KEYS)}
# survey 4.4-1 changed lonely="adjust" for totals (tests/r/make_lonely_fixtures.R): those cases are
# checked against survey 4.5 below; every other 4.1.1 case is unchanged in 4.5 and checked here
CHANGED_IN_4_5 = {key for key in GROUPS if key[1] == "adjust" and key[2] == "total"}
CASES = sorted(set(GROUPS) - CHANGED_IN_4_5)
LONELY_DATA, LONELY_RESULTS = _load("lonely_data.csv", "lonely_results.csv")
LONELY_DATA = pd.concat([DATA[DATA.design == "lonely"], LONELY_DATA], ignore_index=True)
DESIGN_ARGS["lonely_w"] = dict(weights="w")
LONELY_GROUPS = {key: group for key, group in LONELY_RESULTS.groupby(KEYS)}


def _ours(design, lonely, stat, by, ci, variance, data=DATA):
    sd = SurveyDesign(data[data.design == design], ["council", "stratum"], lonely=lonely,
                      **DESIGN_ARGS[design])
    by_cols = by.split("+") if by else None
    ci = "logit" if ci == "logit-irls" else ci
    if stat == "ratio":
        out = sd.ratio("y_score", "x_den", by=by_cols, ci=ci, variance=variance)
    else:
        out = getattr(sd, stat)("y_bin" if stat == "proportion" else "y_score", by=by_cols,
                                ci=ci, variance=variance)
    out["domain"] = out[by_cols].astype(str).agg("|".join, axis=1) if by_cols else ""
    return out


def test_fixtures_cover_what_the_issue_asks():
    assert set(RESULTS.ci) == {"wald", "wald-t", "logit", "logit-irls", "xlogit", "asin", "beta"}
    assert set(RESULTS.lonely) == {"fail", "certainty", "remove", "adjust", "average"}
    assert set(RESULTS.stat) == {"proportion", "mean", "total", "ratio"}
    assert {"", "council", "sex", "council+sex", "grp"} <= set(RESULTS.by)
    # census stratum, two-respondent stratum, lonely stratum, item non-response
    per_stratum = DATA.groupby(["design", "council", "stratum"]).agg(n=("N", "size"), N=("N", "first"))
    assert (per_stratum.n == per_stratum.N).any()
    assert (per_stratum.n == 2).any() and (per_stratum.n == 1).any()
    assert DATA.y_bin.isna().any() and DATA.y_score.isna().any()
    # a domain empty in some strata
    assert DATA[DATA.grp == "c"].stratum.nunique() < 4
    assert sum(f.stat().st_size for f in FIXTURES.iterdir()) < 1_000_000


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(x or "all" for x in c))
def test_matches_r_survey(case):
    design, lonely, stat, variable, by, ci, variance = case
    expected = GROUPS[case]
    got = _ours(design, lonely, stat, by, ci, variance)
    merged = expected.merge(got, on="domain", suffixes=("_r", ""), validate="one_to_one")
    assert len(merged) == len(expected) == len(got)
    # svyciprop(method="logit") stops svyglm's IRLS at glm's epsilon = 1e-8; its bounds are ~2e-9
    # from the converged value. The converged fit ("logit") is held to 1e-9 like everything else.
    bound_tol = 5e-9 if ci == "logit-irls" else 1e-9
    for col, rtol in [("estimate", 1e-9), ("se", 1e-9), ("ci_lower", bound_tol),
                      ("ci_upper", bound_tol), ("deff", 1e-9)]:
        r, ours = merged[col + "_r"].to_numpy(float), merged[col].to_numpy(float)
        check = ~np.isnan(r)
        np.testing.assert_allclose(ours[check], r[check], rtol=rtol, atol=1e-13, err_msg=col)
    np.testing.assert_array_equal(merged.n_r, merged.n)
    if variance == "domain":
        np.testing.assert_array_equal(merged.df_r, merged.df)


@pytest.mark.parametrize("case", sorted(LONELY_GROUPS), ids=lambda c: "-".join(x or "all" for x in c))
def test_lonely_adjust_matches_r_survey_4_5(case):
    design, lonely, stat, variable, by, ci, variance = case
    expected = LONELY_GROUPS[case]
    got = _ours(design, lonely, stat, by, ci, variance, data=LONELY_DATA)
    merged = expected.merge(got, on="domain", suffixes=("_r", ""), validate="one_to_one")
    assert len(merged) == len(expected) == len(got)
    for col in ("estimate", "se", "ci_lower", "ci_upper", "deff"):
        np.testing.assert_allclose(merged[col], merged[col + "_r"], rtol=1e-9, atol=1e-13, err_msg=col)
    np.testing.assert_array_equal(merged.n_r, merged.n)
    np.testing.assert_array_equal(merged.df_r, merged.df)


def test_survey_4_5_changed_lonely_adjust_for_totals_only():
    """The two fixture sets agree wherever 4.5 kept 4.1.1's answer: same design, same domains."""
    for key, new in LONELY_GROUPS.items():
        if key[0] != "lonely":
            continue
        old = GROUPS[key].set_index("domain")
        new = new.set_index("domain").loc[old.index]
        if key[2] == "total":
            assert not np.allclose(new.se, old.se, rtol=1e-6), key
        else:
            np.testing.assert_allclose(new.se, old.se, rtol=1e-9, err_msg=str(key))
    # the whole-design total: 4.1.1 centred the lonely stratum on 0, 4.5 on the mean PSU total
    whole = ("lonely", "adjust", "total", "y_score", "", "wald", "domain")
    assert GROUPS[whole].se.iloc[0] == pytest.approx(1131.6237358254216, rel=1e-12)
    assert LONELY_GROUPS[whole].se.iloc[0] == pytest.approx(947.42076283169501, rel=1e-12)


def test_lonely_adjust_total_by_hand():
    """Strata A (N = 10: y = 2, 4), B (N = 5: y = 3, 5, 7) and lonely L (N = 4: y = 6).
    Totals z_i = N_h/m_h y_i: A 10, 20; B 5, 25/3, 35/3; L 24; total 79. survey 4.5 centres L on the
    mean PSU total 79/6 (six respondents), so L adds (1 - 1/4)(24 - 79/6)^2; A adds
    (1 - 2/10) 2 (10 - 15)^2 + (20 - 15)^2 = 80 and B adds (1 - 3/5) 3/2 * 2 (10/3)^2 = 40/3."""
    data = pd.DataFrame({"s": list("AABBBL"), "N": [10, 10, 5, 5, 5, 4], "y": [2.0, 4, 3, 5, 7, 6]})
    got = SurveyDesign(data, "s", population="N", lonely="adjust").total("y")
    lonely = 0.75 * (24 - 79 / 6) ** 2
    assert got.estimate.iloc[0] == pytest.approx(79, rel=1e-12)
    assert got.se.iloc[0] == pytest.approx(np.sqrt(80 + 40 / 3 + lonely), rel=1e-12)


def test_lonely_fail_names_the_stratum():
    sd = SurveyDesign(DATA[DATA.design == "lonely"], ["council", "stratum"], population="N")
    with pytest.raises(SurveyKitError, match="council=C01, stratum=2 has only one respondent"):
        sd.mean("y_score")
    # svyby stops on the domain holding the lonely stratum, and so do we
    with pytest.raises(SurveyKitError, match="council=C01, stratum=2"):
        sd.proportion("y_bin", by="council")


def test_nhs_and_domain_variance_coincide_for_council_and_england():
    sd = SurveyDesign(DATA[DATA.design == "fpc"], ["council", "stratum"], population="N")
    for by in (None, "council"):
        a = sd.proportion("y_bin", by=by)
        b = sd.proportion("y_bin", by=by, variance="nhs")
        np.testing.assert_allclose(a.se, b.se, rtol=1e-12)
    # and they differ for a breakdown that cuts across strata (the 1-2% the reference mentions)
    a = sd.proportion("y_bin", by="sex")
    b = sd.proportion("y_bin", by="sex", variance="nhs")
    assert not np.allclose(a.se, b.se, rtol=1e-6)


def _tiny():
    """Two strata, checkable by hand: A (N=10) answers 1, 0, 1 and one blank; B (N=4) 1, 0."""
    return pd.DataFrame({
        "la": ["X", "X", "X", "X", "X", "X"],
        "st": ["A", "A", "A", "A", "B", "B"],
        "N": [10, 10, 10, 10, 4, 4],
        "y": [1, 0, 1, np.nan, 1, 0],
        "sex": ["F", "M", "F", "F", "M", "M"],
    })


def test_hand_computed_stratified_proportion_with_per_item_weights():
    d = SurveyDesign(_tiny(), ["la", "st"], population="N")
    out = d.proportion("y", ci="wald")
    # per-item weights: A has 3 answers -> 10/3 each, B has 2 -> 4/2 each
    p = (10 * (2 / 3) + 4 * (1 / 2)) / 14
    # NHS Digital / textbook: sum p_h(1-p_h) N_h^2 (1 - m_h/N_h)/(m_h - 1) / (sum N_h)^2
    var = ((2 / 3) * (1 / 3) * 100 * (1 - 3 / 10) / 2 + 0.25 * 16 * (1 - 2 / 4) / 1) / 14**2
    assert out.estimate.iloc[0] == pytest.approx(p, rel=1e-12)
    assert out.se.iloc[0] == pytest.approx(np.sqrt(var), rel=1e-12)
    assert out.ci_lower.iloc[0] == pytest.approx(p - 1.959963984540054 * np.sqrt(var), rel=1e-12)
    assert out.n.iloc[0] == 5 and out.population.iloc[0] == pytest.approx(14)
    assert out.df.iloc[0] == 3  # 5 respondents - 2 strata
    assert list(out.columns) == ["estimate", "se", "ci_lower", "ci_upper", "n", "population",
                                 "df", "deff", "n_eff", "note"]


def test_nhs_breakdown_variance_by_hand():
    d = SurveyDesign(_tiny(), ["la", "st"], population="N")
    out = d.proportion("y", by="sex", variance="nhs").set_index("sex")
    # female: only in A, 2 answering of m_A=3: N_cell = 10*2/3, p = 1 (no variance)
    assert out.loc["F", "estimate"] == 1.0 and out.loc["F", "se"] == 0.0
    # male: A has 1 (one-respondent cell adds nothing), B has 2: p=1/2, N_cell = 4*2/2 = 4
    n_a, n_b = 10 * 1 / 3, 4.0
    p = (n_a * 0 + n_b * 0.5) / (n_a + n_b)
    var = 0.25 * n_b**2 * (1 - 2 / 4) / (2 - 1) / (n_a + n_b) ** 2
    assert out.loc["M", "estimate"] == pytest.approx(p, rel=1e-12)
    assert out.loc["M", "se"] == pytest.approx(np.sqrt(var), rel=1e-12)


def _agreeing():
    """One council, two strata (N = 61 with 7 respondents, N = 77 with 6), built so that each way a
    variance can be exactly 0 occurs. Women answer y = 1 everywhere and score 0.1 (a value with no
    exact binary form): a domain whose answers agree. Men answer 0, 0 in A and 1, 1, 1 in B: every
    cell agrees, the domain does not. "X" is one respondent per stratum, answering 0 in A, 1 in B.
    Band b1 (men in A, X in B) mixes an agreeing cell with a one-respondent cell. (With these
    populations B - A^2/m left SEs of 1e-9 to 7e-9 for the women.)"""
    return pd.DataFrame({
        "st": ["A"] * 7 + ["B"] * 6,
        "N": [61] * 7 + [77] * 6,
        "sex": ["F", "F", "F", "M", "M", "X", "O", "F", "F", "M", "M", "M", "X"],
        "y": [1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1.0],
        "s": [0.1, 0.1, 0.1, 2.5, 2.5, 4.0, 1.0, 0.1, 0.1, 3.7, 3.7, 3.7, 1.5],
        "band": ["b2", "b2", "b2", "b1", "b1", "b2", "b2", "b2", "b2", "b2", "b2", "b2", "b1"],
    })


def _domain_variance_by_hand(df, column, in_domain, population="N", strata="st"):
    """R's domain variance of a stratified mean written out stratum by stratum: z_i = w_i (y_i - p)/W
    inside the domain and 0 outside, var = sum_h (1 - m_h/N_h) m_h/(m_h - 1) sum_i (z_i - zbar_h)^2."""
    w = df[population] / df.groupby(strata)[population].transform("size")
    y, d = df[column].to_numpy(float), np.asarray(in_domain)
    p = np.sum(w[d] * y[d]) / np.sum(w[d])
    z = np.where(d, w * (y - p), 0.0) / np.sum(w[d])
    var = 0.0
    for _, rows in df.groupby(strata).groups.items():
        zh, m = z[df.index.get_indexer(rows)], len(rows)
        var += (1 - m / df.loc[rows, population].iloc[0]) * m / (m - 1) * np.sum((zh - zh.mean()) ** 2)
    return p, var


# weights for which each stratum's weighted mean of the women's 0.1 is 0.1 only up to rounding
_WEIGHTS = [2.706, 4.767, 0.978, 4.759, 1.766, 2.29, 4.19, 2.223, 2.883, 0.43, 3.842, 2.829, 1.85]


@pytest.mark.parametrize("variance", ["domain", "nhs"])
@pytest.mark.parametrize("weighting", [dict(population="N"), dict(weights="w")])
def test_a_domain_whose_answers_agree_has_no_variance(variance, weighting):
    d = SurveyDesign(_agreeing().assign(w=_WEIGHTS), "st", **weighting)
    women = d.proportion("y", by="sex", variance=variance).set_index("sex").loc["F"]
    assert women["estimate"] == pytest.approx(1.0, abs=1e-15)
    assert women["se"] == pytest.approx(0.0, abs=1e-15)  # B - A^2/m left about 3e-9 here
    score = d.mean("s", by="sex", variance=variance).set_index("sex").loc["F"]
    assert score["estimate"] == pytest.approx(0.1, rel=1e-15)
    assert score["se"] == pytest.approx(0.0, abs=1e-20)


def test_every_interval_of_a_unanimous_domain_is_in_range():
    """p = 1 and p = 0 for 5 women, df = 5 - 2 strata = 3, no variance."""
    data = _agreeing().assign(none=lambda f: 1 - f["y"])
    d = SurveyDesign(data, "st", population="N")
    t3 = 3.1824463052837078  # qt(0.975, 3)
    for column, p in (("y", 1.0), ("none", 0.0)):
        for method in ("wald", "wald-t", "logit", "xlogit", "asin", "beta", "wilson"):
            got = d.proportion(column, by="sex", ci=method).set_index("sex").loc["F"]
            if method == "beta":  # Clopper-Pearson at n = 5
                expected = (0.025 ** (1 / 5), 1.0) if p == 1 else (0.0, 1 - 0.025 ** (1 / 5))
            elif method == "wilson":  # Wilson at n = 5 with z = t(df): [n/(n+z^2), 1] or [0, z^2/(n+z^2)]
                expected = (5 / (5 + t3**2), 1.0) if p == 1 else (0.0, t3**2 / (5 + t3**2))
            else:
                expected = (p, p)
            assert (got["ci_lower"], got["ci_upper"]) == pytest.approx(expected, rel=1e-12, abs=1e-15), method
            assert 0 <= got["ci_lower"] <= got["ci_upper"] <= 1


def test_nhs_breakdown_variance_falls_back_to_the_domain_variance_where_it_is_silent():
    data = _agreeing()
    d = SurveyDesign(data, "st", population="N", lonely="certainty")
    for by, group, note in (("sex", "M", "the answers within each group-stratum cell are all the same"),
                            ("sex", "X", "each group-stratum cell has one respondent"),
                            ("band", "b1", "each group-stratum cell has one respondent or answers all the same")):
        got = d.proportion("y", by=by, variance="nhs").set_index(by).loc[group]
        p, var = _domain_variance_by_hand(data, "y", data[by] == group)
        assert var > 0.01  # the answers differ a lot: a margin of 0 would be wrong
        assert got["estimate"] == pytest.approx(p, rel=1e-12)
        assert got["se"] == pytest.approx(np.sqrt(var), rel=1e-12)
        assert got["note"] == f"NHS breakdown variance is 0 although answers differ ({note}); the domain variance is used"
    # a group whose cells vary keeps NHS Digital's own variance and no note
    kept = d.proportion("y", by="band", variance="nhs").set_index("band").loc["b2"]
    assert kept["note"] == "" and kept["se"] != pytest.approx(
        np.sqrt(_domain_variance_by_hand(data, "y", data["band"] == "b2")[1]), rel=1e-3)


def test_ten_men_whose_answers_differ_get_a_margin():
    """The issue's case: 10 men in one council, 4 in stratum 1 (N = 200 of 20 respondents) all
    answering 1 and 6 in stratum 2 (N = 252 of 25) all answering 0. p = 40/(40 + 60.48) = 39.8%;
    NHS Digital's variance is 0 (each cell agrees) and used to be published as 39.8 +/- 0.0."""
    rng = np.random.default_rng(9)
    data = pd.DataFrame({
        "la": "X", "st": [1] * 20 + [2] * 25, "N": [200] * 20 + [252] * 25,
        "sex": ["M"] * 4 + ["F"] * 16 + ["M"] * 6 + ["F"] * 19,
        "y": np.r_[[1.0] * 4, rng.integers(0, 2, 16), [0.0] * 6, rng.integers(0, 2, 19)]})
    d = SurveyDesign(data, ["la", "st"], population="N", lonely="certainty")
    men = d.proportion("y", by=["la", "sex"], variance="nhs").set_index("sex").loc["M"]
    p, var = _domain_variance_by_hand(data, "y", data["sex"] == "M")
    assert 100 * men["estimate"] == pytest.approx(100 * 40 / 100.48, rel=1e-12)
    assert 100 * 1.96 * men["se"] == pytest.approx(100 * 1.96 * np.sqrt(var), rel=1e-12)
    assert 100 * 1.96 * men["se"] > 20


def test_many_variables_in_one_call_equal_one_at_a_time():
    sd = SurveyDesign(DATA[DATA.design == "fpc"], ["council", "stratum"], population="N")
    both = sd.mean(["y_bin", "y_score"], by=["council", "sex"], ci="wald-t")
    assert list(both.columns[:3]) == ["variable", "council", "sex"]
    for var in ("y_bin", "y_score"):
        one = sd.mean(var, by=["council", "sex"], ci="wald-t")
        part = both[both.variable == var].drop(columns="variable").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, one)


def test_missing_by_values_stay_in_their_strata():
    df = _tiny().assign(sex=["F", "M", "F", "F", None, "M"])
    out = SurveyDesign(df, ["la", "st"], population="N").proportion("y", by="sex")
    assert list(out.sex) == ["F", "M"]
    # M: A has one of 3 answering (y=0), B one of 2 (y=0): p = 0; W = 10/3 + 2
    assert out.set_index("sex").loc["M", "population"] == pytest.approx(10 / 3 + 2)


def test_zero_variance_and_single_respondent_do_not_crash():
    df = _tiny()
    d = SurveyDesign(df, ["la", "st"], population="N", lonely="certainty")
    out = d.proportion("y", by="sex", ci="beta").set_index("sex")
    assert out.loc["F", "estimate"] == 1.0
    # p = 1 with zero variance: Clopper-Pearson at the 2 female respondents: lower = 0.025^(1/2)
    assert out.loc["F", "ci_lower"] == pytest.approx(0.025 ** 0.5, rel=1e-12)
    assert out.loc["F", "ci_upper"] == 1.0 and "effective sample size" in out.loc["F", "note"]
    one = pd.DataFrame({"la": ["X", "X", "Y"], "st": [1, 1, 1], "N": [5, 5, 9],
                        "y": [1.0, 0.0, 1.0]})
    single = SurveyDesign(one, ["la", "st"], population="N", lonely="certainty")
    res = single.proportion("y", by="la", ci="wald-t").set_index("la")
    assert res.loc["Y", "df"] == 0 and np.isnan(res.loc["Y", "ci_lower"])
    assert "df is 0" in res.loc["Y", "note"]


def test_effective_sample_size_is_the_one_the_intervals_use():
    """n_eff = s^2/se^2, s^2 the weighted variance with divisor sum(w): for a proportion R's
    svyciprop n_eff, p(1-p)/se^2; for a mean, through R's deff (against SRS without replacement,
    S^2 with divisor n - 1), (n - 1) / (deff (1 - n/W))."""
    sd = SurveyDesign(DATA[DATA.design == "fpc"], ["council", "stratum"], population="N")
    r = GROUPS["fpc", "fail", "proportion", "y_bin", "council", "wald", "domain"].set_index("domain")
    out = sd.proportion("y_bin", by="council").set_index("council").loc[r.index]
    np.testing.assert_allclose(out.n_eff, r.estimate * (1 - r.estimate) / r.se**2, rtol=1e-9)
    r = GROUPS["fpc", "fail", "mean", "y_score", "council", "wald", "domain"].set_index("domain")
    out = sd.mean("y_score", by="council").set_index("council").loc[r.index]
    np.testing.assert_allclose(out.n_eff, (r.n - 1) / (r.deff * (1 - r.n / out.population)), rtol=1e-9)
    # the Wilson interval the design reports is centred where Wilson's formula puts it at that n_eff
    wilson = sd.proportion("y_bin", by="council", ci="wilson")
    z = scipy_t.ppf(0.975, wilson.df)
    n, p = wilson.n_eff, wilson.estimate
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    np.testing.assert_allclose((wilson.ci_lower + wilson.ci_upper) / 2, centre, rtol=1e-12)


def test_effective_sample_size_without_variance():
    # women agree (p = 1 of 5): n_eff is their number; a census stratum: no sampling error at all
    d = SurveyDesign(_agreeing(), "st", population="N")
    assert d.proportion("y", by="sex").set_index("sex").loc["F", "n_eff"] == 5
    assert d.mean("s", by="sex").set_index("sex").loc["F", "n_eff"] == 5
    census = SurveyDesign(pd.DataFrame({"s": 1, "N": 3, "y": [1.0, 0.0, 1.0]}), "s", population="N")
    assert census.proportion("y").n_eff.iloc[0] == np.inf


def test_total_and_ratio_by_hand():
    df = pd.DataFrame({"s": [1, 1, 2, 2], "N": [4, 4, 6, 6], "y": [2.0, 4.0, 1.0, 3.0],
                       "x": [1.0, 1.0, 2.0, 2.0]})
    d = SurveyDesign(df, "s", population="N")
    total = d.total("y")
    assert total.estimate.iloc[0] == pytest.approx(2 * 6 + 3 * 4)
    # var(total) = sum N_h^2 (1 - n_h/N_h) s_h^2 / n_h; s^2 = 2 in both strata
    var = 16 * (1 - 2 / 4) * 2 / 2 + 36 * (1 - 2 / 6) * 2 / 2
    assert total.se.iloc[0] == pytest.approx(np.sqrt(var), rel=1e-12)
    ratio = d.ratio("y", "x")
    assert ratio.estimate.iloc[0] == pytest.approx(24 / (2 * (1 + 1) + 3 * (2 + 2)), rel=1e-12)


@pytest.mark.parametrize("frame, kwargs, message", [
    (pd.DataFrame({"s": [1, 1], "N": [5, 6], "y": [1, 0]}), dict(population="N"),
     "population varies within stratum s=1"),
    (pd.DataFrame({"s": [1, 1, 1], "N": [2, 2, 2], "y": [1, 0, 1]}), dict(population="N"),
     "population 2 is below the sample size 3 in stratum s=1"),
    (pd.DataFrame({"s": [1, 1], "w": [1.0, -2.0], "y": [1, 0]}), dict(weights="w"),
     "column w: weight is negative"),
    (pd.DataFrame({"s": [1, 1], "w": [1.0, np.nan], "y": [1, 0]}), dict(weights="w"),
     "row 1, column w: weight is missing"),
    (pd.DataFrame({"s": [1, None], "N": [5, 5], "y": [1, 0]}), dict(population="N"),
     "row 1, column s: stratum is missing"),
    (pd.DataFrame({"s": [1, 1], "N": [5, 5], "y": [1, 0]}), dict(population="Nh"),
     "column Nh: column not found"),
])
def test_bad_designs_say_what_is_wrong(frame, kwargs, message):
    with pytest.raises(SurveyKitError, match=message):
        SurveyDesign(frame, "s", **kwargs)


def test_bad_calls_say_what_is_wrong():
    d = SurveyDesign(pd.DataFrame({"s": [1, 1], "N": [5, 5], "y": [1, 2]}), "s", population="N")
    with pytest.raises(SurveyKitError, match="0/1 or boolean"):
        d.proportion("y")
    with pytest.raises(SurveyKitError, match="for proportions only"):
        d.mean("y", ci="logit")
    with pytest.raises(SurveyKitError, match="unknown ci method"):
        d.mean("y", ci="exact")
    with pytest.raises(SurveyKitError, match="lonely must be one of"):
        SurveyDesign(pd.DataFrame({"s": [1]}), "s", weights="s", lonely="ignore")


def test_weights_are_per_item_population_over_answering_rows():
    """Stratum A: N = 10, rows answering x: 2 of 3, y: 3 of 3; stratum B: N = 4, x 1 of 1."""
    data = pd.DataFrame({"s": ["A", "A", "A", "B"], "N": [10, 10, 10, 4],
                         "x": [1.0, np.nan, 0.0, 1.0], "y": [1.0, 2.0, 3.0, np.nan]})
    d = SurveyDesign(data, strata="s", population="N", lonely="certainty")
    np.testing.assert_allclose(d.weights("x"), [5.0, np.nan, 5.0, 4.0])
    np.testing.assert_allclose(d.weights("y"), [10 / 3, 10 / 3, 10 / 3, np.nan])
    given = SurveyDesign(data.assign(w=[1.0, 2.0, 3.0, 4.0]), strata="s", weights="w")
    np.testing.assert_allclose(given.weights("x"), [1.0, np.nan, 3.0, 4.0])
