"""Validation: every planted problem is found where it is, and the Ledger accounts for every row."""

import numpy as np
import pandas as pd
import pytest

from surveykit import synth
from surveykit.errors import SurveyKitError
from surveykit.read import read_raw
from surveykit.validate import SurveyReturn, validate


# ------------------------------------------------------------------- the messy national return

@pytest.fixture(scope="module")
def messy(ascs):
    return synth.make_return("ascs", "2020-21", seed=3, messy=True, spec=ascs)


@pytest.fixture(scope="module")
def checked(messy, ascs):
    return validate(messy.data, ascs, population=messy.population, councils=messy.councils)


# one problem per council that a table lacks (surveykit/fit.py, rule 2): no row of their own
FIT_RULES = ("population file does not fit", "council lookup does not fit")


def _found(problems):
    problems = problems[~problems["rule"].isin(FIT_RULES)]
    return set(zip(problems["rule"], problems["row"].astype(int), problems["column"]))


def test_a_council_the_tables_lack_is_one_problem_per_table_naming_both(messy, checked):
    unknown = messy.injected[messy.injected["rule"] == "unknown council"]
    fit = checked.problems[checked.problems["rule"].isin(FIT_RULES)]
    assert sorted(zip(fit["rule"], fit["file"], fit["value"])) == [
        ("council lookup does not fit", "council lookup", "999"), ("population file does not fit", "population", "999")]
    assert (fit["severity"] == "error").all() and fit["row"].isna().all()
    rows = len(unknown)   # the planted rows of council 999
    assert all(m.startswith(f"council 999 has {rows} row(s) in <data frame> but is not in this ") for m in fit["message"])


def test_every_injected_problem_is_found_at_its_row_and_column(messy, checked):
    injected = messy.injected
    in_return = injected[injected["file"] == "return"]
    got = checked.problems[checked.problems["file"] != "population"]
    assert _found(got) == set(zip(in_return["rule"], in_return["row"], in_return["column"]))
    # values as planted (blank where the planted value is a blank)
    merged = got.merge(in_return, on=["rule", "row", "column"], suffixes=("", "_planted"))
    assert (merged["value"] == merged["value_planted"]).all()
    pop_problem = checked.problems[checked.problems["rule"] == "population smaller than sample"]
    planted = injected[injected["file"] == "population"].iloc[0]
    assert len(pop_problem) == 1
    assert pop_problem.iloc[0]["row"] == planted["row"] and pop_problem.iloc[0]["column"] == planted["column"]
    assert pop_problem.iloc[0]["value"] == planted["value"]


def test_severities_follow_the_rules(checked):
    severity = checked.problems.groupby("rule")["severity"].unique().map(list).to_dict()
    assert severity == {"answers from non-respondent": ["warning"], "duplicate serial number": ["error"],
                        "council lookup does not fit": ["error"], "population file does not fit": ["error"],
                        "multi-choice answers inconsistent": ["warning"], "no stratum": ["warning"],
                        "not a whole number": ["error"], "not asked of this respondent": ["warning"],
                        "out of range": ["error"], "population smaller than sample": ["error"],
                        "response missing or invalid": ["error"], "unknown council": ["error"],
                        "value for non-respondent": ["warning"]}


def test_ledger_reconciles_with_the_input(messy, checked):
    data, injected = messy.data, messy.injected
    ledger = checked.ledger
    assert list(ledger.columns) == ["_file", "_row", "SerialNo", "LaCode", "used", "reason"]
    assert len(ledger) == len(data)
    assert ledger["_row"].tolist() == list(range(2, len(data) + 2))

    # Expected reasons worked out from what was planted, independently of validate.
    rows_of = {rule: set(injected.loc[injected["rule"] == rule, "row"]) for rule in injected["rule"].unique()}
    line = np.arange(len(data)) + 2
    unknown = np.isin(line, list(rows_of["unknown council"]))
    bad_response = np.isin(line, list(rows_of["response missing or invalid"]))
    no_stratum = np.isin(line, list(rows_of["no stratum"]))
    non_respondent = (data["Response"] != 1).to_numpy() & ~unknown & ~bad_response
    expected = pd.Series("", index=data.index, dtype="str")
    expected[non_respondent] = "non-respondent"
    expected[no_stratum] = "no stratum: missing Age"
    expected[bad_response] = "response missing or invalid"
    expected[unknown] = "unknown council"     # duplicated serials are reported but kept, as NHS Digital does
    assert ledger["reason"].tolist() == expected.tolist()
    assert (ledger["used"] == (expected == "")).all()

    summary = checked.summary()
    excluded = summary[[i for i in summary.index if i.startswith("excluded: ")]]
    assert summary["rows read"] == len(data)
    assert summary["used"] + excluded.sum() == len(data)
    assert summary["used"] == len(checked.data) == (expected == "").sum()
    assert "excluded: duplicate serial number" not in summary
    assert summary["excluded: unknown council"] == 3
    assert summary["excluded: no stratum: missing Age"] == 3


def test_used_rows_are_clean(messy, checked, ascs):
    d = checked.data
    assert isinstance(checked, SurveyReturn)
    assert (d["Response"] == 1).all()
    assert not (d.select_dtypes("number") == -9).any().any()
    assert d["stratum"].notna().all() and d["stratum"].dtype == "Int64"
    # out-of-range answers planted on used rows are now missing
    planted = messy.injected[(messy.injected["rule"] == "out of range")]
    kept = d.set_index("_row")
    for row, column in zip(planted["row"], planted["column"]):
        if row in kept.index:
            assert np.isnan(kept.loc[row, column]), (row, column)
    # easy read combined: easy-read rows keep their code, standard ones map 1,2->1 ... 6,7->5
    std = d[d["Questionnaire"].isin([1, 2]) & d["q1"].notna()]
    mapping = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 5}
    assert (std["q1Comb"] == std["q1"].map(mapping)).all()
    easy = d[(d["Questionnaire"] == 3) & d["q2a"].notna()]
    assert (easy["q2aComb"] == easy["q2a"]).all()


def test_clean_return_has_no_problems(ascs):
    ret = synth.make_return(councils=20, seed=8, spec=ascs)
    out = validate(ret.data, ascs, population=ret.population, councils=ret.councils, strict=True)
    assert out.problems.empty
    respondents = (ret.data["Response"] == 1).sum()
    assert len(out.data) == respondents
    assert out.summary().to_dict() == {"rows read": len(ret.data), "used": respondents,
                                       "excluded: non-respondent": len(ret.data) - respondents}


def test_strict_mode_stops_at_the_first_error(messy, ascs):
    with pytest.raises(SurveyKitError) as caught:
        validate(messy.data, ascs, population=messy.population, councils=messy.councils, strict=True)
    # councils are checked first: the earliest unknown council code in the file
    first_unknown = messy.injected[messy.injected["rule"] == "unknown council"]["row"].min()
    err = caught.value
    assert err.row == first_unknown and err.column == "LaCode" and err.value == "999"
    assert f"row {first_unknown}, column LaCode" in str(err)


def test_read_from_a_file_names_the_file(ascs, tmp_path):
    ret = synth.make_return(councils=6, seed=9, messy=True, spec=ascs)
    paths = synth.write_return(ret, tmp_path, "csv", spec=ascs)
    out = validate(read_raw(paths["return"], ascs), ascs, population=paths["population"],
                   councils=paths["councils"])
    in_return = ret.injected[ret.injected["file"] == "return"]
    found = out.problems[out.problems["file"] == paths["return"].name]
    assert _found(found) == set(zip(in_return["rule"], in_return["row"], in_return["column"]))
    pop = out.problems[out.problems["file"] == str(paths["population"])]
    assert sorted(pop["rule"]) == ["population file does not fit", "population smaller than sample"]
    small = pop[pop["rule"] == "population smaller than sample"].iloc[0]
    assert small["column"].startswith("stratum")
    misfit = pop[pop["rule"] == "population file does not fit"].iloc[0]   # names the return too
    assert misfit["value"] == "999" and f"in {paths['return'].name} but is not in" in misfit["message"]
    assert out.checksum and len(out.checksum) == 64 and out.source == str(paths["return"])


def test_sace_messy_return(sace):
    ret = synth.make_return("sace", "2023-24", councils=30, seed=4, messy=True, spec=sace)
    out = validate(ret.data, sace, population=ret.population, councils=ret.councils)
    in_return = ret.injected[ret.injected["file"] == "return"]
    got = out.problems[out.problems["file"] != "population"]
    assert _found(got) == set(zip(in_return["rule"], in_return["row"], in_return["column"]))
    assert (out.problems["rule"] == "population smaller than sample").sum() == 1
    summary = out.summary()
    assert summary["used"] + summary.drop(["rows read", "used"]).sum() == len(ret.data)
    assert (out.data["stratum"] == 1).all()


# ------------------------------------------------------------------- small returns built by hand

def _frame(spec, rows):
    """A raw-return-shaped frame: every spec column, given values, the rest blank."""
    out = {}
    for name, col in spec.columns.items():
        values = [r.get(name) for r in rows]
        if col.kind == "string":
            out[name] = pd.Series(values, dtype="str")
        else:
            out[name] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    return pd.DataFrame(out)


def _person(la="102", serial="1", response=1, age=70, psr=1, setting=1, questionnaire=1, **answers):
    row = {"LaCode": la, "SerialNo": serial, "Response": response, "Age": age, "PrimarySupportReason": psr,
           "SupportSetting": setting, "Questionnaire": questionnaire, "Gender": 1, "Advocate": 2, "Interpreter": 2}
    row.update(answers)
    return row


def test_strata_and_missing_codes_by_hand(ascs):
    rows = [_person(serial="1", age=30, psr=1, setting=1, q3a=2),
            _person(serial="2", age=70, psr=1, setting=2, q3a=-9),
            _person(serial="3", age=70, psr=1, setting=1),
            _person(serial="4", age=50, psr=7, setting=1),
            _person(serial="5", age=90, psr=7, setting=3)]
    out = validate(_frame(ascs, rows), ascs)
    assert out.problems.empty
    assert out.data["stratum"].tolist() == [2, 3, 4, 1, 1]
    assert out.data["q3a"].iloc[0] == 2.0 and np.isnan(out.data["q3a"].iloc[1])   # -9 is missing


def test_out_of_range_and_easy_read_codes(ascs):
    rows = [_person(serial="1", q3a=5),                      # q3a has codes 1-4
            _person(serial="2", questionnaire=3, q1=6),      # easy read: 1-5 only
            _person(serial="3", questionnaire=1, q1=6),      # standard: 6 is valid -> combined 5
            _person(serial="4", questionnaire=3, q1=2, Gender=4),
            _person(serial="5", q3a=2.5)]                    # a decimal in a code column
    out = validate(_frame(ascs, rows), ascs)
    p = out.problems
    assert _found(p) == {("out of range", 2, "q3a"), ("out of range", 3, "q1"), ("out of range", 5, "Gender"),
                         ("not a whole number", 6, "q3a")}
    assert p.set_index("column").loc["q1", "message"] == "q1 = 6 is not a valid easy-read code: set missing"
    assert p.set_index("row").loc[6, "message"] == "q3a = 2.5 is not a whole number: set missing"
    assert p.set_index("row").loc[2, "value"] == "5"
    assert (p["severity"] == "error").all()
    d = out.data.set_index("SerialNo")
    assert np.isnan(d.loc["1", "q3a"]) and np.isnan(d.loc["2", "q1"]) and np.isnan(d.loc["5", "q3a"])
    assert d.loc["3", "q1Comb"] == 5 and d.loc["4", "q1Comb"] == 2
    assert np.isnan(d.loc["4", "Gender"])
    assert out.ledger["used"].all()   # bad codes are set missing; the rows still count


def test_duplicates_non_respondents_and_missing_stratum(ascs):
    rows = [_person(la="102", serial="7"),
            _person(la="102", serial="7", q3a=1),          # duplicate in the same council: both reported, kept
            _person(la="104", serial="7"),                 # same serial, other council: fine
            _person(serial="8", response=2, q7a=1, q8a=2), # non-respondent with answers: one problem each
            _person(serial="9", response=3),               # plain non-respondent
            _person(serial="10", age=None),                # no stratum
            _person(serial="11", age=None, psr=7),         # LD but age missing: no stratum (the form counts it)
            _person(serial="12", response=None),           # Response blank
            _person(serial="13", response=4)]              # Response out of range
    out = validate(_frame(ascs, rows), ascs)
    assert out.ledger["reason"].tolist() == [
        "", "", "", "non-respondent", "non-respondent", "no stratum: missing Age",
        "no stratum: missing Age", "response missing or invalid", "response missing or invalid"]
    p = out.problems
    dup = p[p["rule"] == "duplicate serial number"]
    assert dup["row"].tolist() == [2, 3] and (dup["severity"] == "error").all()
    assert dup.iloc[0]["message"] == ("serial number 7 is on 2 rows of council 102 (rows 2, 3): each person "
                                      "needs their own")
    answers = p[p["rule"] == "answers from non-respondent"]
    assert list(zip(answers["row"], answers["column"], answers["value"])) == [(5, "q7a", "1"), (5, "q8a", "2")]
    stratum = p[p["rule"] == "no stratum"].set_index("row")
    assert stratum.loc[7, "column"] == "Age" and "the council's own form" not in stratum.loc[7, "message"]
    assert "the council's own form puts learning disability support in stratum 1" in stratum.loc[8, "message"]
    response = p[p["rule"] == "response missing or invalid"].set_index("row")
    assert response.loc[9, "value"] == "" and response.loc[10, "value"] == "4"
    assert out.summary().to_dict() == {"rows read": 9, "used": 3, "excluded: non-respondent": 2,
                                       "excluded: no stratum: missing Age": 2,
                                       "excluded: response missing or invalid": 2}


def test_nhs_digitals_row_checks(ascs):
    """Advocate/Interpreter 2 for non-respondents; multi-choice all or nothing and not all 2; Q2c only where
    asked. Each problem at its row and column; the cells are set missing as NHS Digital sets them."""
    full = dict(q19a=1, q19b=2, q19c=2, q20a=2, q20b=2, q20c=1, q22a=1, q22b=2, q22c=2, q22d=2, q22e=2, q22f=2)
    rows = [_person(serial="1", **full, q2c=1),                              # all fine (community, PSR 1)
            _person(serial="2", **{**full, "q19b": None}),                   # q19 part blank
            _person(serial="3", **{**full, "q20c": 2}),                      # q20 every part "no"
            _person(serial="4", psr=7, **full, q2c=2),                       # Q2c not asked of LD support
            _person(serial="5", setting=2, **full, q2c=3),                   # ... nor in residential care
            _person(serial="6", response=2, Advocate=1, Interpreter=2),      # Advocate must be 2
            _person(serial="7", response=3, Advocate=2, Interpreter=None)]   # Interpreter blank: not 2
    out = validate(_frame(ascs, rows), ascs)
    p = out.problems
    assert _found(p) == {("multi-choice answers inconsistent", 3, "q19a,q19b,q19c"),
                         ("multi-choice answers inconsistent", 4, "q20a,q20b,q20c"),
                         ("not asked of this respondent", 5, "q2c"), ("not asked of this respondent", 6, "q2c"),
                         ("value for non-respondent", 7, "Advocate"), ("value for non-respondent", 8, "Interpreter")}
    assert p.set_index("row").loc[3, "value"] == "1 - 2" and p.set_index("row").loc[4, "value"] == "2 2 2"
    d = out.data.set_index("SerialNo")
    assert d.loc["1", ["q19a", "q20c", "q2c"]].tolist() == [1, 1, 1]
    assert d.loc["2", ["q19a", "q19b", "q19c"]].isna().all() and d.loc["3", ["q20a", "q20b", "q20c"]].isna().all()
    assert np.isnan(d.loc["4", "q2c"]) and np.isnan(d.loc["5", "q2c"])
    assert d.loc["2", "q20c"] == 1   # the other questions of that row are untouched


def test_population_and_council_checks(ascs):
    rows = [_person(la="102", serial=str(i), age=30) for i in range(1, 4)]      # stratum 2, three respondents
    rows += [_person(la="104", serial="1", age=70, setting=1)]                  # stratum 4: no population row
    rows += [_person(la="555", serial="1")]                                     # not in the lookup
    population = pd.DataFrame({"council": ["102"] * 4 + ["104"] * 3, "stratum": [1, 2, 3, 4, 1, 2, 3],
                               "population": [10, 2, 10, 10, 10, 10, 10],
                               "sample": pd.array([1, 3, 1, 1, 1, 1, 1], dtype="Int64")})
    population.attrs["source"] = "pop.csv"
    councils = pd.DataFrame({"council": ["102", "104"], "council_name": ["A", "B"]})
    out = validate(_frame(ascs, rows), ascs, population=population, councils=councils)
    p = out.problems
    small = p[p["rule"] == "population smaller than sample"].iloc[0]
    assert (small["file"], small["row"], small["column"], small["value"]) == ("pop.csv", 2, "stratum2Pop", "2")
    assert small["severity"] == "error" and small["message"] == (
        "council 102 stratum 2: eligible population 2 is smaller than the 3 sampled; its 3 respondents cannot be "
        "weighted (each would stand for less than one person): their rows are left out")
    assert p[p["rule"] == "no population for stratum"]["row"].tolist() == [5]
    unknown = p[p["rule"] == "unknown council"].iloc[0]
    assert (unknown["row"], unknown["value"]) == (6, "555")
    assert unknown["message"] == ("council code 555 is not in the population table (pop.csv) or the council lookup: "
                                  "row excluded")
    # two people cannot stand for three: the stratum's rows are left out (they would give weights below 1)
    assert out.ledger["reason"].tolist() == ["eligible population smaller than respondents"] * 3 + [
        "no eligible population", "unknown council"]
    missing = p[p["rule"] == "sub-population missing"]
    assert sorted(missing["column"]) == ["population_1J", "population_q2c"]
    assert "measure 1J weighted by the whole strata's populations" in " ".join(missing["message"])


def test_a_column_no_output_needs_may_be_missing_one_that_is_needed_is_one_warning(ascs):
    frame = _frame(ascs, [_person()]).drop(columns=["q22f", "BudgetEquipment", "q12"])
    out = validate(frame, ascs)
    p = out.problems
    assert list(zip(p["rule"], p["column"])) == [("optional column missing", "q12"),
                                                 ("optional column missing", "q22f")]
    assert (p["severity"] == "warning").all() and p["row"].isna().all()
    assert p.iloc[0]["message"] == "column q12 is not in the return: omitted measure 3D(1), question q12"
    assert out.omitted == {"measure 3D(1)": "column q12 is not in the return",
                           "question q12": "column q12 is not in the return",
                           "question q22f": "column q22f is not in the return"}
    assert out.ledger["used"].all() and "q22f" not in out.data
    validate(frame, ascs, strict=True)        # warnings never stop a strict run
    with pytest.raises(SurveyKitError, match="column LaCode"):
        validate(_frame(ascs, [_person()]).drop(columns=["LaCode"]), ascs)


def test_strict_mode_stops_at_an_error(ascs):
    with pytest.raises(SurveyKitError, match="row 2, column q3a: q3a = 9 is not a valid code: set missing"):
        validate(_frame(ascs, [_person(q3a=9)]), ascs, strict=True)
    out = validate(_frame(ascs, [_person(response=2, q3a=1)]), ascs, strict=True)   # a warning only
    assert out.problems["rule"].tolist() == ["answers from non-respondent"]


def test_text_in_a_code_column_is_reported(ascs):
    frame = _frame(ascs, [_person(), _person(serial="2")])
    frame["Gender"] = pd.Series(["1", "man"], dtype="str")
    out = validate(frame, ascs)
    p = out.problems.iloc[0]
    assert (p["rule"], p["row"], p["column"], p["value"]) == ("not a number", 3, "Gender", "man")
    assert out.data["Gender"].iloc[0] == 1.0 and np.isnan(out.data["Gender"].iloc[1])
