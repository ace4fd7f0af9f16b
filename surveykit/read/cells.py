"""Cells as every reader hands them on: canonical names, float64 codes, text without ".0", bad cells reported.

A cell that cannot be what its column holds (text in a number column, TRUE, inf, a 400-digit number) is a
problem naming file, row, column and value; the cell is set missing and reading carries on. Whole-number
and range checks are validation's job: here a code column is just numbers.
"""

from __future__ import annotations

import contextlib
import re

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError

# Cell texts read as blank, the same in every format (pandas' CSV defaults, made explicit).
NA_TOKENS = ("", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "<NA>",
             "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN")
NA_SET = frozenset(NA_TOKENS)
# No code, count, age or budget in a return comes near this: larger is a typing slip or a damaged cell.
LARGEST_NUMBER = 1e15
_HEADER_NOISE = re.compile(r"[\s_\[\]()/\ufeff]+")
_INTEGRAL_TEXT = r"^([+-]?\d+)\.0*$"
_EXACT_FLOAT_LIMIT = 2.0 ** 53        # integral floats below this print exactly as integers


def standard_header(text) -> str:
    """Header text as compared: lower case without spaces, line breaks, underscores, brackets, slashes or BOM
    (NHS Digital's rule, and "/" too: the template writes "HIV / AIDs" and a line break alike)."""
    return _HEADER_NOISE.sub("", str(text)).lower()


def unique(header: list[str]) -> list[str]:
    """Header names made unique (blank ones named by position) so pandas keeps every column."""
    out, seen = [], {}
    for i, h in enumerate(header):
        name = h or f"column {i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def shown_value(value, limit: int = 40) -> str:
    """A cell's value quoted for a one-line message: a 400-digit number is cut, and says how long it was."""
    text = " ".join(str(value).split())
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit - 10] + "…") + f" ({len(str(value)):,} characters)"


@contextlib.contextmanager
def unreadable(path, what):
    """Turn a parsing library's exception on damaged input into one SurveyKitError naming the file."""
    try:
        yield
    except SurveyKitError:
        raise
    except MemoryError as exc:
        raise SurveyKitError(f"not a readable {what}: it claims more data than memory holds", file=path) from exc
    except Exception as exc:  # noqa: BLE001 - any library failure on bad bytes is the file's fault
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise SurveyKitError(f"not a readable {what} (damaged or truncated?): {detail}", file=path) from exc


class BadCells:
    """Bad cells found while reading one file: (row, column, value, why), reported later as problems."""

    def __init__(self, file: str):
        self.file = file
        self.found: list[tuple[np.ndarray, str, np.ndarray, str]] = []

    def add(self, rows: np.ndarray, column: str, values, why: str) -> None:
        if len(rows):
            self.found.append((np.asarray(rows), column, np.asarray(values, dtype=object), why))

    def rows(self) -> np.ndarray:
        return np.concatenate([r for r, *_ in self.found]) if self.found else np.empty(0, dtype="int64")

    def report(self, problems) -> None:
        """Hand every bad cell to a ``surveykit.problems.Problems`` collector."""
        for rows, column, values, why in self.found:
            problems.add("not a number", self.file, rows, column, values,
                         [f"{column} is {why}: set missing" for _ in range(len(rows))])


def as_number(values: pd.Series, rows: np.ndarray, column: str, bad: BadCells) -> pd.Series:
    """float64, NaN for blanks; cells that are not numbers are set missing and recorded in ``bad``."""
    if values.dtype == np.float64:   # an SPSS or numeric CSV column: only a wild value to look for, in one pass
        with np.errstate(invalid="ignore"):
            if not (np.abs(values.to_numpy()) >= LARGEST_NUMBER).any():
                return values
    if pd.api.types.is_bool_dtype(values.dtype):
        present = values.notna().to_numpy()
        bad.add(rows[present], column, values[present].to_numpy(), "TRUE/FALSE, not a number")
        return pd.Series(np.nan, index=values.index, dtype="float64")
    if pd.api.types.is_numeric_dtype(values.dtype):
        number = values.astype("float64")
    else:
        number = _object_numbers(values, rows, column, bad)
    with np.errstate(invalid="ignore"):
        wild = (~np.isfinite(number) & number.notna()) | (number.abs() >= LARGEST_NUMBER)
    if wild.any():
        mask = wild.to_numpy()
        shown = values[mask].to_numpy(dtype=object)
        bad.add(rows[mask], column, shown, "not a usable number (infinite or far too large)")
        number = number.where(~wild)
    return number


def _object_numbers(values: pd.Series, rows, column, bad) -> pd.Series:
    """Mixed cells (Excel, object columns): numbers and numeric text kept, everything else reported."""
    array = values.to_numpy(dtype=object)
    is_bool = np.fromiter((type(v) is bool or isinstance(v, np.bool_) for v in array), bool, len(array))
    if is_bool.any():
        bad.add(rows[is_bool], column, array[is_bool], "TRUE/FALSE, not a number")
        array = np.where(is_bool, None, array)
    is_int = np.fromiter((type(v) is int for v in array), bool, len(array))
    if is_int.any():   # Python ints (any size) to floats without OverflowError
        array = array.copy()
        array[is_int] = [float(v) if abs(v) < LARGEST_NUMBER else float("inf") for v in array[is_int]]
    series = pd.Series(array, index=values.index, dtype=object)
    with np.errstate(all="ignore"):
        number = pd.to_numeric(series, errors="coerce").astype("float64")
    unsure = number.isna().to_numpy() & series.notna().to_numpy()
    if unsure.any():
        text = series[unsure].astype("str").str.strip()
        blank = text.isin(NA_SET).to_numpy()
        retry = pd.to_numeric(text.where(~blank), errors="coerce").astype("float64")
        not_number = ~blank & retry.isna().to_numpy()
        at = np.flatnonzero(unsure)
        if not_number.any():
            bad.add(rows[at[not_number]], column, text.to_numpy(dtype=object)[not_number], "text, not a number")
        number.iloc[at] = retry.to_numpy()
    return number


def as_text(values: pd.Series) -> pd.Series:
    """Text with no surrounding spaces, NaN for blanks, and 211.0 written as "211" whatever the source."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        number = values.astype("float64")
        integral = (np.isfinite(number) & (number == np.round(number)) & (number.abs() < _EXACT_FLOAT_LIMIT))
        whole = number.where(integral, 0).astype("int64").astype("str")
        text = number.astype("str").where(~integral, whole)
        return text.where(number.notna()).astype("str")
    if values.dtype == object:
        values = values.map(cell_text, na_action="ignore")
    text = values.astype("str").str.strip()
    text = text.where(~text.isin(NA_SET))
    if text.str.contains(".", regex=False).any():
        text = text.str.replace(_INTEGRAL_TEXT, r"\1", regex=True)
    return text.astype("str")


def cell_text(value):
    """One mixed-type cell (Excel, object columns) as text."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() and abs(value) < _EXACT_FLOAT_LIMIT else repr(value)
    if isinstance(value, int):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def stripped_text(value) -> str:
    """One cell as text without surrounding spaces; "" for an empty cell (a header, a Sign Off Sheet cell)."""
    text = cell_text(value) if value not in ("", None) else ""
    return "" if text is None else str(text).strip()


def finish(frame: pd.DataFrame, spec, rows: np.ndarray, headers: dict, file_name: str,
           bad: BadCells) -> pd.DataFrame:
    """Canonical dtypes and order, wholly empty rows dropped, ``_file`` and ``_row`` added.

    ``headers``: canonical name -> header as written in the file (named in problems)."""
    out = {}
    for name in frame.columns:
        col = spec.columns.get(name)
        if col is None:
            out[name] = frame[name]
        elif col.kind == "string":
            out[name] = as_text(frame[name])
        else:
            out[name] = as_number(frame[name], rows, str(headers.get(name, name)), bad)
    known = [c for c in spec.columns if c in out]
    ordered = pd.DataFrame({c: out[c] for c in known + [c for c in frame.columns if c not in spec.columns]},
                           index=frame.index, copy=False)
    ordered["_file"] = pd.Series(file_name, index=frame.index, dtype="str")
    ordered["_row"] = np.asarray(rows).astype("int64")
    filled = ordered.drop(columns=["_file", "_row"]).notna()
    keep = filled.any(axis=1).to_numpy(copy=True) if len(filled.columns) else np.zeros(len(ordered), dtype=bool)
    keep |= np.isin(ordered["_row"].to_numpy(), bad.rows())   # a row whose only cell was bad is still a row
    return ordered[keep].reset_index(drop=True)


def finish_block(block: np.ndarray, columns: list[str], spec, rows: np.ndarray, file_name: str,
                 bad: BadCells) -> pd.DataFrame:
    """``finish`` for a 2-D block of workbook cells (None, float, int, str, bool, dates) in one pass:
    every cell classified by type at once, so a sheet costs one sweep, not a pandas step per column."""
    kinds = np.frompyfunc(type, 1, 1)(block) if block.size else np.empty(block.shape, dtype=object)
    numbers = np.full(block.shape, np.nan)
    is_float = kinds == float
    numbers[is_float] = block[is_float].astype(float)
    is_int = kinds == int
    if is_int.any():
        numbers[is_int] = [float(v) if abs(v) < LARGEST_NUMBER else float("inf") for v in block[is_int]]
    out = {}
    for j, name in enumerate(columns):
        col = spec.columns[name]
        if col.kind == "string":
            out[name] = as_text(pd.Series(block[:, j], dtype=object))   # as_text runs cell_text on each cell
            continue
        x = numbers[:, j]
        other = ~is_float[:, j] & ~is_int[:, j] & (kinds[:, j] != type(None))
        if other.any():
            at = np.flatnonzero(other)
            cells = block[at, j]
            text = np.array([str(v).strip() if isinstance(v, str) else None for v in cells], dtype=object)
            for k, (i, cell, t) in enumerate(zip(at, cells, text)):
                if t is not None and t in NA_SET:
                    continue
                try:
                    x[i] = float(t) if t is not None else np.nan
                except ValueError:
                    x[i] = np.nan
                if t is None or np.isnan(x[i]):
                    why = "TRUE/FALSE, not a number" if isinstance(cell, (bool, np.bool_)) else "text, not a number"
                    bad.add(rows[[i]], name, [cell if t is None else t], why)
        with np.errstate(invalid="ignore"):
            wild = (~np.isfinite(x) & ~np.isnan(x)) | (np.abs(x) >= LARGEST_NUMBER)
        if wild.any():
            bad.add(rows[wild], name, [repr(float(v)) for v in x[wild]],
                    "not a usable number (infinite or far too large)")
            x = np.where(wild, np.nan, x)
        out[name] = x
    frame = pd.DataFrame(out, copy=False)
    frame["_file"] = pd.Series(file_name, index=frame.index, dtype="str")
    frame["_row"] = np.asarray(rows).astype("int64")
    return frame
