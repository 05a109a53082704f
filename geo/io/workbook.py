"""Writing official tables and schedules as formatted XLSX workbooks (openpyxl), atomically.

The frames come from :mod:`geo.fiveyear.tables` and :mod:`geo.fiveyear.schedule` (pure); this module only lays them
out: units stay in the headers (``面积m²``, ``涉及建筑面积(万平方米)``, ``预计投资额(万元)``), the header
row is bold and frozen, a 合计 row is bold, and every workbook ends with a 说明 (notes) sheet naming
the sources, the estimates and whether the data are illustrative. Text from data that a
spreadsheet would read as a formula is stored as text (:func:`geo.io.safe_text.neutralise_workbook`).
May import: geo.io.writers, geo.io.safe_text, openpyxl, pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from geo.io.safe_text import neutralise_workbook
from geo.io.writers import atomic_path

_MAX_WIDTH = 60


def _cell(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, str):  # characters Excel refuses (control codes) are dropped
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def write_workbook(
    target: str | Path,
    sheets: Mapping[str, pd.DataFrame],
    *,
    notes: Sequence[str] = (),
    titles: Mapping[str, str] | None = None,
) -> Path:
    """Write ``{sheet name: frame}`` to one XLSX workbook, atomically; return the path.

    Sheet names are cut to Excel's 31 characters. A row whose first cell is ``合计`` is bold.
    ``notes`` go, one per line, to a last sheet ``说明``. Numbers stay numbers (floats with up to
    2 decimals shown as such). ``titles`` gives a sheet a title row above its header (the annex's
    title, e.g. 信阳市2022年老旧小区改造任务计划表), merged across the columns.
    """
    target = Path(target)
    # openpyxl (0.1 s to import) only when a workbook is written: not for every lianpian plan
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=str(name)[:31])
        title = (titles or {}).get(name)
        if title:
            sheet.append([title])
            sheet["A1"].font = Font(bold=True, size=14)
            sheet["A1"].alignment = Alignment(horizontal="center")
            if len(frame.columns) > 1:
                sheet.merge_cells(
                    start_row=1, start_column=1, end_row=1, end_column=len(frame.columns)
                )
        header_row = sheet.max_row + 1 if title else 1
        sheet.append([str(c) for c in frame.columns])
        for cell in sheet[header_row]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
        for values in frame.itertuples(index=False):
            sheet.append([_cell(v) for v in values])
            if values and str(values[0]) == "合计":
                for cell in sheet[sheet.max_row]:
                    cell.font = Font(bold=True)
        for j, column in enumerate(frame.columns, start=1):
            texts = [str(column), *(str(v) for v in frame.iloc[:, j - 1].head(500))]
            width = max(_display_width(t) for t in texts) + 2
            sheet.column_dimensions[get_column_letter(j)].width = min(width, _MAX_WIDTH)
            if pd.api.types.is_float_dtype(frame.iloc[:, j - 1].dtype):
                for row in sheet.iter_rows(min_row=header_row + 1, min_col=j, max_col=j):
                    row[0].number_format = "#,##0.00"
        sheet.freeze_panes = f"A{header_row + 1}"
    if notes:
        sheet = book.create_sheet(title="说明")
        for line in notes:
            sheet.append([line])
        sheet.column_dimensions["A"].width = 120
    neutralise_workbook(book)  # text from data never becomes a formula
    with atomic_path(target) as tmp:
        book.save(tmp)
    return target


def _display_width(text: str) -> int:
    """Width in Excel characters: CJK characters count two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
