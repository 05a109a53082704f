"""Colours, words and tooltip text of the web map (part of :mod:`geo.outputs.maps`).

Holds the colour schemes (eligibility status, priority classes, elderly-care gap, five-year plan),
the zh/en labels (:data:`TEXT`), the styles of the extra layers, and the escaped tooltip properties
of estates (:func:`estate_properties`). Every text taken from data is HTML-escaped here.

May import: the standard library, pandas. No folium.
"""

from __future__ import annotations

import html

import pandas as pd

# Status colours: eligible and extension as in the tender package's PNG maps
# (geo.outputs.drawings: green #4daf4a, orange #ff7f00), so 延伸纳入 is one colour everywhere;
# needs-survey yellow, recent and excluded greys.
STATUS_COLOURS = {
    "eligible": "#4daf4a",
    "extension": "#ff7f00",
    "needs_survey": "#fee08b",
    "ineligible": "#bababa",
    "excluded": "#6a6a6a",
}
# Priority classes (score 0-100, upper bounds), sequential YlOrRd (ColorBrewer).
PRIORITY_CLASSES = ((40.0, "#ffffb2"), (50.0, "#fecc5c"), (60.0, "#fd8d3c"), (70.0, "#f03b20"))
PRIORITY_TOP = "#bd0026"
NOT_SCORED = "#d9d9d9"
# Elderly-care floor-area gap per estate (m², upper bounds; 0 = none), sequential Reds (ColorBrewer).
GAP_NONE = "#a1d99b"
GAP_CLASSES = ((20.0, "#fee0d2"), (50.0, "#fc9272"), (100.0, "#de2d26"))
GAP_TOP = "#a50f15"
PLAN_YEAR_COLOUR = "#2166ac"
PLAN_EARLIER_COLOUR = "#92c5de"

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "estates": "小区",
        "districts": "片区",
        "district_labels": "片区标注",
        "adjacency": "相邻关系",
        "blocked": "被阻隔的相邻",
        "plan": "五年计划（至{year}年）",
        "plan_this": "{year}年改造",
        "plan_before": "{year}年前已改造",
        "corridors": "共享管线走廊",
        "elderly_sites": "养老服务设施建议选址",
        "elderly_gaps": "养老服务覆盖缺口",
        "elderly_coverage": "养老服务覆盖",
        "name": "小区名称",
        "build_year": "建成年代",
        "households": "户数",
        "status": "改造资格",
        "reason": "原因",
        "priority": "优先度",
        "district": "片区",
        "estates_n": "小区数",
        "investment": "估算投资",
        "rank": "优先排序",
        "unnamed": "（未命名）",
        "unknown": "未知",
        "hh": "户",
        "wan": "万元",
        "legend_status": "改造资格",
        "legend_priority": "优先度（0-100，仅符合条件的小区）",
        "not_scored": "不参与排序",
        "legend_gap": "养老服务用房缺口（m²/小区，5分钟生活圈）",
        "no_gap": "无缺口",
        "not_assessed": "未评估（户数不详或无设施数据）",
        "gap": "养老用房缺口",
        "eligible": "符合条件（2000年底前建成）",
        "extension": "延伸纳入（2001-2005年）",
        "needs_survey": "需补充调查",
        "ineligible": "建成较新",
        "excluded": "排除",
        "plan_year": "计划年份",
        "utilities": "管线",
        "corridor_kind": "类型",
        "length": "长度",
        "cost": "估算造价",
        "clearance": "与建筑最小净距要求",
        "clearance_ok": "净距",
        "site": "选址编号",
        "site_name": "用地名称",
        "site_source": "来源",
        "floor_area": "建议建筑面积",
        "households_served": "服务户数",
        "gap_covered": "覆盖缺口",
        "facility_name": "设施名称",
        "facility_type": "设施类型",
        "life_circle": "生活圈",
        "walk": "步行距离",
        "trunk": "干线（服务两个及以上小区）",
        "branch": "支线（服务一个小区）",
        "connection": "市政接驳（片区外）",
        "clearance_yes": "满足",
        "clearance_no": "不满足（距建筑过近）",
        "estate": "小区内",
        "candidate layer": "候选用地",
        "water": "给水",
        "rain": "雨水",
        "sewage": "污水",
        "gas": "燃气",
        "power": "电力",
        "telecom": "通信",
        "list_sep": "、",
    },
    "en": {
        "estates": "Estates",
        "districts": "Districts",
        "district_labels": "District labels",
        "adjacency": "Adjacency",
        "blocked": "Blocked adjacency",
        "plan": "Five-year plan (to {year})",
        "plan_this": "renovated in {year}",
        "plan_before": "renovated before {year}",
        "corridors": "Shared pipeline corridors",
        "elderly_sites": "Proposed elderly-care sites",
        "elderly_gaps": "Elderly-care coverage gaps",
        "elderly_coverage": "Elderly-care coverage",
        "name": "Name",
        "build_year": "Build year",
        "households": "Households",
        "status": "Status",
        "reason": "Reason",
        "priority": "Priority",
        "district": "District",
        "estates_n": "Estates",
        "investment": "Est. investment",
        "rank": "Priority rank",
        "unnamed": "(unnamed)",
        "unknown": "unknown",
        "hh": "households",
        "wan": "10k yuan",
        "legend_status": "Eligibility status",
        "legend_priority": "Priority (0-100, eligible estates only)",
        "not_scored": "not ranked",
        "legend_gap": "Elderly-care floor-area gap (m² per estate, 5-minute circle)",
        "no_gap": "no gap",
        "not_assessed": "not assessed (households unknown or no facilities)",
        "gap": "Elderly-care gap",
        "eligible": "eligible (built by end of 2000)",
        "extension": "extension (built 2001-2005)",
        "needs_survey": "needs survey",
        "ineligible": "too recent",
        "excluded": "excluded",
        "plan_year": "Plan year",
        "utilities": "Utilities",
        "corridor_kind": "Kind",
        "length": "Length",
        "cost": "Est. cost",
        "clearance": "Required clearance from buildings",
        "clearance_ok": "Clearance",
        "site": "Site",
        "site_name": "Site name",
        "site_source": "Source",
        "floor_area": "Proposed floor area",
        "households_served": "Households served",
        "gap_covered": "Gap covered",
        "facility_name": "Facility",
        "facility_type": "Facility type",
        "life_circle": "Life circle",
        "walk": "Walking distance",
        "trunk": "trunk (serves two or more estates)",
        "branch": "branch (serves one estate)",
        "connection": "connection to the municipal network",
        "clearance_yes": "kept",
        "clearance_no": "not kept (too close to a building)",
        "estate": "inside an estate",
        "candidate layer": "candidate site",
        "water": "water supply",
        "rain": "storm water",
        "sewage": "sewage",
        "gas": "gas",
        "power": "power",
        "telecom": "telecom",
        "list_sep": ", ",
    },
}

#: Extra layers drawn when a step has put them into ``PlanResult.extra_layers``.
EXTRA_LAYER_STYLES: dict[str, dict[str, object]] = {
    # corridor blue and site purple as in the tender package's PNG maps (geo.outputs.drawings)
    "corridors": {"color": "#2b83ba", "weight": 2.5, "opacity": 0.85},
    "elderly_coverage": {"color": "#1f78b4", "weight": 1, "fillOpacity": 0.12},
    "elderly_sites": {"color": "#ffffff", "weight": 2, "fillColor": "#7b3294", "fillOpacity": 0.9},
}
#: Tooltip rows of the known extra layers: (column, label key in TEXT, how the value is shown:
#: ``text``, ``words`` (a TEXT key), ``list`` (comma-joined TEXT keys), ``m``, ``m2``, ``wan``
#: (yuan shown in 10,000 yuan), ``hh`` (households), ``ok`` (True/False/NA)).
EXTRA_TOOLTIPS: dict[str, list[tuple[str, str, str]]] = {
    "corridors": [
        ("district_id", "district", "text"),
        ("utilities", "utilities", "list"),
        ("kind", "corridor_kind", "words"),
        ("length_m", "length", "m"),
        ("cost_yuan", "cost", "wan"),
        ("clearance_m", "clearance", "m1"),
        ("clearance_ok", "clearance_ok", "ok"),
    ],
    "elderly_sites": [
        ("site_id", "site", "text"),
        ("site_name", "site_name", "text"),
        ("district_id", "district", "text"),
        ("source", "site_source", "words"),
        ("floor_area_m2", "floor_area", "m2"),
        ("households_served", "households_served", "hh"),
        ("gap_covered_m2", "gap_covered", "m2"),
    ],
    "elderly_coverage": [
        ("name", "facility_name", "text"),
        ("facility_type", "facility_type", "text"),
        ("life_circle", "life_circle", "text"),
        ("walk_m", "walk", "m"),
    ],
}
#: Extra layers listed in the layer control but not drawn at first (they cover the estates).
#: (Gaps are a colouring of the estates, ``colour_by="elderly_gap"``, not a second polygon layer.)
EXTRA_LAYERS_HIDDEN = frozenset({"elderly_coverage"})


# --------------------------------------------------------------------------- text helpers


def _esc(value: object, missing: str = "") -> str:
    """HTML-escape one value from data (``<NA>``/NaN become ``missing``)."""
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return html.escape(missing)
    return html.escape(str(value), quote=True)


def _each(values: object, fn) -> list:
    """``[fn(v) for v in values]``, calling ``fn`` once per distinct value (missing ones: ``None``).

    Estate columns repeat (status, reason, district, build year): 50,000 estates have a few
    thousand distinct values, and escaping or formatting each once is what takes the time.
    """
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    done = [fn(u) for u in uniques] + [fn(None)]
    return [done[c] for c in codes]


def _number(value: object, unit: str, *, scale: float = 1.0, digits: int = 0) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{float(value) / scale:,.{digits}f} {unit}"


def extra_value(value: object, how: str, language: str = "zh") -> str:
    """Return one extra-layer value as the tooltip shows it (escaped; see :data:`EXTRA_TOOLTIPS`)."""
    t = TEXT[language]
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return ""
    if how == "words":
        return _esc(t.get(str(value), value))
    if how == "list":
        return _esc(t["list_sep"].join(t.get(v.strip(), v.strip()) for v in str(value).split(",")))
    if how == "ok":
        return _esc(t["clearance_yes"] if bool(value) else t["clearance_no"])
    units = {"m": ("m", 1.0, 0), "m1": ("m", 1.0, 1), "m2": ("m²", 1.0, 0)}
    units |= {"wan": (t["wan"], 1e4, 1), "hh": (t["hh"], 1.0, 0)}
    if how in units:
        unit, scale, digits = units[how]
        try:
            return _esc(_number(float(value), unit, scale=scale, digits=digits))
        except (TypeError, ValueError):
            return _esc(value)
    return _esc(value)


def status_label(status: str, language: str = "zh") -> str:
    """Return the label of an eligibility status in ``language`` (``zh`` or ``en``)."""
    return TEXT[language].get(status, status)


def priority_colour(score: object) -> str:
    """Return the fill colour of a priority score (0-100); grey when not scored."""
    if score is None or pd.isna(score):
        return NOT_SCORED
    for upper, colour in PRIORITY_CLASSES:
        if float(score) < upper:
            return colour
    return PRIORITY_TOP


def gap_colour(gap_m2: object) -> str:
    """Return the fill colour of an estate's elderly-care floor-area gap (m²); grey when unknown."""
    if gap_m2 is None or pd.isna(gap_m2):
        return NOT_SCORED
    if float(gap_m2) <= 0:
        return GAP_NONE
    for upper, colour in GAP_CLASSES:
        if float(gap_m2) < upper:
            return colour
    return GAP_TOP


def estate_properties(estates: pd.DataFrame, language: str = "zh") -> pd.DataFrame:
    """Return the escaped tooltip properties of estates (one row per estate, same index).

    Columns: ``estate_id``, ``name``, ``build_year``, ``households`` (with 户), ``status`` (label),
    ``reason``, ``priority``, ``district``, ``gap`` (elderly-care gap, m²), ``colour`` (by status),
    ``pcolour`` (by priority) and ``gcolour`` (by elderly-care gap). Every text value is HTML-escaped.
    """
    t = TEXT[language]
    reason_col = "reason_zh" if language == "zh" else "reason_en"
    n = len(estates)

    def col(name: str) -> pd.Series:
        return estates[name] if name in estates else pd.Series([pd.NA] * n, index=estates.index)

    year_raw = col("build_year_raw").astype(object)
    year_raw = year_raw.where(year_raw.map(lambda r: isinstance(r, str) and bool(r.strip())), None)
    build = _each(
        year_raw.fillna(col("build_year").astype(object)), lambda v: _esc(v, t["unknown"])
    )
    status = col("status").astype(object)
    scored = status.isin(["eligible", "extension"])
    score = col("priority_score").where(scored)
    unnamed, unknown = html.escape(t["unnamed"]), html.escape(t["unknown"])
    return pd.DataFrame(
        {
            "estate_id": _each(col("estate_id"), _esc),
            "name": _each(col("name"), lambda v: _esc(v, t["unnamed"]) or unnamed),
            "build_year": build,
            "households": _each(
                col("households"), lambda v: _esc(_number(v, t["hh"]), t["unknown"]) or unknown
            ),
            "status": _each(status, lambda s: _esc(status_label(str(s), language))),
            "reason": _each(col(reason_col), _esc),
            "priority": _each(score, lambda v: _esc("" if pd.isna(v) else f"{float(v):.1f}")),
            "district": _each(col("district_id"), _esc),
            "gap": _each(col("elderly_gap_m2"), lambda v: _esc(_number(v, "m²"))),
            "colour": _each(status, lambda s: STATUS_COLOURS.get(str(s), NOT_SCORED)),
            "pcolour": _each(score, priority_colour),
            "gcolour": _each(col("elderly_gap_m2"), gap_colour),
        },
        index=estates.index,
    )
