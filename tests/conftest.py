"""Fixtures shared by the test files: the bundled questionnaire specs."""

import pytest

from surveykit.questionnaire import load_spec


@pytest.fixture(scope="session")
def ascs():
    return load_spec("ascs", "2025-26")


@pytest.fixture(scope="session")
def sace():
    return load_spec("sace", "2023-24")
