"""``surveykit check``: every problem NHS Digital's validation would raise, before a council submits.

No estimation: the return is read and validated, and each problem is given the place a person opens to
fix it: the workbook's own cell (``Service User Data!BC17``), a CSV's line, an SPSS file's case.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.workbook_layout import column_letter


def with_cells(problems: pd.DataFrame, spec) -> pd.DataFrame:
    """``problems`` with a ``cell`` column: where to look, in the file's own terms."""
    letters = {name: column_letter(i) for i, name in enumerate(spec.columns)}
    sheet = spec.workbook.data_sheet if spec.workbook is not None else None
    file = problems["file"].astype("str")
    suffix = file.map(lambda f: Path(f).suffix.lower())
    row = problems["row"]
    first_column = problems["column"].astype("str").str.split(",").str[0]
    letter = first_column.map(letters)
    has_row = row.notna()
    row_text = row.astype("Int64").astype("str")
    workbook = suffix.isin([".xlsx", ".xlsm"]) & has_row & letter.notna() & (sheet is not None)
    cell = pd.Series("", index=problems.index, dtype="str")
    cell[workbook] = f"{sheet}!" + letter[workbook] + row_text[workbook]
    rest = has_row & ~workbook
    where = np.select([suffix[rest] == ".csv", suffix[rest].isin([".sav", ".zsav"])], ["line ", "case "], "row ")
    cell[rest] = pd.Series(where, index=cell[rest].index) + row_text[rest]
    return problems.assign(cell=cell)


def check_return(path, survey: str, year: str, population=None, councils=None, progress=None):
    """(validated return, problems with cells) for ``path``; nothing is estimated or written."""
    from surveykit.errors import command_guard
    from surveykit.pipeline import read_return

    with command_guard(path):
        ret = read_return(path, survey, year, population=population, councils=councils, progress=progress)
        return ret, with_cells(ret.problems, ret.spec)


def format_problems(problems: pd.DataFrame, limit: int = 200) -> str:
    """The problems as one readable list: errors first, each on one line with its cell."""
    if problems.empty:
        return "No problems found."
    order = problems.assign(_e=(problems["severity"] != "error").astype(int)).sort_values(
        ["_e", "file", "row"], kind="stable")
    lines = []
    for p in order.head(limit).itertuples(index=False):
        where = p.cell or (p.file if p.file else "")
        where = f"{p.file} {p.cell}" if p.cell and p.file else where
        lines.append(f"{p.severity.upper():7} {where}: {p.message}" + (f" [{p.rule}]" if p.rule else ""))
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more (all of them are in the CSV)")
    return "\n".join(lines)
