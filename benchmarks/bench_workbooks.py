"""Read a folder of official-layout ASCS workbooks: surveykit against openpyxl, in the same run.

    python benchmarks/bench_workbooks.py                  # 30 councils' workbooks, best of 3
    python benchmarks/bench_workbooks.py --councils 152   # the whole country (writing them takes minutes)

The workbooks are surveykit synth's official layout (every template sheet, 4,000 pre-filled formula rows,
helper columns, the Sign Off Sheet, the Eligible Population tables; saved values as Excel saves them), made
once and kept in benchmarks/out/ (ignored by git). Timed on the same files:

- openpyxl: what NHS Digital's pipeline does per file: load_workbook(read_only=True, data_only=True), then
  every value of 'Service User Data' and the Sign Off Sheet's council code. Nothing else (no checks).
- surveykit: read_raw(folder): every workbook checked (zip limits, headers by position), parsed in contained
  child processes (one per core), people told from the empty form, bad cells reported, the council, the
  eligible populations and sub-populations read.

Prints seconds per workbook for each and the ratio (openpyxl / surveykit). Timings vary with the machine's
load: compare the ratio, from one run.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def workbooks(councils: int, year: str) -> Path:
    from surveykit.synth import make_return, synthetic_councils, write_return

    folder = OUT / f"workbooks-{year}-{councils}"
    target = folder / f"ascs-{year}-return"
    if not target.exists() or len(list(target.glob("*.xlsx"))) < councils:
        chosen = list(synthetic_councils()["council"].iloc[:councils])
        print(f"writing {councils} official-layout workbooks to {target} (once) ...", file=sys.stderr)
        write_return(make_return("ascs", year, councils=chosen), folder, fmt="xlsx")
    return target


def openpyxl_load(files) -> int:
    import openpyxl

    rows = 0
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
        rows += len(list(wb["Service User Data"].values))
        _ = wb["Sign Off Sheet"]["E2"].value
        wb.close()
    return rows


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councils", type=int, default=30)
    parser.add_argument("--year", default="2025-26")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from surveykit.questionnaire import load_spec
    from surveykit.read import read_raw

    folder = workbooks(args.councils, args.year)
    files = sorted(folder.glob("*.xlsx"))[: args.councils]
    spec = load_spec("ascs", args.year)
    n = len(files)
    size = sum(f.stat().st_size for f in files) / n / 1e6
    ours, raw = best(lambda: read_raw(folder, spec, progress=False), args.repeat)
    theirs, rows = best(lambda: openpyxl_load(files), args.repeat)
    print(f"{n} workbooks, {size:.2f} MB each, {rows // n} sheet rows each; {len(raw.data)} people, "
          f"{raw.empty_form_rows} empty form rows; {os.cpu_count()} cores")
    print(f"openpyxl read-only load of the sheets: {theirs / n:.3f} s per workbook ({theirs:.2f} s)")
    print(f"surveykit read_raw (checked, parsed, populations): {ours / n:.3f} s per workbook ({ours:.2f} s)")
    print(f"ratio openpyxl / surveykit: {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()
