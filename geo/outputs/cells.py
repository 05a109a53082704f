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

_UNIT_SUFFIXES = (
    ("_m2", "m²"),
    ("_km", "km"),
    ("_m", "m"),
    ("_yuan", "元"),
    ("_share", "0-1"),
    ("_rate", "0-1"),
    ("_min", "min"),
)


def _unit_header(column: str) -> str:
    for suffix, unit in _UNIT_SUFFIXES:
        if column.endswith(suffix):
            return f"{column} ({unit})"
    return column


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
