"""Time surveykit's estimators against svy, samplics and R `survey` on a national-sized design.

    python benchmarks/bench_design.py            # 152 councils x 4 strata, ~80k rows
    python benchmarks/bench_design.py --quick    # skip the scaling run up to 1M rows

(a) one proportion by council with logit intervals; (b) eight measures by council x each of five
breakdowns, Wald intervals. Every peer gets the same rows and the same per-item weights
(N_h / m_h over the rows answering the measure, computed before the clock starts), so each is
timed on estimation alone. Peers whose full (b) would take minutes are timed on a part of it and
the total is extrapolated (marked "~"); samplics' (b) only with --samplics-b.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

from surveykit.design import SurveyDesign

MEASURES = [f"m{i}" for i in range(8)]
BREAKDOWNS = ["sex", "age_group", "support_reason", "setting", "ethnicity"]


def national(rows, councils=152, seed=7):
    """A synthetic return: councils x 4 strata, eligible populations N_h, 8 binary measures with
    item non-response and 5 breakdowns that cut across strata."""
    rng = np.random.default_rng(seed)
    council = rng.integers(0, councils, rows)
    stratum = rng.choice([1, 2, 3, 4], rows, p=[0.15, 0.25, 0.35, 0.25])
    data = pd.DataFrame({"council": [f"E{c:03d}" for c in range(councils)]}).iloc[council]
    data = data.reset_index(drop=True).assign(stratum=stratum)
    m_h = data.groupby(["council", "stratum"]).council.transform("size").to_numpy()
    data["N_h"] = (m_h * rng.uniform(1.5, 8, councils * 5)[council * 4 + stratum]).round() + 1
    for b, k in zip(BREAKDOWNS, [2, 2, 5, 3, 6]):
        data[b] = rng.integers(0, k, rows).astype(str)
    base = 0.4 + 0.1 * stratum
    for i, m in enumerate(MEASURES):
        y = (rng.random(rows) < base - 0.03 * i).astype(float)
        y[rng.random(rows) < 0.04 + 0.01 * i] = np.nan
        data[m] = y
    return data


def timed(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def per_item(data, measure):
    """The rows answering `measure`, with per-item weight N_h/m_h and sampling fraction."""
    rows = data[data[measure].notna()].copy()
    m = rows.groupby(["council", "stratum"]).council.transform("size")
    rows["w"] = rows.N_h / m
    rows["f"] = m / rows.N_h
    rows["cs"] = rows.council + "_" + rows.stratum.astype(str)
    return rows


# ---- surveykit ------------------------------------------------------------------------------
def surveykit_a(data):
    design = SurveyDesign(data, ["council", "stratum"], population="N_h")
    return design.proportion("m0", by="council", ci="logit")


def surveykit_b(data):
    design = SurveyDesign(data, ["council", "stratum"], population="N_h")
    return [design.proportion(MEASURES, by=["council", b], ci="wald") for b in BREAKDOWNS]


# ---- svy --------------------------------------------------------------------------------------
def svy_runner(data):
    import polars as pl
    import svy

    samples = {}
    for m in MEASURES:
        rows = per_item(data, m)
        frame = pl.from_pandas(rows[["council", "stratum", "N_h", "w", m] + BREAKDOWNS])
        samples[m] = svy.Sample(frame, svy.Design(stratum=["council", "stratum"], wgt="w",
                                                  pop_size="N_h"))

    def a():
        return samples["m0"].estimation.prop("m0", by="council", ci_method="logit").to_polars()

    def b(measures=MEASURES, breakdowns=BREAKDOWNS):
        return [samples[m].estimation.mean(m, by=["council", b]).to_polars()
                for m in measures for b in breakdowns]
    return a, b


# ---- samplics ---------------------------------------------------------------------------------
def samplics_runner(data):
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam

    prepared = {m: per_item(data, m) for m in MEASURES}

    def run(m, domain, param):
        rows = prepared[m]
        fpc = rows.groupby("cs").f.first()
        est = TaylorEstimator(param)
        est.estimate(y=rows[m].to_numpy(), samp_weight=rows.w.to_numpy(),
                     stratum=rows.cs.to_numpy(), domain=domain(rows),
                     fpc=dict(sorted((1 - fpc).items())))
        return est

    def a():
        return run("m0", lambda r: r.council.to_numpy(), PopParam.prop)

    def b(measures=MEASURES, breakdowns=BREAKDOWNS):
        return [run(m, lambda r, b=b: (r.council + "|" + r[b]).to_numpy(), PopParam.mean)
                for m in measures for b in breakdowns]
    return a, b


# ---- R survey ---------------------------------------------------------------------------------
R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(TRUE)
d <- read.csv(args[1], colClasses = c(council = "character"))
part <- as.integer(args[2])
d$cs <- paste(d$council, d$stratum)
mk <- function(m) svydesign(ids = ~1, strata = ~cs, fpc = ~N_h, data = d[!is.na(d[[m]]), ])
des <- mk("m0")
ta <- system.time(svyby(~m0, ~council, des, svyciprop, method = "logit", vartype = "ci"))[["elapsed"]]
measures <- paste0("m", 0:7)[seq_len(part)]
tb <- system.time(for (m in measures) { dm <- mk(m)
  for (b in c("sex", "age_group", "support_reason", "setting", "ethnicity"))
    svyby(as.formula(paste0("~", m)), as.formula(paste0("~council+", b)), dm, svymean) })[["elapsed"]]
cat(ta, tb, "\n")
"""


def r_times(data, measures_part):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = os.path.join(tmp, "d.csv"), os.path.join(tmp, "b.R")
        data.to_csv(csv, index=False)
        with open(script, "w") as fh:
            fh.write(R_SCRIPT)
        out = subprocess.run(["Rscript", script, csv, str(measures_part)], capture_output=True,
                             text=True, check=True)
    ta, tb = (float(v) for v in out.stdout.split())
    return ta, tb * len(MEASURES) / measures_part


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=80_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--samplics-b", action="store_true",
                        help="also time samplics on part of (b) (about 4 minutes)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    data = national(args.rows)
    surveykit_b(national(5_000, councils=10))  # warm up imports and first-call caches
    print(f"design: {data.council.nunique()} councils x 4 strata, {len(data):,} rows, "
          f"{len(MEASURES)} measures, breakdowns {', '.join(BREAKDOWNS)}\n")
    results = {"surveykit": (timed(lambda: surveykit_a(data), repeat=5),
                             timed(lambda: surveykit_b(data), repeat=5))}
    extrapolated = set()

    try:
        a, b = svy_runner(data)
        tb_part = timed(lambda: b(MEASURES[:1]), repeat=1)
        results["svy"] = (timed(a), tb_part * len(MEASURES))
        extrapolated.add("svy")
    except Exception as exc:  # a peer that cannot run is reported, not fatal
        print(f"svy: not run ({exc})")
    try:
        a, b = samplics_runner(data)
        tb = np.nan
        if args.samplics_b:
            tb = timed(lambda: b(MEASURES[:1], BREAKDOWNS[:1]), repeat=1)
            tb *= len(MEASURES) * len(BREAKDOWNS)
        results["samplics"] = (timed(a, repeat=1), tb)
        extrapolated.add("samplics")
    except Exception as exc:
        print(f"samplics: not run ({exc})")
    try:
        r = r_times(data, 1)
        if r is not None:
            results["R survey"] = r
            extrapolated.add("R survey")
    except Exception as exc:
        print(f"R survey: not run ({exc})")

    sk_a, sk_b = results["surveykit"]
    print(f"{'tool':<10} {'(a) s':>9} {'x slower':>9} {'(b) s':>10} {'x slower':>9}")
    for tool, (ta, tb) in results.items():
        mark = "~" if tool in extrapolated else " "
        print(f"{tool:<10} {ta:9.4f} {ta / sk_a:9.1f} {mark}{tb:9.3f} {tb / sk_b:9.1f}")
    print("(a) one proportion by council, logit CI; (b) 8 measures x council x 5 breakdowns.")
    print("~ = timed on part of (b) and scaled up (svy and R: 1 measure x 5 breakdowns;"
          " samplics: 1 x 1 with --samplics-b, else not run: its (a) alone takes minutes).")

    if not args.quick:
        print("\nsurveykit scaling (same design shape, more respondents per stratum):")
        print(f"{'rows':>10} {'(a) s':>9} {'(b) s':>9} {'(b) us/row':>11}")
        for rows in (80_000, 250_000, 500_000, 1_000_000):
            big = national(rows)
            ta, tb = timed(lambda: surveykit_a(big)), timed(lambda: surveykit_b(big))
            print(f"{rows:>10,} {ta:9.4f} {tb:9.4f} {tb / rows * 1e6:11.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
