"""Sample-size planning against the survey guidance's worked example and its formula."""

import numpy as np
import pytest

from surveykit.errors import SurveyKitError
from surveykit.planning import margin_of_error, responses_needed


def test_guidance_worked_example():
    # SACE 2023-24 guidance: N = 1000 eligible needs 278; 360 responses give +/-4.1 points
    assert responses_needed(1000) == 278
    assert responses_needed(1000, z=1.96) == 278
    assert round(margin_of_error(360, 1000) * 100, 1) == 4.1


@pytest.mark.parametrize("N", [50, 200, 1000, 4321, 100_000])
def test_guidance_formula(N):
    assert responses_needed(N, z=1.96) == int(np.ceil(384.16 * N / (N + 383.16) - 1e-9))


def test_inverse_round_trip_and_general_inputs():
    n = responses_needed(2500, moe=0.03, p=0.3, level=0.9)
    assert margin_of_error(n, 2500, p=0.3, level=0.9) <= 0.03
    assert margin_of_error(n - 1, 2500, p=0.3, level=0.9) > 0.03
    assert list(responses_needed([10, 1000])) == [10, 278]  # small councils: everyone
    assert margin_of_error(1000, 1000) == 0.0  # a census has no sampling error


def test_bad_inputs():
    with pytest.raises(SurveyKitError):
        responses_needed(0)
    with pytest.raises(SurveyKitError):
        margin_of_error(20, 10)
