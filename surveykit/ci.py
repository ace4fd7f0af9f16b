"""Confidence intervals for survey estimates, vectorised over many estimates at once.

Each method is named, and computed, as R `survey` does, so results can be checked side by side:

- "wald":   estimate ± z·se                      (R confint(svymean(...)), normal quantile)
- "wald-t": estimate ± t(df)·se                  (R svyciprop(method="mean"), design df)
- "logit":  expit(logit(p) ± t(df)·se/(p(1-p)))  (R svyciprop "logit": the intercept-only svyglm's
            Wald interval, whose sandwich variance is exactly this delta-method variance)
- "xlogit": the same interval computed by svycontrast on svymean (R svyciprop "xlogit")
- "asin":   sin²(asin(√p) ± t(df)·se/(2√(p(1-p))))  (R svyciprop "asin")
- "beta":   Korn-Graubard as R svyciprop computes it: n_eff = p(1-p)/se² ·
            (t(α/2, n-1)/t(α/2, df))², then Clopper-Pearson beta quantiles at n_eff
- "wilson": Wilson's score interval at n_eff = p(1-p)/se², with z = t(1-α/2, df)
            (R survey 4.5's definition; df = Inf gives the normal quantile)

Degenerate cases never raise; they give a documented interval and a `note`:

- no respondents: everything NaN.
- zero variance (a census domain, or p = 0 or 1): the interval is [estimate, estimate], except
  "beta" and "wilson" at p = 0 or 1, which take n_eff = n (the respondents) and so give
  Clopper-Pearson / Wilson intervals at n, e.g. [0, 0.308] for 0 of 10 with "beta".
  "Zero" is judged with a tolerance, never by == 0: an SE below 1e-12 of the estimate's scale
  (its size, at least 1) is rounding, and a proportion within 1e-12 of 0 or 1 has every answer the
  same, so its variance is 0 whatever rounding left in the SE.
- design df <= 0 (e.g. one respondent per stratum): t-based intervals are NaN, as in R.
- se is NaN (e.g. lonely="average" with every stratum lonely): intervals NaN.

`effective_sample_size` is the toolkit's one n_eff: the Wilson and Korn-Graubard intervals use it
here, `SurveyDesign` reports it (column `n_eff`) and funnel plots are drawn against it.
"""

from statistics import NormalDist

import numpy as np

from surveykit.ci_methods import METHODS, PROPORTION_ONLY
from surveykit.errors import SurveyKitError

# Start-up time matters to every command-line run: scipy.stats costs over half a second to import and
# scipy.special a fifth, so the normal quantile comes from the standard library (Wichura's AS241,
# the algorithm of R's qnorm) and scipy.special is imported only by the methods that need it.


def _special():
    from scipy import special
    return special


def _norm_ppf(q):
    return NormalDist().inv_cdf(float(q))


def _beta_ppf(q, a, b):
    """Beta quantile; NaN outside the distribution's parameter space, as scipy.stats gives."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = (a > 0) & (b > 0)
    with np.errstate(invalid="ignore"):
        inverse = _special().betaincinv(np.where(ok, a, 1.0), np.where(ok, b, 1.0), q)
    return np.where(ok, inverse, np.nan)


NOTE_EMPTY = "no respondents"
NOTE_ZERO_VAR = "variance is 0 (census domain, or every answer the same): interval is the estimate"
NOTE_NEFF_N = "variance is 0: effective sample size taken as the number of respondents"
NOTE_NO_DF = "design df is 0 (one respondent per stratum): t-based interval undefined"
NOTE_NO_SE = "standard error undefined (lonely strata)"

# An SE this small next to the estimate's scale (its size, at least 1: a proportion's range) is
# rounding error, not sampling error; a proportion this close to 0 or 1 has every answer the same.
_TINY = 1e-12


def _no_variance(p, se):
    return se <= _TINY * np.maximum(np.abs(p), 1.0)


def _at_bound(p):
    return (np.abs(p) <= _TINY) | (np.abs(1 - p) <= _TINY)


def effective_sample_size(estimate, se, n, unit_variance=None):
    """n_eff = s^2 / se^2: the size of a simple random sample (with replacement) giving the same SE.

    s^2 is p(1 - p) for a proportion (as R's svyciprop computes n_eff for "beta" and "wilson"), or
    `unit_variance`, the weighted variance of the linearised values (divisor the weights' sum).
    With no variance it is n, the respondents, where every answer is the same (p = 0 or 1, s^2 = 0),
    and inf where the domain is a census.
    """
    p = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    n = np.asarray(n, dtype=float)
    if unit_variance is None:
        s2, same = p * (1 - p), _at_bound(p)
    else:
        s2 = np.asarray(unit_variance, dtype=float)
        same = s2 <= _TINY**2 * np.maximum(p * p, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = s2 / se**2
    return np.where(same, n, np.where(_no_variance(p, se), np.inf, ratio))


def join_notes(first, second):
    """Two arrays of notes joined with "; " where both say something."""
    first = np.asarray(first, dtype=object)
    second = np.asarray(second, dtype=object)
    both = (first != "") & (second != "")
    out = np.where(first != "", first, second)
    out[both] = first[both] + "; " + second[both]
    return out


def check_method(method, *, proportion):
    """Raise a clear error for an unknown method or a proportion-only method on a mean."""
    if method not in METHODS:
        raise SurveyKitError(f"unknown ci method {method!r}; choose one of {', '.join(METHODS)}")
    if method in PROPORTION_ONLY and not proportion:
        raise SurveyKitError(f"ci={method!r} is for proportions only; use 'wald' or 'wald-t'")


def _t_quantile(q, df):
    """R's qt: Inf df gives the normal quantile; df <= 0 gives NaN."""
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        out = _special().stdtrit(np.where(df > 0, df, np.nan), q)
    return np.where(np.isinf(df), _norm_ppf(q), out)


def interval(estimate, se, df, n, method="wald", level=0.95):
    """Lower and upper bounds and a note for each estimate (arrays of equal length).

    `df` is the design degrees of freedom and `n` the respondents in the domain (R's nrow of the
    domain design, used by "beta").
    """
    p = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    df = np.asarray(df, dtype=float)
    n = np.asarray(n, dtype=float)
    if not 0 < level < 1:
        raise SurveyKitError(f"level must be between 0 and 1, not {level!r}")
    alpha = 1 - level
    note = np.full(p.shape, "", dtype=object)
    proportion = method in PROPORTION_ONLY
    # a proportion at 0 or 1 has no variance: snap it there, so rounding cannot leave it just inside
    bound = _at_bound(p) & (n > 0) if proportion else np.zeros(p.shape, dtype=bool)
    if proportion:
        p = np.where(bound, np.rint(p), p)
    zero_var = (_no_variance(p, se) | bound) & (n > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method == "wald":
            z = _norm_ppf(1 - alpha / 2)
            lower, upper = p - z * se, p + z * se
        elif method == "wald-t":
            t = _t_quantile(1 - alpha / 2, df)
            lower, upper = p - t * se, p + t * se
            note[~np.isfinite(t)] = NOTE_NO_DF
        elif method in ("logit", "xlogit"):
            t = _t_quantile(1 - alpha / 2, df)
            half = t * se / (p * (1 - p))
            special = _special()
            eta = special.logit(p)
            lower, upper = special.expit(eta - half), special.expit(eta + half)
            note[~np.isfinite(t)] = NOTE_NO_DF
        elif method == "asin":
            t = _t_quantile(1 - alpha / 2, df)
            half = t * se / (2 * np.sqrt(p * (1 - p)))
            centre = np.arcsin(np.sqrt(p))
            lower, upper = np.sin(centre - half) ** 2, np.sin(centre + half) ** 2
            note[~np.isfinite(t)] = NOTE_NO_DF
        elif method == "beta":
            n_eff = effective_sample_size(p, se, n)
            adjust = (_t_quantile(alpha / 2, n - 1) / _t_quantile(alpha / 2, df)) ** 2
            n_eff = np.where(bound, n_eff, n_eff * adjust)
            lower = _beta_ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)
            upper = _beta_ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))
            lower = np.where(bound & (p == 0), 0.0, lower)
            upper = np.where(bound & (p == 1), 1.0, upper)
            note[bound] = NOTE_NEFF_N
            note[~bound & ~np.isfinite(adjust)] = NOTE_NO_DF
        elif method == "wilson":
            n_eff = effective_sample_size(p, se, n)
            z = _t_quantile(1 - alpha / 2, df)
            z = np.where(bound & ~np.isfinite(z), _norm_ppf(1 - alpha / 2), z)
            z2 = z * z
            centre = (p + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
            half = z * np.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff**2)) / (1 + z2 / n_eff)
            lower, upper = centre - half, centre + half
            # at p = 0 or 1 the bound itself is exact: Wilson's centre - half is 0 (or + half is 1)
            lower = np.where(bound & (p == 0), 0.0, lower)
            upper = np.where(bound & (p == 1), 1.0, upper)
            note[bound] = NOTE_NEFF_N
            note[~bound & ~np.isfinite(z)] = NOTE_NO_DF
        else:
            raise SurveyKitError(f"unknown ci method {method!r}; choose one of {', '.join(METHODS)}")

    lower = np.asarray(lower, dtype=float).copy()
    upper = np.asarray(upper, dtype=float).copy()
    # zero variance (a census domain, or p = 0 or 1): the interval is the estimate itself, except
    # that "beta" and "wilson" at p = 0 or 1 already used n_eff = n above; t-based methods with
    # no design df stay NaN, as in R
    collapse = zero_var & ~bound if method in ("beta", "wilson") else zero_var.copy()
    if method != "wald":
        collapse &= df > 0
    lower[collapse] = p[collapse]
    upper[collapse] = p[collapse]
    note[collapse] = NOTE_ZERO_VAR
    no_se = np.isnan(se) & (n > 0)
    note[no_se] = NOTE_NO_SE
    empty = n <= 0
    lower[empty] = np.nan
    upper[empty] = np.nan
    note[empty] = NOTE_EMPTY
    return lower, upper, note
