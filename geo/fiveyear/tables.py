"""The official tables: the annual plan (Ruicheng annex 3) and the task table by county (Xinyang annex 1).

:func:`annual_plan_table` writes plan rows in the Ruicheng annex-3 shape (年份, 小区名称, 位置,
建成时间, 栋数, 户数, 面积m²); :func:`task_table` the task table by county in the Xinyang annex-1
shape (序号, 县(区), 涉及小区数(个), 涉及户数(户), 涉及建筑面积(万平方米), 预计投资额(万元), with a
合计 row); :func:`parse_task_table` reads such a table back.

May import: geo.core only (pure; :mod:`geo.io.workbook` writes the workbooks).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from geo.core.errors import InputError, QualityReport
from geo.core.messages import msg
from geo.core.names import normalise_header, normalise_text
from geo.core.schema import file_rows, parse_area, parse_count

# --------------------------------------------------------------------------- official tables

#: Ruicheng 2021-2025 plan, annex 3 (the five-year plan table).
ANNUAL_PLAN_HEADERS = ("年份", "小区名称", "位置", "建成时间", "栋数", "户数", "面积m²")
#: Xinyang 2022 plan, annex 1 (the annual task table by county).
TASK_TABLE_HEADERS = (
    "序号",
    "县(区)",
    "涉及小区数(个)",
    "涉及户数(户)",
    "涉及建筑面积(万平方米)",
    "预计投资额(万元)",
)
UNKNOWN_COUNTY = "未注明县(区)"
_COUNTY_LIKE = re.compile(r"(区|县|市|旗)$")
_STREET_LIKE = re.compile(r"(路|街|巷|道|侧|号|楼|弄)")


def annual_plan_table(rows: pd.DataFrame, *, year: int | None = None) -> pd.DataFrame:
    """Return plan rows in the Ruicheng annex-3 shape (:data:`ANNUAL_PLAN_HEADERS`).

    ``rows`` are plan rows (:func:`geo.fiveyear.plan_table.parse_plan_table` or
    :func:`geo.fiveyear.schedule.schedule_rows`); ``year``
    keeps one year. 位置 is the plan's location, else the estate's street (``street``), else its
    county. Floor area in m², sorted by year then file row. The annex has no 合计 row.
    """
    part = rows if year is None else rows.loc[rows["plan_year"] == year]
    part = part.sort_values(["plan_year", "plan_row"])
    location = part["location"].astype("string").replace("", pd.NA)
    if "street" in part:
        location = location.fillna(part["street"].astype("string").replace("", pd.NA))
    location = location.fillna(part["county"].astype("string")).fillna("")
    return pd.DataFrame(
        {
            "年份": part["plan_year"].astype("Int64").to_numpy(),
            "小区名称": part["name"].astype("string").to_numpy(),
            "位置": location.to_numpy(),
            "建成时间": part["build_year_raw"].astype("string").fillna("").to_numpy(),
            "栋数": part["buildings"].astype("Int64").to_numpy(),
            "户数": part["households"].astype("Int64").to_numpy(),
            "面积m²": part["floor_area_m2"].astype("Float64").round(2).to_numpy(),
        }
    )


def row_counties(rows: pd.DataFrame, *, default_county: str | None = None) -> pd.Series:
    """Return the county (县(区)) of each plan row.

    The row's ``county`` (the matched estate's, or the table's 县(区) column), else its location
    when that reads as a county (ends in 区/县/市/旗 and names no street), else ``default_county``,
    else :data:`UNKNOWN_COUNTY`.
    """
    county = rows["county"].astype("string").replace("", pd.NA)
    location = rows["location"].astype("string").fillna("")
    looks = location.map(lambda t: bool(_COUNTY_LIKE.search(t)) and not _STREET_LIKE.search(t))
    county = county.fillna(location.where(looks.astype(bool), pd.NA))
    return county.fillna(default_county or UNKNOWN_COUNTY)


def county_totals(rows: pd.DataFrame, *, default_county: str | None = None) -> pd.DataFrame:
    """Return per-county totals of plan rows.

    Columns ``county``, ``estates``, ``households``, ``floor_area_m2`` (m²), ``investment_yuan``
    (yuan), ``investment_estimated_rows``; counties in order of first appearance. Rows need
    ``investment_yuan`` (see :func:`geo.fiveyear.overlay.resolved_rows`); unknown values count 0.
    """
    frame = rows.assign(
        _county=row_counties(rows, default_county=default_county).to_numpy(),
        _est=rows.get("investment_estimated", pd.Series(False, index=rows.index))
        .astype("boolean")
        .fillna(False)
        .astype(int),
    )
    grouped = frame.groupby("_county", sort=False)
    return pd.DataFrame(
        {
            "county": list(grouped.groups.keys()),
            "estates": grouped.size().to_numpy(),
            "households": grouped["households"].sum().astype(int).to_numpy(),
            "floor_area_m2": grouped["floor_area_m2"].sum().astype(float).to_numpy(),
            "investment_yuan": grouped["investment_yuan"].sum().astype(float).to_numpy(),
            "investment_estimated_rows": grouped["_est"].sum().to_numpy(),
        }
    )


def task_table(counties: pd.DataFrame, *, shown: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the task table by county in the Xinyang annex-1 shape, with the 合计 row.

    Parameters
    ----------
    counties
        ``county``, ``estates``, ``households``, ``floor_area_m2`` (m²), ``investment_yuan``
        (yuan), optional ``investment_estimated_rows``, e.g. from :func:`county_totals` or
        :func:`parse_task_table`.
    shown
        Values already rounded for display (``area_wan_m2``, ``investment_wan_yuan`` per county,
        same order), used instead of rounding ``counties`` (see :func:`task_tables_by_year`).

    Returns
    -------
    DataFrame
        Columns :data:`TASK_TABLE_HEADERS` (序号 a number): floor area in 万平方米 and investment
        in 万元 rounded to 2 decimals; the last row is 合计 (in the 序号 column, as in the annex),
        the sum of the values shown above it, so the table adds up as printed. When some
        investment is estimated (no figure in the plan or survey), a 备注 column says so in the
        county's row and in the 合计 row.
    """
    if shown is None:
        area = (counties["floor_area_m2"].astype(float) / 1e4).round(2).to_numpy()
        money = (counties["investment_yuan"].astype(float) / 1e4).round(2).to_numpy()
    else:
        area = shown["area_wan_m2"].astype(float).round(2).to_numpy()
        money = shown["investment_wan_yuan"].astype(float).round(2).to_numpy()
    body = pd.DataFrame(
        {
            "序号": list(range(1, len(counties) + 1)),
            "县(区)": counties["county"].astype(str).to_numpy(),
            "涉及小区数(个)": counties["estates"].astype(int).to_numpy(),
            "涉及户数(户)": counties["households"].astype(int).to_numpy(),
            "涉及建筑面积(万平方米)": area,
            "预计投资额(万元)": money,
        }
    )
    total = {
        "序号": "合计",
        "县(区)": "",
        "涉及小区数(个)": int(body["涉及小区数(个)"].sum()),
        "涉及户数(户)": int(body["涉及户数(户)"].sum()),
        "涉及建筑面积(万平方米)": round(float(np.round(area * 100).sum()) / 100, 2),
        "预计投资额(万元)": round(float(np.round(money * 100).sum()) / 100, 2),
    }
    estimated = counties.get("investment_estimated_rows")
    if estimated is not None and int(estimated.sum()) > 0:
        body["备注"] = [
            f"预计投资额含估算：{int(k)}个小区按单位造价估算" if k else ""
            for k in estimated.astype(int)
        ]
        total["备注"] = f"预计投资额含估算：{int(estimated.sum())}个小区按单位造价估算"
    return pd.concat([body, pd.DataFrame([total])], ignore_index=True)


def task_tables_by_year(
    rows: pd.DataFrame, *, default_county: str | None = None
) -> dict[str, pd.DataFrame]:
    """Return the task table of each plan year and of all years, adding up across sheets.

    Each year's table rounds its counties' values; the all-years table shows, per county, the sum
    of the values shown in the year tables, so its 合计 equals the sum of the years' 合计 rows
    (the tables agree as printed, not only before rounding). Keys: the years as text, then
    ``全部 all``.
    """
    years = sorted(int(y) for y in rows["plan_year"].dropna().unique())
    out: dict[str, pd.DataFrame] = {}
    shown: list[pd.DataFrame] = []
    for y in years:
        counties = county_totals(rows.loc[rows["plan_year"] == y], default_county=default_county)
        out[str(y)] = task_table(counties)
        shown.append(
            counties.assign(
                area_wan_m2=(counties["floor_area_m2"] / 1e4).round(2),
                investment_wan_yuan=(counties["investment_yuan"] / 1e4).round(2),
            )
        )
    every = county_totals(rows, default_county=default_county)
    if shown:
        summed = (
            pd.concat(shown)
            .groupby("county", sort=False)[["area_wan_m2", "investment_wan_yuan"]]
            .sum()
        )
        out["全部 all"] = task_table(every, shown=summed.reindex(every["county"]).reset_index())
    else:
        out["全部 all"] = task_table(every)
    return out


def plan_title(kind: str, *, place: str = "", year: int | None = None, period: str = "") -> str:
    """Return the title row of an official table, as the annexes write it.

    ``kind``: ``annual_plan`` (Ruicheng annex 3: 芮城县“十四五”时期老旧小区改造计划表) or
    ``task_table`` (Xinyang annex 1: 信阳市2022年老旧小区改造任务计划表); ``place`` the city or county,
    ``year`` the plan year, ``period`` the plan period (``2021-2025``: 十四五, ``2026-2030``: 十五五).
    """
    names = {"2021-2025": "十四五", "2026-2030": "十五五"}
    if kind == "task_table":
        return f"{place}{'' if year is None else f'{year}年'}老旧小区改造任务计划表"
    span = f"“{names[period]}”时期" if period in names else (f"{period}年" if period else "")
    if year is not None:
        span = f"{year}年"
    return f"{place}{span}老旧小区改造计划表"


def parse_task_table(
    table: pd.DataFrame, *, source: str, quality: QualityReport
) -> tuple[pd.DataFrame, dict[str, float] | None]:
    """Read a task table by county (Xinyang annex-1 shape) and its stated total row.

    Parameters
    ----------
    table
        Cells as text with headers like :data:`TASK_TABLE_HEADERS` (units in the headers: 万平方米,
        万元 are converted to m² and yuan).
    source
        The file name, for messages.
    quality
        Receives a warning when the stated 合计 row differs from the sum of the rows.

    Returns
    -------
    (DataFrame, dict or None)
        Per-county rows (``county``, ``estates``, ``households``, ``floor_area_m2`` in m²,
        ``investment_yuan`` in yuan) and the stated total (same keys) if the table has one.

    Raises
    ------
    InputError
        If the county, estates or households column is missing or a cell is not a number.
    """
    wanted = {
        "county": ("县(区)", "县区", "县(市、区)", "county"),
        "estates": ("涉及小区数", "小区数", "estates"),
        "households": ("涉及户数", "户数", "households"),
        "floor_area": ("涉及建筑面积", "建筑面积", "面积", "floor_area"),
        "investment": ("预计投资额", "投资额", "investment"),
    }
    lookup = {normalise_header(a): k for k, aliases in wanted.items() for a in aliases}
    header_of: dict[str, str] = {}
    for column in table.columns:
        key = lookup.get(normalise_header(column))
        if key and key not in header_of:
            header_of[key] = str(column)
    for key in ("county", "estates", "households"):
        if key not in header_of:
            raise InputError(
                msg("the task table has no {column} column", column=wanted[key][0]),
                source=source,
                fix="use the headers 序号, 县(区), 涉及小区数(个), 涉及户数(户), 涉及建筑面积(万平方米), "
                "预计投资额(万元)",
            )
    area_scale = 1e4 if "万" in header_of.get("floor_area", "") else 1.0
    money_scale = 1e4 if "万" in header_of.get("investment", "") else 1.0
    rows, stated = [], None
    for row_number, (_, cells) in zip(file_rows(table), table.iterrows(), strict=True):
        texts = [normalise_text(v) for v in cells.to_numpy()]
        is_total = any(re.sub(r"\s+", "", t) in {"合计", "总计"} for t in texts)
        record = {"county": "合计" if is_total else normalise_text(cells[header_of["county"]])}
        for key, parser, scale in (
            ("estates", parse_count, 1.0),
            ("households", parse_count, 1.0),
            ("floor_area", parse_area, area_scale),
            ("investment", parse_area, money_scale),
        ):
            value, note = parser(cells[header_of[key]]) if key in header_of else (None, "")
            if note or (value is None and key in ("estates", "households")):
                raise InputError(
                    msg(
                        "{column}: {note}",
                        column=header_of.get(key, key),
                        note=note or msg("empty cell"),
                    ),
                    source=source,
                    where=msg("row {row}", row=int(row_number)),
                    fix="write a number",
                )
            record[key] = 0.0 if value is None else value * scale
        if is_total:
            stated = record
        elif record["county"]:
            rows.append(record)
    frame = pd.DataFrame(rows).rename(
        columns={"floor_area": "floor_area_m2", "investment": "investment_yuan"}
    )
    total = None
    if stated is not None:
        total = {
            "estates": stated["estates"],
            "households": stated["households"],
            "floor_area_m2": stated["floor_area"],
            "investment_yuan": stated["investment"],
        }
        for key, value in total.items():
            summed = float(frame[key].sum())
            if abs(summed - float(value)) > 0.5 + 1e-6 * abs(summed):
                quality.add(
                    "warning",
                    source,
                    "合计 row",
                    msg(
                        "{key}: the stated total {value:,.2f} differs from the sum of the rows "
                        "{summed:,.2f}",
                        key=key,
                        value=value,
                        summed=summed,
                    ),
                    "correct the total row or the county rows",
                )
    return frame, total
