"""Check a raw return against its questionnaire spec and account for every input row.

``validate`` recodes missing codes to NaN, sets invalid cells missing, applies NHS Digital's row checks,
derives each row's stratum, chooses the eligible populations (a population file wins over the ones the
workbook carries, and any difference is reported), and decides row by row whether it is used; the Ledger
records why each row that is not used was dropped, so its counts reconcile with the input.

The checks, in the order ``strict=True`` meets them (it stops at the first error, in file order within a
check): problems found while reading, required columns, columns the outputs need (a missing one is one
warning and the outputs that need it are omitted), council codes, duplicated serial numbers (every row of
a duplicate is reported; NHS Digital keeps them all), Response, whole numbers and code ranges, answers
from non-respondents (one problem per answered cell), values non-respondents must have (Advocate and
Interpreter are 2), multi-choice questions (all parts answered or all blank, not every part "no"), items
not asked of a respondent (Q2c), strata, eligible populations. A row excluded for several reasons gets the
first. How the return, the populations and the council lookup must fit each other (the other survey's table is
refused, a council either table lacks is one problem per table naming both files, a population smaller than
its stratum's respondents leaves their rows out) is surveykit/fit.py's docstring.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.fit import check_shape, council_problems
from surveykit.problems import Problems, format_values

# Ledger reasons, in the order they take precedence when a row has several.
REASONS = [
    "no council code",
    "unknown council",
    "response missing or invalid",
    "non-respondent",
    "no stratum",  # refined to "no stratum: missing <column>"
    "no eligible population",
    "eligible population smaller than respondents",
]

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
    population: pd.DataFrame | None = None     # the eligible populations chosen (file, or the workbook's)
    population_source: str = ""
    omitted: dict = field(default_factory=dict)   # output -> why it cannot be made from this return
    empty_form_rows: int = 0
    files: pd.DataFrame | None = None

    def summary(self) -> pd.Series:
        """Row counts: read, used, then excluded by reason (they add up to rows read)."""
        excluded = self.ledger.loc[~self.ledger["used"], "reason"].value_counts()
        counts = {"rows read": len(self.ledger), "used": int(self.ledger["used"].sum())}
        counts.update({f"excluded: {reason}": int(n) for reason, n in excluded.items()})
        return pd.Series(counts, name="rows", dtype="int64")

    @property
    def errors(self) -> int:
        return int((self.problems["severity"] == "error").sum())


# ------------------------------------------------------------------------------------- helpers

def _input_frame(raw):
    """(data with _file/_row, source, checksum, raw or None) from a RawReturn or a plain DataFrame."""
    if isinstance(raw, pd.DataFrame):
        df, source, checksum, reader = raw, raw.attrs.get("source", "<data frame>"), None, None
    else:
        df, source, checksum, reader = raw.data, str(getattr(raw, "source", "<data>")), \
            getattr(raw, "checksum", None), raw
    df = df.reset_index(drop=True)
    if "_file" not in df:
        df = df.assign(_file=Path(str(source)).name)
    if "_row" not in df:
        df = df.assign(_row=np.arange(len(df)) + 2)  # as a CSV line number, header = line 1
    return df, source, checksum, reader


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


def _table(table, reader, name):
    """(frame, file name) from a path or a DataFrame."""
    if table is None:
        return None, None
    if isinstance(table, (str, Path)):
        frame = reader(table)
        return frame, str(table)
    return table, str(table.attrs.get("source", name))


def output_columns(spec) -> dict[str, list[str]]:
    """Data column -> the outputs that need it (measures, question tables, the published splits)."""
    needs: dict[str, list[str]] = {}

    def need(column, output):
        base = spec.combined_names.get(column)
        for c in ([column] if base is None else [base, spec.questionnaire_column]):
            if c in spec.columns:
                needs.setdefault(c, []).append(output)

    for code, m in spec.measures.items():
        for c in m.columns:
            need(c, f"measure {code}")
    for name, item in spec.items.items():
        need(name, f"question {name}")
        if item.easy_read is not None and spec.questionnaire_column:
            need(spec.questionnaire_column, f"question {item.easy_read.combined_name}")
    for name in ("sex", "age_group"):
        if name in spec.groupings:
            need(spec.groupings[name].column, f"breakdown {name}")
    return {c: list(dict.fromkeys(v)) for c, v in needs.items()}


# ------------------------------------------------------------------------------------ validate

def validate(raw, spec, population=None, councils=None, strict: bool = False) -> SurveyReturn:
    """Validate a raw return (``read.RawReturn`` or DataFrame in raw-return shape) against ``spec``.

    ``population``: long eligible-population frame (``council, stratum, population, sample``) or a
    path ``read_population`` reads; without it, the populations the return carries (an official
    workbook's) are used. ``councils``: council lookup with a ``council`` column, or its path. With
    either, council codes not in them are unknown. ``strict`` raises the first error as SurveyKitError.
    """
    from surveykit.read import read_councils, read_population

    df, source, checksum, reader = _input_frame(raw)
    n = len(df)
    problems = Problems(strict)
    if reader is not None:
        problems.extend(reader.problems)
    files, rows = df["_file"].astype("str").to_numpy(), df["_row"].to_numpy()
    council_col, id_col, resp_col = spec.council_column, spec.id_column, spec.respondent_column
    reason = np.full(n, "", dtype=object)

    def exclude(mask, why):
        """Give ``why`` to rows in ``mask`` that have no earlier reason (precedence = call order)."""
        reason[mask & (reason == "")] = why

    # Required columns, then the ones some output needs.
    for c in [c for c, s in spec.columns.items() if s.required and c not in df]:
        problems.add("missing column", [source], [None], c, None, f"required column {c} is not in the return")
    vital = [c for c in (council_col, id_col, resp_col, *spec.stratum_requires) if c not in df]
    if vital:
        raise SurveyKitError(f"cannot validate without column {vital[0]}", file=source, column=vital[0])
    omitted: dict[str, str] = {}
    for c, outputs in output_columns(spec).items():
        if c in df or spec.columns[c].required:
            continue
        shown = ", ".join(outputs[:6]) + (f" and {len(outputs) - 6} more" if len(outputs) > 6 else "")
        problems.add("optional column missing", [source], [None], c, None,
                     f"column {c} is not in the return: omitted {shown}")
        for output in outputs:
            omitted.setdefault(output, f"column {c} is not in the return")

    # Councils.
    pop, pop_file = _table(population, read_population, "population")
    lookup, lookup_file = _table(councils, read_councils, "council lookup")
    carried = getattr(reader, "population", None)
    check_shape(spec, pop if pop is not None else carried, pop_file or source, source)
    council = df[council_col].astype("str").str.strip().to_numpy(dtype=object)
    no_council = _blank(df[council_col])
    problems.add("missing council", files[no_council], rows[no_council], council_col, None,
                 "no council code: row excluded")
    exclude(no_council, "no council code")
    tables = [(t, name) for t, name in ((pop, f"population table ({pop_file})"), (lookup, "council lookup"))
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
    council_problems(problems, council, ~no_council, source, pop, pop_file, lookup, lookup_file)

    # Duplicated serial numbers within a council: every row of a duplicate is reported, all are kept.
    serial = df[id_col].astype("str").str.strip().to_numpy(dtype=object)
    has_serial = known & ~_blank(df[id_col])
    c_code, _ = pd.factorize(council)
    s_code, _ = pd.factorize(serial)
    pair = c_code.astype(np.int64) * (s_code.max(initial=0) + 2) + s_code   # one integer per council+serial
    key = pd.Series(np.where(has_serial, pair, -1 - np.arange(n)))         # rows not checked never match
    dup_at = np.flatnonzero(key.duplicated(keep=False).to_numpy())
    if len(dup_at):
        groups = pd.Series(rows[dup_at]).groupby(key.to_numpy()[dup_at]).agg(list)
        others = {k: v for k, v in groups.items()}
        problems.add("duplicate serial number", files[dup_at], rows[dup_at], id_col, serial[dup_at],
                     [f"serial number {serial[i]} is on {len(others[key.iloc[i]])} rows of council {council[i]} "
                      f"(rows {', '.join(map(str, others[key.iloc[i]][:6]))}): each person needs their own"
                      for i in dup_at])

    # Numeric columns: missing codes to NaN (text that is not a number is an invalid entry).
    numeric = [c for c, s in spec.columns.items() if s.kind != "string" and c in df]
    values = np.empty((n, len(numeric)), order="F")
    for k, c in enumerate(numeric):
        col = df[c]
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            values[:, k] = col.to_numpy(dtype=float, na_value=np.nan)
            continue
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        text = (np.isnan(x) & ~_blank(col)) | pd.api.types.is_bool_dtype(col.dtype)
        problems.add("not a number", files[text], rows[text], c, col[text].to_numpy(dtype=object),
                     f"{c} is not a number: set missing")
        values[:, k] = np.where(text, np.nan, x)
    with np.errstate(invalid="ignore"):
        wild = ~np.isfinite(values) & ~np.isnan(values)
    for k in np.flatnonzero(wild.any(axis=0)):
        bad = wild[:, k]
        problems.add("not a number", files[bad], rows[bad], numeric[k], values[bad, k],
                     f"{numeric[k]} is not a usable number: set missing")
        values[bad, k] = np.nan
    if checksum is None:
        checksum = _frame_checksum(df, numeric, values)
    for code in spec.missing_codes:
        values[values == float(code)] = np.nan
    at = {c: k for k, c in enumerate(numeric)}

    # Response.
    response = values[:, at[resp_col]]
    resp_codes = _allowed(spec.columns[resp_col])
    bad_resp = np.isnan(response) | (~_in_codes(response, resp_codes) if resp_codes is not None else False)
    unusable = _flagged(reader, resp_col, spec, files, rows)   # a cell reading set missing (text, inf): not blank
    problems.add("response missing or invalid", files[bad_resp], rows[bad_resp], resp_col, response[bad_resp],
                 [(("Response is not a number" if u else "Response is blank") if np.isnan(v)
                   else f"Response {format_values([v], 1)[0]} is not a valid code") + ": row excluded"
                  for v, u in zip(response[bad_resp], unusable[bad_resp])])
    exclude(bad_resp, "response missing or invalid")
    respondent = ~bad_resp & (response == spec.respondent_value)
    non_resp = ~bad_resp & ~respondent

    # Whole numbers and code ranges; items are checked only for respondents (a non-respondent's answers
    # are reported below). Easy-read items come last: their codes depend on the (cleaned) Questionnaire.
    q_col = spec.questionnaire_column if spec.questionnaire_column in at else None
    easy = {c: spec.items[c].easy_read for c in numeric
            if q_col and c in spec.items and spec.items[c].easy_read is not None}
    checked = [c for c in numeric if c != resp_col and c not in easy
               and (spec.columns[c].codes is not None or spec.columns[c].range is not None)]
    for c in checked + list(easy):
        x = values[:, at[c]]
        s = spec.columns[c]
        scope = respondent if s.is_item else np.ones(n, bool)
        if s.kind in ("code", "integer"):
            with np.errstate(invalid="ignore"):
                fraction = scope & ~np.isnan(x) & (x != np.floor(x))
            if fraction.any():
                shown = format_values(x[fraction], int(fraction.sum()))
                problems.add("not a whole number", files[fraction], rows[fraction], c, shown,
                             [f"{c} = {v} is not a whole number: set missing" for v in shown])
                x[fraction] = np.nan
        bad = _out_of_range(x, s)
        is_easy = None
        if c in easy:
            is_easy = _in_codes(values[:, at[q_col]], np.asarray(easy[c].questionnaire_values, dtype=float))
            bad_easy = ~np.isnan(x) & ~_in_codes(x, np.array(sorted(float(k) for k in easy[c].codes)))
            bad = np.where(is_easy, bad_easy, bad)
        bad &= scope
        if not bad.any():
            continue
        shown = format_values(x[bad], int(bad.sum()))
        version = is_easy[bad] if is_easy is not None else np.zeros(len(shown), bool)
        problems.add("out of range", files[bad], rows[bad], c, shown,
                     [f"{c} = {v} is not a valid {'easy-read ' if e else ''}code: set missing"
                      for v, e in zip(shown, version)])
        x[bad] = np.nan  # x is a view into values

    # Non-respondents: every answered cell is reported; the answers are ignored (the row is excluded).
    items = [c for c in numeric if spec.columns[c].is_item]
    if items:
        who = np.flatnonzero(non_resp)                  # only their rows are looked at
        block = values[np.ix_(who, [at[c] for c in items])]
        hit, hit_cols = np.nonzero(~np.isnan(block))
        hit_rows = who[hit]
        names = np.array(items, dtype=object)[hit_cols]
        problems.add("answers from non-respondent", files[hit_rows], rows[hit_rows], names,
                     block[hit, hit_cols],
                     [f"{c} is answered but the person did not respond (Response = "
                      f"{format_values([response[r]], 1)[0]}): should be blank; ignored" for r, c in zip(hit_rows, names)])
    for c, wanted in spec.non_respondent_values.items():
        if c not in at:
            continue
        x = values[:, at[c]]
        wrong = non_resp & (x != wanted)
        problems.add("value for non-respondent", files[wrong], rows[wrong], c, x[wrong],
                     f"{c} must be {wanted} when the person did not respond: set missing")
        x[wrong] = np.nan
    exclude(non_resp, "non-respondent")

    # Multi-choice questions: all parts answered or all blank, and not every part "no" (2).
    for name, mc in spec.multi_choice.items():
        parts = [p for p in mc.parts if p in at]
        if len(parts) != len(mc.parts):
            continue
        block = values[:, [at[p] for p in parts]]
        blank = np.isnan(block)
        wrong = respondent & ((blank.any(axis=1) & ~blank.all(axis=1)) | (block == 2).all(axis=1))
        if wrong.any():
            shown = [" ".join("-" if np.isnan(v) else format_values([v], 1)[0] for v in r) for r in block[wrong]]
            problems.add("multi-choice answers inconsistent", files[wrong], rows[wrong], ",".join(parts), shown,
                         f"{name} parts {', '.join(parts)} are a mix of answered and blank, or all 2 (not "
                         "selected): all set missing, as NHS Digital does")
            for p in parts:
                values[wrong, at[p]] = np.nan

    # Items not asked of some respondents (Q2c): their answers are set missing, as NHS Digital does.
    clean = pd.DataFrame(values, columns=numeric, copy=False)
    from surveykit.questionnaire import conditions_mask
    for name, item in spec.items.items():
        if not item.asked_of or name not in at or any(c.column not in at for c in item.asked_of):
            continue
        x = values[:, at[name]]
        wrong = respondent & ~np.isnan(x) & ~conditions_mask(clean, item.asked_of)
        problems.add("not asked of this respondent", files[wrong], rows[wrong], name, x[wrong],
                     f"{name} is not asked of this respondent (learning disability support, or residential "
                     "or nursing care): set missing, as NHS Digital does")
        x[wrong] = np.nan

    # Strata, from the cleaned values.
    stratum = spec.derive_stratum(clean).astype("Int64")
    no_stratum = stratum.isna().to_numpy()
    why = np.full(n, "values fit no stratum", dtype=object)
    for c in reversed(list(spec.stratum_requires)):
        why = np.where(np.isnan(values[:, at[c]]) if c in at else True, f"missing {c}", why)
    report = no_stratum & (reason == "")
    form_counts = _form_would_count(spec, values, at) & report
    problems.add("no stratum", files[report], rows[report],
                 [w.removeprefix("missing ") if w.startswith("missing ") else "" for w in why[report]],
                 None, [f"no stratum: {w}: row excluded" + (
                     " (the council's own form puts learning disability support in stratum 1 and counts this "
                     "person, so its base is larger than the publication's)" if f else "")
                     for w, f in zip(why[report], form_counts[report])])
    reason[report] = np.char.add("no stratum: ", why[report].astype(str)).astype(object)

    # Eligible populations: the file given, else the workbook's own; the first is checked against the other.
    pop_source = pop_file or ""
    if pop is not None and carried is not None:
        _compare_populations(pop, pop_file, carried, source, problems)
    if pop is None and carried is not None:
        pop, pop_file, pop_source = carried, f"{Path(str(source)).name} (Eligible Population sheet)", "workbook"
    if pop is not None:
        fixed = _check_population(pop, pop_file, council, stratum, known, reason, files, rows, problems,
                                  council_col)
        _check_sub_populations(spec, pop, pop_file, problems)
        pop = pop if fixed is None else fixed

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
    if spec.questionnaire_column in data.columns:
        data = spec.combine_easy_read(data)
    return SurveyReturn(data, spec, ledger, problems.frame(), str(source), checksum, pop,
                        pop_source or (pop_file or ""), omitted,
                        int(getattr(reader, "empty_form_rows", 0) or 0), getattr(reader, "files", None))


def _flagged(reader, column, spec, files, rows) -> np.ndarray:
    """Rows whose ``column`` cell the reader set missing as unusable (reported as "not a number")."""
    found = getattr(reader, "problems", None)
    if found is None or not len(found):
        return np.zeros(len(rows), bool)
    from surveykit.read.cells import standard_header
    from surveykit.read.headers import spec_lookup

    lookup = spec_lookup(spec)
    mine = found[found["column"].map(lambda c: lookup.get(standard_header(c)) == column)]
    if not len(mine):
        return np.zeros(len(rows), bool)
    keys = set(zip(mine["file"].astype("str"), mine["row"].astype("Int64").fillna(-1).astype("int64")))
    return np.fromiter(((f, int(r)) in keys for f, r in zip(files, rows)), bool, len(rows))


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


def _form_would_count(spec, values, at) -> np.ndarray:
    """Rows the official form gives a stratum although the publication does not: learning disability
    support (the form's stratum 1) with age or setting missing."""
    psr = "PrimarySupportReason"
    if psr not in at or psr not in spec.stratum_requires:
        return np.zeros(len(values), bool)
    return values[:, at[psr]] == 7


def _compare_populations(given, given_file, carried, source, problems) -> None:
    """Where a population file and the workbook disagree, say so (the file's figure is used)."""
    a = given.assign(council=given["council"].astype("str")).set_index(["council", "stratum"])["population"]
    b = carried.assign(council=carried["council"].astype("str")).set_index(["council", "stratum"])["population"]
    both = a.index.intersection(b.index)
    differ = [k for k in both if int(a[k]) != int(b[k])]
    for council, h in differ:
        problems.add("population differs", [given_file], [None], f"stratum{h}Pop", [int(a[(council, h)])],
                     [f"council {council} stratum {h}: the population file says {int(a[(council, h)])}, the "
                      f"workbook's Eligible Population sheet {int(b[(council, h)])}: the file's figure is used"])


def _check_sub_populations(spec, pop, pop_file, problems) -> None:
    """A named population the spec weights an item by, absent from the table, is one warning."""
    for name in spec.populations:
        if f"population_{name.lower()}" not in pop.columns:
            users = [f"question {i}" for i, it in spec.items.items() if it.population == name] + \
                    [f"measure {m}" for m, ms in spec.measures.items() if ms.population == name]
            problems.add("sub-population missing", [pop_file], [None], f"population_{name}", None,
                         [f"no {name} population in {pop_file}: {', '.join(users)} weighted by the whole strata's "
                          "populations, not NHS Digital's and the form's own"])


def _pair_ids(table_council, table_stratum, council, stratum) -> tuple:
    """(council, stratum) pairs numbered together for the population table's rows and the return's: (the table
    rows' numbers, the return rows' numbers, whether the table holds each return row's pair, how many numbers
    there are). Codes, not labels: the councils are numbered first, then each pair is one integer (a stratum
    below 0: no pair)."""
    codes, _ = pd.factorize(np.concatenate([table_council, council]))
    strata = int(max(table_stratum.max(initial=0), stratum.max(initial=0))) + 2
    codes = codes.astype(np.int64)
    table_pair = codes[:len(table_council)] * strata + table_stratum
    row_pair = np.where(stratum >= 0, codes[len(table_council):] * strata + stratum, -1)
    _, ids = np.unique(np.concatenate([table_pair, row_pair]), return_inverse=True)
    table_ids, row_ids = ids[:len(table_pair)], ids[len(table_pair):]
    held = np.zeros(ids.max(initial=-1) + 1, dtype=bool)
    held[table_ids] = True
    return table_ids, row_ids, held[row_ids] & (row_pair >= 0), len(held)


def _check_population(pop, pop_file, council, stratum, countable, reason, files, rows, problems, council_col):
    """Respondents need a population for their council-stratum; no population below its sample; a population
    (or sub-population) smaller than the stratum's respondents cannot weight them (fit.py, rule 3).

    Returns the table to weight by: ``pop``, with a sub-population smaller than its stratum's respondents
    replaced by the stratum's own population (reported)."""
    pop = pop.assign(council=pop["council"].astype("str").str.strip())
    pop_council = pop["council"].to_numpy(dtype=object)
    pop_stratum = pop["stratum"].to_numpy(dtype="int64")
    s = stratum.to_numpy(dtype="float64", na_value=np.nan)
    ok = countable & ~np.isnan(s)
    table_ids, row_ids, in_table, pairs = _pair_ids(pop_council, pop_stratum, council,
                                                    np.nan_to_num(s, nan=-1).astype(np.int64))
    missing = ok & (reason == "") & ~in_table
    problems.add("no population for stratum", files[missing], rows[missing], council_col, council[missing],
                 [f"no eligible population for council {c} stratum {int(h)} in {pop_file}: row excluded"
                  for c, h in zip(council[missing], s[missing])])
    reason[missing & (reason == "")] = "no eligible population"

    in_return = np.bincount(row_ids[ok & in_table], minlength=pairs)[table_ids].astype(float)  # per table row
    answering = ok & (reason == "")
    in_use = np.bincount(row_ids[answering & in_table], minlength=pairs)[table_ids].astype(float)
    declared = pd.to_numeric(pop["sample"], errors="coerce").fillna(0).to_numpy() if "sample" in pop else 0
    needed = np.maximum(in_return, declared)
    population = pop["population"].to_numpy(dtype=float)
    small = population < needed
    order = {c: i + 2 for i, c in enumerate(pop["council"].unique())}  # wide file: one line per council
    pop_rows = pop["_row"].to_numpy() if "_row" in pop else np.array([order[c] for c in pop["council"]])
    if small.any():
        idx = np.flatnonzero(small)
        unusable = population[idx] < in_use[idx]
        problems.add("population smaller than sample", [pop_file] * len(idx), pop_rows[idx],
                     [f"stratum{h}Pop" for h in pop_stratum[idx]], pop["population"].to_numpy()[idx],
                     [f"council {c} stratum {h}: eligible population {int(p)} is smaller than the {int(m)} sampled"
                      + (f"; its {int(r)} respondents cannot be weighted (each would stand for less than one "
                         "person): their rows are left out" if u else "")
                      for c, h, p, m, r, u in zip(pop_council[idx], pop_stratum[idx], population[idx], needed[idx],
                                                  in_use[idx], unusable)])
        if unusable.any():
            reason[answering & np.isin(row_ids, table_ids[idx[unusable]])] = \
                "eligible population smaller than respondents"
            in_use[idx[unusable]] = 0

    replaced = {}
    for column in [c for c in pop.columns if c.startswith("population_")]:
        sub = pd.to_numeric(pop[column], errors="coerce").fillna(0).to_numpy(dtype=float)
        short = (sub > 0) & (sub < in_use)
        if not short.any():
            continue
        idx = np.flatnonzero(short)
        name = column.removeprefix("population_")
        problems.add("population smaller than sample", [pop_file] * len(idx), pop_rows[idx],
                     [f"stratum{h}Pop{name}" for h in pop_stratum[idx]], sub[idx],
                     [f"council {c} stratum {h}: the {name} population {int(v)} is smaller than the stratum's {int(r)} "
                      f"respondents: the stratum's whole population is used for {name} there"
                      for c, h, v, r in zip(pop_council[idx], pop_stratum[idx], sub[idx], in_use[idx])])
        replaced[column] = np.where(short, population, sub)
    if not replaced:
        return None
    fixed = pop.copy()
    for column, values in replaced.items():
        fixed[column] = values.astype("int64")
    fixed.attrs.update(pop.attrs)
    return fixed
