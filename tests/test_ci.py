"""Interval methods checked by hand from their published formulas."""

import math

import numpy as np
import pandas as pd
import pytest

from surveykit import ci
from surveykit.design import SurveyDesign
from surveykit.errors import SurveyKitError

Z975 = 1.959963984540054  # qnorm(0.975)


def test_wilson_by_hand_normal_quantile():
    # p = 0.3, se = 0.05, df = Inf: n_eff = 0.21 / 0.0025 = 84
    lower, upper, note = ci.interval([0.3], [0.05], [np.inf], [100], "wilson")
    n, z2 = 84.0, Z975**2
    centre = (0.3 + z2 / (2 * n)) / (1 + z2 / n)
    half = Z975 * math.sqrt(0.3 * 0.7 / n + z2 / (4 * n * n)) / (1 + z2 / n)
    assert lower[0] == pytest.approx(centre - half, rel=1e-12)
    assert upper[0] == pytest.approx(centre + half, rel=1e-12)
    assert note[0] == ""


def test_wilson_uses_the_t_quantile_on_design_df():
    t = 2.0085591121007611  # qt(0.975, 50)
    lower, upper, _ = ci.interval([0.3], [0.05], [50], [100], "wilson")
    n, t2 = 84.0, t * t
    centre = (0.3 + t2 / (2 * n)) / (1 + t2 / n)
    half = t * math.sqrt(0.21 / n + t2 / (4 * n * n)) / (1 + t2 / n)
    assert (lower[0], upper[0]) == pytest.approx((centre - half, centre + half), rel=1e-9)


def test_wilson_on_simple_random_sample_is_wilson_at_n_minus_one():
    # R survey 4.5's own test: an SRS of 32 with 13 ones and df=Inf gives n_eff = n - 1 = 31
    df = pd.DataFrame({"s": 1, "w": 1.0, "y": [1.0] * 13 + [0.0] * 19})
    out = SurveyDesign(df, "s", weights="w").proportion("y")
    lower, upper, _ = ci.interval(out.estimate, out.se, [np.inf], out.n, "wilson")
    p, n, z2 = 13 / 32, 31.0, Z975**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z975 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    assert (lower[0], upper[0]) == pytest.approx((centre - half, centre + half), rel=1e-12)


def test_zero_variance_extremes():
    # 0 of 10 with no variance: "beta" is Clopper-Pearson at n = 10: upper = 1 - 0.025^(1/10)
    lower, upper, note = ci.interval([0.0], [0.0], [9], [10], "beta")
    assert lower[0] == 0.0 and upper[0] == pytest.approx(1 - 0.025 ** 0.1, rel=1e-12)
    assert "effective sample size" in note[0]
    # Wilson at n = 10, p = 0: [0, z^2/(n + z^2)]
    lower, upper, _ = ci.interval([0.0], [0.0], [np.inf], [10], "wilson")
    assert lower[0] == pytest.approx(0.0, abs=1e-15)
    assert upper[0] == pytest.approx(Z975**2 / (10 + Z975**2), rel=1e-12)
    for method in ("wald", "wald-t", "logit", "xlogit", "asin"):
        lower, upper, note = ci.interval([1.0], [0.0], [9], [10], method)
        assert (lower[0], upper[0]) == (1.0, 1.0) and "variance is 0" in note[0]


def test_rounding_left_in_a_unanimous_se_is_not_variance():
    """p = 0 of 10 with the 3e-9 SE that B - A^2/m used to leave: every method still gives the
    zero-variance interval (Wilson at n = 10 with z = t(9): [0, z^2/(10 + z^2)], not [-0.07, 0])."""
    t9 = 2.2621571627982049  # qt(0.975, 9)
    for p, se in ((0.0, 3e-9), (1.0, 3e-9), (1e-17, 0.0)):
        at = round(p)
        for method in ("logit", "xlogit", "asin", "beta", "wilson"):
            lower, upper, note = ci.interval([p], [se], [9], [10], method)
            if method == "beta":
                want = (0.0, 1 - 0.025 ** 0.1) if at == 0 else (0.025 ** 0.1, 1.0)
            elif method == "wilson":
                want = (0.0, t9**2 / (10 + t9**2)) if at == 0 else (10 / (10 + t9**2), 1.0)
            else:
                want = (at, at)
            assert (lower[0], upper[0]) == pytest.approx(want, rel=1e-12, abs=1e-15), (p, method)
            assert note[0] != ""


def test_logit_and_asin_are_the_delta_method():
    p, se, df = 0.2, 0.04, 30
    t = 2.0422724563012373  # qt(0.975, 30)
    lower, upper, _ = ci.interval([p], [se], [df], [50], "logit")
    eta, half = math.log(p / (1 - p)), t * se / (p * (1 - p))
    expit = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    assert (lower[0], upper[0]) == pytest.approx((expit(eta - half), expit(eta + half)), rel=1e-9)
    lower, upper, _ = ci.interval([p], [se], [df], [50], "asin")
    c, half = math.asin(math.sqrt(p)), t * se / (2 * math.sqrt(p * (1 - p)))
    assert (lower[0], upper[0]) == pytest.approx((math.sin(c - half) ** 2, math.sin(c + half) ** 2),
                                                 rel=1e-9)


def test_empty_and_undefined():
    lower, upper, note = ci.interval([np.nan], [np.nan], [0], [0], "wald")
    assert np.isnan(lower[0]) and np.isnan(upper[0]) and note[0] == "no respondents"
    lower, upper, note = ci.interval([0.5], [0.1], [0], [1], "wald-t")
    assert np.isnan(lower[0]) and "df is 0" in note[0]


def test_unknown_methods_are_refused():
    with pytest.raises(SurveyKitError, match="unknown ci method"):
        ci.interval([0.5], [0.1], [10], [10], "clopper")
    with pytest.raises(SurveyKitError, match="level must be between 0 and 1"):
        ci.interval([0.5], [0.1], [10], [10], "wald", level=95)
