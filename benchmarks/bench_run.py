"""Time the main job end to end on a national synthetic ASCS return: .sav file -> workbook.

    python benchmarks/bench_run.py                 # 152 councils, about 80k rows, best of 3
    python benchmarks/bench_run.py --format csv    # the same return as CSV

Reports each step (read, validate, weight and score, every ASCOF measure for every council, region
and England with intervals, question tables, writing the tables and workbook), the in-process total,
and the wall time of the `surveykit run` command itself (which adds Python's start-up and imports).
Peers are timed on the estimation step alone, where they can be, by benchmarks/bench_design.py.
The synthetic return is made once and kept in benchmarks/out/ (ignored by git).
"""

import argparse
import subprocess
import sys
import time
import warnings
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def national_files(fmt):
    from surveykit.synth import make_return, write_return

    folder = OUT / f"national-{fmt}"
    target = folder / f"ascs-2020-21-return.{fmt}"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_return(make_return("ascs", "2020-21", councils=152, seed=1), folder, fmt=fmt)
    return target, folder / "ascs-2020-21-population.csv", folder / "ascs-2020-21-councils.csv"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=["sav", "csv"], default="sav")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from surveykit.pipeline import run_job

    ret, pop, councils = national_files(args.format)
    best = None
    for i in range(args.repeat):
        run = run_job(ret, survey="ascs", year="2020-21", population=pop, councils=councils,
                      out=OUT / "run", quiet=True)
        if best is None or run["seconds"] < best["seconds"]:
            best = run
    print(f"national return: {best['rows_read']} rows, {best['rows_used']} respondents, "
          f"{best['councils']} councils ({ret.name})")
    print(f"{'step':<22}{'seconds':>9}")
    for step, seconds in best["step_seconds"].items():
        print(f"{step:<22}{seconds:>9.3f}")
    print(f"{'in-process total':<22}{best['seconds']:>9.3f}   (best of {args.repeat})")

    command = [sys.executable, "-m", "surveykit.cli", "run", str(ret), "--survey", "ascs", "--year",
               "2020-21", "--population", str(pop), "--councils", str(councils), "--out",
               str(OUT / "run-cli"), "--quiet"]
    walls = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True)
        walls.append(time.perf_counter() - start)
    print(f"{'surveykit run (wall)':<22}{min(walls):>9.3f}   (best of {args.repeat}, imports included)")


if __name__ == "__main__":
    main()
