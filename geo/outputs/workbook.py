"""The workbook (XLSX) of a package: estate schedule, summary, content, corridors, sites, cost, notes.

Holds the sheets of one district's ``<pkg>.xlsx``; every cell goes through
:func:`geo.outputs.cells._set`.

May import: geo.core, geo.io, geo.planning (content classes), geo.outputs.bundle,
geo.outputs.cells, openpyxl.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from geo import __version__
from geo import io as geo_io
from geo.outputs.bundle import (
    DistrictBundle,
    PlanLayers,
    _blank,
    _crs_text,
    _data_character,
    _sources,
)
from geo.outputs.cells import _set, _table, _unit_header
from geo.planning.content import content_table, count_items

# ----- XLSX

_ESTATE_SCHEDULE: tuple[tuple[str, str, str], ...] = (
    # column, header (units in brackets), number format
    ("estate_id", "小区编号 estate id", "@"),
    ("name", "小区名称 name", "@"),
    ("county", "所在区县 county", "@"),
    ("build_year_raw", "建成年代(原文) build year as written", "@"),
    ("build_year", "建成年份(年) build year", "0"),
    ("buildings", "栋数(栋) buildings", "#,##0"),
    ("households", "户数(户) households", "#,##0"),
    ("floor_area_m2", "建筑面积(m²) floor area", "#,##0"),
    ("consent_rate", "居民同意率(%) consent rate", "0.0%"),
    ("elderly_share", "60岁以上人口占比(%) share aged 60+", "0.0%"),
    ("status", "资格 status", "@"),
    ("needs_basic", "基础类需求 basic needs", "@"),
    ("needs_improvement", "完善类需求 improvement needs", "@"),
    ("needs_enhancement", "提升类需求 enhancement needs", "@"),
    ("needs_other", "其他需求(未归类) other needs", "@"),
    ("investment_wan", "估算投资(万元) estimated investment", "#,##0.0"),
    ("investment_estimated", "投资按户数估算 estimated by households", "@"),
    ("priority_score", "优先级得分(0-100) priority score", "0.0"),
)


def _yes_no(value: object) -> str | None:
    if _blank(value):
        return None
    return "是" if str(value).strip().lower() in ("true", "1", "yes", "是") else "否"


def _policy_rates(layers: PlanLayers) -> tuple[float | None, float | None, str]:
    text = layers.run_info.get("policy_toml", "")
    try:
        cost = tomllib.loads(text).get("cost", {}) if text else {}
    except tomllib.TOMLDecodeError:
        cost = {}
    return (
        cost.get("yuan_per_m2"),
        cost.get("yuan_per_household"),
        layers.run_info.get("policy_source", "unknown"),
    )


def _write_xlsx(b: DistrictBundle, path: Path, layers: PlanLayers) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    est = b.estates.copy()
    est["investment_wan"] = (
        est["investment_yuan"].astype("Float64") / 1e4 if "investment_yuan" in est else pd.NA
    )
    if "investment_estimated" in est:
        est["investment_estimated"] = est["investment_estimated"].map(_yes_no)
    ws = wb.active
    ws.title = "小区清单"
    cols = [c for c in _ESTATE_SCHEDULE if c[0] in est]
    values = [est[c[0]].tolist() for c in cols]
    _table(
        ws,
        ["序号 no.", *(c[1] for c in cols)],
        ([i, *(v[i - 1] for v in values)] for i in range(1, len(est) + 1)),
        ["0", *(c[2] for c in cols)],
    )

    ws = wb.create_sheet("片区汇总")
    _table(ws, ["项目 item", "数值 value", "单位 unit"], _summary_rows(b, layers))
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 24

    ws = wb.create_sheet("改造内容")
    counts = count_items(b.estates["needs"]) if "needs" in b.estates else {}
    rows = content_table(counts)
    _table(ws, list(rows[0]), (list(r.values()) for r in rows))

    _write_optional_sheet(wb, "管线廊道", b.corridors, "length")
    _write_optional_sheet(wb, "养老设施", b.elderly_sites, "area")

    ws = wb.create_sheet("投资估算")
    per_m2, per_household, policy_source = _policy_rates(layers)
    cost_rows = []
    for _, r in est.iterrows():
        method = "缺少面积和户数 unknown"
        if not _blank(r.get("floor_area_m2")):
            method = f"建筑面积 × {per_m2 or '?'} 元/m²"
        elif not _blank(r.get("households")):
            method = f"户数 × {per_household or '?'} 元/户 (估算 estimated)"
        cost_rows.append(
            [
                r.get("estate_id"),
                r.get("name"),
                r.get("floor_area_m2"),
                r.get("households"),
                method,
                r.get("investment_wan"),
            ]
        )
    total = pd.to_numeric(est["investment_wan"], errors="coerce").sum()
    cost_rows.append(["合计 total", None, None, None, None, total])
    last = _table(
        ws,
        [
            "小区编号 estate id",
            "小区名称 name",
            "建筑面积(m²) floor area",
            "户数(户) households",
            "估算方法 method",
            "估算投资(万元) investment",
        ],
        cost_rows,
        ["@", "@", "#,##0", "#,##0", "@", "#,##0.0"],
    )
    _set(
        ws,
        last + 2,
        1,
        f"单价 unit costs: {per_m2 or '?'} 元/m², {per_household or '?'} 元/户 (policy: "
        f"{policy_source}; defaults from the Xinyang 2022 plan: 797.07 million yuan for "
        "3.287 million m² and 29,255 households). A planning estimate, not a budget.",
    )
    ws = wb.create_sheet("说明")
    _table(ws, ["项目 item", "内容 value"], _notes_rows(b, layers))
    ws.column_dimensions["B"].width = 90
    with geo_io.atomic_path(path) as tmp:
        wb.save(tmp)


def _summary_rows(b: DistrictBundle, layers: PlanLayers) -> list[list[object]]:
    r = b.row
    area_ha = float(b.outline.geometry.area.sum()) / 1e4
    investment = r.get("investment_yuan")
    rows: list[list[object]] = [
        ["片区编号 district id", b.district_id, ""],
        ["所在区县 county", r.get("county"), ""],
        ["小区数 estates", r.get("estates", len(b.estates)), "个"],
        ["户数 households", r.get("households"), "户"],
        ["户数未知的小区 estates with unknown households", r.get("households_unknown"), "个"],
        ["栋数 buildings", r.get("buildings"), "栋"],
        ["建筑面积 floor area", r.get("floor_area_m2"), "m²"],
        ["最早建成年份 earliest build year", r.get("build_year_min"), "年"],
        ["最晚建成年份 latest build year", r.get("build_year_max"), "年"],
        ["延伸纳入小区(2001-2005建成) extension estates", r.get("extension_estates"), "个"],
        [
            "估算投资 estimated investment",
            None if _blank(investment) else float(investment) / 1e4,
            "万元",
        ],
        ["优先级得分 priority score", r.get("priority_score"), "0-100"],
        ["优先级排名 priority rank", r.get("priority_rank"), "名"],
        ["片区占地 district land area (outline)", round(area_ha, 2), "公顷 ha"],
    ]
    for key, label in (
        ("corridors", "管线廊道 utility corridors"),
        ("elderly_sites", "养老设施 elderly-care sites"),
    ):
        frame = getattr(b, key)
        count = 0 if frame is None else len(frame)
        present = getattr(layers, key) is not None
        rows.append([label, count if present else "本次规划未生成 not in this plan", "处"])
        if frame is not None and key == "corridors":
            rows.append(["管线廊道总长 corridor length", round(float(frame.length.sum()), 1), "m"])
    rows.append(["坐标系(GeoPackage/Shapefile) CRS", _crs_text(layers.crs), ""])
    rows.append(["坐标系(DXF) CRS", _crs_text(CRS.from_epsg(b.gk_epsg)), ""])
    return rows


def _write_optional_sheet(wb, title: str, frame: gpd.GeoDataFrame | None, measure: str) -> None:
    if frame is None:
        return
    ws = wb.create_sheet(title)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    extra = "长度(m) length" if measure == "length" else "占地面积(m²) footprint area"
    values = frame.geometry.length if measure == "length" else frame.geometry.area
    _table(
        ws,
        [*(_unit_header(c) for c in columns), extra],
        (
            [*(frame[c].iloc[i] for c in columns), round(float(values.iloc[i]), 1)]
            for i in range(len(frame))
        ),
    )


def _notes_rows(b: DistrictBundle, layers: PlanLayers) -> list[list[object]]:
    rows: list[list[object]] = [
        ["数据性质 data", _data_character(layers)],
        [
            "坐标系 CRS",
            f"{_crs_text(layers.crs)}; DXF {_crs_text(CRS.from_epsg(b.gk_epsg))}; KML EPSG:4326",
        ],
        ["政策文件 policy", layers.run_info.get("policy_source", "unknown")],
        ["规划软件 planned with", layers.run_info.get("software_version", "unknown")],
        ["规划时间 planned at", layers.run_info.get("generated_at", "unknown")],
        ["导出软件 exported with", f"lianpian {__version__}"],
        [
            "改造内容分类 content classes",
            "Yangjiang annex 1 (25 items) -> 基础类/完善类/提升类, see sheet 改造内容",
        ],
    ]
    for s in _sources(layers):
        rows.append(
            [
                f"来源 source ({s['role']})",
                f"{s['file']}; {s['licence']}; illustrative: {s['illustrative']}",
            ]
        )
    return rows
