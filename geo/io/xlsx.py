"""Reading XLSX worksheets as text tables (openpyxl, streamed): bounded, merged cells, header row.

Holds :func:`_read_xlsx` and the header detection shared with CSV/TSV (:func:`_header_row`).
The sheet is streamed (openpyxl ``read_only``) and only the cells that hold a value are kept, so
the used range comes from the real cells, not from a sheet's declared dimension: a 5 KB
workbook whose one cell is XFD1048576 costs nothing. At most :func:`max_table_cells` cells
(``LIANPIAN_MAX_TABLE_CELLS``) are read from one sheet. Date cells in year columns are read as
their year; hidden sheets, formula cells without a saved value and several visible sheets are
reported, never read silently.
May import: geo.core, openpyxl, pandas, numpy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from geo.core.errors import InputError, QualityReport
from geo.core.messages import first_few, msg
from geo.core.names import normalise_header
from geo.core.schema import FILE_ROW, map_headers
from geo.io.files import positive_int_env

#: Default most cells (every ``<c>`` element, empty formatted ones too) read from one sheet: a
#: survey of 100,000 estates x 30 columns is 3 million. ``LIANPIAN_MAX_TABLE_CELLS`` changes it.
DEFAULT_MAX_TABLE_CELLS = 5_000_000
#: Largest grid (rows with a value x columns) built from the cells; beyond it the columns right
#: of the header rows are left out (they have no header, so no meaning).
_MAX_GRID = 20_000_000
#: Header fragments of year columns (建成年代, 年份, 建成时间, build year): date cells there are years.
_YEAR_HEADER_PARTS = ("年", "year", "时间")


def max_table_cells() -> int:
    """Return the most cells read from one sheet (``LIANPIAN_MAX_TABLE_CELLS``, default 5 million).

    Raises
    ------
    InputError
        If the environment variable is not a positive whole number.
    """
    return positive_int_env("LIANPIAN_MAX_TABLE_CELLS", DEFAULT_MAX_TABLE_CELLS)


def _choose_sheet(workbook, sheet: str | int, source: str, quality: QualityReport | None):
    """The worksheet to read; a hidden first sheet and several visible sheets are reported."""
    names = workbook.sheetnames
    visible = [n for n in names if workbook[n].sheet_state == "visible"]
    if isinstance(sheet, str):
        if sheet not in names:
            raise InputError(
                msg("no sheet {sheet!r}", sheet=sheet),
                source=source,
                fix=msg("choose one of: {names}", names=", ".join(names)),
            )
        return workbook[sheet]
    if not 0 <= sheet < len(names):
        raise InputError(
            msg("no sheet number {sheet}", sheet=sheet + 1), source=source, fix="check the workbook"
        )
    if sheet != 0:
        return workbook[names[sheet]]
    if not visible:
        raise InputError(
            "every sheet of the workbook is hidden",
            source=source,
            fix="unhide the sheet with the table, or name it as FILE.xlsx::SHEET",
        )
    chosen = visible[0]
    if quality is not None and names[0] != chosen:
        hidden = names[: names.index(chosen)]
        quality.add(
            "warning",
            source,
            msg("sheet {chosen}", chosen=chosen),
            msg(
                "the first sheet(s) {in_hidden} are hidden: read the first visible sheet "
                "{chosen!r}",
                in_hidden=", ".join(repr(n) for n in hidden),
                chosen=chosen,
            ),
            "name the sheet to read as FILE.xlsx::SHEET if another was meant",
        )
    if quality is not None and len(visible) > 1:
        quality.add(
            "warning",
            source,
            msg("sheet {chosen}", chosen=chosen),
            msg(
                "the workbook has {n_visible} visible sheets ({visible}): read {chosen!r}",
                n_visible=len(visible),
                visible=", ".join(visible[:8]),
                chosen=chosen,
            ),
            "name the sheet to read as FILE.xlsx::SHEET (e.g. --survey file.xlsx::Sheet2)",
        )
    return workbook[chosen]


def _stream_cells(ws, source: str) -> tuple[dict[tuple[int, int], object], list, list[str]]:
    """Stream a read-only sheet's cells.

    Returns ``{(row, col): value}`` of the cells with a value, the merged ranges, and the
    coordinates of formula cells without a saved value (the first 1,000).

    Raises
    ------
    InputError
        If the sheet holds more than :func:`max_table_cells` cells.
    """
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    limit = max_table_cells()
    uncached: list[str] = []
    counted = [0]

    class Parser(WorkSheetParser):
        def parse_cell(self, element):
            counted[0] += 1
            if counted[0] > limit:
                raise InputError(
                    msg("the sheet has more than {limit:,} cells", limit=limit),
                    source=source,
                    fix="keep only the table on its sheet (delete formatted empty rows and "
                    "columns), or raise LIANPIAN_MAX_TABLE_CELLS",
                )
            cell = super().parse_cell(element)
            no_value = not element.findtext(VALUE_TAG)  # no <v>, or an empty one
            if no_value and element.find(FORMULA_TAG) is not None and len(uncached) < 1000:
                uncached.append(f"{get_column_letter(cell['column'])}{cell['row']}")
            return cell

    cells: dict[tuple[int, int], object] = {}
    parent = ws.parent
    with ws._get_source() as src:  # openpyxl's streamed sheet XML (read_only workbooks)
        parser = Parser(
            src,
            ws._shared_strings,
            data_only=True,
            epoch=parent.epoch,
            date_formats=parent._date_formats,
            timedelta_formats=parent._timedelta_formats,
        )
        for _, row in parser.parse():
            for cell in row:
                value = cell["value"]
                if value is not None and not (isinstance(value, str) and not value.strip()):
                    cells[(cell["row"], cell["column"])] = value
        merged = list(parser.merged_cells.mergeCell) if parser.merged_cells else []
    return cells, [m.ref for m in merged], uncached


def _year_columns(header: list[str], column_mapping: Mapping[str, str] | None) -> set[int]:
    out = set()
    for j, name in enumerate(header):
        try:
            canonical = map_headers([name], column_mapping).get(name) if name else None
        except InputError:
            canonical = None
        text = normalise_header(name)
        if canonical == "build_year_raw" or any(p in text for p in _YEAR_HEADER_PARTS):
            out.add(j)
    return out


def _read_xlsx(
    path: Path,
    sheet: str | int,
    source: str,
    quality: QualityReport | None,
    column_mapping: Mapping[str, str] | None,
) -> pd.DataFrame:
    """Read one XLSX sheet as text, merged cells filled, header row found (see read_table)."""
    import openpyxl
    from openpyxl.worksheet.cell_range import CellRange

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = _choose_sheet(workbook, sheet, source, quality)
        cells, merged_refs, uncached = _stream_cells(ws, source)
    finally:
        workbook.close()
    merged = [CellRange(ref) for ref in merged_refs]
    if uncached and quality is not None:
        quality.add(
            "warning",
            source,
            msg("cells {uncached}", uncached=first_few(uncached)),
            msg(
                "{n_uncached} formula cell(s) have no saved value (the workbook was written by a "
                "program that does not calculate): read as empty",
                n_uncached=len(uncached),
            ),
            "open the workbook in Excel or WPS and save it, so the values are stored",
        )
    if not cells:
        raise InputError("the sheet is empty", source=source, fix="check the workbook")
    row_numbers = sorted({r for r, _ in cells})
    width = max(c for _, c in cells)
    if len(row_numbers) * width > _MAX_GRID:  # a far cell: columns beyond the header rows go
        width = max(c for r, c in cells if r <= row_numbers[min(9, len(row_numbers) - 1)])
    for cell_range in merged:  # fill merged cells with their value, within the used grid
        value = cells.get((cell_range.min_row, cell_range.min_col))
        if value is None:
            continue
        rows_in = [r for r in row_numbers if cell_range.min_row <= r <= cell_range.max_row]
        for r in rows_in:
            for c in range(cell_range.min_col, min(cell_range.max_col, width) + 1):
                cells[(r, c)] = value
    rows = [[cells.get((r, c)) for c in range(1, width + 1)] for r in row_numbers]
    kept = [k for k, r in enumerate(rows) if any(v is not None and str(v).strip() for v in r)]
    rows = [rows[k] for k in kept]
    row_numbers = [row_numbers[k] for k in kept]  # the sheet's own row numbers, as Excel shows
    if not rows:
        raise InputError("the sheet is empty", source=source, fix="check the workbook")
    header_at = _header_row(rows, column_mapping)
    header = [_cell_text(v) or "" for v in rows[header_at]]
    header_row_number = row_numbers[header_at]
    merged_in_header = [
        m.coord for m in merged if m.min_row <= header_row_number and m.min_col != m.max_col
    ]
    if quality is not None and (header_at > 0 or merged_in_header):
        where = (
            msg("rows 1-{last}", last=header_row_number)
            if header_at
            else msg("row {row}", row=header_row_number)
        )
        quality.add(
            "repair",
            source,
            where,
            msg(
                "merged header cells ({merged_in_header_or}) filled; header read from row "
                "{header_at}, the {header_at2} row(s) above skipped as titles",
                merged_in_header_or=", ".join(merged_in_header[:4]) or msg("none"),
                header_at=header_row_number,
                header_at2=header_at,
            ),
            "give the table one header row without merged cells",
        )
    width = len(header)
    body = [row[:width] for row in rows[header_at + 1 :]]
    years = _year_columns(header, column_mapping)
    dates = 0
    for row in body:
        for j in years:
            if isinstance(row[j], dt.date | dt.datetime):
                row[j] = row[j].year
                dates += 1
    if dates and quality is not None:
        columns = ", ".join(header[j] for j in sorted(years))
        quality.add(
            "repair",
            source,
            msg("column {columns}", columns=columns),
            msg(
                "{dates} date cell(s) in a year column read as their year (2000-05-20 -> 2000)",
                dates=dates,
            ),
            "type the build year as a number (2000), not a date",
        )
    data = [[_cell_text(v) for v in row] for row in body]
    # indexed by the sheet's row numbers: a report names the row the planner sees in Excel
    index = pd.Index(row_numbers[header_at + 1 :], name=FILE_ROW)
    return pd.DataFrame(data, columns=header, index=index, dtype=object)


def _header_row(rows: list[list[object]], column_mapping: Mapping[str, str] | None) -> int:
    """Index of the header among the first ten rows: the one naming the most known columns.

    Title rows (``某某区老旧小区调查表``) and merged group headers score lower than the real
    header; with no known column anywhere the first row is the header.
    """
    scores = []
    for row in rows[:10]:
        cells = [str(v).strip() for v in row if v is not None and str(v).strip()]
        try:
            scores.append(len(map_headers(cells, column_mapping)))
        except InputError:  # two aliases of one column: a header all the same
            scores.append(1)
    return int(np.argmax(scores)) if scores and max(scores) > 0 else 0


def _cell_text(value: object) -> str | None:
    """A cell as text, like ``dtype=str``: ``None`` stays missing, whole floats lose ``.0``."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()  # a date cell as the date typed, without 00:00:00
    text = str(value).strip()
    return text or None
