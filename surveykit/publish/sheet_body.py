"""Table bodies written as SpreadsheetML rows and spliced into the sheets xlsxwriter wrote.

xlsxwriter lays out everything around a table (titles, merged header blocks, widths, frozen panes, the
autofilter, print set-up, Contents links, styles), which takes the format's ordering rules to get right. The
body is the bulk of the cells (the annex's T1-T3 hold 35,000 each) and plain: a number or a text in a style.
xlsxwriter spends about 6 microseconds a cell on it; writing the same ``<c>`` elements here takes about one.

How: ``write_workbook`` has xlsxwriter write each sheet without its body rows, into memory; ``splice`` then
copies that package member by member, putting each sheet's body rows (``Body``) into its ``<sheetData>`` in
row order and widening ``<dimension>`` to cover them. Body rows hold only body cells (titles, headers and
section headings are rows of their own), so no row is shared between the two writers. Numbers are written as
Python's shortest exact decimal; texts as inline strings (``t="inlineStr"``), escaped as XML text.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np

from surveykit.workbook_layout import cell_position, column_letter

_ROW = re.compile(rb'<row r="(\d+)"[^>]*?(?:/>|>.*?</row>)', re.S)
_SHEET_DATA = re.compile(rb"<sheetData>(.*?)</sheetData>|<sheetData/>", re.S)
_DIMENSION = re.compile(rb'<dimension ref="([^"]*)"/>')


def number_text(value) -> str:
    """A number as the ``<v>`` of a cell: integers exactly, floats as the shortest text that reads back equal."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(float(value))


_ESCAPE_LIKE = re.compile(r"(_x[0-9A-Fa-f]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


def _xml_text(text: str) -> str:
    """XML's escapes for character data (what xml.sax.saxutils.escape does, without the 12 ms its import of
    urllib.request costs a run before its first table)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escaped(text: str) -> str:
    """Text as a cell's XML holds it: ECMA-376 writes a control character (a carriage return) as "_x000D_", so
    text that already looks like such an escape has its underscore escaped ("_x005F_"); then XML's own."""
    if "_x" in text:
        text = _ESCAPE_LIKE.sub(r"_x005F\1", text)
    return _xml_text(_CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text))


def _inline(text: str) -> str:
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<is><t{space}>{_escaped(text)}</t></is>"


@dataclass
class Body:
    """One sheet's body cells, added a column at a time from left to right: the 0-based sheet rows, the values,
    and for each cell a key into a dict of xlsxwriter Formats. The cells become XML once the workbook is closed.
    (``Format._get_xf_index`` is xlsxwriter's own call when it writes a cell: adding a column calls it so each
    Format is given its style, and reading the index again gives the number styles.xml has for it.)"""

    sheet_number: int                             # 1-based position of the worksheet in the workbook
    columns: list = field(default_factory=list)   # (column, rows, values, keys, formats, is_text)

    def add(self, column: int, rows, values, keys, formats: dict, is_text: bool = False) -> None:
        if self.columns and column < self.columns[-1][0]:
            raise ValueError("body columns must be added from left to right")
        if len(rows):
            for fmt in formats.values():
                fmt._get_xf_index()   # what writing a cell does: the Format gets a style of its own
            self.columns.append((column, rows, values, keys, formats, is_text))

    def last_column(self) -> int:
        return max((c[0] for c in self.columns), default=-1)

    def rows(self) -> dict[int, list[str]]:
        """Sheet row (1-based) -> its ``<c>`` elements, in column order (each column adds at most one a row)."""
        cells: dict[int, list[str]] = {}
        for column, rows, values, keys, formats, is_text in self.columns:
            letters = column_letter(column)
            style = {key: fmt._get_xf_index() for key, fmt in formats.items()}
            if is_text:
                made = [f'<c r="{letters}{r + 1}" s="{style[k]}" t="inlineStr">{_inline(v)}</c>'
                        for r, v, k in zip(rows, values, keys)]
            else:
                made = [f'<c r="{letters}{r + 1}" s="{style[k]}"><v>{v}</v></c>'
                        for r, v, k in zip(rows, _number_texts(values), keys)]
            for r, cell in zip(rows, made):
                found = cells.get(r + 1)
                if found is None:
                    cells[r + 1] = [cell]
                else:
                    found.append(cell)
        return cells


def _number_texts(values) -> list[str]:
    """``number_text`` of each value: a column of floats, or of ints (bools as 1 and 0), in one pass."""
    for exact in (float.__repr__, int.__repr__):
        try:
            return list(map(exact, values))
        except TypeError:
            pass
    return [number_text(v) for v in values]


def _spliced(sheet_xml: bytes, body: Body) -> bytes:
    """A worksheet's XML with the body's rows put among xlsxwriter's, and its dimension covering both."""
    cells = body.rows()
    found = _SHEET_DATA.search(sheet_xml)
    if found is None:
        raise ValueError(f"worksheet {body.sheet_number} has no <sheetData>")
    theirs = {int(m.group(1)): m.group(0) for m in _ROW.finditer(found.group(1) or b"")}
    shared = set(theirs) & set(cells)
    if shared:
        raise ValueError(f"worksheet {body.sheet_number}: row {min(shared)} has both header and body cells")
    merged = b"".join(theirs[r] if r in theirs else f'<row r="{r}">{"".join(cells[r])}</row>'.encode()
                      for r in sorted({*theirs, *cells}))
    xml = sheet_xml[:found.start()] + b"<sheetData>" + merged + b"</sheetData>" + sheet_xml[found.end():]
    if not cells:
        return xml
    dimension = _DIMENSION.search(xml)
    if dimension is not None:
        first, _, end = dimension.group(1).decode().partition(":")
        last_row, last_column = cell_position(end or first)     # xlsxwriter's cells, 0-based
        last_row, last_column = max(last_row, max(cells) - 1), max(last_column, body.last_column())
        ref = f"{first}:{column_letter(last_column)}{last_row + 1}"
        xml = xml[:dimension.start()] + f'<dimension ref="{ref}"/>'.encode() + xml[dimension.end():]
    return xml


def splice(package: io.BytesIO, bodies: list[Body], path) -> None:
    """Write the .xlsx package xlsxwriter made in memory to ``path``, each sheet with its body, members in the
    same order. Compression level 1: the sheets' XML is repetitive, so it still shrinks about tenfold, in a
    quarter of the default level's time."""
    by_member = {f"xl/worksheets/sheet{b.sheet_number}.xml": b for b in bodies}
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(path, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            body = by_member.get(info.filename)
            if body is not None:
                data = _spliced(data, body)
            out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
