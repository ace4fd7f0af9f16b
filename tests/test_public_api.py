"""The public API: what `dir(surveykit)` offers for tab completion is what `import surveykit` gives."""

import subprocess
import sys

import surveykit

# The names README.md and DESIGN.md promise statisticians, written out here rather than read from
# surveykit itself, so a name dropped from the package fails this test.
PROMISED = {"read_return", "read_population", "read_councils", "weight", "ascof", "write_tables",
            "SurveyDesign", "compare_to", "funnel", "year_on_year", "comparator_group", "make_return",
            "write_return", "write_report", "available_specs", "load_spec", "SurveyKitError", "__version__"}


def test_dir_lists_the_public_api_before_anything_is_imported():
    # a fresh interpreter: nothing lazy has been loaded yet, as in a new notebook
    listed = subprocess.run([sys.executable, "-c", "import surveykit; print(' '.join(dir(surveykit)))"],
                            capture_output=True, text=True, check=True).stdout.split()
    public = [name for name in listed if not name.startswith("__")]
    assert PROMISED - {"__version__"} <= set(public)
    assert set(public) == set(surveykit.__all__) - {"__version__"}
    assert "_PUBLIC" not in listed and "__version__" in listed and "__getattr__" in listed
    assert listed == sorted(listed)


def test_every_name_dir_lists_resolves():
    for name in dir(surveykit):
        assert getattr(surveykit, name) is not None, name
