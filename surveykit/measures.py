"""Per-respondent ASCOF scores, driven only by the measure recipes in the questionnaire spec.

`score` turns validated responses into one float column per measure: 1/0 for proportions (NaN when
the respondent is out of the denominator or did not answer), the score for score/adjusted measures
(NaN unless every input is answered). Estimation (weighting, means, intervals) happens elsewhere; a
respondent's score does not depend on anyone else's.

Every code -> value lookup of every requested measure is done in one numpy gather over an
(rows x lookups) array, so the cost is one pass over the data whatever the number of measures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.questionnaire import MeasureSpec, Questionnaire, conditions_mask


def measure_info(spec: Questionnaire) -> pd.DataFrame:
    """One row per measure: code, name, description, kind, unit, code_set, then its code in each
    framework of `spec.code_sets` (None where that framework has no code for it)."""
    rows = []
    for m in spec.measures.values():
        row = {"code": m.code, "name": m.name, "description": m.description, "kind": m.kind,
               "unit": m.unit, "code_set": m.code_set}
        for framework in spec.code_sets:
            row[framework] = spec.measure_code(m.code, framework) if m.code_set is not None else None
        rows.append(row)
    return pd.DataFrame(rows)


def shown_codes(spec: Questionnaire, results: pd.DataFrame) -> dict[str, str]:
    """How each measure with results is named in tables and figures: its own code, or, where the results
    carry ``framework_code`` (a run with --framework), its code in that framework; a measure with no code
    there keeps its own marked with its code set ("3A (ascof-2022-23)"), so it is never taken for the
    framework's measure of that code, and two measures never share a name."""
    present = set(results["measure"].astype("str"))
    framework = {}
    if "framework_code" in results.columns:
        pairs = results[["measure", "framework_code"]].drop_duplicates("measure")
        framework = dict(zip(pairs["measure"].astype("str"), pairs["framework_code"].fillna("").astype("str")))
    out: dict[str, str] = {}
    for code, m in spec.measures.items():
        if code not in present:
            continue
        shown = framework.get(code, code)
        if shown in ("", "nan"):
            shown = f"{code} ({m.code_set})" if m.code_set else code
        if shown.casefold() in {v.casefold() for v in out.values()}:
            shown = f"{shown} ({code})"
        out[code] = shown
    return out


def score(df: pd.DataFrame, spec: Questionnaire, measures=None) -> pd.DataFrame:
    """Per-respondent scores (index of `df`, one float64 column per measure code, in spec order).

    `df` is validated data: canonical column names, missing codes already NaN. Combined easy-read
    columns are made with `spec.combine_easy_read` when absent. `measures` picks codes (default: all).
    """
    chosen = _choose(spec, measures)
    needed = list(dict.fromkeys(c for m in chosen for c in m.columns))
    if any(c in spec.combined_names and c not in df.columns for c in needed):
        df = spec.combine_easy_read(df)
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise SurveyKitError(f"column {missing[0]!r} is needed for the measures but is not in the data",
                             column=missing[0], file=spec.source)

    plan = _Lookups(spec)
    recipes = [(m, _plan(m, spec, plan)) for m in chosen]
    values = plan.gather(df)
    out = {m.code: assemble(values, df) for m, assemble in recipes}
    return pd.DataFrame(out, index=df.index, dtype="float64")


# ---------------------------------------------------------------------------------------------- plan

class _Lookups:
    """Collects (column, {code: value}) lookups, then applies them all in one vectorised gather."""

    def __init__(self, spec: Questionnaire):
        self.spec = spec
        self.requests: list[tuple[str, dict[int, float]]] = []

    def add(self, column: str, table: dict[int, float]) -> int:
        self.requests.append((column, table))
        return len(self.requests) - 1

    def gather(self, df: pd.DataFrame) -> np.ndarray:
        if not self.requests:
            return np.empty((len(df), 0))
        columns = [c for c, _ in self.requests]
        x = np.column_stack([pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                             for c in dict.fromkeys(columns)])
        position = {c: i for i, c in enumerate(dict.fromkeys(columns))}
        x = x[:, [position[c] for c in columns]]
        all_codes = [code for _, t in self.requests for code in t]
        lo, hi = min(all_codes), max(all_codes)
        table = np.full((len(self.requests), hi - lo + 1), np.nan)
        for j, (_, t) in enumerate(self.requests):
            table[j, np.array(list(t)) - lo] = list(t.values())
        with np.errstate(invalid="ignore"):
            offset = x - lo
            ok = np.isfinite(x) & (x == np.round(x)) & (offset >= 0) & (offset <= hi - lo)
        index = np.where(ok, offset, 0).astype(np.int64)
        return np.where(ok, table[np.arange(len(self.requests))[None, :], index], np.nan)


def _plan(m: MeasureSpec, spec: Questionnaire, plan: _Lookups):
    """Register the lookups `m` needs; return a function (gathered values, df) -> per-row scores."""
    if m.kind == "proportion":
        valid = spec.codes_of(m.item) or {}
        outcome = {c: (1.0 if c in m.success else 0.0) for c in valid if c not in m.exclude}
        j = plan.add(m.item, outcome)
        core = lambda v, df: v[:, j]  # noqa: E731
    else:
        current = [plan.add(item, m.points[item]) for item in m.items]

        def core(v, df, current=current):
            return m.multiplier * v[:, current].sum(axis=1) + m.constant   # NaN unless all answered

        if m.kind == "adjusted":
            core = _plan_adjusted(m, spec, plan, core)
    if not m.filter:
        return core
    return lambda v, df: np.where(conditions_mask(df, m.filter), core(v, df), np.nan)


def _plan_adjusted(m: MeasureSpec, spec: Questionnaire, plan: _Lookups, current):
    """current − expected, where expected = constant + Σ coefficient·Σ(code − offset) + item effects
    + conditional effects; NaN unless every input is answered."""
    e = m.expected
    sums = [(coef, [plan.add(it, {c: c - offset for c in spec.codes_of(it)}) for it in items])
            for coef, offset, items in e.sums]
    effects = [plan.add(it, table) for it, table in e.item_effects.items()]

    def adjusted(v, df):
        expected = np.full(len(df), e.constant)
        for coef, cols in sums:
            expected = expected + coef * v[:, cols].sum(axis=1)
        if effects:
            expected = expected + v[:, effects].sum(axis=1)
        for when, effect in e.effects:
            answered = np.logical_and.reduce(
                [pd.to_numeric(df[c.column], errors="coerce").notna().to_numpy() for c in when])
            expected = expected + np.where(answered, np.where(conditions_mask(df, when), effect, 0.0), np.nan)
        return current(v, df) - expected

    return adjusted


def _choose(spec: Questionnaire, measures) -> list[MeasureSpec]:
    if measures is None:
        return list(spec.measures.values())
    if isinstance(measures, str):
        measures = [measures]
    unknown = [c for c in measures if c not in spec.measures]
    if unknown:
        raise SurveyKitError(f"unknown measure {unknown[0]!r} for {spec.survey} {spec.year} "
                             f"(measures: {', '.join(spec.measures)})", file=spec.source)
    return [spec.measures[c] for c in measures]
