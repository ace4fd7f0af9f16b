"""What --plots costs: `surveykit run` on a national synthetic return, with and without --plots.

    python benchmarks/bench_plots.py               # best of 3 of each, alternated
    python benchmarks/bench_plots.py --serial      # also --plots drawn in one process
    python benchmarks/bench_plots.py --repeat 5 --spine 211

The return is made once with `surveykit synth` (152 councils, about 81,000 rows, ASCS 2020-21, .sav)
and kept in benchmarks/out/ (ignored by git). Each round runs the command as a user would, in a fresh
process (imports included), first without --plots and then with it, so both see the same machine;
the ratio of the best times is the cost of the plots (the target: at most 2). `--serial` adds a run
with SURVEYKIT_PLOT_WORKERS=1, the plots drawn one after another in the main process, as before
they were drawn in parallel. CPU seconds are the command's and its workers' user + system time.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_run import compiled   # the same start as bench_run's: surveykit's bytecode compiled

OUT = Path(__file__).resolve().parent / "out"
FOLDER = OUT / "national-sav"
YEAR = "2020-21"


def surveykit(*args):
    return [sys.executable, "-m", "surveykit.cli", *map(str, args)]


def national_return():
    """The synthetic national return, made with `surveykit synth` the first time."""
    target = FOLDER / f"ascs-{YEAR}-return.sav"
    if not target.exists():
        subprocess.run(surveykit("synth", "--survey", "ascs", "--year", YEAR, "--councils", 152, "--seed", 1,
                                 "--format", "sav", "--out", FOLDER), check=True)
    return target


def timed(command, env=None):
    """Wall and CPU seconds (this child and its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--serial", action="store_true", help="also time --plots drawn in one process")
    parser.add_argument("--spine", nargs="*", default=[], metavar="COUNCIL", help="spine plots too")
    args = parser.parse_args()

    compiled()
    ret = national_return()
    run = surveykit("run", ret, "--survey", "ascs", "--year", YEAR,
                    "--population", FOLDER / f"ascs-{YEAR}-population.csv",
                    "--councils", FOLDER / f"ascs-{YEAR}-councils.csv", "--quiet")
    plots = ["--plots"] + (["--spine", *args.spine] if args.spine else [])
    variants = {"without --plots": (run + ["--out", OUT / "bench-noplots"], None),
                "with --plots": (run + ["--out", OUT / "bench-plots", *plots], None)}
    if args.serial:
        variants["--plots, 1 process"] = (run + ["--out", OUT / "bench-plots-serial", *plots],
                                          dict(os.environ, SURVEYKIT_PLOT_WORKERS="1"))
    times = {name: [] for name in variants}
    for _ in range(args.repeat):
        for name, (command, env) in variants.items():
            times[name].append(timed(command, env))

    figures = len(list((OUT / "bench-plots" / "plots").glob("*.png")))
    print(f"surveykit run, national synthetic return ({ret.name}, 152 councils); {figures} figures "
          f"(PNG and SVG each); {os.cpu_count()} cores; {args.repeat} rounds")
    print(f"{'':<22}{'best s':>8}{'median s':>10}{'CPU s':>8}")
    for name, got in times.items():
        walls = [w for w, _ in got]
        print(f"{name:<22}{min(walls):>8.2f}{statistics.median(walls):>10.2f}{min(c for _, c in got):>8.2f}")
    base = min(w for w, _ in times["without --plots"])
    for name in list(times)[1:]:
        print(f"ratio {name} / without: {min(w for w, _ in times[name]) / base:.2f} (best times)")


if __name__ == "__main__":
    main()
