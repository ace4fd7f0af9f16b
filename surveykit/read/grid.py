"""A workbook sheet as a grid of cached cell values, at their real positions, via python-calamine.

Formula cells give the value Excel or LibreOffice saved with them, never a recalculation; a formula saved
without a value (a workbook written by a script) reads as blank. Blank cells are ''.
"""

from __future__ import annotations

from pathlib import Path

from surveykit.errors import SurveyKitError


def open_workbook(path: Path):
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(str(path))


def sheet_key(name: str) -> str:
    """A sheet name as matched: case and runs of spaces forgiven ("Sign off  sheet" is "Sign Off Sheet")."""
    return " ".join(name.split()).casefold()


def sheet_named(workbook, name: str) -> str | None:
    """The workbook's own name for sheet ``name``, or None where it has none."""
    return {sheet_key(s): s for s in workbook.sheet_names}.get(sheet_key(name))


def find_sheet(workbook, name: str, path) -> str:
    """The workbook's own name for sheet ``name`` (case and spaces forgiven); a renamed sheet is an error."""
    actual = sheet_named(workbook, name)
    if actual is None:
        have = ", ".join(repr(s) for s in workbook.sheet_names)
        raise SurveyKitError(f"no sheet named {name!r} (the workbook has {have}): was it renamed?", file=path)
    return actual


class Grid:
    """Rows of one sheet, addressed by 0-based (row, column) as Excel numbers them less one."""

    def __init__(self, rows: list[list], first_row: int, first_col: int):
        self.rows, self.first_row, self.first_col = rows, first_row, first_col

    @classmethod
    def of(cls, workbook, sheet: str) -> "Grid":
        data = workbook.get_sheet_by_name(sheet)
        start = data.start or (0, 0)
        return cls(data.to_python(), int(start[0]), int(start[1]))

    @property
    def height(self) -> int:
        """1 + the last row holding anything (0-based), counted from the top of the sheet."""
        return self.first_row + len(self.rows)

    def value(self, row: int, col: int):
        r, c = row - self.first_row, col - self.first_col
        if 0 <= r < len(self.rows) and 0 <= c < len(self.rows[r]):
            return self.rows[r][c]
        return ""

    def block(self, first_row: int, n_cols: int) -> tuple[int, list[list]]:
        """(row of the first one, rows) from ``first_row`` down, each padded or cut to columns 0 .. n_cols-1."""
        lead = [""] * self.first_col
        start = max(first_row, self.first_row)
        out = []
        for r in range(start - self.first_row, len(self.rows)):
            cells = (lead + self.rows[r]) if lead else self.rows[r]
            out.append(cells[:n_cols] + [""] * (n_cols - len(cells)))
        return start, out
