"""Weighted distribution of the answers to every question, by council, region and England.

NHS Digital's "answers by council" annex table: for each question and answer code, the weighted
percentage of the question's respondents who gave that answer, its margin of error (1.96 × SE), the
respondents who gave it and the question's base.

Every area is a union of whole council-strata, so each answer's estimate is the stratified
proportion over the area's strata with per-item weights, and everything it needs is a count: n_hj
(respondents in stratum h giving answer j) and m_h (respondents in h answering the question). One
`np.bincount` over (stratum, answer) gives all of them for all questions at once; the estimator is
then the textbook one (and `SurveyDesign.proportion`'s, which a test checks to 1e-12):
p = Σ N_h p_hj / Σ N_h, var = Σ N_h² (1 − m_h/N_h) p_hj (1 − p_hj) / (m_h − 1) / (Σ N_h)², the
sums over strata where the question was answered, and a stratum with one respondent adds no
variance (lonely="certainty", NHS Digital's rule). The stratum's sum of squares about its own mean,
m_h p_hj (1 − p_hj) = n_hj (m_h − n_hj) / m_h, is taken from the counts in that form: centred and
exact, so an answer everyone (or no one) in a stratum gave adds exactly 0, never rounding error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveykit.results import NHS_Z, area_levels, area_names
from surveykit.errors import SurveyKitError
from surveykit.weights import ENGLAND, STRATA

COLUMNS = ["question", "answer", "answer_label", "area_level", "area_code", "area_name", "percent",
           "margin_of_error", "respondents", "base", "population"]


def tabulated_items(spec) -> dict[str, dict[int, str]]:
    """Question column -> {code: label}; easy-read items are tabulated on their combined scale."""
    out = {}
    for item in spec.items.values():
        if item.easy_read is not None:
            out[item.easy_read.combined_name] = item.easy_read.combined_labels
        elif item.codes:
            out[item.name] = item.codes
    return out


def _answer_counts(data, items, stratum):
    """n[h, j]: respondents in stratum h giving answer j, for every answer j of every question."""
    keys, cols = [], []
    for q, codes in items.items():
        x = pd.to_numeric(data[q], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        code_list = np.array(sorted(codes), dtype=float)
        position = np.searchsorted(code_list, x)
        ok = (position < len(code_list)) & (code_list[np.minimum(position, len(code_list) - 1)] == x)
        cols.append(np.where(ok, position + len(keys), -1))
        keys += [(q, int(c), codes[int(c)]) for c in code_list]
    answer = np.concatenate(cols)
    h = np.tile(stratum, len(cols))
    valid = answer >= 0
    n_strata, n_answers = int(stratum.max()) + 1, len(keys)
    flat = np.bincount(h[valid] * n_answers + answer[valid], minlength=n_strata * n_answers)
    return flat.reshape(n_strata, n_answers).astype(float), keys


def question_tables(design, england=None) -> pd.DataFrame:
    """Tidy answers-by-area table for every question of the design's questionnaire; an item weighted by
    a population of its own (Q2c) is estimated on that population's design. ``england`` as for ``ascof``:
    England and region rows unless the return holds one council (fit.py, rule 6)."""
    if design.lonely != "certainty":
        raise SurveyKitError("question tables follow NHS Digital's rule for one-respondent strata "
                             "(lonely='certainty'); weight the return with that")
    items = {q: c for q, c in tabulated_items(design.spec).items() if q in design.data.columns}
    by_population: dict = {}
    for q, codes in items.items():
        by_population.setdefault(design.population_of(q), {})[q] = codes
    parts = [_tables(design.for_population(name), chosen, england) for name, chosen in by_population.items()]
    parts = [p for p in parts if p is not None]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("percent", "margin_of_error", "population")
                                          else "str") for c in COLUMNS})
    if len(parts) == 1:
        return parts[0]
    out = pd.concat(parts, ignore_index=True)   # back into one order: level, area, question
    level = out["area_level"].map({"england": 0, "region": 1, "council": 2}).to_numpy()
    question = out["question"].map({q: i for i, q in enumerate(items)}).to_numpy()
    area = pd.factorize(out["area_code"], sort=True)[0]
    return out.iloc[np.lexsort((question, area, level))].reset_index(drop=True)


def _tables(design, items, england=None) -> pd.DataFrame:
    data = design.data
    if not len(data):
        return None
    stratum = _stratum_codes(data)
    N = data[design.population_column].groupby(stratum).first().to_numpy(dtype=float)
    n, keys = _answer_counts(data, items, stratum)
    item_of = pd.factorize(np.array([k[0] for k in keys], dtype=object))[0]
    m = np.zeros((len(N), item_of.max() + 1))
    np.add.at(m.T, item_of, n.T)          # m[h, q]: respondents in h answering question q
    m = m[:, item_of]                     # ... repeated for each answer of q
    answered = m > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(answered, n / m, 0.0)
        fpc = 1 - m / N[:, None]
        centred_ss = n * (m - n) / m  # sum over the stratum of (y - p_hj)^2, y the 0/1 answer
        var_h = np.where(m > 1, N[:, None] ** 2 * fpc * centred_ss / (m * (m - 1)), 0.0)
    pop_h = np.where(answered, N[:, None], 0.0)

    levels = area_levels(design, england)
    area_cols = [c for _, c in levels if c is not None]
    area_of_stratum = data[area_cols].astype("str").groupby(stratum).first()  # strata are nested in areas
    parts = []
    for level_name, col in levels:
        area = area_of_stratum[col].to_numpy() if col else np.repeat(ENGLAND[0], len(N))
        area_idx, area_codes = pd.factorize(area)
        sums = {name: _by_area(values, area_idx, len(area_codes))
                for name, values in (("pop", pop_h), ("wp", pop_h * p), ("var", var_h), ("n", n), ("m", m))}
        with np.errstate(invalid="ignore", divide="ignore"):
            share = sums["wp"] / sums["pop"]
            se = np.sqrt(sums["var"]) / sums["pop"]
        # every area x answer, answered or not: a question no one in an area answered still has
        # its rows (base 0, published "[w]"), as NHS Digital's annex tables add the missing rows
        a, j = np.divmod(np.arange(sums["m"].size), sums["m"].shape[1])
        parts.append(pd.DataFrame({
            "key": j, "area_level": level_name, "area_code": np.asarray(area_codes)[a],
            "percent": 100 * share[a, j], "margin_of_error": 100 * NHS_Z * se[a, j],
            "respondents": sums["n"][a, j].astype("int64"), "base": sums["m"][a, j].astype("int64"),
            "population": sums["wp"][a, j]}))
    out = pd.concat(parts, ignore_index=True)
    meta = pd.DataFrame(keys, columns=["question", "answer", "answer_label"])
    out = pd.concat([meta.iloc[out["key"]].reset_index(drop=True), out.drop(columns="key")], axis=1)
    out["area_name"] = out["area_code"].map(area_names(design, england)).fillna(out["area_code"])
    return out[COLUMNS]


def _stratum_codes(data) -> np.ndarray:
    """Each row's council-stratum numbered in order of first appearance, as factorizing the (council, stratum)
    pairs numbers them, without making the pairs (a pandas MultiIndex of them took 20 ms a national table)."""
    council, _ = pd.factorize(data[STRATA[0]], sort=False)
    number = data[STRATA[1]].to_numpy(dtype=np.int64)
    number = number - number.min(initial=0)
    return pd.factorize(council.astype(np.int64) * (int(number.max(initial=0)) + 1) + number, sort=False)[0]


def _by_area(values, area_idx, n_areas):
    """Sum the rows (strata) of `values` into their areas."""
    out = np.zeros((n_areas, values.shape[1]))
    np.add.at(out, area_idx, values)
    return out


def answers_by_area(published: pd.DataFrame, value: str = "percent") -> pd.DataFrame:
    """NHS Digital's wide layout of a published question table: one row per area (England, then
    regions, then councils), one column per question and answer ("q3a: 1"), cells from `value`."""
    order = {"england": 0, "region": 1, "council": 2}
    wide = published.assign(column=published["question"] + ": " + published["answer"].astype("str"))
    table = wide.pivot(index=["area_level", "area_code", "area_name"], columns="column", values=value)
    columns = list(dict.fromkeys(wide["column"]))
    table = table[columns].reset_index()
    table = table.sort_values(["area_level", "area_code"], key=lambda c: c.map(order) if c.name == "area_level" else c)
    return table.rename_axis(columns=None).reset_index(drop=True)
