"""A return parsed while the toolkit is still being imported.

``surveykit run`` on a national .sav spends about 0.5 s importing pandas and the toolkit and about 0.3 s
decoding the file, and neither needs the other. So the command, before it imports anything heavy, calls
``start_reading``: the SPSS file's contained child (contained.py: memory and time limits, a crash is the file's
error) is forked at once and decodes the cases with numpy and pyreadstat only (sav_data.py), never importing
pandas. ``read_spss`` then ``take``s its outcome, if it is for the same file, unchanged since, read for the same
questionnaire, and makes the frame; anything else is read as usual.

Only SPSS files are read ahead: CSV returns parse in about the time the imports take anyway, and workbooks and
folders already parse in children of their own. This module imports no pandas.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from surveykit.contained import Alongside
from surveykit.errors import SurveyKitError
from surveykit.resources import latest_year

_SPSS_MAGIC = (b"$FL2", b"$FL3")
_pending: dict[tuple, Alongside] = {}   # (file identity, survey, year) -> its parse


def _identity(path: Path):
    """The file as it is now: resolved path, size, modification time (a file replaced since is read again)."""
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def start_reading(path, survey: str, year: str | None) -> None:
    """Begin parsing ``path`` in a child if it is an SPSS file (by its first bytes) and this machine has a core
    to spare; otherwise do nothing. ``year`` None means the latest bundled year of ``survey``."""
    if (os.cpu_count() or 1) < 2 or not survey:
        return
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            if fh.read(4) not in _SPSS_MAGIC:
                return
        identity = _identity(path)
    except OSError:
        return   # read_raw says what is wrong with the file, in its own words
    survey = str(survey).lower()
    try:
        year = str(year) if year is not None else latest_year(survey)
    except SurveyKitError:
        return   # the run says so itself
    if not _pending:
        atexit.register(_stop_all)
    _pending[(identity, survey, year)] = Alongside(_decode, path, what="SPSS file", file=path)


def _stop_all() -> None:
    """At exit (a run stopped before it read the return): no read-ahead left running or left in /dev/shm."""
    while _pending:
        _pending.popitem()[1].cancel()


def _decode(path: Path):
    """The file's cases decoded, with numpy and pyreadstat only: this child never imports pandas, which the
    parent is importing meanwhile (read_spss makes the frame)."""
    from surveykit.sav_data import decode

    return decode(path)


def take(path, spec) -> Alongside | None:
    """The read-ahead of ``path`` for ``spec``, if one was started and the file is unchanged; else None."""
    if not _pending:
        return None
    try:
        key = (_identity(Path(path)), spec.survey, spec.year)
    except OSError:
        return None
    job = _pending.pop(key, None)
    for stale in list(_pending):   # a read-ahead nobody asked for is stopped, not left running
        _pending.pop(stale).cancel()
    return job
