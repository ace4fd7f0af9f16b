"""Checks on a workbook's zip container before any cell is parsed: cheap, and they refuse files that
would take gigabytes or minutes (zip bombs, millions of shared strings, a cell typed a million rows down)
or that declare XML entities (entity expansion). What they cannot see, the contained child process's
memory and time limits catch (contained.py).

The sheets read (the data return's named sheets, or a reference table's first sheet) are streamed once,
without parsing, to count their rows and find their last cell, so a file that omits or understates its
``<dimension>`` (a million one-cell rows in 5 MB) is refused as surely as one that states it. Every XML part's
prolog (whatever its encoding, however long its comments) is read up to its first element: a DOCTYPE or
ENTITY there is refused."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from surveykit.errors import SurveyKitError
from surveykit.read.grid import sheet_key
from surveykit.workbook_layout import column_index, column_letter

MAX_MEMBER_BYTES = 512 * 2**20       # any one part, uncompressed
MAX_TOTAL_BYTES = 1024 * 2**20       # the whole workbook, uncompressed
MAX_SHARED_STRINGS_BYTES = 128 * 2**20
MAX_SHARED_STRINGS = 2_000_000
MAX_RATIO = 200                      # uncompressed / compressed, for parts over BIG
BIG = 32 * 2**20
MAX_ROWS = 200_000                   # the official return has 4,000 rows
MAX_COLUMNS = 1_000                  # ... and 184 columns
MAX_PROLOG = 64 * 2**10             # bytes before a part's first element (an XML declaration is ~60)
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')
_COUNT = re.compile(rb'uniqueCount="(\d+)"')
_CHUNK = 4 * 2**20
_OVERLAP = 64                        # a tag cut by a chunk boundary is seen whole in the next


def check_workbook(path: Path, sheets=(), first_sheet: bool = False) -> None:
    """Refuse a workbook whose container is damaged, too large, entity-declaring, or whose ``sheets`` (or, with
    ``first_sheet``, its first sheet) hold more rows or columns than a data return can have. Errors name the
    file."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _sizes(path, infos)
            for info in infos:
                if info.filename.lower().endswith((".xml", ".rels")):
                    with archive.open(info) as fh:
                        head = _prolog(path, info.filename, fh)
                    if info.filename.lower().endswith("sharedstrings.xml"):
                        _shared_strings(path, archive, info, head)
            for name, part in _sheet_parts(archive, sheets, first_sheet).items():
                with archive.open(part) as fh:
                    head = fh.read(4096)
                _dimension(path, name, head)
                _scan_sheet(path, name, archive, part)
    except SurveyKitError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError, SyntaxError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise SurveyKitError(f"not a readable Excel workbook (damaged or truncated?): {detail}", file=path) from exc


def _prolog(path, name: str, fh) -> bytes:
    """The part's bytes up to its first element (at most MAX_PROLOG), as UTF-8; refused if they declare a
    DOCTYPE or entities, or if no element starts within MAX_PROLOG bytes."""
    raw = fh.read(MAX_PROLOG)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw[:2] in (b"<\x00", b"\x00<"):
        text = raw.decode("utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else
                          ("utf-16-le" if raw[:2] == b"<\x00" else "utf-16-be"), errors="ignore")
    elif raw.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        text = raw.decode("utf-32", errors="ignore")
    else:
        text = raw.decode("utf-8", errors="ignore")
    at = 0
    while True:   # skip the declaration, processing instructions, comments and space before the first element
        start = text.find("<", at)
        if start < 0 or start + 1 >= len(text):
            if len(raw) >= MAX_PROLOG:
                raise SurveyKitError(f"refused: part {name} has more than {MAX_PROLOG // 1024} KB before its first "
                                     "element (a workbook saved by Excel or LibreOffice never does)", file=path)
            return raw
        following = text[start + 1:start + 10]
        if following.startswith("?"):
            at = text.find("?>", start)
        elif following.startswith("!--"):
            at = text.find("-->", start)
        elif following.upper().startswith(("!DOCTYPE", "!ENTITY")):
            raise SurveyKitError(f"refused: part {name} declares XML entities (a workbook saved by Excel or "
                                 "LibreOffice never does)", file=path)
        else:
            return raw
        if at < 0:
            at = len(text)


def _shared_strings(path, archive, info, head: bytes) -> None:
    """More different texts than MAX_SHARED_STRINGS, by the part's own count or, without one, by counting."""
    m = _COUNT.search(head)
    count = int(m.group(1)) if m else None
    if count is None and info.file_size > MAX_SHARED_STRINGS * 4:   # a text needs at least <si/> (5 bytes)
        count = sum(_tags(tail + block, _TEXT_TAGS) - _tags(tail, _TEXT_TAGS)
                    for tail, block in _chunks(archive, info.filename))
    if count is not None and count > MAX_SHARED_STRINGS:
        raise SurveyKitError(f"refused: the workbook holds {count:,} different texts (more than "
                             f"{MAX_SHARED_STRINGS:,})", file=path)


_TEXT_TAGS = (b"<si>", b"<si ", b"<si/", b":si>", b":si ")
_ROW_TAGS = (b"<row>", b"<row ", b"<row/", b":row>", b":row ")


def _tags(data: bytes, tags) -> int:
    """How many of ``tags`` start in ``data`` (bytes.count: no regular expression over megabytes)."""
    return sum(data.count(t) for t in tags)


def _chunks(archive, part):
    """(overlap, block) pairs: the part's bytes in blocks, each with the last few bytes of the one before, so a
    tag cut by a boundary is whole in ``overlap + block``."""
    tail = b""
    with archive.open(part) as fh:
        while True:
            block = fh.read(_CHUNK)
            if not block:
                return
            yield tail, block
            tail = block[-_OVERLAP:]


def _scan_sheet(path, sheet: str, archive, part) -> None:
    """Rows and the last cell of a sheet, counted from its XML without parsing it: refused past the limits.

    Rows are counted by their tags, and every cell or row reference with as many digits as MAX_ROWS or as many
    letters as column MAX_COLUMNS is read (a data return's references are shorter), so the scan costs a few
    milliseconds on the official form's 4,000 rows."""
    row_digits = len(str(MAX_ROWS))
    col_letters = len(column_letter(MAX_COLUMNS - 1))
    long_row = re.compile(rb'r="[A-Z]{0,3}(\d{%d,})"' % row_digits)
    wide_col = re.compile(rb'r="([A-Z]{%d,})\d' % col_letters)
    rows, last_row, last_col = 0, 0, 0
    for tail, block in _chunks(archive, part):
        both = tail + block
        rows += _tags(both, _ROW_TAGS) - _tags(tail, _ROW_TAGS)
        for number in long_row.findall(both):
            last_row = max(last_row, int(number[:12]))
        for letters in wide_col.findall(both):
            last_col = max(last_col, _column_number(letters[:6]))
        if max(rows, last_row) > MAX_ROWS or last_col > MAX_COLUMNS:
            break
    if max(rows, last_row) > MAX_ROWS or last_col > MAX_COLUMNS:
        what = (f"more than {MAX_ROWS:,} rows" if max(rows, last_row) > MAX_ROWS
                else f"cells as far right as column {last_col:,}")
        raise SurveyKitError(f"refused: sheet {sheet!r} holds {what}; a data return has at most {MAX_ROWS:,} rows "
                             f"and {MAX_COLUMNS:,} columns: is something typed far below or right of the data?",
                             file=path)


def _column_number(letters: bytes) -> int:
    """1-based column number of a cell reference's letters (b"A" -> 1; b"" -> 0)."""
    return column_index(letters.decode()) + 1


def _size(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n / 2**10:,.0f} KB"


def _sizes(path, infos) -> None:
    total = 0
    for info in infos:
        total += info.file_size
        name = info.filename
        if info.file_size > MAX_MEMBER_BYTES:
            raise SurveyKitError(f"refused: part {name} would unpack to {_size(info.file_size)}", file=path)
        if name.lower().endswith("sharedstrings.xml") and info.file_size > MAX_SHARED_STRINGS_BYTES:
            raise SurveyKitError(f"refused: the workbook's text would unpack to {_size(info.file_size)}", file=path)
        if info.file_size > BIG and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise SurveyKitError(f"refused: part {name} unpacks to {_size(info.file_size)} from "
                                 f"{_size(info.compress_size)} (a zip bomb?)", file=path)
    if total > MAX_TOTAL_BYTES:
        raise SurveyKitError(f"refused: the workbook would unpack to {_size(total)}", file=path)


def _sheet_parts(archive: zipfile.ZipFile, sheets, first_sheet: bool = False) -> dict[str, str]:
    """Sheet name -> its part in the zip, for the named sheets, or the first (found through workbook.xml and
    its rels)."""
    if not sheets and not first_sheet:
        return {}
    import defusedxml.ElementTree as ET

    names = set(archive.namelist())
    book = ET.fromstring(archive.read("xl/workbook.xml"))
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels")) if "xl/_rels/workbook.xml.rels" in names else None
    targets = {}
    if rels is not None:
        for rel in rels:
            targets[rel.get("Id")] = rel.get("Target", "")
    wanted = {sheet_key(s) for s in sheets}
    out = {}
    for el in book.iter():
        if el.tag.endswith("}sheet") or el.tag == "sheet":
            name = el.get("name", "")
            if sheet_key(name) not in wanted and not (first_sheet and not out):
                continue
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            target = targets.get(rid, "")
            part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            if part in names:
                out[name] = part
            elif first_sheet and not sheets:
                break
    return out


def _dimension(path, sheet: str, head: bytes) -> None:
    m = _DIMENSION.search(head)
    if not m:
        return
    last_col, last_row = (m.group(3), m.group(4)) if m.group(3) else (m.group(1), m.group(2))
    rows = int(last_row) if last_row else 0
    cols = _column_number(last_col or b"")
    if rows > MAX_ROWS or cols > MAX_COLUMNS:
        ref = m.group(0).decode(errors="replace").split('"')[1]
        raise SurveyKitError(f"refused: sheet {sheet!r} spans {ref} ({rows:,} rows, {cols:,} columns); a data "
                             f"return has at most {MAX_ROWS:,} rows: is something typed far below or right of "
                             "the data?", file=path)
