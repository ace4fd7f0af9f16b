"""Where the bundled data live: questionnaire specs, population tables and the demo return.

They sit at the top of the repository (`questionnaires/`, `weights/`) so they read as data, and are
installed inside the package as `surveykit/_questionnaires` and `surveykit/_populations` (see
setup.cfg). From a source tree or an editable install they are read where they stand.
"""

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_INSTALLED = {"questionnaires": "_questionnaires", "weights": "_populations", "bundled": "_bundled"}
_SOURCE = {"questionnaires": _HERE.parent / "questionnaires", "weights": _HERE.parent / "weights",
           "bundled": _HERE / "_bundled"}


def bundled_path(kind: str, *parts: str) -> Path:
    """Path to a bundled file, e.g. ``bundled_path("questionnaires", "ascs", "2020-21.yaml")``."""
    installed = _HERE / _INSTALLED[kind]
    base = installed if installed.is_dir() else _SOURCE[kind]
    return base.joinpath(*parts)


def bundled_specs() -> list[tuple[str, str]]:
    """(survey, year) of every bundled questionnaire spec, sorted: the files themselves, read without
    importing the rest of surveykit, so the command line's help can list them at once. The public
    name is `surveykit.questionnaire.available_specs`."""
    root = bundled_path("questionnaires")
    return sorted((p.parent.name, p.stem) for p in Path(root).glob("*/*.yaml"))


def latest_year(survey: str) -> str:
    """The latest year with a bundled questionnaire spec for `survey` (read without importing the rest of
    surveykit, so the command can use it before anything heavy is loaded)."""
    from surveykit.errors import SurveyKitError

    years = sorted(y for s, y in bundled_specs() if s == survey)
    if not years:
        raise SurveyKitError(f"no bundled questionnaire for survey {survey!r}")
    return years[-1]
