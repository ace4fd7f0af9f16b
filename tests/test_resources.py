"""The bundled data are found from the source tree; .ci/run checks a real (non-editable) install."""

from surveykit.resources import bundled_path


def test_bundled_files_exist_from_here():
    assert bundled_path("questionnaires", "ascs", "2020-21.yaml").is_file()
    assert bundled_path("questionnaires", "ascof-codes.yaml").is_file()
    assert bundled_path("weights", "councils-synthetic.csv").is_file()
    assert bundled_path("bundled", "publishing.yaml").is_file()
    assert bundled_path("bundled", "demo-ascs-return.csv").is_file()
