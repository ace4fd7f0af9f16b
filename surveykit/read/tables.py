"""Small reference tables (eligible populations, the council lookup): CSV or the first sheet of a workbook,
every cell as text, with the row numbers a person sees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.read.cells import as_text, stripped_text, unique
from surveykit.contained import contained
from surveykit.read.csv import csv_body, csv_header, decode, delimiter
from surveykit.read.detect import detect_format
from surveykit.read.grid import Grid, open_workbook
from surveykit.read.xlsx_guard import check_workbook


def read_table(path) -> tuple[pd.DataFrame, np.ndarray]:
    """(text cells, row numbers) of a reference table; wholly blank rows dropped."""
    path = Path(path)
    if path.is_dir():
        raise SurveyKitError("expected a CSV or .xlsx table, found a folder", file=path)
    if not path.is_file():
        raise SurveyKitError("no such file", file=path)
    kind = detect_format(path)
    if kind == "spss":
        raise SurveyKitError("expected a CSV or .xlsx table, found an SPSS file", file=path)
    if kind == "csv":
        raw, encoding, first = decode(path)
        sep = delimiter(first)
        frame = csv_body(raw, encoding, sep, csv_header(first, sep, path), "str", path)
        rows = np.arange(2, len(frame) + 2)
    else:
        frame, rows = contained(_first_sheet, path, file=path, what="Excel workbook")
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    text = pd.DataFrame({c: as_text(frame[c]) for c in frame.columns}, index=frame.index)
    keep = text.notna().any(axis=1).to_numpy()
    return text[keep].reset_index(drop=True), rows[keep]


def _first_sheet(path: Path):
    check_workbook(path, first_sheet=True)
    book = open_workbook(path)
    if not book.sheet_names:
        raise SurveyKitError("the workbook has no sheets", file=path)
    grid = Grid.of(book, book.sheet_names[0])
    start = next((i for i, r in enumerate(grid.rows) if any(v not in ("", None) for v in r)), None)
    if start is None:
        raise SurveyKitError("the first sheet is empty", file=path)
    header_cells = grid.rows[start]
    width = max(i + 1 for i, v in enumerate(header_cells) if v not in ("", None))
    header = unique([stripped_text(v) for v in header_cells[:width]])
    body = [list(r[:width]) + [""] * (width - len(r)) for r in grid.rows[start + 1:]]
    frame = pd.DataFrame.from_records(body, columns=header) if body else pd.DataFrame(columns=header)
    frame = frame.astype(object).where(frame != "", None)
    first_sheet_row = grid.first_row + start + 2
    return frame, np.arange(first_sheet_row, first_sheet_row + len(frame))


