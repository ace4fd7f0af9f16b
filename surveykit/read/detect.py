"""What a file is, from its bytes (not its name), and its checksum."""

from __future__ import annotations

import hashlib
from pathlib import Path

from surveykit.errors import SurveyKitError

EXTENSION_FORMATS = {".sav": "spss", ".zsav": "spss", ".csv": "csv", ".xlsx": "excel", ".xlsm": "excel"}
FORMAT_NAMES = {"spss": "an SPSS data file", "csv": "CSV text", "excel": "an Excel workbook (.xlsx)"}
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def detect_format(path) -> str:
    """"spss", "csv" or "excel" from the file's first bytes; a file whose extension says otherwise, or
    whose content is none of these, is an error (a mislabelled file is usually the wrong file)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        raise SurveyKitError(f"cannot read: {exc.strerror}", file=path) from exc
    if not head:
        raise SurveyKitError("the file is empty", file=path)
    if head[:4] in (b"$FL2", b"$FL3"):
        kind = "spss"
    elif head[:4] == b"PK\x03\x04":
        kind = "excel"
    elif head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise SurveyKitError("this is an old-style .xls or a password-protected workbook: "
                             "open it in Excel and save it as an unprotected .xlsx", file=path)
    elif _looks_like_text(head):
        kind = "csv"
    else:
        raise SurveyKitError("not a data return: expected SPSS (.sav/.zsav), CSV or Excel (.xlsx) content",
                             file=path)
    expected = EXTENSION_FORMATS.get(path.suffix.lower())
    if expected is not None and expected != kind:
        raise SurveyKitError(f"the name ends {path.suffix} but the file holds {FORMAT_NAMES[kind]}: "
                             f"rename it or export it again", file=path)
    return kind


def file_checksum(path) -> str:
    """sha256 hex of a file's bytes (recorded so a result can be traced to the exact input)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls <= len(head) // 100
