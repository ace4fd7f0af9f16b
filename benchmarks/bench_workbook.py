"""Time the results workbook writer on a national-sized workbook (~200k cells).

    python benchmarks/bench_workbook.py            # new writer, best of 5
    python benchmarks/bench_workbook.py --compare  # also the old openpyxl writer (the last committed
                                                   # version that had it) and a per-cell xlsxwriter one

The workbook: a published ASCOF sheet (about 10k rows x 14 columns: text ids, rounded value text
with "[c]"/"[w]" labels, a true/false column) and a wide sheet of 160 rows x 400 columns (text,
floats with gaps, integers). The writer must manage it in about 0.3 s for `surveykit run` to
stay under 2 s.
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

from surveykit.publish.workbook import Sheet, write_workbook
from surveykit.publish.rules import publish_ascof

ROOT = Path(__file__).resolve().parents[1]
NOTES = {"input_file": "national.sav", "checksum": "0" * 64, "options": {"ci": "wald", "level": 0.95}}
MEASURES = ["1A", "1B", "1I(1)", "1J", "3A", "3D(1)", "4A", "4B"]
GROUPS = [("total", "Total"), ("sex", "Male"), ("sex", "Female"), ("age_group", "18-64"),
          ("age_group", "65 and over"), ("support_reason", "Physical support"),
          ("support_reason", "Learning disability"), ("setting", "Community")]


def ascof_frame(councils=152, seed=1) -> pd.DataFrame:
    """Published ASCOF results: councils x measures x groups, about 10k rows, some suppressed."""
    rng = np.random.default_rng(seed)
    keys = pd.MultiIndex.from_product([range(councils), MEASURES, range(len(GROUPS))]).to_frame(index=False)
    keys.columns = ["council", "measure", "g"]
    n = len(keys)
    estimate = rng.uniform(10, 95, n)
    se = rng.uniform(0.2, 4, n)
    respondents = rng.integers(0, 900, n)
    small = rng.random(n) < 0.05
    respondents[small] = rng.integers(0, 3, small.sum())
    results = pd.DataFrame({
        "measure": keys["measure"], "area_level": "council",
        "area_code": "E" + keys["council"].map("{:08d}".format),
        "area_name": "Council " + keys["council"].astype("str"),
        "breakdown": [GROUPS[g][0] for g in keys["g"]], "group": [GROUPS[g][1] for g in keys["g"]],
        "estimate": estimate, "se": se, "ci_lower": estimate - 1.96 * se, "ci_upper": estimate + 1.96 * se,
        "margin_of_error": 1.96 * se, "respondents": respondents,
        "population": respondents * rng.uniform(1.5, 9, n), "suppressed": False,
    })
    return publish_ascof(results)


def wide_frame(rows=160, columns=400, seed=2) -> pd.DataFrame:
    """160 areas x 400 columns: text, floats with gaps, integers."""
    rng = np.random.default_rng(seed)
    data = {"area_name": [f"Area {i}" for i in range(rows)]}
    for j in range(1, columns):
        if j % 4 == 0:
            data[f"c{j}"] = pd.Series(rng.choice(["yes", "no", "=not a formula", "[x]"], rows), dtype="str")
        elif j % 4 == 1:
            data[f"c{j}"] = rng.integers(0, 10_000, rows)
        else:
            values = rng.normal(50, 20, rows)
            values[rng.random(rows) < 0.1] = np.nan
            data[f"c{j}"] = values
    return pd.DataFrame(data)


def workbook_sheets() -> dict:
    ascof = ascof_frame()
    return {"ASCOF": Sheet(ascof, "ASCOF measures: benchmark", [f"{m}: definition" for m in MEASURES]),
            "Wide": Sheet(wide_frame(), "Wide table", [])}


def old_writer():
    """write_workbook of the last committed outputs.py that still wrote cells with openpyxl, or None."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout

    try:
        commits = git("log", "--format=%H", "--", "surveykit/outputs.py").split()
        source = next((text for text in (git("show", f"{c}:surveykit/outputs.py") for c in commits)
                       if "from openpyxl import Workbook" in text), None)
    except (OSError, subprocess.CalledProcessError):
        return None
    if source is None:
        return None
    spec = importlib.util.spec_from_loader("surveykit_outputs_openpyxl", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    exec(compile(source, "surveykit/outputs.py (openpyxl version)", "exec"), module.__dict__)
    return module.write_workbook


def xlsxwriter_per_cell(sheets, path, notes=None):
    """The straightforward xlsxwriter writer (one write_number/write_string call per cell), data only:
    shows why the new writer builds the sheet XML by column instead."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    number = wb.add_format({"num_format": "0.0"})
    for name, sheet in sheets.items():
        ws = wb.add_worksheet(name)
        table = sheet.table
        columns = [table[c].tolist() for c in table.columns]
        numeric = [pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
                   for c in table.columns]
        ws.write_row(0, 0, [str(c) for c in table.columns])
        for r in range(len(table)):
            for c, values in enumerate(columns):
                value = values[r]
                if numeric[c]:
                    if value == value:
                        ws.write_number(r + 1, c, value, number)
                elif isinstance(value, str):
                    ws.write_string(r + 1, c, value)
    wb.close()


def best_of(fn, sheets, repeats):
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(repeats):
            start = time.perf_counter()
            fn(sheets, Path(folder) / f"b{i}.xlsx", NOTES)
            times.append(time.perf_counter() - start)
        size = (Path(folder) / "b0.xlsx").stat().st_size
    return min(times), size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="also time the old and per-cell writers")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sheets = workbook_sheets()
    cells = sum(s.table.size for s in sheets.values())
    shapes = ", ".join(f"{name} {s.table.shape[0]}x{s.table.shape[1]}" for name, s in sheets.items())
    print(f"workbook: {shapes} = {cells:,} cells")
    seconds, size = best_of(write_workbook, sheets, args.repeats)
    print(f"new writer (surveykit.xlsx.write_workbook): {seconds:.3f} s, {size / 1e6:.1f} MB")
    if args.compare:
        old = old_writer()
        if old is None:
            print("old openpyxl writer: not found in git history")
        else:
            seconds, size = best_of(old, sheets, 1)
            print(f"old writer (openpyxl, from git history): {seconds:.3f} s, {size / 1e6:.1f} MB")
        try:
            seconds, size = best_of(xlsxwriter_per_cell, sheets, 1)
            print(f"xlsxwriter, one call per cell (data only, no titles/styles): {seconds:.3f} s")
        except ImportError:
            print("xlsxwriter not installed: per-cell comparison skipped")


if __name__ == "__main__":
    sys.exit(main())
