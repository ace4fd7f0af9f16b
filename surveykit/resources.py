"""Where the bundled data live: questionnaire specs, population tables and the demo return.

They sit at the top of the repository (`questionnaires/`, `weights/`) so they read as data, and are
installed inside the package as `surveykit._questionnaires` and `surveykit._populations`.
"""

from importlib import resources
from pathlib import Path

_PACKAGES = {
    "questionnaires": "surveykit._questionnaires",
    "weights": "surveykit._populations",
    "bundled": "surveykit._bundled",
}


def bundled_path(kind: str, *parts: str) -> Path:
    """Path to a bundled file, e.g. ``bundled_path("questionnaires", "ascs", "2020-21.yaml")``."""
    try:
        base = Path(str(resources.files(_PACKAGES[kind])))
    except ModuleNotFoundError:  # running from a source tree that was never installed
        root = Path(__file__).resolve().parent.parent
        base = {"questionnaires": root / "questionnaires", "weights": root / "weights",
                "bundled": Path(__file__).resolve().parent / "_bundled"}[kind]
    return base.joinpath(*parts)
