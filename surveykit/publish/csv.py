"""CSV outputs: atomic, and text a spreadsheet could run as a formula made inert.

Text that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, tab, CR at the start) is
prefixed with ``'``; numbers are written as numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.publish.atomic import atomic_write

FORMULA_START = r"^[=+\-@\t\r]"
# A plain decimal number ("-2.3", "+5") is read as a number by spreadsheets, never as a formula.
PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


_FORMULA = re.compile(FORMULA_START)
_NUMBER = re.compile(PLAIN_NUMBER)


def formula_like(text: str) -> bool:
    """True where a text cell would be read as a formula (numbers written as text excepted)."""
    return bool(_FORMULA.match(text)) and not _NUMBER.fullmatch(text)


def _risky(value) -> bool:
    return isinstance(value, str) and formula_like(value)     # mixed columns: only str cells


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
        codes, distinct = pd.factorize(text)      # each distinct value looked at once (labels repeat)
        risky_distinct = np.fromiter(map(_risky, distinct), dtype=bool, count=len(distinct))
        if not risky_distinct.any():
            continue
        risky = np.append(risky_distinct, False)[codes]                    # code -1: a missing cell
        as_text = text.where(pd.Series(risky, index=text.index), "").astype("str")
        out[name] = text.where(~risky, "'" + as_text)
    out.columns = ["'" + h if formula_like(h) else h for h in map(str, out.columns)]
    return out


def write_csv(df: pd.DataFrame, path, *, encoding: str = "utf-8") -> Path:
    """Write ``df`` as CSV (no index) atomically, formula-like text made inert.

    Numbers stored as numbers (e.g. -2.5 in a float column) are written as numbers. UTF-8 files go
    through pyarrow's CSV writer, 20x faster than pandas' for the national Ledger (81k rows in
    0.01 s instead of 0.2 s); columns pyarrow cannot type, and other encodings, use pandas.
    """
    safe = make_inert(df)
    if encoding.lower().replace("-", "") == "utf8":
        table = _arrow_table(safe)
        if table is not None:
            from pyarrow import csv as arrow_csv

            options = arrow_csv.WriteOptions(quoting_style="needed", eol="\r\n")
            return atomic_write(path, lambda tmp: arrow_csv.write_csv(table, str(tmp), options))
    return atomic_write(path, lambda tmp: safe.to_csv(tmp, index=False, encoding=encoding,
                                                       lineterminator="\r\n"))


def _arrow_table(frame: pd.DataFrame):
    """The frame as an Arrow table (booleans as True/False text, as pandas writes them), or None."""
    import pyarrow as pa

    booleans = {c: frame[c].map({True: "True", False: "False"}).astype("str")
                for c in frame.columns if pd.api.types.is_bool_dtype(frame[c].dtype)}
    try:
        return pa.Table.from_pandas(frame.assign(**booleans) if booleans else frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
