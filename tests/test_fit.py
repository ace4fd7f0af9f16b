"""Return, populations and council lookup checked against each other (surveykit/fit.py).

A population table or lookup that does not fit the return must never give England or regional figures that
look whole: each mismatch is a problem naming both files, a partial area says so in every output, and the
exit status is 3. Expected figures are worked out here from the synthetic return's own rows (strata derived
by hand from age, support reason and setting), never read back through the estimator.
"""

import json
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

from surveykit.cli import main
from surveykit.errors import SurveyKitError
from surveykit.pipeline import run_job
from surveykit.read import read_councils
from surveykit.report import write_report
from surveykit.synth import make_return, write_return
from surveykit.weights import weight
from surveykit.pipeline import read_return
from surveykit.results import ascof

WEIGHTS = __import__("pathlib").Path(__file__).parent.parent / "weights"
COUNCILS = ["102", "104", "306", "415"]          # 102 and 104 are both North East
NORTH_EAST, YORKSHIRE = "E12000001", "E12000003"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fit")
    ret = make_return("ascs", "2025-26", councils=COUNCILS, respondents=500, seed=5)
    paths = write_return(ret, folder, "csv")
    return {"folder": folder, **paths}


def _run(inputs, out, population=None, councils=None, ret=None, *extra):
    args = ["run", str(ret or inputs["return"]), "--survey", "ascs", "--year", "2025-26",
            "--population", str(population or inputs["population"]),
            "--councils", str(councils or inputs["councils"]), "--out", str(out), "--quiet", *extra]
    return main(args)


def _hand_share(ret_csv, pop_csv, councils, question="q3a", answer=1) -> float:
    """England's weighted share giving ``answer`` to ``question`` over ``councils``, by hand: strata from the
    form's rule, each respondent standing for N_h / m_h (m_h: the stratum's respondents who answered)."""
    df = pd.read_csv(ret_csv, dtype={"LaCode": str})
    df = df[(df["Response"] == 1) & df["LaCode"].isin(councils)]
    stratum = np.select([df["PrimarySupportReason"] == 7, df["Age"] < 65, df["SupportSetting"].isin([2, 3])],
                        [1, 2, 3], 4)
    df = df.assign(stratum=stratum)
    pop = pd.read_csv(pop_csv, dtype={"LaCode": str})
    long = pop.melt(id_vars="LaCode", value_vars=[f"stratum{h}Pop" for h in range(1, 5)], value_name="N")
    long["stratum"] = long["variable"].str.extract(r"(\d)").astype(int)
    answered = df[df[question].isin([1, 2, 3, 4])]
    cells = answered.groupby(["LaCode", "stratum"])[question].agg(m="size", hits=lambda x: (x == answer).sum())
    cells = cells.join(long.set_index(["LaCode", "stratum"])["N"])
    return float((cells["N"] * cells["hits"] / cells["m"]).sum() / cells["N"].sum() * 100)


# ------------------------------------------------------------------------------------------ rule 1

@pytest.mark.parametrize("survey,year,other,said", [
    ("ascs", "2025-26", "sace-synthetic.csv", "it gives each council stratum 1, and ASCS has 4 strata per council "
                                              "(strata 1-4): is it SACE's population table?"),
    ("sace", "2023-24", "ascs-synthetic.csv", "it gives each council strata 1-4, and SACE has 1 stratum per council "
                                              "(stratum 1): is it ASCS's population table?"),
])
def test_the_other_surveys_populations_are_refused_before_the_return_is_read(tmp_path, capsys, survey, year,
                                                                             other, said):
    synthetic = make_return(survey, year, councils=3, respondents=60, seed=2)
    paths = write_return(synthetic, tmp_path / "in", "csv")
    status = main(["run", str(paths["return"]), "--survey", survey, "--year", year,
                   "--population", str(WEIGHTS / other), "--out", str(tmp_path / "out"), "--quiet"])
    assert status == 2
    err = capsys.readouterr().err
    assert err == (f"surveykit: error: {WEIGHTS / other}: does not fit {paths['return'].name} "
                   f"({survey.upper()} {year}): {said}\n")
    assert not (tmp_path / "out").exists()


def test_a_population_table_without_a_strata_column_is_refused(inputs, tmp_path, capsys):
    pop = pd.read_csv(inputs["population"], dtype=str)
    pop.drop(columns=[c for c in pop.columns if c.startswith("stratum4")]).to_csv(tmp_path / "three.csv", index=False)
    assert _run(inputs, tmp_path / "out", population=tmp_path / "three.csv") == 2
    assert capsys.readouterr().err.endswith(
        "three.csv: does not fit ascs-2025-26-return.csv (ASCS 2025-26): it gives each council strata 1-3, and ASCS "
        "has 4 strata per council (strata 1-4): the columns of stratum 4 are missing\n")


# ------------------------------------------------------------------------------------- rules 2 and 5

def test_a_council_missing_from_the_population_is_partial_in_every_output(inputs, tmp_path):
    pop = pd.read_csv(inputs["population"], dtype=str)
    pop[pop["LaCode"] != "104"].to_csv(tmp_path / "pop.csv", index=False)
    out = tmp_path / "out"
    assert _run(inputs, out, population=tmp_path / "pop.csv") == 3

    england, north_east = "England (partial: 3 of 4 councils)", "North East (partial: 1 of 2 councils)"
    problems = pd.read_csv(out / "problems.csv", dtype=str)
    misfit = problems[problems["rule"] == "population file does not fit"]
    rows_104 = int((pd.read_csv(inputs["return"], dtype={"LaCode": str})["LaCode"] == "104").sum())
    assert misfit[["severity", "file", "value"]].values.tolist() == [["error", str(tmp_path / "pop.csv"), "104"]]
    assert misfit["message"].iloc[0] == (f"council 104 has {rows_104} row(s) in ascs-2025-26-return.csv but is not "
                                         "in this population table: its rows are left out, and England and its "
                                         "region are built without it")
    partial = problems[problems["rule"] == "area built from part of the country"]
    assert partial["value"].tolist() == ["E92000001", NORTH_EAST] and (partial["severity"] == "error").all()
    assert partial["message"].iloc[0] == (
        "England is built from part of the country: of its 4 councils (the council lookup "
        "ascs-2025-26-councils.csv), 1 are missing wholly or in part: 1 with rows left out of "
        f"ascs-2025-26-return.csv (104); published as {england!r}")

    ascof_csv = pd.read_csv(out / "ascof.csv", dtype=str)
    names = ascof_csv.groupby("area_code")["area_name"].unique().map(list).to_dict()
    assert names["E92000001"] == [england] and names[NORTH_EAST] == [north_east]
    assert names[YORKSHIRE] == ["Yorkshire and The Humber"]        # whole: no label
    questions = pd.read_csv(out / "questions.csv", dtype=str)
    assert set(questions.loc[questions["area_level"] == "england", "area_name"]) == {england}
    # England's figure is the three whole councils' figure, worked out by hand
    row = questions[(questions["area_level"] == "england") & (questions["question"] == "q3a")
                    & (questions["answer"] == "1")].iloc[0]
    assert float(row["percent"]) == pytest.approx(_hand_share(inputs["return"], inputs["population"],
                                                              ["102", "306", "415"]), abs=0.05)

    run = json.loads((out / "run.json").read_text())
    assert run["exit_status"] == 3 and run["coverage"]["partial"] == [england, north_east]
    assert run["coverage"]["england"] == {"name": england, "councils": 4, "whole": 3, "partial": True,
                                          "missing": ["104"]}
    book = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    measures = [name for name in book.sheetnames if name not in ("Contents", "Ledger summary", "Problems", "Notes")]
    assert "ASCOF 1A" in measures and len(measures) >= 8      # one sheet per measure of the return
    for sheet in measures:
        lines = [r[0] for r in book[sheet].iter_rows(max_row=4, max_col=1, values_only=True)]
        assert f"Built from part of the country (see Problems): {england}; {north_east}." in lines, sheet
    annex = openpyxl.load_workbook(out / "annex.xlsx", read_only=True)
    for sheet in ("T1a - Answers by Council", "T4 - Response Rates", "T5 - Margins of Error"):
        names = [r[2] for r in annex[sheet].iter_rows(min_col=1, max_col=3, values_only=True)]
        assert england in names and north_east in names and "Yorkshire and The Humber" in names, sheet
    page = write_report(out).read_text()
    assert "Warning: built from part of the country." in page and f"{england}: headline measures" in page
    assert north_east in page


def test_whole_inputs_are_not_labelled(inputs, tmp_path):
    assert _run(inputs, tmp_path / "out") == 0
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["coverage"]["partial"] == [] and run["coverage"]["england"]["whole"] == 4
    assert not pd.read_csv(tmp_path / "out" / "ascof.csv", dtype=str)["area_name"].str.contains("partial").any()
    assert "built from part" not in write_report(tmp_path / "out").read_text()


def test_a_council_missing_from_the_lookup_leaves_every_region_unsure(inputs, tmp_path):
    lookup = pd.read_csv(inputs["councils"], dtype=str)
    lookup[lookup["council"] != "306"].to_csv(tmp_path / "lookup.csv", index=False)
    out = tmp_path / "out"
    assert _run(inputs, out, councils=tmp_path / "lookup.csv") == 3
    problems = pd.read_csv(out / "problems.csv", dtype=str)
    misfit = problems[problems["rule"] == "council lookup does not fit"]
    assert misfit[["file", "value"]].values.tolist() == [[str(tmp_path / "lookup.csv"), "306"]]
    names = pd.read_csv(out / "ascof.csv", dtype=str).groupby("area_code")["area_name"].first()
    # England is the lookup's three and 306, which the return and the population table both hold
    assert names["E92000001"] == "England (partial: 3 of 4 councils)"
    assert names[NORTH_EAST] == "North East (may be partial: 1 of England's councils are in no region)"
    assert YORKSHIRE not in names.index      # 306's region is unknown: no row for it


def test_ten_council_codes_wrong_in_the_population_table(tmp_path):
    """The observed case: the national tables, the population's first ten codes mistyped."""
    synthetic = make_return("ascs", "2025-26", councils=30, respondents=1500, seed=4)
    paths = write_return(synthetic, tmp_path / "in", "csv")
    pop = pd.read_csv(WEIGHTS / "ascs-synthetic.csv", dtype=str)
    wrong = pop["LaCode"].isin(synthetic.councils["council"].iloc[:10])
    pop.loc[wrong, "LaCode"] = [f"X{i:02d}" for i in range(10)]
    pop.to_csv(tmp_path / "pop.csv", index=False)
    out = tmp_path / "out"
    status = main(["run", str(paths["return"]), "--survey", "ascs", "--year", "2025-26", "--population",
                   str(tmp_path / "pop.csv"), "--councils", str(WEIGHTS / "councils-synthetic.csv"),
                   "--out", str(out), "--quiet"])
    assert status == 3
    problems = pd.read_csv(out / "problems.csv", dtype=str)
    assert sorted(problems.loc[problems["rule"] == "population file does not fit", "value"]) == \
        sorted(synthetic.councils["council"].iloc[:10])
    differ = problems[problems["rule"] == "population and lookup differ"]
    assert len(differ) == 1 and differ["message"].iloc[0].startswith(
        "10 council(s) of the population table pop.csv are not in this lookup (X00, X01")
    england = pd.read_csv(out / "ascof.csv", dtype=str).query("area_level == 'england'")["area_name"].unique()
    assert list(england) == ["England (partial: 20 of 152 councils)"]   # 30 sent, 10 lost; the lookup has 152


# ------------------------------------------------------------------------------------------ rule 6

def test_one_council_gets_council_rows_only_unless_england_is_asked_for(inputs, tmp_path):
    df = pd.read_csv(inputs["return"], dtype=str, keep_default_na=False)
    df[df["LaCode"] == "306"].to_csv(tmp_path / "306.csv", index=False)
    out = tmp_path / "out"
    assert _run(inputs, out, ret=tmp_path / "306.csv") == 0
    ascof_csv = pd.read_csv(out / "ascof.csv", dtype=str)
    assert set(ascof_csv["area_level"]) == {"council"} and set(ascof_csv["area_code"]) == {"306"}
    assert set(pd.read_csv(out / "questions.csv", dtype=str)["area_level"]) == {"council"}
    run = json.loads((out / "run.json").read_text())
    assert "a return of one council" in run["omitted"]["England and region rows"]
    t1a = openpyxl.load_workbook(out / "annex.xlsx", read_only=True)["T1a - Answers by Council"]
    england = next(r for r in t1a.iter_rows(values_only=True) if r[1] == "E92000001")
    assert set(england[3:]) - {None} == {"[x]"}       # the annex has no England either
    page = write_report(out).read_text()
    assert "No England or regional figures in this run: a return of one council" in page
    assert "No regional figures in this run: a return of one council" in page

    averaged = run_job(tmp_path / "306.csv", survey="ascs", year="2025-26", population=inputs["population"],
                       councils=inputs["councils"], out=tmp_path / "avg", quiet=True, england=True)
    assert averaged["exit_status"] == 0        # asked for: labelled, and a warning, not an error
    names = pd.read_csv(tmp_path / "avg" / "ascof.csv", dtype=str).groupby("area_level")["area_name"].unique()
    assert list(names["england"]) == ["England (partial: 1 of 4 councils)"]
    assert list(names["region"]) == ["Yorkshire and The Humber"]      # 306 is the whole of its region here
    problems = pd.read_csv(tmp_path / "avg" / "problems.csv", dtype=str)
    assert problems["rule"].tolist() == ["average of part of the country"]
    assert (problems["severity"] == "warning").all()

    none = run_job(inputs["return"], survey="ascs", year="2025-26", population=inputs["population"],
                   councils=inputs["councils"], out=tmp_path / "none", quiet=True, england=False)
    assert none["exit_status"] == 0
    assert set(pd.read_csv(tmp_path / "none" / "ascof.csv", dtype=str)["area_level"]) == {"council"}


def test_the_api_labels_partial_areas_too(inputs, tmp_path):
    pop = pd.read_csv(inputs["population"], dtype=str)
    pop[pop["LaCode"] != "415"].to_csv(tmp_path / "pop.csv", index=False)
    ret = read_return(inputs["return"], "ascs", "2025-26", population=tmp_path / "pop.csv",
                      councils=inputs["councils"])
    design = weight(ret, None, read_councils(inputs["councils"]))
    res = ascof(design, measures=["1B"])
    assert res.loc[res["area_level"] == "england", "area_name"].unique().tolist() == \
        ["England (partial: 3 of 4 councils)"]
    # England only: 415 is all of East Midlands here, so that region has no row to label
    assert design.coverage.problems(["council", "region", "england"])["value"].tolist() == ["E92000001"]
    assert "E12000004" not in set(res["area_code"])
    assert ascof(design, measures=["1B"], england=False)["area_level"].unique().tolist() == ["council"]


# ------------------------------------------------------------------------------------------ rule 3

def test_a_population_smaller_than_its_respondents_leaves_their_rows_out_in_the_users_words(inputs, tmp_path,
                                                                                             capsys):
    df = pd.read_csv(inputs["return"], dtype={"LaCode": str})
    resp = df[(df["LaCode"] == "102") & (df["Response"] == 1) & (df["PrimarySupportReason"] == 7)]
    pop = pd.read_csv(inputs["population"], dtype=str)
    pop.loc[pop["LaCode"] == "102", "stratum1Pop"] = str(len(resp) - 1)
    pop.to_csv(tmp_path / "pop.csv", index=False)
    out = tmp_path / "out"
    assert _run(inputs, out, population=tmp_path / "pop.csv") == 3
    assert capsys.readouterr().err == ""
    ledger = pd.read_csv(out / "ledger.csv", dtype={"LaCode": str})
    left_out = ledger[ledger["reason"] == "eligible population smaller than respondents"]
    assert sorted(left_out["_row"]) == sorted(resp.index + 2)
    problems = pd.read_csv(out / "problems.csv", dtype=str)
    small = problems[problems["rule"] == "population smaller than sample"].iloc[0]
    assert (small["row"], small["column"], small["value"]) == ("2", "stratum1Pop", str(len(resp) - 1))
    assert "cannot be weighted (each would stand for less than one person): their rows are left out" in \
        small["message"]
    names = pd.read_csv(out / "ascof.csv", dtype=str).groupby("area_code")["area_name"].first()
    assert names["E92000001"] == "England (partial: 3 of 4 councils)"
    text = " ".join(problems["message"])
    assert "N_h" not in text and "stratum_number" not in text


def test_a_design_error_never_names_internal_columns(inputs, tmp_path):
    ret = read_return(inputs["return"], "ascs", "2025-26", population=inputs["population"])
    pop = ret.population.copy()
    pop.loc[(pop["council"] == "102") & (pop["stratum"] == 4), "population"] = 1
    with pytest.raises(SurveyKitError) as err:
        weight(ret, pop)
    text = str(err.value)
    assert re.fullmatch(r".*ascs-2025-26-population\.csv: the eligible populations cannot weight this return: "
                        r"population 1 is below the sample size \d+ in stratum council 102 stratum 4", text)


# ------------------------------------------------------------------------------------- the lookup

def test_a_lookup_without_region_codes_groups_by_region_name(inputs, tmp_path):
    lookup = pd.read_csv(inputs["councils"], dtype=str).drop(columns=["region_code"])
    lookup.to_csv(tmp_path / "lookup.csv", index=False)
    assert _run(inputs, tmp_path / "out", councils=tmp_path / "lookup.csv") == 0
    regions = pd.read_csv(tmp_path / "out" / "ascof.csv", dtype=str).query("area_level == 'region'")
    assert sorted(regions["area_code"].unique()) == ["East Midlands", "North East", "Yorkshire and The Humber"]
    blank = lookup.copy()
    blank.loc[1, "region_name"] = ""
    blank.to_csv(tmp_path / "blank.csv", index=False)
    with pytest.raises(SurveyKitError, match=r"blank\.csv, row 3, column region_name: blank region: every council "
                                             r"needs one"):
        read_councils(tmp_path / "blank.csv")


def test_a_sub_population_smaller_than_its_respondents_is_reported_and_the_run_goes_on(inputs, tmp_path, capsys):
    df = pd.read_csv(inputs["return"], dtype={"LaCode": str})
    stratum2 = df[(df["LaCode"] == "415") & (df["Response"] == 1) & (df["PrimarySupportReason"] != 7)
                  & (df["Age"] < 65)]
    pop = pd.read_csv(inputs["population"], dtype=str)
    row = pop.index[pop["LaCode"] == "415"][0]
    pop.loc[row, "stratum2Popq2c"] = "1"
    pop.to_csv(tmp_path / "pop.csv", index=False)
    assert _run(inputs, tmp_path / "out", population=tmp_path / "pop.csv") == 3
    assert capsys.readouterr().err == ""
    problems = pd.read_csv(tmp_path / "out" / "problems.csv", dtype=str)
    small = problems[problems["rule"] == "population smaller than sample"]
    assert small[["row", "column", "value"]].values.tolist() == [[str(row + 2), "stratum2Popq2c", "1"]]
    assert small["message"].iloc[0] == (f"council 415 stratum 2: the q2c population 1 is smaller than the stratum's "
                                         f"{len(stratum2)} respondents: the stratum's whole population is used for "
                                         "q2c there")
