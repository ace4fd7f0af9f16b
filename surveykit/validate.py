"""Check a raw return against its questionnaire spec and account for every input row.

``validate`` recodes missing codes to NaN, sets out-of-range codes missing, derives each row's
stratum, and decides row by row whether it is used; the Ledger records why each row that is not
used was dropped, so its counts reconcile with the input. Problems are collected with severity,
file, row, column, value, rule and message; ``strict=True`` raises the first error instead.

Checks run in this order (strict mode stops at the first error, in file order within a check):
required columns, council codes, duplicate serial numbers, Response, code ranges, answers from
non-respondents, strata, eligible populations. A row excluded for several reasons gets the first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError

# rule -> severity. Errors mean the return is wrong in a way that changes results if ignored;
# warnings are fixed here (value set missing, row excluded) and reported so the council can correct.
RULES = {
    "missing column": "error",
    "missing council": "error",
    "unknown council": "error",
    "duplicate serial number": "error",
    "response missing or invalid": "error",
    "out of range": "warning",
    "answers from non-respondent": "warning",
    "no stratum": "warning",
    "no population for stratum": "error",
    "population smaller than sample": "error",
}

# Ledger reasons, in the order they take precedence when a row has several.
REASONS = [
    "no council code",
    "unknown council",
    "duplicate serial number",
    "response missing or invalid",
    "non-respondent",
    "no stratum",  # refined to "no stratum: missing <column>"
    "no eligible population",
]

PROBLEM_COLUMNS = ["severity", "file", "row", "column", "value", "rule", "message"]
LEDGER_COLUMNS = ["_file", "_row", "used", "reason"]  # plus the spec's id and council columns


@dataclass
class SurveyReturn:
    """A validated return: usable respondent rows, the row Ledger and the problems found."""

    data: pd.DataFrame
    spec: object
    ledger: pd.DataFrame
    problems: pd.DataFrame
    source: str
    checksum: str

    def summary(self) -> pd.Series:
        """Row counts: read, used, then excluded by reason (they add up to rows read)."""
        excluded = self.ledger.loc[~self.ledger["used"], "reason"].value_counts()
        counts = {"rows read": len(self.ledger), "used": int(self.ledger["used"].sum())}
        counts.update({f"excluded: {reason}": int(n) for reason, n in excluded.items()})
        return pd.Series(counts, name="rows", dtype="int64")


# ------------------------------------------------------------------------------------ problems

class _Problems:
    """Collects problems as small frames; in strict mode the first error raises at once."""

    def __init__(self, strict: bool):
        self.strict = strict
        self.parts: list[pd.DataFrame] = []

    def add(self, rule, files, rows, column, values, messages) -> None:
        n = len(rows)
        if n == 0:
            return
        severity = RULES[rule]
        part = pd.DataFrame({
            "severity": np.full(n, severity, dtype=object),
            "file": _as_str_array(files, n),
            "row": pd.array(rows, dtype="Int64"),
            "column": _as_str_array(column, n),
            "value": _format_values(values, n),
            "rule": np.full(n, rule, dtype=object),
            "message": _as_str_array(messages, n),
        })
        if self.strict and severity == "error":
            first = part.iloc[0]
            raise SurveyKitError(first["message"], file=first["file"],
                                 row=None if pd.isna(first["row"]) else int(first["row"]),
                                 column=first["column"] or None, value=first["value"] or None)
        self.parts.append(part)

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            out = pd.DataFrame({c: pd.Series(dtype="str") for c in PROBLEM_COLUMNS})
            out["row"] = pd.Series(dtype="Int64")
            return out
        out = pd.concat(self.parts, ignore_index=True)
        for c in PROBLEM_COLUMNS:
            if c != "row":
                out[c] = out[c].astype("str")
        return out


def _as_str_array(x, n) -> np.ndarray:
    if isinstance(x, (str, type(None))):
        return np.full(n, "" if x is None else x, dtype=object)
    return np.asarray(x, dtype=object).astype(str)


def _format_values(values, n) -> np.ndarray:
    """Values as a person would type them: 7 not 7.0, blank for missing."""
    if isinstance(values, (str, type(None))):
        return np.full(n, "" if values is None else values, dtype=object)
    s = pd.Series(np.asarray(values, dtype=object))
    num = pd.to_numeric(s, errors="coerce")
    whole = num.notna() & (num == np.floor(num.fillna(0)))
    text = s.astype("str").where(s.notna(), "")
    text = text.where(~whole, num.where(whole, 0).astype("int64").astype("str"))
    return text.to_numpy(dtype=object)


# ------------------------------------------------------------------------------------- helpers

def _input_frame(raw):
    """(data with _file/_row, source, checksum) from a RawReturn or a plain DataFrame."""
    if isinstance(raw, pd.DataFrame):
        df, source, checksum = raw, raw.attrs.get("source", "<data frame>"), None
    else:
        df, source, checksum = raw.data, str(getattr(raw, "source", "<data>")), getattr(raw, "checksum", None)
    df = df.reset_index(drop=True)
    if "_file" not in df:
        df = df.assign(_file=Path(str(source)).name)
    if "_row" not in df:
        df = df.assign(_row=np.arange(len(df)) + 2)  # as a CSV line number, header = line 1
    return df, source, checksum


def _frame_checksum(df: pd.DataFrame, numeric: list[str], values: np.ndarray) -> str:
    """sha256 of an in-memory return (no file to hash): the numeric block, then the text columns."""
    digest = hashlib.sha256(memoryview(np.asfortranarray(values).T))  # no copy of the block
    for c in df.columns:
        if c not in numeric and c not in ("_file", "_row"):
            digest.update("\x1f".join(df[c].astype("str").fillna("").tolist()).encode())
    return digest.hexdigest()


def _allowed(col) -> np.ndarray | None:
    return np.array(sorted(float(c) for c in col.codes)) if col.codes else None


def _in_codes(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """np.isin for a code list, without isin's sort: equality tests for a few codes, else binary search."""
    codes = np.sort(np.asarray(codes, dtype=float))
    if len(codes) <= 8:
        hit = x == codes[0]
        for c in codes[1:]:
            hit |= x == c
        return hit
    at = np.clip(np.searchsorted(codes, x), 0, len(codes) - 1)
    return codes[at] == x


def _blank(series: pd.Series) -> np.ndarray:
    return (series.isna() | (series.astype("str").str.strip() == "")).to_numpy()


def _population_frame(population):
    """(long population frame, file name) from a path or a DataFrame."""
    if population is None:
        return None, None
    if isinstance(population, (str, Path)):
        from surveykit.io import read_population

        frame = read_population(population)
        return frame, str(population)
    return population, str(population.attrs.get("source", "population"))


# ------------------------------------------------------------------------------------ validate

def validate(raw, spec, population=None, councils=None, strict: bool = False) -> SurveyReturn:
    """Validate a raw return (``io.RawReturn`` or DataFrame in raw-return shape) against ``spec``.

    ``population``: long eligible-population frame (``council, stratum, population, sample``) or a
    path ``io.read_population`` reads; ``councils``: council lookup with a ``council`` column, or its
    path. With either, council codes not in it are unknown. ``strict`` raises the first error as SurveyKitError.
    """
    df, source, checksum = _input_frame(raw)
    n = len(df)
    problems = _Problems(strict)
    files, rows = df["_file"].astype("str").to_numpy(), df["_row"].to_numpy()
    council_col, id_col, resp_col = spec.council_column, spec.id_column, spec.respondent_column
    reason = np.full(n, "", dtype=object)

    def exclude(mask, why):
        """Give ``why`` to rows in ``mask`` that have no earlier reason (precedence = call order)."""
        reason[mask & (reason == "")] = why

    # Required columns: the three that identify a row cannot be done without.
    missing = [c for c, s in spec.columns.items() if s.required and c not in df]
    for c in missing:
        problems.add("missing column", [source], [None], c, None,
                     f"required column {c} is not in the return")
    vital = [c for c in (council_col, id_col, resp_col) if c not in df]
    if vital:
        raise SurveyKitError(f"cannot validate without column {vital[0]}", file=source, column=vital[0])
    df = df.assign(**{c: np.nan for c in missing})

    # Councils.
    council = df[council_col].astype("str").str.strip().to_numpy(dtype=object)
    no_council = _blank(df[council_col])
    problems.add("missing council", files[no_council], rows[no_council], council_col, None,
                 "no council code: row excluded")
    exclude(no_council, "no council code")
    pop, pop_file = _population_frame(population)
    if isinstance(councils, (str, Path)):
        from surveykit.io import read_councils

        councils = read_councils(councils)
    tables = [(t, name) for t, name in ((pop, f"population table ({pop_file})"), (councils, "council lookup"))
              if t is not None]
    council_s = pd.Series(council, dtype="str")
    missing_from = [~council_s.isin(t["council"].astype("str").str.strip()).to_numpy() for t, _ in tables]
    unknown = ~no_council & np.logical_or.reduce(missing_from) if tables else np.zeros(n, bool)
    known = ~no_council & ~unknown
    where = [" or the ".join(name for (_, name), m in zip(tables, missing_from) if m[i])
             for i in np.flatnonzero(unknown)]
    problems.add("unknown council", files[unknown], rows[unknown], council_col, council[unknown],
                 [f"council code {c} is not in the {w}: row excluded" for c, w in zip(council[unknown], where)])
    exclude(unknown, "unknown council")

    # Duplicate serial numbers within a council: keep the first, exclude the rest.
    serial = df[id_col].astype("str").str.strip().to_numpy(dtype=object)
    has_serial = known & ~_blank(df[id_col])
    c_code, _ = pd.factorize(council)
    s_code, _ = pd.factorize(serial)
    pair = c_code.astype(np.int64) * (s_code.max(initial=0) + 2) + s_code   # one integer per council+serial
    key = pd.Series(np.where(has_serial, pair, -1 - np.arange(n)))         # rows not checked never match
    dup_at = np.flatnonzero(key.duplicated(keep="first").to_numpy())
    first_at = pd.Series(np.arange(n)).groupby(key.to_numpy()).transform("first").to_numpy()[dup_at]
    problems.add("duplicate serial number", files[dup_at], rows[dup_at], id_col, serial[dup_at],
                 [f"serial number {serial[i]} repeats row {rows[f]} of council {council[i]}: "
                  "the first is kept, this row is excluded" for i, f in zip(dup_at, first_at)])
    dup_mask = np.zeros(n, bool)
    dup_mask[dup_at] = True
    exclude(dup_mask, "duplicate serial number")

    # Numeric columns: missing codes to NaN (text that is not a number counts as out of range).
    numeric = [c for c, s in spec.columns.items() if s.kind != "string" and c in df]
    values = np.empty((n, len(numeric)), order="F")
    for k, c in enumerate(numeric):
        col = df[c]
        if pd.api.types.is_numeric_dtype(col.dtype):
            values[:, k] = col.to_numpy(dtype=float, na_value=np.nan)
            continue
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        text = np.isnan(x) & ~_blank(col)
        problems.add("out of range", files[text], rows[text], c, col[text].to_numpy(dtype=object),
                     f"{c} is not a number: set missing")
        values[:, k] = x
    if checksum is None:
        checksum = _frame_checksum(df, numeric, values)
    for code in spec.missing_codes:
        values[values == float(code)] = np.nan
    at = {c: k for k, c in enumerate(numeric)}

    # Response.
    response = values[:, at[resp_col]]
    resp_codes = _allowed(spec.columns[resp_col])
    bad_resp = np.isnan(response) | (~_in_codes(response, resp_codes) if resp_codes is not None else False)
    problems.add("response missing or invalid", files[bad_resp], rows[bad_resp], resp_col, response[bad_resp],
                 [("Response is blank" if np.isnan(v) else f"Response {_format_values([v], 1)[0]} is not a valid code")
                  + ": row excluded" for v in response[bad_resp]])
    exclude(bad_resp, "response missing or invalid")
    respondent = ~bad_resp & (response == spec.respondent_value)

    # Code ranges; items are checked only for respondents (a non-respondent's answers are reported
    # below). Easy-read items come last: their valid codes depend on the (cleaned) Questionnaire value.
    q_col = spec.questionnaire_column if spec.questionnaire_column in at else None
    easy = {c: spec.items[c].easy_read for c in numeric
            if q_col and c in spec.items and spec.items[c].easy_read is not None}
    checked = [c for c in numeric if c != resp_col and c not in easy
               and (spec.columns[c].codes is not None or spec.columns[c].range is not None)]
    for c in checked + list(easy):
        x = values[:, at[c]]
        bad = _out_of_range(x, spec.columns[c])
        is_easy = None
        if c in easy:
            is_easy = _in_codes(values[:, at[q_col]], np.asarray(easy[c].questionnaire_values, dtype=float))
            bad_easy = ~np.isnan(x) & ~_in_codes(x, np.array(sorted(float(k) for k in easy[c].codes)))
            bad = np.where(is_easy, bad_easy, bad)
        if spec.columns[c].is_item:
            bad &= respondent
        if not bad.any():
            continue
        shown = _format_values(x[bad], int(bad.sum()))
        version = is_easy[bad] if is_easy is not None else np.zeros(len(shown), bool)
        problems.add("out of range", files[bad], rows[bad], c, shown,
                     [f"{c} = {v} is not a valid {'easy-read ' if e else ''}code: set missing"
                      for v, e in zip(shown, version)])
        x[bad] = np.nan  # x is a view into values

    # Non-respondents: answers are reported; the row is excluded as a non-respondent anyway.
    items = [c for c in numeric if spec.columns[c].is_item]
    non_resp = ~bad_resp & ~respondent
    if items:
        answered = ~np.isnan(values[:, [at[c] for c in items]])
        has = non_resp & answered.any(axis=1)
        first = answered[has].argmax(axis=1)
        cols = np.array(items, dtype=object)[first]
        vals = values[np.flatnonzero(has), np.array([at[c] for c in cols], dtype=int)] if has.any() else []
        counts = answered[has].sum(axis=1)
        problems.add("answers from non-respondent", files[has], rows[has], cols, vals,
                     [f"non-respondent (Response = {_format_values([r], 1)[0]}) has {k} answer(s), first {c}: "
                      "answers ignored, row excluded as non-respondent"
                      for r, k, c in zip(response[has], counts, cols)])
    exclude(non_resp, "non-respondent")

    # Strata, from the cleaned values.
    clean = pd.DataFrame(values, columns=numeric, copy=False)
    stratum = spec.derive_stratum(clean).astype("Int64")
    no_stratum = stratum.isna().to_numpy()
    why = np.full(n, "values fit no stratum", dtype=object)
    for c in reversed(list(spec.stratum_requires)):
        why = np.where(np.isnan(values[:, at[c]]) if c in at else True, f"missing {c}", why)
    report = no_stratum & (reason == "")
    problems.add("no stratum", files[report], rows[report],
                 [w.removeprefix("missing ") if w.startswith("missing ") else "" for w in why[report]],
                 None, [f"no stratum: {w}: row excluded" for w in why[report]])
    reason[report] = np.char.add("no stratum: ", why[report].astype(str)).astype(object)

    # Eligible populations.
    if pop is not None:
        _check_population(pop, pop_file, council, stratum, known & ~dup_mask, reason, files, rows, problems,
                          council_col)

    used = reason == ""
    ledger = pd.DataFrame({
        "_file": df["_file"].astype("str"), "_row": df["_row"],
        id_col: df[id_col].astype("str"), council_col: df[council_col].astype("str"),
        "used": used, "reason": pd.Series(reason, dtype="str"),
    })
    kept = pd.DataFrame(values[used], columns=numeric, copy=False)  # build only the rows kept
    others = df.loc[used, [c for c in df.columns if c not in at]].reset_index(drop=True)
    data = pd.concat([kept, others], axis=1)[list(df.columns)]
    data["stratum"] = stratum[used].reset_index(drop=True)
    data = spec.combine_easy_read(data)
    return SurveyReturn(data, spec, ledger, problems.frame(), str(source), checksum)


def _out_of_range(x: np.ndarray, s) -> np.ndarray:
    """True where a non-missing value is not one of the codes / outside the range / not whole."""
    present = ~np.isnan(x)
    if s.codes is not None:
        return present & ~_in_codes(x, _allowed(s))
    lo, hi = s.range
    bad = present & ((x < float(lo)) | (x > float(hi)))
    if s.kind in ("integer", "code"):
        bad |= present & (x != np.floor(x))
    return bad


def _check_population(pop, pop_file, council, stratum, countable, reason, files, rows, problems, council_col):
    """Respondents need a population for their council-stratum; no population below its sample."""
    pop = pop.assign(council=pop["council"].astype("str").str.strip())
    have = pd.MultiIndex.from_frame(pop[["council", "stratum"]].astype({"stratum": "int64"}))
    s = stratum.to_numpy(dtype="float64", na_value=np.nan)
    ok = countable & ~np.isnan(s)
    key = pd.MultiIndex.from_arrays([council, np.nan_to_num(s, nan=-1).astype(np.int64)])
    missing = ok & (reason == "") & ~key.isin(have)
    problems.add("no population for stratum", files[missing], rows[missing], council_col, council[missing],
                 [f"no eligible population for council {c} stratum {int(h)} in {pop_file}: row excluded"
                  for c, h in zip(council[missing], s[missing])])
    reason[missing & (reason == "")] = "no eligible population"

    sampled = pd.Series(1, index=key[ok]).groupby(level=[0, 1]).size()
    table = pop.set_index(["council", "stratum"])
    in_return = sampled.reindex(table.index).fillna(0).to_numpy()
    declared = pd.to_numeric(table["sample"], errors="coerce").fillna(0).to_numpy() if "sample" in table else 0
    needed = np.maximum(in_return, declared)
    small = table["population"].to_numpy(dtype=float) < needed
    if not small.any():
        return
    order = {c: i + 2 for i, c in enumerate(pop["council"].unique())}  # wide file: one line per council
    pop_rows = pop["_row"].to_numpy() if "_row" in pop else np.array([order[c] for c in pop["council"]])
    idx = np.flatnonzero(small)
    bad = table.iloc[idx]
    problems.add("population smaller than sample", [pop_file] * len(idx), pop_rows[idx],
                 [f"stratum{h}Pop" for _, h in bad.index], bad["population"].to_numpy(),
                 [f"council {c} stratum {h}: eligible population {int(p)} is smaller than the {int(m)} sampled"
                  for (c, h), p, m in zip(bad.index, bad["population"], needed[idx])])
