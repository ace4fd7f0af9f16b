"""Time NHS Digital's annex tables (surveykit.publish.annex) on a synthetic national ASCS return.

    python benchmarks/bench_annex.py                  # 152 councils, ~30,000 respondents
    python benchmarks/bench_annex.py --respondents 80000

The return is made, validated and weighted before the clock starts; each run then builds every sheet
(Contents, Notes, T1a-T6) from the design. The first run in a process is shown apart from the best of the
rest (it also reads the bundled layout and warms the BLAS). Each table's share is timed on its own, from the
same design. The group tables (T2, T3) are dense matrix products: on a machine whose cores are busy with
other work, a multi-threaded BLAS can be several times slower than with OPENBLAS_NUM_THREADS=1.

Runs on the 2-core workplace machine (surveykit 0.1.0, numpy 2.4 with OpenBLAS 0.3.31), while other sessions' test
suites kept it busy (load average 2-3):

    30,011 respondents, OPENBLAS_NUM_THREADS=1:  first run 0.56 s, best of 5 more 0.31 s (median 0.32 s)
                                                 T1a/T1b/T5 0.02 s, T2 0.07 s, T3 0.11 s, T4 0.02 s, T6 0.01 s
    30,011 respondents, default BLAS threads:    first run 0.59-2.4 s, best of 5 more 0.28-1.1 s
    80,108 respondents, OPENBLAS_NUM_THREADS=1:  first run 1.35 s, best of 3 more 0.74 s
"""

import argparse
import time

import numpy as np

import surveykit as sk
from surveykit.publish.annex import _Annex, annex_sheets
from surveykit.synth import make_return, synthetic_councils
from surveykit.validate import validate
from surveykit.weights import weight


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--councils", type=int, default=152)
    parser.add_argument("--respondents", type=int, default=30000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    synthetic = make_return("ascs", "2025-26", councils=args.councils, respondents=args.respondents, seed=3)
    spec = sk.load_spec("ascs", "2025-26")
    ret = validate(synthetic.data, spec, population=synthetic.population, councils=synthetic.councils)
    design = weight(ret, synthetic.population, synthetic.councils)
    lookup = synthetic_councils()
    print(f"{args.councils} councils, {len(design.data):,} respondents, {len(ret.ledger):,} sampled rows")

    first, *rest = timed(lambda: annex_sheets(design, ret, councils=lookup), args.repeat + 1)
    print(f"all sheets: first run {first:.3f} s, best of {len(rest)} more {min(rest):.3f} s "
          f"(median {np.median(rest):.3f} s)")

    annex = _Annex(design, ret, lookup, None)
    parts = {"questions, counts and areas": lambda: _Annex(design, ret, lookup, None),
             "T1a, T1b, T5": annex.area_sheets, "T2a, T2b": annex.demographic_sheets,
             "T3a, T3b": annex.response_sheets, "T4": annex.response_rate_sheet, "T6": annex.demographics_sheet}
    for name, fn in parts.items():
        print(f"  {name:<28} {min(timed(fn, args.repeat)):.3f} s")


if __name__ == "__main__":
    main()
