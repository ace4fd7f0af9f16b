"""Council figures as the official form's own sheets compute them: its Q2c and 1J rules, by hand.

The template's Weightings sheet weights Q2c in stratum 2 by 'Eligible Population'!H8 (stratum 2 without its
residential and nursing care) and in stratum 4 by E59; strata 1 and 3 are not asked. Its ASCOF Measures sheet
counts 1J over community respondents with an eligible support reason in strata 2 and 4, weighted by I8 and
J8: 1J = (I8 * mean_2 + J8 * mean_4) / (I8 + J8) (../shared/reference/ascs-2021-22-template-ascof-sheet.txt).
"""

import numpy as np
import pytest

from surveykit.measures import score
from surveykit.questions import question_tables
from surveykit.results import ascof
from surveykit.synth import make_return
from surveykit.validate import validate
from surveykit.weights import weight


@pytest.fixture(scope="module")
def council(ascs):
    ret = make_return("ascs", ascs.year, councils=["316"], seed=6, spec=ascs)
    checked = validate(ret.data, ascs, population=ret.population, councils=ret.councils)
    return ret, checked, weight(checked, None, ret.councils)


def test_1j_is_the_forms_weighted_mean_over_eligible_community_respondents(council, ascs):
    ret, checked, design = council
    data = checked.data
    per_person = score(data, ascs, ["1J"])["1J"].to_numpy()
    eligible = (data["SupportSetting"] == 1) & data["PrimarySupportReason"].isin([1, 2, 3, 4, 5, 6, 8])
    assert np.isnan(per_person[~eligible.to_numpy()]).all()      # others are not scored
    pop = ret.population.set_index("stratum")["population_1j"]
    means = {h: np.nanmean(per_person[(data["stratum"] == h).to_numpy()]) for h in (2, 4)}
    by_hand = (pop[2] * means[2] + pop[4] * means[4]) / (pop[2] + pop[4])
    res = ascof(design, measures=["1J"])
    got = res[(res["area_level"] == "council") & (res["breakdown"] == "total")]["estimate"].iloc[0]
    assert got == pytest.approx(by_hand, rel=1e-12)
    # weighted by the whole strata instead (what the publication's populations alone would give) it differs
    whole = ret.population.set_index("stratum")["population"]
    other = (whole[2] * means[2] + whole[4] * means[4]) / (whole[2] + whole[4])
    assert abs(other - got) > 1e-4


def test_q2c_is_weighted_by_its_own_populations(council, ascs):
    ret, checked, design = council
    data = checked.data
    asked = (data["PrimarySupportReason"] != 7) & (data["SupportSetting"] == 1)
    assert data.loc[~asked, "q2c"].isna().all()                     # not asked of LD or residential/nursing
    pop = ret.population.set_index("stratum")["population_q2c"]
    assert pop[1] == 0 and pop[3] == 0
    share = {h: (data.loc[data["stratum"] == h, "q2c"].dropna() == 1).mean() for h in (2, 4)}
    by_hand = 100 * (pop[2] * share[2] + pop[4] * share[4]) / (pop[2] + pop[4])
    q = question_tables(design)
    row = q[(q["question"] == "q2c") & (q["answer"] == 1) & (q["area_level"] == "council")]
    assert row["percent"].iloc[0] == pytest.approx(by_hand, rel=1e-12)
    # every other question is weighted by the strata's own populations: q2b answer 1 by hand
    full = ret.population.set_index("stratum")["population"]
    shares = {h: (data.loc[data["stratum"] == h, "q2b"].dropna() == 1).mean() for h in (1, 2, 3, 4)}
    q2b = 100 * sum(full[h] * shares[h] for h in shares) / sum(full[h] for h in shares)
    row = q[(q["question"] == "q2b") & (q["answer"] == 1) & (q["area_level"] == "council")]
    assert row["percent"].iloc[0] == pytest.approx(q2b, rel=1e-12)
