"""Readers: a council's or the nation's data return (.sav, .zsav, .csv, the official .xlsx, or a folder of
workbooks), eligible-population tables and the council lookup, each into one in-memory shape.

Every reader gives the same `RawReturn` for the same return whatever the format: canonical column names
from the questionnaire spec, code/number columns as float64 (NaN = blank), string columns as text with
no trailing ".0", and `_file`/`_row` so every later message can point at the cell a person would open.
Anything a user can fix is raised as `SurveyKitError` naming file, row and column; the libraries that
parse bytes (pandas, pyreadstat, openpyxl) are fenced so a damaged file never surfaces as a traceback.
Missing codes (-9) are kept as they came from CSV and Excel; SPSS's own user-missing declarations are
honoured (they are the file's statement that the value is missing). Recoding is validation's job.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError

SERVICE_USER_SHEET = "Service User Data"
SIGN_OFF_SHEET = "Sign Off Sheet"
COUNCIL_CELL = (2, 5)                 # row, column of E2 in the sign-off sheet
HEADER_SEARCH_ROWS = 20               # the Excel header row is looked for this far down
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
EXTENSION_FORMATS = {".sav": "spss", ".zsav": "spss", ".csv": "csv", ".xlsx": "excel", ".xlsm": "excel"}
FORMAT_NAMES = {"spss": "an SPSS data file", "csv": "CSV text", "excel": "an Excel workbook (.xlsx)"}
# Cell texts read as blank, the same in every format (pandas' CSV defaults, made explicit).
NA_TOKENS = ("", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "<NA>",
             "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN")
_NA_SET = frozenset(NA_TOKENS)
_HEADER_NOISE = re.compile(r"[\s_\[\]()\ufeff]+")
_INTEGRAL_TEXT = r"^([+-]?\d+)\.0*$"
_EXACT_FLOAT_LIMIT = 2.0 ** 53        # integral floats below this print exactly as integers

# Header texts of the population and council tables (standardised: lower case, no spaces/underscores).
POPULATION_COUNCIL_HEADERS = ("council", "councilcode", "lacode", "cassr", "cassrcode", "la", "code")
POPULATION_LONG_HEADERS = {"stratum": ("stratum", "strata"),
                           "population": ("population", "pop", "eligiblepopulation", "eligible"),
                           "sample": ("sample", "samplesize", "sampled")}
POPULATION_WIDE_POP = re.compile(r"^stratum(\d+)pop(?:ulation)?$")
POPULATION_WIDE_SAMPLE = re.compile(r"^stratum(\d+)sample$")
COUNCIL_TABLE_HEADERS = {   # in the order they are resolved; a header is used once
    "council": ("councilcode", "lacode", "cassrcode", "code", "council", "cassr", "la"),
    "council_name": ("councilname", "laname", "cassrname", "name", "localauthority", "council", "la"),
    "region_code": ("regioncode", "regcode", "gorcode", "regionid"),
    "region_name": ("regionname", "region", "gorname", "gor"),
}
COUNCIL_TABLE_OPTIONAL = ("region_code",)


@dataclass
class RawReturn:
    """A data return as read, before validation (see docs/contracts.md)."""
    data: pd.DataFrame
    source: str
    value_labels: dict = field(default_factory=dict)
    survey: str = ""
    year: str = ""
    checksum: str = ""


# ------------------------------------------------------------------------------------------ entry

def read_raw(path, spec, *, progress=None) -> RawReturn:
    """Read a data return (file or folder of workbooks) into a `RawReturn`, dispatching on content.

    ``progress``: show a progress bar over a folder's workbooks (None: only when stderr is a terminal).
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path, spec, progress)
    if not path.is_file():
        raise SurveyKitError("no such file", file=path)
    kind = detect_format(path)
    reader = {"spss": _read_spss, "csv": _read_csv, "excel": _read_excel}[kind]
    frame, labels = reader(path, spec)
    return RawReturn(frame, str(path), labels, spec.survey, spec.year, file_checksum(path))


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


@contextlib.contextmanager
def _unreadable(path, what):
    """Turn a parsing library's exception on damaged input into one SurveyKitError naming the file."""
    try:
        yield
    except SurveyKitError:
        raise
    except MemoryError as exc:
        raise SurveyKitError(f"not a readable {what}: it claims more data than memory holds", file=path) from exc
    except Exception as exc:  # noqa: BLE001 - any library failure on bad bytes is the file's fault
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise SurveyKitError(f"not a readable {what} (damaged or truncated?): {detail}", file=path) from exc


# ---------------------------------------------------------------------------------- header matching

def standard_header(text) -> str:
    """Header text as compared: lower case without spaces, underscores, brackets or BOM (NHS Digital's rule)."""
    return _HEADER_NOISE.sub("", str(text)).lower()


def _spec_lookup(spec) -> dict[str, str]:
    """Standardised canonical name or alias -> canonical name, in data-return order."""
    lookup: dict[str, str] = {}
    for col in spec.columns.values():
        for text in (col.name, *col.aliases):
            lookup.setdefault(standard_header(text), col.name)
    return lookup


def _match_exact(headers, spec) -> dict:
    """File header -> canonical name by whole-header match; unknown headers map to themselves."""
    lookup = _spec_lookup(spec)
    return {h: lookup.get(standard_header(h), h) for h in headers}


def _match_excel(headers, spec) -> dict:
    """File header -> canonical name for the official workbook, whose headers are long texts.

    As NHS Digital's loader: when every header in order contains its column's name or an alias, the
    layout is the official one and position decides. Otherwise each header takes the exact match, or
    the longest alias found inside it (so "Language" is not taken for "Age")."""
    std = [standard_header(h) for h in headers]
    specs = list(spec.columns.values())
    texts = [[standard_header(t) for t in (c.name, *c.aliases) if standard_header(t)] for c in specs]
    if len(std) >= len(specs) and all(any(t in s for t in ts) for s, ts in zip(std, texts)):
        return {h: (specs[i].name if i < len(specs) else h) for i, h in enumerate(headers)}
    lookup = _spec_lookup(spec)
    out = {h: lookup[s] for h, s in zip(headers, std) if s in lookup}
    taken = set(out.values())
    pairs = sorted(((t, n) for t, n in lookup.items() if t and n not in taken), key=lambda kv: -len(kv[0]))
    for h, s in zip(headers, std):
        if h not in out:
            out[h] = next((name for text, name in pairs if text in s), h)
    return {h: out[h] for h in headers}


def _rename(frame: pd.DataFrame, mapping: dict, path) -> pd.DataFrame:
    """Rename to canonical names; two file columns meaning the same column is an error."""
    seen: dict[str, str] = {}
    for header, name in mapping.items():
        if name in seen:
            raise SurveyKitError(f"two columns both read as {name}: {seen[name]!r} and {header!r}",
                                 file=path, column=str(header))
        seen[name] = header
    return frame.rename(columns=mapping)


def _check_required(columns, spec, path) -> None:
    missing = [name for name, col in spec.columns.items() if col.required and name not in columns]
    if missing:
        shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12 else "")
        raise SurveyKitError(f"missing required columns: {shown}", file=path)


# ------------------------------------------------------------------------------------------ values

def _as_number(values: pd.Series, path, rows: np.ndarray, column: str) -> pd.Series:
    """float64 with NaN for blanks; text that is not a number is an error naming its row."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    with np.errstate(all="ignore"):
        number = pd.to_numeric(values, errors="coerce").astype("float64")
    unsure = number.isna().to_numpy() & values.notna().to_numpy()
    if unsure.any():
        text = values[unsure].astype("str").str.strip()
        blank = text.isin(_NA_SET).to_numpy()
        retry = pd.to_numeric(text.where(~blank), errors="coerce").astype("float64")
        bad = ~blank & retry.isna().to_numpy()
        if bad.any():
            first = int(np.flatnonzero(unsure)[np.flatnonzero(bad)[0]])
            value = str(text.iloc[int(np.flatnonzero(bad)[0])])
            raise SurveyKitError(f"{value[:40]!r} is not a number", file=path, row=int(rows[first]),
                                 column=column, value=value)
        number[unsure] = retry.to_numpy()
    return number


def _as_text(values: pd.Series) -> pd.Series:
    """Text with no surrounding spaces, NaN for blanks, and 211.0 written as "211" whatever the source."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        number = values.astype("float64")
        integral = (np.isfinite(number) & (number == np.round(number)) & (number.abs() < _EXACT_FLOAT_LIMIT))
        whole = number.where(integral, 0).astype("int64").astype("str")
        text = number.astype("str").where(~integral, whole)
        return text.where(number.notna()).astype("str")
    if values.dtype == object:
        values = values.map(_cell_text, na_action="ignore")
    text = values.astype("str").str.strip()
    text = text.where(~text.isin(_NA_SET))
    if text.str.contains(".", regex=False).any():
        text = text.str.replace(_INTEGRAL_TEXT, r"\1", regex=True)
    return text.astype("str")


def _cell_text(value):
    """One mixed-type cell (Excel, object columns) as text: the per-cell step openpyxl forces."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() and abs(value) < _EXACT_FLOAT_LIMIT else repr(value)
    if isinstance(value, int):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _finish(frame: pd.DataFrame, spec, path, rows: np.ndarray, headers: dict, file_name: str) -> pd.DataFrame:
    """Canonical dtypes and order, drop wholly empty rows, add `_file` and `_row`.

    ``headers``: canonical name -> header as written in the file (named in error messages)."""
    out = {}
    for name in frame.columns:
        col = spec.columns.get(name)
        if col is None:
            out[name] = frame[name]
        elif col.kind == "string":
            out[name] = _as_text(frame[name])
        else:
            out[name] = _as_number(frame[name], path, rows, str(headers.get(name, name)))
    known = [c for c in spec.columns if c in out]
    ordered = pd.DataFrame({c: out[c] for c in known + [c for c in frame.columns if c not in spec.columns]},
                           index=frame.index, copy=False)
    ordered["_file"] = pd.Series(file_name, index=frame.index, dtype="str")
    ordered["_row"] = rows.astype("int64")
    filled = ordered.drop(columns=["_file", "_row"]).notna()
    keep = filled.any(axis=1).to_numpy() if len(filled.columns) else np.zeros(len(ordered), dtype=bool)
    return ordered[keep].reset_index(drop=True)


# ------------------------------------------------------------------------------------------- SPSS

def _read_spss(path: Path, spec):
    import pyreadstat

    with _unreadable(path, "SPSS file"):
        frame, meta = pyreadstat.read_sav(str(path), user_missing=True, disable_datetime_conversion=True)
    frame = _blank_user_missing(frame, meta.missing_ranges or {})
    mapping = _match_exact(frame.columns, spec)
    frame = _rename(frame, mapping, path)
    _check_required(frame.columns, spec, path)
    rows = np.arange(1, len(frame) + 1)
    data = _finish(frame, spec, path, rows, {v: k for k, v in mapping.items()}, path.name)
    labels = {mapping.get(var, var): {_label_key(k): str(v) for k, v in codes.items()}
              for var, codes in (meta.variable_value_labels or {}).items()}
    return data, labels


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


# -------------------------------------------------------------------------------------------- CSV

def _decode(path: Path) -> tuple[bytes, str, str]:
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


def _delimiter(first: str) -> str:
    """Comma unless the header line plainly uses semicolons or tabs (European Excel exports)."""
    return max((",", ";", "\t"), key=lambda d: (first.count(d), d == ","))


def _read_csv(path: Path, spec):
    raw, encoding, first = _decode(path)
    sep = _delimiter(first)
    names = _csv_header(first, sep, path)
    mapping = _match_exact(names, spec)
    _rename(pd.DataFrame(columns=names), mapping, path)
    _check_required(set(mapping.values()), spec, path)
    as_text = {h: "str" for h in names if getattr(spec.columns.get(mapping[h]), "kind", "string") == "string"}
    frame = _csv_body(raw, encoding, sep, names, as_text, path).rename(columns=mapping)
    rows = np.arange(2, len(frame) + 2)
    return _finish(frame, spec, path, rows, {v: k for k, v in mapping.items()}, path.name), {}


def _csv_header(first: str, sep: str, path) -> list[str]:
    """Column names from line 1: BOM and spaces stripped, made unique."""
    with _unreadable(path, "CSV file"):
        header = next(csv.reader(io.StringIO(first), delimiter=sep), [])
    header = [h.replace("\ufeff", "").strip() for h in header]
    if not any(header):
        raise SurveyKitError("no header line: the first line must name the columns", file=path, row=1)
    return _unique(header)


def _csv_body(raw: bytes, encoding: str, sep: str, names: list[str], dtype, path) -> pd.DataFrame:
    """The lines after the header, one row a line (blank lines kept so row numbers stay line numbers).

    One spare column catches a line with more cells than the header names; pandas reports the others."""
    spare = "\x00spare"
    with _unreadable(path, "CSV file"):
        frame = pd.read_csv(io.BytesIO(raw), encoding=encoding, sep=sep, header=None, skiprows=1,
                            names=[*names, spare],
                            dtype=dtype, keep_default_na=False, na_values=list(NA_TOKENS),
                            skip_blank_lines=False, skipinitialspace=True, low_memory=False)
    extra = frame[spare].notna().to_numpy()
    if extra.any():
        raise SurveyKitError(f"more cells than the {len(names)} columns the header names", file=path,
                             row=int(np.flatnonzero(extra)[0]) + 2)
    return frame.drop(columns=spare)


def _unique(header: list[str]) -> list[str]:
    """Header names made unique (blank ones named by position) so pandas keeps every column."""
    out, seen = [], {}
    for i, h in enumerate(header):
        name = h or f"column {i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


# ------------------------------------------------------------------------------------------ Excel

def _open_workbook(path: Path):
    import openpyxl

    with _unreadable(path, "Excel workbook"):
        return openpyxl.load_workbook(path, read_only=True, data_only=True)


def _sheet(workbook, name: str, path: Path):
    """A sheet by name (case and spaces forgiven); a renamed sheet is an error listing what is there."""
    by_key = {" ".join(s.split()).casefold(): s for s in workbook.sheetnames}
    actual = by_key.get(" ".join(name.split()).casefold())
    if actual is None:
        have = ", ".join(repr(s) for s in workbook.sheetnames)
        raise SurveyKitError(f"no sheet named {name!r} (the workbook has {have}): was it renamed?", file=path)
    return workbook[actual]


def _read_excel(path: Path, spec):
    workbook = _open_workbook(path)
    try:
        with _unreadable(path, "Excel workbook"):
            data_sheet = _sheet(workbook, SERVICE_USER_SHEET, path)
            sign_off = _sheet(workbook, SIGN_OFF_SHEET, path)
            data_sheet.reset_dimensions()
            cells = list(data_sheet.iter_rows(min_row=1, values_only=True))
            council = sign_off.cell(*COUNCIL_CELL).value
    finally:
        workbook.close()
    frame, rows, headers = _excel_table(cells, spec, path)
    frame = _fill_council(frame, _cell_text(council) if council is not None else None, spec, path, rows)
    _check_required(frame.columns, spec, path)
    return _finish(frame, spec, path, rows, headers, path.name), {}


def _excel_table(cells: list[tuple], spec, path):
    """(frame with canonical names, sheet row numbers, canonical -> header text) from the data sheet."""
    lookup = _spec_lookup(spec)
    best, best_score = None, 0
    for i, row in enumerate(cells[:HEADER_SEARCH_ROWS]):
        texts = [standard_header(v) for v in row if isinstance(v, str) and v.strip()]
        score = sum(1 for t in texts if t in lookup or any(k and k in t for k in lookup))
        if score > best_score:
            best, best_score = i, score
    if best is None or best_score < 2:
        raise SurveyKitError(f"no header row naming the return's columns in the first {HEADER_SEARCH_ROWS} "
                             f"rows of sheet {SERVICE_USER_SHEET!r}", file=path)
    header_cells = list(cells[best])
    width = max(i + 1 for i, v in enumerate(header_cells) if v is not None and str(v).strip())
    header = _unique([str(v).strip() if v is not None else "" for v in header_cells[:width]])
    body = [tuple(r[:width]) + (None,) * (width - len(r)) for r in cells[best + 1:]]
    frame = pd.DataFrame.from_records(body, columns=header) if body else pd.DataFrame(columns=header, dtype=object)
    frame = frame.astype(object)
    mapping = _match_excel(header, spec)
    frame = _rename(frame, mapping, path)
    rows = np.arange(best + 2, best + 2 + len(frame))
    return frame, rows, {v: k for k, v in mapping.items()}


def _fill_council(frame: pd.DataFrame, council, spec, path, rows) -> pd.DataFrame:
    """Council code from the sign-off sheet fills blank council cells; a different code in a row is an error."""
    column = spec.council_column
    council = None if council is None or not str(council).strip() else str(council).strip()
    present = _as_text(frame[column]) if column in frame else pd.Series(np.nan, index=frame.index, dtype="str")
    row_blank = frame.isna().all(axis=1).to_numpy() if len(frame.columns) else np.ones(len(frame), bool)
    gaps = present.isna().to_numpy() & ~row_blank
    if council is None:
        if gaps.any() or column not in frame:
            raise SurveyKitError(f"no council code: sheet {SIGN_OFF_SHEET!r} cell E2 is blank and column "
                                 f"{column} does not give it for every row", file=path, row=2, column="E")
        return frame
    differ = present.notna().to_numpy() & (present != council).to_numpy()
    if differ.any():
        first = int(np.flatnonzero(differ)[0])
        raise SurveyKitError(f"council code {present.iloc[first]!r} differs from {council!r} in sheet "
                             f"{SIGN_OFF_SHEET!r} cell E2", file=path, row=int(rows[first]), column=column,
                             value=present.iloc[first])
    filled = present.where(~gaps, council).where(~row_blank)
    return frame.assign(**{column: filled})


def _read_folder(folder: Path, spec, progress) -> RawReturn:
    """Every workbook in a folder (one per council) as one national return."""
    from tqdm import tqdm

    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in WORKBOOK_SUFFIXES and not p.name.startswith("~$") and p.is_file())
    if not files:
        raise SurveyKitError("the folder holds no .xlsx workbooks", file=folder)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    frames, sums = [], []
    for file in tqdm(files, desc="Reading returns", unit="file", disable=not show, file=sys.stderr):
        detect_format(file)
        frame, _ = _read_excel(file, spec)
        frames.append(frame)
        sums.append(file_checksum(file))
    data = pd.concat(frames, ignore_index=True)
    known = [c for c in spec.columns if c in data]
    rest = [c for c in data.columns if c not in spec.columns and c not in ("_file", "_row")]
    data = data[known + rest + ["_file", "_row"]]
    checksum = hashlib.sha256("\n".join(sorted(sums)).encode()).hexdigest()
    return RawReturn(data, str(folder), {}, spec.survey, spec.year, checksum)


def write_excel_return(df: pd.DataFrame, path, council) -> Path:
    """Write ``df`` as an official-layout ASCS data return: sheet "Service User Data" (header row 1, one
    row a person) and the council code in sheet "Sign Off Sheet" cell E2. Atomic (whole file or none)."""
    from openpyxl import Workbook

    from surveykit.outputs import atomic_write

    frame = df.drop(columns=[c for c in ("_file", "_row") if c in df.columns])
    columns = [frame[c].astype(object).where(frame[c].notna(), None).map(_excel_value) for c in frame.columns]
    body = zip(*(c.to_numpy() for c in columns)) if columns else iter(())

    def write(tmp: Path) -> None:
        workbook = Workbook(write_only=True)
        data_sheet = workbook.create_sheet(SERVICE_USER_SHEET)
        data_sheet.append([str(c) for c in frame.columns])
        for row in body:
            data_sheet.append([_text_cell(data_sheet, v) if isinstance(v, str) and v.startswith("=") else v
                               for v in row])
        sign_off = workbook.create_sheet(SIGN_OFF_SHEET)
        sign_off.append(["Adult Social Care Survey: data return sign-off"])
        sign_off.append([None, None, None, "Council (CASSR) code", _excel_value(council)])
        workbook.save(tmp)

    return atomic_write(path, write)


def _text_cell(sheet, text: str):
    """A cell holding ``text`` as text even when it starts with "=" (openpyxl would store a formula)."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    return cell


def _excel_value(value):
    """A cell value openpyxl writes as a person would type it: 3 not 3.0, numbers not numpy types."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if value != value:
            return None
        return int(value) if value.is_integer() and abs(value) < _EXACT_FLOAT_LIMIT else value
    return str(value)


# ------------------------------------------------------------------------------- reference tables

def _read_table(path) -> tuple[pd.DataFrame, np.ndarray]:
    """A small reference table (CSV or first sheet of a workbook) as text cells, with row numbers."""
    path = Path(path)
    if not path.is_file():
        raise SurveyKitError("no such file", file=path)
    kind = detect_format(path)
    if kind == "spss":
        raise SurveyKitError("expected a CSV or .xlsx table, found an SPSS file", file=path)
    if kind == "csv":
        raw, encoding, first = _decode(path)
        sep = _delimiter(first)
        frame = _csv_body(raw, encoding, sep, _csv_header(first, sep, path), "str", path)
        rows = np.arange(2, len(frame) + 2)
    else:
        workbook = _open_workbook(path)
        try:
            with _unreadable(path, "Excel workbook"):
                sheet = workbook.worksheets[0]
                sheet.reset_dimensions()
                cells = list(sheet.iter_rows(min_row=1, values_only=True))
        finally:
            workbook.close()
        start = next((i for i, r in enumerate(cells) if any(v is not None for v in r)), None)
        if start is None:
            raise SurveyKitError("the first sheet is empty", file=path)
        header_cells = cells[start]
        width = max(i + 1 for i, v in enumerate(header_cells) if v is not None)
        header = _unique([_cell_text(v) if v is not None else "" for v in header_cells[:width]])
        body = [tuple(r[:width]) + (None,) * (width - len(r)) for r in cells[start + 1:]]
        frame = pd.DataFrame.from_records(body, columns=header) if body else pd.DataFrame(columns=header)
        frame = frame.astype(object)
        rows = np.arange(start + 2, start + 2 + len(frame))
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    text = pd.DataFrame({c: _as_text(frame[c]) for c in frame.columns}, index=frame.index)
    keep = text.notna().any(axis=1).to_numpy()
    return text[keep].reset_index(drop=True), rows[keep]


def _find(headers, wanted, taken=()) -> str | None:
    """The first header whose standardised text is one of ``wanted`` (in that order of preference)."""
    std = {}
    for h in headers:
        if h not in taken:
            std.setdefault(standard_header(h), h)
    return next((std[w] for w in wanted if w in std), None)


def _whole_numbers(values: pd.Series, path, rows, column: str, *, blank_ok: bool) -> pd.Series:
    """Non-negative integers (Int64); blanks allowed only where ``blank_ok``; errors name the cell."""
    number = _as_number(values, path, rows, column)
    blank = number.isna().to_numpy()
    if not blank_ok and blank.any():
        first = int(np.flatnonzero(blank)[0])
        raise SurveyKitError("blank: every council needs a value here", file=path, row=int(rows[first]),
                             column=column)
    bad = ~blank & ((number < 0) | (number != np.round(number)) | ~np.isfinite(number)).to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise SurveyKitError(f"{values.iloc[first]!r} is not a whole number of people (0 or more)",
                             file=path, row=int(rows[first]), column=column, value=values.iloc[first])
    return number.astype("Int64")


def _council_codes(table: pd.DataFrame, column: str, path, rows) -> pd.Series:
    codes = table[column]
    blank = codes.isna().to_numpy()
    if blank.any():
        first = int(np.flatnonzero(blank)[0])
        raise SurveyKitError("blank council code", file=path, row=int(rows[first]), column=column)
    return codes


def read_population(path) -> pd.DataFrame:
    """Eligible population per council and stratum, long: ``council, stratum, population, sample``.

    Reads NHS Digital's wide layout (council code + ``stratum1Pop``.. [+ ``stratum1Sample``..]) or the long
    layout (``council, stratum, population[, sample]``), CSV or .xlsx. Every council must give every
    stratum 1..k (k the largest in the file). Whether populations exceed samples is validation's check.
    """
    table, rows = _read_table(path)
    council_col = _find(table.columns, POPULATION_COUNCIL_HEADERS)
    if council_col is None:
        raise SurveyKitError(f"no council code column (expected one headed one of "
                             f"{', '.join(POPULATION_COUNCIL_HEADERS)})", file=path)
    wide = {}
    for h in table.columns:
        for kind, pattern in (("pop", POPULATION_WIDE_POP), ("sample", POPULATION_WIDE_SAMPLE)):
            m = pattern.match(standard_header(h))
            if m:
                wide.setdefault(kind, {})[int(m.group(1))] = h
    out = _population_wide(table, rows, council_col, wide, path) if wide.get("pop") else \
        _population_long(table, rows, council_col, path)
    out.attrs["source"] = str(path)
    return out


def _population_wide(table, rows, council_col, wide, path) -> pd.DataFrame:
    pops, samples = wide["pop"], wide.get("sample", {})
    k = max(pops)
    for s in range(1, k + 1):
        if s not in pops:
            raise SurveyKitError(f"no column for stratum {s} (the table has strata up to {k})", file=path,
                                 column=f"stratum{s}Pop")
    councils = _council_codes(table, council_col, path, rows)
    _no_duplicates(councils, path, rows, council_col)
    population = np.column_stack([_whole_numbers(table[pops[s]], path, rows, pops[s], blank_ok=False)
                                  .to_numpy(dtype="int64") for s in range(1, k + 1)])
    sample = pd.DataFrame({s: (_whole_numbers(table[samples[s]], path, rows, samples[s], blank_ok=True)
                               if s in samples else pd.Series(pd.NA, index=table.index, dtype="Int64"))
                           for s in range(1, k + 1)})
    n = len(table)
    return pd.DataFrame({
        "council": pd.Series(np.repeat(councils.to_numpy(dtype=object), k), dtype="str"),
        "stratum": np.tile(np.arange(1, k + 1, dtype="int64"), n),
        "population": population.reshape(-1),
        "sample": pd.array(sample.to_numpy().reshape(-1), dtype="Int64"),
    })


def _population_long(table, rows, council_col, path) -> pd.DataFrame:
    cols = {name: _find(table.columns, texts, taken=(council_col,))
            for name, texts in POPULATION_LONG_HEADERS.items()}
    absent = [name for name in ("stratum", "population") if cols[name] is None]
    if absent:
        raise SurveyKitError(f"not a population table: needs columns stratum1Pop.. (wide) or council, stratum, "
                             f"population (long); no {' or '.join(absent)} column", file=path)
    councils = _council_codes(table, council_col, path, rows)
    stratum = _whole_numbers(table[cols["stratum"]], path, rows, cols["stratum"], blank_ok=False)
    if (stratum < 1).any():
        first = int(np.flatnonzero((stratum < 1).to_numpy())[0])
        raise SurveyKitError("strata are numbered from 1", file=path, row=int(rows[first]), column=cols["stratum"])
    population = _whole_numbers(table[cols["population"]], path, rows, cols["population"], blank_ok=False)
    sample = (_whole_numbers(table[cols["sample"]], path, rows, cols["sample"], blank_ok=True)
              if cols["sample"] else pd.Series(pd.NA, index=table.index, dtype="Int64"))
    out = pd.DataFrame({"council": councils.astype("str"), "stratum": stratum.astype("int64"),
                        "population": population.astype("int64"), "sample": sample})
    key = out["council"] + "\x1f" + out["stratum"].astype("str")
    _no_duplicates(key, path, rows, cols["stratum"], what="council and stratum")
    k = int(out["stratum"].max()) if len(out) else 0
    order = pd.Categorical(out["council"], categories=pd.unique(out["council"]))
    counts = pd.crosstab(order, out["stratum"]).reindex(columns=range(1, k + 1), fill_value=0)
    gaps = np.argwhere(counts.to_numpy() == 0)
    if len(gaps):
        council = counts.index[gaps[0][0]]
        first = int(np.flatnonzero((out["council"] == council).to_numpy())[0])
        raise SurveyKitError(f"council {council} has no row for stratum {gaps[0][1] + 1} "
                             f"(every council needs strata 1-{k})", file=path, row=int(rows[first]),
                             column=cols["stratum"])
    out["_order"] = order.codes
    return out.sort_values(["_order", "stratum"], kind="stable").drop(columns="_order").reset_index(drop=True)


def _no_duplicates(keys: pd.Series, path, rows, column, what="council") -> None:
    dup = keys.duplicated().to_numpy()
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        raise SurveyKitError(f"the same {what} appears twice", file=path, row=int(rows[first]), column=column,
                             value=keys.iloc[first])


def read_councils(path) -> pd.DataFrame:
    """Council lookup ``council, council_name, region_code, region_name`` (CSV or .xlsx, headers forgiving)."""
    table, rows = _read_table(path)
    chosen: dict[str, str | None] = {}
    for name, texts in COUNCIL_TABLE_HEADERS.items():
        chosen[name] = _find(table.columns, texts, taken=[h for h in chosen.values() if h])
    absent = [n for n, h in chosen.items() if h is None and n not in COUNCIL_TABLE_OPTIONAL]
    if absent:
        raise SurveyKitError(f"council lookup needs columns {', '.join(absent)} (found: "
                             f"{', '.join(map(str, table.columns))})", file=path)
    codes = _council_codes(table, chosen["council"], path, rows)
    _no_duplicates(codes, path, rows, chosen["council"])
    return pd.DataFrame({name: (table[h] if h else pd.Series(np.nan, index=table.index, dtype="str"))
                         for name, h in chosen.items()}).astype("str").reset_index(drop=True)
