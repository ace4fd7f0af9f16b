"""surveykit: weighted ASCOF results with confidence intervals from ASCS and SACE returns.

The public API (see README): read a return, weight it, estimate every measure, write the tables.
Imports are lazy so `import surveykit` and the command line start quickly.
"""

__version__ = "0.1.0"

from surveykit.errors import SurveyKitError  # noqa: E402

_PUBLIC = {
    "read_return": "surveykit.pipeline",
    "run_job": "surveykit.pipeline",
    "read_raw": "surveykit.read",
    "read_population": "surveykit.read",
    "read_councils": "surveykit.read",
    "SurveyReturn": "surveykit.validate",
    "weight": "surveykit.weights",
    "SurveyDesign": "surveykit.design",
    "ascof": "surveykit.results",
    "question_tables": "surveykit.questions",
    "score": "surveykit.measures",
    "measure_info": "surveykit.measures",
    "load_spec": "surveykit.questionnaire",
    "load_spec_file": "surveykit.questionnaire",
    "available_specs": "surveykit.questionnaire",
    "publish_ascof": "surveykit.publish.rules",
    "publish_questions": "surveykit.publish.rules",
    "write_tables": "surveykit.publish",
    "annex_sheets": "surveykit.publish.annex",
    "write_csv": "surveykit.publish.csv",
    "compare_to": "surveykit.compare",
    "funnel": "surveykit.compare",
    "year_on_year": "surveykit.compare",
    "comparator_group": "surveykit.compare",
    "responses_needed": "surveykit.planning",
    "margin_of_error": "surveykit.planning",
    "make_return": "surveykit.synth",
    "write_return": "surveykit.synth",
    "write_report": "surveykit.report",
}

__all__ = ["SurveyKitError", "__version__", *_PUBLIC]


def __getattr__(name):
    if name in _PUBLIC:
        import importlib
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'surveykit' has no attribute {name!r}")


def __dir__():
    """The public API (what __all__ names) and the module's own dunders, for tab completion: the lazy
    names are listed before they are first used, the private helpers (_PUBLIC) are not."""
    return sorted({*__all__, *(name for name in globals() if name.startswith("__") and name.endswith("__"))})
