"""The cases of a .sav file decoded with numpy: the file's data section is fixed-width 8-byte slots, or
those slots bytecode-compressed (what SPSS and PSPP write by default), and reading it value by value, as
pyreadstat does, is most of the time a national return takes to read.

Only the layout is read here (the header and the dictionary, to find each variable's slots and where the
data begin); names, labels, missing values and the encoding still come from pyreadstat, which reads them
in milliseconds. Anything this decoder does not know (zlib-compressed .zsav, very long strings, a
non-standard system-missing value, a dictionary it cannot follow, data that do not add up to whole
cases) raises `Unsupported`, and the caller reads the file with pyreadstat instead. The result is the
frame ``pyreadstat.read_sav(path, user_missing=True, disable_datetime_conversion=True)`` gives
(tests/test_sav_data.py compares them on every kind of file we hold).

The format: the "SPSS system file" chapter of the GNU PSPP developers' guide. This module imports no pandas
(only `Decoded.frame` does): a .sav read ahead while the command imports pandas (prefetch.py) is decoded in a
child that never loads it.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

SYSMIS = -sys.float_info.max          # the system-missing value every writer uses
HEADER_BYTES = 176
_END, _RAW, _SPACES, _SYSMIS_CODE = 252, 253, 254, 255


class Unsupported(Exception):
    """The file uses something only pyreadstat decodes."""


@dataclass(frozen=True)
class Layout:
    byte_order: str       # "<" or ">"
    compression: int      # 0 none, 1 bytecode
    bias: float
    cases: int            # from the header; -1 when the writer did not say
    widths: tuple         # one per variable: 0 numeric, else the string's width in bytes
    first_slots: tuple    # each variable's first 8-byte slot in a case
    slots: int            # 8-byte slots in a case
    data_offset: int


def read_layout(buffer) -> Layout:
    """The header and dictionary of a .sav held in `buffer` (bytes or a memory map)."""
    if bytes(buffer[:4]) not in (b"$FL2", b"$FL3"):
        raise Unsupported("not an SPSS system file")
    order = "<"                      # little-endian, as every writer on today's machines: the only kind tested
    if struct.unpack_from(order + "i", buffer, 64)[0] not in (2, 3):
        raise Unsupported("a big-endian file, or not one this decoder knows")
    _, slots, compression, _, cases = struct.unpack_from(order + "5i", buffer, 64)
    bias = struct.unpack_from(order + "d", buffer, 84)[0]
    if compression not in (0, 1):
        raise Unsupported("zlib-compressed (.zsav)")
    if bias != 100.0:
        raise Unsupported("a compression bias other than 100")
    reader = _Reader(buffer, order, HEADER_BYTES)
    widths, first_slots, slot = [], [], 0
    while True:
        kind = reader.int()
        if kind == 2:
            width, has_label, missing, _, _ = reader.ints(5)
            reader.skip(8)                                    # the short name
            if has_label:
                reader.skip((reader.int() + 3) // 4 * 4)
            reader.skip(abs(missing) * 8)
            if width >= 0:
                widths.append(width)
                first_slots.append(slot)
            elif not widths or widths[-1] == 0:
                raise Unsupported("a continuation slot follows no string")
            slot += 1
        elif kind == 3:
            for _ in range(reader.int()):
                reader.skip(8)
                reader.skip((reader.byte() + 8) // 8 * 8 - 1)
            if reader.int() != 4:
                raise Unsupported("value labels without their variables")
            reader.skip(reader.int() * 4)
        elif kind == 6:
            reader.skip(reader.int() * 80)
        elif kind == 7:
            subtype, size, count = reader.ints(3)
            if subtype == 14:
                raise Unsupported("very long strings")
            if subtype == 4 and size == 8 and count >= 1:
                if struct.unpack_from(order + "d", buffer, reader.at)[0] != SYSMIS:
                    raise Unsupported("a non-standard system-missing value")
            reader.skip(size * count)
        elif kind == 999:
            reader.skip(4)
            break
        else:
            raise Unsupported(f"unknown dictionary record {kind}")
    if slot != slots:
        raise Unsupported("the dictionary and the header disagree on the case size")
    if any(w > 255 for w in widths):
        raise Unsupported("very long strings")
    return Layout(order, compression, bias, cases, tuple(widths), tuple(first_slots), slots, reader.at)


class _Reader:
    def __init__(self, buffer, order, at):
        self.buffer, self.order, self.at = buffer, order, at

    def int(self) -> int:
        return self.ints(1)[0]

    def ints(self, count) -> tuple:
        values = struct.unpack_from(f"{self.order}{count}i", self.buffer, self.at)
        self.at += 4 * count
        return values

    def byte(self) -> int:
        value = self.buffer[self.at]
        self.at += 1
        return value

    def skip(self, count: int) -> None:
        if count < 0 or self.at + count > len(self.buffer):
            raise Unsupported("the dictionary runs past the end of the file")
        self.at += count


def case_slots(buffer, layout: Layout) -> np.ndarray:
    """Every case's slots as a (cases, slots) array of 8-byte rows, decompressed if need be."""
    if layout.compression == 0:
        units = _units(buffer, layout)
        return units[:_whole_cases(units, layout) * layout.slots].reshape(-1, layout.slots, 8)
    codes, raw = case_codes(buffer, layout)
    values = slot_values(codes, raw, layout, np.arange(layout.slots), SYSMIS)      # (slots, cases)
    return np.ascontiguousarray(values.T).view(np.uint8).reshape(len(codes), layout.slots, 8)


def _units(buffer, layout: Layout) -> np.ndarray:
    """The data section as 8-byte units, a view of ``buffer``."""
    return np.frombuffer(buffer, dtype=np.uint8, offset=layout.data_offset,
                         count=(len(buffer) - layout.data_offset) // 8 * 8).reshape(-1, 8)


def _whole_cases(units_or_codes, layout: Layout) -> int:
    """How many cases the data hold: the header's count, checked against them (-1: counted from them)."""
    cases = len(units_or_codes) // layout.slots if layout.slots else 0
    if layout.cases >= 0:
        if cases < layout.cases:
            raise Unsupported("fewer cases than the header says")
        return layout.cases
    if layout.compression == 0 and len(units_or_codes) % layout.slots:
        raise Unsupported("the data are not whole cases")
    return cases


def case_codes(buffer, layout: Layout) -> tuple[np.ndarray, tuple]:
    """A bytecode-compressed file's codes, one for each slot of each case ((cases, slots) uint8), and its raw
    values: (the 8-byte values its 253 codes call for, in file order (float64); where each goes, as a position
    in the flattened codes). Blocks of eight codes alternate with the raw values their 253 codes call for; 0
    pads a block, 252 ends the data."""
    units = _units(buffer, layout)
    blocks = _code_blocks(units)
    is_block = np.zeros(len(units), dtype=bool)
    is_block[blocks] = True
    codes = units[blocks].ravel()
    ends = np.flatnonzero(codes == _END)
    if len(ends):
        codes = codes[:ends[0]]
    padding = np.flatnonzero(codes == 0)
    if len(padding):
        codes = np.delete(codes, padding)
    raw = units[~is_block].view(layout.byte_order + "f8").ravel()
    at = np.flatnonzero(codes == _RAW)               # where each raw value goes, in file order: case, then slot
    if len(at) > len(raw):
        raise Unsupported("the compressed data end inside a value")
    cases = _whole_cases(codes, layout)
    at = at[at < cases * layout.slots]
    return codes[:cases * layout.slots].reshape(cases, layout.slots), (raw[:len(at)], at)


def slot_values(codes: np.ndarray, raw: tuple, layout: Layout, slots, missing: float) -> np.ndarray:
    """The values of ``slots`` of every case as float64, one row a slot ((len(slots), cases)), from the codes
    and raw values of ``case_codes``: code - bias; ``missing`` for 255, system-missing (and for a raw value that
    is SYSMIS); eight blanks for 254; the next raw value for 253. Only these slots' codes are widened to 8 bytes,
    each straight into its row."""
    slots = np.asarray(slots, dtype=np.int64)
    chosen = codes[:, slots].T                                        # (slots, cases), one byte each
    values = np.subtract(chosen, layout.bias, dtype=np.float64)
    values[chosen == _SYSMIS_CODE] = missing
    values[chosen == _SPACES] = np.frombuffer(b" " * 8, dtype=layout.byte_order + "f8")[0]
    raw_values, at = raw
    row_of_slot = np.full(layout.slots, -1, dtype=np.int64)
    row_of_slot[slots] = np.arange(len(slots))
    rows = row_of_slot[at % layout.slots]
    mine = rows >= 0
    taken = raw_values[mine].astype(np.float64)
    taken[taken == SYSMIS] = missing
    values[rows[mine], at[mine] // layout.slots] = taken
    return values


CHUNK_UNITS = 1 << 16       # 512 KB of the file followed at a time: small tables, in cache, whatever the file


def _code_blocks(units: np.ndarray) -> np.ndarray:
    """Which units are code blocks, in order. Each depends on every block before it, so the chain is followed a
    chunk at a time; within a chunk, in vectorised doubling steps (`_chain`). A chain leaves a chunk at most
    nine units into the next one, where the next chunk's chain starts."""
    found, at = [], 0
    for start in range(0, len(units), CHUNK_UNITS):
        if at >= len(units):
            break
        part = units[start:start + CHUNK_UNITS]
        if at >= start + len(part):                   # a chunk smaller than one block and its values
            continue
        raws_called = (part == _RAW).view(np.uint64).ravel() * np.uint64(0x0101010101010101) >> np.uint64(56)
        step = 1 + raws_called.astype(np.int64)
        chain = _chain(step, at - start)
        found.append(chain + start)
        at = start + int(chain[-1] + step[chain[-1]])
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _chain(step: np.ndarray, entry: int) -> np.ndarray:
    """Positions of the chain i -> i + step[i] from `entry` while inside the array: jumps of 1, 2, 4 ... 2^k
    steps made by doubling, the chain walked in jumps of 2^k (a few hundred steps a chunk), then each jump filled
    in by halving it."""
    n = len(step)
    jump = np.append(np.minimum(np.arange(n) + step, n), n).astype(np.int32)   # n: past the end, and stays
    jumps = [jump]
    for _ in range(max(1, n.bit_length() // 2 - 1)):
        jumps.append(jumps[-1][jumps[-1]])
    longest = jumps[-1][jumps[-1]]
    checkpoints = []
    while entry < n:
        checkpoints.append(entry)
        entry = int(longest[entry])
    chain = np.array(checkpoints, dtype=np.int32)
    for level in reversed(jumps):
        chain = np.column_stack([chain, level[chain]]).ravel()
    return chain[chain < n].astype(np.int64)


@dataclass
class Decoded:
    """A .sav's cases and what pyreadstat's metadata says of them, as numpy arrays and plain values (so that
    they travel from a child out of band, and without pandas): ``numbers`` one row per numeric variable, the
    strings a column each. A file the decoder does not know comes whole from pyreadstat, as ``read``."""

    meta: dict              # column_names, file_encoding, number_rows, missing_ranges, variable_value_labels
    checksum: str = ""      # sha256 of the bytes decoded
    cases: int = 0
    numbers: np.ndarray | None = None
    numeric_names: list = field(default_factory=list)
    strings: dict = field(default_factory=dict)
    read: object = None                              # pyreadstat's own frame, for a file decoded by it

    def frame(self):
        """The cases as ``pyreadstat.read_sav(path, user_missing=True, disable_datetime_conversion=True)``'s
        frame: numbers float64 with system-missing as NaN, strings without their trailing blanks."""
        import pandas as pd

        if self.read is not None:
            return self.read
        frame = pd.DataFrame(self.numbers.T, columns=self.numeric_names, copy=False)   # one block, no copy
        if self.strings:
            frame = pd.concat([frame, pd.DataFrame(self.strings)], axis=1)
        return frame[list(self.meta["column_names"])]


def decode(path: Path) -> Decoded:
    """The file's cases, metadata and checksum (see ``Decoded``); pyreadstat's exception for a file it cannot
    read."""
    import pyreadstat

    path = Path(path)
    meta = _meta(pyreadstat.read_sav(str(path), metadataonly=True, user_missing=True, output_format="dict")[1])
    buffer = path.read_bytes()
    checksum = hashlib.sha256(buffer).hexdigest()     # here, beside the decoding: off the run's critical path
    try:
        decoded = decode_cases(buffer, read_layout(buffer), meta)
        if decoded.cases == meta["number_rows"] or meta["number_rows"] in (None, -1):
            return replace(decoded, checksum=checksum)
    except (Unsupported, struct.error, ValueError, IndexError, UnicodeDecodeError, LookupError):
        pass                                 # pyreadstat reads it, or says what is wrong with it
    frame, whole = pyreadstat.read_sav(str(path), user_missing=True, disable_datetime_conversion=True)
    return Decoded(_meta(whole), checksum, len(frame), read=frame)


def _meta(meta) -> dict:
    return {"column_names": list(meta.column_names), "file_encoding": meta.file_encoding,
            "number_rows": meta.number_rows, "missing_ranges": dict(meta.missing_ranges or {}),
            "variable_value_labels": dict(meta.variable_value_labels or {})}


def decode_cases(buffer, layout: Layout, meta: dict) -> Decoded:
    """The cases of the file in ``buffer``: numbers float64 with system-missing as NaN, strings decoded."""
    names = meta["column_names"]
    if len(names) != len(layout.widths):
        raise Unsupported("pyreadstat and the dictionary disagree on the variables")
    numeric = [i for i, width in enumerate(layout.widths) if width == 0]
    numeric_slots = [layout.first_slots[i] for i in numeric]
    text = [(i, layout.first_slots[i], (width + 7) // 8) for i, width in enumerate(layout.widths) if width]
    if layout.compression == 1:          # each value worked out from its code once, in the row it ends in
        codes, raw = case_codes(buffer, layout)
        cases = len(codes)
        numbers = slot_values(codes, raw, layout, numeric_slots, np.nan)        # each row one variable
        text_slots = [first + k for _, first, count in text for k in range(count)]
        text_bytes = np.ascontiguousarray(slot_values(codes, raw, layout, text_slots, SYSMIS).T).view(np.uint8)
        starts = np.cumsum([0] + [count * 8 for _, _, count in text])
    else:
        slots = case_slots(buffer, layout)
        cases = len(slots)
        by_slot = slots.view(layout.byte_order + "f8")[:, :, 0].T       # (slots, cases), a view
        numbers = by_slot[numeric_slots].astype(np.float64)               # each row one variable
        numbers[numbers == SYSMIS] = np.nan
        text_bytes = slots.reshape(cases, -1)
        starts = [first * 8 for _, first, _ in text]
    strings = {names[i]: _strings(text_bytes[:, at:at + layout.widths[i]], meta["file_encoding"])
               for (i, _, _), at in zip(text, starts)}
    return Decoded(meta, "", cases, numbers, [names[i] for i in numeric], strings)


def _strings(raw: np.ndarray, encoding: str) -> np.ndarray:
    """One string column, without its trailing blanks: plain ASCII decoded by numpy, other text one
    distinct value at a time (survey codes repeat)."""
    fixed = np.ascontiguousarray(raw).view(f"S{raw.shape[1]}").ravel()
    if raw.max(initial=0) < 0x80 and "A".encode(encoding) == b"A":
        return np.strings.rstrip(fixed.astype("U"), " ")
    distinct, inverse = np.unique(fixed, return_inverse=True)
    text = np.array([value.rstrip(b" ").decode(encoding) for value in distinct], dtype=object)
    return text[inverse.ravel()]
