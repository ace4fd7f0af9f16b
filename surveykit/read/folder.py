"""A folder of official workbooks (a region's or the nation's councils) read as one return.

Each workbook is read in its own contained child process, as many at once as there are cores, with a
progress bar. A workbook that cannot be read (a renamed sheet, a deleted column, no council chosen, not a
workbook at all, the same council twice) is one problem naming the file and the reason; the others are read
and published, and the run's summary lists what was skipped.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.contained import run_all, worker_count
from surveykit.read.detect import WORKBOOK_SUFFIXES, detect_format, file_checksum
from surveykit.read.excel_return import parse_workbook

FILE_COLUMNS = ["file", "council", "council_name", "people", "empty_form_rows", "status", "reason", "checksum"]


def workbook_files(folder: Path) -> list[Path]:
    """The folder's workbooks (.xlsx, .xlsm, and .xls so an old-format one is reported), Excel's lock files left out."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in (*WORKBOOK_SUFFIXES, ".xls") and not p.name.startswith("~$"))


def read_folder(folder: Path, spec, progress=None):
    """(list of (file, WorkbookReturn) read, files table, [(file, reason) skipped])."""
    from tqdm import tqdm

    files = workbook_files(folder)
    if not files:
        raise SurveyKitError("the folder holds no .xlsx workbooks", file=folder)
    if spec.workbook is None:
        raise SurveyKitError(f"{spec.survey.upper()} {spec.year} has no official workbook layout in its "
                             "questionnaire spec: a folder of workbooks cannot be read for it", file=folder)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    jobs, early = [], {}
    for i, file in enumerate(files):
        try:
            detect_format(file)
            if file.suffix.lower() == ".xls":
                raise SurveyKitError("an old-style .xls workbook: open it in Excel and save it as .xlsx", file=file)
            jobs.append((parse_workbook, (file, spec), file, "Excel workbook"))
        except SurveyKitError as exc:
            early[i] = exc
    bar = tqdm(total=len(files), desc="Reading workbooks", unit="workbook", disable=not show, file=sys.stderr,
               leave=False)
    bar.update(len(early))
    outcomes = iter(run_all(jobs, workers=worker_count(len(jobs)), on_done=lambda _: bar.update(1)))
    bar.close()
    read, skipped, rows, seen = [], [], [], {}
    for i, file in enumerate(files):
        outcome = None if i in early else next(outcomes)
        error = early.get(i) or (outcome.error if outcome is not None else None)
        checksum = file_checksum(file)
        if error is None:
            result = outcome.value
            if result.council in seen:
                error = SurveyKitError(f"council {result.council} is also the council of {seen[result.council]}",
                                       file=file)
            else:
                seen[result.council] = file.name
                read.append((file, result))
                rows.append(file_row(file, result, checksum))
                continue
        reason = error.message if error.file else str(error)
        skipped.append((file, reason))
        rows.append([file.name, "", "", 0, 0, "skipped", reason, checksum])
    table = pd.DataFrame(rows, columns=FILE_COLUMNS)
    return read, table, skipped


def file_row(file: Path, result, checksum: str) -> list:
    """A workbook read, as a row of the files table (FILE_COLUMNS)."""
    return [file.name, result.council, result.council_name, len(result.data), result.empty_form_rows, "read", "",
            checksum]


def folder_checksum(table: pd.DataFrame) -> str:
    """sha256 of the sorted workbooks' checksums: one fingerprint for the folder's contents."""
    return hashlib.sha256("\n".join(sorted(table["checksum"])).encode()).hexdigest()
