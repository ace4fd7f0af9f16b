"""One published table as the workbook shows it: the shape the table builders hand the workbook writer.

A table builder (``annex.py`` for NHS Digital's annex tables T1a-T6, ``ascof_tables.py`` for the ASCOF
measures) knows what the cells mean; the writer (``workbook.py``) knows how a spreadsheet shows them. Between
them is ``PublishedSheet``: the title lines above the table, the header (column blocks under headings, e.g.
one question's answers, each with its own labels), the body as a DataFrame whose cells are numbers (int or
float: stored as numbers) or symbols ("[c]", "[w]", "[x]", "[z]": stored as text), and how each column's
numbers are shown. Row sections (T2's demographics, T3's answers) are runs of body rows under a heading row.

Rows as the annex lays them out: the title (row 1), then each of ``lines`` on its own row (an empty line is an
empty row, as T5 leaves one), then the block titles, then the labels, then the body. A block with ``gap_after``
is followed by that many empty columns (the annex leaves one after each question).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

# How a column's numbers are shown (Excel number formats, as the published annex uses them). "decimalN" shows
# N decimals (a table written as it was published keeps each figure's printed decimals); "general" is Excel's
# own choice.
FORMATS = {"percent": "0.0", "count": "#,##0", "score": "0.0", "score3": "0.000", "text": "@", "integer": "0",
           "general": "General", **{f"decimal{n}": "0." + "0" * n if n else "0" for n in range(7)}}


@dataclass(frozen=True)
class Block:
    """Columns under one heading: ``title`` spans them (a question's words); ``labels`` head each column."""
    title: str
    columns: tuple[str, ...]        # body columns, in order
    labels: tuple[str, ...]         # one header label per column (answer labels, "Respondents")
    gap_after: int = 0              # empty columns the writer leaves after the block

    def __post_init__(self):
        if len(self.columns) != len(self.labels):
            raise ValueError(f"block {self.title!r}: {len(self.columns)} columns but {len(self.labels)} labels")
        if self.gap_after < 0:
            raise ValueError(f"block {self.title!r}: gap_after must not be negative")


@dataclass(frozen=True)
class Section:
    """A run of body rows under a heading row (e.g. "Gender" over Male, Female, Other)."""
    title: str
    first: int      # first body row (0-based position in the frame)
    last: int       # last body row, inclusive


@dataclass
class PublishedSheet:
    name: str                                   # sheet name (at most 31 characters), e.g. "T1a - Answers by Council"
    title: str                                  # the first line, e.g. "Table 1a: Profile of answers ..."
    lines: list[str]                            # lines under the title (how to read it, notes it cites)
    frame: pd.DataFrame                         # the body: numbers or symbol text, never numbers as text
    blocks: list[Block]                         # header blocks left to right, covering every column once
    formats: dict[str, str] = field(default_factory=dict)   # column -> key of FORMATS ("text" if absent)
    sections: list[Section] = field(default_factory=list)
    freeze_columns: int = 0                     # columns kept in view when scrolling right (the area names)
    widths: dict[str, float] = field(default_factory=dict)  # column -> width in characters (optional)
    description: str = ""                       # one line for the Contents sheet (the title if empty)
    # column -> a FORMATS key per body row, where a column's rows differ (1J's rows of a long table at 3 dp);
    # a missing entry falls back to ``formats``
    cell_formats: dict[str, pd.Series] = field(default_factory=dict)

    def __post_init__(self):
        covered = [c for b in self.blocks for c in b.columns]
        if sorted(covered) != sorted(self.frame.columns) or len(covered) != len(set(covered)):
            raise ValueError(f"sheet {self.name!r}: header blocks must cover every column exactly once")
        if len(self.name) > 31:
            raise ValueError(f"sheet name {self.name!r} is longer than 31 characters")
        unknown = {f for f in self.formats.values() if f not in FORMATS}
        for column, keys in self.cell_formats.items():
            if column not in self.frame.columns or len(keys) != len(self.frame):
                raise ValueError(f"sheet {self.name!r}: cell formats of {column!r} must give one per body row")
            unknown |= {f for f in pd.unique(keys.dropna()) if f not in FORMATS}
        if unknown:
            raise ValueError(f"sheet {self.name!r}: unknown formats {sorted(unknown)}")
