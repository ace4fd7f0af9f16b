"""The results workbook: published sheets written with xlsxwriter, ready to publish.

The table builders (``ascof_tables.py``, ``answer_tables.py``, ``annex.py``) hand over ``PublishedSheet``
objects (``sheet.py``): what each cell means. This module decides how a spreadsheet shows them:

- a Contents sheet first (every sheet, linked, with one line saying what it holds) and a Notes sheet last
  (where the tables came from: input file, its SHA-256, toolkit version, options, date; then the numbered
  notes the tables cite as "[note N]");
- each table under its title lines, its header blocks (a question's words over its answers) above
  plain-English column labels, an autofilter on the label row, panes frozen below the header and right of the
  area columns;
- numbers stored as numbers with number formats (0.0, 0.000, #,##0); symbols ("[c]") and all other text
  stored as text, right-aligned in number columns; text is never a formula (xlsxwriter writes strings as
  strings, and text a spreadsheet would read as a formula is also quote-prefixed, so editing it keeps it text);
- print set-up: A4 landscape, one page wide where that stays readable (else across pages at block
  boundaries, the area columns repeated), header rows repeated on every page, sheet name and page numbers in
  the footer.

A tidy DataFrame (``write_tables`` of raw results, a statistician's own table) becomes a sheet through
``table_sheet``: published number text ("67.7") becomes a number shown with its printed decimals, headings
become plain English. xlsxwriter spends a few microseconds a cell; benchmarks/bench_workbook.py times it
against the SpreadsheetML writer this replaced.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import repeat
from pathlib import Path

import numpy as np
import pandas as pd

import surveykit
from surveykit.errors import SurveyKitError
from surveykit.publish.atomic import atomic_write
from surveykit.publish.csv import PLAIN_NUMBER, formula_like
from surveykit.publish.rules import numbered_notes as _rules_notes, publishing_rules, symbols, symbols_line
from surveykit.publish.sheet import FORMATS, Block, PublishedSheet
from surveykit.publish.sheet_body import Body, splice

CONTENTS, NOTES = "Contents", "Notes"
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
# characters XML cannot hold: control characters, unpaired surrogates, U+FFFE/U+FFFF
_XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XLSX_ILLEGAL_WHAT = "a character .xlsx cannot store (a control character or an unpaired surrogate)"
_NUMBER = re.compile(PLAIN_NUMBER)
_MAX_ROWS, _MAX_COLUMNS = 1_048_576, 16_384
_NUMBER_FORMATS = {key for key in FORMATS if key != "text"}
_NUMBER_TYPES = frozenset((int, float, np.int64, np.int32, np.int16, np.int8, np.uint64, np.uint32, np.uint16,
                           np.uint8, np.float64, np.float32))
_TEXT_TYPES = frozenset((str, np.str_))
_CELL_OTHER, _CELL_TEXT, _CELL_NUMBER, _CELL_BLANK = 0, 1, 2, 3
_KIND_OF = {**{t: _CELL_NUMBER for t in _NUMBER_TYPES}, **{t: _CELL_TEXT for t in _TEXT_TYPES},
            type(None): _CELL_BLANK}

# Layout, in Excel's units: column widths in characters of the default font (Calibri 11, 7 pixels each plus
# 5 of padding), row heights in points (15 a line). A4 landscape less the margins is 10.9 inches, 1045 pixels.
_LINE_POINTS, _TITLE_POINTS = 15.0, 19.0
_MIN_WIDTH, _MAX_WIDTH, _LINE_WIDTH = 6, 50, 100
_HEADING_LINES = 3
_CHARS_PER_WIDTH = 1.2     # text averages a little narrower than the digit "0" the width unit is
_PAGE_PIXELS = (11.69 - 2 * 0.4) * 96
_SMALLEST_FIT = 0.55       # narrower than this when fitted to the page's width, a table prints across pages
_ACROSS_SCALE = 75         # ... at this scale (%)


# ------------------------------------------------------------------------------------------ tidy tables

@dataclass
class Sheet:
    """A tidy table with the lines shown above it (``table_sheet`` makes it a PublishedSheet)."""

    table: pd.DataFrame
    title: str
    definitions: list[str] = field(default_factory=list)


def _default_definitions(table: pd.DataFrame) -> list[str]:
    """Definitions of the ASCOF measures the table holds, from the publishing rules."""
    if "measure" not in table.columns:
        return []
    known = publishing_rules().get("measure_definitions") or {}
    codes = pd.unique(table["measure"].astype("str"))
    return [f"{code}: {known[code]}" for code in codes if code in known]


def _printed_decimals(text: str) -> tuple[int | float, int] | None:
    """A published number's text ("67.7", "+007") as a number and its printed decimals; None for other text
    and for numbers a spreadsheet cannot hold ("1e999")."""
    if not _NUMBER.fullmatch(text):
        return None
    if re.fullmatch(r"[+-]?\d+", text) and len(text) <= 16:  # exact, and "+007" is 7
        return int(text), 0
    value = float(text) + 0.0  # no -0.0
    if not math.isfinite(value):
        return None
    mantissa = re.split("[eE]", text)[0]
    return value, len(mantissa.split(".", 1)[1]) if "." in mantissa else 0


def _tidy_column(values: pd.Series, kind: str | None) -> tuple[np.ndarray, pd.Series | None, str]:
    """One tidy column as body cells (numbers, text, None), per-row formats where they differ, column format.

    Number columns stay numbers; infinities become text. Everything else is text (True/False, categories,
    mixed objects as ``str`` shows them), except that in a published value column (``kind`` "count" or
    "decimal") number text becomes a number shown with its printed decimals ("0.412" -> 0.000).
    """
    column_format = {"count": "count", "decimal": "decimal1"}.get(kind, "general")
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        cells = values.astype(object).where(values.notna(), None).map(
            lambda v: v if v is None else str(bool(v))).to_numpy(dtype=object)
        return cells, None, "text"
    if pd.api.types.is_integer_dtype(dtype):
        return values.astype(object).where(values.notna(), None).to_numpy(dtype=object), None, column_format
    if pd.api.types.is_float_dtype(dtype):
        floats = values.to_numpy(dtype="float64", na_value=np.nan)
        cells = np.array(floats.tolist(), dtype=object)
        cells[np.isnan(floats)] = None
        cells[np.isposinf(floats)] = "inf"
        cells[np.isneginf(floats)] = "-inf"
        return cells, None, column_format
    present = values.notna().to_numpy(dtype=bool)
    cells = np.full(len(values), None, dtype=object)
    cells[present] = [v if isinstance(v, str) else str(v) for v in values[present].tolist()]
    if kind is None:
        return cells, None, "text"
    codes, uniques = pd.factorize(cells[present])  # each distinct text is read once
    parsed = [_printed_decimals(text) for text in uniques]
    as_number = np.array([p is not None for p in parsed] or [False], dtype=bool)[codes]
    rows = np.flatnonzero(present)[as_number]
    cells[rows] = [parsed[c][0] for c in codes[as_number].tolist()]
    per_row = pd.Series(None, index=values.index, dtype=object)
    per_row.iloc[rows] = [("count" if kind == "count" else
                           f"decimal{parsed[c][1]}" if parsed[c][1] <= 6 else "general")
                          for c in codes[as_number].tolist()]
    return cells, per_row, column_format


def table_sheet(name: str, table: pd.DataFrame, title: str | None = None, lines: Sequence[str] | None = None,
                description: str = "") -> PublishedSheet:
    """A tidy table as a published sheet: one row per row, plain-English column labels
    (``column_labels`` in the publishing rules), numbers as numbers (published number text included, with its
    printed decimals), labels and other text as text. ``lines`` default to the ASCOF definitions the table
    needs, then the symbols."""
    rules = publishing_rules()
    labels = rules.get("column_labels") or {}
    kinds = rules.get("number_formats") or {}
    table = table.reset_index(drop=True)
    headers = [str(c) for c in table.columns]
    if len(set(headers)) != len(headers):
        raise SurveyKitError(f"sheet {name}: two columns are both called {_first_repeat(headers)!r}")
    body, formats, cell_formats = {}, {}, {}
    for j, header in enumerate(headers):
        cells, per_row, column_format = _tidy_column(table.iloc[:, j], kinds.get(header))
        body[header] = cells
        formats[header] = column_format
        if per_row is not None:
            cell_formats[header] = per_row
    frame = pd.DataFrame(body, index=table.index, columns=headers, dtype=object)
    if lines is None:
        lines = [*_default_definitions(table), symbols_line()]
    block = Block("", tuple(headers), tuple(str(labels.get(h, h)) for h in headers))
    return PublishedSheet(name=name, title=title or name, lines=list(lines), frame=frame,
                          blocks=[block] if headers else [], formats=formats, cell_formats=cell_formats,
                          description=description)


def _first_repeat(items):
    seen = set()
    return next(i for i in items if i in seen or seen.add(i))


# -------------------------------------------------------------------------------------------- checks

def _check_sheet_name(name: str, path: Path) -> str:
    if (not name or len(name) > 31 or _SHEET_NAME_BAD.search(name) or name.lower() in (CONTENTS.lower(),
                                                                                        NOTES.lower())
            or name.startswith("'") or name.endswith("'")):
        raise SurveyKitError(
            f"sheet name {name!r} is not allowed: 1-31 characters, none of []:*?/\\, "
            "no ' at either end, not 'Contents' or 'Notes'",
            file=path,
        )
    return name


def _check_text(text: str, where: str, path: Path, **at) -> str:
    if _XLSX_ILLEGAL.search(text):
        raise SurveyKitError(f"{where} holds {_XLSX_ILLEGAL_WHAT}", file=path, **at)
    return text


# ------------------------------------------------------------------------------------------ the cells

@dataclass
class _Column:
    """One body column sorted into numbers and text, with the widest thing shown."""

    number_rows: np.ndarray
    numbers: list
    number_formats: list            # FORMATS key per number
    text_rows: np.ndarray
    texts: list
    quoted: np.ndarray              # per text: formula-like, so quote-prefixed
    width: float                    # characters the widest value needs


def _number_width(values: np.ndarray, format_key: str) -> int:
    if not len(values):
        return 0
    top = float(np.max(np.abs(values)))
    digits = len(str(int(top))) if math.isfinite(top) else 10
    code = FORMATS.get(format_key, "General")
    if code == "General":
        return min(max(len(repr(float(v))) for v in values[:2000]), 12)
    decimals = len(code.split(".", 1)[1]) if "." in code else 0
    commas = (digits - 1) // 3 if "," in code else 0
    return digits + commas + (decimals + 1 if decimals else 0) + int(bool((values < 0).any()))


def _column_cells(sheet: PublishedSheet, column, first_row: np.ndarray, path: Path, cells=None) -> _Column:
    """Numbers (int/float, finite) and text of one body column; blanks (None/NaN) are left out. ``cells``: the
    column as an object array, when the caller took the whole sheet's at once (a sheet of object columns)."""
    values = sheet.frame[column] if cells is None else None
    column_format = sheet.formats.get(column, "text")
    per_row = sheet.cell_formats.get(column)
    if values is not None and pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype(object)
    if values is not None and pd.api.types.is_numeric_dtype(values.dtype) and \
            not isinstance(values.dtype, pd.CategoricalDtype):
        floats = values.to_numpy(dtype="float64", na_value=np.nan)
        is_number = np.isfinite(floats)
        is_text = np.isinf(floats)
        numbers = values[is_number].tolist()
        texts = ["inf" if v > 0 else "-inf" for v in floats[is_text].tolist()]
    else:
        cells = values.to_numpy(dtype=object) if cells is None else cells
        kind = np.fromiter(map(_KIND_OF.get, map(type, cells.tolist()), repeat(_CELL_OTHER)), dtype=np.int8,
                           count=len(cells))       # each cell's type looked up once, in C loops
        is_text, is_number = kind == _CELL_TEXT, kind == _CELL_NUMBER
        numbers = cells[is_number].tolist()
        finite = np.fromiter(map(math.isfinite, numbers), dtype=bool, count=len(numbers))
        if not finite.all():  # an infinity or NaN among the numbers: shown as text, or blank
            cells = cells.copy()                   # pandas' (and the sheet's) array is read-only
            number_at = np.flatnonzero(is_number)
            bad = number_at[~finite]
            is_number[bad] = False
            inf = [v for v in np.array(numbers, dtype=float)[~finite].tolist()]
            for row, v in zip(bad.tolist(), inf):
                if not math.isnan(v):
                    is_text[row] = True
                    cells[row] = "inf" if v > 0 else "-inf"
            numbers = [v for v, ok in zip(numbers, finite.tolist()) if ok]
        others = kind == _CELL_OTHER
        if others.any():
            others[others] = pd.notna(cells[others])
        if others.any():   # dates, booleans, categories among objects: the text str() gives
            cells = cells.copy()
            cells[others] = [str(v) for v in cells[others].tolist()]
            is_text |= others
        texts = list(map(str, cells[is_text].tolist()))
    number_rows = np.flatnonzero(is_number)
    text_rows = np.flatnonzero(is_text)
    if per_row is not None:
        keys = per_row.to_numpy(dtype=object)[number_rows]
        number_formats = [k if isinstance(k, str) else column_format for k in keys.tolist()]
    else:
        number_formats = [column_format] * len(number_rows)

    uniques = list(dict.fromkeys(texts))        # a column's few distinct texts (symbols, names), in order
    number_of = {text: u for u, text in enumerate(uniques)}
    codes = np.fromiter(map(number_of.__getitem__, texts), dtype=np.int64, count=len(texts))
    symbol_set = symbols()
    for u, text in enumerate(uniques):
        if _XLSX_ILLEGAL.search(text):
            at = int(text_rows[int(np.argmax(codes == u))])
            raise SurveyKitError(f"sheet {sheet.name}: {_XLSX_ILLEGAL_WHAT}", row=int(first_row[at]) + 1,
                                 column=str(column), file=path)
        if (column_format in _NUMBER_FORMATS and text not in symbol_set
                and _printed_decimals(text) is not None):
            raise ValueError(f"sheet {sheet.name!r}, column {column!r}: the number {text!r} is given as text; "
                             "a published sheet's numbers must be numbers")
    quoted = np.array([formula_like(t) for t in uniques] or [False], dtype=bool)[codes] if texts \
        else np.zeros(0, dtype=bool)
    lengths = np.array([len(t) for t in uniques] or [0], dtype="int64")
    width = float(lengths.max(initial=0))
    if numbers:
        array = np.array(numbers, dtype="float64")
        keys = set(number_formats)
        for key in keys:
            chosen = array if len(keys) == 1 else array[np.array([k == key for k in number_formats])]
            width = max(width, _number_width(chosen, key))
    return _Column(number_rows, numbers, number_formats, text_rows, texts, quoted, width)


class _Formats:
    """xlsxwriter Format objects, each combination made once."""

    def __init__(self, workbook):
        self.workbook = workbook
        self._made = {}

    def __call__(self, **properties):
        key = tuple(sorted(properties.items()))
        if key not in self._made:
            self._made[key] = self.workbook.add_format(dict(properties, font_name="Calibri", font_size=11)
                                                       if "font_size" not in properties
                                                       else dict(properties, font_name="Calibri"))
        return self._made[key]

    def number(self, key: str):
        return self(num_format=FORMATS[key])

    def text(self, right: bool, quoted: bool):
        properties = {}
        if right:
            properties["align"] = "right"
        if quoted:
            properties["quote_prefix"] = True
        return self(**properties)


# ------------------------------------------------------------------------------------------ layout

def _pixels(width: float) -> int:
    return int(width * 7 + 0.5) + 5


def _lines_needed(text: str, width: float) -> int:
    """Lines a wrapped text takes in a cell ``width`` characters wide (a rough measure, on the safe side)."""
    fits = max(width * _CHARS_PER_WIDTH - 1, 1)
    return sum(max(1, math.ceil(len(part) / fits)) for part in text.split("\n"))


def _text_span(widths: list[float], repeated: int = 0) -> int:
    """Columns the title lines are merged across: about a printed page's width of the table's first columns,
    or, where the table prints across pages, the columns repeated on every page (so every page shows the
    whole title, wrapped within them)."""
    if repeated and sum(widths[:repeated]) >= 40:
        return repeated
    total, span = 0.0, 0
    for w in widths:
        total += w
        span += 1
        if total >= _LINE_WIDTH:
            break
    return max(span, 1)


def _column_widths(sheet: PublishedSheet, cells: list[_Column], labels: list[str]) -> list[float]:
    widths = []
    for column, cell, label in zip(sheet.frame.columns, cells, labels):
        if column in sheet.widths:
            widths.append(float(sheet.widths[column]))
            continue
        longest_word = max((len(w) for w in label.split()), default=0)
        content = min(cell.width, _MAX_WIDTH)
        # a label may wrap onto five lines, a word never breaks
        widths.append(float(min(max(content, longest_word, math.ceil(len(label) / 5), _MIN_WIDTH - 2) + 2,
                                _MAX_WIDTH + 2)))
    # a block's heading (a question's words) takes at most three lines: its columns widen to hold it
    position = {c: j for j, c in enumerate(sheet.frame.columns)}
    for block in sheet.blocks:
        js = [position[c] for c in block.columns]
        have = sum(widths[j] for j in js)
        need = len(str(block.title)) / (_HEADING_LINES * _CHARS_PER_WIDTH) + 2
        if block.title and have < need:
            for j in js:
                widths[j] = float(min(math.ceil(widths[j] * need / have), _MAX_WIDTH + 2))
    return widths


def _page_breaks(sheet: PublishedSheet, widths: list[float]) -> list[int] | None:
    """None when the table fits one page wide at a readable scale; else the columns that start a new page
    when printed at ``_ACROSS_SCALE`` with the frozen (area) columns repeated, at block boundaries."""
    pixels = [_pixels(w) for w in widths]
    if sum(pixels) * _SMALLEST_FIT <= _PAGE_PIXELS:
        return None
    page = _PAGE_PIXELS * 100 / _ACROSS_SCALE - sum(pixels[:sheet.freeze_columns])
    position = {c: j for j, c in enumerate(sheet.frame.columns)}
    breaks, used = [], 0.0
    for block in sheet.blocks:
        columns = [position[c] for c in block.columns if position[c] >= sheet.freeze_columns]
        if not columns:
            continue
        block_pixels = sum(pixels[j] for j in columns)
        if used and used + block_pixels > page:
            breaks.append(columns[0])
            used = 0.0
        if block_pixels <= page:
            used += block_pixels
            continue
        for j in columns:  # a block wider than a page breaks between its own columns
            if used and used + pixels[j] > page:
                breaks.append(j)
                used = 0.0
            used += pixels[j]
    return breaks


def _print_setup(worksheet, header_first: int, header_last: int, repeat_columns: int,
                 breaks: list[int] | None) -> None:
    worksheet.set_landscape()
    worksheet.set_paper(9)  # A4
    worksheet.set_margins(left=0.4, right=0.4, top=0.55, bottom=0.6)
    worksheet.set_footer("&L&8&A&R&8Page &P of &N", {"margin": 0.3})
    if header_last >= header_first:
        worksheet.repeat_rows(header_first, header_last)
    if breaks is None:
        worksheet.fit_to_pages(1, 0)
    else:
        worksheet.set_print_scale(_ACROSS_SCALE)
        if repeat_columns:
            worksheet.repeat_columns(0, repeat_columns - 1)
        if breaks:
            worksheet.set_v_pagebreaks(breaks)


def _write_lines(worksheet, formats: _Formats, title: str, lines: Sequence[str], span_widths: list[float],
                 where: str, path: Path, repeated: int = 0) -> int:
    """Title (row 0) and lines under it, each merged across the first page's columns and wrapped. Returns the
    next free row."""
    span = _text_span(span_widths, repeated)
    width = sum(span_widths[:span])
    for row, text in enumerate([title, *lines]):
        text = _check_text(str(text), f"{where}, row {row + 1}", path)
        properties = {"text_wrap": True, "valign": "top"}
        if row == 0:
            properties.update(bold=True, font_size=14)
        if formula_like(text):
            properties["quote_prefix"] = True
        cell_format = formats(**properties)
        if span > 1:
            worksheet.merge_range(row, 0, row, span - 1, "", cell_format)
        worksheet.write_string(row, 0, text, cell_format)
        points = _TITLE_POINTS if row == 0 else _LINE_POINTS
        lines_needed = _lines_needed(text, width * (0.62 if row == 0 else 1.0))   # the title is 14 pt bold
        if lines_needed > 1:
            worksheet.set_row(row, min(points * lines_needed, 409))
    return len(lines) + 1


def _write_table(workbook, formats: _Formats, sheet: PublishedSheet, path: Path, sheet_number: int) -> Body:
    """The sheet around its body, with xlsxwriter; the body's cells, for ``splice`` to add."""
    name = sheet.name
    frame = sheet.frame
    n_rows, n_columns = frame.shape
    columns = list(frame.columns)
    label_of, block_of = {}, {}
    for block in sheet.blocks:
        for column, label in zip(block.columns, block.labels):
            label_of[column] = str(label)
            block_of[column] = block
    labels = [label_of[c] for c in columns]
    has_titles = any(block.title for block in sheet.blocks)

    sections = sorted(sheet.sections, key=lambda s: s.first)
    header_first = len(sheet.lines) + 2           # a blank row under the lines
    label_row = header_first + int(has_titles)
    first_body = label_row + 1
    # body row -> sheet row: each section's heading row pushes the rows after it down
    shift = np.zeros(n_rows, dtype="int64")
    for section in sections:
        if not 0 <= section.first <= section.last < n_rows:
            raise ValueError(f"sheet {name!r}: section {section.title!r} is outside the body's rows")
        shift[section.first:] += 1
    positions = first_body + np.arange(n_rows, dtype="int64") + shift
    last_row = int(positions[-1]) if n_rows else label_row
    if last_row >= _MAX_ROWS or n_columns > _MAX_COLUMNS:
        raise SurveyKitError(f"sheet {name}: {n_rows} rows x {n_columns} columns do not fit in a worksheet "
                             f"({_MAX_ROWS - first_body} rows, {_MAX_COLUMNS} columns at most)", file=path)

    if n_columns and all(dtype == object for dtype in frame.dtypes):    # the annex: one copy, not a Series a column
        block = frame.to_numpy(dtype=object)
        cells = [_column_cells(sheet, c, positions, path, block[:, j]) for j, c in enumerate(columns)]
    else:
        cells = [_column_cells(sheet, c, positions, path) for c in columns]
    widths = _column_widths(sheet, cells, labels) if columns else [10.0]
    worksheet = workbook.add_worksheet(name)
    for j, w in enumerate(widths):
        worksheet.set_column(j, j, w)
    breaks = _page_breaks(sheet, widths)
    _write_lines(worksheet, formats, sheet.title, sheet.lines, widths, f"sheet {name}", path,
                 repeated=0 if breaks is None else sheet.freeze_columns)

    # header: block titles over their columns, then a label over each column
    numeric = [sheet.formats.get(c, "text") in _NUMBER_FORMATS for c in columns]
    if has_titles:
        height = 1
        position = {c: j for j, c in enumerate(columns)}
        title_format = formats(bold=True, text_wrap=True, align="center", valign="bottom", top=1, left=1,
                               right=1)
        for block in sheet.blocks:
            js = [position[c] for c in block.columns]
            text = _check_text(str(block.title), f"sheet {name}, the heading over {block.columns[0]!r}", path)
            cell_format = formats(bold=True, text_wrap=True, align="center", valign="bottom", top=1, left=1,
                                  right=1, quote_prefix=True) if formula_like(text) else title_format
            if not text:
                continue
            if len(js) > 1 and js == list(range(js[0], js[-1] + 1)):
                worksheet.merge_range(header_first, js[0], header_first, js[-1], "", cell_format)
            worksheet.write_string(header_first, js[0], text, cell_format)
            height = max(height, _lines_needed(text, sum(widths[j] for j in js)))
        if height > 1:
            worksheet.set_row(header_first, min(_LINE_POINTS * height, 409))
    label_height = 1
    for j, label in enumerate(labels):
        _check_text(label, f"sheet {name}, column {columns[j]!r}", path)
        properties = dict(bold=True, text_wrap=True, valign="bottom", bottom=1)
        if numeric[j]:
            properties["align"] = "right"
        if formula_like(label):
            properties["quote_prefix"] = True
        worksheet.write_string(label_row, j, label, formats(**properties))
        label_height = max(label_height, _lines_needed(label, widths[j]))
    if label_height > 1:
        worksheet.set_row(label_row, min(_LINE_POINTS * label_height, 409))

    section_format = formats(bold=True)
    for i, section in enumerate(sections):
        title = _check_text(str(section.title), f"sheet {name}, section {section.title!r}", path)
        worksheet.write_string(int(positions[section.first]) - 1, 0, title,
                               formats(bold=True, quote_prefix=True) if formula_like(title) else section_format)

    # the body, a column at a time: made into XML once the workbook is closed (sheet_body.py)
    body = Body(sheet_number)
    for j, cell in enumerate(cells):
        body.add(j, positions[cell.number_rows].tolist(), cell.numbers, cell.number_formats,
                 {key: formats.number(key) for key in set(cell.number_formats)})
        body.add(j, positions[cell.text_rows].tolist(), cell.texts, cell.quoted.tolist(),
                 {False: formats.text(numeric[j], False), True: formats.text(numeric[j], True)}, is_text=True)

    if columns:
        worksheet.autofilter(label_row, 0, last_row, n_columns - 1)
        worksheet.ignore_errors({"number_stored_as_text": f"A1:XFD{last_row + 1}"})  # codes are text
    worksheet.freeze_panes(label_row + 1, min(sheet.freeze_columns, n_columns))
    _print_setup(worksheet, header_first, label_row, sheet.freeze_columns, breaks)
    return body


# ------------------------------------------------------------------------------- contents and notes

def _run_date(notes: Mapping) -> datetime:
    """The date the tables were made: the run's own (``created``), else now."""
    created = notes.get("created") or notes.get("date")
    if created:
        try:
            when = datetime.fromisoformat(str(created))
        except ValueError:
            when = None
        if when is not None:
            return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)  # the day, as shown


def _contents_sheet(workbook, formats: _Formats, sheets: list[PublishedSheet], title: str, notes: Mapping,
                    when: datetime, path: Path) -> None:
    worksheet = workbook.add_worksheet(CONTENTS)
    source = notes.get("input_file")
    lines = [f"Made by surveykit {surveykit.__version__} on {when.date().isoformat()}"
             + (f" from {Path(str(source)).name}" if source else "")
             + ". Where the figures came from, and the notes the tables cite as [note N], are on the Notes sheet.",
             "Select a sheet's name to go to it."]
    rows = [(sheet.name, sheet.description or sheet.title) for sheet in sheets]
    rows.append((NOTES, "Where these tables came from (input file, its checksum, toolkit version, options, "
                        "date) and the numbered notes the tables cite"))
    widths = [max(max(len(n) for n, _ in rows) + 2, 14), min(max(len(d) for _, d in rows) + 2, 100)]
    for j, w in enumerate(widths):
        worksheet.set_column(j, j, w)
    header = _write_lines(worksheet, formats, title, lines, widths, CONTENTS, path) + 1
    bold = formats(bold=True, bottom=1)
    worksheet.write_string(header, 0, "Sheet", bold)
    worksheet.write_string(header, 1, "What it shows", bold)
    link, wrap = formats(font_color="blue", underline=1, valign="top"), formats(text_wrap=True, valign="top")
    for i, (name, description) in enumerate(rows, start=header + 1):
        description = _check_text(str(description), f"{CONTENTS}, row {i + 1}", path)
        target = name.replace("'", "''")
        worksheet.write_url(i, 0, f"internal:'{target}'!A1", link, string=name, tip=f"Go to {name}")
        worksheet.write_string(i, 1, description, formats(text_wrap=True, valign="top", quote_prefix=True)
                               if formula_like(description) else wrap)
        if _lines_needed(description, widths[1]) > 1:
            worksheet.set_row(i, _LINE_POINTS * _lines_needed(description, widths[1]))
    worksheet.freeze_panes(header + 1, 0)
    _print_setup(worksheet, header, header, 0, None)
    worksheet.activate()


def _provenance(notes: Mapping, when: datetime) -> list[tuple[str, str]]:
    def text(value):
        if isinstance(value, (list, tuple, set)):
            value = ", ".join(map(str, value))
        value = "" if value is None else str(value)
        return value if value.strip() else "(none)"

    rows = [("Input file", text(notes.get("input_file", ""))),
            ("Input checksum (SHA-256)", text(notes.get("checksum", ""))),
            ("surveykit version", surveykit.__version__),
            ("Date made", when.date().isoformat())]
    rows += [(str(k), text(v)) for k, v in notes.items()
             if k not in ("input_file", "checksum", "options", "created", "date")]
    rows += [(f"Option: {k}", text(v)) for k, v in (notes.get("options") or {}).items()]
    return rows


def _notes_sheet(workbook, formats: _Formats, notes: Mapping, numbered: Sequence[str], when: datetime,
                 path: Path) -> None:
    worksheet = workbook.add_worksheet(NOTES)
    provenance = _provenance(notes, when)
    widths = [max(max(len(k) for k, _ in provenance) + 2, 14), 100]
    for j, w in enumerate(widths):
        worksheet.set_column(j, j, w)
    row = _write_lines(worksheet, formats, "Notes",
                       ["Where these tables came from, then the notes the tables cite as [note N]."],
                       widths, NOTES, path) + 1
    bold, wrap = formats(bold=True, bottom=1), formats(text_wrap=True, valign="top")
    top, quoted = formats(valign="top"), formats(text_wrap=True, valign="top", quote_prefix=True)

    def pair(at, key, value):
        key = _check_text(key, f"{NOTES}, row {at + 1}", path)
        value = _check_text(value, f"{NOTES}, row {at + 1}", path)
        worksheet.write_string(at, 0, key, formats(valign="top", quote_prefix=True) if formula_like(key) else top)
        worksheet.write_string(at, 1, value, quoted if formula_like(value) else wrap)
        if _lines_needed(value, widths[1]) > 1:
            worksheet.set_row(at, _LINE_POINTS * _lines_needed(value, widths[1]))

    worksheet.write_string(row, 0, "Item", bold)
    worksheet.write_string(row, 1, "Value", bold)
    for i, (key, value) in enumerate(provenance, start=row + 1):
        pair(i, key, value)
    row = row + len(provenance) + 2
    if numbered:
        worksheet.write_string(row, 0, "Note number", bold)
        worksheet.write_string(row, 1, "Note text", bold)
        for i, text in enumerate(numbered, start=1):
            pair(row + i, f"Note {i}", str(text))
    _print_setup(worksheet, 0, -1, 0, None)


# -------------------------------------------------------------------------------------------- writing

def _as_sheets(sheets, path: Path) -> list[PublishedSheet]:
    """PublishedSheets from a list of them, or a mapping of sheet name to a DataFrame, Sheet or PublishedSheet."""
    if isinstance(sheets, PublishedSheet):
        return [sheets]
    if isinstance(sheets, Mapping):
        out = []
        for name, sheet in sheets.items():
            name = _check_sheet_name(str(name), path)
            if isinstance(sheet, PublishedSheet):
                out.append(sheet if sheet.name == name else _renamed(sheet, name))
            elif isinstance(sheet, Sheet):
                out.append(table_sheet(name, sheet.table, sheet.title, [*sheet.definitions, symbols_line()]))
            elif isinstance(sheet, pd.DataFrame):
                out.append(table_sheet(name, sheet))
            else:
                raise TypeError(f"sheet {name!r}: expected a DataFrame, Sheet or PublishedSheet, "
                                f"not {type(sheet).__name__}")
        return out
    out = list(sheets)
    wrong = [type(s).__name__ for s in out if not isinstance(s, PublishedSheet)]
    if wrong:
        raise TypeError(f"expected PublishedSheet objects, not {wrong[0]}")
    return out


def _renamed(sheet: PublishedSheet, name: str) -> PublishedSheet:
    from dataclasses import replace
    return replace(sheet, name=name)


def write_workbook(sheets, path, notes: Mapping | None = None, *, title: str | None = None,
                   numbered_notes: Sequence[str] | None = None) -> Path:
    """Write published sheets to a real .xlsx, atomically: a Contents sheet, the sheets, a Notes sheet.

    ``sheets`` is a list of ``PublishedSheet`` (any table builder's), or a mapping of sheet name to a tidy
    DataFrame, ``Sheet`` or ``PublishedSheet``. ``notes`` holds where the tables came from: ``input_file``,
    ``checksum``, ``options`` (a dict), ``created`` (the run's ISO date; now if absent) and any other item to
    record; the toolkit version is added. ``title`` heads the Contents sheet; ``numbered_notes`` are the notes
    the tables cite as "[note N]" (the publishing rules' notes by default).
    """
    path = Path(path)
    published = _as_sheets(sheets, path)
    if not published:
        raise SurveyKitError("no tables to write", file=path)
    for sheet in published:
        _check_sheet_name(sheet.name, path)
    lowered = [sheet.name.lower() for sheet in published]
    if len(set(lowered)) != len(lowered):
        raise SurveyKitError("sheet names must differ other than in upper/lower case", file=path)
    notes = dict(notes or {})
    when = _run_date(notes)
    numbered = _rules_notes() if numbered_notes is None else list(numbered_notes)
    title = title or "Published tables"

    def write(tmp: Path) -> None:
        import xlsxwriter

        package = io.BytesIO()
        workbook = xlsxwriter.Workbook(package, {"in_memory": True, "strings_to_numbers": False,
                                                 "strings_to_formulas": False, "strings_to_urls": False})
        workbook.set_properties({"title": title, "author": "surveykit", "created": when.replace(tzinfo=None),
                                 "comments": f"Made by surveykit {surveykit.__version__}"})
        formats = _Formats(workbook)
        _contents_sheet(workbook, formats, published, title, notes, when, path)
        bodies = [_write_table(workbook, formats, sheet, path, number)
                  for number, sheet in enumerate(published, start=2)]   # Contents is sheet 1
        _notes_sheet(workbook, formats, notes, numbered, when, path)
        workbook.close()
        splice(package, bodies, tmp)  # only a whole workbook is saved; atomic_write removes a failed one

    return atomic_write(path, write)
