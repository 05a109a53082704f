"""Reading XLSX worksheets as text tables (openpyxl): merged cells, header row among title rows.

Holds :func:`_read_xlsx` and the header detection shared with CSV/TSV (:func:`_header_row`).
May import: geo.core, openpyxl, pandas, numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from geo.core.errors import InputError, QualityReport
from geo.core.schema import map_headers


def _read_xlsx(
    path: Path,
    sheet: str | int,
    source: str,
    quality: QualityReport | None,
    column_mapping: Mapping[str, str] | None,
) -> pd.DataFrame:
    """Read one XLSX sheet as text, merged cells filled, header row found (see read_table)."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=False, data_only=True)
    try:
        names = workbook.sheetnames
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise InputError(
                    f"no sheet number {sheet + 1}", source=source, fix="check the workbook"
                )
            ws = workbook[names[sheet]]
        elif sheet in names:
            ws = workbook[sheet]
        else:
            raise InputError(
                f"no sheet {sheet!r}", source=source, fix=f"choose one of: {', '.join(names)}"
            )
        merged = list(ws.merged_cells.ranges)
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        workbook.close()
    for cells in merged:
        value = rows[cells.min_row - 1][cells.min_col - 1] if cells.min_row <= len(rows) else None
        for r in range(cells.min_row - 1, min(cells.max_row, len(rows))):
            for c in range(cells.min_col - 1, min(cells.max_col, len(rows[r]))):
                rows[r][c] = value
    rows = [r for r in rows if any(v is not None and str(v).strip() for v in r)]
    if not rows:
        raise InputError("the sheet is empty", source=source, fix="check the workbook")
    header_at = _header_row(rows, column_mapping)
    header = [_cell_text(v) or "" for v in rows[header_at]]
    merged_in_header = [
        str(m) for m in merged if m.min_row - 1 <= header_at and m.min_col != m.max_col
    ]
    if quality is not None and (header_at > 0 or merged_in_header):
        where = f"rows 1-{header_at + 1}" if header_at else "row 1"
        quality.add(
            "repair",
            source,
            where,
            f"merged header cells ({', '.join(merged_in_header[:4]) or 'none'}) filled; header "
            f"read from row {header_at + 1}, the {header_at} row(s) above skipped as titles",
            "give the table one header row without merged cells",
        )
    width = len(header)
    data = [[_cell_text(v) for v in row[:width]] for row in rows[header_at + 1 :]]
    return pd.DataFrame(data, columns=header, dtype=object)


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
    text = str(value).strip()
    return text or None
