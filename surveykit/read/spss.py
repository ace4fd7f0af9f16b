"""SPSS returns (.sav, .zsav), as analysts hold the national file, including PSPP-written ones.

The file is parsed in a contained child process (a damaged .sav can crash pyreadstat's C library): the
names, labels and missing values by pyreadstat, the cases by numpy (surveykit/sav_data.py: several times faster
on a national file), or by pyreadstat too when the file holds something that decoder does not know (.zsav).
SPSS's own user-missing declarations (e.g. -9) are honoured: they are the file's statement that a value is
missing. Value labels come back with the data so outputs can use the file's own wording.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from surveykit import sav_data
from surveykit.read.cells import BadCells, finish, unreadable
from surveykit.contained import contained
from surveykit.prefetch import take
from surveykit.read.headers import check_required, match_exact, rename


def read_spss(path: Path, spec):
    """(data, value labels, bad cells, sha256 of the bytes parsed) of an SPSS file, parsed in a child process
    (one started while the toolkit was imported, if the command started one for this file: prefetch.py, whose
    child decodes the cases without pandas; the frame is made here)."""
    ahead = take(path, spec)
    if ahead is not None:
        return from_decoded(ahead.result(), Path(path), spec)
    return contained(parse_spss, Path(path), spec, file=path, what="SPSS file")


def parse_spss(path: Path, spec):
    """What ``read_spss`` gives, parsed in this process."""
    with unreadable(path, "SPSS file"):
        decoded = sav_data.decode(path)
    return from_decoded(decoded, Path(path), spec)


def from_decoded(decoded: sav_data.Decoded, path: Path, spec):
    """(data, value labels, bad cells, checksum) from a file's decoded cases: user-missing values blanked,
    headers matched to the questionnaire, cells checked."""
    meta = decoded.meta
    frame = _blank_user_missing(decoded.frame(), meta["missing_ranges"])
    mapping = match_exact(frame.columns, spec)
    frame = rename(frame, mapping, path)
    check_required(frame.columns, spec, path)
    rows = np.arange(1, len(frame) + 1)
    bad = BadCells(path.name)
    data = finish(frame, spec, rows, {v: k for k, v in mapping.items()}, path.name, bad)
    labels = {mapping.get(var, var): {_label_key(k): str(v) for k, v in codes.items()}
              for var, codes in meta["variable_value_labels"].items()}
    return data, labels, bad, decoded.checksum


def _blank_user_missing(frame: pd.DataFrame, ranges: dict) -> pd.DataFrame:
    """SPSS user-missing values (declared in the file, e.g. -9) become NaN, one vectorised mask a column."""
    changed = {}
    for var, spans in ranges.items():
        if var not in frame:
            continue
        values = frame[var]
        mask = np.zeros(len(values), dtype=bool)
        for span in spans:
            lo, hi = span.get("lo"), span.get("hi")
            if pd.api.types.is_numeric_dtype(values.dtype):
                mask |= ((values >= lo) & (values <= hi)).to_numpy()
            else:
                mask |= values.isin([lo, hi]).to_numpy()
        changed[var] = values.where(~mask)
    return frame.assign(**changed) if changed else frame


def _label_key(key):
    if isinstance(key, float) and key.is_integer():
        return int(key)
    return key
