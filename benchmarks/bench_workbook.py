"""Time the results workbook on a national-sized return: write_workbook against the SpreadsheetML data dump.

    python benchmarks/bench_workbook.py               # best of 5
    python benchmarks/bench_workbook.py --repeats 3

The workbook is the one `surveykit run` writes for a national return, made from synthetic published
results of that shape: England, 9 regions and 152 councils; one sheet per ASCOF measure (9 measures x 5
splits x outcome, margin of error, respondents), Answers by area and Margins of error (every answer of
every question of the 2020-21 questionnaire), and 1,000 problems.

Timed in the same run, on the same cells:
- the table builders (``ascof_sheets``, ``answers_sheets``, ``problems_sheet``);
- the writer, ``write_workbook``: everything published needs, formats, header blocks, autofilters, frozen
  panes, print set-up, Contents and Notes (xlsxwriter), the table bodies' cells (publish/sheet_body.py);
- the hand-written SpreadsheetML writer it replaced (the last committed version of
  ``surveykit/publish/workbook.py`` that had it, from git history), given the same body cells as flat tables
  (one header row of plain labels, symbols as missing): data cells only, none of the above.
The ratio is the cost of a workbook fit to publish over a data dump. No timing is asserted in the tests.
"""

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.publish.answer_tables import answers_sheets
from surveykit.publish.ascof_tables import SPLITS, ascof_sheets, problems_sheet
from surveykit.publish.workbook import write_workbook
from surveykit.questionnaire import load_spec
from surveykit.questions import tabulated_items

ROOT = Path(__file__).resolve().parents[1]
NOTES = {"input_file": "national.sav", "checksum": "0" * 64, "options": {"ci": "logit", "level": 0.95},
         "created": "2025-06-30T00:00:00+00:00"}


def areas(councils=152):
    rows = [("england", "E92000001", "England")]
    rows += [("region", f"E1200000{r}", f"Region {r}") for r in range(1, 10)]
    rows += [("council", str(100 + c), f"Council {c}") for c in range(councils)]
    lookup = pd.DataFrame({"council": [str(100 + c) for c in range(councils)],
                           "ons_code": [f"E06{c:06d}" for c in range(councils)]})
    return pd.DataFrame(rows, columns=["area_level", "area_code", "area_name"]), lookup


def ascof_results(spec, area, rng) -> pd.DataFrame:
    """Raw ASCOF results: every measure x area x published split, 5% of rows with under 3 respondents."""
    keys = [(m, b, g) for m in spec.measures for b, g, _ in SPLITS]
    frame = area.merge(pd.DataFrame(keys, columns=["measure", "breakdown", "group"]), how="cross")
    n = len(frame)
    score = frame["measure"].isin(["1A"]).to_numpy()
    small = frame["measure"].isin(["1J", "ASCOT"]).to_numpy()
    estimate = np.where(score, rng.uniform(17, 21, n), np.where(small, rng.uniform(0.3, 0.8, n),
                                                                   rng.uniform(40, 95, n)))
    se = estimate * rng.uniform(0.005, 0.05, n)
    respondents = rng.integers(3, 900, n)
    respondents[rng.random(n) < 0.05] = rng.integers(0, 3)
    frame = frame.assign(measure_name=frame["measure"], estimate=estimate, se=se, ci_lower=estimate - 1.96 * se,
                         ci_upper=estimate + 1.96 * se, margin_of_error=1.96 * se, respondents=respondents,
                         population=respondents * 9.5, suppressed=False, note="")
    return frame


def question_results(spec, area, rng) -> pd.DataFrame:
    """Raw question tables: every area x question x answer."""
    keys = [(q, code, label) for q, codes in tabulated_items(spec).items() for code, label in codes.items()]
    frame = area.merge(pd.DataFrame(keys, columns=["question", "answer", "answer_label"]), how="cross")
    n = len(frame)
    base = rng.integers(0, 900, n)
    return frame.assign(percent=rng.uniform(0, 100, n), margin_of_error=rng.uniform(0.5, 9, n),
                        respondents=(base * rng.random(n)).astype("int64"), base=base, population=base * 9.5)


def problems(n=1000):
    return pd.DataFrame({"severity": "error", "file": "national.sav", "row": np.arange(2, n + 2),
                         "column": "q3a", "value": "7", "rule": "out of range",
                         "message": "code 7 is not one of 1, 2, 3, 4; set missing"})


def build(spec, rng):
    area, lookup = areas()
    return [*ascof_sheets(ascof_results(spec, area, rng), spec, lookup),
            *answers_sheets(question_results(spec, area, rng), spec, lookup), problems_sheet(problems())]


def flat(sheets) -> dict:
    """The same body cells as flat tables for the SpreadsheetML writer: a plain label per column (made
    unique), numbers as numbers, symbols as missing."""
    tables = {}
    for sheet in sheets:
        labels = [label for block in sheet.blocks for label in block.labels]
        columns = [c for block in sheet.blocks for c in block.columns]
        data = {}
        for k, (column, label) in enumerate(zip(columns, labels)):
            values = sheet.frame[column]
            numbers = pd.to_numeric(values.where(values.map(lambda v: not isinstance(v, str))), errors="coerce")
            data[f"{label} ({k})"] = numbers if numbers.notna().any() else values.astype("str")
        tables[sheet.name] = pd.DataFrame(data)
    return tables


def spreadsheetml_writer():
    """write_workbook of the last committed surveykit/publish/workbook.py that wrote SpreadsheetML by hand."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout

    try:
        commits = git("log", "--format=%H", "--", "surveykit/publish/workbook.py").split()
        source = next((text for text in (git("show", f"{c}:surveykit/publish/workbook.py") for c in commits)
                       if "class _SharedStrings" in text), None)
    except (OSError, subprocess.CalledProcessError):
        return None
    if source is None:
        return None
    spec = importlib.util.spec_from_loader("surveykit_workbook_spreadsheetml", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    exec(compile(source, "surveykit/publish/workbook.py (SpreadsheetML version)", "exec"), module.__dict__)
    return module.write_workbook


def best_of(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    spec = load_spec("ascs", "2020-21")
    built, sheets = best_of(lambda: build(spec, np.random.default_rng(1)), args.repeats)
    cells = sum(s.frame.size for s in sheets)
    print(f"national workbook: {len(sheets)} sheets, {cells:,} body cells "
          f"({', '.join(f'{s.name} {s.frame.shape[0]}x{s.frame.shape[1]}' for s in sheets[-3:])} ...)")
    print(f"{'table builders (PublishedSheets)':<52}{built:>8.3f} s")
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "new.xlsx"
        new, _ = best_of(lambda: write_workbook(sheets, target, NOTES, title="benchmark"), args.repeats)
        print(f"{'write_workbook, fit to publish':<52}{new:>8.3f} s  "
              f"{target.stat().st_size / 1e6:.1f} MB")
        old_writer = spreadsheetml_writer()
        if old_writer is None:
            print("SpreadsheetML writer: not found in git history")
            return
        tables = flat(sheets)
        old_target = Path(folder) / "old.xlsx"
        old, _ = best_of(lambda: old_writer(tables, old_target, NOTES), args.repeats)
        print(f"{'SpreadsheetML writer (git history), data cells only':<52}{old:>8.3f} s  "
              f"{old_target.stat().st_size / 1e6:.1f} MB")
        print(f"ratio write_workbook / SpreadsheetML: {new / old:.1f}x; "
              f"{new / cells * 1e6:.2f} vs {old / cells * 1e6:.2f} microseconds a cell")


if __name__ == "__main__":
    sys.exit(main())
