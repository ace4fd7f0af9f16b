"""Publishing: the edge where tidy, unrounded results become the files people read.

``rules.py`` holds suppression, symbols and rounding (driven by ``_bundled/publishing.yaml``);
``workbook.py`` writes the results workbook, ``csv.py`` CSV files, and ``atomic.py`` makes every file and the
run's whole output folder appear whole or not at all. ``write_tables`` is the public way to write results.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.publish.csv import write_csv
from surveykit.publish.rules import publish_ascof, publish_questions


def _published(table: pd.DataFrame) -> pd.DataFrame:
    """Raw results pass through the publishing rules first, so unrounded figures never reach a file."""
    if "estimate" in table.columns and pd.api.types.is_numeric_dtype(table["estimate"]):
        return publish_ascof(table)
    if "percent" in table.columns and pd.api.types.is_numeric_dtype(table["percent"]):
        return publish_questions(table)
    return table


def write_tables(tables: pd.DataFrame | Mapping, path,
                 notes: Mapping | None = None) -> Path:
    """Write results tables to ``path`` (.xlsx workbook, or .csv for a single table).

    ``tables`` is one tidy table, a mapping of sheet name to tidy tables, or PublishedSheets from a table
    builder (``ascof_tables.ascof_sheets(results, spec)`` lays the measures out as the ASCOF publication
    does). Raw ASCOF results or question tables are suppressed and rounded first (surveykit.publish.rules).
    """
    from surveykit.publish.sheet import PublishedSheet
    from surveykit.publish.workbook import Sheet, write_workbook  # the workbook writer builds on this module

    path = Path(path)
    suffix = path.suffix.lower()
    if isinstance(tables, PublishedSheet):
        tables = [tables]
    if not isinstance(tables, (pd.DataFrame, Mapping)):   # PublishedSheets from a table builder
        if suffix != ".xlsx":
            raise SurveyKitError("published sheets are written as a workbook: use .xlsx", file=path)
        return write_workbook(list(tables), path, notes)
    if isinstance(tables, pd.DataFrame):
        tables = {"Questions" if "question" in tables.columns else "ASCOF": tables}
    tables = {
        name: (Sheet(_published(t.table), t.title, t.definitions) if isinstance(t, Sheet) else
               t if isinstance(t, PublishedSheet) else _published(t))
        for name, t in tables.items()
    }
    if suffix == ".xlsx":
        return write_workbook(tables, path, notes)
    if suffix == ".csv":
        if len(tables) != 1:
            raise SurveyKitError("a CSV file holds one table; write .xlsx for several", file=path)
        (table,) = tables.values()
        return write_csv(table.table if isinstance(table, Sheet) else
                         table.frame if isinstance(table, PublishedSheet) else table, path)
    raise SurveyKitError(f"cannot write tables as {suffix or 'a file without suffix'}: use .xlsx or .csv",
                         file=path)
