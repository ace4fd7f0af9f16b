"""The bundled data are found both from the source tree and from a real (non-editable) install."""

import subprocess
import sys
import venv

import pytest

from surveykit.resources import bundled_path


def test_bundled_files_exist_from_here():
    assert bundled_path("questionnaires", "ascs", "2020-21.yaml").is_file()
    assert bundled_path("questionnaires", "ascof-codes.yaml").is_file()
    assert bundled_path("weights", "councils-synthetic.csv").is_file()
    assert bundled_path("bundled", "publishing.yaml").is_file()
    assert bundled_path("bundled", "demo-ascs-return.csv").is_file()
