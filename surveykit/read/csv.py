"""CSV returns: any column order, UTF-8 (with or without BOM) or Windows-1252 as Excel saves it, and comma,
semicolon or tab separated as European Excel exports are. Row numbers are the file's line numbers."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.read.cells import NA_TOKENS, BadCells, finish, unique, unreadable
from surveykit.read.headers import check_required, match_exact, rename


def read_csv(path: Path, spec):
    """(data, value labels, bad cells) of a CSV return."""
    raw, encoding, first = decode(path)
    sep = delimiter(first)
    names = csv_header(first, sep, path)
    mapping = match_exact(names, spec)
    rename(pd.DataFrame(columns=names), mapping, path)
    check_required(set(mapping.values()), spec, path)
    as_text = {h: "str" for h in names if getattr(spec.columns.get(mapping[h]), "kind", "string") == "string"}
    frame = csv_body(raw, encoding, sep, names, as_text, path).rename(columns=mapping)
    rows = np.arange(2, len(frame) + 2)
    bad = BadCells(path.name)
    return finish(frame, spec, rows, {v: k for k, v in mapping.items()}, path.name, bad), {}, bad


def decode(path: Path) -> tuple[bytes, str, str]:
    """(bytes, encoding, first line): UTF-8 (BOM dropped), else Windows-1252 as Excel saves it, else Latin-1.

    pandas parses the bytes itself (faster than handing it decoded text); decoding here only chooses."""
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            first = re.split(r"\r\n|\r|\n", raw[:65536].decode(encoding, errors="ignore"), maxsplit=1)[0]
            raw.decode(encoding)
            return raw, encoding, first
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def delimiter(first: str) -> str:
    """Comma unless the header line plainly uses semicolons or tabs (European Excel exports)."""
    return max((",", ";", "\t"), key=lambda d: (first.count(d), d == ","))


def csv_header(first: str, sep: str, path) -> list[str]:
    """Column names from line 1: BOM and spaces stripped, made unique."""
    with unreadable(path, "CSV file"):
        header = next(csv.reader(io.StringIO(first), delimiter=sep), [])
    header = [h.replace("\ufeff", "").strip() for h in header]
    if not any(header):
        raise SurveyKitError("no header line: the first line must name the columns", file=path, row=1)
    return unique(header)


def csv_body(raw: bytes, encoding: str, sep: str, names: list[str], dtype, path) -> pd.DataFrame:
    """The lines after the header, one row a line (blank lines kept so row numbers stay line numbers).

    One spare column catches a line with more cells than the header names; pandas reports the others."""
    spare = "\x00spare"
    with unreadable(path, "CSV file"):
        frame = pd.read_csv(io.BytesIO(raw), encoding=encoding, sep=sep, header=None, skiprows=1,
                            names=[*names, spare],
                            dtype=dtype, keep_default_na=False, na_values=list(NA_TOKENS),
                            skip_blank_lines=False, skipinitialspace=True, low_memory=False)
    extra = frame[spare].notna().to_numpy()
    if extra.any():
        raise SurveyKitError(f"more cells than the {len(names)} columns the header names", file=path,
                             row=int(np.flatnonzero(extra)[0]) + 2)
    return frame.drop(columns=spare)
