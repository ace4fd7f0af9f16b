"""Write a return in the official ASCS workbook layout, as a council's saved data return looks.

For tests and benchmarks that must meet what councils actually send: every template sheet, the long row-1
headers, the 4,000 rows whose council code, primary key, stratum and population columns hold formulas
(with the template's helper columns far to the right, one headed "Stratum" too), the council chosen on the
Sign Off Sheet from its list, and the Eligible Population tables with table 3 and the Q2c and 1J
populations as formulas. Everything placed comes from the year's ``workbook:`` layout
(``surveykit/workbook_layout.py``), the same facts the reader uses.

``cached=True`` writes each formula with the value Excel would have saved (xlsxwriter), as a file a council
saved in Excel or LibreOffice; ``cached=False`` writes formulas with no saved value (openpyxl), as a file a
script produced. Text is always written as text: a cell starting "=" in the data is never a formula.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.publish.atomic import atomic_write
from surveykit.workbook_layout import column_letter, populations_from_cells, table_cell

# Helper columns the template computes to the right of the data return (2021-22 letters) [H], a few of them.
HELPERS = {"DA": "Eligible PSR\n1 = No\n2 = Yes", "DB": "Eligible for 1J", "DP": "Stratum"}


def form_stratum(data: pd.DataFrame) -> np.ndarray:
    """The stratum the official form computes (column D): learning disability support is stratum 1 even when
    age or setting is missing, which the publication does not do; -9 where nothing can be derived."""
    def num(c):
        return pd.to_numeric(data[c], errors="coerce").to_numpy(dtype=float) if c in data else np.full(len(data), np.nan)

    psr, age, setting = num("PrimarySupportReason"), num("Age"), num("SupportSetting")
    known = ~np.isnan(psr) & (psr != -9)
    with np.errstate(invalid="ignore"):
        return np.select(
            [known & (psr == 7), known & (age >= 18) & (age < 65),
             known & (age >= 65) & np.isin(setting, [2, 3]), known & (age >= 65) & (setting == 1)],
            [1, 2, 3, 4], -9)


def write_official_workbook(path, spec, data: pd.DataFrame, *, council: str | None, council_name: str | None,
                            council_list: pd.DataFrame, eligible: pd.DataFrame | None = None,
                            cached: bool = True) -> Path:
    """Write one council's rows (raw-return columns) as its official workbook; atomic (whole file or none).

    ``council`` None writes a return with no council chosen. ``council_list`` (council, council_name) fills
    the Sign Off Sheet's list. ``eligible`` holds tables 1 and 2 (age_group, gender, support_reason,
    setting, population); without it the Eligible Population sheet's tables are left empty."""
    layout = spec.workbook
    if layout is None:
        raise SurveyKitError(f"{spec.survey} {spec.year} has no official workbook layout")
    counts = {}
    if eligible is not None and layout.eligible_population is not None:
        ep = layout.eligible_population
        for r in eligible.itertuples(index=False):   # 108 cells a council
            counts[table_cell(ep, r.age_group, r.gender, r.support_reason, r.setting)] = int(r.population)
    sheet = _Sheets(data, spec, council, council_name, council_list, counts)
    writer = _write_cached if cached else _write_formulas_only
    return atomic_write(path, lambda tmp: writer(tmp, sheet))


class _Sheets:
    """The cells of every sheet: (row, col) -> value, formula or (formula, cached value)."""

    def __init__(self, data, spec, council, council_name, council_list, counts):
        self.spec, self.layout = spec, spec.workbook
        self.council, self.council_name = council, council_name
        self.data = data.drop(columns=[c for c in ("_file", "_row") if c in data.columns]).reset_index(drop=True)
        self.council_list = council_list
        self.counts = counts
        self.stratum = form_stratum(self.data)
        self.psr = _numbers(self.data, "PrimarySupportReason")
        self.setting = _numbers(self.data, "SupportSetting")
        ep = self.layout.eligible_population
        self.populations = populations_from_cells(ep, counts) if (ep is not None and counts) else None

    # -- Service User Data
    def data_rows(self):
        """(header cells, then one list of cells per sheet row 2 .. last): cell = value or ("=f", cached)."""
        spec, layout = self.spec, self.layout
        columns = list(spec.columns)
        header = [(spec.columns[c].header or c) for c in columns]
        helper_cols = {c: n for c, n in HELPERS.items()}
        code = self.council or ""
        pop = self.populations["strata"] if self.populations else {}
        last = max(layout.prefilled_rows[1], layout.header_row + len(self.data))
        values = {c: self.data[c].to_numpy(dtype=object) for c in columns if c in self.data}
        formula_at = {c: i for i, c in enumerate(columns) if c in layout.formula_columns}
        rows = []
        for r in range(layout.header_row + 1, last + 1):
            i = r - layout.header_row - 1
            person = i < len(self.data)
            cells = []
            for j, c in enumerate(columns):
                if c in formula_at:
                    cells.append(self._formula(c, r, i if person else None, code, pop, columns))
                elif person and c in values:
                    cells.append(_plain(values[c][i]))
                else:
                    cells.append(None)
            extra = {}
            for letter in helper_cols:
                if not person:
                    extra[letter] = (_HELPER_FORMULAS[letter](r), "")
                    continue
                psr, setting = self.psr[i], self.setting[i]
                eligible_psr = "" if np.isnan(psr) else (1 if psr == 7 or psr >= 9 else 2)
                value = {"DP": int(self.stratum[i]), "DA": eligible_psr,
                         "DB": int(setting == 1 and eligible_psr == 2)}[letter]
                extra[letter] = (_HELPER_FORMULAS[letter](r), value)
            rows.append((cells, extra))
        return header, helper_cols, rows

    def _formula(self, column, r, i, code, pop, columns):
        if column == self.spec.council_column:
            return (f"='{self.layout.sign_off.sheet}'!$E$2", code)
        key = self.spec.id_column
        b = column_letter(columns.index(key))
        if column == "PrimaryKey":
            serial = "" if i is None else (_text(self.data[key].iloc[i]) if key in self.data else "")
            return (f'=IF({b}{r}="","",A{r}&"_"&{b}{r})', f"{code}_{serial}" if serial else "")
        if column == "Stratum":
            formula = (f'=IF(M{r}=7,1,IF(AND(I{r}>=18,I{r}<65),2,IF(AND(I{r}>=65,OR(N{r}=2,N{r}=3)),3,'
                       f'IF(AND(I{r}>=65,N{r}=1),4,-9))))')
            return (formula, int(self.stratum[i]) if i is not None else -9)
        if column == "PopInStratum":
            ep = self.layout.eligible_population
            sheet = ep.sheet if ep else "Eligible Population"
            formula = f"=IFERROR(VLOOKUP(D{r},'{sheet}'!$B$56:$E$59,4,FALSE),\".\")"
            h = int(self.stratum[i]) if i is not None else -9
            return (formula, pop.get(h, ".") if h > 0 and pop else ".")
        return (None, None)

    # -- Sign Off Sheet
    def sign_off_cells(self):
        so = self.layout.sign_off
        (r0, c0), (r1, c1) = so.councils
        cells = {(1, 1): "Council Code:", (2, 1): "Name of Council:", (3, 1): "Contact Name:",
                 (4, 1): "Telephone Number:", (5, 1): "E-mail Address:", (6, 1): "Authorising Senior Officer",
                 (10, 1): "Have you completed your Service User Data spreadsheet?",
                 (11, 1): "Have you maintained the structure of the data return i.e. you have not removed or "
                          "added any extra columns?"}
        names = self.council_list.reset_index(drop=True)
        for k in range(min(len(names), r1 - r0 + 1)):
            cells[(r0 + k, c0)] = str(names["council_name"].iloc[k])
            cells[(r0 + k, c1)] = str(names["council"].iloc[k])
        if self.council_name:
            cells[so.name_cell] = self.council_name
        first, last = f"$E${r0 + 1}", f"$F${r1 + 1}"
        shown = self.council if self.council else so.unselected
        cells[so.code_cell] = (f'=IF({so.name_ref}="","{so.unselected}",VLOOKUP({so.name_ref},{first}:{last},2,FALSE))',
                               shown)
        return cells

    # -- Eligible Population
    def eligible_cells(self):
        ep = self.layout.eligible_population
        if ep is None:
            return {}
        cells = {(49, 1): "This should include all service users who would be included in SALT table LTS001b "
                          "on the day the data are extracted.",
                 (50, 1): "Do not exclude those who may be removed/substituted from the final sample.",
                 (52, 1): "Table 3: Eligible population and sample count by stratum",
                 (54, 1): "Stratum", (54, 2): "Description", (54, 4): "Population", (54, 5): "Sample count"}
        for t in ep.tables:
            top = t["first_row"] - 1
            cells[(top - 3, 1)] = t["title"]
            for letter, setting in ep.setting_columns.items():
                cells[(top - 1, _col(letter))] = setting
            for g, gender in enumerate(ep.genders):
                for k, reason in enumerate(ep.support_reasons):
                    row = top + g * len(ep.support_reasons) + k
                    if k == 0:
                        cells[(row, 1)] = gender
                    cells[(row, 2)] = reason
                    for letter in ep.setting_columns:
                        if (row, _col(letter)) in self.counts:
                            cells[(row, _col(letter))] = self.counts[(row, _col(letter))]
        labels = dict(self.spec.columns["Stratum"].codes) if "Stratum" in self.spec.columns and \
            self.spec.columns["Stratum"].codes else {}
        pops = self.populations
        sheet = self.layout.data_sheet
        for h, cell in ep.strata.items():
            row = cell.cell[0]
            cells[(row, 1)] = h
            cells[(row, 2)] = labels.get(h, f"Stratum {h}")
            cells[cell.cell] = (f"=SUM({cell.sums_text})", pops["strata"][h] if pops else 0)
            count = int((self.stratum == h).sum())
            cells[(row, cell.cell[1] + 1)] = (f"=COUNTIF('{sheet}'!$D$2:$D${self.layout.prefilled_rows[1]},"
                                              f"'{ep.sheet}'!$B{row + 1})", count)
        for name, by_stratum in ep.populations.items():
            for h, cell in by_stratum.items():
                if cell.cell is None or cell.ref in {c.ref for c in ep.strata.values()}:
                    continue
                cells[(cell.cell[0] - 1, cell.cell[1])] = f"{name} population, stratum {h}"
                cells[cell.cell] = (f"=SUM({cell.sums_text})", pops[name][h] if pops else 0)
        return cells


_HELPER_FORMULAS = {"DP": lambda r: f"=D{r}", "DA": lambda r: f'=IF(M{r}="","",IF(OR(M{r}=7,M{r}>=9),1,2))',
                    "DB": lambda r: f"=IF(AND(N{r}=1,DA{r}=2),1,0)"}


def _numbers(data: pd.DataFrame, column: str) -> np.ndarray:
    if column not in data:
        return np.full(len(data), np.nan)
    return pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)


def _col(letter: str) -> int:
    from surveykit.workbook_layout import column_index
    return column_index(letter)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _plain(value):
    """A data value as a person types it: 3 not 3.0, text as text, blank as None."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return int(value) if value.is_integer() and abs(value) < 2.0 ** 53 else value
    return str(value)


# ---------------------------------------------------------------------------------------------- writers

def _plain_formula_sheet():
    """An xlsxwriter worksheet that takes formulas as written: the template's formulas use none of the newer
    Excel functions xlsxwriter rewrites, and skipping its 30 regular expressions a formula makes a
    4,000-row return several times faster to write."""
    from xlsxwriter.worksheet import Worksheet

    class PlainFormulas(Worksheet):
        def _prepare_formula(self, formula, expand_future_functions=False):
            return formula[1:] if formula.startswith("=") else formula

    return PlainFormulas


def _write_cached(tmp: Path, sheets: _Sheets) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "strings_to_urls": False})
    plain = _plain_formula_sheet()
    handles = {name: book.add_worksheet(name, worksheet_class=plain) for name in sheets.layout.sheets}
    wrap = book.add_format({"text_wrap": True, "bold": True})

    def put(ws, r, c, cell, fmt=None):
        if cell is None:
            return
        if isinstance(cell, tuple):
            formula, value = cell
            if formula is not None:
                ws.write_formula(r, c, formula, fmt, "" if value is None else value)
            return
        if isinstance(cell, bool):
            ws.write_boolean(r, c, cell, fmt)
        elif isinstance(cell, (int, float)):
            ws.write_number(r, c, cell, fmt)
        else:
            ws.write_string(r, c, cell, fmt)

    for name, ws in handles.items():
        if name not in (sheets.layout.data_sheet, sheets.layout.sign_off.sheet) and \
                (sheets.layout.eligible_population is None or name != sheets.layout.eligible_population.sheet):
            ws.write_string(0, 0, name)
    ws = handles[sheets.layout.data_sheet]
    header, helpers, rows = sheets.data_rows()
    top = sheets.layout.header_row - 1
    for j, text in enumerate(header):
        ws.write_string(top, j, text, wrap)
    for letter, text in helpers.items():
        ws.write_string(top, _col(letter), text, wrap)
    for k, (cells, extra) in enumerate(rows):
        r = top + 1 + k
        for j, cell in enumerate(cells):
            put(ws, r, j, cell)
        for letter, cell in extra.items():
            put(ws, r, _col(letter), cell)
    for (r, c), cell in sheets.sign_off_cells().items():
        put(handles[sheets.layout.sign_off.sheet], r, c, cell)
    if sheets.layout.eligible_population is not None:
        for (r, c), cell in sheets.eligible_cells().items():
            put(handles[sheets.layout.eligible_population.sheet], r, c, cell)
    book.close()


def _write_formulas_only(tmp: Path, sheets: _Sheets) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    handles = {name: book.create_sheet(name) for name in sheets.layout.sheets}

    def put(ws, r, c, cell):
        if cell is None:
            return
        if isinstance(cell, tuple):
            if cell[0] is not None:
                ws.cell(row=r + 1, column=c + 1, value=cell[0])   # a formula, no saved value
            return
        target = ws.cell(row=r + 1, column=c + 1)
        target.value = cell
        if isinstance(cell, str):
            target.data_type = "s"   # text starting "=" stays text

    for name, ws in handles.items():
        if name not in (sheets.layout.data_sheet, sheets.layout.sign_off.sheet) and \
                (sheets.layout.eligible_population is None or name != sheets.layout.eligible_population.sheet):
            ws.cell(row=1, column=1, value=name)
    ws = handles[sheets.layout.data_sheet]
    header, helpers, rows = sheets.data_rows()
    top = sheets.layout.header_row - 1
    for j, text in enumerate(header):
        put(ws, top, j, text)
    for letter, text in helpers.items():
        put(ws, top, _col(letter), text)
    for k, (cells, extra) in enumerate(rows):
        for j, cell in enumerate(cells):
            put(ws, top + 1 + k, j, cell)
        for letter, cell in extra.items():
            put(ws, top + 1 + k, _col(letter), cell)
    for (r, c), cell in sheets.sign_off_cells().items():
        put(handles[sheets.layout.sign_off.sheet], r, c, cell)
    if sheets.layout.eligible_population is not None:
        for (r, c), cell in sheets.eligible_cells().items():
            put(handles[sheets.layout.eligible_population.sheet], r, c, cell)
    book.save(tmp)
