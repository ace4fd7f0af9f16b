"""Synthetic returns: layout from the spec, a consistent design, plausible answers, faithful writers."""

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from surveykit import synth
from surveykit.errors import SurveyKitError
from surveykit.read import read_councils, read_population, read_raw
from surveykit.questionnaire import load_spec
from surveykit.resources import bundled_path


@pytest.fixture(scope="module")
def national(ascs):
    return synth.make_return("ascs", ascs.year, seed=7, spec=ascs)


def _codes(spec, name):
    col = spec.columns[name]
    return sorted(col.codes) if col.codes else None


def _respondents(ret, spec):
    return ret.data[ret.data[spec.respondent_column] == spec.respondent_value]


def _answered(series):
    return series[series.notna() & (series != -9)]


# --------------------------------------------------------------------------------------- layout

def test_columns_follow_the_spec_layout_in_order(national, ascs):
    assert list(national.data.columns) == list(ascs.columns)
    for name, col in ascs.columns.items():
        if col.kind == "string":
            assert pd.api.types.is_string_dtype(national.data[name]), name
        else:
            assert national.data[name].dtype == np.float64, name


def test_every_value_is_a_valid_code_or_missing(national, ascs):
    data = national.data
    easy_rows = data["Questionnaire"] == 3
    for name, col in ascs.columns.items():
        if col.kind == "string":
            continue
        x = data[name]
        present = x.notna() & (x != -9)
        if name in ("q1", "q2a"):  # easy-read rows use the 5-point scale, others the 7-point one
            assert x[present & easy_rows].isin(range(1, 6)).all(), name
            assert x[present & ~easy_rows].isin(range(1, 8)).all(), name
        elif col.codes:
            assert x[present].isin(list(col.codes)).all(), name
        elif col.range:
            assert ((x[present] >= col.range[0]) & (x[present] <= col.range[1])).all(), name


def test_council_codes_are_three_digit_and_serials_unique_within_council(national):
    data = national.data
    assert data["LaCode"].str.fullmatch(r"\d{3}").all()
    assert data["LaCode"].nunique() == 152
    assert not data.duplicated(["LaCode", "SerialNo"]).any()
    assert set(data["LaCode"]) == set(national.councils["council"])


def test_council_lookup_has_the_nine_english_regions():
    lookup = synth.synthetic_councils()
    assert list(lookup.columns) == ["council", "council_name", "region_code", "region_name", "ons_code"]
    assert lookup["ons_code"].is_unique
    assert len(lookup) == 152 and lookup["council"].is_unique and lookup["council_name"].is_unique
    regions = dict(zip(lookup["region_code"], lookup["region_name"]))
    assert regions == {"E12000001": "North East", "E12000002": "North West",
                       "E12000003": "Yorkshire and The Humber", "E12000004": "East Midlands",
                       "E12000005": "West Midlands", "E12000006": "East of England",
                       "E12000007": "London", "E12000008": "South East", "E12000009": "South West"}


# ---------------------------------------------------------------------------------------- design

def test_stratum_column_matches_the_published_rules(national):
    d = national.data
    by_hand = np.select(
        [d["PrimarySupportReason"] == 7, d["Age"] < 65,
         (d["Age"] >= 65) & d["SupportSetting"].isin([2, 3]), (d["Age"] >= 65) & (d["SupportSetting"] == 1)],
        [1, 2, 3, 4], 0)
    assert (by_hand > 0).all()
    np.testing.assert_array_equal(d["Stratum"].to_numpy(), by_hand)


def test_population_covers_sample_and_sample_counts_the_rows(national):
    pop = national.population
    assert list(pop.columns) == ["council", "stratum", "population", "sample", "population_q2c", "population_1j"]
    assert len(pop) == 152 * 4
    counted = national.data.groupby(["LaCode", "Stratum"]).size()
    sample = pop.set_index(["council", "stratum"])["sample"]
    np.testing.assert_array_equal(counted.reindex(sample.index).to_numpy(), sample.to_numpy(dtype=int))
    assert (pop["population"] >= pop["sample"]).all()
    # PopInStratum in the return is the council-stratum population
    joined = national.data.merge(pop, left_on=["LaCode", "Stratum"], right_on=["council", "stratum"])
    assert (joined["PopInStratum"] == joined["population"]).all()


def test_sub_populations_are_summed_from_the_eligible_tables(national):
    """Q2c: none in strata 1 and 3, stratum 2 without residential/nursing, stratum 4 whole; 1J: community with
    physical, sensory, memory and cognition or mental health support. Worked out here from tables 1 and 2."""
    cells = national.eligible
    pop = national.population.set_index(["council", "stratum"])
    ld = cells["support_reason"] == "Learning Disability Support"
    young, old = cells["age_group"] == "18-64", cells["age_group"] == "65 and over"
    community = cells["setting"] == "Community"
    eligible_reason = cells["support_reason"].isin(["Physical Support", "Sensory Support",
                                                    "Support with Memory and Cognition", "Mental Health Support"])
    def total(mask):
        return cells[mask].groupby("council")["population"].sum()
    strata = {1: total(ld), 2: total(young & ~ld), 3: total(old & ~community & ~ld), 4: total(old & community & ~ld)}
    for h, by_council in strata.items():
        assert (pop.xs(h, level="stratum")["population"] == by_council.reindex(pop.xs(h, level="stratum").index)).all()
    q2c = pop["population_q2c"].unstack()
    assert (q2c[1] == 0).all() and (q2c[3] == 0).all()
    assert (q2c[2] == total(young & community & ~ld).reindex(q2c.index)).all()
    assert (q2c[4] == pop["population"].unstack()[4]).all()
    one_j = pop["population_1j"].unstack()
    assert (one_j[2] == total(young & community & eligible_reason).reindex(one_j.index)).all()
    assert (one_j[4] == total(old & community & eligible_reason).reindex(one_j.index)).all()
    assert (one_j[1] == 0).all() and (one_j[3] == 0).all()


def test_national_size_and_response_rate(national, ascs):
    n = len(national.data)
    respondents = len(_respondents(national, ascs))
    assert 70_000 <= n <= 90_000
    assert 0.35 <= respondents / n <= 0.45


def test_non_respondents_have_every_question_blank(national, ascs):
    items = [c for c, s in ascs.columns.items() if s.is_item]
    non = national.data[national.data["Response"] != 1]
    assert set(non["Response"].unique()) <= {2.0, 3.0}
    assert non[items].isna().all().all()


def test_answers_look_like_england(national, ascs):
    """ASCOF by the published formulas (unweighted): 1A ~ 19, 3A 62-65%, 1B ~ 77%, 4A ~ 70%."""
    r = _respondents(national, ascs)
    domains = ["q3a", "q4a", "q5a", "q6a", "q7a", "q8a", "q9a", "q11"]
    x = r[domains].where(r[domains] > 0)
    complete = x.dropna()
    assert 18.0 <= (32 - complete.sum(axis=1)).mean() <= 20.0
    easy = r["Questionnaire"] == 3
    q1 = r["q1"].where(r["q1"] > 0)
    combined = np.where(easy, q1, np.clip(q1 - 1, 1, 5))
    combined = combined[~np.isnan(combined)]
    assert 0.60 <= (combined == 1).mean() <= 0.67
    assert 0.74 <= _answered(r["q3a"]).isin([1, 2]).mean() <= 0.80
    assert 0.67 <= (_answered(r["q7a"]) == 1).mean() <= 0.73
    # quality-of-life items move together (one latent wellbeing per person)
    assert complete["q3a"].corr(complete["q8a"]) > 0.2


def test_easy_read_mostly_for_learning_disability(national, ascs):
    r = _respondents(national, ascs)
    easy = r["Questionnaire"] == 3
    assert easy[r["Stratum"] == 1].mean() > 0.5
    assert easy[r["Stratum"] != 1].mean() < 0.05


def test_item_non_response_is_a_few_percent_both_ways(national, ascs):
    r = _respondents(national, ascs)
    for item in ("q3a", "q13", "q21"):
        coded_missing = (r[item] == -9).mean()
        blank = r[item].isna().mean()
        assert 0.005 <= coded_missing <= 0.04 and 0.005 <= blank <= 0.04, item


def test_seeded_and_reproducible(ascs):
    a = synth.make_return(councils=5, seed=3, spec=ascs)
    b = synth.make_return(councils=5, seed=3, spec=ascs)
    c = synth.make_return(councils=5, seed=4, spec=ascs)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.population, b.population)
    assert not a.data.equals(c.data)


def test_fewer_councils_share_the_national_design(national, ascs):
    small = synth.make_return(councils=["102", "916"], seed=7, spec=ascs)
    assert set(small.data["LaCode"]) == {"102", "916"}
    national_rows = national.population[national.population["council"].isin(["102", "916"])]
    pd.testing.assert_frame_equal(small.population.reset_index(drop=True), national_rows.reset_index(drop=True))


def test_respondents_sets_the_expected_number(ascs):
    ret = synth.make_return(councils=20, respondents=3000, seed=1, spec=ascs)
    got = (ret.data["Response"] == 1).sum()
    assert 2700 <= got <= 3300
    assert (ret.population["population"] >= ret.population["sample"]).all()


def test_sace_national_scale(sace):
    ret = synth.make_return("sace", "2023-24", seed=2, spec=sace)
    assert list(ret.data.columns) == list(sace.columns)
    respondents = (ret.data["Response"] == 1).sum()
    assert 45_000 <= respondents <= 50_000
    assert 1.8 <= len(ret.data) / respondents <= 2.4
    assert (ret.population["stratum"] == 1).all() and len(ret.population) == 152
    r = ret.data[ret.data["Response"] == 1]
    qol = r[["q7", "q8", "q9", "q10", "q11", "q12"]]
    qol = qol.where(qol > 0).dropna()
    assert 7.0 <= (12 - (qol - 1).sum(axis=1)).mean() <= 8.0   # 1D, points 2/1/0 for codes 1/2/3


def test_bad_council_choice_is_a_clear_error(ascs):
    with pytest.raises(SurveyKitError, match="between 1 and 152"):
        synth.make_return(councils=0, spec=ascs)
    with pytest.raises(SurveyKitError, match="unknown council codes"):
        synth.make_return(councils=["102", "000"], spec=ascs)


# ----------------------------------------------------------------------------------------- messy

def test_messy_changes_only_the_injected_cells(ascs):
    clean = synth.make_return(councils=15, seed=5, spec=ascs)
    messy = synth.make_return(councils=15, seed=5, messy=True, spec=ascs)
    rules = set(messy.injected["rule"])
    assert rules == {"out of range", "answers from non-respondent", "duplicate serial number", "no stratum",
                     "unknown council", "response missing or invalid", "population smaller than sample",
                     "not a whole number", "value for non-respondent", "multi-choice answers inconsistent",
                     "not asked of this respondent"}
    a, b = clean.data, messy.data
    differs = (a.ne(b) & ~(a.isna() & b.isna())).to_numpy()
    changed = {(int(r) + 2, a.columns[c]) for r, c in zip(*np.nonzero(differs))}
    injected = messy.injected[messy.injected["file"] == "return"]
    # a multi-choice injection blanks the first part and ticks the second; a duplicate changes the later
    # row's serial only (the first row of the pair is reported but untouched)
    expected = set()
    for rule, r, c, v in zip(injected["rule"], injected["row"], injected["column"], injected["value"]):
        if rule == "multi-choice answers inconsistent":
            expected |= {(r, part) for part in c.split(",")[:2]}
        elif rule != "duplicate serial number":
            expected.add((r, c))
    unknown_rows = injected.loc[injected["rule"] == "unknown council", "row"]
    expected |= {(int(r), "SerialNo") for r in unknown_rows}  # moved rows get serials that cannot collide
    pairs = {(int(r), "SerialNo") for r in injected.loc[injected["rule"] == "duplicate serial number", "row"]}
    assert expected <= changed <= expected | pairs
    assert len(changed & pairs) * 2 == len(pairs)            # one serial of each pair was changed
    # the population problem: population two below the rows sampled in that council-stratum
    bad = messy.injected[messy.injected["file"] == "population"].iloc[0]
    diff = messy.population.compare(clean.population)
    assert len(diff) == 1
    row = messy.population.loc[diff.index[0]]
    assert bad["column"] == f"stratum{row['stratum']}Pop"
    assert row["population"] == row["sample"] - 2 == int(bad["value"])


# --------------------------------------------------------------------------------------- writers

@pytest.fixture(scope="module")
def small(ascs):
    return synth.make_return(councils=3, respondents=150, seed=11, spec=ascs)


def _same_values(read: pd.DataFrame, original: pd.DataFrame, spec):
    for name, col in spec.columns.items():
        if col.kind == "string":
            assert read[name].fillna("").tolist() == original[name].fillna("").tolist(), name
        else:
            np.testing.assert_array_equal(read[name].to_numpy(float), original[name].to_numpy(float), err_msg=name)


def test_csv_writer_round_trips_through_the_reader(small, ascs, tmp_path):
    paths = synth.write_return(small, tmp_path, "csv", spec=ascs)
    assert paths["return"].name == f"ascs-{ascs.year}-return.csv"
    raw = read_raw(paths["return"], ascs)
    _same_values(raw.data, small.data, ascs)
    assert raw.data["_row"].tolist() == list(range(2, len(small.data) + 2))
    pop = read_population(paths["population"])
    pd.testing.assert_frame_equal(pop[["council", "stratum", "population"]],
                                  small.population[["council", "stratum", "population"]], check_dtype=False)
    assert pop["sample"].tolist() == small.population["sample"].tolist()
    header = paths["population"].read_text().splitlines()[0].split(",")
    assert header == (["LaCode"] + [f"stratum{h}Pop" for h in range(1, 5)] + [f"stratum{h}Sample" for h in range(1, 5)]
                      + [f"stratum{h}Popq2c" for h in range(1, 5)] + [f"stratum{h}Pop1j" for h in range(1, 5)])
    assert pop["population_q2c"].tolist() == small.population["population_q2c"].tolist()
    assert read_councils(paths["councils"])["council"].tolist() == small.councils["council"].tolist()


def test_sav_writer_keeps_values_and_spec_labels(small, ascs, tmp_path):
    paths = synth.write_return(small, tmp_path, "sav", spec=ascs)
    frame, meta = pyreadstat.read_sav(str(paths["return"]))
    assert list(frame.columns) == list(ascs.columns)
    assert meta.variable_value_labels["q3a"][1.0] == "I have as much control over my daily life as I want"
    assert meta.variable_value_labels["SupportSetting"] == {1.0: "Community", 2.0: "Residential Care",
                                                           3.0: "Nursing Care"}
    _same_values(read_raw(paths["return"], ascs).data, small.data, ascs)


def test_xlsx_writer_gives_one_workbook_per_council(ascs, tmp_path):
    tiny = synth.make_return(councils=2, respondents=20, seed=12, spec=ascs)
    paths = synth.write_return(tiny, tmp_path, "xlsx", spec=ascs)
    books = sorted(p.name for p in paths["return"].glob("*.xlsx"))
    assert books == sorted(f"{c}.xlsx" for c in tiny.councils["council"])
    raw = read_raw(paths["return"], ascs)
    back = raw.data.sort_values(["LaCode", "_row"]).reset_index(drop=True)
    _same_values(back, tiny.data.sort_values("LaCode", kind="stable").reset_index(drop=True), ascs)


def test_writer_takes_a_file_name(small, ascs, tmp_path):
    paths = synth.write_return(small, tmp_path / "out" / "national-return.sav", "sav", spec=ascs)
    assert paths == {"return": tmp_path / "out" / "national-return.sav",
                     "population": tmp_path / "out" / "national-population.csv",
                     "councils": tmp_path / "out" / "national-councils.csv"}
    assert all(p.is_file() for p in paths.values())


def test_unknown_format_is_a_clear_error(small, ascs, tmp_path):
    with pytest.raises(SurveyKitError, match="unknown format"):
        synth.write_return(small, tmp_path, "parquet", spec=ascs)


# ----------------------------------------------------------------------------------- shipped data

@pytest.mark.parametrize("survey,year", sorted(synth.DEMOS.items()))
def test_bundled_demo_is_what_the_code_makes(survey, year):
    spec = load_spec(survey, year)
    path = bundled_path("bundled", f"demo-{survey}-return.csv")
    assert path.stat().st_size < 1_000_000
    demo = synth.make_return(survey, year, councils=synth.DEMO_COUNCILS, seed=synth.DEMO_SEED, spec=spec)
    _same_values(read_raw(path, spec).data, demo.data, spec)
    pop = read_population(bundled_path("bundled", f"demo-{survey}-population.csv"))
    assert pop["population"].tolist() == demo.population["population"].tolist()
    # the national synthetic population agrees with the demo for the demo councils
    national = read_population(bundled_path("weights", f"{survey}-synthetic.csv"))
    assert national["council"].nunique() == 152
    mine = national[national["council"].isin(demo.councils["council"])].reset_index(drop=True)
    assert mine["population"].tolist() == pop["population"].tolist()
    assert mine["sample"].tolist() == pop["sample"].tolist()
    lookup = read_councils(bundled_path("bundled", "demo-councils.csv"))
    assert lookup["council"].tolist() == demo.councils["council"].tolist()
