"""Questionnaire specs: every bundled spec loads, derivations follow the published rules, and a bad
spec fails with the file and the YAML key path of the problem."""

import numpy as np
import pandas as pd
import pytest
import yaml

from surveykit.errors import SurveyKitError
from surveykit.questionnaire import (available_specs, load_spec, load_spec_file, normalise_header,
                                     parse_combine)
from surveykit.resources import bundled_path


# ----------------------------------------------------------------------------------- bundled specs

def test_the_required_specs_are_bundled():
    assert {("ascs", "2020-21"), ("sace", "2023-24")} <= set(available_specs())


@pytest.mark.parametrize("survey, year", available_specs())
def test_every_bundled_spec_loads(survey, year):
    spec = load_spec(survey, year)
    assert (spec.survey, spec.year) == (survey, year)
    assert spec.measures and spec.items and spec.strata
    assert spec.respondent_column in spec.columns


def test_ascs_columns_are_nhs_digitals_in_data_return_order(ascs):
    names = list(ascs.columns)
    assert len(names) == 97   # NEW_COLUMN_NAMES_BY_EXPECTED_COLUMN_SUBSTRING has 97 entries
    assert names[:10] == ["LaCode", "SerialNo", "PrimaryKey", "Stratum", "PopInStratum", "MethodCollection",
                          "Response", "Gender", "Age", "Ethnicity"]
    assert names[names.index("Questionnaire"):names.index("Questionnaire") + 5] == [
        "Questionnaire", "Replacement", "OriginalReminder", "CopyRequested", "q1"]
    assert names[-1] == "q22f"
    assert [c for c in names if c.startswith("RHC_")].__len__() == 20
    assert ascs.columns["Age"].range == (18, float("inf"))
    assert ascs.columns["GrossAnnualBudget"].range == (1, 1_000_000)
    assert ascs.columns["LaCode"].kind == "string" and ascs.columns["CentrallyFundedInfo"].kind == "string"
    assert ascs.columns["q12"].is_item and not ascs.columns["Age"].is_item
    assert list(ascs.columns["Ethnicity"].codes) == list(range(1, 19)) + [98, 99]


def test_ascs_items_and_easy_read(ascs):
    q1 = ascs.items["q1"]
    assert list(q1.codes) == [1, 2, 3, 4, 5, 6, 7]
    assert q1.easy_read.questionnaire_values == (3,)
    assert list(q1.easy_read.codes) == [1, 2, 3, 4, 5]
    assert ascs.combined_names == {"q1Comb": "q1", "q2aComb": "q2a"}
    assert list(ascs.codes_of("q2aComb")) == [1, 2, 3, 4, 5]
    assert list(ascs.items["q12"].codes) == [1, 2, 3, 4, 5]


def test_column_lookup_maps_nhs_header_substrings(ascs):
    lookup = ascs.column_lookup()
    assert lookup[normalise_header("Population In Stratum")] == "PopInStratum"
    assert lookup[normalise_header("\ufeff  SerialNumber ")] == "SerialNo"
    assert lookup["serialno"] == "SerialNo"
    assert lookup["chronic obstructive"] == "RHC_copd"
    assert lookup["ethnic"] == "Ethnicity"
    assert normalise_header(" Method  of\tCollection ") == "method of collection"


def test_framework_codes(ascs):
    assert ascs.measure_code("1J", "ascof-2023-24") == "1C"
    assert ascs.measure_code("3D(1)", "ascof-2023-24") == "3A"
    assert ascs.measure_code("3A", "ascof-2023-24") is None
    assert ascs.measure_code("1I(1)", "ascof-2022-23") == "1I(1)"


# ------------------------------------------------------------------------------------------ strata

def test_ascs_stratum_for_each_rule_and_missing_inputs(ascs):
    df = pd.DataFrame({
        "Age":                  [90, 30, 64, 65, 80, 65, 70, np.nan, 50, 70, 70],
        "PrimarySupportReason": [7,  7,  1,  2,  3,  6,  8,  1,      np.nan, 1, 1],
        "SupportSetting":       [2,  1,  2,  2,  3,  1,  1,  1,      1, np.nan, 4],
    })
    # LD any age -> 1; <65 non-LD -> 2 (whatever the setting); 65+ residential/nursing -> 3; 65+ community -> 4;
    # missing age, reason or setting -> none; a setting no rule knows -> none.
    expected = [1, 1, 2, 3, 3, 4, 4, None, None, None, None]
    got = ascs.derive_stratum(df)
    assert str(got.dtype) == "Int64"
    assert [None if pd.isna(v) else int(v) for v in got] == expected


def test_ld_row_missing_setting_gets_no_stratum(ascs):
    # The reference: rows missing age, support reason or setting get no stratum, even if LD.
    got = ascs.derive_stratum(pd.DataFrame({"Age": [40.0], "PrimarySupportReason": [7.0], "SupportSetting": [np.nan]}))
    assert got.isna().all()


def test_stratum_needs_its_columns(ascs):
    with pytest.raises(SurveyKitError, match="column 'SupportSetting' is needed for deriving the stratum"):
        ascs.derive_stratum(pd.DataFrame({"Age": [40.0], "PrimarySupportReason": [7.0]}))


def test_sace_one_stratum_per_council(sace):
    got = sace.derive_stratum(pd.DataFrame({"LaCode": ["318", "319", "318"]}))
    assert got.tolist() == [1, 1, 1]


# ---------------------------------------------------------------------------------------- easy read

def test_combine_standard_and_easy_read(ascs):
    df = pd.DataFrame({
        "Questionnaire": [1, 1, 2, 2, 1, 2, 1, 3, 3, 3, 3, 3, 3, np.nan, 1],
        "q1":            [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 2, np.nan],
        "q2a":           [7, 6, 5, 4, 3, 2, 1, 5, 4, 3, 2, 1, 1, 1, 1],
    })
    out = ascs.combine_easy_read(df)
    # standard min(max(x-1,1),5): 1,2->1; 3->2; 4->3; 5->4; 6,7->5. Easy read kept; 6 is not an easy-read
    # code; an unknown version cannot be placed on either scale.
    np.testing.assert_array_equal(out["q1Comb"], [1, 1, 2, 3, 4, 5, 5, 1, 2, 3, 4, 5, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(out["q2aComb"], [5, 5, 4, 3, 2, 1, 1, 5, 4, 3, 2, 1, 1, np.nan, 1])
    assert "q1Comb" not in df.columns   # input untouched


@pytest.mark.parametrize("expr, x, expected", [
    ("min(max(x-1,1),5)", [1, 2, 3, 4, 5, 6, 7], [1, 1, 2, 3, 4, 5, 5]),
    ("x", [1, 2], [1, 2]),
    (" max( x + 2 , 4 ) - 1 ", [1, 2, 3], [3, 3, 4]),
])
def test_parse_combine(expr, x, expected):
    np.testing.assert_array_equal(parse_combine(expr)(np.array(x, dtype=float)), expected)


@pytest.mark.parametrize("expr", ["x**2", "__import__('os').system('true')", "min(x)", "min(x,1", "y+1",
                                  "x-", "max(1,x)", "x 1", ""])
def test_parse_combine_rejects_anything_else(expr):
    with pytest.raises(ValueError):
        parse_combine(expr)


# ---------------------------------------------------------------------------------------- groupings

def test_groupings(ascs):
    df = pd.DataFrame({"Gender": [1, 2, 3, np.nan], "Age": [18, 64, 65, 85],
                       "Ethnicity": [4, 12, 14, 98], "PrimarySupportReason": [2, 7, 10, 6],
                       "SupportSetting": [1, 2, 3, 1]})
    assert ascs.breakdown(df, "sex").tolist()[:3] == ["Male", "Female", "Other"]
    assert pd.isna(ascs.breakdown(df, "sex").iloc[3])
    assert ascs.breakdown(df, "age_group").tolist() == ["18-64", "18-64", "65 and over", "65 and over"]
    assert ascs.breakdown(df, "age_band").tolist() == ["18-24", "55-64", "65-74", "85 and over"]
    assert ascs.breakdown(df, "ethnicity").tolist() == ["White", "Asian or Asian British",
                                                        "Black or Black British", "Not Stated"]
    assert ascs.breakdown(df, "support_reason").tolist() == ["Physical Support", "Learning Disability Support",
                                                             "Social Support", "Support with Memory and Cognition"]
    assert ascs.breakdown(df, "support_setting").tolist() == ["Community", "Residential Care", "Nursing Care",
                                                              "Community"]
    assert list(ascs.groupings["ethnicity"].categories)[:2] == ["White", "Mixed"]
    with pytest.raises(SurveyKitError, match="unknown breakdown 'shoe_size'"):
        ascs.breakdown(df, "shoe_size")


@pytest.mark.parametrize("survey, year", available_specs())
def test_every_grouping_labels_as_pandas_map_and_cut_do(survey, year):
    # the codes are worked out on the numbers; pandas' own map and cut (right=False) are the reference
    spec = load_spec(survey, year)
    rng = np.random.default_rng(3)
    for name, grouping in spec.groupings.items():
        edges = list(grouping.map or []) + list(grouping.bins or [])
        values = np.concatenate([rng.integers(-5, 130, 500).astype(float), rng.random(20) * 100, [np.nan],
                                 np.array(edges, dtype=float), np.array(edges, dtype=float) - 0.5])
        df = pd.DataFrame({grouping.column: values})
        series = pd.Series(values)
        if grouping.map is not None:
            expected = series.map(grouping.map)
        else:
            expected = pd.cut(series, list(grouping.bins), right=False, labels=list(grouping.labels),
                              ordered=len(set(grouping.labels)) == len(grouping.labels))
        got = spec.breakdown(df, name)
        assert list(got.cat.categories) == grouping.categories, name
        assert got.astype(object).where(got.notna(), None).tolist() == \
            pd.Series(expected, dtype=object).where(pd.Series(expected).notna(), None).tolist(), name


# ------------------------------------------------------------------------------------------ bad specs

def _raw():
    return yaml.safe_load(bundled_path("questionnaires", "ascs", "2020-21.yaml").read_text(encoding="utf-8"))


def _bad(tmp_path, change):
    raw = _raw()
    change(raw)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with pytest.raises(SurveyKitError) as info:
        load_spec_file(path)
    return str(info.value).removeprefix(f"{path}: ")


def test_bundled_message_names_the_bundled_file():
    with pytest.raises(SurveyKitError, match=r"no bundled questionnaire for ascs 1999-00 \(bundled: .*ascs 2020-21"):
        load_spec("ascs", "1999-00")


def test_spec_file_round_trips(tmp_path):
    assert _raw()["measures"]["1A"]["items"][3] == "q6a"
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(_raw(), sort_keys=False), encoding="utf-8")
    assert list(load_spec_file(path).measures) == list(load_spec("ascs", "2020-21").measures)


def test_unknown_item_in_measure(tmp_path):
    msg = _bad(tmp_path, lambda r: r["measures"]["1A"]["items"].__setitem__(3, "q3z"))
    assert msg == "measures.1A.items[3]: 'q3z' is not an item of this questionnaire"


def test_unknown_key(tmp_path):
    msg = _bad(tmp_path, lambda r: r["columns"]["Age"].__setitem__("rnage", [1, 2]))
    assert msg == ("columns.Age: unknown key 'rnage' (allowed: aliases, header, kind, codes, range, required, "
                   "text, easy_read, asked_of, population)")


def test_missing_required_key(tmp_path):
    msg = _bad(tmp_path, lambda r: r["measures"]["1B"].pop("item"))
    assert msg == "measures.1B: missing required key 'item'"


def test_code_not_an_integer(tmp_path):
    msg = _bad(tmp_path, lambda r: r["columns"]["Gender"].__setitem__("codes", {"M": "Male", 2: "Female"}))
    assert msg == "columns.Gender.codes: code 'M' is not an integer"


def test_unquoted_yes_label(tmp_path):
    msg = _bad(tmp_path, lambda r: r["columns"]["Gender"]["codes"].__setitem__(1, True))
    assert msg == ("columns.Gender.codes.1: expected text, found True (quote it: YAML reads Yes/No/On/Off as "
                   "true/false)")


def test_unsupported_combine_expression(tmp_path):
    msg = _bad(tmp_path, lambda r: r["columns"]["q1"]["easy_read"].__setitem__("combine", "x**2"))
    assert msg.startswith("columns.q1.easy_read.combine: 'x**2' is not a supported combine expression (")
    assert msg.endswith("use x, x+k, x-k, min(e,k), max(e,k), e.g. 'min(max(x-1,1),5)'")


def test_combine_that_leaves_the_easy_read_scale(tmp_path):
    msg = _bad(tmp_path, lambda r: r["columns"]["q1"]["easy_read"].__setitem__("combine", "max(x-1,1)"))
    assert msg == ("columns.q1.easy_read.combine: maps standard code 7 to 6, which is not an easy-read code "
                   "(1, 2, 3, 4, 5)")


def test_measure_success_code_not_a_code_of_item(tmp_path):
    msg = _bad(tmp_path, lambda r: r["measures"]["1B"].__setitem__("success", [1, 7]))
    assert msg == "measures.1B.success[1]: 7 is not a code of item 'q3a' (codes: 1, 2, 3, 4)"


def test_points_must_cover_every_code(tmp_path):
    msg = _bad(tmp_path, lambda r: r["measures"]["1A"].__setitem__("points", {1: 3, 2: 2, 3: 1}))
    assert msg == "measures.1A.points: no value for code(s) 4 of item 'q3a'"


def test_filter_code_unknown(tmp_path):
    msg = _bad(tmp_path, lambda r: r["measures"]["1J"]["filter"].__setitem__("SupportSetting", [1, 9]))
    assert msg == "measures.1J.filter.SupportSetting[1]: 9 is not a code of 'SupportSetting' (codes: 1, 2, 3)"


def test_strata_rule_unknown_column(tmp_path):
    msg = _bad(tmp_path, lambda r: r["strata"]["rules"][1].__setitem__("when", {"Agee": {"lt": 65}}))
    assert msg == "strata.rules[1].when: 'Agee' is not a column of this questionnaire"


def test_strata_requires_unknown_column(tmp_path):
    msg = _bad(tmp_path, lambda r: r["strata"]["requires"].append("Postcode"))
    assert msg == "strata.requires[3]: 'Postcode' is not a column of this questionnaire"


def test_unknown_measure_kind(tmp_path):
    msg = _bad(tmp_path, lambda r: r["measures"]["4A"].__setitem__("kind", "ratio"))
    assert msg == "measures.4A.kind: 'ratio' is not a measure kind (proportion, score, adjusted)"


def test_unknown_code_set_code(tmp_path):
    def change(r):
        r["measures"]["9Z"] = dict(r["measures"]["4A"])
    assert _bad(tmp_path, change) == "measures.9Z.code_set: '9Z' is not a code of ascof-2022-23 in ascof-codes.yaml"


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("survey: ascs\ncolumns: {a: [1, 2}\n", encoding="utf-8")
    with pytest.raises(SurveyKitError, match=r"broken\.yaml: not valid YAML at line 2, column 19"):
        load_spec_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(SurveyKitError, match="nope.yaml: file not found"):
        load_spec_file(tmp_path / "nope.yaml")


@pytest.mark.parametrize("header, column", [
    ("LaCode", "LaCode"), ("\ufeffSerialNumber ", "SerialNo"), ("Population In Stratum", "PopInStratum"),
    ("Stratum", "Stratum"), ("Language translated into", "Translated"), ("Age of service user", "Age"),
    ("Does the Budget include any Contribution?", "BudgetContribution"), ("q10", "q10"), ("Q1", "q1"),
    ("Shoe size", None),
])
def test_match_header(ascs, header, column):
    assert ascs.match_header(header) == column


def test_annex_wording_is_read_and_checked(tmp_path):
    spec = load_spec("ascs", "2020-21")
    assert spec.annex.numbers == {"q2a": "2"}
    assert spec.annex.text["q22a"] == "I didn’t have any help"
    assert spec.annex.codes["q10"] == {2: "Having help does not affect the way I think or feel about myself"}
    assert spec.annex.easy_read_codes["q1"][1] == "I am very happy with the way staff help me, it's really good"
    msg = _bad(tmp_path, lambda r: r["annex"]["text"].__setitem__("q99", "What?"))
    assert msg == "annex.text.q99: 'q99' is not an item of this questionnaire"
    msg = _bad(tmp_path, lambda r: r["annex"]["codes"].__setitem__("q10", {9: "Nine"}))
    assert msg == "annex.codes.q10.9: 9 is not a code of 'q10' (codes: 1, 2, 3, 4)"
    msg = _bad(tmp_path, lambda r: r["annex"]["easy_read_codes"].__setitem__("q3a", {1: "One"}))
    assert msg == "annex.easy_read_codes.q3a.1: 1 is not a code of 'q3a' (codes: none)"
    msg = _bad(tmp_path, lambda r: r["annex"].__setitem__("wording", {}))
    assert msg == "annex: unknown key 'wording' (allowed: numbers, text, codes, easy_read_codes)"
