"""Writing result files safely: whole files or nothing, and cells a spreadsheet cannot execute.

Every writer goes through ``atomic_write`` so an interrupted run never leaves a half-written file
where a previous good one stood. Text that a spreadsheet would read as a formula (``=``, ``+``,
``-``, ``@``, tab, CR at the start) is made inert: prefixed with ``'`` in CSV, stored as a
quote-prefixed text cell in .xlsx.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import surveykit
from surveykit.errors import SurveyKitError
from surveykit.tables import publish_ascof, publish_questions, publishing_rules

_FORMULA_START = r"^[=+\-@\t\r]"
# A plain decimal number ("-2.3", "+5") is read as a number by spreadsheets, never as a formula.
_PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MAX_COLUMN_WIDTH = 60


# -------------------------------------------------------------------------------------- atomic files

def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write_fn: Callable[[Path], object]) -> Path:
    """Write ``path`` via ``write_fn(tmp_path)`` and a rename: the file is whole or untouched.

    The temporary file sits in the same folder (so ``os.replace`` is atomic) and is removed if
    ``write_fn`` fails. Problems the user can fix (missing folder, no permission) raise
    SurveyKitError naming the file.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SurveyKitError(f"cannot write: folder {folder} does not exist", file=path)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise SurveyKitError(f"cannot write: {exc.strerror}", file=path) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write_fn(tmp)
        with open(tmp, "rb+") as fh:  # the bytes reach the disk before the name points at them
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SurveyKitError(f"cannot write: {exc.strerror or exc}", file=path) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# ------------------------------------------------------------------------------------------------ CSV

def _formula_like(text: pd.Series) -> pd.Series:
    """True where a text cell would be read as a formula (numbers written as text excepted)."""
    starts = text.str.contains(_FORMULA_START, regex=True, na=False)
    number = text.str.fullmatch(_PLAIN_NUMBER, na=False)
    return (starts & ~number).astype(bool)


def _text_column(column: pd.Series) -> pd.Series | None:
    """The column as object/str values if it can hold text, else None (numbers, dates, booleans)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    if pd.api.types.is_string_dtype(column.dtype) or column.dtype == object:
        return column
    return None


def make_inert(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` whose formula-like text cells (and headers) start with ``'``.

    Only text is touched: numbers, missing values and other objects are written as they are.
    """
    out = frame.copy()
    for name in out.columns:
        text = _text_column(out[name])
        if text is None:
            continue
        if text.dtype == object:  # mixed columns: only the str cells are text
            is_text = text.map(lambda v: isinstance(v, str)).astype(bool)
        else:
            is_text = text.notna()
        as_text = text.where(is_text, "").astype("str")
        risky = _formula_like(as_text) & is_text
        if risky.any():
            out[name] = text.where(~risky, "'" + as_text)
    headers = pd.Series([str(c) for c in out.columns], dtype="str")
    out.columns = headers.where(~_formula_like(headers), "'" + headers).tolist()
    return out


def write_csv(df: pd.DataFrame, path, *, encoding: str = "utf-8") -> Path:
    """Write ``df`` as CSV (no index) atomically, formula-like text made inert.

    Numbers stored as numbers (e.g. -2.5 in a float column) are written as numbers.
    """
    safe = make_inert(df)
    return atomic_write(path, lambda tmp: safe.to_csv(tmp, index=False, encoding=encoding,
                                                       lineterminator="\r\n"))


# ----------------------------------------------------------------------------------------------- xlsx

@dataclass
class Sheet:
    """One table for the workbook, with the lines shown above it."""

    table: pd.DataFrame
    title: str
    definitions: list[str] = field(default_factory=list)


def _check_sheet_name(name: str, path: Path) -> str:
    if not name or len(name) > 31 or _SHEET_NAME_BAD.search(name) or name.lower() == "notes":
        raise SurveyKitError(
            f"sheet name {name!r} is not allowed: 1-31 characters, none of []:*?/\\, not 'Notes'",
            file=path,
        )
    return name


def _default_definitions(table: pd.DataFrame) -> list[str]:
    """Definitions of the ASCOF measures the table holds, from the publishing rules."""
    if "measure" not in table.columns:
        return []
    known = publishing_rules().get("measure_definitions") or {}
    codes = pd.unique(table["measure"].astype("str"))
    return [f"{code}: {known[code]}" for code in codes if code in known]


def _number_format(kind: str, text: str) -> str:
    if kind == "count":
        return "#,##0"
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    return "0." + "0" * decimals if decimals else "0"


def _set_text(cell, text: str, where: str, path: Path) -> None:
    """Store ``text`` as a text cell, never a formula; formula-like text gets a quote prefix."""
    if _XLSX_ILLEGAL.search(text):
        raise SurveyKitError(f"{where} holds a control character that .xlsx cannot store", file=path)
    cell.value = text
    cell.data_type = "s"
    if re.match(_FORMULA_START, text) and not re.fullmatch(_PLAIN_NUMBER, text):
        cell.quotePrefix = True


def _write_sheet(ws, sheet: Sheet, path: Path) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    rules = publishing_rules()
    formats = rules.get("number_formats") or {}
    lines = [sheet.title, *sheet.definitions, f"Method: {rules['method']}",
             "Symbols: " + "  ".join(f"{k} {v}" for k, v in rules["legend"].items())]
    for row, line in enumerate(lines, start=1):
        _set_text(ws.cell(row=row, column=1), str(line), f"sheet {ws.title}, row {row}", path)
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    header_row = len(lines) + 2
    table = sheet.table
    for col, name in enumerate(table.columns, start=1):
        cell = ws.cell(row=header_row, column=col)
        _set_text(cell, str(name), f"sheet {ws.title}, column {name}", path)
        cell.font = Font(bold=True)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1).coordinate

    for col, name in enumerate(table.columns, start=1):
        kind = formats.get(str(name))
        values = table[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        for offset, value in enumerate(values.tolist()):
            row = header_row + 1 + offset
            cell = ws.cell(row=row, column=col)
            if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                continue
            if numeric:
                cell.value = value
                if kind:
                    cell.number_format = "#,##0" if kind == "count" else "0.0"
            elif kind and isinstance(value, str) and re.fullmatch(_PLAIN_NUMBER, value):
                cell.value = int(value) if kind == "count" and value.lstrip("+-").isdigit() else float(value)
                cell.number_format = _number_format(kind, value)
            else:
                _set_text(cell, str(value), f"sheet {ws.title}, row {row}, column {name}", path)
                if kind:
                    cell.alignment = Alignment(horizontal="right")  # "[c]" lines up with numbers

        header_width = len(str(name))
        cell_width = int(values.astype("str").str.len().max()) if len(values) else 0
        width = min(max(header_width, cell_width) + 2, _MAX_COLUMN_WIDTH)
        ws.column_dimensions[get_column_letter(col)].width = width  # lines above spill over freely


def _write_notes(ws, notes: Mapping, path: Path) -> None:
    from openpyxl.styles import Font

    rows = [
        ("Input file", notes.get("input_file", "")),
        ("Input checksum (SHA-256)", notes.get("checksum", "")),
        ("surveykit version", surveykit.__version__),
    ]
    rows += [(str(k), v) for k, v in notes.items() if k not in ("input_file", "checksum", "options")]
    rows.append(("Options used", ""))
    rows += [(f"  {k}", v) for k, v in (notes.get("options") or {}).items()]
    ws.cell(row=1, column=1, value="Notes").font = Font(bold=True, size=13)
    for row, (key, value) in enumerate(rows, start=3):
        _set_text(ws.cell(row=row, column=1), key, f"Notes, row {row}", path)
        if isinstance(value, (list, tuple, set)):
            value = ", ".join(map(str, value))
        _set_text(ws.cell(row=row, column=2), str(value), f"Notes, row {row}", path)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 80


def write_workbook(sheets: Mapping[str, pd.DataFrame | Sheet], path, notes: Mapping | None = None) -> Path:
    """Write published tables to a real .xlsx, one sheet each plus a "Notes" sheet, atomically.

    ``sheets`` maps sheet name to a DataFrame (titled by its name) or a ``Sheet``. ``notes`` holds
    ``input_file``, ``checksum`` and ``options`` (a dict), recorded with the toolkit version so a
    table can be traced to the run that made it. Numbers in published text ("67.7") become numbers
    with a matching format; labels ("[c]") and all other text stay text that cannot execute.
    """
    from openpyxl import Workbook

    path = Path(path)
    if not sheets:
        raise SurveyKitError("no tables to write", file=path)
    lowered = [str(name).lower() for name in sheets]
    if len(set(lowered)) != len(lowered):
        raise SurveyKitError("sheet names must differ other than in upper/lower case", file=path)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, sheet in sheets.items():
        if isinstance(sheet, pd.DataFrame):
            sheet = Sheet(sheet, str(name), _default_definitions(sheet))
        ws = workbook.create_sheet(_check_sheet_name(str(name), path))
        _write_sheet(ws, sheet, path)
    _write_notes(workbook.create_sheet("Notes"), notes or {}, path)
    return atomic_write(path, workbook.save)


# ------------------------------------------------------------------------------ tables, by file type

def _published(table: pd.DataFrame) -> pd.DataFrame:
    """Raw results pass through the publishing rules first, so unrounded figures never reach a file."""
    if "estimate" in table.columns and pd.api.types.is_numeric_dtype(table["estimate"]):
        return publish_ascof(table)
    if "percent" in table.columns and pd.api.types.is_numeric_dtype(table["percent"]):
        return publish_questions(table)
    return table


def write_tables(tables: pd.DataFrame | Mapping[str, pd.DataFrame | Sheet], path,
                 notes: Mapping | None = None) -> Path:
    """Write results tables to ``path`` (.xlsx workbook, or .csv for a single table).

    Raw ASCOF results or question tables are suppressed and rounded first (surveykit.tables).
    """
    path = Path(path)
    if isinstance(tables, pd.DataFrame):
        tables = {"Questions" if "question" in tables.columns else "ASCOF": tables}
    tables = {
        name: (Sheet(_published(t.table), t.title, t.definitions) if isinstance(t, Sheet) else _published(t))
        for name, t in tables.items()
    }
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return write_workbook(tables, path, notes)
    if suffix == ".csv":
        if len(tables) != 1:
            raise SurveyKitError("a CSV file holds one table; write .xlsx for several", file=path)
        (table,) = tables.values()
        return write_csv(table.table if isinstance(table, Sheet) else table, path)
    raise SurveyKitError(f"cannot write tables as {suffix or 'a file without suffix'}: use .xlsx or .csv",
                         file=path)
