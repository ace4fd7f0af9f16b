"""surveykit: weighted ASCOF results with confidence intervals from ASCS and SACE returns."""

__version__ = "0.1.0"

from surveykit.errors import SurveyKitError  # noqa: E402

__all__ = ["SurveyKitError", "__version__"]
