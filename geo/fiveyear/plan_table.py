"""Plan tables (five-year and annual plans): parse a city's table into canonical plan rows.

Holds :func:`parse_plan_table`, the header aliases (:data:`PLAN_HEADER_ALIASES`), the canonical
plan-row columns (:data:`PLAN_COLUMNS`) and the cell parsers (years, units in headers, totals).

Cities publish their five-year plan as a table, one row per estate (Ruicheng 2021-2025 plan, annex 3:
年份, 小区名称, 位置, 建成时间, 栋数, 户数, 面积m²). :func:`parse_plan_table` is tolerant of header
variants and cells like ``1995、1997``; the table alone (no map) is enough for the year totals and
the official tables. The file itself is read by :func:`geo.pipeline.read_plan_table`.

May import: geo.core only (pure: no file access, no printing).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from geo.core.errors import InputError, QualityReport
from geo.core.messages import column_word, msg
from geo.core.names import is_total_label, normalise_header, normalise_text, whole_number_id
from geo.core.schema import (
    FILE_ROW,
    file_rows,
    map_headers,
    parse_area,
    parse_build_year,
    parse_count,
)

#: Plan-table header aliases beyond the estate ones of :data:`geo.core.schema.HEADER_ALIASES`,
#: compared after :func:`geo.core.names.normalise_header`.
PLAN_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "plan_year": (
        "plan_year",
        "year",
        "年份",
        "年度",
        "计划年度",
        "计划年份",
        "改造年度",
        "改造年份",
        "实施年度",
        "实施年份",
    ),
    "location": (
        "location",
        "address",
        "位置",
        "地址",
        "所在位置",
        "具体位置",
        "坐落",
        "坐落位置",
        "所在街道",
        "街道",
    ),
    "investment": (
        "investment",
        "investment_yuan",
        "预计投资额",
        "投资额",
        "估算投资",
        "总投资",
        "投资",
        "计划投资",
    ),
    "seq": ("序号", "no", "no.", "seq"),
}

#: Canonical plan-row columns (besides the estate ones): name -> (dtype, unit, meaning).
PLAN_COLUMNS: dict[str, tuple[str, str, str]] = {
    "plan_row": ("Int64", "", "row number in the plan file (the header is row 1)"),
    "plan_year": ("Int64", "year", "year of the plan the estate is renovated in (年份)"),
    "estate_id": ("string", "", "estate id given by the plan table, if any"),
    "name": ("string", "", "estate name as the plan writes it (小区名称)"),
    "location": ("string", "", "location as written (位置): a street, a county..."),
    "county": ("string", "", "county or district (县(区)) if the table gives one"),
    "build_year_raw": ("string", "", "build year cell as written (建成时间)"),
    "build_year": ("Int64", "year", "earliest build year of the row"),
    "build_year_latest": ("Int64", "year", "latest build year of the row"),
    "buildings": ("Int64", "栋", "buildings (栋数)"),
    "households": ("Int64", "户", "households (户数)"),
    "floor_area_m2": ("Float64", "m²", "floor area (面积)"),
    "investment_yuan": ("Float64", "yuan", "planned investment, if the table gives one"),
}

_FIRST_PLAN_YEAR = 1990
_LAST_PLAN_YEAR = 2100


# --------------------------------------------------------------------------- import


def _plan_mapping(columns: list[str]) -> dict[str, str]:
    lookup = {
        normalise_header(alias): canonical
        for canonical, aliases in PLAN_HEADER_ALIASES.items()
        for alias in aliases
    }
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        canonical = lookup.get(normalise_header(column))
        if canonical and canonical not in taken:
            mapping[column] = canonical
            taken.add(canonical)
    estate = map_headers([c for c in columns if c not in mapping])
    for column, canonical in estate.items():
        if canonical in {
            "estate_id",
            "name",
            "county",
            "build_year_raw",
            "households",
            "buildings",
            "floor_area_m2",
        }:
            mapping[column] = canonical
    return mapping


def _scale(header: str, kind: str) -> float:
    """Multiplier from the unit written in a header: 万元 / 万平方米 give 10,000."""
    text = normalise_text(header).lower().replace(" ", "")
    if kind == "area":
        return 10_000.0 if re.search(r"万(平方米|m2|m²|㎡)", text) else 1.0
    return 10_000.0 if "万元" in text or "万" in text else 1.0


def _parse_year(cell: object) -> int | None:
    text = normalise_text(cell).translate(str.maketrans("〇零一二三四五六七八九", "00123456789"))
    found = re.findall(r"\d{4}", text)
    if len(found) != 1:
        return None
    year = int(found[0])
    return year if _FIRST_PLAN_YEAR <= year <= _LAST_PLAN_YEAR else None


def parse_plan_table(
    table: pd.DataFrame, *, source: str, quality: QualityReport, first_row: int = 2
) -> pd.DataFrame:
    """Turn a plan table with any of the usual headers into canonical plan rows.

    Parameters
    ----------
    table
        Cells as text, headers as in the file: the Ruicheng annex-3 shape (年份, 小区名称, 位置,
        建成时间, 栋数, 户数, 面积m²), with or without 序号; English (``plan_year, name, location,
        build_year, buildings, households, floor_area_m2``); units in headers (``面积(万平方米)``,
        ``投资(万元)``) are applied. An id column (``estate_id``, ``osm_id``, 编号) is kept for exact
        matching; a 县(区) column gives the county.
    source
        The file name, for messages.
    quality
        Receives repairs (a blank year cell under a merged cell is filled from the row above;
        total rows 合计/小计 are left out) and unreadable cells.
    first_row
        File row number of ``table``'s first row (2 when the header is row 1); a table read by
        :func:`geo.io.read_table` carries its rows' numbers (index :data:`~geo.core.schema.FILE_ROW`)
        and they are used instead.

    Returns
    -------
    DataFrame
        One row per plan row with the columns of :data:`PLAN_COLUMNS` (``floor_area_m2`` in m²,
        ``investment_yuan`` in yuan), in file order.

    Raises
    ------
    InputError
        If the table has no year or no name column, or a year cell cannot be read (the message
        names the row).
    """
    mapping = _plan_mapping([str(c) for c in table.columns])
    missing = [c for c in ("plan_year", "name") if c not in mapping.values()]
    if missing:
        names = {"plan_year": "年份 (year)", "name": "小区名称 (name)"}
        raise InputError(
            msg(
                "the plan table has no {columns} column",
                columns=" / ".join(names[m] for m in missing),
            ),
            source=source,
            fix="use the headers 年份, 小区名称, 位置, 建成时间, 栋数, 户数, 面积m² (Ruicheng annex 3)",
        )
    header_of = {canonical: header for header, canonical in mapping.items()}
    rows: list[dict[str, object]] = []
    previous_year: int | None = None
    # the rows' numbers in the file: the index of a table read by geo.io (title rows counted)
    numbers = (
        file_rows(table) if table.index.name == FILE_ROW else first_row + np.arange(len(table))
    )
    for row_no, (_, cells) in zip(numbers.tolist(), table.iterrows(), strict=True):
        name = normalise_text(cells[header_of["name"]])
        year_cell = normalise_text(cells[header_of["plan_year"]])
        seq = normalise_text(cells[header_of["seq"]]) if "seq" in header_of else ""
        if is_total_label(name) or is_total_label(year_cell) or is_total_label(seq):
            quality.add(
                "repair",
                source,
                msg("row {row}", row=row_no),
                "total row (合计) left out of the rows",
            )
            continue
        values = [normalise_text(v) for v in cells.to_numpy()]
        if not any(v and v.lower() != "nan" for v in values):
            continue
        if not year_cell or year_cell.lower() == "nan":
            if previous_year is None:
                raise InputError(
                    "the year cell (年份) is empty",
                    source=source,
                    where=msg("row {row}", row=row_no),
                    fix="write the plan year, e.g. 2022",
                )
            year = previous_year
            quality.add(
                "repair",
                source,
                msg("row {row}", row=row_no),
                msg("empty year cell read as {year} from the row above (merged cell)", year=year),
            )
        else:
            year = _parse_year(year_cell)
            if year is None:
                raise InputError(
                    msg("the year cell {year_cell!r} is not one year", year_cell=year_cell),
                    source=source,
                    where=msg("row {row}", row=row_no),
                    fix="write one plan year per row, e.g. 2022",
                )
        previous_year = year
        rows.append(_plan_row(cells, header_of, row_no, year, name, source, quality))
    out = pd.DataFrame(rows, columns=list(PLAN_COLUMNS))
    for column, (dtype, _, _) in PLAN_COLUMNS.items():
        out[column] = out[column].astype(dtype)
    if out.empty:
        raise InputError("the plan table has no estate rows", source=source, fix="check the file")
    return out


def _plan_row(
    cells: pd.Series,
    header_of: dict[str, str],
    row_no: int,
    year: int,
    name: str,
    source: str,
    quality: QualityReport,
) -> dict[str, object]:
    def cell(key: str) -> object:
        return cells[header_of[key]] if key in header_of else None

    def note(message: str) -> None:
        quality.add(
            "warning",
            source,
            msg("row {row}", row=row_no),
            message,
            "correct the cell in the plan",
        )

    built = parse_build_year(cell("build_year_raw"))
    if built.note and built.note != "decade":
        note(built.note)
    out: dict[str, object] = {
        "plan_row": row_no,
        "plan_year": year,
        "estate_id": _text_or_na(cell("estate_id")),
        "name": name,
        "location": normalise_text(cell("location")) if "location" in header_of else "",
        "county": _text_or_na(cell("county")),
        "build_year_raw": normalise_text(cell("build_year_raw")).replace("nan", ""),
        "build_year": built.first,
        "build_year_latest": built.latest,
    }
    for key, parser in (("buildings", parse_count), ("households", parse_count)):
        value, message = parser(cell(key))
        if message:
            note(msg("{key}: {message}", key=column_word(key), message=message))
        out[key] = value
    for key, target, kind in (
        ("floor_area_m2", "floor_area_m2", "area"),
        ("investment", "investment_yuan", "money"),
    ):
        value, message = parse_area(cell(key))
        if message:
            note(msg("{key}: {message}", key=column_word(key), message=message))
        out[target] = None if value is None else value * _scale(header_of.get(key, ""), kind)
    return {k: (pd.NA if v is None else v) for k, v in out.items()}


def _text_or_na(value: object) -> object:
    text = normalise_text(value)
    if not text or text.lower() == "nan":
        return pd.NA
    return whole_number_id(text) or text  # 4477360.0: a spreadsheet's decimal id
