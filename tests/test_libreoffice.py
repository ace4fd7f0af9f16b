"""The workbook as a real spreadsheet program sees it: LibreOffice converts every sheet to CSV
"as shown", and the displayed text must equal the published table (labels, decimals, number
formats), with formula-like text shown as typed rather than evaluated."""

import csv
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

import surveykit
from surveykit.publish import write_tables
from surveykit.publish.rules import publish_ascof, publishing_rules

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not on PATH"),
]

# Field separator ",", quote '"', UTF-8 (76), from line 1, default cell format, language 0,
# don't quote all text, detect special numbers, save cell contents as shown, no formulas,
# don't strip spaces, every sheet (-1, LibreOffice 7.2+), one file per sheet: <stem>-<sheet>.csv.
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
NOTES = {"input_file": "ascs_2020-21.sav", "checksum": "e3b0c44298fc1c149afbf4c8996fb924",
         "options": {"ci": "wald", "breakdowns": ["sex", "age_group"]}}
COUNT_COLUMNS = {"respondents", "population"}


def _results():
    base = dict(measure="3A", area_level="council", breakdown="total", group="Total", suppressed=False)
    return pd.DataFrame([
        dict(base, area_code="E1", area_name="=1+1", estimate=67.65, se=0.714, ci_lower=66.25,
             ci_upper=69.05, margin_of_error=1.35, respondents=6513, population=10015.0),
        dict(base, area_code="E2", area_name="+cmd", estimate=12.3456789, se=3.3, ci_lower=5.8,
             ci_upper=18.9, margin_of_error=6.5, respondents=2, population=87654.3),
        dict(base, area_code="E3", area_name="-2+3", estimate=np.nan, se=np.nan, ci_lower=np.nan,
             ci_upper=np.nan, margin_of_error=np.nan, respondents=0, population=0.0),
        dict(base, area_code="E4", area_name="@SUM(A1)", measure="1A", estimate=19.0, se=0.2,
             ci_lower=18.6, ci_upper=19.4, margin_of_error=0.4, respondents=1234, population=56789.0),
        # 1J is published to 3 dp: 0.41235 -> 0.412, se 0.0125 -> 0.013 (half away from zero)
        dict(base, area_code="E5", area_name="Five", measure="1J", estimate=0.41235, se=0.0125,
             ci_lower=0.3878, ci_upper=0.4369, margin_of_error=0.0245, respondents=20, population=1500.0),
    ])


def _convert(workbook, tmp_path):
    out = tmp_path / "csv"
    profile = (tmp_path / "lo-profile").as_uri()  # a private profile: no clash with other runs
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", CSV_FILTER,
         "--outdir", str(out), str(workbook)],
        check=True, capture_output=True, timeout=180,
    )
    sheets = {}
    for path in sorted(out.glob(f"{workbook.stem}-*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            sheets[path.stem[len(workbook.stem) + 1:]] = list(csv.reader(fh))
    return sheets


def test_libreoffice_shows_the_published_values(tmp_path):
    results = _results()
    published = publish_ascof(results)
    workbook = tmp_path / "results.xlsx"
    write_tables({"ASCOF": results}, workbook, NOTES)

    sheets = _convert(workbook, tmp_path)
    assert set(sheets) == {"Contents", "ASCOF", "Notes"}

    rows = sheets["ASCOF"]
    labels = publishing_rules()["column_labels"]
    header_at = next(i for i, row in enumerate(rows) if row and row[0] == "Measure code")
    assert rows[header_at] == [labels[c] for c in published.columns]
    header = list(published.columns)
    shown = [row for row in rows[header_at + 1:] if any(row)]
    assert len(shown) == len(published)
    for row, (_, expected) in zip(shown, published.iterrows()):
        for name, text in zip(header, row):
            if name in COUNT_COLUMNS:
                text = text.replace(",", "")  # "#,##0" shows 6,515
            assert text == str(expected[name]), (name, text, expected[name])

    # spot checks worked by hand: 67.65 -> 67.7, se 0.714 -> 0.71, base 2 -> [c], formula text kept
    first = dict(zip(header, shown[0]))
    assert first["estimate"] == "67.7" and first["se"] == "0.71" and first["respondents"] == "6,515"
    assert first["area_name"] == "=1+1"
    assert dict(zip(header, shown[1]))["population"] == "[c]"
    assert dict(zip(header, shown[2]))["estimate"] == "[w]"
    assert [dict(zip(header, r))["area_name"] for r in shown] == ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "Five"]
    fifth = dict(zip(header, shown[4]))
    assert (fifth["estimate"], fifth["se"], fifth["ci_lower"], fifth["population"]) == \
        ("0.412", "0.013", "0.388", "1,500")
    assert not any("12.3" in cell or "87654" in cell for row in rows for cell in row)

    notes = {row[0]: row[1] for row in sheets["Notes"] if len(row) > 1 and row[0]}
    assert notes["Input file"] == NOTES["input_file"]
    assert notes["Input checksum (SHA-256)"] == NOTES["checksum"]
    assert notes["surveykit version"] == surveykit.__version__
    assert notes["Option: breakdowns"] == "sex, age_group"
    contents = {row[0]: row[1] for row in sheets["Contents"] if len(row) > 1 and row[0]}
    assert contents["ASCOF"] == "ASCOF" and "numbered notes" in contents["Notes"]


def test_libreoffice_shows_a_wide_mixed_sheet(tmp_path):
    """Number columns as numbers, text as typed, 30 columns (letters past Z), gaps left empty."""
    wide = pd.DataFrame({f"q{i}": [i, 10 * i] for i in range(28)})
    wide["share"] = [0.25, np.nan]
    wide["note"] = pd.Series(["=A1*2", None], dtype="str")
    workbook = tmp_path / "wide.xlsx"
    write_tables({"Wide": wide}, workbook, NOTES)
    rows = _convert(workbook, tmp_path)["Wide"]
    header_at = next(i for i, row in enumerate(rows) if row and row[0] == "q0")
    assert rows[header_at] == [f"q{i}" for i in range(28)] + ["share", "Note"]
    assert rows[header_at + 1] == [str(i) for i in range(28)] + ["0.25", "=A1*2"]
    assert rows[header_at + 2] == [str(10 * i) for i in range(28)] + ["", ""]
