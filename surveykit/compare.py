"""Benchmarking councils: against England or their region, funnel-plot limits, year-on-year change
and comparator groups, all worked from the tidy ASCOF results table (docs/contracts.md).

Why the tidy table is enough: England (and a region) is a stratified estimate over independent
council-strata, so estimate_E = sum_c (N_c / N_E) estimate_c with N_c the council's `population` for
the measure. Hence Cov(council, England) = (N_c / N_E) Var(council) exactly, and
Var(council - England) = Var_c + Var_E - 2 (N_c / N_E) Var_c. For breakdowns (sex, age group) the same
formula treats the estimated group populations as fixed, as NHS Digital's method does.

Funnel limits (Spiegelhalter 2005, Stat Med 24:1185) use each council's effective sample size
n_eff = s^2/SE^2 (p(1-p)/SE^2 for a proportion: `surveykit.ci.effective_sample_size`, the n_eff of the
Wilson and Korn-Graubard intervals), so a council on the funnel's edge is one whose own SE puts it
there. Two kinds: the normal approximation p0 +/- z sqrt(p0(1-p0)/n) (or sigma/sqrt(n) for scores),
the default and the only one that takes an over-dispersion adjustment; and, for proportions, the
exact binomial limits interpolated as in the paper's Appendix A.1.1, (r_p - alpha)/n. PHE Fingertips'
Wilson-score-based limits (PHEindicatormethods) are a third convention, not implemented here.
Over-dispersion (Spiegelhalter 2005, Qual Saf Health Care 14:347): z-scores winsorised at 10%/90%
by his rank rule, phi = mean(z_w^2); multiplicative limits inflate by sqrt(max(phi, 1)), never
narrowing below the limits of no over-dispersion, everywhere phi is used (limits, z-scores, flags);
additive limits add DerSimonian-Laird tau2.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from surveykit.errors import SurveyKitError

#: Confidence levels every comparison reports, and the column suffix each gets ("95", "99_8").
LEVELS = (0.95, 0.998)

KEYS = ["measure", "breakdown", "group"]
AREA_KEYS = ["measure", "area_level", "area_code", "breakdown", "group"]

#: Recipe fields that only describe a measure; they may change between years without changing it.
DESCRIPTIVE_FIELDS = frozenset(
    {"name", "label", "title", "description", "text", "note", "notes", "code", "code_set", "source",
     "polarity"}
)


def level_suffix(level: float) -> str:
    """Column suffix for a confidence level: 0.95 -> "95", 0.998 -> "99_8"."""
    return f"{level * 100:g}".replace(".", "_")


def critical_value(level: float) -> float:
    """Two-sided normal critical value: 1.959964 at 95%, 3.090232 at 99.8%."""
    return float(special.ndtri(0.5 + level / 2))    # scipy.stats.norm.ppf, without its 0.6 s import


def _significance(z, level, higher="higher", lower="lower", neither="not significant"):
    """Label each z-score at a two-sided level; a missing z (no SE) is "not available"."""
    z = np.asarray(z, dtype=float)
    crit = critical_value(level)
    return np.select(
        [np.isnan(z), z > crit, z < -crit], ["not available", higher, lower], neither
    ).astype(object)


def _require_columns(frame, columns, what):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SurveyKitError(f"{what} has no column {missing[0]!r} (needs {', '.join(columns)})",
                             column=missing[0])


def _add_tests(out, estimate_diff, se_diff, prefix, higher, lower, neither):
    """Add the difference, its SE, 95% interval, z, p-value and flags at each level, vectorised."""
    z = np.divide(estimate_diff, se_diff, out=np.full(len(out), np.nan), where=se_diff > 0)
    crit = critical_value(0.95)
    out[prefix] = estimate_diff
    out[f"se_{prefix}"] = se_diff
    out[f"{prefix}_ci_lower"] = estimate_diff - crit * se_diff
    out[f"{prefix}_ci_upper"] = estimate_diff + crit * se_diff
    out["z"] = z
    out["p_value"] = 2 * special.ndtr(-np.abs(z))    # scipy.stats.norm.sf
    for level in LEVELS:
        out[f"significance_{level_suffix(level)}"] = _significance(z, level, higher, lower, neither)
    return out


# --------------------------------------------------------------------------------------------------
# Council against England or its region
# --------------------------------------------------------------------------------------------------

def compare_to(results: pd.DataFrame, level: str = "england", councils: pd.DataFrame | None = None):
    """Each council's estimate against England's or its region's, with the overlap accounted for.

    `councils` is the council lookup (`council, council_name, region_code, region_name`), needed for
    level="region". Returns one row per council row of `results` with `difference` (council minus
    comparator), `se_difference`, a 95% interval, `z`, two-sided `p_value`, and `significance_95`,
    `significance_99_8` ("higher", "lower", "not significant", or "not available" without an SE).
    """
    if level not in ("england", "region"):
        raise SurveyKitError(f"level must be 'england' or 'region', not {level!r}", value=level)
    needed = ["measure", "area_level", "area_code", "area_name", "breakdown", "group",
              "estimate", "se", "population"]
    _require_columns(results, needed, "ASCOF results")

    council_rows = results[results["area_level"] == "council"]
    comparators = results[results["area_level"] == level]
    if comparators.empty:
        raise SurveyKitError(f"ASCOF results have no {level} rows to compare councils with",
                             column="area_level")

    base = council_rows.drop(columns=["area_level"])
    if level == "region":
        if councils is None:
            raise SurveyKitError("comparing with regions needs the council lookup (councils=...)")
        _require_columns(councils, ["council", "region_code"], "council lookup")
        region_of = councils.drop_duplicates("council").set_index("council")["region_code"]
        comparator_code = base["area_code"].map(region_of)
        unknown = base.loc[comparator_code.isna(), "area_code"]
        if len(unknown):
            raise SurveyKitError(f"council {unknown.iloc[0]!r} is not in the council lookup",
                                 column="council", value=unknown.iloc[0])
        base = base.assign(comparator_code=comparator_code.astype(str))
        join_keys = KEYS + ["comparator_code"]
    else:
        join_keys = KEYS

    comp = comparators[KEYS + ["area_code", "area_name", "estimate", "se", "population"]].rename(
        columns={"area_code": "comparator_code", "area_name": "comparator_name",
                 "estimate": "comparator_estimate", "se": "comparator_se",
                 "population": "comparator_population"})
    duplicated = comp.duplicated(join_keys)
    if duplicated.any():
        row = comp[duplicated].iloc[0]
        raise SurveyKitError(f"more than one {level} row for measure {row['measure']!r}, "
                             f"{row['breakdown']} {row['group']}", column="area_code")
    out = base.merge(comp, on=join_keys, how="left", validate="many_to_one")
    out.insert(out.columns.get_loc("area_name") + 1, "comparator_level", level)

    share = out["population"].to_numpy(float) / out["comparator_population"].to_numpy(float)
    var_c = out["se"].to_numpy(float) ** 2
    var_a = out["comparator_se"].to_numpy(float) ** 2
    se_diff = np.sqrt(var_c + var_a - 2 * share * var_c)
    out["population_share"] = share
    diff = out["estimate"].to_numpy(float) - out["comparator_estimate"].to_numpy(float)
    return _add_tests(out, diff, se_diff, "difference", "higher", "lower", "not significant")


# --------------------------------------------------------------------------------------------------
# Funnel-plot limits (Spiegelhalter 2005)
# --------------------------------------------------------------------------------------------------

def _null_se(target, n, kind, sigma):
    """SE of a council's estimate at sample size n if it were on target: the funnel's width."""
    n = np.asarray(n, dtype=float)
    if kind == "proportion":
        return np.sqrt(target * (100.0 - target) / n)          # percent scale
    if kind == "mean":
        if sigma is None or not np.isfinite(sigma):
            raise SurveyKitError("mean-score funnel limits need the unit standard deviation sigma")
        return sigma / np.sqrt(n)
    raise SurveyKitError(f"kind must be 'proportion' or 'mean', not {kind!r}", value=kind)


def _exact_binomial_quantile(prob, n, p0):
    """Spiegelhalter (2005) Appendix A.1.1: interpolated binomial quantile, as a proportion.

    r_p is the smallest r with P(R <= r) >= prob for R ~ Binomial(n, p0);
    alpha = (P(R <= r_p) - prob) / P(R = r_p); the limit is (r_p - alpha) / n.
    """
    from scipy import stats      # only here: its import takes longer than a national run's plots module

    r = stats.binom.ppf(prob, n, p0)
    alpha = (stats.binom.cdf(r, n, p0) - prob) / stats.binom.pmf(r, n, p0)
    return (r - alpha) / n


def inflation(phi: float) -> float:
    """The multiplicative over-dispersion factor applied to variances: max(phi, 1).

    phi < 1 (councils closer together than chance alone) is no reason to narrow the limits.
    """
    return max(float(phi), 1.0)


def funnel_limits(target, n, level, *, kind, sigma=None, method="normal", phi=1.0, tau2=0.0):
    """Lower and upper control limits around `target` at sample size(s) `n`, in the measure's units.

    kind "proportion" (target and limits in percent) or "mean" (needs `sigma`, the unit SD).
    method "normal": target +/- z * sqrt(max(phi, 1) * s(n)^2 + tau2), s(n) = sqrt(p0(1-p0)/n) or
    sigma/sqrt(n); method "exact" (proportions only, no over-dispersion): Spiegelhalter's interpolated
    binomial limits with n rounded to a whole number (effective sample sizes are not whole).
    Proportion limits are clipped to 0-100.
    """
    n = np.asarray(n, dtype=float)
    phi = inflation(phi)
    if method == "exact":
        if kind != "proportion":
            raise SurveyKitError("exact funnel limits exist only for proportions; use method='normal'")
        if phi != 1.0 or tau2 != 0.0:
            raise SurveyKitError("over-dispersed funnel limits use the normal approximation; "
                                 "use method='normal'")
        whole = np.maximum(np.rint(n), 1)
        tail = (1 - level) / 2
        lower = 100 * _exact_binomial_quantile(tail, whole, target / 100)
        upper = 100 * _exact_binomial_quantile(1 - tail, whole, target / 100)
    elif method == "normal":
        half = critical_value(level) * np.sqrt(phi * _null_se(target, n, kind, sigma) ** 2 + tau2)
        lower, upper = target - half, target + half
    else:
        raise SurveyKitError(f"method must be 'normal' or 'exact', not {method!r}", value=method)
    if kind == "proportion":
        lower, upper = np.clip(lower, 0, 100), np.clip(upper, 0, 100)
    return lower, upper


def winsorise(z, fraction=0.1):
    """Pull the lowest and highest `fraction` of z-scores in to the nearest kept value.

    Spiegelhalter's rule (his funnel program): k = floor(n * fraction) values at each end are
    replaced, i.e. z is clipped to the (k+1)-th smallest and (k+1)-th largest values.
    """
    z = np.asarray(z, dtype=float)
    ordered = np.sort(z[~np.isnan(z)])
    k = int(np.floor(len(ordered) * fraction))
    return np.clip(z, ordered[k], ordered[len(ordered) - 1 - k])


def dispersion_ratio(z, fraction=0.1):
    """phi = mean of the squared winsorised z-scores (Spiegelhalter 2005, over-dispersion)."""
    zw = winsorise(z, fraction)
    return float(np.nanmean(zw ** 2))


def dersimonian_laird_tau2(phi, s):
    """Between-council variance for additive random-effects limits (DerSimonian-Laird).

    tau2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w), w = 1/s^2, and 0 when I phi <= I - 1.
    """
    s = np.asarray(s, dtype=float)
    w = 1 / s[np.isfinite(s) & (s > 0)] ** 2
    count = len(w)
    if count < 2:
        return 0.0
    numerator = count * phi - (count - 1)
    return float(max(numerator, 0.0) / (w.sum() - (w ** 2).sum() / w.sum()))


@dataclass(frozen=True)
class Funnel:
    """A measure's funnel: target, how limits were set, and each council's position.

    `councils`: area_code, area_name, estimate, n (effective sample size), z (under the chosen
    model), lower_/upper_ limits and flag_ ("above"/"below"/"within") for each level.
    """

    measure: str
    kind: str
    breakdown: str
    group: str
    target: float
    sigma: float | None
    method: str
    overdispersion: str
    phi: float
    tau2: float
    levels: tuple
    councils: pd.DataFrame

    @property
    def used_phi(self) -> float:
        """The variance inflation the limits and z-scores use: max(phi, 1), or 1 without it."""
        return inflation(self.phi) if self.overdispersion == "multiplicative" else 1.0

    @property
    def used_tau2(self) -> float:
        return self.tau2 if self.overdispersion == "additive" else 0.0

    def limits(self, n):
        """Limits at sample sizes n (for drawing the funnel): a DataFrame n, lower_95, upper_95, ..."""
        out = pd.DataFrame({"n": np.asarray(n, dtype=float)})
        for level in self.levels:
            lower, upper = funnel_limits(self.target, out["n"], level, kind=self.kind,
                                         sigma=self.sigma, method=self.method, phi=self.used_phi,
                                         tau2=self.used_tau2)
            out[f"lower_{level_suffix(level)}"] = lower
            out[f"upper_{level_suffix(level)}"] = upper
        return out

    def describe(self, decimals: int = 1) -> str:
        """One line saying how the limits were set, for captions; the target to `decimals` places
        (the measure's published precision: 3 for the 0-1 scores 1J and ASCOT)."""
        how = {"normal": "normal-approximation limits",
               "exact": "exact binomial limits (Spiegelhalter 2005, interpolated)"}[self.method]
        extra = {"none": "no over-dispersion adjustment",
                 "multiplicative": f"multiplicative over-dispersion, phi = {self.phi:.2f}"
                                   + ("" if self.phi > 1 else " (not inflated)"),
                 "additive": f"additive random effects, tau = {np.sqrt(self.tau2):.2f}"}[self.overdispersion]
        from surveykit.publish.rules import round_half_away   # the target as the tables round it

        levels = " and ".join(f"{lvl * 100:g}%" for lvl in self.levels)
        target = f"{float(round_half_away(self.target, decimals)):.{decimals}f}"
        return f"{levels} {how} around {target}, by effective sample size; {extra}"


def _area_row(results, level, measure, breakdown, group):
    rows = results[(results["area_level"] == level) & (results["measure"] == measure)
                   & (results["breakdown"] == breakdown) & (results["group"] == group)]
    return rows.iloc[0] if len(rows) else None


def funnel(results, measure, *, kind, breakdown="total", group="Total", method="normal",
           overdispersion="none", winsor=0.1, levels=LEVELS, n_column="n_eff", target=None):
    """Funnel limits for one measure across councils, using each council's effective sample size.

    Councils without an estimate or a positive effective sample size are left out.

    target defaults to England's estimate (else the population-weighted council mean). For mean
    scores the unit SD is England's se * sqrt(n_eff) (else pooled over councils). overdispersion:
    "none", "multiplicative" (phi from winsorised z-scores, limits and z-scores inflated by
    sqrt(max(phi, 1))) or "additive" (DerSimonian-Laird tau2 from the same winsorised z-scores).
    """
    _require_columns(results, ["measure", "area_level", "area_code", "area_name", "breakdown",
                               "group", "estimate", "se", "population", n_column], "ASCOF results")
    if overdispersion not in ("none", "multiplicative", "additive"):
        raise SurveyKitError("overdispersion must be 'none', 'multiplicative' or 'additive', "
                             f"not {overdispersion!r}", value=overdispersion)
    rows = results[(results["area_level"] == "council") & (results["measure"] == measure)
                   & (results["breakdown"] == breakdown) & (results["group"] == group)]
    rows = rows[rows["estimate"].notna() & (rows[n_column] > 0)]
    if rows.empty:
        raise SurveyKitError(f"no council results for measure {measure!r} ({breakdown} {group})",
                             column="measure", value=measure)
    estimate = rows["estimate"].to_numpy(float)
    n = rows[n_column].to_numpy(float)
    england = _area_row(results, "england", measure, breakdown, group)
    if target is None:
        if england is not None:
            target = float(england["estimate"])
        else:
            weight = rows["population"].to_numpy(float)
            target = float(np.sum(weight * estimate) / np.sum(weight))
    sigma = None
    if kind == "mean":
        if england is not None and np.isfinite(england["se"]) and england[n_column] > 0:
            sigma = float(england["se"] * np.sqrt(england[n_column]))
        else:
            unit_var = rows["se"].to_numpy(float) ** 2 * n
            sigma = float(np.sqrt(np.nansum(n * unit_var) / np.sum(n)))

    s = _null_se(target, n, kind, sigma)
    z_raw = (estimate - target) / s
    phi = dispersion_ratio(z_raw, winsor)
    tau2 = dersimonian_laird_tau2(phi, s)
    result = Funnel(measure=measure, kind=kind, breakdown=breakdown, group=group, target=target,
                    sigma=sigma, method=method, overdispersion=overdispersion, phi=phi, tau2=tau2,
                    levels=tuple(levels), councils=pd.DataFrame())

    out = pd.DataFrame({"area_code": rows["area_code"].to_numpy(),
                        "area_name": rows["area_name"].to_numpy(),
                        "estimate": estimate, "n": n,
                        "z": (estimate - target) / np.sqrt(result.used_phi * s ** 2 + result.used_tau2)})
    limits = result.limits(n)
    for level in levels:
        suffix = level_suffix(level)
        lower, upper = limits[f"lower_{suffix}"].to_numpy(), limits[f"upper_{suffix}"].to_numpy()
        out[f"lower_{suffix}"] = lower
        out[f"upper_{suffix}"] = upper
        out[f"flag_{suffix}"] = np.select([estimate > upper, estimate < lower],
                                          ["above", "below"], "within").astype(object)
    return dataclasses.replace(result, councils=out)


# --------------------------------------------------------------------------------------------------
# Year-on-year change
# --------------------------------------------------------------------------------------------------

def _measures_of(spec):
    """The measure recipes of a spec: a Questionnaire (.measures), {"measures": {...}}, or {code: recipe}."""
    if hasattr(spec, "measures"):
        return dict(spec.measures)
    if isinstance(spec, dict):
        return dict(spec["measures"]) if "measures" in spec else dict(spec)
    raise SurveyKitError(f"a questionnaire spec or a dict of measures is needed, not {type(spec).__name__}")


def _year_of(spec, fallback):
    year = getattr(spec, "year", None)
    if year is None and isinstance(spec, dict):
        year = spec.get("year")
    return str(year) if year is not None else fallback


def _plain(value):
    """A recipe as plain, comparable data: dataclasses and objects to dicts, tuples/sets to lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif not isinstance(value, (dict, list, tuple, set, frozenset, str, bytes, int, float, bool,
                                type(None))) and hasattr(value, "__dict__"):
        value = vars(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def recipe_differences(recipe_a, recipe_b) -> list[str]:
    """Names of the recipe fields (items, codes, points, filter, ...) that differ; [] if the same.

    Descriptive fields (name, label, description, ...) are ignored.
    """
    a, b = _plain(recipe_a), _plain(recipe_b)
    if not isinstance(a, dict) or not isinstance(b, dict):
        return [] if a == b else ["definition"]
    fields = sorted((set(a) | set(b)) - DESCRIPTIVE_FIELDS)
    return [f for f in fields if a.get(f) != b.get(f)]


def _comparability(measures, spec_a, spec_b, year_a, year_b):
    """Per measure code: (comparable, reason)."""
    recipes_a, recipes_b = _measures_of(spec_a), _measures_of(spec_b)
    verdicts = {}
    for code in measures:
        if code not in recipes_a:
            verdicts[code] = (False, f"measure {code} is not defined in the {year_a} spec")
        elif code not in recipes_b:
            verdicts[code] = (False, f"measure {code} is not defined in the {year_b} spec")
        else:
            differs = recipe_differences(recipes_a[code], recipes_b[code])
            verdicts[code] = (not differs, "" if not differs else
                              f"measure {code} is defined differently in {year_a} and {year_b} "
                              f"({', '.join(differs)})")
    return verdicts


def year_on_year(results_a, results_b, spec_a, spec_b):
    """Change from year a to year b per measure, area, breakdown and group.

    The years' samples are independent, so se_change = sqrt(se_a^2 + se_b^2). A measure whose
    recipe (items, codes, points, filter) differs between the specs, or that is missing from a spec
    or from one year's results, gets comparable=False and a reason, and no change.
    `significance_95`/`significance_99_8`: "increase", "decrease", "no significant change".
    """
    needed = AREA_KEYS + ["area_name", "estimate", "se"]
    _require_columns(results_a, needed, "first year's results")
    _require_columns(results_b, needed, "second year's results")
    for frame, what in ((results_a, "first year's results"), (results_b, "second year's results")):
        repeated = frame[frame.duplicated(AREA_KEYS)]
        if len(repeated):
            row = repeated.iloc[0]
            raise SurveyKitError(f"{what} have more than one row for measure {row['measure']!r}, "
                                 f"{row['area_level']} {row['area_code']}, {row['breakdown']} "
                                 f"{row['group']}", column="area_code", value=row["area_code"])
    year_a, year_b = _year_of(spec_a, "year a"), _year_of(spec_b, "year b")
    if year_a == year_b:
        year_a, year_b = f"{year_a} (a)", f"{year_b} (b)"

    a = results_a[needed].rename(columns={"estimate": "estimate_a", "se": "se_a", "area_name": "name_a"})
    b = results_b[needed].rename(columns={"estimate": "estimate_b", "se": "se_b", "area_name": "name_b"})
    out = a.merge(b, on=AREA_KEYS, how="outer", validate="one_to_one", indicator=True)
    out.insert(AREA_KEYS.index("area_code") + 1, "area_name", out["name_b"].fillna(out["name_a"]))
    out = out.drop(columns=["name_a", "name_b"])
    out.insert(0, "year_a", year_a)
    out.insert(1, "year_b", year_b)

    verdicts = _comparability(out["measure"].unique(), spec_a, spec_b, year_a, year_b)
    comparable = out["measure"].map({m: v[0] for m, v in verdicts.items()}).to_numpy(bool)
    reason = out["measure"].map({m: v[1] for m, v in verdicts.items()}).to_numpy(object)
    only_a = (out["_merge"] == "left_only").to_numpy()
    only_b = (out["_merge"] == "right_only").to_numpy()
    reason = np.where(comparable & only_a, f"no {year_b} result", reason)
    reason = np.where(comparable & only_b, f"no {year_a} result", reason)
    comparable = comparable & ~only_a & ~only_b
    out = out.drop(columns="_merge")

    change = np.where(comparable, out["estimate_b"] - out["estimate_a"], np.nan)
    se_change = np.where(comparable, np.sqrt(out["se_a"] ** 2 + out["se_b"] ** 2), np.nan)
    out = _add_tests(out, change, se_change, "change", "increase", "decrease",
                     "no significant change")
    for level in LEVELS:
        column = f"significance_{level_suffix(level)}"
        out[column] = np.where(comparable, out[column], "not comparable")
    out["comparable"] = comparable
    out["reason"] = reason.astype(str)
    return out


# --------------------------------------------------------------------------------------------------
# Comparator group
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComparatorGroup:
    """A comparator group for one measure.

    `average`: two rows, "population-weighted" (the group's estimate as if pooled: sum N_c est_c /
    sum N_c) and "simple mean" (the average council), each with se and a 95% interval.
    `members`: each member's estimate, rank (1 = best), and from the simulation rank_median,
    rank_lower/rank_upper (95% interval) and prob_best.
    """

    measure: str
    average: pd.DataFrame
    members: pd.DataFrame
    draws: int
    seed: int
    higher_is_better: bool


def simulated_ranks(estimate, se, draws, seed, higher_is_better=True):
    """Ranks (1 = best) of each column in `draws` normal simulations: array (draws, k)."""
    rng = np.random.default_rng(seed)
    sims = np.asarray(estimate, float) + np.asarray(se, float) * rng.standard_normal((draws, len(estimate)))
    order = np.argsort(-sims if higher_is_better else sims, axis=1, kind="stable")
    return np.argsort(order, axis=1, kind="stable") + 1


def comparator_group(results, members, measure, draws=10000, seed=0, *, breakdown="total",
                     group="Total", higher_is_better=True):
    """Group averages and members' ranks with rank intervals simulated from N(estimate, se^2), seeded.

    Higher is better for every ASCOF survey measure; pass higher_is_better=False for a measure
    where it is not (the measure spec's polarity, when the spec carries one).
    """
    _require_columns(results, ["measure", "area_level", "area_code", "area_name", "breakdown",
                               "group", "estimate", "se", "population"], "ASCOF results")
    members = list(dict.fromkeys(str(m) for m in members))
    if len(members) < 2:
        raise SurveyKitError("a comparator group needs at least two councils")
    rows = results[(results["area_level"] == "council") & (results["measure"] == measure)
                   & (results["breakdown"] == breakdown) & (results["group"] == group)]
    rows = rows.drop_duplicates("area_code").set_index("area_code")
    missing = [m for m in members if m not in rows.index]
    if missing:
        raise SurveyKitError(f"council {missing[0]!r} has no {measure} result ({breakdown} {group})",
                             column="area_code", value=missing[0])
    rows = rows.loc[members]
    unusable = rows.index[~(np.isfinite(rows["estimate"]) & np.isfinite(rows["se"]))]
    if len(unusable):
        raise SurveyKitError(f"council {unusable[0]!r} has no {measure} estimate or standard error "
                             "to rank", column="se", value=unusable[0])

    estimate = rows["estimate"].to_numpy(float)
    se = rows["se"].to_numpy(float)
    population = rows["population"].to_numpy(float)
    share = population / population.sum()
    crit = critical_value(0.95)
    averages = pd.DataFrame({
        "average": ["population-weighted", "simple mean"],
        "estimate": [np.sum(share * estimate), estimate.mean()],
        "se": [np.sqrt(np.sum(share ** 2 * se ** 2)), np.sqrt(np.sum(se ** 2)) / len(se)],
        "councils": len(members),
    })
    averages["ci_lower"] = averages["estimate"] - crit * averages["se"]
    averages["ci_upper"] = averages["estimate"] + crit * averages["se"]

    ranks = simulated_ranks(estimate, se, draws, seed, higher_is_better)
    point = pd.Series(estimate).rank(ascending=not higher_is_better, method="min").to_numpy(int)
    table = pd.DataFrame({
        "area_code": members,
        "area_name": rows["area_name"].to_numpy(),
        "estimate": estimate,
        "se": se,
        "rank": point,
        "rank_median": np.quantile(ranks, 0.5, axis=0, method="inverted_cdf").astype(int),
        "rank_lower": np.quantile(ranks, 0.025, axis=0, method="inverted_cdf").astype(int),
        "rank_upper": np.quantile(ranks, 0.975, axis=0, method="inverted_cdf").astype(int),
        "prob_best": (ranks == 1).mean(axis=0),
    })
    return ComparatorGroup(measure=measure, average=averages, members=table, draws=draws,
                           seed=seed, higher_is_better=higher_is_better)
