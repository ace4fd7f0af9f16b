"""Realistic synthetic survey returns: the embedded demo data and the test bed for validation.

A national return is built in three vectorised steps, all seeded:

1. councils: every council in the lookup gets a size and, per stratum, an eligible population and a
   designed sample (drawn for the whole country, so a 12-council return shares its populations
   with the national one made from the same seed);
2. people: one row per sampled person, demographics drawn per model group (the published strata)
   from ``_bundled/synth-answers.csv``; the ``Stratum`` column is then derived by the spec itself;
3. answers: a latent wellbeing per respondent is mapped to each item's codes through thresholds
   that reproduce the item's target distribution, so quality-of-life items are correlated.

Column names, codes and ranges come from the questionnaire spec; the model's knobs (target
distributions, response rates, group sizes) live in ``_bundled/synth-design.csv`` and
``_bundled/synth-answers.csv``. ``messy=True`` injects each problem validation must catch and
records them in ``SyntheticReturn.injected``.

The CLI (``surveykit synth``) calls ``make_return(...)`` then ``write_return(...)``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri
from statistics import NormalDist

from surveykit.errors import SurveyKitError
from surveykit.publish.atomic import atomic_write
from surveykit.resources import bundled_path

# Columns of the data return that the generator fills from the design rather than from a model.
_STRATUM_COLUMN = "Stratum"
_POPULATION_COLUMN = "PopInStratum"
_KEY_COLUMN = "PrimaryKey"
_ITEM_NONRESPONSE = (0.01, 0.05)  # per-person skip rate drawn uniformly in this range
_UNKNOWN_COUNCIL = "999"

INJECTED_COLUMNS = ["rule", "file", "row", "column", "value"]
DEMO_SEED = 2021   # the demo's, and synth's default: weights/*-synthetic.csv are what it makes


@dataclass
class SyntheticReturn:
    """A synthetic return as it would arrive: the data (raw-return dtypes), populations, council lookup.

    ``population`` is long (``council, stratum, population, sample``) as ``io.read_population`` gives;
    ``injected`` lists the problems ``messy=True`` planted (``rule, file, row, column, value``; row is
    the CSV line number, header = line 1; file is "return" or "population").
    """

    data: pd.DataFrame
    population: pd.DataFrame
    councils: pd.DataFrame
    survey: str
    year: str
    injected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INJECTED_COLUMNS))
    eligible: pd.DataFrame | None = None   # the Eligible Population tables 1 and 2 (official workbook layout)


# --------------------------------------------------------------------------------------- model data

@lru_cache(maxsize=None)
def _design_table() -> pd.DataFrame:
    return pd.read_csv(bundled_path("bundled", "synth-design.csv"), dtype={"survey": "str"})


@lru_cache(maxsize=None)
def _answers_table() -> pd.DataFrame:
    return pd.read_csv(bundled_path("bundled", "synth-answers.csv"), dtype="str", keep_default_na=False)


@lru_cache(maxsize=None)
def synthetic_councils() -> pd.DataFrame:
    """The synthetic council lookup (152 councils, real-format codes, made-up names, real regions)."""
    return pd.read_csv(bundled_path("weights", "councils-synthetic.csv"), dtype="str")


def _load_spec(survey: str, year: str):
    from surveykit.questionnaire import load_spec

    return load_spec(survey, year)


@lru_cache(maxsize=None)
def _model_rows(survey: str, column: str, year: str = "") -> pd.DataFrame:
    """Calibration rows for a column in a year (items are renumbered between years): exact name first,
    else the first glob that matches; a row with no ``years`` holds for every year."""
    t = _answers_table()
    t = t[(t["survey"] == survey) & ((t["years"] == "") | t["years"].str.split().map(lambda ys: year in ys))]
    exact = t[t["column"] == column]
    if len(exact):
        return exact
    for pattern in t["column"].unique():
        if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(column, pattern):
            return t[t["column"] == pattern]
    return t.iloc[0:0]


def _parse_codes(dist: str, codes: np.ndarray) -> np.ndarray:
    """'1:.3 2:.7' -> probabilities over ``codes`` (codes not listed get 0; falls back to default)."""
    wanted = dict(pair.split(":") for pair in dist.split())
    p = np.array([float(wanted.get(str(int(c)), 0.0)) for c in codes])
    return p / p.sum() if p.sum() > 0 else _default_probs(len(codes))


def _default_probs(k: int) -> np.ndarray:
    """Decreasing shares when a column has no calibration: the first codes are the common answers."""
    p = 0.6 ** np.arange(k)
    return p / p.sum()


# ---------------------------------------------------------------------------------------- helpers

def _allowed_codes(col) -> np.ndarray | None:
    if col.codes:
        return np.array(sorted(int(c) for c in col.codes), dtype=float)
    if col.range is not None and col.kind == "code":
        lo, hi = col.range
        return np.arange(int(lo), int(hi) + 1, dtype=float)
    return None


def _draw_codes(rng, codes: np.ndarray, probs: np.ndarray, n: int) -> np.ndarray:
    return codes[rng.choice(len(codes), size=n, p=probs)]


def _draw_latent(rng, latent: np.ndarray, loading: float, codes: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Map latent wellbeing to codes so the marginal shares match ``probs``.

    Code order is best first, so higher wellbeing means a lower code; a negative loading is for
    scales that run worst first (e.g. 'how often do you feel lonely': 1 = often).
    """
    z = -loading * latent + np.sqrt(max(1.0 - loading ** 2, 0.0)) * rng.standard_normal(len(latent))
    z = z / np.sqrt(loading ** 2 * latent.var() + 1.0 - loading ** 2) if len(latent) > 1 else z
    cuts = ndtri(np.clip(np.cumsum(probs)[:-1], 1e-12, 1 - 1e-12))
    return codes[np.searchsorted(cuts, z)]


def _draw_number(rng, dist: str, n: int, col) -> np.ndarray:
    kind, *args = dist.split(":")
    a = [float(x) for x in args]
    x = rng.normal(a[0], a[1], n) if kind == "normal" else np.exp(rng.normal(a[0], a[1], n))
    lo, hi = (a[2], a[3]) if len(a) >= 4 else (-np.inf, np.inf)
    if col.range is not None:
        lo, hi = max(lo, float(col.range[0])), min(hi, float(col.range[1]))
    x = np.clip(x, lo, hi)
    return np.round(x)  # whole years, whole pounds: as councils record them


def _condition_mask(data: dict, given: str, n: int) -> np.ndarray:
    if not given:
        return np.ones(n, bool)
    name, values = given.split("=")
    return np.isin(data[name], [float(v) for v in values.split("|")])


# ------------------------------------------------------------------------------------ the design

def _council_design(survey: str, councils: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Eligible population and designed sample for every council x group (whole country)."""
    design = _design_table()
    design = design[design["survey"] == survey].sort_values("group")
    if design.empty:
        raise SurveyKitError(f"no synthetic design for survey {survey!r}", file="synth-design.csv")
    rng = np.random.default_rng([seed, 0])
    n_c, n_g = len(councils), len(design)
    size = rng.lognormal(0.0, 0.55, n_c)
    share_pop = size / size.sum()
    share_sample = size ** 0.7 / (size ** 0.7).sum()  # small councils sample a larger fraction
    jitter_pop = rng.lognormal(0.0, 0.2, (n_c, n_g))
    jitter_sample = rng.lognormal(0.0, 0.15, (n_c, n_g))
    rate_shift = rng.normal(0.0, 0.05, n_c)
    pop = np.maximum(np.round(share_pop[:, None] * design["eligible"].to_numpy() * jitter_pop), 30)
    sample = np.round(share_sample[:, None] * design["sampled"].to_numpy() * jitter_sample)
    sample = np.clip(sample, 5, pop)
    rate = np.clip(design["response_rate"].to_numpy()[None, :] + rate_shift[:, None], 0.1, 0.9)
    return pd.DataFrame({
        "council": np.repeat(councils["council"].to_numpy(), n_g),
        "group": np.tile(design["group"].to_numpy(), n_c),
        "population": pop.ravel().astype(np.int64),
        "sample": sample.ravel().astype(np.int64),
        "response_rate": rate.ravel(),
        "latent_shift": np.tile(design["latent_shift"].to_numpy(), n_c),
    })


def _pick_councils(councils, lookup: pd.DataFrame) -> pd.DataFrame:
    if isinstance(councils, (int, np.integer)):
        if not 1 <= councils <= len(lookup):
            raise SurveyKitError(f"councils must be between 1 and {len(lookup)}, got {councils}")
        idx = np.unique(np.round(np.linspace(0, len(lookup) - 1, councils)).astype(int))
        return lookup.iloc[idx].reset_index(drop=True)
    wanted = [str(c) for c in councils]
    unknown = sorted(set(wanted) - set(lookup["council"]))
    if unknown:
        raise SurveyKitError(f"unknown council codes {unknown}", file="councils-synthetic.csv")
    return lookup[lookup["council"].isin(wanted)].reset_index(drop=True)


# ----------------------------------------------------------------------------------- the return

def make_return(survey: str = "ascs", year: str | None = None, councils=152, respondents: int | None = None,
                seed: int = DEMO_SEED, messy: bool = False, spec=None) -> SyntheticReturn:
    """A seeded synthetic national return: one row per sampled person, in the spec's column order.

    ``councils`` is a count (spread across the lookup, so every region appears) or a list of codes.
    ``respondents`` is the expected number of respondents over the chosen councils; by default the
    national design (ASCS ~80k sampled rows at ~40% response, SACE ~100k at ~47%) restricted to them.
    ``spec`` defaults to the bundled questionnaire for ``survey``/``year`` (``year`` defaults to the spec's
    year, or the latest bundled one).
    """
    if year is None:
        from surveykit.resources import latest_year
        year = spec.year if spec is not None else latest_year(survey)
    spec = spec if spec is not None else _load_spec(survey, year)
    lookup = synthetic_councils()
    chosen = _pick_councils(councils, lookup)
    design = _council_design(survey, lookup, seed)
    design = design[design["council"].isin(chosen["council"])].reset_index(drop=True)
    if respondents is not None:
        expected = (design["sample"] * design["response_rate"]).sum()
        scaled = np.round(design["sample"] * respondents / expected)
        design["sample"] = np.clip(scaled, 2, design["population"]).astype(np.int64)

    rng = np.random.default_rng([seed, 1])
    data, group = _people(spec, survey, design, rng)
    data = _answers(spec, survey, data, group, design, rng)
    population = _population_table(spec, data, design)
    eligible = _eligible_tables(spec, survey, design)
    if eligible is not None:
        population = _with_sub_populations(spec, population, eligible)
    frame = _to_frame(spec, data)
    result = SyntheticReturn(frame, population, chosen, survey, year, eligible=eligible)
    if messy:
        result = _make_messy(result, spec, np.random.default_rng([seed, 2]))
    return result


def _people(spec, survey: str, design: pd.DataFrame, rng):
    """Rows per council x group, shuffled within council; demographics drawn per group."""
    counts = design["sample"].to_numpy()
    n = int(counts.sum())
    row_design = np.repeat(np.arange(len(design)), counts)
    council = design["council"].to_numpy()[row_design]
    order = np.lexsort((rng.random(n), council))  # interleave strata within each council
    row_design, council = row_design[order], council[order]
    group = design["group"].to_numpy()[row_design]
    first = np.r_[True, council[1:] != council[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    serial = np.arange(n) - start + 1

    data: dict[str, np.ndarray] = {"_design_row": row_design}
    for name, col in spec.columns.items():
        if name == spec.council_column:
            data[name] = council.astype(object)
        elif name == spec.id_column:
            data[name] = serial.astype(str).astype(object)
        elif name == _KEY_COLUMN and col.kind == "string":
            data[name] = (pd.Series(council, dtype="str") + "_" + pd.Series(serial).astype("str")).to_numpy(object)
        elif name == _POPULATION_COLUMN:
            data[name] = design["population"].to_numpy()[row_design].astype(float)
        elif name == spec.respondent_column or col.is_item or name == _STRATUM_COLUMN:
            continue  # filled once the person exists
        elif col.kind == "string":
            data[name] = np.full(n, None, dtype=object)
        else:
            data[name] = _draw_column(spec, survey, name, col, group, data, n, rng)
    return data, group


def _draw_column(spec, survey, name, col, group, data, n, rng) -> np.ndarray:
    out = np.full(n, np.nan)
    codes = _allowed_codes(col)
    rows = _model_rows(survey, name, spec.year)
    done = np.zeros(n, bool)
    for r in rows.itertuples(index=False):  # a handful of calibration rows per column, not per person
        mask = ~done & _condition_mask(data, r.given, n)
        if r.group:
            mask &= group == int(r.group)
        m = int(mask.sum())
        if m == 0:
            continue
        if r.dist.split(":")[0] in ("normal", "lognormal"):
            out[mask] = _draw_number(rng, r.dist, m, col)
        elif codes is not None:
            out[mask] = _draw_codes(rng, codes, _parse_codes(r.dist, codes), m)
        done |= mask
    rest = ~done
    if rest.any():
        if codes is not None:
            out[rest] = _draw_codes(rng, codes, _default_probs(len(codes)), int(rest.sum()))
        elif col.range is not None and col.kind in ("integer", "number"):
            lo = float(col.range[0])
            hi = min(float(col.range[1]), lo + 100)
            out[rest] = rng.integers(int(lo), int(hi) + 1, int(rest.sum()))
    return out


def _answers(spec, survey, data, group, design, rng):
    """Response, then item answers for respondents from one latent wellbeing per person."""
    n = len(group)
    row_design = data["_design_row"]
    rate = design["response_rate"].to_numpy()[row_design]
    responded = rng.random(n) < rate
    resp_col = spec.columns[spec.respondent_column]
    resp_codes = _allowed_codes(resp_col)
    others = resp_codes[resp_codes != spec.respondent_value] if resp_codes is not None else np.array([2.0])
    other_probs = _default_probs(len(others))
    data[spec.respondent_column] = np.where(
        responded, float(spec.respondent_value), _draw_codes(rng, others, other_probs, n))

    if _STRATUM_COLUMN in spec.columns:
        frame = pd.DataFrame({c: data[c] for c in spec.stratum_requires if c in data})
        derived = spec.derive_stratum(frame) if len(frame.columns) else pd.Series(1, index=range(n))
        data[_STRATUM_COLUMN] = derived.astype("Float64").to_numpy(dtype=float, na_value=np.nan)

    latent = design["latent_shift"].to_numpy()[row_design][responded] + rng.standard_normal(responded.sum())
    skip_rate = rng.uniform(*_ITEM_NONRESPONSE, responded.sum())
    q_col = spec.questionnaire_column
    for name, col in spec.columns.items():
        if not col.is_item:
            continue
        out = np.full(n, np.nan)
        item = spec.items.get(name)
        easy = item.easy_read if item is not None else None
        is_easy = (np.isin(data[q_col][responded], easy.questionnaire_values)
                   if easy is not None and q_col in data else np.zeros(responded.sum(), bool))
        answers = np.full(responded.sum(), np.nan)
        for version, mask in (("standard", ~is_easy), ("easy_read", is_easy)):
            if not mask.any():
                continue
            codes = (np.array(sorted(int(c) for c in easy.codes), float) if version == "easy_read"
                     else _allowed_codes(col))
            if codes is None:
                continue
            rows = _model_rows(survey, name, spec.year)
            rows = rows[rows["version"].isin([version, ""])]
            dist, loading = (rows.iloc[0]["dist"], float(rows.iloc[0]["loading"] or 0)) if len(rows) else ("", 0.5)
            probs = _parse_codes(dist, codes) if dist else _default_probs(len(codes))
            answers[mask] = _draw_latent(rng, latent[mask], loading, codes, probs)
        skipped = rng.random(len(answers)) < skip_rate
        missing = spec.missing_codes[0] if spec.missing_codes else np.nan
        answers[skipped] = np.where(rng.random(skipped.sum()) < 0.5, missing, np.nan)
        out[responded] = answers
        data[name] = out
    _follow_the_form(spec, data, responded)
    return data


def _follow_the_form(spec, data, responded) -> None:
    """What a correctly completed form holds: multi-choice questions answered whole (a skipped one blank in
    every part, never every part "not selected"), items left blank for people not asked them (Q2c), and the
    fixed values for non-respondents (Advocate and Interpreter "No")."""
    missing = set(float(c) for c in spec.missing_codes)
    for mc in spec.multi_choice.values():
        parts = [p for p in mc.parts if p in data]
        if len(parts) != len(mc.parts):
            continue
        block = np.column_stack([data[p] for p in parts])
        blank = np.isnan(block) | np.isin(block, list(missing))
        skipped = blank.any(axis=1)
        block[skipped] = np.nan
        none_selected = ~skipped & (block == 2).all(axis=1)
        block[none_selected, parts.index(mc.none_part or parts[-1])] = 1.0
        for j, p in enumerate(parts):
            data[p] = block[:, j]
    from surveykit.questionnaire import conditions_mask

    numbers = pd.DataFrame({c: data[c] for c, col in spec.columns.items() if c in data and col.kind != "string"})
    for name, item in spec.items.items():
        if item.asked_of and name in data:
            data[name] = np.where(conditions_mask(numbers, item.asked_of), data[name], np.nan)
    for column, value in spec.non_respondent_values.items():
        if column in data:
            data[column] = np.where(responded, data[column], float(value))


def _population_table(spec, data, design) -> pd.DataFrame:
    """Long population table by derived stratum; ``sample`` counts the rows actually in the return."""
    pop = design[["council", "group", "population"]].rename(columns={"group": "stratum"})
    if _STRATUM_COLUMN in data:
        rows = pd.DataFrame({"council": data[spec.council_column], "stratum": data[_STRATUM_COLUMN]})
        sample = rows.groupby(["council", "stratum"]).size().rename("sample").reset_index()
        sample["stratum"] = sample["stratum"].astype(np.int64)
    else:
        sample = design[["council", "group", "sample"]].rename(columns={"group": "stratum"})
    out = pop.merge(sample, on=["council", "stratum"], how="left")
    out["sample"] = out["sample"].fillna(0).astype("Int64")
    out["council"] = out["council"].astype("str")
    return out[["council", "stratum", "population", "sample"]]


def _eligible_tables(spec, survey: str, design: pd.DataFrame) -> pd.DataFrame | None:
    """Tables 1 and 2 of the Eligible Population sheet for every council: each stratum's population split
    over age group x gender x support reason x setting by the same shares the people are drawn with, by
    largest remainder so every stratum's cells add up to its population exactly."""
    layout = spec.workbook.eligible_population if spec.workbook is not None else None
    if layout is None or not layout.tables or "support_reason" not in spec.groupings:
        return None
    reasons = spec.groupings["support_reason"].map
    settings = dict(zip((1, 2, 3), layout.setting_columns.values()))
    genders = dict(zip((1, 2, 3), layout.genders))
    gender_share = _shares(survey, spec.year, "Gender", None, genders)
    parts = []
    for group, rows in design.groupby("group", sort=True):
        share = _cell_shares(survey, spec.year, int(group), reasons, settings, gender_share)
        counts = _largest_remainder(rows["population"].to_numpy(), share["share"].to_numpy())
        cells = share.drop(columns="share")
        parts.append(pd.DataFrame({"council": np.repeat(rows["council"].to_numpy(), len(cells)),
                                   **{c: np.tile(cells[c].to_numpy(), len(rows)) for c in cells.columns},
                                   "population": counts.ravel()}))
    out = pd.concat(parts, ignore_index=True)
    out = out.groupby(["council", "age_group", "gender", "support_reason", "setting"], sort=False,
                      as_index=False)["population"].sum()
    return out[["council", "age_group", "gender", "support_reason", "setting", "population"]]


def _shares(survey: str, year: str, column: str, group, labels: dict) -> dict:
    """Share of each label for a column's calibration row (codes summed into their labels)."""
    rows = _model_rows(survey, column, year)
    if group is not None and "group" in rows:
        rows = rows[rows["group"].isin([str(group), ""])]
    dist = rows.iloc[0]["dist"] if len(rows) else ""
    out: dict[str, float] = {}
    for pair in dist.split():
        code, p = pair.split(":")
        label = labels.get(int(code))
        if label is not None:
            out[label] = out.get(label, 0.0) + float(p)
    total = sum(out.values())
    return {k: v / total for k, v in out.items()} if total else {}


def _cell_shares(survey, year, group, reasons, settings, gender_share) -> pd.DataFrame:
    """One row per table cell a stratum's people fall in, with its share of the stratum."""
    reason_share = _shares(survey, year, "PrimarySupportReason", group, reasons)
    setting_share = _shares(survey, year, "SupportSetting", group, settings)
    age = _model_rows(survey, "Age", year)
    age = age[age["group"] == str(group)]
    mean, sd = (float(x) for x in age.iloc[0]["dist"].split(":")[1:3]) if len(age) else (40.0, 15.0)
    older = float(1 - NormalDist(mean, sd).cdf(65)) if group == 1 else (0.0 if group == 2 else 1.0)
    rows = []
    for age_group, a in (("18-64", 1 - older), ("65 and over", older)):
        for reason, r in reason_share.items():
            for setting, st in setting_share.items():
                for gender, g in gender_share.items():
                    if a * r * st * g > 0:
                        rows.append((age_group, gender, reason, setting, a * r * st * g))
    return pd.DataFrame(rows, columns=["age_group", "gender", "support_reason", "setting", "share"])


def _largest_remainder(totals: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Whole counts (councils x cells) proportional to ``shares`` that add up to each council's total."""
    shares = shares / shares.sum()
    exact = totals[:, None].astype(float) * shares[None, :]
    counts = np.floor(exact).astype(np.int64)
    short = totals.astype(np.int64) - counts.sum(axis=1)
    order = np.argsort(-(exact - counts), axis=1, kind="stable")
    for i, k in enumerate(short):   # one pass per council over its few leftover people
        counts[i, order[i, :k]] += 1
    return counts


def _with_sub_populations(spec, population: pd.DataFrame, eligible: pd.DataFrame) -> pd.DataFrame:
    """The long population table with each named sub-population, summed from tables 1 and 2 as the
    template's formulas sum them (so a synthetic workbook and its population file agree)."""
    from surveykit.workbook_layout import populations_from_cells, table_cell

    layout = spec.workbook.eligible_population
    rows = []
    for council, cells in eligible.groupby("council", sort=False):
        counts = {table_cell(layout, r.age_group, r.gender, r.support_reason, r.setting): int(r.population)
                  for r in cells.itertuples(index=False)}
        figures = populations_from_cells(layout, counts)
        for h in figures["strata"]:
            rows.append({"council": str(council), "stratum": int(h),
                         **{f"population_{name.lower()}": figures[name][h] for name in layout.populations}})
    extra = pd.DataFrame(rows)
    out = population.merge(extra, on=["council", "stratum"], how="left")
    for name in layout.populations:
        out[f"population_{name.lower()}"] = out[f"population_{name.lower()}"].fillna(0).astype("int64")
    return out


def _to_frame(spec, data) -> pd.DataFrame:
    """Raw-return shape: spec column order, codes float64 (NaN missing), strings as str."""
    n = len(data["_design_row"])
    numeric = [c for c, s in spec.columns.items() if s.kind != "string"]
    block = np.full((len(numeric), n), np.nan)  # one float block: no per-column consolidation later
    for k, name in enumerate(numeric):
        if name in data:
            block[k] = data[name]
    frame = pd.DataFrame(block.T, columns=numeric, copy=False)
    for name, col in spec.columns.items():
        if col.kind == "string":
            values = data.get(name)
            frame[name] = pd.Series(values if values is not None else np.full(n, None, object), dtype="str")
    return frame[list(spec.columns)]


# ------------------------------------------------------------------------------------ messy data

def _make_messy(result: SyntheticReturn, spec, rng) -> SyntheticReturn:
    """Plant a few rows of every problem validation must catch, on disjoint rows, and list them."""
    df = result.data.copy()
    pop = result.population.copy()
    council_col, id_col, resp_col = spec.council_column, spec.id_column, spec.respondent_column
    found = []

    def line(i):
        return int(i) + 2  # CSV line: header is line 1

    # The population problem: one council-stratum whose rows no other injection touches.
    candidates = pop[pop["sample"] >= 3]
    target = candidates.iloc[int(rng.integers(len(candidates)))]
    pop.loc[target.name, "population"] = int(target["sample"]) - 2
    pop_row = pd.Index(pop["council"].unique()).get_loc(target["council"]) + 2
    found.append(("population smaller than sample", "population", pop_row,
                  f"stratum{int(target['stratum'])}Pop", str(int(target["sample"]) - 2)))

    protected = df[council_col].to_numpy() == target["council"]
    respondent = df[resp_col].to_numpy() == spec.respondent_value
    free = np.flatnonzero(~protected)
    pool = list(rng.permutation(free))
    used: set[int] = set()

    def take(mask, k):
        picked = []
        while pool and len(picked) < k:
            i = pool.pop()
            if mask[i] and i not in used:
                picked.append(i)
                used.add(i)
        return picked

    items = [c for c, s in spec.columns.items() if s.is_item]
    q_col = spec.questionnaire_column
    easy_items = [(n, it.easy_read) for n, it in spec.items.items() if it.easy_read is not None]

    # Out-of-range codes: a standard item, an easy-read item given a standard-only code, a demographic.
    std_item = next(c for c in items if _allowed_codes(spec.columns[c]) is not None)
    bad = float(_allowed_codes(spec.columns[std_item]).max() + 3)
    for i in take(respondent, 2):
        df.loc[i, std_item] = bad
        found.append(("out of range", "return", line(i), std_item, str(int(bad))))
    if easy_items and q_col in df:
        name, er = easy_items[0]
        er_codes = {int(c) for c in er.codes}
        std_codes = _allowed_codes(spec.columns[name])
        only_std = [c for c in std_codes if int(c) not in er_codes]
        if only_std:
            is_easy = df[q_col].isin(er.questionnaire_values).to_numpy()
            for i in take(respondent & is_easy, 2):
                df.loc[i, name] = only_std[0]
                found.append(("out of range", "return", line(i), name, str(int(only_std[0]))))
    demo = next((c for c, s in spec.columns.items() if not s.is_item and s.codes and c not in
                 (resp_col, q_col, _STRATUM_COLUMN, *spec.stratum_requires)), None)
    if demo is not None:
        bad_demo = float(max(int(c) for c in spec.columns[demo].codes) + 1)
        for i in take(np.ones(len(df), bool), 2):
            df.loc[i, demo] = bad_demo
            found.append(("out of range", "return", line(i), demo, str(int(bad_demo))))

    # Non-respondents with answers.
    for i in take(~respondent, 3):
        col = items[int(rng.integers(len(items)))]
        code = _allowed_codes(spec.columns[col])
        df.loc[i, col] = float(code[0]) if code is not None else 1.0
        found.append(("answers from non-respondent", "return", line(i), col, str(int(df.loc[i, col]))))

    # Duplicate serial numbers: a later row repeats the first row's serial in the same council (both
    # rows are reported, as NHS Digital reports every row of a duplicate).
    first_row = df.groupby(council_col, sort=False).cumcount().to_numpy() == 0
    first_of = pd.Series(np.flatnonzero(first_row), index=df[council_col].to_numpy()[first_row])
    first_index = first_of.reindex(df[council_col].to_numpy()).to_numpy()
    later = ~first_row & ~np.isin(first_index, list(used))
    for i in take(later, 3):
        f = int(first_index[i])
        if f in used:  # another duplicate already leans on this council's first row
            continue
        used.add(f)
        df.loc[i, id_col] = df.loc[f, id_col]
        found.append(("duplicate serial number", "return", line(i), id_col, df.loc[i, id_col]))
        found.append(("duplicate serial number", "return", line(f), id_col, df.loc[f, id_col]))

    # A decimal in a code column, given by a respondent.
    for i in take(respondent, 2):
        df.loc[i, std_item] = 2.5
        found.append(("not a whole number", "return", line(i), std_item, "2.5"))

    # Values fixed for non-respondents (Advocate 'No'): a 1 instead.
    for column in list(spec.non_respondent_values)[:1]:
        if column in df:
            for i in take(~respondent & (df[column].to_numpy() == spec.non_respondent_values[column]), 2):
                df.loc[i, column] = 1.0
                found.append(("value for non-respondent", "return", line(i), column, "1"))

    # A multi-choice question answered in part: one part blank, another ticked.
    for mc in list(spec.multi_choice.values())[:1]:
        a, b = mc.parts[0], mc.parts[1]
        if a in df and b in df:
            for i in take(respondent & df[a].notna().to_numpy() & (df[b].to_numpy() == 2), 2):
                df.loc[i, a], df.loc[i, b] = np.nan, 1.0
                values = " ".join("-" if np.isnan(v) else str(int(v)) for v in df.loc[i, list(mc.parts)])
                found.append(("multi-choice answers inconsistent", "return", line(i), ",".join(mc.parts), values))

    # An item answered by someone it is not asked of (Q2c by a person with learning disability support).
    from surveykit.questionnaire import conditions_mask
    for name, item in spec.items.items():
        if item.asked_of and name in df:
            not_asked = ~conditions_mask(df, item.asked_of) & df[list(c.column for c in item.asked_of)].notna().all(
                axis=1).to_numpy()
            for i in take(respondent & not_asked, 2):
                df.loc[i, name] = 1.0
                found.append(("not asked of this respondent", "return", line(i), name, "1"))
            break

    # Respondents with no derivable stratum: blank the first stratum input where that loses the stratum.
    if spec.stratum_requires:
        col = spec.stratum_requires[0]
        trial = df[spec.stratum_requires].copy()
        trial[col] = np.nan
        lost = spec.derive_stratum(trial).isna().to_numpy()
        for i in take(respondent & lost, 3):
            df.loc[i, col] = np.nan
            found.append(("no stratum", "return", line(i), col, ""))

    # Unknown council code (with serials that cannot collide).
    for k, i in enumerate(take(np.ones(len(df), bool), 3)):
        df.loc[i, council_col] = _UNKNOWN_COUNCIL
        df.loc[i, id_col] = f"X{k + 1}"
        found.append(("unknown council", "return", line(i), council_col, _UNKNOWN_COUNCIL))

    # Response missing or out of range.
    resp_codes = _allowed_codes(spec.columns[resp_col])
    bad_resp = float(resp_codes.max() + 6) if resp_codes is not None else 9.0
    for i, value in zip(take(~respondent, 2), (bad_resp, np.nan)):
        df.loc[i, resp_col] = value
        found.append(("response missing or invalid", "return", line(i), resp_col,
                      "" if np.isnan(value) else str(int(value))))

    injected = pd.DataFrame(found, columns=INJECTED_COLUMNS).sort_values(["file", "row"], ignore_index=True)
    return SyntheticReturn(df, pop, result.councils, result.survey, result.year, injected, result.eligible)


# --------------------------------------------------------------------------------------- writing

def population_wide(population: pd.DataFrame, council_column: str = "LaCode") -> pd.DataFrame:
    """NHS Digital's wide layout: one row per council, ``stratum{h}Pop`` then ``stratum{h}Sample``."""
    wide_pop = population.pivot(index="council", columns="stratum", values="population")
    wide_sample = population.pivot(index="council", columns="stratum", values="sample")
    order = pd.Index(population["council"].unique())
    wide_pop = wide_pop.reindex(order)
    wide_sample = wide_sample.reindex(order)
    out = pd.DataFrame({council_column: pd.Series(order, dtype="str")})
    for h in wide_pop.columns:
        out[f"stratum{h}Pop"] = wide_pop[h].to_numpy().astype(np.int64)
    for h in wide_sample.columns:
        out[f"stratum{h}Sample"] = wide_sample[h].astype("Int64").to_numpy()
    for column in [c for c in population.columns if c.startswith("population_")]:
        name = column.removeprefix("population_")
        wide_sub = population.pivot(index="council", columns="stratum", values=column).reindex(order)
        for h in wide_sub.columns:
            out[f"stratum{h}Pop{name}"] = wide_sub[h].to_numpy().astype(np.int64)
    return out


def _csv_frame(df: pd.DataFrame, spec) -> pd.DataFrame:
    """Whole-number codes written without '.0' so the CSV looks like an exported return."""
    out = df.copy()
    for name, col in spec.columns.items():
        if name in out and col.kind in ("code", "integer"):
            values = out[name]
            if bool(((values % 1) == 0).where(values.notna(), True).all()):   # a planted 2.5 stays 2.5
                out[name] = values.astype("Int64")
    return out


def write_return(synthetic: SyntheticReturn, out, fmt: str = "csv", stem: str | None = None,
                 spec=None, cached: bool = True) -> dict[str, Path]:
    """Write the return as real ones arrive, plus its population (NHS wide CSV) and council lookup.

    ``out`` is a folder (created if needed) or, for csv/sav, the return's file name. In a folder the
    files are ``{stem}-return.csv`` / ``.sav`` or, for xlsx, a folder ``{stem}-return/`` with one
    official-layout workbook per council (``cached``: with the formulas' saved values, as Excel saves them);
    then ``{stem}-population.csv`` and ``{stem}-councils.csv`` next to it.
    ``stem`` defaults to ``{survey}-{year}`` (or the file name without ``-return``). Returns the paths.
    """
    if fmt not in ("csv", "sav", "xlsx"):
        raise SurveyKitError(f"unknown format {fmt!r}: use csv, sav or xlsx")
    spec = spec if spec is not None else _load_spec(synthetic.survey, synthetic.year)
    out = Path(out)
    if fmt != "xlsx" and out.suffix.lower() == f".{fmt}":
        folder, target = out.parent, out
        stem = stem or out.stem.removesuffix("-return")
    else:
        folder = out
        stem = stem or f"{synthetic.survey}-{synthetic.year}"
        target = folder / (f"{stem}-return" + ("" if fmt == "xlsx" else f".{fmt}"))
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {"return": target}
    if fmt == "csv":
        frame = _csv_frame(synthetic.data, spec)
        atomic_write(target, lambda tmp: frame.to_csv(tmp, index=False))
    elif fmt == "sav":
        _write_sav(synthetic.data, spec, target)
    else:
        _write_xlsx_folder(synthetic, spec, target, cached=cached)
    paths["population"] = folder / f"{stem}-population.csv"
    wide = population_wide(synthetic.population, spec.council_column)
    atomic_write(paths["population"], lambda tmp: wide.to_csv(tmp, index=False))
    paths["councils"] = folder / f"{stem}-councils.csv"
    atomic_write(paths["councils"], lambda tmp: synthetic.councils.to_csv(tmp, index=False))
    return paths


def _write_sav(df: pd.DataFrame, spec, path: Path) -> None:
    import pyreadstat

    frame = df.copy()
    for name, col in spec.columns.items():
        if col.kind == "string" and name in frame:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), "")
    labels = {name: {float(k): str(v) for k, v in col.codes.items()}
              for name, col in spec.columns.items() if col.codes and name in frame}
    column_labels = [(spec.columns[c].aliases or [c])[0] if c in spec.columns else c for c in frame.columns]
    # bytecode-compressed, as SPSS and PSPP save by default, so benchmarks read what analysts hold
    atomic_write(path, lambda tmp: pyreadstat.write_sav(frame, tmp, column_labels=column_labels,
                                                   variable_value_labels=labels, row_compress=True))


def _write_xlsx_folder(synthetic: SyntheticReturn, spec, folder: Path, cached: bool = True) -> None:
    """One official-layout workbook per council, as councils send them."""
    from surveykit.official_workbook import write_official_workbook

    folder.mkdir(parents=True, exist_ok=True)
    names = dict(zip(synthetic.councils["council"], synthetic.councils["council_name"]))
    everyone = synthetic_councils()
    eligible = synthetic.eligible
    for council, rows in synthetic.data.groupby(spec.council_column, sort=False):  # one file per council
        cells = eligible[eligible["council"] == council] if eligible is not None else None
        write_official_workbook(folder / f"{council}.xlsx", spec, rows.reset_index(drop=True), council=str(council),
                                council_name=names.get(council, str(council)), council_list=everyone,
                                eligible=cells, cached=cached)


# ------------------------------------------------------------------------------ shipped demo data

DEMO_COUNCILS = 10
DEMOS = {"ascs": "2025-26", "sace": "2023-24"}


def build_demo_files(root=None) -> list[Path]:
    """Regenerate the shipped synthetic data: how ``_bundled/demo-*`` and ``weights/*-synthetic.csv`` were made.

    Per survey: a clean 10-council demo return and its population in ``surveykit/_bundled/``, plus the
    council lookup ``demo-councils.csv`` both demos share (the same councils are chosen for each), and
    the national (152-council) population in NHS Digital's wide layout, ``weights/{survey}-synthetic.csv``:
    what ``surveykit synth`` writes with its default seed (the demo's), for every year of the survey (the
    design does not change with the year), so those files fit any return synth makes without --seed.
    """
    root = Path(root) if root is not None else Path(__file__).resolve().parent.parent
    bundle = root / "surveykit" / "_bundled"
    written = []
    for survey, year in DEMOS.items():
        spec = _load_spec(survey, year)
        demo = make_return(survey, year, councils=DEMO_COUNCILS, seed=DEMO_SEED, spec=spec)
        paths = write_return(demo, bundle, "csv", stem=f"demo-{survey}", spec=spec)
        paths["councils"].replace(bundle / "demo-councils.csv")
        written += [paths["return"], paths["population"], bundle / "demo-councils.csv"]
        national = make_return(survey, year, councils=len(synthetic_councils()), seed=DEMO_SEED, spec=spec)
        path = root / "weights" / f"{survey}-synthetic.csv"
        wide = population_wide(national.population, spec.council_column)
        atomic_write(path, lambda tmp, wide=wide: wide.to_csv(tmp, index=False))
        written.append(path)
    return sorted(set(written))
