"""NHS Digital's own integration test, reproduced: the same people, the same ASCOF values, the same errors.

NHS Digital's pipeline test (tests/fixtures/nhs/README.md) reads a folder of official workbooks for councils
716 and 717, three of them broken, and expects twelve cleaned people with their per-respondent ASCOF values
and eleven data-quality errors. Here the two councils' workbooks are rebuilt in the official 2020-21 layout
from the expected cleaned values with the raw values the errors name put back, three broken workbooks are
made as theirs are (a column deleted, a sheet renamed, no council chosen), and surveykit must find exactly
those errors, row by row, read the rest, and score every respondent as NHS Digital does.
"""

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from surveykit.measures import score
from surveykit.official_workbook import write_official_workbook
from surveykit.questionnaire import load_spec
from surveykit.read import read_raw
from surveykit.validate import validate

EXPECTED = Path(__file__).parent / "fixtures" / "nhs" / "cleaned_data_expected_test.csv"
COUNCILS = pd.DataFrame({"council": ["716", "717"], "council_name": ["Barking and Dagenham", "Barnet"]})
# The raw value each of NHS Digital's expected errors names, by primary key (LaCode_index) and column.
RAW = {("716_3", "Advocate"): 1, ("716_3", "Interpreter"): 1, ("716_4", "Sexuality"): 999, ("716_5", "q1"): 6,
       ("716_6", "q3a"): 999, ("717_1", "q1"): 2, ("717_1", "q3b"): 2, ("717_2", "q1"): 3.5,
       ("717_3", "q20a"): 2, ("717_3", "q20b"): 2, ("717_3", "q20c"): 2, ("717_4", "Ethnicity"): "hello",
       ("717_4", "q3a"): "there"}
# NHS Digital's expected data-quality errors (dq_validation_errors_expected_test.csv), each as the
# (primary key, column) it names and the surveykit rule that reports the same thing.
NHS_ERRORS = {
    ("717_4", "Ethnicity"): "not a number", ("717_4", "q3a"): "not a number",      # "String in a number column"
    ("717_2", "q1"): "not a whole number",                                          # "should be a whole number"
    ("716_6", "q3a"): "out of range", ("716_4", "Sexuality"): "out of range",      # "accepted values are"
    ("717_1", "q1"): "answers from non-respondent", ("717_1", "q3b"): "answers from non-respondent",
    ("716_3", "Advocate"): "value for non-respondent", ("716_3", "Interpreter"): "value for non-respondent",
    ("716_5", "q1"): "out of range",                                                # easy read accepts 1-5
    ("717_3", "q20a,q20b,q20c"): "multi-choice answers inconsistent",               # all subquestions 2
}
SCORES = {"ASCOF_1A": "1A", "ASCOF_1B": "1B", "ASCOF_1L1": "1I(1)", "ASCOF_3A": "3A", "ASCOF_3D1": "3D(1)",
          "ASCOF_4A": "4A", "ASCOF_4B": "4B", "ASCOF_1J": "1J"}


@pytest.fixture(scope="module")
def spec():
    return load_spec("ascs", "2020-21")


@pytest.fixture(scope="module")
def expected():
    return pd.read_csv(EXPECTED, dtype={"LaCode": "str", "SerialNo": "str", "PrimaryKey": "str"})


def council_return(expected, spec, council) -> pd.DataFrame:
    """The council's people as its workbook held them: the cleaned values, with each raw value put back."""
    rows = expected[expected["LaCode"] == council].reset_index(drop=True)
    out = pd.DataFrame(index=rows.index)
    for name, col in spec.columns.items():
        if name in rows:
            out[name] = rows[name].astype(object).where(rows[name].notna(), None)
        else:
            out[name] = None
    for (key, column), value in RAW.items():
        at = rows.index[rows["PrimaryKey"] == key]
        if len(at):
            out.loc[at[0], column] = value
    return out


def eligible_tables(spec) -> pd.DataFrame:
    """Tables 1 and 2 of the Eligible Population sheet filled in: 10 people in every cell."""
    ep = spec.workbook.eligible_population
    cells = [(t["age_group"], g, r, s) for t in ep.tables for g in ep.genders for r in ep.support_reasons
             for s in ep.setting_columns.values()]
    return pd.DataFrame(cells, columns=["age_group", "gender", "support_reason", "setting"]).assign(population=10)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, expected, spec):
    folder = tmp_path_factory.mktemp("fake_data_return_directory")
    for council, name in zip(COUNCILS["council"], COUNCILS["council_name"]):
        write_official_workbook(folder / f"test_data_return_{council}.xlsx", spec,
                                council_return(expected, spec, council), council=council, council_name=name,
                                council_list=COUNCILS, eligible=eligible_tables(spec))
    good = folder / "test_data_return_716.xlsx"
    wb = openpyxl.load_workbook(good)
    wb["Service User Data"].delete_cols(3)                       # a column deleted
    wb.save(folder / "unacceptable_column_deleted_test_data_return.xlsx")
    wb = openpyxl.load_workbook(good)
    wb["Service User Data"].title = "Service Users"              # a sheet renamed
    wb.save(folder / "unacceptable_sheet_renamed_test_data_return.xlsx")
    write_official_workbook(folder / "unacceptable_no_la_code_test_data_return.xlsx", spec,
                            council_return(expected, spec, "716"), council=None, council_name=None,
                            council_list=COUNCILS, eligible=eligible_tables(spec))
    return folder


@pytest.fixture(scope="module")
def checked(folder, spec):
    raw = read_raw(folder, spec, progress=False)
    return raw, validate(raw, spec)


def _key(frame: pd.DataFrame) -> pd.Series:
    """NHS Digital's primary key of each row: council, then the person's index in its workbook."""
    council = frame["_file"].str.extract(r"(\d{3})\.xlsx$")[0]
    return council + "_" + (frame["_row"].astype(int) - 2).astype(str)


def test_the_three_broken_workbooks_are_reported_and_the_rest_read(checked):
    raw, _ = checked
    files = raw.files.set_index("file")
    skipped = files[files["status"] == "skipped"]["reason"]
    assert set(skipped.index) == {"unacceptable_column_deleted_test_data_return.xlsx",
                                  "unacceptable_no_la_code_test_data_return.xlsx",
                                  "unacceptable_sheet_renamed_test_data_return.xlsx"}
    assert "column C: expected a header like 'Primary Key" in skipped["unacceptable_column_deleted_test_data_return.xlsx"]
    assert "no council chosen" in skipped["unacceptable_no_la_code_test_data_return.xlsx"]
    assert "no sheet named 'Service User Data'" in skipped["unacceptable_sheet_renamed_test_data_return.xlsx"]
    assert files.loc["test_data_return_716.xlsx", "people"] == 7 and files.loc["test_data_return_717.xlsx", "people"] == 5


def test_the_same_data_quality_errors_row_by_row(checked):
    _, ret = checked
    p = ret.problems[ret.problems["rule"] != "unreadable return"]
    rows = ret.ledger.set_index(["_file", "_row"])
    found = {}
    for problem in p.itertuples(index=False):
        key = f"{problem.file[-8:-5]}_{int(problem.row) - 2}"
        found[(key, problem.column)] = problem.rule
    assert found == NHS_ERRORS
    assert len(rows) == 12


def test_the_same_people_and_ascof_values(checked, expected, spec):
    _, ret = checked
    data = ret.data.assign(PrimaryKey=_key(ret.data).to_numpy()).set_index("PrimaryKey")
    respondents = expected[expected["Response"] == 1].set_index("PrimaryKey")
    assert sorted(data.index) == sorted(respondents.index)          # non-respondents are not used
    ours = score(ret.data, spec).set_axis(data.index)
    for theirs, code in SCORES.items():
        want = respondents[theirs].reindex(data.index)
        if code not in ("1A", "1J"):
            want = want.map({1.0: 1.0, 2.0: 0.0})                    # NHS Digital codes success 1, not 2
        got = ours[code]
        assert got.isna().tolist() == want.isna().tolist(), code
        np.testing.assert_allclose(got.dropna().to_numpy(), want.dropna().to_numpy(), atol=5e-7, err_msg=code)
    # cleaned values as NHS Digital leaves them: invalid cells blank, easy read combined, q2c not asked
    for column in ("q1", "q3a", "q3b", "Sexuality", "Ethnicity", "q20a", "q1Comb", "q2aComb", "q2c"):
        want = respondents[column].reindex(data.index).astype(float)
        got = data[column].astype(float)
        assert got.isna().tolist() == want.isna().tolist(), column
        np.testing.assert_array_equal(got.dropna().to_numpy(), want.dropna().to_numpy(), err_msg=column)
    assert data["stratum"].astype(int).tolist() == respondents["Stratum"].reindex(data.index).tolist()
