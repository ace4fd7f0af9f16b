"""Where things are in the official Excel data return: the ``workbook:`` section of a questionnaire spec.

The same facts serve the reader (``surveykit/read/excel_return.py``) and the writer of official-layout
workbooks (``surveykit/official_workbook.py``), so the two cannot drift apart: the data sheet and its
header row, the rows the template pre-fills with formulas, the Sign Off Sheet cells holding the council,
and the Eligible Population sheet's cells (each a template formula's cached value, with the cells it
sums so a workbook saved without cached values can still be read).

Cell references are written as in Excel ("E56", ranges "D8:F10,D12:F13"); this module turns them into
0-based (row, column) positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})$")


def column_index(letters: str) -> int:
    """0-based index of a column name: A -> 0, Z -> 25, AA -> 26, CS -> 96."""
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def column_letter(index: int) -> str:
    """Column name of a 0-based index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_position(ref: str) -> tuple[int, int]:
    """0-based (row, column) of a cell reference such as "E56"; ValueError if it is not one."""
    m = _CELL.match(ref.strip().upper())
    if not m:
        raise ValueError(f"{ref!r} is not a cell reference like E56")
    return int(m.group(2)) - 1, column_index(m.group(1))


def range_cells(ranges: str) -> list[tuple[int, int]]:
    """Every cell of "D8:F10,D12" as 0-based (row, column), row by row; ValueError if malformed."""
    cells = []
    for part in ranges.split(","):
        ends = part.strip().split(":")
        if len(ends) not in (1, 2):
            raise ValueError(f"{part!r} is not a cell or a range like D8:F10")
        (r0, c0), (r1, c1) = cell_position(ends[0]), cell_position(ends[-1])
        if r1 < r0 or c1 < c0:
            raise ValueError(f"{part!r} runs backwards")
        cells += [(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
    return cells


@dataclass(frozen=True)
class PopulationCell:
    """One eligible-population figure: the template cell holding it and the table cells it sums."""
    cell: tuple[int, int] | None          # None: the figure is 0 (e.g. q2c in stratum 1)
    ref: str                              # the cell as written ("E56"), for messages
    sums: tuple[tuple[int, int], ...]     # cells of tables 1 and 2 it adds up
    sums_text: str                        # the ranges as written, for the formula the writer puts there


@dataclass(frozen=True)
class EligiblePopulationLayout:
    sheet: str
    strata: dict[int, PopulationCell]                       # stratum -> its population cell
    populations: dict[str, dict[int, PopulationCell]]      # named sub-population -> stratum -> cell
    tables: tuple[dict, ...] = ()                           # tables 1 and 2 (for the writer)
    genders: tuple[str, ...] = ()
    support_reasons: tuple[str, ...] = ()
    setting_columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SignOffLayout:
    sheet: str
    code_cell: tuple[int, int]
    code_ref: str
    name_cell: tuple[int, int]
    name_ref: str
    councils: tuple[tuple[int, int], tuple[int, int]]   # first and last cell of the name/code list
    councils_ref: str
    unselected: str                                      # E2's text when no council was chosen


@dataclass(frozen=True)
class WorkbookLayout:
    """The official workbook of one survey year (see the ``workbook:`` section of its spec)."""
    sheets: tuple[str, ...]             # every sheet of the template, in order
    data_sheet: str
    header_row: int                     # 1-based, as Excel numbers rows
    prefilled_rows: tuple[int, int]     # 1-based first and last row the template pre-fills
    formula_columns: tuple[str, ...]    # canonical names of the columns the template computes
    sign_off: SignOffLayout
    eligible_population: EligiblePopulationLayout | None


def parse_layout(s, raw, path: str, columns: dict) -> WorkbookLayout:
    """Check and parse a spec's ``workbook:`` section; ``s`` is the questionnaire loader's walker."""
    s.mapping(raw, path, ("sheets", "data_sheet", "header_row", "prefilled_rows", "formula_columns",
                          "sign_off", "eligible_population"),
              ("sheets", "data_sheet", "header_row", "prefilled_rows", "formula_columns", "sign_off"))
    sheets = tuple(s.each(raw["sheets"], f"{path}.sheets", s.text))
    for key in ("data_sheet",):
        if raw[key] not in sheets:
            s.fail(f"{path}.{key}", f"{raw[key]!r} is not one of the sheets listed")
    rows = s.sequence(raw["prefilled_rows"], f"{path}.prefilled_rows")
    if len(rows) != 2 or not all(isinstance(r, int) and r >= 1 for r in rows) or rows[0] > rows[1]:
        s.fail(f"{path}.prefilled_rows", "expected [first, last] row numbers, e.g. [2, 4000]")
    formula = tuple(s.each(raw["formula_columns"], f"{path}.formula_columns", s.text))
    for i, name in enumerate(formula):
        if name not in columns:
            s.fail(f"{path}.formula_columns[{i}]", f"{name!r} is not a column of this questionnaire")
    header_row = s.integer(raw["header_row"], f"{path}.header_row")

    def cell(value, where):
        try:
            return cell_position(s.text(value, where))
        except ValueError as exc:
            s.fail(where, str(exc))

    so = s.mapping(raw["sign_off"], f"{path}.sign_off", ("sheet", "code_cell", "name_cell", "councils", "unselected"),
                   ("sheet", "code_cell", "name_cell", "councils", "unselected"))
    if so["sheet"] not in sheets:
        s.fail(f"{path}.sign_off.sheet", f"{so['sheet']!r} is not one of the sheets listed")
    ends = s.text(so["councils"], f"{path}.sign_off.councils").split(":")
    if len(ends) != 2:
        s.fail(f"{path}.sign_off.councils", "expected the list's range, e.g. E18:F169")
    sign_off = SignOffLayout(so["sheet"], cell(so["code_cell"], f"{path}.sign_off.code_cell"), so["code_cell"],
                             cell(so["name_cell"], f"{path}.sign_off.name_cell"), so["name_cell"],
                             (cell(ends[0], f"{path}.sign_off.councils"), cell(ends[1], f"{path}.sign_off.councils")),
                             so["councils"], s.text(so["unselected"], f"{path}.sign_off.unselected"))
    eligible = None
    if raw.get("eligible_population") is not None:
        eligible = _parse_eligible(s, raw["eligible_population"], f"{path}.eligible_population", sheets)
    return WorkbookLayout(sheets, raw["data_sheet"], header_row, (rows[0], rows[1]), formula, sign_off, eligible)


def _parse_eligible(s, raw, path, sheets) -> EligiblePopulationLayout:
    s.mapping(raw, path, ("sheet", "strata", "populations", "tables", "genders", "support_reasons",
                          "setting_columns"), ("sheet", "strata"))
    if raw["sheet"] not in sheets:
        s.fail(f"{path}.sheet", f"{raw['sheet']!r} is not one of the sheets listed")

    def figures(table, where) -> dict[int, PopulationCell]:
        out = {}
        for stratum, entry in s.mapping(table, where, list(table) if isinstance(table, dict) else ()).items():
            s.integer(stratum, where)
            epath = f"{where}.{stratum}"
            if entry == 0:
                out[stratum] = PopulationCell(None, "0", (), "")
                continue
            s.mapping(entry, epath, ("cell", "sum"), ("cell", "sum"))
            try:
                position = cell_position(s.text(entry["cell"], f"{epath}.cell"))
                sums = tuple(range_cells(s.text(entry["sum"], f"{epath}.sum")))
            except ValueError as exc:
                s.fail(epath, str(exc))
            out[stratum] = PopulationCell(position, entry["cell"], sums, entry["sum"])
        return out

    strata = figures(raw["strata"], f"{path}.strata")
    populations = {}
    for name, table in s.mapping(raw.get("populations") or {}, f"{path}.populations",
                                 list(raw.get("populations") or {})).items():
        populations[str(name)] = figures(table, f"{path}.populations.{name}")
        extra = set(populations[str(name)]) - set(strata)
        if extra:
            s.fail(f"{path}.populations.{name}", f"strata {sorted(extra)} are not strata of this workbook")
    tables = tuple(s.mapping(t, f"{path}.tables[{i}]", ("title", "age_group", "first_row"),
                             ("title", "age_group", "first_row"))
                   for i, t in enumerate(s.sequence(raw.get("tables") or [], f"{path}.tables", True)))
    return EligiblePopulationLayout(
        raw["sheet"], strata, populations, tables,
        tuple(s.each(raw.get("genders") or [], f"{path}.genders", s.text, allow_empty=True)),
        tuple(s.each(raw.get("support_reasons") or [], f"{path}.support_reasons", s.text, allow_empty=True)),
        {str(k): s.text(v, f"{path}.setting_columns.{k}")
         for k, v in s.mapping(raw.get("setting_columns") or {}, f"{path}.setting_columns",
                               list(raw.get("setting_columns") or {})).items()})


# ------------------------------------------------------------------------------- tables 1 and 2, by category

def table_cell(layout: EligiblePopulationLayout, age_group: str, gender: str, reason: str, setting: str):
    """0-based (row, column) of one count in tables 1 and 2: rows are gender blocks of support reasons."""
    table = next(t for t in layout.tables if t["age_group"] == age_group)
    row = table["first_row"] - 1 + layout.genders.index(gender) * len(layout.support_reasons) \
        + layout.support_reasons.index(reason)
    letter = next(k for k, v in layout.setting_columns.items() if v == setting)
    return row, column_index(letter)


def populations_from_cells(layout: EligiblePopulationLayout, counts: dict) -> dict:
    """{"strata": {h: n}, name: {h: n}} from counts by (row, column), summed as the template's formulas do."""
    def total(cell: PopulationCell) -> int:
        return int(sum(counts.get(rc, 0) for rc in cell.sums))
    out = {"strata": {h: total(c) for h, c in layout.strata.items()}}
    for name, cells in layout.populations.items():
        out[name] = {h: (total(cells[h]) if h in cells else 0) for h in layout.strata}
    return out
