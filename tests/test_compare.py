"""Tests for surveykit.compare: council vs England/region against R `survey`, funnel limits against
Spiegelhalter's published formulae worked by hand, year-on-year change and comparator groups."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveykit import compare
from surveykit.errors import SurveyKitError

FIXTURES = Path(__file__).parent / "fixtures" / "r_compare"
RESULT_COLUMNS = ["measure", "area_level", "area_code", "area_name", "breakdown", "group",
                  "estimate", "se", "ci_lower", "ci_upper", "margin_of_error", "respondents",
                  "population", "suppressed"]


def tidy_row(measure, level, code, name, estimate, se, population, respondents=100, n_eff=None):
    return {"measure": measure, "area_level": level, "area_code": code, "area_name": name,
            "breakdown": "total", "group": "Total", "estimate": estimate, "se": se,
            "ci_lower": estimate - 1.96 * se, "ci_upper": estimate + 1.96 * se,
            "margin_of_error": 1.96 * se, "respondents": respondents, "population": population,
            "suppressed": False, "deff": 1.0, "n_eff": respondents if n_eff is None else n_eff}


# --------------------------------------------------------------------------------------------------
# Against R survey
# --------------------------------------------------------------------------------------------------

def stratified(data, value, by):
    """Textbook stratified mean and SE with fpc over the council-strata in each `by` group."""
    strata = data.groupby(["council", "stratum"]).agg(
        area=(by, "first"), N=("N", "first"), m=(value, "size"),
        mean=(value, "mean"), var=(value, "var")).reset_index(drop=True)
    strata["total"] = strata["N"] * strata["mean"]
    strata["var_total"] = strata["N"] ** 2 * (1 - strata["m"] / strata["N"]) * strata["var"] / strata["m"]
    out = strata.groupby("area").agg(N=("N", "sum"), total=("total", "sum"), var_total=("var_total", "sum"))
    return pd.DataFrame({"estimate": out["total"] / out["N"],
                         "se": np.sqrt(out["var_total"]) / out["N"], "population": out["N"]})


@pytest.fixture(scope="module")
def r_fixture():
    data = pd.read_csv(FIXTURES / "data.csv", dtype={"council": str, "region_code": str})
    councils = pd.read_csv(FIXTURES / "councils.csv", dtype=str)
    expected = pd.read_csv(FIXTURES / "differences.csv", dtype={"council": str})
    names = councils.set_index("council")["council_name"]
    rows = []
    data = data.assign(all_england="E92000001")
    for variable, measure, scale in (("y", "1B", 100.0), ("score", "1A", 1.0)):
        england = stratified(data, variable, "all_england")
        regions = stratified(data, variable, "region_code")
        by_council = stratified(data, variable, "council")
        for level, table, label in (("england", england, lambda c: "England"),
                                    ("region", regions, lambda c: f"Region {c}"),
                                    ("council", by_council, lambda c: names[c])):
            for code, row in table.iterrows():
                rows.append(tidy_row(measure, level, code, label(code), row["estimate"] * scale,
                                     row["se"] * scale, row["population"]))
    results = pd.DataFrame(rows)[RESULT_COLUMNS + ["deff", "n_eff"]]
    return results, councils, expected


def relative(a, b):
    return np.abs(np.asarray(a) / np.asarray(b) - 1)


@pytest.mark.parametrize("level", ["england", "region"])
def test_compare_to_matches_r_survey(r_fixture, level):
    results, councils, expected = r_fixture
    got = compare.compare_to(results, level=level, councils=councils)
    for variable, measure, scale in (("y", "1B", 100.0), ("score", "1A", 1.0)):
        want = expected[(expected["variable"] == variable) & (expected["comparator_level"] == level)]
        mine = got[got["measure"] == measure].set_index("area_code").loc[want["council"]]
        # my numpy estimates are R's (sanity check of the inputs I built)
        assert relative(mine["se"], want["council_se"].to_numpy() * scale).max() < 1e-9
        assert relative(mine["comparator_se"], want["comparator_se"].to_numpy() * scale).max() < 1e-9
        assert list(mine["comparator_code"]) == list(want["comparator_code"])
        # the point of the test: difference and its SE, which accounts for the overlap
        assert relative(mine["difference"], want["difference"].to_numpy() * scale).max() < 1e-9
        assert relative(mine["se_difference"], want["se_difference"].to_numpy() * scale).max() < 1e-9
        assert relative(mine["se_difference"], want["se_difference_totals"].to_numpy() * scale).max() < 1e-9
        # ignoring the overlap would have been measurably wrong (so this test can fail)
        naive = np.sqrt(mine["se"] ** 2 + mine["comparator_se"] ** 2)
        assert relative(naive, want["se_difference"].to_numpy() * scale).max() > 1e-3


def test_compare_to_by_hand():
    # England 60 (se 1, N 1000); council 70 (se 5, N 100): share 0.1,
    # Var = 25 + 1 - 2 * 0.1 * 25 = 21, se = 4.582576, z = 10 / 4.582576 = 2.182179,
    # p = 2 * (1 - Phi(2.182179)) = 0.029096: higher at 95% (1.96), not at 99.8% (3.09).
    results = pd.DataFrame([tidy_row("3A", "england", "E92000001", "England", 60.0, 1.0, 1000),
                            tidy_row("3A", "council", "C1", "One", 70.0, 5.0, 100),
                            tidy_row("3A", "council", "C2", "Two", 60.5, np.nan, 100)])
    got = compare.compare_to(results).set_index("area_code")
    assert got.loc["C1", "population_share"] == pytest.approx(0.1)
    assert got.loc["C1", "difference"] == pytest.approx(10.0)
    assert got.loc["C1", "se_difference"] == pytest.approx(np.sqrt(21), rel=1e-12)
    assert got.loc["C1", "z"] == pytest.approx(2.182178902359924, rel=1e-12)
    assert got.loc["C1", "p_value"] == pytest.approx(0.029096331741252188, rel=1e-9)
    assert got.loc["C1", "difference_ci_lower"] == pytest.approx(10 - 1.959963984540054 * np.sqrt(21))
    assert got.loc["C1", "significance_95"] == "higher"
    assert got.loc["C1", "significance_99_8"] == "not significant"
    assert got.loc["C2", "significance_95"] == "not available"
    assert got.loc["C1", "comparator_name"] == "England"


def test_compare_to_region_needs_lookup_and_known_councils():
    results = pd.DataFrame([tidy_row("3A", "region", "R1", "Region", 60.0, 1.0, 1000),
                            tidy_row("3A", "council", "C1", "One", 70.0, 5.0, 100)])
    with pytest.raises(SurveyKitError, match="council lookup"):
        compare.compare_to(results, level="region")
    lookup = pd.DataFrame({"council": ["C9"], "council_name": ["Nine"], "region_code": ["R1"],
                           "region_name": ["Region"]})
    with pytest.raises(SurveyKitError, match="'C1' is not in the council lookup"):
        compare.compare_to(results, level="region", councils=lookup)
    with pytest.raises(SurveyKitError, match="no england rows"):
        compare.compare_to(results, level="england")
    with pytest.raises(SurveyKitError, match="population"):
        compare.compare_to(results.drop(columns="population"))


# --------------------------------------------------------------------------------------------------
# Funnel limits
# --------------------------------------------------------------------------------------------------

def test_normal_limits_for_a_proportion_by_hand():
    # p0 = 60%, n = 100: s = sqrt(60 * 40 / 100) = sqrt(24) = 4.898979 points.
    # 95%: 60 -/+ 1.959964 * 4.898979 = 60 -/+ 9.601823 -> 50.398177, 69.601823
    # 99.8%: 60 -/+ 3.090232 * 4.898979 = 60 -/+ 15.138985 -> 44.861015, 75.138985
    lower, upper = compare.funnel_limits(60.0, 100, 0.95, kind="proportion")
    assert (lower, upper) == pytest.approx((50.398177, 69.601823), abs=1e-6)
    lower, upper = compare.funnel_limits(60.0, 100, 0.998, kind="proportion")
    assert (lower, upper) == pytest.approx((44.861015, 75.138985), abs=1e-6)


def test_normal_limits_for_a_mean_score_by_hand():
    # target 19, sigma 4, n = 64: s = 4 / 8 = 0.5; 95%: 19 -/+ 0.979982
    lower, upper = compare.funnel_limits(19.0, 64, 0.95, kind="mean", sigma=4.0)
    assert (lower, upper) == pytest.approx((18.020018, 19.979982), abs=1e-6)
    # multiplicative phi = 4 doubles the half-width; additive tau2 = 0.75 gives sqrt(0.25 + 0.75) = 1
    lower, upper = compare.funnel_limits(19.0, 64, 0.95, kind="mean", sigma=4.0, phi=4.0)
    assert upper - 19 == pytest.approx(2 * 0.979982, abs=1e-6)
    lower, upper = compare.funnel_limits(19.0, 64, 0.95, kind="mean", sigma=4.0, tau2=0.75)
    assert upper - 19 == pytest.approx(1.959964, abs=1e-6)


def test_exact_binomial_limits_spiegelhalter_appendix_by_hand():
    # Binomial(20, 0.5); 2^20 = 1048576. Cumulative counts sum C(20, k), k <= r:
    # r=5: 21700, r=6: 60460, r=13: 988116, r=14: 1026876; C(20, 6) = C(20, 14) = 38760.
    # Upper 97.5%: F(13) = 0.942341 < 0.975 <= F(14) = 0.979305, so r_p = 14;
    #   alpha = (1026876 - 0.975 * 1048576) / 38760 = 4514.4 / 38760 = 0.116470;
    #   limit = (14 - 0.116470) / 20 = 0.6941765 -> 69.41765%.
    # Lower 2.5%: F(5) = 0.020695 < 0.025 <= F(6) = 0.057659, so r_p = 6;
    #   alpha = (60460 - 0.025 * 1048576) / 38760 = 34245.6 / 38760 = 0.883529;
    #   limit = (6 - 0.883529) / 20 = 0.2558235 -> 25.58235%.
    lower, upper = compare.funnel_limits(50.0, 20, 0.95, kind="proportion", method="exact")
    assert lower == pytest.approx(100 * (6 - 34245.6 / 38760) / 20, rel=1e-9)
    assert upper == pytest.approx(100 * (14 - 4514.4 / 38760) / 20, rel=1e-9)
    assert (lower, upper) == pytest.approx((25.58235, 69.41765), abs=1e-5)
    # effective sample sizes are rounded: 19.6 -> 20
    assert compare.funnel_limits(50.0, 19.6, 0.95, kind="proportion", method="exact")[1] == \
        pytest.approx(upper)
    with pytest.raises(SurveyKitError, match="normal"):
        compare.funnel_limits(50.0, 20, 0.95, kind="proportion", method="exact", phi=2.0)
    with pytest.raises(SurveyKitError, match="proportions"):
        compare.funnel_limits(50.0, 20, 0.95, kind="mean", sigma=1.0, method="exact")


def test_winsorised_dispersion_and_tau2_by_hand():
    # n = 10, 10%: k = floor(1.0) = 1 value each end pulled in to the 2nd smallest (-1) and
    # 2nd largest (2): [-1, -1, -0.5, 0, 0.2, 0.4, 0.6, 1, 2, 2].
    z = np.array([-5, -1, -0.5, 0, 0.2, 0.4, 0.6, 1, 2, 6])
    assert list(compare.winsorise(z, 0.1)) == [-1, -1, -0.5, 0, 0.2, 0.4, 0.6, 1, 2, 2]
    # phi = (1 + 1 + 0.25 + 0 + 0.04 + 0.16 + 0.36 + 1 + 4 + 4) / 10 = 11.81 / 10 = 1.181
    phi = compare.dispersion_ratio(z, 0.1)
    assert phi == pytest.approx(1.181)
    # DerSimonian-Laird with s = 2 for all ten: w = 0.25, sum w = 2.5, sum w^2 / sum w = 0.25;
    # tau2 = (10 * 1.181 - 9) / (2.5 - 0.25) = 2.81 / 2.25 = 1.248889
    assert compare.dersimonian_laird_tau2(phi, np.full(10, 2.0)) == pytest.approx(2.81 / 2.25)
    assert compare.dersimonian_laird_tau2(0.5, np.full(10, 2.0)) == 0.0


def funnel_results(kind="proportion"):
    # Ten councils with n_eff = 100 around England 60% (se 0.5, n_eff 9600).
    estimates = [45, 52, 55, 58, 59, 61, 62, 65, 68, 80]
    rows = [tidy_row("1B", "england", "E92000001", "England", 60.0, 0.5, 50000, 10000, 9600)]
    rows += [tidy_row("1B", "council", f"C{i}", f"Council {i}", float(e), 5.0, 1000 + 10 * i, 120, 100)
             for i, e in enumerate(estimates)]
    return pd.DataFrame(rows)


def test_funnel_flags_councils_and_adjusts_for_overdispersion():
    results = funnel_results()
    plain = compare.funnel(results, "1B", kind="proportion")
    c = plain.councils.set_index("area_code")
    # limits at n = 100 around 60%: 95% (50.398177, 69.601823), 99.8% (44.861015, 75.138985) as above
    assert c.loc["C0", "lower_95"] == pytest.approx(50.398177, abs=1e-6)
    assert c.loc["C9", "upper_99_8"] == pytest.approx(75.138985, abs=1e-6)
    assert c.loc["C0", "flag_95"] == "below" and c.loc["C0", "flag_99_8"] == "within"  # 45 > 44.86
    assert c.loc["C9", "flag_95"] == "above" and c.loc["C9", "flag_99_8"] == "above"
    assert (c["flag_95"] == "within").sum() == 8
    # z = (y - 60) / sqrt(24): for C9, 20 / 4.898979 = 4.082483
    assert c.loc["C9", "z"] == pytest.approx(20 / np.sqrt(24))
    # phi by hand: z*sqrt(24) = -15 -8 -5 -2 -1 1 2 5 8 20; winsorised -> -8 -8 -5 -2 -1 1 2 5 8 8;
    # sum of squares = 64+64+25+4+1+1+4+25+64+64 = 316; phi = 316 / 24 / 10 = 1.316667
    assert plain.phi == pytest.approx(316 / 240)
    inflated = compare.funnel(results, "1B", kind="proportion", overdispersion="multiplicative")
    half = inflated.councils["upper_95"].iloc[0] - 60
    assert half == pytest.approx(1.959964 * np.sqrt(24 * 316 / 240), abs=1e-5)
    # 95% limits now 60 -/+ 11.0196: 45 is still below 48.98; z shrinks by sqrt(phi)
    assert inflated.councils["flag_95"].iloc[0] == "below"
    assert inflated.councils["z"].iloc[9] == pytest.approx(20 / np.sqrt(24 * 316 / 240))
    # additive: tau2 = (10 * phi - 9) / (sum w - sum w^2 / sum w), w = 1 / s^2 = 1 / 24 each:
    # (13.166667 - 9) / (10/24 - 1/24) = 4.166667 * 24 / 9 = 11.111111 (percentage points squared)
    w = 1 / 24
    tau2 = (10 * 316 / 240 - 9) / (10 * w - w)
    assert tau2 == pytest.approx(100 / 9)
    additive = compare.funnel(results, "1B", kind="proportion", overdispersion="additive")
    assert additive.tau2 == pytest.approx(tau2)
    assert additive.councils["upper_95"].iloc[0] - 60 == pytest.approx(1.959964 * np.sqrt(24 + tau2), abs=1e-5)
    assert "additive" in additive.describe()


def test_under_dispersion_never_narrows_the_funnel():
    """Councils closer together than chance (phi < 1): multiplicative limits stay those of no
    over-dispersion, 60 -/+ 9.601823 at n = 100 (by hand above), and so do z and the flags."""
    results = funnel_results()
    council = results["area_level"] == "council"
    results.loc[council, "estimate"] = np.linspace(58.0, 62.0, council.sum())
    results.loc[results["area_code"] == "C9", "estimate"] = 70.5  # outside 69.601823 either way
    got = compare.funnel(results, "1B", kind="proportion", overdispersion="multiplicative")
    assert got.phi < 1
    c = got.councils.set_index("area_code")
    assert (c["lower_95"].iloc[0], c["upper_95"].iloc[0]) == pytest.approx((50.398177, 69.601823), abs=1e-6)
    assert c.loc["C9", "z"] == pytest.approx(10.5 / np.sqrt(24))
    assert c.loc["C9", "flag_95"] == "above"
    curve = got.limits([100])
    assert curve["upper_95"].iloc[0] == pytest.approx(69.601823, abs=1e-6)
    assert compare.funnel_limits(60.0, 100, 0.95, kind="proportion", phi=0.3) == pytest.approx(
        (50.398177, 69.601823), abs=1e-6)
    # phi < 1 is no over-dispersion, so the exact limits accept it
    compare.funnel_limits(50.0, 20, 0.95, kind="proportion", method="exact", phi=0.5)
    assert "not inflated" in got.describe()


def test_funnel_for_mean_scores_uses_englands_unit_sd():
    results = funnel_results()
    results["estimate"] = results["estimate"] / 4        # 15 for England, councils 11.25 .. 20
    # sigma = se_E * sqrt(n_eff_E) = 0.5 * sqrt(9600) = 48.98979; at n = 100: s = 4.898979
    got = compare.funnel(results, "1B", kind="mean")
    assert got.sigma == pytest.approx(0.5 * np.sqrt(9600))
    assert got.councils["upper_95"].iloc[0] == pytest.approx(15 + 9.601823, abs=1e-6)
    curve = got.limits([25, 100])
    assert curve["upper_95"].iloc[0] - 15 == pytest.approx(2 * 9.601823, abs=1e-6)


def test_funnel_needs_effective_sample_size():
    with pytest.raises(SurveyKitError, match="n_eff"):
        compare.funnel(funnel_results().drop(columns="n_eff"), "1B", kind="proportion")
    with pytest.raises(SurveyKitError, match="no council results"):
        compare.funnel(funnel_results(), "3A", kind="proportion")


# --------------------------------------------------------------------------------------------------
# Year on year
# --------------------------------------------------------------------------------------------------

RECIPE_1B = {"name": "Control", "items": ["q3a"], "codes": [1, 2], "filter": None}


def test_year_on_year_change_and_comparability():
    a = pd.DataFrame([tidy_row("1B", "england", "E92000001", "England", 77.0, 0.3, 1000),
                      tidy_row("1B", "council", "C1", "One", 70.0, 0.6, 100),
                      tidy_row("3D(1)", "england", "E92000001", "England", 70.0, 0.3, 1000),
                      tidy_row("1B", "council", "C2", "Two", 70.0, 0.6, 100)])
    b = pd.DataFrame([tidy_row("1B", "england", "E92000001", "England", 79.0, 0.4, 1000),
                      tidy_row("1B", "council", "C1", "One", 71.0, 0.8, 100),
                      tidy_row("3D(1)", "england", "E92000001", "England", 72.0, 0.3, 1000),
                      tidy_row("1J", "england", "E92000001", "England", 0.4, 0.01, 1000)])
    spec_a = {"year": "2021-22", "measures": {"1B": RECIPE_1B,
                                              "3D(1)": {"items": ["q12"], "codes": [2, 3], "filter": "q12 != 1"}}}
    spec_b = {"year": "2022-23", "measures": {
        "1B": dict(RECIPE_1B, name="Control over daily life"),     # wording only: still comparable
        "3D(1)": {"items": ["q12"], "codes": [2, 3], "filter": None},
        "1J": {"items": ["q3a"]}}}
    got = compare.year_on_year(a, b, spec_a, spec_b).set_index(["measure", "area_code"])
    # England 1B: 79 - 77 = 2, se = sqrt(0.3^2 + 0.4^2) = 0.5, z = 4: an increase at both levels
    e = got.loc[("1B", "E92000001")]
    assert (e["change"], e["se_change"], e["z"]) == pytest.approx((2.0, 0.5, 4.0))
    assert e["significance_95"] == "increase" and e["significance_99_8"] == "increase"
    assert e["comparable"] and e["reason"] == "" and e["year_a"] == "2021-22"
    # C1: 71 - 70 = 1, se = sqrt(0.36 + 0.64) = 1, z = 1, p = 0.317311: no significant change
    c1 = got.loc[("1B", "C1")]
    assert c1["p_value"] == pytest.approx(0.31731050786291404, rel=1e-9)
    assert c1["significance_95"] == "no significant change"
    assert c1["change_ci_upper"] == pytest.approx(1 + 1.959963984540054)
    # C2 has no 2022-23 result
    assert not got.loc[("1B", "C2"), "comparable"]
    assert got.loc[("1B", "C2"), "reason"] == "no 2022-23 result"
    # 3D(1): the filter changed, so no change is reported
    d = got.loc[("3D(1)", "E92000001")]
    assert not d["comparable"] and np.isnan(d["change"]) and "filter" in d["reason"]
    assert d["significance_95"] == "not comparable"
    # 1J exists only in 2022-23's spec
    assert "not defined in the 2021-22 spec" in got.loc[("1J", "E92000001"), "reason"]


def test_year_on_year_refuses_repeated_rows_with_a_clear_error():
    frame = pd.DataFrame([tidy_row("1B", "england", "E92000001", "England", 77.0, 0.3, 1000)] * 2)
    with pytest.raises(SurveyKitError, match="more than one row for measure '1B'"):
        compare.year_on_year(frame, frame.iloc[:1], {"1B": RECIPE_1B}, {"1B": RECIPE_1B})


def test_recipe_differences_reads_objects_and_dicts_alike():
    from dataclasses import dataclass

    @dataclass
    class Recipe:
        name: str
        items: tuple
        points: dict

    class Spec:
        year = "2023-24"
        measures = {"1A": Recipe("SCRQoL", ("q3a", "q4a"), {1: 3, 2: 2})}

    same = {"1A": {"name": "Quality of life", "items": ["q3a", "q4a"], "points": {1: 3, 2: 2}}}
    assert compare.recipe_differences(Spec.measures["1A"], same["1A"]) == []
    assert compare.recipe_differences(Spec.measures["1A"], {"items": ["q3a"], "points": {1: 3, 2: 2}}) == ["items"]
    frame = pd.DataFrame([tidy_row("1A", "england", "E92000001", "England", 19.0, 0.1, 1000)])
    got = compare.year_on_year(frame, frame.assign(estimate=19.2), same, Spec())
    assert bool(got["comparable"].iloc[0]) and got["change"].iloc[0] == pytest.approx(0.2)


# --------------------------------------------------------------------------------------------------
# Comparator groups
# --------------------------------------------------------------------------------------------------

def test_comparator_group_averages_and_ranks():
    rows = [tidy_row("1B", "council", "C1", "One", 80.0, 0.01, 300),
            tidy_row("1B", "council", "C2", "Two", 70.0, 0.01, 100),
            tidy_row("1B", "council", "C3", "Three", 60.0, 0.01, 100),
            tidy_row("1B", "council", "C4", "Four", 99.0, 0.01, 100)]
    results = pd.DataFrame(rows)
    got = compare.comparator_group(results, ["C1", "C2", "C3"], "1B", draws=2000, seed=1)
    avg = got.average.set_index("average")
    # weighted: (300*80 + 100*70 + 100*60) / 500 = 37000 / 500 = 74; simple: 210 / 3 = 70
    assert avg.loc["population-weighted", "estimate"] == pytest.approx(74.0)
    assert avg.loc["simple mean", "estimate"] == pytest.approx(70.0)
    # se: sqrt(0.6^2 + 0.2^2 + 0.2^2) * 0.01 = sqrt(0.44) * 0.01; simple sqrt(3) * 0.01 / 3
    assert avg.loc["population-weighted", "se"] == pytest.approx(np.sqrt(0.44) * 0.01)
    assert avg.loc["simple mean", "se"] == pytest.approx(np.sqrt(3) * 0.01 / 3)
    m = got.members.set_index("area_code")
    # estimates 10 points apart with se 0.01: ranks are certain
    assert list(m["rank"]) == [1, 2, 3]
    assert list(m["rank_lower"]) == [1, 2, 3] and list(m["rank_upper"]) == [1, 2, 3]
    assert list(m["prob_best"]) == [1.0, 0.0, 0.0]
    low = compare.comparator_group(results, ["C1", "C2", "C3"], "1B", higher_is_better=False)
    assert list(low.members["rank"]) == [3, 2, 1]


def test_comparator_group_rank_intervals_are_wide_for_equal_councils_and_seeded():
    rows = [tidy_row("1B", "council", f"C{i}", f"C{i}", 70.0, 3.0, 100) for i in range(4)]
    results = pd.DataFrame(rows)
    one = compare.comparator_group(results, [f"C{i}" for i in range(4)], "1B", seed=7)
    two = compare.comparator_group(results, [f"C{i}" for i in range(4)], "1B", seed=7)
    pd.testing.assert_frame_equal(one.members, two.members)
    # four exchangeable councils: each rank 1..4 is equally likely, so the 95% interval is 1 to 4
    # and the chance of being best is 1/4 (binomial SD with 10000 draws: 0.0043)
    assert list(one.members["rank_lower"]) == [1] * 4 and list(one.members["rank_upper"]) == [4] * 4
    assert np.allclose(one.members["prob_best"], 0.25, atol=0.02)
    with pytest.raises(SurveyKitError, match="'C9'"):
        compare.comparator_group(results, ["C1", "C9"], "1B")
