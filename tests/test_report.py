"""The HTML report of a run folder: headline figures, escaping, plots, reconciliation, missing files."""

import base64
import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from matplotlib.figure import Figure

from surveykit.cli import main
from surveykit.errors import SurveyKitError
from surveykit.report import read_run_folder, reconcile, write_report

HOSTILE = "<script>alert(1)</script>"
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(1)>'
COLUMNS = ["measure", "measure_name", "area_level", "area_code", "area_name", "breakdown", "group",
           "estimate", "se", "ci_lower", "ci_upper", "margin_of_error", "respondents", "population",
           "suppressed"]
NAMES = {"1B": "Proportion of people who use services who have control over their daily life",
         "3A": "Overall satisfaction of people who use services with their care and support",
         "1A": "Social care-related quality of life score"}


def _row(measure, level, code, name, estimate, moe, respondents, breakdown="total", group="Total"):
    """A published row: CI = estimate ± margin, se = margin / 1.96, all as the text a CSV holds."""
    if isinstance(estimate, str):  # a suppression label fills every value of the row
        values = [estimate] * 7
    else:
        values = [f"{estimate:.1f}", f"{moe / 1.96:.2f}", f"{estimate - moe:.1f}", f"{estimate + moe:.1f}",
                  f"{moe:.1f}", str(respondents), str(respondents * 20)]
    return [measure, NAMES[measure], level, code, name, breakdown, group, *values,
            str(isinstance(estimate, str))]


def _ascof() -> pd.DataFrame:
    rows = [
        # England, the published 2020-21 figures for 18 councils (reference/ascs-sace.md) for 3A and 1B
        _row("3A", "england", "E92000001", "England", 67.7, 1.4, 6515),
        _row("3A", "england", "E92000001", "England", 65.2, 2.1, 2610, "sex", "Male"),
        _row("3A", "england", "E92000001", "England", 69.4, 1.8, 3905, "sex", "Female"),
        _row("3A", "england", "E92000001", "England", 63.1, 2.5, 2270, "age_group", "18-64"),
        _row("3A", "england", "E92000001", "England", 70.2, 1.7, 4245, "age_group", "65 and over"),
        _row("1B", "england", "E92000001", "England", 79.8, 1.2, 6495),
        _row("1A", "england", "E92000001", "England", 19.1, 0.1, 6380),
        _row("3A", "region", "E12000001", "North East", 68.9, 3.0, 1480),
        _row("3A", "region", "E12000002", "North West", 66.4, 2.2, 5035),
        _row("1B", "region", "E12000001", "North East", 80.5, 2.6, 1475),
        _row("1B", "region", "E12000002", "North West", 79.5, 1.5, 5020),
        _row("3A", "council", "E06000047", "County Durham", 71.3, 4.4, 410),
        _row("3A", "council", "E08000003", HOSTILE, 64.0, 3.6, 655),
        _row("3A", "council", "E06000053", "Isles of Scilly", "[c]", None, None),
        _row("1B", "council", "E06000047", "County Durham", 81.0, 3.9, 405),
        _row("1B", "council", "E08000003", HOSTILE, 78.2, 3.3, 650),
        _row("1B", "council", "E06000053", "Isles of Scilly", "[c]", None, None),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _ledger(used: int, excluded: dict) -> pd.DataFrame:
    reasons = [""] * used + [r for r, n in excluded.items() for _ in range(n)]
    return pd.DataFrame({"_file": "return.csv", "_row": range(2, len(reasons) + 2),
                         "SerialNo": [f"S{i}" for i in range(len(reasons))], "LaCode": "E06000047",
                         "used": [True] * used + [False] * (len(reasons) - used), "reason": reasons})


def _run_json(**changes) -> dict:
    run = {"survey": "ascs", "year": "2020-21", "input": f"/data/{HOSTILE}.sav",
           "checksum": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
           "version": "0.1.0", "options": {"ci": "logit", "level": 0.95, "breakdowns": ["sex", "age_group"]},
           "rows_read": 10, "rows_used": 7, "excluded": {"no stratum": 2, "not a respondent": 1},
           "councils": 3, "seconds": 1.25, "created": "2024-05-01T10:00:00"}
    run.update(changes)
    return run


def _plot(path):
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([0, 1], [1, 0], color="#0072B2")
    fig.savefig(path, format="png", dpi=40)


def make_run_folder(folder, run=None, ledger=None, plots=True):
    """A run's output folder as the pipeline writes it, small enough to reason about by hand."""
    folder.mkdir(parents=True, exist_ok=True)
    _ascof().to_csv(folder / "ascof.csv", index=False)
    (folder / "run.json").write_text(json.dumps(run or _run_json()), encoding="utf-8")
    (ledger if ledger is not None else _ledger(7, {"no stratum": 2, "not a respondent": 1})).to_csv(
        folder / "ledger.csv", index=False)
    problems = pd.DataFrame({
        "severity": ["error", "error", "warning"] + ["warning"] * 22,
        "file": "return.csv", "row": [str(i) for i in range(2, 27)],
        "column": ["Age", "Age", "q3a"] + ["Gender"] * 22,
        "value": ["-4", ATTRIBUTE_BREAK, "7"] + ["5"] * 22,
        "rule": ["range", "range", "code"] + ["code"] * 22,
        "message": ["Age -4 out of range 18-120", HOSTILE, "code 7 not allowed"] + ["code 5 not allowed"] * 22,
    })
    problems.to_csv(folder / "problems.csv", index=False)
    pd.DataFrame({"question": ["q1"], "answer": [1], "percent": ["30.1"]}).to_csv(folder / "questions.csv",
                                                                                 index=False)
    if plots:
        (folder / "plots").mkdir(exist_ok=True)
        _plot(folder / "plots" / "funnel-3A.png")
        _plot(folder / "plots" / "caterpillar-1B.png")
    return folder


class _Text(HTMLParser):
    """Visible text and the tags of a page, to check what a reader sees (entities decoded)."""

    def __init__(self):
        super().__init__()
        self.text, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(page):
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.text).split()), parser.tags


def _section(page, start_id, end_id):
    return page[page.index(f"id={start_id}"):page.index(f"id={end_id}")]


@pytest.fixture
def run_folder(tmp_path):
    return make_run_folder(tmp_path / "run")


# ----------------------------------------------------------------------------------------- the page

def test_report_written_atomically_and_path_returned(run_folder):
    path = write_report(run_folder)
    assert path == run_folder / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not [p for p in run_folder.iterdir() if p.name.endswith(".part")]


def test_title_names_survey_and_year(run_folder):
    page = write_report(run_folder).read_text(encoding="utf-8")
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert title == "Adult Social Care Survey (ASCS) 2020-21: ASCOF results"


def test_headline_measures_with_ci_and_respondents(run_folder):
    page = write_report(run_folder).read_text(encoding="utf-8")
    england, _ = _parse(_section(page, "england", "regions"))
    # 3A total 67.7 ± 1.4 -> 66.3 to 69.1, 6515 respondents (written as in the 2020-21 annex: 6,515)
    assert "67.7% 95% CI 66.3 – 69.1 · 6,515 respondents" in england
    assert "1A Social care-related quality of life score 19.1 95% CI 19.0 – 19.2" in england  # a score: no %
    # the splits, in the published order, each with estimate, CI, margin and respondents
    assert ("Total 67.7 66.3 – 69.1 1.4 6,515 Male 65.2 63.1 – 67.3 2.1 2,610 Female 69.4 67.6 – 71.2 1.8 "
            "3,905 18-64 63.1 60.6 – 65.6 2.5 2,270 65 and over 70.2 68.5 – 71.9 1.7 4,245") in england


def test_regions_and_councils_tables(run_folder):
    page = write_report(run_folder).read_text(encoding="utf-8")
    regions, _ = _parse(_section(page, "regions", "councils"))
    assert "North East 68.9 65.9 – 71.9 1,480 North West 66.4 64.2 – 68.6 5,035 England 67.7" in regions
    councils, _ = _parse(_section(page, "councils", "plots"))
    # councils sorted by name, one column per measure in published order (3A first in ascof.csv)
    assert "Council Code 3A 1B" in councils
    assert "County Durham E06000047 71.3 ± 4.4 81.0 ± 3.9" in councils
    assert "Isles of Scilly E06000053 [c] [c]" in councils  # suppressed: the label, never a number


def test_numbers_are_right_aligned(run_folder):
    page = write_report(run_folder).read_text(encoding="utf-8")
    assert "<td class=num>71.3 ± 4.4</td>" in page
    assert "<td>County Durham</td>" in page
    assert "td.num, th.num { text-align:right;" in page


def test_hostile_text_is_escaped(run_folder):
    page = write_report(run_folder).read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # council name, problem message, input path
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    text, tags = _parse(page)
    assert f"{HOSTILE} E08000003 64.0 ± 3.6 78.2 ± 3.3" in text  # the reader sees the name as typed
    assert all(tag != "script" and not any(a.startswith("on") for a in attrs) for tag, attrs in tags)


def test_page_is_self_contained(run_folder):
    page = write_report(run_folder).read_text(encoding="utf-8")
    _, tags = _parse(page)
    assert not [t for t, _ in tags if t in ("script", "link", "iframe", "object")]
    sources = [a.get("src", "") for t, a in tags if t == "img"]
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "url(" not in page and "@import" not in page


def test_plots_embedded_as_base64_png(run_folder):
    page = write_report(run_folder).read_text(encoding="utf-8")
    _, tags = _parse(page)
    images = [a for t, a in tags if t == "img"]
    assert [a["alt"] for a in images] == ["funnel 3A", "caterpillar 1B"]  # funnel plots first
    embedded = base64.b64decode(images[0]["src"].split(",", 1)[1])
    assert embedded == (run_folder / "plots" / "funnel-3A.png").read_bytes()


def test_no_plots_no_images(tmp_path):
    folder = make_run_folder(tmp_path / "run", plots=False)
    page = write_report(folder).read_text(encoding="utf-8")
    assert "<img" not in page
    assert "No plots in this run" in page


def test_a_file_that_is_not_a_png_is_named_not_embedded(run_folder):
    (run_folder / "plots" / "spine-E06000047.png").write_text("not an image")
    page = write_report(run_folder).read_text(encoding="utf-8")
    assert page.count("<img") == 2
    assert "spine-E06000047.png (not a PNG file)" in page


def test_plots_beyond_the_size_budget_are_named_not_embedded(run_folder, monkeypatch):
    import surveykit.report
    first = (run_folder / "plots" / "funnel-3A.png").stat().st_size
    monkeypatch.setattr(surveykit.report, "PLOT_BUDGET_BYTES", first)  # room for the first plot only
    page = write_report(run_folder).read_text(encoding="utf-8")
    assert page.count("<img") == 1
    assert "Not embedded, to keep this page small enough to send (1; see the plots folder): " \
           "caterpillar-1B.png." in page


# ------------------------------------------------------------------------------------- data quality

def test_counts_that_agree_give_no_warning(run_folder):
    page = write_report(run_folder).read_text(encoding="utf-8")
    quality, _ = _parse(_section(page, "quality", "method"))
    assert "Warning" not in quality
    assert "run.json and ledger.csv agree" in quality
    assert ("Rows read 10 10 yes Rows used 7 7 yes Excluded: no stratum 2 2 yes "
            "Excluded: not a respondent 1 1 yes") in quality


def test_reconcile_counts_by_hand():
    ledger = _ledger(7, {"no stratum": 2, "not a respondent": 1}).assign(used=lambda f: f["used"].astype(bool))
    run = _run_json(rows_used=8, excluded={"no stratum": 1, "duplicate": 1})
    got = reconcile(run, ledger).set_index("item")
    assert got.loc["Rows read", ["run_json", "ledger", "agree"]].tolist() == [10, 10, True]
    assert got.loc["Rows used", ["run_json", "ledger", "agree"]].tolist() == [8, 7, False]
    assert got.loc["Excluded: no stratum", ["run_json", "ledger", "agree"]].tolist() == [1, 2, False]
    assert got.loc["Excluded: duplicate", ["run_json", "ledger", "agree"]].tolist() == [1, 0, False]
    # a reason only the ledger gives counts as none excluded for it in run.json
    assert got.loc["Excluded: not a respondent", ["run_json", "ledger", "agree"]].tolist() == [0, 1, False]
    assert bool(got["agree"].all()) is False


def test_disagreement_shows_a_warning(tmp_path):
    folder = make_run_folder(tmp_path / "run", run=_run_json(rows_used=8, excluded={"no stratum": 1,
                                                                                    "not a respondent": 1}))
    page = write_report(folder).read_text(encoding="utf-8")
    quality, _ = _parse(_section(page, "quality", "method"))
    assert "Warning: run.json and ledger.csv disagree on Rows used; Excluded: no stratum." in quality
    assert "Rows used 8 7 NO" in quality
    assert '<tr class="differs">' in page


def test_run_json_that_does_not_add_up_is_flagged(tmp_path):
    # ledger agrees line by line only if run.json says so; here run.json's own sum is off by one
    ledger = _ledger(7, {"no stratum": 2, "not a respondent": 1})
    folder = make_run_folder(tmp_path / "run", run=_run_json(rows_read=11), ledger=ledger)
    quality, _ = _parse(_section(write_report(folder).read_text(encoding="utf-8"), "quality", "method"))
    assert "Rows read 11 10 NO" in quality
    assert "Rows read = used + excluded (run.json) 10 11 NO" in quality


def test_problems_counted_by_rule_and_first_twenty_listed(run_folder):
    page = write_report(run_folder).read_text(encoding="utf-8")
    quality, _ = _parse(_section(page, "quality", "method"))
    assert "25 problems (23 warning, 2 error)." in quality
    assert "Severity Rule Count warning code 23 error range 2 " in quality  # 22 Gender + 1 q3a; 2 Age
    assert "First 20 problems" in quality
    listed = _section(page, "quality", "method").split("First 20 problems", 1)[1]
    assert listed.split("<tbody>", 1)[1].count("<tr>") == 20
    assert ">21<" in listed and ">22<" not in listed  # CSV rows 2..21 shown, 22 onwards not


def test_missing_ledger_is_a_warning_not_a_failure(run_folder):
    (run_folder / "ledger.csv").unlink()
    quality, _ = _parse(_section(write_report(run_folder).read_text(encoding="utf-8"), "quality", "method"))
    assert "Warning: ledger.csv is missing" in quality


def test_method_and_provenance(run_folder):
    page = write_report(run_folder).read_text(encoding="utf-8")
    method, _ = _parse(_section(page, "method", "provenance"))
    assert "per-item weights" in method and "eligible population" in method
    assert "logit transform" in method  # the interval method the run used
    assert "[c] Suppressed: fewer than 3 respondents" in method
    provenance, _ = _parse(page[page.index("id=provenance"):])
    assert "Input checksum (SHA-256) 9f86d081884c7d659a2feaa0c55ad015" in provenance
    assert f"Input file /data/{HOSTILE}.sav" in provenance
    assert "Option: breakdowns sex, age_group" in provenance


# ------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("name", ["ascof.csv", "run.json"])
def test_missing_file_names_folder_and_file(run_folder, name):
    (run_folder / name).unlink()
    with pytest.raises(SurveyKitError) as err:
        write_report(run_folder)
    assert str(run_folder) in str(err.value) and name in str(err.value)
    assert not (run_folder / "report.html").exists()


def test_unreadable_run_json_is_named(run_folder):
    (run_folder / "run.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SurveyKitError, match=r"run\.json: cannot read the run record"):
        write_report(run_folder)


def test_bad_ledger_value_names_row_and_column(run_folder):
    ledger = _ledger(7, {"no stratum": 2, "not a respondent": 1}).astype({"used": "str"})
    ledger.loc[4, "used"] = "maybe"
    ledger.to_csv(run_folder / "ledger.csv", index=False)
    with pytest.raises(SurveyKitError) as err:
        read_run_folder(run_folder)
    assert str(err.value).startswith(f"{run_folder / 'ledger.csv'}, row 6, column used:")


def test_duplicate_published_row_is_an_error(run_folder):
    ascof = pd.read_csv(run_folder / "ascof.csv", dtype="str", keep_default_na=False)
    pd.concat([ascof, ascof.iloc[[11]]]).to_csv(run_folder / "ascof.csv", index=False)
    with pytest.raises(SurveyKitError, match=r"row 19: a second row for council E06000047"):
        write_report(run_folder)


def test_command_line(run_folder, capsys, tmp_path):
    assert main(["report", str(run_folder)]) == 0
    assert capsys.readouterr().out.strip() == str(run_folder / "report.html")
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "surveykit: error:" in capsys.readouterr().err


def test_scores_on_a_0_to_1_scale_read_to_3_dp_and_codes_are_not_doubled(tmp_path):
    folder = make_run_folder(tmp_path / "run")
    ascof = pd.read_csv(folder / "ascof.csv", dtype=str, keep_default_na=False)
    ascot = "ASCOT preference-weighted social care-related quality of life"
    extra = pd.DataFrame([
        # as a spreadsheet might save the published 0.450; an unrounded 0.8075 (published 0.808)
        ["1J", "Adjusted social care-related quality of life", "england", "E92000001", "England", "total",
         "Total", "0.45", "0.006", "0.439", "0.461", "0.011", "640", "32180", "False"],
        ["ASCOT", ascot, "england", "E92000001", "England", "total", "Total", "0.8075", "0.005", "-0.0004",
         "0.8175", "0.01", "1635", "56530", "False"],
        ["ASCOT", ascot, "council", "E06000047", "County Durham", "total", "Total", "0.81", "0.02", "-0.0004",
         "0.85", "0.04", "100", "2000", "False"],
    ], columns=ascof.columns)
    pd.concat([ascof, extra]).to_csv(folder / "ascof.csv", index=False)
    page = write_report(folder).read_text(encoding="utf-8")
    england, _ = _parse(_section(page, "england", "regions"))
    assert "0.450 95% CI 0.439 – 0.461 · 640 respondents" in england
    assert "Total 0.808 0.000 – 0.818 0.010 1,635" in england       # halves away from zero, never -0.000
    assert "ASCOT Preference-weighted social care-related quality of life 0.808" in england   # the card
    assert f"{ascot} Total" in england                               # the table's heading: code once
    councils, _ = _parse(_section(page, "councils", "plots"))
    assert "County Durham E06000047 71.3 ± 4.4 81.0 ± 3.9 0.810 ± 0.040" in councils
    text, _ = _parse(page)
    assert "ASCOT: ASCOT" not in text and "ASCOT ASCOT" not in text
