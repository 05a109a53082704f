"""Spreadsheet and CSV cells of the packages: values from data written safely.

Holds the cell conversion (NA -> empty, numpy -> Python), :func:`_set` (text that looks like a
formula is stored as text, never a formula: :mod:`geo.io.safe_text`), the header/row table writer
of every sheet, and the UTF-8-with-BOM CSV writer.

May import: geo.io (safe_text, atomic_path); no other geo.outputs module.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geo import io as geo_io
from geo.io.safe_text import is_formula_like, neutralise_csv


def _cell(value: object) -> object:
    """A Python value for a spreadsheet cell: NA -> None, numpy scalars -> Python."""
    if value is None:
        return None
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if not isinstance(value, str | bytes) and pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, shapely.Geometry):
        return value.wkt
    return value


def _set(ws, row: int, col: int, value: object, number_format: str | None = None) -> None:
    """Write one cell; formula-like text is stored as text with a quote prefix (never a formula)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = _cell(value)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str) and (is_formula_like(value) or cell.data_type == "f"):
        cell.data_type = "s"
        cell.quotePrefix = True
    elif number_format and not isinstance(value, str):
        cell.number_format = number_format


def _table(ws, header: Sequence[str], rows: Iterable[Sequence[object]], formats=None) -> int:
    from openpyxl.styles import Font

    bold = Font(bold=True)
    for j, h in enumerate(header, start=1):
        _set(ws, 1, j, h)
        ws.cell(row=1, column=j).font = bold
        ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = min(
            max(10, len(str(h)) * 1.1), 40
        )
    n = 1
    for n, row in enumerate(rows, start=2):
        for j, value in enumerate(row, start=1):
            _set(ws, n, j, value, formats[j - 1] if formats else None)
    ws.freeze_panes = "A2"
    return n


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a UTF-8 (with BOM, so Excel reads Chinese) CSV, formula-like text neutralised."""
    with geo_io.atomic_path(path) as tmp, tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([neutralise_csv(h) for h in header])
        for row in rows:
            writer.writerow([neutralise_csv(_cell(v)) for v in row])


def _decimals(number_format: str | None) -> int | None:
    """Decimals a number format shows (``#,##0.0`` -> 1, ``0.0%`` -> 3); None for text/unknown."""
    if not number_format or number_format == "@":
        return None
    digits = number_format.split(".")[1] if "." in number_format else ""
    shown = sum(1 for ch in digits if ch in "0#")
    return shown + 2 if number_format.endswith("%") else shown


def shown(value: object, number_format: str | None) -> object:
    """A number rounded to what its format shows, so sums of the cells equal sums of the display."""
    value = _cell(value)
    places = _decimals(number_format)
    if places is None or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    out = round(float(value), places)
    return int(out) if places == 0 else out


def total_row(
    rows: Sequence[Sequence[object]], formats: Sequence[str], summable: Sequence[bool], label: str
) -> list[object]:
    """A 合计 row: per summable column the sum of the (already rounded) values shown above."""
    out: list[object] = [label]
    for j in range(1, len(formats)):
        if not summable[j]:
            out.append(None)
            continue
        values = [
            r[j] for r in rows if isinstance(r[j], int | float) and not isinstance(r[j], bool)
        ]
        out.append(shown(sum(values), formats[j]) if values else None)
    return out
