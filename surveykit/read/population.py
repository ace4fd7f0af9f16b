"""Eligible-population tables: how many people each council-stratum stands for (N_h in the weights).

Two layouts, CSV or .xlsx: NHS Digital's wide one (council code, ``stratum1Pop``.. [, ``stratum1Sample``..])
and a long one (``council, stratum, population[, sample]``). Either may add a named sub-population that
some items are weighted by (see the spec's ``populations``): wide ``stratum2PopQ2c``, long
``population_q2c``. Every council must give every stratum 1..k. Whether populations exceed samples is
validation's check.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.problems import CONTROL, visible
from surveykit.read.cells import BadCells, as_number, shown_value, standard_header
from surveykit.read.tables import read_table

COUNCIL_HEADERS = ("council", "councilcode", "lacode", "cassr", "cassrcode", "la", "code")
LONG_HEADERS = {"stratum": ("stratum", "strata"),
                "population": ("population", "pop", "eligiblepopulation", "eligible"),
                "sample": ("sample", "samplesize", "sampled")}
WIDE_POP = re.compile(r"^stratum(\d+)pop(?:ulation)?([a-z0-9]*)$")
WIDE_SAMPLE = re.compile(r"^stratum(\d+)sample$")
LONG_SUB = re.compile(r"^population([a-z0-9]+)$")


def read_population(path) -> pd.DataFrame:
    """Long table ``council, stratum, population, sample`` plus ``population_<name>`` per sub-population."""
    table, rows = read_table(path)
    council_col = find(table.columns, COUNCIL_HEADERS)
    if council_col is not None and not len(table):
        raise SurveyKitError("the population table has a header but no councils", file=path)
    if council_col is None:
        raise SurveyKitError(f"no council code column (expected one headed one of {', '.join(COUNCIL_HEADERS)})",
                             file=path)
    wide: dict[str, dict[int, str]] = {}
    for h in table.columns:
        m = WIDE_POP.match(standard_header(h))
        if m:
            wide.setdefault(m.group(2), {})[int(m.group(1))] = h
        m = WIDE_SAMPLE.match(standard_header(h))
        if m:
            wide.setdefault("\x00sample", {})[int(m.group(1))] = h
    out = _wide(table, rows, council_col, wide, path) if wide.get("") else _long(table, rows, council_col, path)
    out.attrs["source"] = str(path)
    return out


def _wide(table, rows, council_col, wide, path) -> pd.DataFrame:
    pops, samples = wide[""], wide.get("\x00sample", {})
    k = max(pops)
    for s in range(1, k + 1):
        if s not in pops:
            raise SurveyKitError(f"no column for stratum {s} (the table has strata up to {k})", file=path,
                                 column=f"stratum{s}Pop")
    councils = _council_codes(table, council_col, path, rows)
    no_duplicates(councils, path, rows, council_col)
    n = len(table)

    def stacked(columns: dict, blank_ok: bool, fill=pd.NA):
        parts = [whole_numbers(table[columns[s]], path, rows, columns[s], blank_ok=blank_ok) if s in columns
                 else pd.Series(fill, index=table.index, dtype="Int64") for s in range(1, k + 1)]
        return pd.array(np.column_stack([p.to_numpy(dtype=object) for p in parts]).reshape(-1), dtype="Int64")

    out = pd.DataFrame({
        "council": pd.Series(np.repeat(councils.to_numpy(dtype=object), k), dtype="str"),
        "stratum": np.tile(np.arange(1, k + 1, dtype="int64"), n),
        "population": stacked(pops, False).astype("int64"),
        "sample": stacked(samples, True),
    })
    for name, columns in wide.items():
        if name and not name.startswith("\x00"):
            out[f"population_{name}"] = stacked(columns, True, fill=0)
    return out


def _long(table, rows, council_col, path) -> pd.DataFrame:
    cols = {name: find(table.columns, texts, taken=(council_col,)) for name, texts in LONG_HEADERS.items()}
    absent = [name for name in ("stratum", "population") if cols[name] is None]
    if absent:
        raise SurveyKitError(f"not a population table: needs columns stratum1Pop.. (wide) or council, stratum, "
                             f"population (long); no {' or '.join(absent)} column", file=path)
    councils = _council_codes(table, council_col, path, rows)
    stratum = whole_numbers(table[cols["stratum"]], path, rows, cols["stratum"], blank_ok=False)
    if (stratum < 1).any():
        first = int(np.flatnonzero((stratum < 1).to_numpy())[0])
        raise SurveyKitError("strata are numbered from 1", file=path, row=int(rows[first]), column=cols["stratum"])
    out = pd.DataFrame({
        "council": councils.astype("str"), "stratum": stratum.astype("int64"),
        "population": whole_numbers(table[cols["population"]], path, rows, cols["population"],
                                    blank_ok=False).astype("int64"),
        "sample": (whole_numbers(table[cols["sample"]], path, rows, cols["sample"], blank_ok=True)
                   if cols["sample"] else pd.Series(pd.NA, index=table.index, dtype="Int64"))})
    for h in table.columns:
        m = LONG_SUB.match(standard_header(h))
        if m and h != cols["population"]:
            out[f"population_{m.group(1)}"] = whole_numbers(table[h], path, rows, h, blank_ok=True).fillna(0)
    key = out["council"] + "\x1f" + out["stratum"].astype("str")
    no_duplicates(key, path, rows, cols["stratum"], what="council and stratum")
    k = int(out["stratum"].max()) if len(out) else 0
    order = pd.Categorical(out["council"], categories=pd.unique(out["council"]))
    counts = pd.crosstab(order, out["stratum"]).reindex(columns=range(1, k + 1), fill_value=0)
    gaps = np.argwhere(counts.to_numpy() == 0)
    if len(gaps):
        council = counts.index[gaps[0][0]]
        first = int(np.flatnonzero((out["council"] == council).to_numpy())[0])
        raise SurveyKitError(f"council {council} has no row for stratum {gaps[0][1] + 1} "
                             f"(every council needs strata 1-{k})", file=path, row=int(rows[first]),
                             column=cols["stratum"])
    out["_order"] = order.codes
    return out.sort_values(["_order", "stratum"], kind="stable").drop(columns="_order").reset_index(drop=True)


def find(headers, wanted, taken=()) -> str | None:
    """The first header whose standardised text is one of ``wanted`` (in that order of preference)."""
    std = {}
    for h in headers:
        if h not in taken:
            std.setdefault(standard_header(h), h)
    return next((std[w] for w in wanted if w in std), None)


def whole_numbers(values: pd.Series, path, rows, column: str, *, blank_ok: bool) -> pd.Series:
    """Non-negative integers (Int64); blanks allowed only where ``blank_ok``; errors name the cell."""
    bad = BadCells(str(path))
    number = as_number(values, np.asarray(rows), column, bad)
    if bad.found:
        at, _, shown, why = bad.found[0]
        what = "not a whole number of people (0 or more)"
        if why.startswith("not a usable"):
            infinite = str(shown[0]).strip().lower().lstrip("+-") in ("inf", "infinity")
            what = "infinite, not a number of people" if infinite else "far too large for a number of people"
        raise SurveyKitError(f"{shown_value(shown[0])} is {what}", file=path, row=int(at[0]), column=column,
                             value=shown[0])
    blank = number.isna().to_numpy()
    if not blank_ok and blank.any():
        first = int(np.flatnonzero(blank)[0])
        raise SurveyKitError("blank: every council needs a value here", file=path, row=int(rows[first]),
                             column=column)
    wrong = ~blank & ((number < 0) | (number != np.round(number))).to_numpy()
    if wrong.any():
        first = int(np.flatnonzero(wrong)[0])
        raise SurveyKitError(f"{shown_value(values.iloc[first])} is not a whole number of people (0 or more)",
                             file=path, row=int(rows[first]), column=column, value=values.iloc[first])
    return number.astype("Int64")


def _council_codes(table: pd.DataFrame, column: str, path, rows) -> pd.Series:
    codes = table[column]
    blank = codes.isna().to_numpy()
    if blank.any():
        first = int(np.flatnonzero(blank)[0])
        raise SurveyKitError("blank council code", file=path, row=int(rows[first]), column=column)
    invisible = codes.astype("str").str.contains(CONTROL, regex=True).to_numpy()
    if invisible.any():
        first = int(np.flatnonzero(invisible)[0])
        raise SurveyKitError(f"council code {shown_value(visible(codes.iloc[first]))} holds a control character",
                             file=path, row=int(rows[first]), column=column)
    return codes


def no_duplicates(keys: pd.Series, path, rows, column, what="council") -> None:
    dup = keys.duplicated().to_numpy()
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        shown = shown_value(str(keys.iloc[first]).replace("\x1f", " stratum "))
        raise SurveyKitError(f"the same {what} appears twice ({shown})", file=path, row=int(rows[first]),
                             column=column, value=keys.iloc[first])
