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
# NHS Digital's breakdown variance counts as silent when it is below this share of the group's sum of
# squared linearised values (its scale); centred sums leave at most ~1e-30 there by rounding
_SILENT = 1e-24
# Relative distance below which two values are the same number up to rounding (a few ulps)
_ROUNDING = 4 * np.finfo(float).eps
_NHS_SILENT = "NHS breakdown variance is 0 although answers differ ({}); the domain variance is used"
NOTE_NHS_SINGLE = _NHS_SILENT.format("each group-stratum cell has one respondent")
NOTE_NHS_AGREE = _NHS_SILENT.format("the answers within each group-stratum cell are all the same")
NOTE_NHS_BOTH = _NHS_SILENT.format("each group-stratum cell has one respondent or answers all the same")


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
    "adjust" is R survey 4.4-1 and later (4.5): the lonely stratum's total is centred on the mean
    PSU total of the strata the domain touches; survey 4.1.1 centred it on 0, which differs for
    totals only.
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
        lower, upper, ci_note = ci_methods.interval(stats.estimate[keep], stats.se[keep],
                                                    stats.df[keep], stats.n[keep], ci, level)
        out = {}
        if many:
            out["variable"] = np.asarray(names, dtype=object)[keep // n_domains]
        for col in by_cols:
            out[col] = labels[col].to_numpy()[keep % n_domains]
        out.update(estimate=stats.estimate[keep], se=stats.se[keep], ci_lower=lower,
                   ci_upper=upper, n=stats.n[keep].astype(np.int64),
                   population=stats.population[keep], df=stats.df[keep].astype(np.int64),
                   deff=stats.deff[keep], n_eff=stats.n_eff[keep],
                   note=ci_methods.join_notes(stats.note[keep], ci_note))
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

    Rows are summed once into cells (variable x domain x stratum); everything after that works on
    cells, not rows. The variance of a domain is, as R's onestrat computes it,
        sum over strata h of f_h * m_h / (m_h - 1) * sum_i (z_i - zbar_h)^2,
    with z_i = w_i * u_i / X the linearised value (zero outside the domain), m_h the stratum's
    respondents to the variable, f_h = 1 - m_h / N_h and linearised values u = y - R (mean),
    y - R x (ratio), y (total). A domain's rows in stratum h are one cell c, so with
    A_c = sum_c z and Q_c = sum_c (z - A_c/m_c)^2 that stratum's sum of squares is
        Q_c + A_c^2 (1/m_c - 1/m_h),
    a sum of two terms that are never negative. Q_c is summed about the cell's own mean (a second
    pass over the rows), and A_c is the cell's weight times its mean's distance from the domain's
    estimate, which for a mean is itself taken about one of the domain's own cell means. Values
    within a few units of rounding of each other count as equal, so a cell whose answers agree has
    Q_c = 0 exactly and a domain whose answers all agree has a variance of exactly 0, where
    B - A^2/m (sums of squares minus squared sums) would leave rounding error behind.
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
        ratio = kind == "ratio"

        def by_cell(values=None):
            return np.bincount(cell, values, minlength=n_cells).astype(float)

        count = by_cell()
        m_s = np.bincount(s_c, count, minlength=n_vars * H)
        if design._population is not None:
            f_s = 1 - m_s / np.tile(design._population, n_vars)
        else:
            f_s = np.ones(n_vars * H)
        occupied = count > 0
        used = np.flatnonzero(occupied & (d_c < D))
        g, s = g_c[used], s_c[used]

        def by_group(values):
            return np.bincount(g, values[used], minlength=n_groups)

        with np.errstate(divide="ignore", invalid="ignore"):
            if design._weights is None:  # N_h / m_h: one weight per cell
                w_c = np.where(occupied, np.tile(design._population, n_vars)[s_c] / m_s[s_c], 0.0)
                w = None
                Sw = w_c * count
                ybar = np.where(occupied, by_cell(y) / count, 0.0)
                xbar = np.where(occupied, by_cell(x) / count, 0.0) if ratio else None
                nonzero = count
            else:
                w = design._weights[rows]
                Sw = by_cell(w)
                ybar = np.where(Sw > 0, by_cell(w * y) / Sw, 0.0)
                xbar = np.where(Sw > 0, by_cell(w * x) / Sw, 0.0) if ratio else None
                nonzero = by_cell(w != 0)
            W = by_group(Sw)

            # the estimate, and the distance u_c of each cell mean from it (of u = y - R x)
            if kind == "total":
                estimate = by_group(Sw * ybar)
                X = np.ones(n_groups)
                u_c = ybar
            elif ratio:
                X = by_group(Sw * xbar)
                estimate = by_group(Sw * ybar) / X
                u_c = ybar - estimate[g_c] * xbar
            else:  # the mean, taken about one of the domain's own cell means
                ref = np.zeros(n_groups)
                ref[g] = ybar[used]
                gap = ybar - ref[g_c]
                # cell means within rounding of each other are equal: a domain whose answers all
                # agree gets exactly its answer as the estimate, and exactly 0 as every u_c
                gap[np.abs(gap) <= _ROUNDING * np.maximum(np.abs(ybar), np.abs(ref[g_c]))] = 0.0
                shift = by_group(Sw * gap) / W
                estimate = ref + shift
                X = W
                u_c = gap - shift[g_c]

            # second pass over the rows: deviations from the cell mean, in place
            dev = ybar.take(cell)
            np.subtract(y, dev, out=dev)
            scale = np.abs(ybar)
            if ratio:
                R_c = estimate[g_c]
                dev -= R_c.take(cell) * (x - xbar.take(cell))
                scale = scale + np.abs(R_c * xbar)
            if w is None:
                np.multiply(dev, dev, out=dev)
                Q_dev = by_cell(dev)
            else:
                Q_dev = by_cell(dev * dev)
            # a cell whose deviations are all within rounding of its mean has answers that agree
            agree = Q_dev <= count * (_ROUNDING * scale) ** 2
            rounded = agree & (Q_dev > 0)  # agreeing cells whose deviations rounding left nonzero
            Q_dev[agree] = 0.0
            Xc = X[g_c]
            A_u = Sw * u_c  # sum over the cell of w u
            u_mean = by_group(A_u) / W
            if w is None:
                A = A_u / Xc
                Q = w_c * w_c * Q_dev / (Xc * Xc)
                S_uu = by_group(w_c * Q_dev + Sw * (u_c - u_mean[g_c]) ** 2)
            else:  # weights vary within a cell, so z = w u / X is summed row by row
                if rounded.any():
                    dev = np.where(rounded.take(cell), 0.0, dev)
                u = dev + u_c.take(cell)
                t = w * u
                T = by_cell(t)
                t_dev = t - np.where(occupied, T / count, 0.0).take(cell)
                A = T / Xc
                Q = by_cell(t_dev * t_dev) / (Xc * Xc)
                spread = u - u_mean[g_c].take(cell)
                S_uu = by_group(by_cell(w * spread * spread))

        m_h, m_cell, f = m_s[s_c], count, f_s[s_c]
        census = f < _CENSUS_FPC
        lonely = (m_h == 1) & ~census
        if lonely[used].any() and design.lonely == "fail":
            h = s[np.flatnonzero(lonely[used])[0]] % H
            raise SurveyKitError(
                f"stratum {design._stratum_name(h)} has only one respondent "
                f"for this variable; choose lonely='certainty', 'remove', 'adjust' or 'average'")
        with np.errstate(divide="ignore", invalid="ignore"):
            domain = f * m_h / (m_h - 1) * (Q + A * A * (m_h - m_cell) / (m_cell * m_h))
            if design.lonely == "adjust":
                # R survey >= 4.4-1: a lonely stratum is centred on the mean PSU total of the
                # strata the domain touches (onestage's "recentering"), 0 for means and ratios
                centre = by_group(A) / by_group(m_h)
                lonely_value = f * (A - centre[g_c]) ** 2
            elif design.lonely == "average":
                lonely_value = np.nan
            else:  # certainty, remove: the stratum adds nothing
                lonely_value = 0.0
            domain = np.where(census, 0.0, np.where(lonely, lonely_value, domain))
            var = by_group(np.nan_to_num(domain, nan=0.0))
            if design.lonely == "average":
                var = var * by_group(np.ones(n_cells)) / by_group(~np.isnan(domain))
        note = np.full(n_groups, "", dtype=object)
        if variance == "nhs":
            var, note = self._nhs(var, f, m_cell, Q, A, census, by_group)

        n = by_group(count)
        n_used = by_group(nonzero)
        df = n_used - by_group(nonzero > 0)
        # design effect against SRS without replacement of the same n (R's deff=TRUE):
        # v_srs = S^2(u) * W^2 * (1 - n/W) / n, S^2 the weighted variance of u with n/(n-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = S_uu / (X * X) / W * n_used / (n_used - 1)
            v_srs = s2 * W * W * (1 - n_used / W) / n_used
            deff = np.where(W < n_used, np.nan, var / v_srs)
            unit_variance = S_uu / (X * X) * W  # of the linearised values, divisor W: p(1-p)

        def reported(values):  # drop the outside-every-domain group
            return np.asarray(values).reshape(n_vars, D + 1)[:, :D].ravel()

        self.n = reported(n).astype(float)
        self.estimate = np.where(self.n > 0, reported(estimate).astype(float), np.nan)
        self.se = np.sqrt(reported(var).astype(float))
        self.df = reported(df).astype(float)
        self.population = reported(W).astype(float)
        self.deff = reported(deff).astype(float)
        self.note = reported(note)
        # the toolkit's one effective sample size: the one the beta and Wilson intervals use
        self.n_eff = ci_methods.effective_sample_size(
            self.estimate, self.se, self.n,
            unit_variance=None if kind == "proportion" else reported(unit_variance).astype(float))

    @staticmethod
    def _nhs(domain_var, f, m_cell, Q, A, census, by_group):
        """NHS Digital's breakdown variance, and the domain variance where it says nothing.

        NHS Digital treat each stratum x domain cell as a stratum of population N_h * m_cell / m_h
        (same sampling fraction), so a one-respondent cell adds nothing and a cell whose answers
        agree adds nothing. A group made only of such cells gets a variance of 0 however much its
        answers differ between cells; publishing "± 0" would mislead, so there the domain variance is
        used and the note says which case it was. "0" is judged against the size of the group's
        linearised values (sum of z^2), not by == 0.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            nhs_cell = np.where(m_cell > 1, f * m_cell / (m_cell - 1) * Q, 0.0)
        nhs_cell = np.where(census, 0.0, nhs_cell)
        var = by_group(nhs_cell)
        tolerance = _SILENT * by_group(Q + A * A / np.maximum(m_cell, 1))
        silent = (var <= tolerance) & (domain_var > tolerance)
        single = by_group(((m_cell == 1) & ~census).astype(float)) > 0
        agreeing = by_group(((m_cell > 1) & ~census).astype(float)) > 0
        note = np.full(var.shape, "", dtype=object)
        note[silent & single & ~agreeing] = NOTE_NHS_SINGLE
        note[silent & agreeing & ~single] = NOTE_NHS_AGREE
        note[silent & single & agreeing] = NOTE_NHS_BOTH
        return np.where(silent, domain_var, var), note
