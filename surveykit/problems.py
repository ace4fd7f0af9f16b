"""Problems found in a return: one row each, naming file, row and column, with the rule it breaks.

Readers and validation both report here, so a bad cell found while reading and a bad code found while
validating reach ``problems.csv`` (and ``surveykit check``) the same way. Each rule has one severity:

- error: the return breaks a rule of the official form (an invalid entry, a duplicated serial number, a
  missing column, a return that cannot be read); the value is set missing or the row or file left out, and
  the run's exit status is 3.
- warning: the data are usable as they are, but a council should look (answers the form says must be
  recorded as given even when they contradict each other, a column no output needs, a row the council's
  own form counts differently).

``strict=True`` raises the first error as a SurveyKitError instead of carrying on.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError

RULES = {
    # reading
    "unreadable return": "error",
    "missing column": "error",
    "optional column missing": "warning",
    "not a number": "error",
    "not a whole number": "error",
    "council code differs": "warning",
    "population differs": "warning",
    "population not in return": "warning",
    # rows and codes
    "missing council": "error",
    "unknown council": "error",
    "duplicate serial number": "error",
    "response missing or invalid": "error",
    "out of range": "error",
    "answers from non-respondent": "warning",
    "value for non-respondent": "warning",
    "multi-choice answers inconsistent": "warning",
    "not asked of this respondent": "warning",
    "no stratum": "warning",
    # populations and lookups
    "no population for stratum": "error",
    "population smaller than sample": "error",
    "population file does not fit": "error",
    "council lookup does not fit": "error",
    "population and lookup differ": "warning",
    "sub-population missing": "warning",
    # areas (surveykit/fit.py): England or a region built from part of the country
    "area built from part of the country": "error",
    "average of part of the country": "warning",     # the same, asked for (average=True)
}

COLUMNS = ["severity", "file", "row", "column", "value", "rule", "message"]
# characters a spreadsheet (XML) cannot hold: a problem quoting a cell shows them as escapes, e.g. \x19
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]"   # the same, for pandas' str.contains (pyarrow strings
# hold no surrogates, and a pattern naming them cannot be encoded for it)


class Problems:
    """Collects problems as small frames; in strict mode the first error raises at once."""

    def __init__(self, strict: bool = False):
        self.strict = strict
        self.parts: list[pd.DataFrame] = []

    def add(self, rule, files, rows, column, values, messages) -> None:
        """Problems of one rule: ``files``, ``rows``, ``column``, ``values`` and ``messages`` are each one
        value for all or a sequence with one value per problem (``rows`` sets how many)."""
        n = len(rows)
        if n == 0:
            return
        severity = RULES[rule]
        part = pd.DataFrame({
            "severity": np.full(n, severity, dtype=object),
            "file": _as_str_array(files, n),
            "row": pd.array(rows, dtype="Int64"),
            "column": _visible_array(_as_str_array(column, n)),
            "value": format_values(values, n),
            "rule": np.full(n, rule, dtype=object),
            "message": _visible_array(_as_str_array(messages, n)),
        })
        if self.strict and severity == "error":
            _stop_at(part.iloc[0])
        self.parts.append(part)

    def one(self, rule, file, message, *, row=None, column=None, value=None) -> None:
        self.add(rule, [file], [row], column, [value], [message])

    def extend(self, frame: pd.DataFrame | None) -> None:
        """Add problems already found (e.g. by a reader), re-checking strict mode."""
        if frame is None or not len(frame):
            return
        if self.strict:
            errors = frame[frame["severity"] == "error"]
            if len(errors):
                _stop_at(errors.iloc[0])
        self.parts.append(frame[COLUMNS])

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return empty()
        out = pd.concat(self.parts, ignore_index=True)
        for c in COLUMNS:
            if c != "row":
                out[c] = out[c].astype("str")
        out["row"] = out["row"].astype("Int64")
        return out


def empty() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="str") for c in COLUMNS})
    out["row"] = pd.Series(dtype="Int64")
    return out


def _as_str_array(x, n) -> np.ndarray:
    if isinstance(x, (str, type(None))):
        return np.full(n, "" if x is None else x, dtype=object)
    return np.asarray(x, dtype=object).astype(str)


def format_values(values, n) -> np.ndarray:
    """Values as a person would type them: 7 not 7.0, blank for missing, inf as inf, long text cut."""
    if isinstance(values, (str, type(None))):
        return np.full(n, "" if values is None else _cut(values), dtype=object)
    out = []
    for v in np.asarray(values, dtype=object).ravel()[:n]:
        if v is None or (isinstance(v, float) and v != v):
            out.append("")
        elif isinstance(v, (bool, np.bool_)):
            out.append("TRUE" if v else "FALSE")
        elif isinstance(v, (float, np.floating)):
            v = float(v)
            out.append(str(int(v)) if v.is_integer() and abs(v) < 2.0 ** 53 else repr(v))
        else:
            out.append(_cut(str(v)))
    return np.array(out, dtype=object)


def _stop_at(problem: pd.Series):
    """--strict: the first error problem, raised as the one-line error it is."""
    raise SurveyKitError(problem["message"], file=problem["file"] or None,
                         row=None if pd.isna(problem["row"]) else int(problem["row"]),
                         column=problem["column"] or None, value=problem["value"] or None)


def visible(text: str) -> str:
    """``text`` with the characters no spreadsheet can hold written as escapes (a control character typed into
    a cell is shown, not passed on to break the workbook)."""
    return INVISIBLE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii")
                          if ord(m.group()) < 0xD800 else f"\\u{ord(m.group()):04x}", text)


def _visible_array(values: np.ndarray) -> np.ndarray:
    return np.array([visible(v) if INVISIBLE.search(v) else v for v in values], dtype=object)


def _cut(text: str, limit: int = 80) -> str:
    text = visible(text) if INVISIBLE.search(text) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"
