"""Time the main job end to end on a national synthetic ASCS return: .sav file -> every table and workbook.

    python benchmarks/bench_run.py                 # 152 councils, about 80k rows, best of 3
    python benchmarks/bench_run.py --format csv    # the same return as CSV
    python benchmarks/bench_run.py --plots         # also the run with --plots, and the ratio

Reports each step (read, validate, weight and score, every ASCOF measure for every council, region
and England with intervals, question tables, writing the tables and workbook), the in-process total,
and the wall time of the `surveykit run` command itself (which adds Python's start-up and imports), and in
the same run its peer: a bare Python that imports pandas and reads the same file with pyreadstat (the
least any tool must do), with the ratio. Peers are timed on the estimation step alone, where they can be,
by benchmarks/bench_design.py. The synthetic return is made once and kept in benchmarks/out/ (ignored by git).
"""

import argparse
import subprocess
import sys
import time
import warnings
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
YEAR = "2025-26"
BARE = {"sav": "import pandas, pyreadstat; pyreadstat.read_sav({path!r})",
        "csv": "import pandas; pandas.read_csv({path!r})"}


def national_files(fmt):
    from surveykit.synth import make_return, write_return

    folder = OUT / f"national-{YEAR}-{fmt}"
    target = folder / f"ascs-{YEAR}-return.{fmt}"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_return(make_return("ascs", YEAR, councils=152), folder, fmt=fmt)
    return target, folder / f"ascs-{YEAR}-population.csv", folder / f"ascs-{YEAR}-councils.csv"


def compiled() -> None:
    """surveykit's modules compiled to bytecode, as an installed package has them: a checkout run with
    PYTHONDONTWRITEBYTECODE set would otherwise compile every module at every start (about 0.1 s)."""
    import compileall
    import surveykit

    compileall.compile_dir(Path(surveykit.__file__).parent, quiet=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=["sav", "csv"], default="sav")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plots", action="store_true", help="also time the run with --plots")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from surveykit.cli import blas_threads_for_a_run

    blas_threads_for_a_run()      # the in-process run as the command has it (numpy is not loaded yet)
    compiled()
    from surveykit.pipeline import run_job

    ret, pop, councils = national_files(args.format)
    best = None
    for i in range(args.repeat):
        run = run_job(ret, survey="ascs", year=YEAR, population=pop, councils=councils,
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
               YEAR, "--population", str(pop), "--councils", str(councils), "--out",
               str(OUT / "run-cli"), "--quiet"]
    bare = [sys.executable, "-c", BARE[args.format].format(path=str(ret))]
    # alternated (with the --plots run too), so every command sees the same machine
    wall, floor, *plotted = best_walls([command, bare] + ([command + ["--plots"]] if args.plots else []),
                                       args.repeat)
    print(f"{'surveykit run (wall)':<22}{wall:>9.3f}   (best of {args.repeat}, imports included, alternated with:)")
    print(f"{'bare read (wall)':<22}{floor:>9.3f}   (python -c \"{BARE[args.format].split(';')[0]}; read\")")
    print(f"{'ratio run / bare':<22}{wall / floor:>9.2f}")
    if args.plots:
        print(f"{'run --plots (wall)':<22}{plotted[0]:>9.3f}")
        print(f"{'ratio plots / run':<22}{plotted[0] / wall:>9.2f}")


def best_walls(commands, repeat) -> list[float]:
    """The best wall time of each command over ``repeat`` rounds, the commands taking turns in each round, in
    the reverse order every other round (a run just after another is not always timed as one after a rest)."""
    walls = [[] for _ in commands]
    for round_ in range(repeat):
        turns = list(zip(walls, commands))
        for times, command in (turns if round_ % 2 == 0 else turns[::-1]):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
    return [min(times) for times in walls]


if __name__ == "__main__":
    main()
