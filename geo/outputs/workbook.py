"""The workbook (XLSX) of a package, every sheet in Chinese with English in brackets.

Sheets: 小区清单 (member-estate schedule with a 合计 row), 片区汇总 (summary), 小区归属
(district-to-estate assignment, one row per member), 相邻关系 (adjacency pairs among the members),
数据质量 (the plan's data-quality notes about the district), 改造内容 (content table),
工程量及投资估算 (:mod:`geo.outputs.estimate`), 界址点坐标表 (boundary points), 管线廊道 and
养老设施 (when planned), 说明 (notes and sources).

Exact: numbers are written rounded to what their format shows (:func:`geo.outputs.cells.shown`),
so every 合计 equals the sum of the values a reader sees. Labels: column names and codes in
Chinese (:mod:`geo.outputs.labels`); a column with no value for the district's estates is left
out, and no computed column repeats one the layer has. Every cell goes through
:func:`geo.outputs.cells._set` (text that looks like a formula stays text: geo.io.safe_text).

May import: geo.core, geo.io, geo.planning (content classes), geo.outputs.bundle,
geo.outputs.cells, geo.outputs.labels, geo.outputs.estimate, geo.outputs.sheet, openpyxl.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from geo import __version__
from geo import io as geo_io
from geo.outputs import sheet as sh
from geo.outputs.bundle import (
    DistrictBundle,
    PlanLayers,
    _blank,
    _crs_text,
    _data_character,
    _sources,
)
from geo.outputs.cells import _table, shown, total_row
from geo.outputs.estimate import write_estimate_sheet
from geo.outputs.labels import code_label, column_label
from geo.planning.content import content_table, count_items

_ESTATE_SCHEDULE: tuple[tuple[str, str, str, bool], ...] = (
    # column, header (units in brackets), number format, summed in the 合计 row
    ("estate_id", "小区编号 estate id", "@", False),
    ("name", "小区名称 name", "@", False),
    ("county", "所在区县 county", "@", False),
    ("build_year_raw", "建成年代(原文) build year as written", "@", False),
    ("build_year", "建成年份(年) build year", "0", False),
    ("buildings", "栋数(栋) buildings", "#,##0", True),
    ("households", "户数(户) households", "#,##0", True),
    ("floor_area_m2", "建筑面积(m²) floor area", "#,##0", True),
    ("consent_rate", "居民同意率(%) consent rate", "0.0%", False),
    ("elderly_share", "60岁以上人口占比(%) share aged 60+", "0.0%", False),
    ("status", "资格 status", "@", False),
    ("needs_basic", "基础类需求 basic needs", "@", False),
    ("needs_improvement", "完善类需求 improvement needs", "@", False),
    ("needs_enhancement", "提升类需求 enhancement needs", "@", False),
    ("needs_other", "其他需求(未归类) other needs", "@", False),
    ("investment_wan", "估算投资(万元) estimated investment", "#,##0.0", True),
    ("investment_estimated", "投资按户数估算 estimated by households", "@", False),
    ("priority_score", "优先级得分(0-100) priority score", "0.0", False),
)
#: Schedule columns kept even when empty (the estate's identity and status).
_ALWAYS = ("estate_id", "name", "status")


def _yes_no(value: object) -> str | None:
    if _blank(value):
        return None
    return "是" if str(value).strip().lower() in ("true", "1", "yes", "是") else "否"


def schedule(b: DistrictBundle) -> tuple[list[str], list[list[object]], list[str]]:
    """The 小区清单: header, rows (rounded as shown, codes in Chinese, 合计 last), formats."""
    est = b.estates.copy()
    est["investment_wan"] = (
        est["investment_yuan"].astype("Float64") / 1e4 if "investment_yuan" in est else pd.NA
    )
    if "investment_estimated" in est:
        est["investment_estimated"] = est["investment_estimated"].map(_yes_no)
    cols = [
        c
        for c in _ESTATE_SCHEDULE
        if c[0] in est and (c[0] in _ALWAYS or not all(_blank(v) for v in est[c[0]]))
    ]
    formats = ["0", *(c[2] for c in cols)]
    rows = []
    for i in range(len(est)):
        row: list[object] = [i + 1]
        for column, _, fmt, _ in cols:
            value = est[column].iloc[i]
            row.append(shown(code_label(column, value), fmt))
        rows.append(row)
    summable = [False, *(c[3] for c in cols)]
    rows.append(total_row(rows, formats, summable, "合计 total"))
    return ["序号 no.", *(c[1] for c in cols)], rows, formats


def _write_xlsx(b: DistrictBundle, path: Path, layers: PlanLayers) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "小区清单"
    header, rows, formats = schedule(b)
    _table(ws, header, rows, formats)

    ws = wb.create_sheet("片区汇总")
    _table(ws, ["项目 item", "数值 value", "单位 unit"], _summary_rows(b, layers))
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 24

    ws = wb.create_sheet("小区归属")
    _table(ws, ASSIGNMENT_HEADER, assignment_rows(b))
    _frame_sheet(
        wb, "相邻关系", b.adjacency, "本片区成员之间无相邻记录 no adjacency pairs among the members"
    )
    _frame_sheet(
        wb,
        "数据质量",
        b.quality,
        "无涉及本片区的数据质量提示 no data-quality notes for this district",
    )

    ws = wb.create_sheet("改造内容")
    counts = count_items(b.estates["needs"]) if "needs" in b.estates else {}
    rows = content_table(counts)
    _table(ws, list(rows[0]), (list(r.values()) for r in rows))

    write_estimate_sheet(wb, b, layers)
    ws = wb.create_sheet("界址点坐标表")
    _table(ws, *boundary_table(b))

    _layer_sheet(wb, "管线廊道", b.corridors)
    _layer_sheet(wb, "养老设施", b.elderly_sites)
    ws = wb.create_sheet("说明")
    _table(ws, ["项目 item", "内容 value"], _notes_rows(b, layers))
    ws.column_dimensions["B"].width = 90
    with geo_io.atomic_path(path) as tmp:
        wb.save(tmp)


ASSIGNMENT_HEADER = [
    "片区编号 district id",
    "序号 no.",
    "小区编号 estate id",
    "小区名称 name",
    "图上标注 map label",
    "资格 status",
    "所在区县 county",
]


def assignment_rows(b: DistrictBundle) -> list[list[object]]:
    """One row per member estate: district, 序号 (as in 小区清单 and on the maps), id, name..."""
    est = b.estates
    return [
        [
            b.district_id,
            i + 1,
            est["estate_id"].iloc[i],
            est["name"].iloc[i] if "name" in est else None,
            label,
            code_label("status", est["status"].iloc[i]) if "status" in est else None,
            est["county"].iloc[i] if "county" in est else None,
        ]
        for i, label in enumerate(b.labels)
    ]


def boundary_table(b: DistrictBundle) -> tuple[list[str], list[list[object]], list[str]]:
    """The 界址点坐标表 of the district outline in its GK zone (X northing, Y easting)."""
    outline = b.outline.to_crs(CRS.from_epsg(b.gk_epsg)).geometry.iloc[0]
    header = [
        "环 ring",
        "点号 point",
        "X 北坐标(m) northing",
        "Y 东坐标(m) easting",
        "边长(m) side",
        "说明 note",
    ]
    rows = [
        [
            p["ring"],
            p["point"],
            p["x_north"],
            p["y_east"],
            p["side_m"],
            ("内环 hole" if p["hole"] else "外环 outer")
            if p["side_m"] is not None
            else "闭合 closes",
        ]
        for p in sh.boundary_points(outline)
    ]
    return header, rows, ["0", "@", "0.000", "0.000", "0.00", "@"]


def _frame_sheet(wb, title: str, frame: pd.DataFrame | None, empty: str) -> None:
    """A table of plan rows with Chinese headers and codes; one explanatory row when empty."""
    ws = wb.create_sheet(title)
    if frame is None or not len(frame):
        _table(ws, ["说明 note"], [[empty]])
        return
    columns = [c for c in frame.columns if c != "geometry"]
    _table(
        ws,
        [column_label(c) for c in columns],
        ([code_label(c, frame[c].iloc[i]) for c in columns] for i in range(len(frame))),
    )


def _layer_sheet(wb, title: str, frame: gpd.GeoDataFrame | None) -> None:
    """Corridors or sites: their columns in Chinese; length or area added only when not there."""
    if frame is None:
        return
    columns = [c for c in frame.columns if c != frame.geometry.name]
    header = [column_label(c) for c in columns]
    extra = None
    kinds = set(frame.geometry.geom_type)
    if kinds & {"LineString", "MultiLineString"} and "length_m" not in columns:
        extra, values = "长度(m) length", frame.geometry.length
    elif kinds & {"Polygon", "MultiPolygon"} and not {"area_m2", "floor_area_m2"} & set(columns):
        extra, values = "占地面积(m²) footprint area", frame.geometry.area
    rows = []
    for i in range(len(frame)):
        row = [code_label(c, frame[c].iloc[i]) for c in columns]
        if extra:
            row.append(round(float(values.iloc[i]), 1))
        rows.append(row)
    ws = wb.create_sheet(title)
    _table(ws, header + ([extra] if extra else []), rows)


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
        ["建筑面积 floor area", shown(r.get("floor_area_m2"), "0"), "m²"],
        ["最早建成年份 earliest build year", r.get("build_year_min"), "年"],
        ["最晚建成年份 latest build year", r.get("build_year_max"), "年"],
        ["延伸纳入小区(2001-2005建成) extension estates", r.get("extension_estates"), "个"],
        [
            "估算投资 estimated investment",
            None if _blank(investment) else round(float(investment) / 1e4, 1),
            "万元",
        ],
        ["优先级得分 priority score", shown(r.get("priority_score"), "0.0"), "0-100"],
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
        [
            "合计 totals",
            "数值按所示精度写入，合计等于所示数值之和 numbers are stored as shown; totals add up",
        ],
        [
            "图上标注 map labels",
            "无名称的小区在图上以序号标注 (见 小区归属) unnamed estates carry their number",
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
