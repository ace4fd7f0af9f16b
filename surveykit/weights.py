"""From a validated return and eligible populations to a `SurveyDesign` ready for every measure.

NHS Digital's weighting (their `maths.md`, in plain words): each council's sample is split into
strata; a respondent stands for N_ch / m_chq people, where N_ch is the council-stratum's eligible
population and m_chq the people in that council-stratum who answered question q. So every council ×
stratum is a stratum of one national stratified sample with finite population correction, and each
question is weighted on its own respondents. `SurveyDesign(population=...)` does exactly that; this
module only lines the data up: the population per row, the per-respondent scores, the breakdown
columns and the council's region.

Some items are weighted by populations of their own (the spec's ``populations``): Q2c is not asked in
strata 1 and 3 and only of the community in stratum 2, and the official form weights 1J by the community
populations with eligible support reasons. ``ReturnDesign.for_population(name)`` is the same design with
those populations in place of N_h, on the rows those populations cover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveykit.design import SurveyDesign
from surveykit.errors import SurveyKitError
from surveykit.fit import coverage
from surveykit.measures import score

ENGLAND = ("E92000001", "England")
STRATA = ["council", "stratum_number"]  # "stratum" itself becomes the labelled breakdown


class ReturnDesign(SurveyDesign):
    """A `SurveyDesign` that remembers the questionnaire, council lookup and return it came from,
    so `ascof()` and `question_tables()` need nothing else."""

    def __init__(self, data, *, spec, councils, survey_return, lonely, population="N_h", omitted=None,
                 coverage=None):
        try:
            super().__init__(data, strata=STRATA, population=population, lonely=lonely)
        except SurveyKitError as exc:   # in the user's words: their population file, council and stratum
            source = getattr(survey_return, "population_source", "") or None
            if population != "N_h":
                what = population.removeprefix("N_h_")
                raise SurveyKitError(f"the {what} populations cannot weight this return: {exc.message}",
                                     file=source) from exc
            raise SurveyKitError(f"the eligible populations cannot weight this return: {exc.message}",
                                 file=source) from exc
        self.coverage = coverage
        self.spec = spec
        self.councils = councils
        self.survey_return = survey_return
        self.omitted = dict(omitted or {})
        self.measures = [code for code in spec.measures if code in data.columns]
        self.breakdowns = [name for name in spec.groupings if name in data.columns]
        self._by_population: dict[str, ReturnDesign] = {}

    def _stratum_name(self, h):
        council, number = self.strata_table.iloc[h]
        return f"council {council} stratum {number}"

    def population_of(self, variable: str) -> str | None:
        """The named population a measure or item is weighted by (None: the stratum's own)."""
        spec = self.spec
        if variable in spec.measures:
            return spec.measures[variable].population
        base = spec.combined_names.get(variable, variable)
        item = spec.items.get(base)
        return item.population if item is not None else None

    def for_population(self, name: str | None) -> "ReturnDesign":
        """This design weighted by population ``name`` instead of N_h, on the rows that population covers
        (a stratum it gives 0 people holds no one asked)."""
        if name is None or f"N_h_{name}" not in self.data.columns:
            return self
        if name not in self._by_population:
            column = f"N_h_{name}"
            rows = self.data[self.data[column] > 0]
            self._by_population[name] = ReturnDesign(
                rows.reset_index(drop=True), spec=self.spec, councils=self.councils,
                survey_return=self.survey_return, lonely=self.lonely, population=column, omitted=self.omitted,
                coverage=self.coverage)
        return self._by_population[name]


#: a council-stratum with one respondent to a question: see `weight`
DEFAULT_LONELY = "certainty"


def weight(survey_return, population: pd.DataFrame | None = None, councils: pd.DataFrame | None = None,
           lonely: str = DEFAULT_LONELY) -> ReturnDesign:
    """Attach eligible populations, scores and breakdowns to a validated return.

    `population` is the long table from `read_population` (council, stratum, population[,
    population_<name>]); without it, the populations validation chose (a workbook's own) are used.
    `lonely="certainty"` by default: a council-stratum with one respondent to a question adds
    nothing to the variance, which is what NHS Digital's formula does (its m - 1 is 0 there).
    """
    spec = survey_return.spec
    data = survey_return.data
    if population is None:
        population = getattr(survey_return, "population", None)
    if population is None:
        raise SurveyKitError("no eligible populations: the return carries none (only the official workbook "
                             "does); give a population file", file=getattr(survey_return, "source", None))
    if not len(data):
        raise _nothing_to_estimate(survey_return)
    council = data[spec.council_column].astype("str")
    key = pd.MultiIndex.from_arrays([council, data["stratum"].astype("int64")])
    table = population.assign(council=population["council"].astype("str")).set_index(["council", "stratum"])
    n_h = table["population"].reindex(key).to_numpy(dtype=float)
    if np.isnan(n_h).any():
        j = int(np.flatnonzero(np.isnan(n_h))[0])
        raise SurveyKitError(
            f"council {council.iloc[j]} stratum {int(data['stratum'].iloc[j])} has respondents but no "
            "eligible population; add it to the population table",
            file=data["_file"].iloc[j] if "_file" in data else None,
            row=data["_row"].iloc[j] if "_row" in data else None, column=spec.council_column)

    columns = {"council": council.to_numpy(), "stratum_number": data["stratum"].to_numpy(dtype="int64"),
               "N_h": n_h}
    for name in spec.populations:
        column = f"population_{name.lower()}"
        if column in table.columns:
            columns[f"N_h_{name}"] = table[column].reindex(key).fillna(0).to_numpy(dtype=float)
    for name, grouping in spec.groupings.items():
        if grouping.column in data.columns:  # "stratum" too: validation derived it
            groups = spec.breakdown(data, name)
            # the labels taken by code into their column, not an array of label objects read back as text
            columns[name] = groups.cat.categories.array.take(groups.cat.codes.to_numpy(), allow_fill=True)
    if councils is not None:
        lookup = councils.assign(council=councils["council"].astype("str").str.strip()).set_index("council")
        columns["region"] = lookup["region_code"].reindex(council).to_numpy()
    omitted = dict(getattr(survey_return, "omitted", {}) or {})
    available = [code for code, m in spec.measures.items() if f"measure {code}" not in omitted
                 and all(c in data.columns or c in spec.combined_names for c in m.columns)]
    scores = score(data, spec, measures=available) if available else pd.DataFrame(index=data.index)
    frame = pd.concat([data.drop(columns=[c for c in columns if c in data.columns]).reset_index(drop=True),
                       pd.DataFrame(columns), scores.reset_index(drop=True)], axis=1)
    covered = coverage(survey_return, councils, population, council)
    return ReturnDesign(frame, spec=spec, councils=councils, survey_return=survey_return, lonely=lonely,
                        omitted=omitted, coverage=covered)


def _nothing_to_estimate(survey_return) -> SurveyKitError:
    """No row can be used: one line saying how many were read and why each was left out."""
    source = getattr(survey_return, "source", None)
    ledger = getattr(survey_return, "ledger", None)
    if ledger is None or not len(ledger):
        return SurveyKitError("the return holds no people (its columns are named, but it has no rows): nothing to "
                              "estimate", file=source)
    reasons = ledger.loc[~ledger["used"], "reason"].value_counts()
    shown = "; ".join(f"{why} {n}" for why, n in reasons.head(4).items())
    more = f" and {len(reasons) - 4} more reasons" if len(reasons) > 4 else ""
    return SurveyKitError(f"none of its {len(ledger)} rows can be used ({shown}{more}): nothing to estimate; "
                          "'surveykit check' lists every problem", file=source)
