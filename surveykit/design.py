"""`SurveyDesign`: estimates from a stratified single-stage sample, matching R `survey`.

The design is `svydesign(ids=~1, strata=~strata, fpc=~population)`. NHS Digital weight every
variable on its own respondents (per-item weighting): the design for variable v is the design
restricted to the rows that answered v, so weights are N_h / m_h with m_h the rows in stratum h
that answered v. Domains (`by=`) use the domain estimator, as R `svyby` does: out-of-domain rows
stay in their strata as zeros.

Everything is computed from per-(variable, domain, stratum) sums with `np.bincount`, so many
variables and many domains cost one pass over the rows, never a Python loop per group.
"""

import numpy as np
import pandas as pd

from surveykit import ci as ci_methods
from surveykit.errors import SurveyKitError

LONELY = ("fail", "certainty", "remove", "adjust", "average")
VARIANCES = ("domain", "nhs")
# R survey's onestrat treats a stratum with sampling fraction complement below this as a census
_CENSUS_FPC = 1e-7


def _as_list(columns):
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return list(columns)


class SurveyDesign:
    """A stratified single-stage sample with finite population correction.

    data: one row per respondent. strata: column name(s) that together define a stratum
    (e.g. ["council", "stratum"]). population: column holding the stratum's eligible population
    N_h; weights then default to N_h / m_h per variable. weights: column of explicit weights
    (no fpc unless population is also given). lonely: what a stratum with one respondent
    contributes to the variance, as R's options(survey.lonely.psu=): "fail", "certainty",
    "remove", "adjust" or "average" (survey.adjust.domain.lonely is R's default, FALSE).
    """

    def __init__(self, data, strata, population=None, weights=None, lonely="fail"):
        if not isinstance(data, pd.DataFrame):
            raise SurveyKitError("SurveyDesign needs a pandas DataFrame of respondents")
        if lonely not in LONELY:
            raise SurveyKitError(f"lonely must be one of {', '.join(LONELY)}, not {lonely!r}")
        self.strata = _as_list(strata)
        if not self.strata:
            raise SurveyKitError("SurveyDesign needs at least one strata column")
        if population is None and weights is None:
            raise SurveyKitError("SurveyDesign needs population= (N_h column) or weights=")
        self._check_columns(data, self.strata + _as_list(population) + _as_list(weights))
        self.data = data.copy(deep=False)  # a snapshot under copy-on-write, at no cost
        self.population_column = population
        self.weights_column = weights
        self.lonely = lonely

        for col in self.strata:
            missing = data[col].isna().to_numpy()
            if missing.any():
                raise SurveyKitError("stratum is missing", row=data.index[missing.argmax()],
                                     column=col)
        grouped = data.groupby(self.strata, sort=True)
        self._stratum = grouped.ngroup().to_numpy(dtype=np.int64)
        self.strata_table = grouped.size().index.to_frame(index=False)
        self._n_strata = len(self.strata_table)
        self._rows_per_stratum = np.bincount(self._stratum, minlength=self._n_strata)
        self._population = None if population is None else self._stratum_population(population)
        self._weights = None if weights is None else self._row_weights(weights)
        self._domain_cache = {}
        self._column_cache = {}
        self._answer_cache = {}

    # ---- validation ------------------------------------------------------------------------
    @staticmethod
    def _check_columns(data, columns):
        for col in columns:
            if col not in data.columns:
                raise SurveyKitError("column not found in the data", column=col)

    def _stratum_name(self, h):
        return ", ".join(f"{c}={v}" for c, v in zip(self.strata, self.strata_table.iloc[h]))

    def _numeric(self, column):
        series = self.data[column]
        if pd.api.types.is_bool_dtype(series):
            return series.to_numpy(dtype=float, na_value=np.nan)
        values = pd.to_numeric(series, errors="coerce")
        bad = values.isna().to_numpy() & series.notna().to_numpy()
        if bad.any():
            i = bad.argmax()
            raise SurveyKitError("value is not a number", row=self.data.index[i], column=column,
                                 value=series.iloc[i])
        return values.to_numpy(dtype=float, na_value=np.nan)

    def _stratum_population(self, column):
        values = self._numeric(column)
        bad = ~np.isfinite(values) | (values <= 0)
        if bad.any():
            i = bad.argmax()
            raise SurveyKitError("population must be a positive number", row=self.data.index[i],
                                 column=column, value=values[i])
        low = np.full(self._n_strata, np.inf)
        high = np.full(self._n_strata, -np.inf)
        np.minimum.at(low, self._stratum, values)
        np.maximum.at(high, self._stratum, values)
        varying = np.flatnonzero(low != high)
        if varying.size:
            h = varying[0]
            raise SurveyKitError(
                f"population varies within stratum {self._stratum_name(h)} "
                f"({low[h]:g} to {high[h]:g}); it must be constant", column=column)
        short = np.flatnonzero(low < self._rows_per_stratum)
        if short.size:
            h = short[0]
            raise SurveyKitError(
                f"population {low[h]:g} is below the sample size {self._rows_per_stratum[h]} "
                f"in stratum {self._stratum_name(h)}", column=column)
        return low

    def _row_weights(self, column):
        values = self._numeric(column)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            i = bad.argmax()
            what = "missing" if np.isnan(values[i]) else "negative or infinite"
            raise SurveyKitError(
                f"weight is {what} (stratum {self._stratum_name(self._stratum[i])})",
                row=self.data.index[i], column=column, value=values[i])
        return values

    # ---- domains ---------------------------------------------------------------------------
    def _column_codes(self, column):
        """Integer code per row (-1 where missing) and the sorted distinct values, cached."""
        if column not in self._column_cache:
            codes, uniques = pd.factorize(self.data[column], sort=True, use_na_sentinel=True)
            self._column_cache[column] = (codes.astype(np.int64), uniques)
        return self._column_cache[column]

    def _domains(self, by):
        """Domains of `by` and their cells (stratum x domain), cached per `by`.

        Returns (labels, cell per row, domain per cell, stratum per cell). Rows whose `by` value
        is missing belong to an extra domain, numbered len(labels), that is never reported: they
        still count in their stratum, as rows outside every domain do in R.
        """
        by = _as_list(by)
        key = tuple(by)
        if key not in self._domain_cache:
            self._check_columns(self.data, by)
            combined = np.zeros(len(self.data), dtype=np.int64)
            missing = np.zeros(len(self.data), dtype=bool)
            for col in by:  # mixed-radix code of the by values; sorts as groupby(sort=True)
                col_codes, uniques = self._column_codes(col)
                combined = combined * len(uniques) + col_codes
                missing |= col_codes < 0
            combined[missing] = -1
            codes, keys = pd.factorize(combined, sort=True)
            if missing.any():  # -1 sorts first: make it the last, unreported domain
                codes = np.where(missing, len(keys) - 1, codes - 1)
                keys = keys[1:]
            labels = pd.DataFrame(index=range(len(keys)))
            for col in reversed(by):
                keys, position = np.divmod(keys, len(self._column_codes(col)[1]))
                labels.insert(0, col, self._column_codes(col)[1].take(position))
            H = self._n_strata
            cell, cell_keys = pd.factorize(codes.astype(np.int64) * H + self._stratum)
            self._domain_cache[key] = (labels, cell.astype(np.int64), cell_keys // H,
                                       cell_keys % H)
        return self._domain_cache[key]

    # ---- public estimators -----------------------------------------------------------------
    def weights(self, var):
        """Each row's weight for `var`, NaN where the row did not answer it: N_h / m_h with m_h the
        rows of stratum h answering `var` (per-item weights), or the given weights."""
        self._check_columns(self.data, [var])
        answered = ~np.isnan(self._numeric(var))
        if self._population is None:
            weight = self._weights
        else:
            m = np.bincount(self._stratum[answered], minlength=self._n_strata)
            with np.errstate(divide="ignore"):
                weight = (self._population / m)[self._stratum]
        return pd.Series(np.where(answered, weight, np.nan), index=self.data.index, name=var)

    def mean(self, var, by=None, ci="wald", level=0.95, variance="domain"):
        """Weighted mean of `var` (a column or a list of columns) per domain of `by`."""
        return self._estimate("mean", var, None, by, ci, level, variance)

    def proportion(self, var, by=None, ci="wald", level=0.95, variance="domain"):
        """Proportion of 1s in a 0/1 or boolean `var`; allows the proportion CI methods."""
        return self._estimate("proportion", var, None, by, ci, level, variance)

    def total(self, var, by=None, ci="wald", level=0.95, variance="domain"):
        """Estimated population total of `var` per domain of `by`."""
        return self._estimate("total", var, None, by, ci, level, variance)

    def ratio(self, num, den, by=None, ci="wald", level=0.95, variance="domain"):
        """Ratio of totals sum(w*num)/sum(w*den) on rows answering both (R svyratio)."""
        return self._estimate("ratio", num, den, by, ci, level, variance)

    # ---- the engine ------------------------------------------------------------------------
    def _estimate(self, kind, var, den, by, ci, level, variance):
        ci_methods.check_method(ci, proportion=(kind == "proportion"))
        if variance not in VARIANCES:
            raise SurveyKitError(f"variance must be one of {', '.join(VARIANCES)}, not {variance!r}")
        many = not isinstance(var, str)
        numerators = _as_list(var)
        if not numerators:
            raise SurveyKitError("name at least one variable to estimate")
        denominators = _as_list(den) if kind == "ratio" else [None] * len(numerators)
        if len(denominators) != len(numerators):
            raise SurveyKitError("ratio needs one denominator per numerator")
        self._check_columns(self.data, [c for c in numerators + denominators if c is not None])
        labels, cell_of_row, cell_domain, cell_stratum = self._domains(by)
        by_cols = _as_list(by)
        n_domains = len(labels)
        names = [n if d is None else f"{n}/{d}" for n, d in zip(numerators, denominators)]

        rows, vi, y, x = self._stack(kind, numerators, denominators)
        stats = _Stats(self, kind, rows, vi, y, x, (cell_of_row, cell_domain, cell_stratum),
                       n_domains, len(names), variance)

        keep = np.flatnonzero(stats.n > 0)
        lower, upper, note = ci_methods.interval(stats.estimate[keep], stats.se[keep],
                                                 stats.df[keep], stats.n[keep], ci, level)
        out = {}
        if many:
            out["variable"] = np.asarray(names, dtype=object)[keep // n_domains]
        for col in by_cols:
            out[col] = labels[col].to_numpy()[keep % n_domains]
        with np.errstate(divide="ignore", invalid="ignore"):  # deff 0 (no variance): n_eff is inf
            n_eff = stats.n[keep] / stats.deff[keep]
        out.update(estimate=stats.estimate[keep], se=stats.se[keep], ci_lower=lower,
                   ci_upper=upper, n=stats.n[keep].astype(np.int64),
                   population=stats.population[keep], df=stats.df[keep].astype(np.int64),
                   deff=stats.deff[keep], n_eff=n_eff, note=note)
        return pd.DataFrame(out)

    def _stack(self, kind, numerators, denominators):
        """Answering rows of every variable, one after another: (rows, variable index, y, x)."""
        parts = [self._answers(num, den, kind == "proportion")
                 for num, den in zip(numerators, denominators)]
        rows = np.concatenate([p[0] for p in parts])
        vi = np.repeat(np.arange(len(parts)), [p[0].size for p in parts])
        y = np.concatenate([p[1] for p in parts])
        x = np.concatenate([p[2] for p in parts]) if kind == "ratio" else None
        return rows, vi, y, x

    def _answers(self, num, den, binary):
        """(rows answering, their y, their x) for a variable, cached: the design's data is a
        snapshot, so repeated calls over the same measures convert each column once."""
        key = (num, den, binary)
        if key not in self._answer_cache:
            y = self._numeric(num)
            if binary:
                bad = ~np.isnan(y) & (y != 0) & (y != 1)
                if bad.any():
                    j = bad.argmax()
                    raise SurveyKitError("a proportion needs 0/1 or boolean values",
                                         row=self.data.index[j], column=num, value=y[j])
            answered = ~np.isnan(y)
            x = None
            if den is not None:
                x = self._numeric(den)
                answered &= ~np.isnan(x)
            rows = np.flatnonzero(answered)
            self._answer_cache[key] = (rows, y[rows], None if x is None else x[rows])
        return self._answer_cache[key]


class _Stats:
    """Estimates, variances, df and design effects for every (variable, domain) at once.

    Rows are summed once into cells (variable x domain x stratum): counts and weighted sums of
    y, x, their squares and cross-products. Everything after that works on cells, not rows.
    The variance of a domain is, as R's onestrat computes it,
        sum over strata h of f_h * m_h / (m_h - 1) * sum_i (z_i - zbar_h)^2,
    with z_i = w_i * u_i the linearised value (zero outside the domain), m_h the stratum's
    respondents to the variable and f_h = 1 - m_h / N_h; per cell that is
    f_h m_h/(m_h-1) (B - A^2/m_h) with A = sum z and B = sum z^2 over the cell's rows.
    Linearised values: mean u = (y - R)/W, ratio u = (y - R x)/X, total u = y.
    """

    def __init__(self, design, kind, rows, vi, y, x, cells, n_domains, n_vars, variance):
        cell_of_row, cell_domain, cell_stratum = cells
        H, D, K = design._n_strata, n_domains, len(cell_domain)
        n_cells, n_groups = n_vars * K, n_vars * (D + 1)  # domain D = rows outside every domain
        v_c = np.repeat(np.arange(n_vars), K)
        d_c = np.tile(cell_domain, n_vars)
        s_c = v_c * H + np.tile(cell_stratum, n_vars)
        g_c = v_c * (D + 1) + d_c
        cell = vi * K + cell_of_row[rows]

        shift = np.zeros(n_vars)
        if kind in ("mean", "proportion"):
            # the mean moves with a shift of y and its variance does not; centring each variable
            # keeps the sums of squares below free of cancellation
            shift = np.bincount(vi, y, minlength=n_vars) / np.maximum(
                np.bincount(vi, minlength=n_vars), 1)
            y = y - shift[vi]

        def by_cell(values=None):
            return np.bincount(cell, values, minlength=n_cells).astype(float)

        count = by_cell()
        m_s = np.bincount(s_c, count, minlength=n_vars * H)
        if design._population is not None:
            f_s = 1 - m_s / np.tile(design._population, n_vars)
        else:
            f_s = np.ones(n_vars * H)
        if design._weights is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                wc = np.tile(design._population, n_vars)[s_c] / m_s[s_c]
            wc = np.where(count > 0, wc, 0.0)
            wc2 = wc * wc
            Sy, Syy = by_cell(y), by_cell(y * y)
            Sw, Swy, Swy2 = wc * count, wc * Sy, wc * Syy
            Sw2, Sw2y, Sw2y2 = wc2 * count, wc2 * Sy, wc2 * Syy
            nonzero = count
            if kind == "ratio":
                Sx, Sxx, Sxy = by_cell(x), by_cell(x * x), by_cell(x * y)
                Swx, Swx2, Swxy = wc * Sx, wc * Sxx, wc * Sxy
                Sw2x2, Sw2xy = wc2 * Sxx, wc2 * Sxy
        else:
            w = design._weights[rows]
            w2 = w * w
            Sw, Swy, Swy2 = by_cell(w), by_cell(w * y), by_cell(w * y * y)
            Sw2, Sw2y, Sw2y2 = by_cell(w2), by_cell(w2 * y), by_cell(w2 * y * y)
            nonzero = by_cell(w != 0)
            if kind == "ratio":
                Swx, Swx2, Swxy = by_cell(w * x), by_cell(w * x * x), by_cell(w * x * y)
                Sw2x2, Sw2xy = by_cell(w2 * x * x), by_cell(w2 * x * y)
        if kind in ("mean", "proportion"):  # a ratio with x = 1
            Swx, Swx2, Swxy, Sw2x2, Sw2xy = Sw, Sw, Swy, Sw2, Sw2y

        used = np.flatnonzero((count > 0) & (d_c < D))
        g, s = g_c[used], s_c[used]

        def by_group(values):
            return np.bincount(g, values, minlength=n_groups)

        W = by_group(Sw[used])
        Y = by_group(Swy[used])
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "total":
                estimate = Y
                A, B, Wuu = Swy[used], Sw2y2[used], Swy2[used]
            else:
                X = by_group(Swx[used])
                estimate = Y / X
                R, Xc = estimate[g], X[g]
                A = (Swy[used] - R * Swx[used]) / Xc
                B = (Sw2y2[used] - 2 * R * Sw2xy[used] + R * R * Sw2x2[used]) / (Xc * Xc)
                Wuu = (Swy2[used] - 2 * R * Swxy[used] + R * R * Swx2[used]) / (Xc * Xc)

        m_h, m_cell, f = m_s[s], count[used], f_s[s]
        census = f < _CENSUS_FPC
        lonely = (m_h == 1) & ~census
        if lonely.any() and design.lonely == "fail":
            h = s[np.flatnonzero(lonely)[0]] % H
            raise SurveyKitError(
                f"stratum {design._stratum_name(h)} has only one respondent "
                f"for this variable; choose lonely='certainty', 'remove', 'adjust' or 'average'")
        with np.errstate(divide="ignore", invalid="ignore"):
            if variance == "nhs":
                # NHS Digital: each stratum x domain cell is a stratum of population
                # N_h * m_cell / m_h (same sampling fraction); one-respondent cells add nothing
                spread = np.maximum(B - A * A / m_cell, 0)
                contrib = np.where(m_cell > 1, f * m_cell / (m_cell - 1) * spread, 0.0)
            else:
                spread = np.maximum(B - A * A / m_h, 0)
                contrib = f * m_h / (m_h - 1) * spread
                if design.lonely == "adjust":
                    lonely_value = f * B  # centred on the estimate, not the stratum mean
                elif design.lonely == "average":
                    lonely_value = np.nan
                else:  # certainty, remove: the stratum adds nothing
                    lonely_value = 0.0
                contrib = np.where(lonely, lonely_value, contrib)
            contrib = np.where(census, 0.0, contrib)
        var = by_group(np.nan_to_num(contrib, nan=0.0))
        if variance == "domain" and design.lonely == "average":
            with np.errstate(divide="ignore", invalid="ignore"):
                var = var * by_group(np.ones(g.size)) / by_group(~np.isnan(contrib))

        n = by_group(count[used])
        n_used = by_group(nonzero[used])
        df = n_used - by_group(nonzero[used] > 0)
        # design effect against SRS without replacement of the same n (R's deff=TRUE):
        # v_srs = S^2(u) * W^2 * (1 - n/W) / n, S^2 the weighted variance of u with n/(n-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            Zsum = by_group(A)
            s2 = (by_group(Wuu) - Zsum * Zsum / W) / W * n_used / (n_used - 1)
            v_srs = s2 * W * W * (1 - n_used / W) / n_used
            deff = np.where(W < n_used, np.nan, var / v_srs)
        if kind in ("mean", "proportion"):
            estimate = estimate + np.repeat(shift, D + 1)

        def reported(values):  # drop the outside-every-domain group
            return np.asarray(values, dtype=float).reshape(n_vars, D + 1)[:, :D].ravel()

        self.n = reported(n)
        self.estimate = np.where(self.n > 0, reported(estimate), np.nan)
        self.se = np.sqrt(reported(var))
        self.df = reported(df)
        self.population = reported(W)
        self.deff = reported(deff)
