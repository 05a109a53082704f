"""The canonical estate schema, header mappings and the coercion of survey columns.

Every loader turns its input into one estate table with the columns of :data:`ESTATE_COLUMNS`
(the issue "End-to-end planning run" names them). Survey tables come with the Chinese headers
planners use (``小区名称``, ``建成年代``, ``户数``, ``居民同意率`` ...) or English ones; both are
mapped by :func:`map_headers`, and a user can pass their own mapping.

Cells are parsed leniently but never guessed: ``"1995、1997"`` is two phases, ``"90年代"`` a
decade, an empty cell is unknown (the estate then ``needs_survey``). The parsers of one cell live in
:mod:`geo.core.cells` (re-exported here); :func:`coerce_attributes` applies them to whole columns
and records every repair in a :class:`geo.core.errors.QualityReport`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import TypeVar

import numpy as np
import pandas as pd

from geo.core.cells import (  # noqa: F401  (parsers of one cell, re-exported: geo.core.schema API)
    BuildYear,
    parse_area,
    parse_build_year,
    parse_count,
    parse_share,
    split_needs,
)
from geo.core.errors import InputError, QualityReport
from geo.core.messages import column_word, msg, row_where
from geo.core.names import normalise_header, normalise_text
from geo.core.places import POINT_COLUMNS, split_region
from geo.core.yes_no import parse_bool, parse_management_model

T = TypeVar("T")


#: Canonical estate columns: name -> (pandas dtype, unit or "", meaning).
ESTATE_COLUMNS: dict[str, tuple[str, str, str]] = {
    "estate_id": ("string", "", "stable id: the input id when there is one"),
    "name": ("string", "", "estate name (小区名称)"),
    "county": ("string", "", "county or city district (县(区)) the estate lies in"),
    "build_year_raw": ("string", "", "build year cell as written (建成年代)"),
    "build_year": ("Int64", "year", "earliest build year read from the cell"),
    "build_year_latest": ("Int64", "year", "latest build year (used for eligibility)"),
    "households": ("Int64", "户", "households (户数)"),
    "buildings": ("Int64", "栋", "buildings (栋数)"),
    "floor_area_m2": ("Float64", "m²", "gross floor area (建筑面积)"),
    "consent_rate": ("Float64", "share 0-1", "residents agreeing (居民同意率)"),
    "elderly_share": ("Float64", "share 0-1", "residents aged 60+ (60岁以上人口占比)"),
    "already_renovated": ("boolean", "", "already comprehensively renovated (已完成综合改造)"),
    "shantytown_plan": (
        "boolean",
        "",
        "in a shanty-town or expropriation plan (纳入棚改或征收计划)",
    ),
    "urban_village": ("boolean", "", "urban village or self-built housing (城中村或自建房)"),
    "illegal_structures_removed": ("boolean", "", "illegal structures removed (违建已拆除)"),
    "has_property_management": ("boolean", "", "has property management (有物业管理)"),
    "management_model_agreed": (
        "boolean",
        "",
        "post-renovation management model agreed (已确定改造后管理模式; Huaibei 2021 七(五))",
    ),
    "needs": ("string", "", "needed items of the 25-item content table, separated by ；"),
}

#: Header aliases per canonical column, compared after :func:`geo.core.names.normalise_header`.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "estate_id": ("estate_id", "id", "osm_id", "编号", "小区编号", "小区id", "code_id"),
    "name": ("name", "estate_name", "小区名称", "小区名", "名称", "项目名称"),
    "county": (
        "county",
        "district_name",
        "所在区",
        "县(区)",
        "县区",
        "区县",
        "所在县区",
        "行政区",
        "区",
        # listing sites: "西湖 北山" (county and business circle), split by coerce_attributes
        "所属区域",
        "所在区域",
        "区域",
        "区域板块",
        "所属区县",
    ),
    "build_year_raw": (
        "build_year",
        "build_year_raw",
        "year_built",
        "建成年代",
        "建成时间",
        "建成年份",
        "建设年代",
        "竣工年份",
        # listing sites (fang.com, Lianjia, Anjuke)
        "建筑年代",
        "竣工时间",
        "竣工日期",
        "建造年代",
    ),
    "households": ("households", "户数", "总户数", "涉及户数", "房屋总数", "住户数"),
    "buildings": ("buildings", "栋数", "楼栋数", "幢数", "楼栋总数", "总栋数"),
    "floor_area_m2": ("floor_area_m2", "floor_area", "建筑面积", "面积", "总建筑面积"),
    "consent_rate": ("consent_rate", "consent", "居民同意率", "同意率", "改造意愿"),
    "elderly_share": ("elderly_share", "60岁以上人口占比", "老年人口占比", "老龄化率"),
    "already_renovated": ("already_renovated", "已完成综合改造", "已改造"),
    "shantytown_plan": ("shantytown_plan", "纳入棚改或征收计划", "棚改或征收", "征收计划"),
    "urban_village": ("urban_village", "城中村或自建房", "城中村", "自建房"),
    "illegal_structures_removed": ("illegal_structures_removed", "违建已拆除", "违建拆除"),
    "has_property_management": ("has_property_management", "有物业管理", "物业管理"),
    "management_model_agreed": (
        "management_model_agreed",
        "management_model",
        "是否确定改造后管理模式",
        "是否确定管理模式",
        "管理模式是否确定",
        "管理模式已确定",
        "已确定管理模式",
        "已确定改造后管理模式",
        "改造后管理模式已确定",
        "改造后管理模式",
        "后续管理模式",
        "长效管理模式",
    ),
    "needs": ("needs", "改造需求", "改造内容", "需改造内容"),
}

_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!?]|javascript:|on[a-z]+\s*=", re.IGNORECASE)


def map_headers(
    columns: list[str], user_mapping: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return ``{input header: canonical column}`` for the headers that map onto the schema.

    Parameters
    ----------
    columns
        Headers as read from a file.
    user_mapping
        Optional ``{input header: canonical column}`` that takes precedence over the built-in
        aliases of :data:`HEADER_ALIASES`.

    Raises
    ------
    InputError
        If ``user_mapping`` names a canonical column that does not exist, or two headers would
        map onto the same canonical column.
    """
    mapping: dict[str, str] = {}
    user_mapping = dict(user_mapping or {})
    for target in user_mapping.values():
        if target not in ESTATE_COLUMNS and target not in POINT_COLUMNS:
            raise InputError(
                msg(
                    "the column mapping names {target!r}, which is not an estate column",
                    target=target,
                ),
                fix=msg(
                    "use one of {columns}",
                    columns=", ".join([*ESTATE_COLUMNS, *POINT_COLUMNS]),
                ),
            )
    lookup = {
        normalise_header(alias): canonical
        for canonical, aliases in HEADER_ALIASES.items()
        for alias in aliases
    }
    taken: dict[str, str] = {}
    for column in columns:
        canonical = user_mapping.get(column) or lookup.get(normalise_header(column))
        if canonical is None:
            continue
        if canonical in taken:
            if column in user_mapping:
                mapping.pop(taken[canonical], None)
            elif taken[canonical] in user_mapping:
                continue
            else:
                # keep the first header (e.g. 小区名称 before 名称), ignore the later one
                continue
        mapping[column] = canonical
        taken[canonical] = column
    return mapping


_COUNTS = ("households", "buildings")
#: Largest values one estate (小区) can have; more is a typing or unit error (a total typed in a
#: row, 万 read as units, cells shifted) and is treated as unknown with a report, never planned
#: with (issue 16: 1e12 households). Planning judgement: the largest Chinese estates split into
#: 小区 have some 10,000 households, a few hundred buildings and about 1 million m² of floor area;
#: the bounds leave a factor of ten.
PLAUSIBLE_MAX = {"households": 100_000, "buildings": 5_000, "floor_area_m2": 10_000_000.0}

_PARSERS = {
    "households": parse_count,
    "buildings": parse_count,
    "floor_area_m2": parse_area,
    "consent_rate": parse_share,
    "elderly_share": parse_share,
    "already_renovated": parse_bool,
    "shantytown_plan": parse_bool,
    "urban_village": parse_bool,
    "illegal_structures_removed": parse_bool,
    "has_property_management": parse_bool,
    "management_model_agreed": parse_management_model,
}


def _once_per_value(func: Callable[[object], T]) -> Callable[[object], T]:
    """Wrap a cell parser so each distinct cell value of a column is parsed only once.

    The parsers are pure, so a column of 200,000 cells with a few hundred distinct build years,
    counts or yes/no words costs a few hundred parses. Values are told apart by type (and floats
    by their text, so ``-0.0`` stays apart from ``0.0``); unhashable cells are parsed each time.
    """
    cache: dict[object, T] = {}

    def parse(cell: object) -> T:
        if isinstance(cell, float):
            key: object = (float, repr(cell))
        else:
            try:
                key = (type(cell), cell)
                hash(key)
            except TypeError:
                return func(cell)
        try:
            return cache[key]
        except KeyError:
            value = cache[key] = func(cell)
            return value

    return parse


def _distinct(values: pd.Series) -> tuple[np.ndarray, list[object]]:
    """Return each row's position in a list of the column's distinct cells, and that list.

    Text columns (a pandas string dtype: every cell a ``str`` or missing) are factorised in C, so a
    column of 200,000 cells with a few hundred distinct values costs a few hundred parses and no
    Python loop over the rows. Other columns keep every cell (in row order), so cells that compare
    equal but parse differently (``1``, ``1.0``, ``True``) are never taken for one another.
    """
    if isinstance(values.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        cells = [*uniques.to_numpy(dtype=object), values.dtype.na_value]
        return np.where(codes < 0, len(cells) - 1, codes), cells
    return np.arange(len(values)), list(values)


def _map_distinct(
    values: pd.Series, func: Callable[[object], object], dtype: str | None = None
) -> pd.Series:
    """``values.map(func)`` with ``func`` called once per distinct cell (see :func:`_distinct`).

    :func:`geo.core.names.normalise_text` is applied to all the text cells at once
    (:func:`_normalised_texts`). With ``dtype``: ``.astype(dtype)`` of that, each distinct
    value converted once.
    """
    codes, cells = _distinct(values)
    mapped = np.empty(len(cells), dtype=object)
    if func is normalise_text:
        mapped[:] = _normalised_texts(cells)
    else:
        func = _once_per_value(func)
        mapped[:] = [func(cell) for cell in cells]
    if dtype is not None:
        return pd.Series(pd.array(mapped, dtype=dtype).take(codes), index=values.index)
    return pd.Series(mapped[codes], index=values.index)


#: Joins text cells into one text for :func:`_normalised_texts` and :func:`_report_markup`: a
#: character no cell holds (checked), which no normalisation produces and which starts a
#: normalisation segment of its own (it never composes with its neighbours).
_JOIN = "\x00"


def _normalised_texts(cells: list[object]) -> list[str]:
    """:func:`geo.core.names.normalise_text` of each cell, the text cells normalised in one call.

    NFKC works segment by segment, and :data:`_JOIN` is a segment of its own, so normalising
    the joined text and splitting it gives each cell's normal form (a cell holding the joiner
    is normalised alone). 200,000 estate names: one call instead of 200,000 (issue 20).
    """
    out: list[str | None] = [None] * len(cells)
    at = [k for k, cell in enumerate(cells) if type(cell) is str]
    texts = [cells[k] for k in at]
    joined = _JOIN.join(texts)
    if len(texts) > 1 and joined.count(_JOIN) == len(texts) - 1:
        parts = unicodedata.normalize("NFKC", joined).split(_JOIN)
        if len(parts) == len(texts):
            for k, part in zip(at, parts, strict=True):
                out[k] = part.strip()
    return [
        normalise_text(cell) if text is None else text
        for cell, text in zip(cells, out, strict=True)
    ]


#: Name of the index of a table read by geo.io: the 1-based row (XLSX) or record (CSV) in the file,
#: as a spreadsheet shows it (title rows and blank rows counted).
FILE_ROW = "file_row"


def file_rows(table: pd.DataFrame) -> np.ndarray:
    """The 1-based row numbers in the file of ``table``'s rows, for reports ("row 12").

    A table read by :func:`geo.io.read_table` is indexed by them (index named :data:`FILE_ROW`);
    any other table is taken to have its header in row 1 and no blank rows (position + 2).
    """
    if table.index.name == FILE_ROW:
        return table.index.to_numpy(dtype=np.int64)
    return np.arange(2, len(table) + 2, dtype=np.int64)


def share_column_is_percent(values: pd.Series) -> bool | None:
    """Say whether a column of shares is written in percent: most plain numbers above 1.

    Cells with ``%`` and text are not counted. Returns ``None`` when no plain number is present.
    """
    above = below = 0
    codes, cells = _distinct(values)
    for cell, count in zip(cells, np.bincount(codes, minlength=len(cells)), strict=True):
        text = normalise_text(cell)
        try:
            number = float(text)
        except ValueError:
            continue
        if not math.isfinite(number) or number < 0:
            continue
        if number > 1:
            above += int(count)
        else:
            below += int(count)
    if above == below == 0:
        return None
    return above > below


def coerce_attributes(
    table: pd.DataFrame, *, source: str, quality: QualityReport, row_labels: pd.Series | None = None
) -> pd.DataFrame:
    """Parse canonical attribute columns of ``table`` into their typed form.

    ``table`` has canonical column names (after :func:`map_headers`); missing canonical columns are
    added empty. Unreadable cells become missing and are reported in ``quality`` with the row
    (``row_labels`` gives what to call each row, e.g. its id; the default is the index).

    Each distinct cell of a column is parsed once (:func:`_distinct`); the notes are added per
    row, column by column, in row order.

    Returns a new DataFrame; ``table`` is not modified.
    """
    out = table.copy()
    labels = row_labels if row_labels is not None else pd.Series(out.index, index=out.index)
    label_of = labels.to_numpy(dtype=object)
    for column, parser in _PARSERS.items():
        if column not in out:
            out[column] = pd.Series(pd.NA, index=out.index, dtype=ESTATE_COLUMNS[column][0])
            continue
        if parser is parse_share:
            scale = share_column_is_percent(out[column])

            def parser(cell: object, _scale: bool | None = scale) -> tuple[float | None, str]:
                return parse_share(cell, percent_scale=_scale)

        parser = _once_per_value(parser)
        codes, cells = _distinct(out[column])
        parsed = np.empty(len(cells), dtype=object)
        notes: list[str] = []
        for k, cell in enumerate(cells):
            value, note = parser(cell)
            if column in _COUNTS and value == 0:
                value, note = (
                    None,
                    msg(
                        "0 {column} is not plausible for an estate; treated as unknown",
                        column=column_word(column),
                    ),
                )
            elif value is not None and column in PLAUSIBLE_MAX and value > PLAUSIBLE_MAX[column]:
                value, note = (
                    None,
                    msg(
                        "{value:,.0f} is more than one estate can have (at most {most:,.0f}); "
                        "treated as unknown",
                        value=value,
                        most=PLAUSIBLE_MAX[column],
                    ),
                )
            parsed[k] = pd.NA if value is None else value
            notes.append(note)
        has_note = np.array([bool(n) for n in notes], dtype=bool)
        for row in np.flatnonzero(has_note[codes]):
            k = codes[row]
            quality.add(
                "repair" if parsed[k] is not pd.NA else "warning",
                source,
                row_where(label_of[row]),
                msg("{column}: {note}", column=column_word(column), note=notes[k]),
                "correct the cell in the survey table",
            )
        typed = pd.array(parsed, dtype=ESTATE_COLUMNS[column][0])  # each distinct cell once
        out[column] = pd.Series(typed.take(codes), index=out.index)
    raw = out["build_year_raw"] if "build_year_raw" in out else pd.Series("", index=out.index)
    codes, cells = _distinct(raw)
    parse_year = _once_per_value(parse_build_year)
    years = [parse_year(cell) for cell in cells]
    for row in np.flatnonzero(np.array([bool(y.note) for y in years], dtype=bool)[codes]):
        year = years[codes[row]]
        if year.repaired:
            quality.add(
                "repair",
                source,
                row_where(label_of[row]),
                year.note,
                "check the reading; write phases as 1995、1997",
            )
        elif year.note != "decade":
            quality.add(
                "warning",
                source,
                row_where(label_of[row]),
                msg("{note}; the estate needs a survey", note=year.note),
                "write the year as 1995, 1995年, 1995、1997 or 90年代",
            )
    first = np.array([pd.NA if y.first is None else y.first for y in years], dtype=object)
    latest = np.array([pd.NA if y.latest is None else y.latest for y in years], dtype=object)
    out["build_year_raw"] = _map_distinct(raw, normalise_text, "string")
    out["build_year"] = pd.array(first, dtype="Int64").take(codes)
    out["build_year_latest"] = pd.array(latest, dtype="Int64").take(codes)
    _split_regions(out)
    for column in ("name", "county", "needs"):
        if column in out:
            out[column] = _map_distinct(out[column], normalise_text, "string")
            _report_markup(out[column], labels, column, source, quality)
        else:
            out[column] = pd.Series("", index=out.index, dtype="string")
    out["needs"] = _map_distinct(out["needs"], lambda c: "；".join(split_needs(c)), "string")
    return out


def _split_regions(out: pd.DataFrame) -> None:
    """Split county cells written as "西湖 北山" into county and ``business_circle`` (in place)."""
    if "county" not in out:
        return
    codes, cells = _distinct(out["county"])  # each distinct cell split once, not each row
    split = _once_per_value(split_region)
    distinct = [split(cell) for cell in cells]
    regions = [distinct[k] for k in codes]
    if any(circle for _, circle in regions):
        out["county"] = [county or pd.NA for county, _ in regions]
        out["business_circle"] = pd.Series(
            [circle for _, circle in regions], index=out.index, dtype="string"
        )


def _report_markup(
    values: pd.Series, labels: pd.Series, column: str, source: str, quality: QualityReport
) -> None:
    """Warn about HTML or script in a text cell: it is kept as text and escaped wherever shown."""
    codes, cells = _distinct(values)
    texts = [t for t in cells if isinstance(t, str)]
    joined = _JOIN.join(texts)
    # no match in the joined text: none in any cell (a match never spans the joiner)
    if joined.count(_JOIN) == len(texts) - 1 and not _MARKUP.search(joined):
        return
    marked = np.array([isinstance(t, str) and bool(_MARKUP.search(t)) for t in cells], dtype=bool)
    rows = np.flatnonzero(marked[codes])
    label_of = labels.to_numpy(dtype=object)
    for row in rows:
        text = cells[codes[row]]
        quality.add(
            "warning",
            source,
            row_where(label_of[row]),
            msg(
                "{column} {text!r} contains HTML/script markup; kept as plain text (escaped in "
                "the map and the app, never run)",
                column=column_word(column),
                text=text[:60],
            ),
            "remove the markup from the cell",
        )
