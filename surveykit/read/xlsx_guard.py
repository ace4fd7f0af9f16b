"""Checks on a workbook's zip container before any cell is parsed: cheap, and they refuse files that
would take gigabytes or minutes (zip bombs, millions of shared strings, a cell typed a million rows down)
or that declare XML entities (entity expansion). What they cannot see, the contained child process's
memory and time limits catch (contained.py)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from surveykit.errors import SurveyKitError

MAX_MEMBER_BYTES = 512 * 2**20       # any one part, uncompressed
MAX_TOTAL_BYTES = 1024 * 2**20       # the whole workbook, uncompressed
MAX_SHARED_STRINGS_BYTES = 128 * 2**20
MAX_SHARED_STRINGS = 2_000_000
MAX_RATIO = 200                      # uncompressed / compressed, for parts over BIG
BIG = 32 * 2**20
MAX_ROWS = 200_000                   # the official return has 4,000 rows
MAX_COLUMNS = 1_000                  # ... and 184 columns
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')
_COUNT = re.compile(rb'uniqueCount="(\d+)"')


def check_workbook(path: Path, sheets=()) -> None:
    """Refuse a workbook whose container is damaged, too large, entity-declaring, or whose ``sheets`` claim
    more rows or columns than a data return can have. Errors name the file."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _sizes(path, infos)
            for info in infos:
                if info.filename.lower().endswith((".xml", ".rels")):
                    with archive.open(info) as fh:
                        head = fh.read(4096)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise SurveyKitError(f"refused: part {info.filename} declares XML entities "
                                             "(a workbook saved by Excel or LibreOffice never does)", file=path)
                    if info.filename.lower().endswith("sharedstrings.xml"):
                        m = _COUNT.search(head)
                        if m and int(m.group(1)) > MAX_SHARED_STRINGS:
                            raise SurveyKitError(f"refused: the workbook holds {int(m.group(1)):,} different texts "
                                                 f"(more than {MAX_SHARED_STRINGS:,})", file=path)
            for name, part in _sheet_parts(archive, sheets).items():
                with archive.open(part) as fh:
                    head = fh.read(4096)
                _dimension(path, name, head)
    except SurveyKitError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise SurveyKitError(f"not a readable Excel workbook (damaged or truncated?): {detail}", file=path) from exc


def _sizes(path, infos) -> None:
    total = 0
    for info in infos:
        total += info.file_size
        name = info.filename
        if info.file_size > MAX_MEMBER_BYTES:
            raise SurveyKitError(f"refused: part {name} would unpack to {info.file_size / 2**20:,.0f} MB", file=path)
        if name.lower().endswith("sharedstrings.xml") and info.file_size > MAX_SHARED_STRINGS_BYTES:
            raise SurveyKitError(f"refused: the workbook's text would unpack to {info.file_size / 2**20:,.0f} MB",
                                 file=path)
        if info.file_size > BIG and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise SurveyKitError(f"refused: part {name} unpacks to {info.file_size / 2**20:,.0f} MB from "
                                 f"{info.compress_size / 2**10:,.0f} KB (a zip bomb?)", file=path)
    if total > MAX_TOTAL_BYTES:
        raise SurveyKitError(f"refused: the workbook would unpack to {total / 2**20:,.0f} MB", file=path)


def _sheet_parts(archive: zipfile.ZipFile, sheets) -> dict[str, str]:
    """Sheet name -> its part in the zip, for the named sheets (found through workbook.xml and its rels)."""
    if not sheets:
        return {}
    import defusedxml.ElementTree as ET

    names = set(archive.namelist())
    book = ET.fromstring(archive.read("xl/workbook.xml"))
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels")) if "xl/_rels/workbook.xml.rels" in names else None
    targets = {}
    if rels is not None:
        for rel in rels:
            targets[rel.get("Id")] = rel.get("Target", "")
    wanted = {" ".join(s.split()).casefold() for s in sheets}
    out = {}
    for el in book.iter():
        if el.tag.endswith("}sheet") or el.tag == "sheet":
            name = el.get("name", "")
            if " ".join(name.split()).casefold() not in wanted:
                continue
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            target = targets.get(rid, "")
            part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            if part in names:
                out[name] = part
    return out


def _dimension(path, sheet: str, head: bytes) -> None:
    m = _DIMENSION.search(head)
    if not m:
        return
    last_col, last_row = (m.group(3), m.group(4)) if m.group(3) else (m.group(1), m.group(2))
    rows = int(last_row) if last_row else 0
    cols = 0
    for ch in (last_col or b"").decode():
        cols = cols * 26 + ord(ch) - 64
    if rows > MAX_ROWS or cols > MAX_COLUMNS:
        ref = m.group(0).decode(errors="replace").split('"')[1]
        raise SurveyKitError(f"refused: sheet {sheet!r} spans {ref} ({rows:,} rows, {cols:,} columns); a data "
                             f"return has at most {MAX_ROWS:,} rows: is something typed far below or right of "
                             "the data?", file=path)
