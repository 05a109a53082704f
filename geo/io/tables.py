"""Reading survey and plan tables: CSV/TSV (UTF-8 or GBK, title lines skipped), XLSX, and the survey.

Holds :func:`read_table` (any table as text cells) and :func:`read_survey` (canonical survey columns).
May import: geo.core, geo.io.files, geo.io.xlsx, pandas, numpy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from geo.core.errors import InputError, QualityReport
from geo.core.messages import first_few, msg
from geo.core.names import is_total_label
from geo.core.schema import FILE_ROW, coerce_attributes, file_rows, map_headers
from geo.io.files import _check_input_file, _id_text, _short, split_sheet
from geo.io.xlsx import _header_row, _read_xlsx


def read_table(
    path: str | Path,
    *,
    sheet: str | int = 0,
    quality: QualityReport | None = None,
    column_mapping: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a survey or plan table: CSV/TSV (UTF-8 with or without BOM, else GBK) or XLSX.

    All cells are read as text (``dtype=str``) so that ids keep leading zeros and year cells stay
    as written; parsing is :mod:`geo.core.schema`'s job. In XLSX, merged cells are filled with their
    value, and the header is the row among the first ten that names the most known columns
    (:data:`geo.core.schema.HEADER_ALIASES`, plus ``column_mapping``): title rows and merged group
    headers above it are skipped (reported in ``quality``); the same for title lines above the
    header of a CSV/TSV. A GBK text file is reported too. ``FILE.xlsx::SHEET`` names the sheet;
    by default the first visible one is read (hidden first sheets and several visible sheets are
    reported). See :mod:`geo.io.xlsx` for the bounds on a sheet's size.

    Raises
    ------
    InputError
        If the file is missing, empty, too large, not a table, or in an unknown encoding.
    """
    path, named_sheet = split_sheet(path)
    if named_sheet is not None:
        sheet = named_sheet
    source = path.name
    _check_input_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            table = _read_xlsx(path, sheet, source, quality, column_mapping)
        elif suffix == ".xls":
            table = pd.read_excel(path, sheet_name=sheet, dtype=str, engine=None)
            table.index = pd.Index(np.arange(2, len(table) + 2), name=FILE_ROW)
        else:
            table = _read_text_table(
                path,
                sep="\t" if suffix in (".tsv", ".txt") else None,
                quality=quality,
                column_mapping=column_mapping,
            )
    except InputError:
        raise
    except Exception as exc:  # pandas/openpyxl raise many types for broken files
        raise InputError(
            msg("cannot read the table ({detail})", detail=_short(exc)),
            source=source,
            fix="save it as UTF-8 CSV or XLSX",
        ) from exc
    table.columns = _unique_headers([str(c).strip() for c in table.columns])
    table = table.dropna(how="all")
    if table.empty:
        raise InputError("the table has no rows", source=source, fix="check the file")
    return table


def _unique_headers(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, header in enumerate(headers):
        header = header or f"column {i + 1}"
        count = seen.get(header, 0)
        seen[header] = count + 1
        out.append(header if count == 0 else f"{header}.{count}")
    return out


def _parse_text_table(text: str, sep: str | None) -> pd.DataFrame:
    """Parse CSV/TSV text, every cell as text.

    The delimiter is sniffed from the first line as pandas' Python parser does (``csv.Sniffer``,
    default dialect otherwise); the table is then read by pandas' C parser, many times faster on
    large surveys. Should the C parser fail, the Python parser reads it (and gives the error).
    """
    import csv
    import io as _io

    # blank lines kept as empty rows (dropped later by read_table): rows keep their numbers
    options = {"dtype": str, "keep_default_na": False, "na_values": [""], "skip_blank_lines": False}
    delimiter = sep
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(_io.StringIO(text).readline()).delimiter
        except csv.Error:
            delimiter = None
    # a carriage return outside a line ending is an error for the Python parser: keep it there
    plain = text.count("\r") == text.count("\r\n")  # as re.search(r"\r(?!\n)"), in C
    if plain and delimiter is not None and len(delimiter) == 1:
        with contextlib.suppress(Exception):
            # the C parser reads UTF-8 bytes: given text, pandas encodes it chunk by chunk
            # (UTF-8, strict) as it reads; encoded at once, the same bytes cost 25 % less of
            # the read (issue 20: 0.34 -> 0.26 s for 220,000 survey rows)
            data = _io.BytesIO(text.encode("utf-8"))
            table = pd.read_csv(data, sep=delimiter, engine="c", encoding="utf-8", **options)
            if isinstance(table.index, pd.RangeIndex):  # else ragged rows: parsers differ
                return table
    return pd.read_csv(_io.StringIO(text), sep=sep, engine="python", **options)


def _first_lines(text: str, count: int) -> list[str]:
    """``text.splitlines()[:count]`` without splitting all of a large file's text.

    Lines are split from a growing head of the text: once it holds more than ``count`` lines,
    its first ``count`` are the text's (each is ended before the next one starts).
    """
    size = 4096
    while size < len(text):
        lines = text[:size].splitlines()
        if len(lines) > count:
            return lines[:count]
        size *= 4
    return text.splitlines()[:count]


def _title_lines(text: str, sep: str | None, column_mapping: Mapping[str, str] | None) -> int:
    """How many title lines stand above the header of a CSV/TSV (see :func:`_header_row`)."""
    import csv

    head = _first_lines(text, 10)
    delimiter = sep
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff("\n".join(head), delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    rows = [next(csv.reader([line], delimiter=delimiter), []) for line in head]
    return _header_row(rows, column_mapping)


def _read_text_table(
    path: Path,
    sep: str | None,
    quality: QualityReport | None = None,
    column_mapping: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a CSV/TSV as text; title lines above the header are skipped and reported."""
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise InputError(
            "this is a binary file, not a text table",
            source=path.name,
            fix="give a CSV, TSV or XLSX table",
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" and quality is not None:
            quality.add(
                "repair",
                path.name,
                "encoding",
                "the text is not UTF-8: read as GBK (GB18030)",
                "save the table as UTF-8 CSV",
            )
        header_at = _title_lines(text, sep, column_mapping)
        if header_at:
            if quality is not None:
                quality.add(
                    "repair",
                    path.name,
                    msg("lines 1-{header_at}", header_at=header_at),
                    msg(
                        "header read from line {header_at}, the {header_at2} line(s) above skipped as "
                        "titles",
                        header_at=header_at + 1,
                        header_at2=header_at,
                    ),
                    "give the table one header row in its first line",
                )
            text = text.split("\n", header_at)[-1]
        table = _parse_text_table(text, sep)
        # records numbered as a spreadsheet shows the file: the header is line header_at + 1
        table.index = pd.Index(np.arange(len(table)) + header_at + 2, name=FILE_ROW)
        return table
    raise InputError(
        "the text is neither UTF-8 nor GBK", source=path.name, fix="save the table as UTF-8 CSV"
    )


def read_survey(
    path: str | Path,
    *,
    quality: QualityReport,
    column_mapping: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a survey table (CSV/TSV/XLSX) into canonical columns (ids as text, cells parsed).

    Headers as planners write them (``小区名称, 所在区, 建成年代, 栋数, 户数, 建筑面积m2, 居民同意率,
    60岁以上人口占比, 已完成综合改造, 纳入棚改或征收计划, 城中村或自建房, 违建已拆除, 有物业管理, 改造需求``)
    or English (:data:`geo.core.schema.HEADER_ALIASES`); ``column_mapping`` adds or overrides.

    Returns
    -------
    DataFrame
        Canonical columns, ``estate_id`` (text, ``<NA>`` where the row has none) and ``survey_row``
        (1-based row number in the file, for reports).

    Raises
    ------
    InputError
        If the table cannot be read or has neither an id nor a name column.
    """
    return read_survey_and_table(path, quality=quality, column_mapping=column_mapping)[0]


def read_survey_and_table(
    path: str | Path,
    *,
    quality: QualityReport,
    column_mapping: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`read_survey`'s rows, and the table as :func:`read_table` read it, row for row.

    The table keeps the rows the survey keeps (a total row, 合计, is left out of both), in order.

    For a caller that needs the cells as written too (the survey's point columns, which the
    canonical rows do not keep), so the file is read once.

    Raises
    ------
    InputError
        As :func:`read_survey`.
    """
    source = split_sheet(path)[0].name
    table = read_table(path, quality=quality, column_mapping=column_mapping)
    mapping = map_headers(list(table.columns), column_mapping)
    if "estate_id" not in mapping.values() and "name" not in mapping.values():
        raise InputError(
            "the survey has neither an id column nor a name column",
            source=source,
            fix="add 小区名称 (or osm_id / 编号), or pass a column mapping",
        )
    renamed = _without_total_rows(
        table.rename(columns=mapping)[list(mapping.values())], source, quality
    )
    rows = pd.Series(file_rows(renamed), index=renamed.index)  # as the planner's spreadsheet
    survey = coerce_attributes(renamed, source=source, quality=quality, row_labels=rows)
    if "estate_id" in survey and isinstance(survey["estate_id"].dtype, pd.StringDtype):
        ids = survey["estate_id"].astype("string").str.strip()  # text cells (read_table's)
        survey["estate_id"] = ids.mask(ids == "")
    elif "estate_id" in survey:
        survey["estate_id"] = (
            survey["estate_id"]
            .map(lambda v: pd.NA if pd.isna(v) or not str(v).strip() else _id_text(v))
            .astype("string")
        )
    else:
        survey["estate_id"] = pd.Series(pd.NA, index=survey.index, dtype="string")
    survey["survey_row"] = rows.values
    _report_duplicate_rows(renamed, survey, source, quality)
    # the same rows as the survey (total rows left out), in the same order
    return survey.reset_index(drop=True), table.loc[renamed.index]


def _without_total_rows(survey: pd.DataFrame, source: str, quality: QualityReport) -> pd.DataFrame:
    """``survey`` without its total rows (a total label as the id or name), each reported.

    The labels are :func:`geo.core.names.is_total_label`'s, shared with the plan tables.
    """
    is_total = pd.Series(False, index=survey.index)
    for column in ("estate_id", "name"):
        if column in survey:
            text = survey[column].astype("string")
            # every label holds 计, total or sum: only those cells are looked at one by one
            maybe = text.str.contains("计|total|sum", case=False).fillna(False).to_numpy(bool)
            if maybe.any():
                found = np.zeros(len(survey), dtype=bool)
                found[maybe] = [is_total_label(cell) for cell in text[maybe]]
                is_total |= found
    if not is_total.any():
        return survey
    for row in file_rows(survey)[is_total.to_numpy()]:
        quality.add(
            "repair",
            source,
            msg("row {row}", row=int(row)),
            msg("a total row (合计), not an estate: left out"),
            "keep one row per estate; totals are computed by lianpian",
        )
    return survey.loc[~is_total]


def _report_duplicate_rows(
    renamed: pd.DataFrame, survey: pd.DataFrame, source: str, quality: QualityReport
) -> None:
    """Warn about survey rows that repeat another row (all cells) or its estate id."""
    # identical rows share their first column's cell: only rows whose first cell repeats are
    # compared whole (the rest cannot repeat a row)
    first = renamed.iloc[:, 0].astype("string").fillna("").duplicated(keep=False).to_numpy()
    cells = renamed.loc[first].astype("string").fillna("")
    same = np.zeros(len(renamed), dtype=bool)
    same[first] = cells.duplicated(keep=False).to_numpy()
    same_row = pd.Series(same, index=renamed.index)
    ids = survey["estate_id"]
    same_id = ids.notna() & ids.duplicated(keep=False) & ~same_row
    for mask, what, fix in (
        (same_row, msg("identical rows"), msg("delete the repeated row")),
        (
            same_id,
            msg("rows with the same estate id"),
            msg("give each estate one row, or its own id"),
        ),
    ):
        if not mask.any():
            continue
        keys = cells.loc[same[first]].apply(tuple, axis=1) if mask is same_row else ids[mask]
        for _, group in survey.loc[mask, "survey_row"].groupby(keys.values, sort=False):
            rows = [str(r) for r in group]
            quality.add(
                "warning",
                source,
                msg("rows {rows}", rows=first_few(rows)),
                msg(
                    "{n_rows} {what} in the survey: check which one is right",
                    n_rows=len(rows),
                    what=what,
                ),
                fix,
            )
