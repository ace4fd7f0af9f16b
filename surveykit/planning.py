"""Sample-size planning: responses needed for a target margin of error, and the reverse.

Simple random sampling without replacement from N eligible people, proportion p:
    moe = z * sqrt(p (1 - p) / n * (N - n) / (N - 1))
which solves to n = n0 N / (N + n0 - 1) with n0 = z^2 p (1 - p) / moe^2. At 95% (z = 1.96),
p = 0.5 and moe = 5 points, n0 = 384.16, giving the survey guidance's n = 384.16 N / (N + 383.16):
N = 1000 needs 278 responses, and 360 responses give +/-4.1 points.
"""

import numpy as np
from statistics import NormalDist

from surveykit.errors import SurveyKitError


def _z(level, z):
    if z is not None:
        return float(z)
    if not 0 < level < 1:
        raise SurveyKitError(f"level must be between 0 and 1, not {level!r}")
    return NormalDist().inv_cdf(1 - (1 - level) / 2)


def responses_needed(population, moe=0.05, p=0.5, level=0.95, z=None):
    """Responses needed so that the margin of error is at most `moe` (a proportion, 0.05 = 5
    points); `population` may be an array. Rounded up; never more than the population.
    `z` overrides the normal quantile (guidance documents use 1.96)."""
    N = np.asarray(population, dtype=float)
    if np.any(N <= 0) or not 0 < moe < 1 or not 0 < p < 1:
        raise SurveyKitError("population must be positive, and moe and p between 0 and 1")
    zq = _z(level, z)
    n0 = zq * zq * p * (1 - p) / (moe * moe)
    n = np.minimum(np.ceil(n0 * N / (N + n0 - 1) - 1e-9), N)
    return n.astype(int) if n.ndim else int(n)


def margin_of_error(responses, population, p=0.5, level=0.95, z=None):
    """Margin of error (a proportion: 0.041 = 4.1 points) from `responses` out of `population`."""
    n = np.asarray(responses, dtype=float)
    N = np.asarray(population, dtype=float)
    if np.any(n < 1) or np.any(n > N):
        raise SurveyKitError("responses must be at least 1 and at most the population")
    zq = _z(level, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        fpc = np.where(N > 1, (N - n) / (N - 1), 0.0)
    moe = zq * np.sqrt(p * (1 - p) / n * fpc)
    return moe if moe.ndim else float(moe)
