"""Readers: every input surveykit takes, one module each, all handing back the same shapes.

``read_raw`` reads a data return, dispatching on the file's content: SPSS (spss.py), CSV (csv.py), the
official Excel workbook (excel_return.py) or a folder of workbooks (folder.py). Whatever the format, the
``RawReturn`` has canonical column names from the questionnaire spec, code and number columns as float64
(NaN = blank), text columns without a trailing ".0", and ``_file``/``_row`` naming the cell a person would
open. A bad cell is a problem, not an error (``RawReturn.problems``); a file that cannot be read at all
is one SurveyKitError naming it (or, inside a folder, one problem and the file is left out).

``read_population`` (population.py) and ``read_councils`` (councils.py) read the reference tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from surveykit import problems as problem_list
from surveykit.errors import SurveyKitError
from surveykit.read.councils import read_councils
from surveykit.read.csv import read_csv
from surveykit.read.detect import WORKBOOK_SUFFIXES, detect_format, file_checksum
from surveykit.read.excel_return import WorkbookReturn, read_workbook
from surveykit.read.folder import FILE_COLUMNS, file_row, folder_checksum, read_folder
from surveykit.read.population import read_population
from surveykit.read.spss import read_spss

__all__ = ["RawReturn", "read_raw", "read_population", "read_councils", "detect_format", "file_checksum",
           "WORKBOOK_SUFFIXES"]


@dataclass
class RawReturn:
    """A data return as read, before validation (see docs/contracts.md)."""
    data: pd.DataFrame
    source: str
    value_labels: dict = field(default_factory=dict)
    survey: str = ""
    year: str = ""
    checksum: str = ""
    problems: pd.DataFrame = field(default_factory=problem_list.empty)
    population: pd.DataFrame | None = None    # eligible populations the return itself carries (workbooks)
    empty_form_rows: int = 0                  # the official form's pre-filled rows that hold no one
    files: pd.DataFrame | None = None         # a folder: one row per workbook, read or skipped and why


def read_raw(path, spec, *, progress=None) -> RawReturn:
    """Read a data return (file or folder of workbooks) into a `RawReturn`, dispatching on content.

    ``progress``: show a progress bar over a folder's workbooks (None: only when stderr is a terminal).
    """
    path = Path(path)
    if path.is_dir():
        return _from_folder(path, spec, progress)
    if not path.is_file():
        raise SurveyKitError("no such file", file=path)
    kind = detect_format(path)
    if kind == "excel":
        result = read_workbook(path, spec)
        found = problem_list.Problems()
        _workbook_problems(result, path.name, found)
        checksum = file_checksum(path)
        files = pd.DataFrame([file_row(path, result, checksum)], columns=FILE_COLUMNS)
        return RawReturn(result.data, str(path), {}, spec.survey, spec.year, checksum, found.frame(),
                         result.population, result.empty_form_rows, files)
    if kind == "spss":   # the checksum of the bytes parsed, made by the child that parsed them (a read-ahead's)
        data, labels, bad, checksum = read_spss(path, spec)
    else:
        checksum = file_checksum(path)
        data, labels, bad = read_csv(path, spec)
    found = problem_list.Problems()
    bad.report(found)
    return RawReturn(data, str(path), labels, spec.survey, spec.year, checksum, found.frame())


def _workbook_problems(result: WorkbookReturn, file: str, found) -> None:
    result.bad.report(found)
    for rule, row, column, value, message in result.notes:
        found.one(rule, file, message, row=row, column=column, value=value)


def _from_folder(folder: Path, spec, progress) -> RawReturn:
    read, files, skipped = read_folder(folder, spec, progress)
    found = problem_list.Problems()
    for file, reason in skipped:
        found.one("unreadable return", file.name, f"workbook left out: {reason}", column="")
    for file, result in read:
        _workbook_problems(result, file.name, found)
    if not read:
        first = skipped[0]
        raise SurveyKitError(f"no workbook in the folder could be read; the first, {first[0].name}: {first[1]}",
                             file=folder)
    data = pd.concat([r.data for _, r in read], ignore_index=True)
    known = [c for c in spec.columns if c in data]
    rest = [c for c in data.columns if c not in spec.columns and c not in ("_file", "_row")]
    data = data[known + rest + ["_file", "_row"]]
    pops = [r.population for _, r in read if r.population is not None]
    population = pd.concat(pops, ignore_index=True) if pops else None   # councils without: validation says so
    return RawReturn(data, str(folder), {}, spec.survey, spec.year, folder_checksum(files), found.frame(),
                     population, int(sum(r.empty_form_rows for _, r in read)), files)


