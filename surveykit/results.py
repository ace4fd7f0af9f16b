"""Every ASCOF measure for every council, region and England, with the published splits.

One estimator call per (area level, split, kind of measure): each call estimates all the measures of
that kind for all areas and groups at once, so a national return is a handful of vectorised passes.
Proportions are published as percentages, scores as scores. Margins of error are NHS Digital's
1.96 × SE; splits use NHS Digital's breakdown variance (`variance="nhs"`), which for totals is the
same as the textbook stratified variance, and which the estimator itself replaces by the domain
variance (with a note) where it is 0 only because every group-stratum cell has one respondent or
agrees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveykit.ci import NOTE_EMPTY, PROPORTION_ONLY, join_notes
from surveykit.errors import SurveyKitError
from surveykit.publish.rules import publishing_rules
from surveykit.weights import ENGLAND

# The splits NHS Digital publishes (with Total): Male, Female, 18-64, 65 and over. None = every group.
PUBLISHED_SPLITS = {"sex": ["Male", "Female"], "age_group": None}
NHS_Z = 1.96  # NHS Digital's margin of error multiplier
NOTE_CUT = "the interval ran past the 0-100 scale and is cut at its end"
COLUMNS = ["measure", "measure_name", "area_level", "area_code", "area_name", "breakdown", "group",
           "estimate", "se", "ci_lower", "ci_upper", "margin_of_error", "respondents", "population",
           "suppressed", "df", "deff", "n_eff", "note"]


def area_levels(design, england=None):
    """(level, column) pairs: council always; region (when a council lookup was given) and England unless the
    return is one council's (fit.py, rule 6: ``england=True`` asks for them all the same, False never)."""
    has_regions = "region" in design.data.columns
    coverage = getattr(design, "coverage", None)
    if coverage is not None:
        wanted = coverage.levels(england, has_regions)
    else:
        wanted = ["council"] if england is False else ["council", "region", "england"]
    levels = [("council", "council")]
    if has_regions and "region" in wanted:
        levels.append(("region", "region"))
    if "england" in wanted:
        levels.append(("england", None))
    return levels


def area_names(design, england=None) -> dict:
    """Area code -> name for councils, regions and England; an area built from part of the country says so
    ("England (partial: 140 of 152 councils)", fit.py rule 5)."""
    names = {ENGLAND[0]: ENGLAND[1]}
    if design.councils is not None:
        c = design.councils
        names.update(zip(c["council"], c["council_name"]))
        names.update(zip(c["region_code"], c["region_name"]))
    coverage = getattr(design, "coverage", None)
    if coverage is not None:
        names.update(coverage.names([level for level, _ in area_levels(design, england)]))
    return names


def _splits(design, breakdowns):
    extra = [] if breakdowns is None else list(breakdowns)
    unknown = [b for b in extra if b not in design.breakdowns]
    if unknown:
        raise SurveyKitError(f"unknown breakdown {unknown[0]!r}; this return has: "
                             f"{', '.join(design.breakdowns)}")
    chosen = [b for b in PUBLISHED_SPLITS if b in design.breakdowns]
    return [None] + chosen + [b for b in extra if b not in chosen]


def ascof(design, breakdowns=None, ci="logit", level=0.95, measures=None, framework=None,
          england=None) -> pd.DataFrame:
    """Tidy ASCOF results (unrounded) for every measure, area and group.

    `design` comes from `surveykit.weight`. `breakdowns` adds splits beyond the published sex and
    age splits (e.g. "stratum", "support_reason", "ethnicity", "age_band"). `ci` is the interval
    method for proportions: "logit" by default (R svyciprop's default), whose interval stays inside
    0-100; scores use "wald" when `ci` is a proportion-only method. A proportion's interval from
    "wald" or "wald-t" that runs past 0 or 100 is cut there, with a note. `margin_of_error` is NHS
    Digital's 1.96 x SE whatever the interval method. `framework`
    (e.g. "ascof-2023-24", from questionnaires/ascof-codes.yaml) adds `framework_code`, each
    measure's code in that framework ("" where it has none); `measure` keeps the spec's code.
    `england`: England and region rows are made unless the return holds one council (None, the default);
    True makes them whatever the return, False never (fit.py, rule 6). An area built from part of the country
    is named so: "England (partial: 140 of 152 councils)".
    """
    spec = design.spec
    codes = design.measures if measures is None else list(measures)
    unknown = [c for c in codes if c not in design.measures]
    if unknown:
        raise SurveyKitError(f"unknown measure {unknown[0]!r}; this return has {', '.join(design.measures)}")
    score_ci = "wald" if ci in PROPORTION_ONLY else ci
    by_population: dict = {}   # a measure weighted by a population of its own (1J) uses that design
    for c in codes:
        by_population.setdefault(design.population_of(c), []).append(c)

    parts = []
    for name, chosen_codes in by_population.items():
        d = design.for_population(name)
        if not len(d.data):
            continue
        percent = [c for c in chosen_codes if spec.measures[c].kind == "proportion"]
        scores = [c for c in chosen_codes if spec.measures[c].kind != "proportion"]
        for level_name, area_col in area_levels(d, england):
            for split in _splits(d, breakdowns):
                by = [c for c in (area_col, split) if c is not None]
                variance = "domain" if split is None else "nhs"
                for chosen, estimator, method, scale in ((percent, d.proportion, ci, 100.0),
                                                         (scores, d.mean, score_ci, 1.0)):
                    if not chosen:
                        continue
                    est = estimator(chosen, by=by or None, ci=method, level=level, variance=variance)
                    parts.append(_tidy(est, level_name, area_col, split, scale))
    if not parts:
        raise SurveyKitError("no respondent can be weighted for any measure: nothing to estimate",
                             file=getattr(getattr(design, "survey_return", None), "source", None))
    keys = ["measure", "area_level", "area_code", "breakdown", "group"]
    out = _every_row(design, codes, breakdowns, england).merge(pd.concat(parts, ignore_index=True), on=keys,
                                                      how="left", validate="one_to_one")
    nobody = out["respondents"].isna().to_numpy()  # a group or area in which no one answered
    out["respondents"] = out["respondents"].fillna(0).astype("int64")
    out["population"] = out["population"].fillna(0.0)
    out["note"] = out["note"].where(~nobody, NOTE_EMPTY)
    names = area_names(design, england)
    out["area_name"] = out["area_code"].map(names).fillna(out["area_code"])
    out["measure_name"] = out["measure"].map({c: spec.measures[c].name for c in codes})
    min_base = publishing_rules()["ascof"]["min_base"]
    out["suppressed"] = out["respondents"] < min_base
    rank = {"measure": {c: i for i, c in enumerate(codes)},
            "area_level": {"england": 0, "region": 1, "council": 2},
            "breakdown": {b: i for i, b in enumerate(["total"] + [s for s in _splits(design, breakdowns) if s])}}
    out = out.sort_values(["measure", "area_level", "area_code", "breakdown"], kind="stable",
                          key=lambda col: col.map(rank[col.name]) if col.name in rank else col)
    out = out[COLUMNS].reset_index(drop=True)
    if framework is not None:
        codes_in = {c: spec.measure_code(c, framework) or "" for c in codes}
        out.insert(1, "framework_code", out["measure"].map(codes_in).astype("str"))
    return out


def _every_row(design, codes, breakdowns, england=None) -> pd.DataFrame:
    """Every row the tables publish: each measure x area x group of each split, whether or not anyone
    there answered, so a council with no men still has a Male row (published "[w]") and a measure
    nobody in an area answered still has its rows. Groups are the breakdown's categories in the
    spec's order, only the published ones for sex unless sex is asked for as a breakdown."""
    frames = []
    for level_name, area_col in area_levels(design, england):
        areas = ([ENGLAND[0]] if area_col is None else
                 sorted(design.data[area_col].dropna().astype("str").unique()))
        for split in _splits(design, breakdowns):
            groups = ["Total"] if split is None else _groups(design, split, breakdowns)
            frames.append(pd.MultiIndex.from_product(
                [codes, [level_name], areas, ["total" if split is None else split], groups],
                names=["measure", "area_level", "area_code", "breakdown", "group"]).to_frame(index=False))
    return pd.concat(frames, ignore_index=True)


def _groups(design, split, breakdowns) -> list[str]:
    column = design.data[split]
    if isinstance(column.dtype, pd.CategoricalDtype):
        groups = list(column.cat.categories)
    else:
        groups = sorted(column.dropna().unique())
    published = PUBLISHED_SPLITS.get(split)
    if published is not None and split not in (breakdowns or []):
        groups = [g for g in groups if g in published]
    return [str(g) for g in groups]


def _tidy(est: pd.DataFrame, level_name, area_col, split, scale) -> pd.DataFrame:
    n = len(est)
    columns = {
        "measure": est["variable"].to_numpy(),
        "area_level": np.repeat(level_name, n),
        "area_code": (est[area_col].astype("str").to_numpy() if area_col else np.repeat(ENGLAND[0], n)),
        "breakdown": np.repeat("total" if split is None else split, n),
        "group": (est[split].astype("str").to_numpy() if split else np.repeat("Total", n)),
    }
    for col in ("estimate", "se", "ci_lower", "ci_upper"):
        columns[col] = est[col].to_numpy() * scale
    columns["margin_of_error"] = NHS_Z * columns["se"]
    columns["respondents"] = est["n"].to_numpy()
    for col in ("population", "df", "deff", "n_eff", "note"):
        columns[col] = est[col].to_numpy()
    frame = pd.DataFrame(columns)   # made whole: adding 14 columns one by one costs more than the estimates
    if scale == 100.0:  # a percentage's interval stays on the scale
        cut = ((frame["ci_lower"] < 0) | (frame["ci_upper"] > 100)).to_numpy()
        if cut.any():
            frame["ci_lower"] = frame["ci_lower"].clip(lower=0.0)
            frame["ci_upper"] = frame["ci_upper"].clip(upper=100.0)
            frame["note"] = join_notes(frame["note"].to_numpy(), np.where(cut, NOTE_CUT, ""))
    return frame
