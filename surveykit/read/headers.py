"""Matching a file's column headers to the questionnaire's canonical column names.

SPSS and CSV returns are matched header by header (the whole header, or an alias, after standardising as
NHS Digital does); the official workbook is matched by position (see excel_return.py). Either way a header
that names a column twice is an error, and only the columns that identify a row are required: the others
are checked against what the outputs need during validation.
"""

from __future__ import annotations

import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.read.cells import standard_header


def spec_lookup(spec) -> dict[str, str]:
    """Standardised canonical name or alias -> canonical name, in data-return order."""
    lookup: dict[str, str] = {}
    for col in spec.columns.values():
        for text in (col.name, *col.aliases):
            lookup.setdefault(standard_header(text), col.name)
    return lookup


def match_exact(headers, spec) -> dict:
    """File header -> canonical name by whole-header match; unknown headers map to themselves."""
    lookup = spec_lookup(spec)
    return {h: lookup.get(standard_header(h), h) for h in headers}


def rename(frame: pd.DataFrame, mapping: dict, path) -> pd.DataFrame:
    """Rename to canonical names; two file columns meaning the same column is an error."""
    seen: dict[str, str] = {}
    for header, name in mapping.items():
        if name in seen:
            raise SurveyKitError(f"two columns both read as {name}: {seen[name]!r} and {header!r}",
                                 file=path, column=str(header))
        seen[name] = header
    return frame.rename(columns=mapping)


def check_required(columns, spec, path) -> None:
    """The columns without which no row can be placed (council, serial, response, stratum inputs)."""
    missing = [name for name, col in spec.columns.items() if col.required and name not in columns]
    if missing:
        shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12 else "")
        raise SurveyKitError(f"missing required columns: {shown}", file=path)
