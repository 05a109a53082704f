"""Chinese labels of the packages: column names, status and other codes, for every Chinese sheet.

A design institute reads 符合条件, not ``eligible``, and 长度(m), not ``length_m``. This module
gives each column lianpian writes a label ``中文 english (unit)`` (:func:`column_label`) and each
code a Chinese word (:func:`code_label`); a column it does not know keeps its name with the unit
its suffix says (``_m2`` -> m², ``_yuan`` -> 元). The terms follow POLICY.md and the plan's own
CLI output (符合条件 / 延伸纳入 / 建成较新 / 排除 / 需补充调查).

May import: nothing of geo (pure tables).
"""

from __future__ import annotations

#: Eligibility status (geo.planning.eligibility.STATUSES) in Chinese.
STATUS_ZH: dict[str, str] = {
    "eligible": "符合条件",
    "extension": "延伸纳入",
    "ineligible": "建成较新",
    "excluded": "排除",
    "needs_survey": "需补充调查",
}

#: Other codes written in the plan's columns.
CODES_ZH: dict[str, dict[str, str]] = {
    "status": STATUS_ZH,
    "project_type": {"district": "片区", "standalone": "单独实施"},
    "kind": {"trunk": "干线", "branch": "支线", "connection": "接驳"},
    "utility": {
        "trench": "综合管沟",
        "water": "给水",
        "rain": "雨水",
        "sewage": "污水",
        "gas": "燃气",
        "power": "电力",
        "telecom": "通信",
    },
    "level": {"error": "错误", "warning": "警告", "repair": "已修正", "info": "说明"},
    "source": {"existing": "现有设施", "candidate": "候选用地", "proposed": "建议新增"},
}
CODES_ZH["utilities"] = CODES_ZH["utility"]

_BOOL_ZH = {True: "是", False: "否", "true": "是", "false": "否", "True": "是", "False": "否"}

#: Column -> label (Chinese, English, unit in brackets).
COLUMN_LABELS: dict[str, str] = {
    "estate_id": "小区编号 estate id",
    "name": "名称 name",
    "county": "所在区县 county",
    "district_id": "片区编号 district id",
    "build_year_raw": "建成年代(原文) build year as written",
    "build_year": "建成年份(年) build year",
    "build_year_latest": "最晚建成年份(年) latest build year",
    "households": "户数(户) households",
    "buildings": "栋数(栋) buildings",
    "floor_area_m2": "建筑面积(m²) floor area",
    "consent_rate": "居民同意率 consent rate",
    "elderly_share": "60岁以上人口占比 share aged 60+",
    "status": "资格 status",
    "needs_basic": "基础类需求 basic needs",
    "needs_improvement": "完善类需求 improvement needs",
    "needs_enhancement": "提升类需求 enhancement needs",
    "needs_other": "其他需求 other needs",
    "investment_yuan": "估算投资(元) investment",
    "estates": "小区数(个) estates",
    "utilities": "管线 utilities",
    "utility": "管线 utility",
    "kind": "类型 kind",
    "length_m": "长度(m) length",
    "separate_length_m": "分别敷设长度(m) separate length",
    "cost_yuan": "造价(元) cost",
    "separate_cost_yuan": "分别敷设造价(元) separate cost",
    "connections": "接驳点(个) connections",
    "separate_connections": "分别接驳点(个) separate connections",
    "clearance_m": "净距(m) clearance",
    "clearance_ok": "净距满足 clearance met",
    "site_id": "设施编号 site id",
    "site_name": "设施名称 site name",
    "source": "来源 source",
    "households_served": "服务户数(户) households served",
    "estates_served": "服务小区 estates served",
    "gap_covered_m2": "弥补缺口(m²) gap covered",
    "area_m2": "面积(m²) area",
    "source_id": "小区A estate A",
    "target_id": "小区B estate B",
    "gap_m": "间距(m) gap",
    "shared_boundary_m": "相邻边界长度(m) shared boundary",
    "blocked": "被阻隔 blocked",
    "blocked_by": "阻隔物 blocked by",
    "level": "级别 level",
    "where": "位置 where",
    "message": "说明 message",
    "fix": "处理建议 fix",
}

_UNIT_SUFFIXES = (
    ("_m2", "m²"),
    ("_km", "km"),
    ("_m", "m"),
    ("_yuan", "元"),
    ("_share", "0-1"),
    ("_rate", "0-1"),
    ("_min", "min"),
)


def column_label(column: str) -> str:
    """The label of a column: :data:`COLUMN_LABELS`, else the name with its suffix's unit."""
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    for suffix, unit in _UNIT_SUFFIXES:
        if column.endswith(suffix):
            return f"{column} ({unit})"
    return column


def code_label(column: str, value: object) -> object:
    """A code in Chinese (``eligible`` -> 符合条件, True -> 是); other values unchanged."""
    if getattr(value, "dtype", None) is not None and value.dtype.kind == "b":  # numpy bool
        value = bool(value)
    if isinstance(value, bool) or (isinstance(value, str) and value in _BOOL_ZH):
        return _BOOL_ZH.get(value, value)  # type: ignore[arg-type]
    table = CODES_ZH.get(column)
    if table is None or not isinstance(value, str):
        return value
    if column == "utilities" and "," in value:
        return "、".join(table.get(v.strip(), v.strip()) for v in value.split(","))
    return table.get(value, value)
