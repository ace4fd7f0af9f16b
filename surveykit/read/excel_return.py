"""The official ASCS Excel data return, as a council fills it in and saves it.

Where everything is comes from the ``workbook:`` section of the year's questionnaire spec
(``surveykit/workbook_layout.py``): the data sheet ('Service User Data') with its long row-1 headers, the
4,000 rows the template pre-fills with formulas, the council chosen on the 'Sign Off Sheet', and the
eligible populations on the 'Eligible Population' sheet. In short:

- Headers are matched by position over the data-return columns only (A..CS in 2021-22), each header
  containing its column's alias as NHS Digital's loader requires; the template's helper columns to the
  right (one of them also headed "Stratum") are ignored. A deleted, inserted or moved column is one error
  naming the column letter and the header expected, and says so when the headers are another year's.
- A row is a person when any input cell (the serial number or any column the template does not compute)
  holds something; the rest are the empty form, counted once and otherwise left alone.
- The council is the cached value of E2, or the name chosen in E3 looked up in the sheet's own list when
  E2 was saved without a value; "Select LA name in cell below" means no council was chosen.
- Eligible populations (table 3, and the Q2c and 1J sub-populations) are the cells' cached values, or,
  for a workbook saved without them, the sums the template's formulas would make.

Parsing happens in a contained child process (contained.py) after the container checks (xlsx_guard.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.read.cells import (BadCells, as_text, finish_block, standard_header, stripped_text,
                                  unreadable)
from surveykit.contained import contained
from surveykit.read.grid import Grid, find_sheet, open_workbook, sheet_named
from surveykit.read.xlsx_guard import check_workbook
from surveykit.workbook_layout import column_letter


@dataclass
class WorkbookReturn:
    """One council's workbook as read: its people, the council, its populations, what was odd."""
    data: pd.DataFrame
    bad: BadCells
    council: str
    council_name: str
    population: pd.DataFrame | None          # long: council, stratum, population[, population_<name>]
    empty_form_rows: int
    notes: list[tuple] = field(default_factory=list)   # (rule, row, column, value, message) warnings


def read_workbook(path: Path, spec) -> WorkbookReturn:
    """Read one official workbook (in a child process); SurveyKitError naming the file if it cannot be."""
    if spec.workbook is None:
        raise SurveyKitError(f"{spec.survey.upper()} {spec.year} has no official workbook layout in its "
                             "questionnaire spec: export the return as CSV or SPSS", file=path)
    return contained(parse_workbook, Path(path), spec, file=path, what="Excel workbook")


def parse_workbook(path: Path, spec) -> WorkbookReturn:
    """The work itself (the child process runs this)."""
    layout = spec.workbook
    wanted = [layout.data_sheet, layout.sign_off.sheet]
    if layout.eligible_population is not None:
        wanted.append(layout.eligible_population.sheet)
    check_workbook(path, wanted)
    with unreadable(path, "Excel workbook"):
        book = open_workbook(path)
        data_sheet = find_sheet(book, layout.data_sheet, path)
        sign_off_sheet = find_sheet(book, layout.sign_off.sheet, path)
        grid = Grid.of(book, data_sheet)
        sign_off = Grid.of(book, sign_off_sheet)
        eligible = None
        if layout.eligible_population is not None:
            name = sheet_named(book, layout.eligible_population.sheet)
            eligible = Grid.of(book, name) if name else None
    council, council_name = _council(sign_off, layout.sign_off, path)
    columns = list(spec.columns)
    _check_headers(grid, spec, path)
    first, rows = grid.block(layout.header_row, len(columns))
    people, row_numbers, empty = _people(rows, first, spec)
    bad = BadCells(path.name)
    notes = []
    data = _set_council(finish_block(people, columns, spec, row_numbers, path.name, bad), council, spec,
                        row_numbers, notes)
    # the form's own columns (stratum, population in stratum) show "." or -9 where it cannot compute them:
    # what the form computed is not the council's entry, so it is not reported (surveykit computes its own)
    bad.found = [f for f in bad.found if f[1] not in spec.workbook.formula_columns]
    population = _populations(eligible, layout.eligible_population, council, path, notes) if eligible else None
    if layout.eligible_population is not None and eligible is None:
        notes.append(("population not in return", None, None, None,
                      f"no sheet {layout.eligible_population.sheet!r}: the eligible populations must come "
                      "from a population file (--population)"))
    return WorkbookReturn(data, bad, council, council_name, population, empty, notes)


# ---------------------------------------------------------------------------------------------- council

def _council(grid: Grid, so, path) -> tuple[str, str]:
    """(code, name) of the council chosen on the Sign Off Sheet."""
    code = stripped_text(grid.value(*so.code_cell))
    name = stripped_text(grid.value(*so.name_cell))
    where = f"sheet {so.sheet!r} cell {so.name_ref}"
    if code and standard_header(code) == standard_header(so.unselected) or (not code and not name):
        raise SurveyKitError(f"no council chosen: {where} is blank (cell {so.code_ref} says "
                             f"{so.unselected!r}); choose the council there and save the workbook", file=path)
    if code:
        return code, name
    (r0, c0), (r1, c1) = so.councils
    last = max(r1, grid.height - 1)   # the list as long as it runs (councils are added and merged)
    listed = {stripped_text(grid.value(r, c0)).casefold(): stripped_text(grid.value(r, c1)) for r in range(r0, last + 1)}
    found = listed.get(name.casefold())
    if not found:
        raise SurveyKitError(f"council {name!r} chosen in {where} is not in the sheet's own list "
                             f"({so.councils_ref}), and cell {so.code_ref} holds no code", file=path)
    return found, name


def _set_council(frame: pd.DataFrame, council: str, spec, rows, notes) -> pd.DataFrame:
    """Every person's council is the Sign Off Sheet's; a different code saved in column A is noted."""
    column = spec.council_column
    if column in frame:
        present = as_text(frame[column])
        differ = present.notna().to_numpy() & (present != council).to_numpy()
        if differ.any():
            first = int(np.flatnonzero(differ)[0])
            notes.append(("council code differs", int(rows[first]), "A", present.iloc[first],
                          f"{int(differ.sum())} row(s) hold council code {present.iloc[first]!r} in column A, "
                          f"not the Sign Off Sheet's {council!r}: the Sign Off Sheet's is used"))
    return frame.assign(**{column: council})


# ---------------------------------------------------------------------------------------------- headers

def _check_headers(grid: Grid, spec, path) -> None:
    """Each data-return column's header must contain its alias, in order (as NHS Digital checks)."""
    wrong = header_mismatches(grid, spec)
    if not wrong:
        return
    letter, expected, found = wrong[0]
    more = f" ({len(wrong)} columns differ)" if len(wrong) > 1 else ""
    hint = _other_year(grid, spec)
    raise SurveyKitError(
        f"sheet {spec.workbook.data_sheet!r} column {letter}: expected a header like {expected!r}, found "
        f"{found!r}{more}: was a column deleted, inserted or moved?{hint}",
        file=path, row=spec.workbook.header_row, column=letter)


def header_mismatches(grid: Grid, spec) -> list[tuple[str, str, str]]:
    """(column letter, header expected, header found) for every data-return column that does not match."""
    row = spec.workbook.header_row - 1
    out = []
    for i, col in enumerate(spec.columns.values()):
        found = stripped_text(grid.value(row, i))
        texts = [standard_header(t) for t in (col.name, *col.aliases) if standard_header(t)]
        if not any(t in standard_header(found) for t in texts):
            out.append((column_letter(i), " ".join((col.header or col.aliases[0] if col.aliases else col.name)
                                                   .split()), " ".join(found.split())[:80]))
    return out


def _other_year(grid: Grid, spec) -> str:
    from surveykit.questionnaire import available_specs, load_spec

    for survey, year in available_specs():
        if survey != spec.survey or year == spec.year:
            continue
        other = load_spec(survey, year)
        if other.workbook is not None and not header_mismatches(grid, other):
            return f" The headers are those of the {year} template: run with --year {year}?"
    return ""


# ----------------------------------------------------------------------------------------------- people

def _people(rows: list[list], first: int, spec) -> tuple[np.ndarray, np.ndarray, int]:
    """(cells of the rows that are people, their sheet row numbers, how many empty form rows there were)."""
    columns = list(spec.columns)
    if not rows:
        first_form, last_form = spec.workbook.prefilled_rows
        return np.empty((0, len(columns)), dtype=object), np.empty(0, dtype="int64"), last_form - first_form + 1
    block = np.array(rows, dtype=object)
    formula = [columns.index(c) for c in spec.workbook.formula_columns]
    inputs = np.ones(len(columns), dtype=bool)
    inputs[formula] = False
    filled = (block[:, inputs] != "") & pd.notna(block[:, inputs])
    person = filled.any(axis=1)
    first_form, last_form = spec.workbook.prefilled_rows
    sheet_rows = np.arange(first, first + len(rows)) + 1          # 1-based as Excel shows them
    # the form's rows that hold no one, whether or not their formulas were saved with values
    people_in_form = int((person & (sheet_rows >= first_form) & (sheet_rows <= last_form)).sum())
    empty = (last_form - first_form + 1) - people_in_form
    kept = block[person]
    return np.where(kept == "", None, kept), sheet_rows[person], empty


# ------------------------------------------------------------------------------------------ populations

def _populations(grid: Grid, layout, council: str, path, notes) -> pd.DataFrame | None:
    """Eligible population per stratum (and each named sub-population) from the Eligible Population sheet."""
    strata = {h: _figure(grid, cell) for h, cell in layout.strata.items()}
    if any(v is None for v in strata.values()):
        missing = ", ".join(layout.strata[h].ref for h, v in strata.items() if v is None)
        notes.append(("population not in return", None, None, None,
                      f"sheet {layout.sheet!r}: no eligible population in {missing} (saved without values, or "
                      "not filled in): give a population file (--population)"))
        return None
    out = pd.DataFrame({"council": council, "stratum": list(strata), "population": list(strata.values())})
    out["sample"] = pd.array([pd.NA] * len(out), dtype="Int64")
    for name, cells in layout.populations.items():
        values = [(_figure(grid, cells[h]) if h in cells else 0) for h in strata]
        if any(v is None for v in values):
            notes.append(("sub-population missing", None, None, None,
                          f"sheet {layout.sheet!r}: the {name} population could not be read: {name} is weighted "
                          "by the whole strata's populations"))
            continue
        out[f"population_{name.lower()}"] = values
    return out


def _figure(grid: Grid, cell) -> int | None:
    """A population cell: its cached value, else the sum of the table cells its formula adds; None if neither."""
    if cell.cell is None:
        return 0
    value = _number(grid.value(*cell.cell))
    if value is not None:
        return value
    raw = [grid.value(r, c) for r, c in cell.sums]
    parts = [_number(v) for v in raw]
    blank = [v in ("", None) for v in raw]
    if not cell.sums or all(blank) or any(p is None and not b for p, b in zip(parts, blank)):
        return None   # tables not filled in, or a cell that is not a count
    return int(sum(p for p in parts if p is not None))


def _number(value) -> int | None:
    if isinstance(value, bool) or value in ("", None):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(number) or number < 0 or number != round(number):
        return None
    return int(number)
