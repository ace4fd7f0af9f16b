"""The ASCOF measures laid out as the ASCOF publication lays them out, and the data-quality sheets.

One sheet per measure. Rows are areas, England first, then the regions, then the councils (area type, council
code, ONS code when the council lookup has one, name); columns are the published splits, Total, Male, Female,
18-64 and 65 and over, each with the outcome, its margin of error beside it and the respondents it rests on.
The measure's name and definition head the sheet. Figures are published first (``rules.publish_ascof``:
suppressed rows, rounding halves away from zero, 1J and the ASCOT score to 3 decimal places, as NHS
Digital's ASCOF code rounds them: outcome and margin of error to 1 dp, counts to the nearest 5), then
stored as numbers; a symbol ("[c]") stays text.

The data-quality sheets are the Ledger summary (rows read, used, excluded by reason, empty rows of the
official form skipped) and the Problems found, with their cell references where the readers give them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveykit.publish.annex_counts import natural_order
from surveykit.publish.rules import measure_decimals, note_ref, publish_ascof, publishing_rules, symbols_line
from surveykit.measures import shown_codes
from surveykit.publish.sheet import Block, PublishedSheet

# (breakdown, group, heading) of the splits the ASCOF publication shows, in its order
SPLITS = (("total", "Total", "Total"), ("sex", "Male", "Male"), ("sex", "Female", "Female"),
          ("age_group", "18-64", "Aged 18-64"), ("age_group", "65 and over", "Aged 65 and over"))
AREA_TYPES = {"england": "England", "region": "Region", "council": "Council"}
PROBLEM_ROWS = 10_000   # the workbook lists this many problems at most; problems.csv lists every one


# -------------------------------------------------------------------------------------------- areas

def area_columns(published: pd.DataFrame, councils: pd.DataFrame | None = None):
    """The areas of a published table in the order the tables show them, and their identifying columns.

    Returns (areas, block): ``areas`` has one row per area, England, then regions, then councils (each by
    code), indexed by (area_level, area_code), holding the columns ``block`` heads: area type, then council
    code and ONS code when the lookup has ONS codes (England and the regions have no council code: "[z]"; a
    council missing from the lookup has no ONS code: "[x]"), or else the area code, then the name.
    """
    labels = publishing_rules()["labels"]
    keys = published[["area_level", "area_code", "area_name"]].astype("str").drop_duplicates(
        ["area_level", "area_code"])
    rank = keys["area_level"].map({"england": 0, "region": 1, "council": 2}).fillna(3).tolist()
    codes = keys["area_code"].tolist()   # by code within each level, numbers as numbers: 99, 102, 1000
    keys = keys.iloc[sorted(range(len(keys)), key=lambda i: (rank[i], natural_order(codes[i])))]
    council = (keys["area_level"] == "council").to_numpy()
    areas = pd.DataFrame({"area_type": keys["area_level"].map(AREA_TYPES).fillna(keys["area_level"]).to_numpy()},
                         index=pd.MultiIndex.from_frame(keys[["area_level", "area_code"]]))
    ons = None
    if councils is not None and "ons_code" in councils.columns and councils["ons_code"].notna().any():
        ons = dict(zip(councils["council"].astype("str"), councils["ons_code"]))
    if ons is not None:
        codes = keys["area_code"].to_numpy(dtype=object)
        areas["council_code"] = np.where(council, codes, labels["not_applicable"])
        found = keys["area_code"].map(ons)
        ons_codes = found.where(found.notna() & (found.astype("str") != ""), labels["not_available"])
        areas["ons_code"] = np.where(council, ons_codes.astype("str").to_numpy(dtype=object), codes)
        columns, names = ("area_type", "council_code", "ons_code", "area_name"), \
            ("Area type", "Council code", "ONS code", "Area")
    else:
        areas["area_code_shown"] = keys["area_code"].to_numpy(dtype=object)
        columns, names = ("area_type", "area_code_shown", "area_name"), ("Area type", "Area code", "Area")
    areas["area_name"] = keys["area_name"].to_numpy(dtype=object)
    areas = areas[list(columns)].astype(object)
    return areas, Block("", columns, names)


def as_numbers(published: pd.Series, integer: bool = False) -> np.ndarray:
    """Published text ("67.7", "6515") as numbers, symbols ("[c]") kept as text, blanks "[x]": an object
    array, one cell per value."""
    text = published.astype("str").to_numpy(dtype=object)
    values = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(dtype="float64")
    number = ~np.isnan(values)
    out = text.copy()
    out[number] = (np.round(values[number]).astype("int64") if integer else values[number]).tolist()
    out[text == ""] = publishing_rules()["labels"]["not_available"]
    return out


def grid(areas: pd.DataFrame, published: pd.DataFrame, column_keys: list, key_columns: list[str],
         values: np.ndarray) -> np.ndarray:
    """areas x column_keys of published ``values`` (one per published row), placed by the rows'
    (area_level, area_code) and ``key_columns``; a cell no row fills is "[x]" (not available)."""
    out = np.full((len(areas), len(column_keys)), publishing_rules()["labels"]["not_available"], dtype=object)
    row = areas.index.get_indexer(pd.MultiIndex.from_frame(published[["area_level", "area_code"]].astype("str")))
    keys = published[key_columns].astype("str")
    wanted = pd.MultiIndex.from_tuples(column_keys) if len(key_columns) > 1 else pd.Index(column_keys)
    column = wanted.get_indexer(pd.MultiIndex.from_frame(keys) if len(key_columns) > 1 else keys.iloc[:, 0])
    found = (row >= 0) & (column >= 0)
    out[row[found], column[found]] = values[found]
    return out


# ---------------------------------------------------------------------------------------- ASCOF measures

def _is_published(results: pd.DataFrame) -> bool:
    return not pd.api.types.is_numeric_dtype(results["estimate"])


def _number_format(decimals: int, percent: bool) -> str:
    if decimals == 1:
        return "percent" if percent else "score"
    if decimals == 3:
        return "score3"
    return f"decimal{decimals}"


_VALUES = (("estimate", False), ("margin_of_error", False), ("respondents", True))


def _measure_sheet(code: str, rows: pd.DataFrame, spec, shown_code: str, areas: pd.DataFrame, id_block: Block,
                   cells: dict, column_of: dict) -> PublishedSheet:
    measure = spec.measures.get(code) if spec is not None else None
    name = (measure.name if measure is not None else str(rows["measure_name"].iloc[0])
            if "measure_name" in rows.columns else code)
    percent = measure is not None and measure.unit == "percent"
    ascof = measure is None or measure.code_set is not None
    label = f"ASCOF {shown_code}" if ascof else shown_code
    definition = (publishing_rules().get("measure_definitions") or {}).get(code) or \
        (measure.description if measure is not None else "")
    decimals = measure_decimals(code)

    blocks, formats, columns = [id_block], {}, {}
    shown = rows[["breakdown", "group"]].astype("str").drop_duplicates()
    present = set(zip(shown["breakdown"], shown["group"]))
    for breakdown, group, heading in SPLITS:
        if (breakdown, group) not in present:
            continue
        block = tuple(f"{breakdown}:{group}:{value}" for value, _ in _VALUES)
        for column, (value, _) in zip(block, _VALUES):
            columns[column] = cells[value][:, column_of[(code, breakdown, group)]]
        formats.update({block[0]: _number_format(decimals, percent), block[1]: _number_format(decimals, percent),
                        block[2]: "count"})
        blocks.append(Block(heading, block, ("Percentage" if percent else "Score", "Margin of error",
                                             "Respondents")))
    frame = pd.concat([areas, pd.DataFrame(columns, index=areas.index, dtype=object)], axis=1)

    unit = ("Outcome: the percentage of respondents; margin of error in percentage points" if percent else
            "Outcome: the score; margin of error in score points")
    lines = [f"Survey: {spec.title}." if spec is not None else "",
             f"Definition: {definition}" if definition else "",
             f"{unit} {note_ref('margin_of_error')}. Respondents: those the outcome rests on, rounded to the "
             f"nearest 5 {note_ref('rounding')}. Weighted to eligible populations "
             f"{note_ref('weighting', 'population_1j') if code == '1J' else note_ref('weighting')}.",
             f"England, then the regions, then the councils {note_ref('areas')}; in total and by sex and age "
             f"group {note_ref('splits')}.",
             symbols_line()]
    return PublishedSheet(
        name=label[:31], title=f"{label}: {name}", lines=[line for line in lines if line], frame=frame,
        blocks=blocks, formats=formats, freeze_columns=len(id_block.columns),
        widths={"area_type": 9},
        description=f"{label}: {name}. England, regions and councils; total, by sex and by age group.")


def ascof_sheets(results: pd.DataFrame, spec, councils: pd.DataFrame | None = None) -> list[PublishedSheet]:
    """One published sheet per ASCOF measure, in the results' order.

    ``results`` are tidy ASCOF results (``surveykit.ascof``), raw (published here: suppressed and rounded) or
    already published (``publish_ascof``); ``spec`` the questionnaire (names, definitions, units);
    ``councils`` the council lookup (its ``ons_code`` column, where present, adds ONS codes). A
    ``framework_code`` column (results made with ``framework=``) names each measure by that code.
    """
    published = results if _is_published(results) else publish_ascof(results)
    areas, id_block = area_columns(published, councils)
    keys = [(m, b, g) for m in pd.unique(published["measure"].astype("str")) for b, g, _ in SPLITS]
    column_of = {key: k for k, key in enumerate(keys)}
    cells = {value: grid(areas, published, keys, ["measure", "breakdown", "group"],
                         as_numbers(published[value], integer=integer)) for value, integer in _VALUES}
    areas = areas.reset_index(drop=True)
    sheets = []
    shown = shown_codes(spec, published)
    for code, rows in published.groupby(published["measure"].astype("str"), sort=False):
        sheets.append(_measure_sheet(code, rows, spec, shown.get(code, code), areas, id_block, cells, column_of))
    return sheets


# --------------------------------------------------------------------------------------- data quality

def ledger_sheet(ret) -> PublishedSheet:
    """The Ledger summary of a validated return: rows read, used, excluded by reason, empty form rows."""
    summary = ret.summary()
    items, counts = ["Rows read from the return", "Rows used (respondents)"], \
        [int(summary["rows read"]), int(summary["used"])]
    for key, n in summary.items():
        if str(key).startswith("excluded: "):
            items.append(f"Rows excluded: {str(key).removeprefix('excluded: ')}")
            counts.append(int(n))
    items.append("Empty rows of the official form skipped (not people, so not among the rows read)")
    counts.append(int(getattr(ret, "empty_form_rows", 0) or 0))
    files = getattr(ret, "files", None)
    if files is not None and len(files):
        skipped = int((files["status"] == "skipped").sum())
        items += ["Workbooks read", "Workbooks left out (the Problems sheet says why)"]
        counts += [len(files) - skipped, skipped]
    frame = pd.DataFrame({"item": pd.Series(items, dtype=object), "rows": pd.Series(counts, dtype=object)})
    return PublishedSheet(
        name="Ledger summary", title="Ledger summary: rows read, used and excluded",
        lines=["Every row read from the return is either used or excluded for the reason given, so the rows "
               "used and the rows excluded add up to the rows read. ledger.csv lists every row and its reason."],
        frame=frame, blocks=[Block("", ("item", "rows"), ("Rows", "Count"))], formats={"rows": "count"},
        widths={"item": 80, "rows": 12},
        description="Rows read from the return, rows used, rows excluded and why, empty form rows skipped.")


_PROBLEM_COLUMNS = (("severity", "Severity"), ("file", "File"), ("row", "Row"), ("cell", "Cell"),
                    ("column", "Column"), ("value", "Value found"), ("rule", "Problem"),
                    ("message", "What it means"))


def problems_sheet(problems: pd.DataFrame, limit: int = PROBLEM_ROWS) -> PublishedSheet:
    """The problems found in a return, each naming file, row (and cell, where the reader gives one),
    column and value; at most ``limit`` of them, the sheet saying so when there are more."""
    labels = publishing_rules()["labels"]
    present = [(c, name) for c, name in _PROBLEM_COLUMNS if c in problems.columns]
    shown = problems.head(limit).reset_index(drop=True)
    frame = pd.DataFrame(index=shown.index)
    for column, _ in present:
        values = shown[column]
        if column == "row":
            rows = pd.to_numeric(values, errors="coerce")
            cells = rows.astype(object).where(rows.notna(), labels["not_applicable"])
            frame[column] = [int(v) if not isinstance(v, str) else v for v in cells.tolist()]
        elif column == "severity":
            frame[column] = values.astype("str").str.capitalize().astype(object)
        else:
            frame[column] = values.astype(object).where(values.notna(), "").map(str)
    frame = frame.astype(object)
    total = len(problems)
    lines = ["Each problem names the file, row and column (and the cell) where it was found. Errors: the "
             "value was set missing, or the row or file was left out. Warnings: the data were used as they are."]
    if total == 0:
        lines.append("No problems were found in the return.")
    elif total > limit:
        lines.append(f"The first {limit:,} of {total:,} problems; problems.csv lists every one.")
    return PublishedSheet(
        name="Problems", title="Problems found in the return", lines=lines, frame=frame,
        blocks=[Block("", tuple(c for c, _ in present), tuple(name for _, name in present))],
        formats={"row": "integer"} if "row" in frame.columns else {},
        widths={"severity": 10, "row": 8, "message": 80},
        description=f"Problems found in the return ({total:,}), each with its file, row, column and value.")


def data_quality_sheets(ret) -> list[PublishedSheet]:
    """The Ledger summary and the Problems of a validated return."""
    return [ledger_sheet(ret), problems_sheet(ret.problems)]
