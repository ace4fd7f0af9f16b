"""From a validated return and eligible populations to a `SurveyDesign` ready for every measure.

NHS Digital's weighting (their `maths.md`, in plain words): each council's sample is split into
strata; a respondent stands for N_ch / m_chq people, where N_ch is the council-stratum's eligible
population and m_chq the people in that council-stratum who answered question q. So every council ×
stratum is a stratum of one national stratified sample with finite population correction, and each
question is weighted on its own respondents. `SurveyDesign(population=...)` does exactly that; this
module only lines the data up: the population per row, the per-respondent scores, the breakdown
columns and the council's region.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveykit.design import SurveyDesign
from surveykit.errors import SurveyKitError
from surveykit.measures import score

ENGLAND = ("E92000001", "England")
STRATA = ["council", "stratum_number"]  # "stratum" itself becomes the labelled breakdown


class ReturnDesign(SurveyDesign):
    """A `SurveyDesign` that remembers the questionnaire, council lookup and return it came from,
    so `ascof()` and `question_tables()` need nothing else."""

    def __init__(self, data, *, spec, councils, survey_return, lonely):
        super().__init__(data, strata=STRATA, population="N_h", lonely=lonely)
        self.spec = spec
        self.councils = councils
        self.survey_return = survey_return
        self.measures = [code for code in spec.measures if code in data.columns]
        self.breakdowns = [name for name in spec.groupings if name in data.columns]


def weight(survey_return, population: pd.DataFrame, councils: pd.DataFrame | None = None,
           lonely: str = "certainty") -> ReturnDesign:
    """Attach eligible populations, scores and breakdowns to a validated return.

    `population` is the long table from `read_population` (council, stratum, population).
    `lonely="certainty"` by default: a council-stratum with one respondent to a question adds
    nothing to the variance, which is what NHS Digital's formula does (its m - 1 is 0 there).
    """
    spec = survey_return.spec
    data = survey_return.data
    council = data[spec.council_column].astype("str")
    key = pd.MultiIndex.from_arrays([council, data["stratum"].astype("int64")])
    pop = population.set_index(["council", "stratum"])["population"]
    n_h = pop.reindex(key).to_numpy(dtype=float)
    if np.isnan(n_h).any():
        j = int(np.flatnonzero(np.isnan(n_h))[0])
        raise SurveyKitError(
            f"council {council.iloc[j]} stratum {int(data['stratum'].iloc[j])} has respondents but no "
            "eligible population; add it to the population table",
            file=data["_file"].iloc[j] if "_file" in data else None,
            row=data["_row"].iloc[j] if "_row" in data else None, column=spec.council_column)

    columns = {"council": council.to_numpy(), "stratum_number": data["stratum"].to_numpy(dtype="int64"),
               "N_h": n_h}
    for name, grouping in spec.groupings.items():
        if grouping.column in data.columns:  # "stratum" too: validation derived it
            columns[name] = spec.breakdown(data, name).to_numpy()
    if councils is not None:
        lookup = councils.set_index("council")
        columns["region"] = lookup["region_code"].reindex(council).to_numpy()
    scores = score(data, spec)
    frame = pd.concat([data.drop(columns=[c for c in columns if c in data.columns]).reset_index(drop=True),
                       pd.DataFrame(columns), scores.reset_index(drop=True)], axis=1)
    return ReturnDesign(frame, spec=spec, councils=councils, survey_return=survey_return, lonely=lonely)
