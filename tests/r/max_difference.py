"""Print how far surveykit is from R `survey` over the committed fixtures: the largest relative difference
in each column, for the survey 4.1.1 cases and for the lonely="adjust" cases checked against survey 4.5.

    python tests/r/max_difference.py

The tests (tests/test_design.py) hold every value to 1e-9 relative; this says how close they really are,
from the same comparisons, so the figure the README quotes comes from a command anyone can run.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import test_design as t  # noqa: E402 - the tests' own fixtures and comparison

COLUMNS = ("estimate", "se", "ci_lower", "ci_upper", "deff")


def largest(groups, cases, data) -> dict:
    worst = dict.fromkeys(COLUMNS, 0.0)
    for case in cases:
        design, lonely, stat, _, by, ci, variance = case
        got = t._ours(design, lonely, stat, by, ci, variance, data=data)
        merged = groups[case].merge(got, on="domain", suffixes=("_r", ""), validate="one_to_one")
        for col in COLUMNS:
            r, ours = merged[col + "_r"].to_numpy(float), merged[col].to_numpy(float)
            ok = ~np.isnan(r) & (np.abs(r) > 1e-13)
            if ok.any():
                worst[col] = max(worst[col], float(np.max(np.abs(ours[ok] - r[ok]) / np.abs(r[ok]))))
    return worst


def main():
    irls = [c for c in t.CASES if c[5] == "logit-irls"]   # svyciprop's logit, whose IRLS stops at glm's 1e-8
    for label, groups, cases, data in (
            ("R survey 4.1.1", t.GROUPS, [c for c in t.CASES if c not in irls], t.DATA),
            ("R survey 4.1.1, svyciprop(method='logit') as R stops it", t.GROUPS, irls, t.DATA),
            ("R survey 4.5, lonely='adjust'", t.LONELY_GROUPS, sorted(t.LONELY_GROUPS), t.LONELY_DATA)):
        worst = largest(groups, cases, data)
        cells = ", ".join(f"{col} {value:.1e}" for col, value in worst.items())
        print(f"{label}: {len(cases)} cases; largest relative difference: {cells}")


if __name__ == "__main__":
    main()
