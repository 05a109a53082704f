"""The itemised 工程量及投资估算 sheet of a package: content items, quantities, rates, other costs, funding.

What a design institute prices a tender from: per member estate, the renovation content it needs
(the survey's ``needs``, classed 基础类/完善类/提升类 by :mod:`geo.planning.content`), each with
its quantity and unit, unit rate and amount; subtotals per estate and per content class; then the
other construction costs (工程建设其他费用) and the funding split. The amounts come from, in order:

1. **item rates** of the plan's policy (``[cost] item_rates = ["供水 = 1800 / household", ...]``):
   quantity by unit (``m2`` floor area, ``household``, ``building``, ``m`` estate boundary length,
   ``estate`` lump sum) times rate;
2. **cost by content class** columns of the plan's estates (``investment_basic_yuan``,
   ``cost_improvement_yuan``, ...), one amount per class;
3. otherwise the **flat rate** of the plan (``investment_yuan``: floor area x ``cost.yuan_per_m2``,
   or households x ``cost.yuan_per_household``), one amount per estate, the items listed without
   amounts, and the sheet says it is an estimate, not itemised.

Other construction costs are rates of the construction cost: ``[cost] design_rate``,
``supervision_rate``, ``contingency_rate`` of the policy when it has them, else the ASSUMED rates
of :data:`OTHER_COST_RATES` (marked so in the sheet: replace with the city's fee rules).
Funding: the plan's ``fund_*_yuan`` columns (geo.planning.funding) when present, which fund the
construction cost, with the other costs split in the same proportions (an ASSUMPTION, marked), so
the sources add up to the total investment; else the residents' minimum share of
the policy's ``[funding] residents_min_share`` (Huaibei 2021 §六: 居民出资、企业出资要达到总投资的
20%及以上), the rest marked as to be settled in the funding plan.

Money is shown in 万元 with 2 decimals; every subtotal and total is the sum of the rounded
amounts shown above it, so a reader adding the column gets the same figure.

May import: geo.core (policy parsing), geo.planning (content classes), geo.outputs.bundle,
geo.outputs.cells.
"""

from __future__ import annotations

import re
import tomllib

import pandas as pd

from geo.outputs.bundle import DistrictBundle, PlanLayers, _blank
from geo.outputs.cells import _set, _table
from geo.planning.content import CONTENT_CLASSES, classify_need
from geo.planning.content import needs_by_class as _needs_by_class

#: Other construction costs as shares of the construction cost, when the policy gives none.
#: ASSUMPTIONS for planning (typical estimate-stage figures), not from the seed documents: a city
#: replaces them with its fee rules (设计收费标准, 监理收费标准, 预备费费率).
OTHER_COST_RATES: dict[str, tuple[str, float]] = {
    "design_rate": ("勘察设计费 survey and design", 0.03),
    "supervision_rate": ("工程监理费 supervision", 0.02),
    "contingency_rate": ("基本预备费 contingency", 0.05),
}
#: Residents' minimum share of the total when the policy has no [funding] block (Huaibei 2021 §六).
RESIDENTS_MIN_SHARE = 0.2

_UNIT_ZH = {"m2": "m²", "household": "户", "building": "栋", "m": "m", "estate": "项"}
_RATE = re.compile(
    r"^\s*(?P<item>[^=]+?)\s*=\s*(?P<rate>\d+(?:\.\d+)?)\s*(?:yuan\s*)?/\s*(?P<unit>\w+)\s*$"
)
_CLASS_COLUMN = re.compile(r"^(?:investment|cost)_(basic|improvement|enhancement)_yuan$")
_FUNDING_COLUMN = re.compile(
    r"^fund(?:ing)?_(\w+?)_yuan$"
)  # fund_<source>_yuan (geo.planning.funding)
_FUNDING_ZH = {
    "government": "政府补助 government",
    "central": "中央补助 central subsidy",
    "province": "省级补助 province",
    "city": "市级财政 city",
    "district": "区级财政 district",
    "residents": "居民出资 residents",
    "enterprises": "企业出资 enterprises",
    "utilities": "专营单位 utility companies",
    "social": "社会资本 social capital",
}

HEADER = [
    "序号 no.",
    "小区编号 estate id",
    "小区名称 name",
    "内容类别 class",
    "项目 item",
    "工程量 quantity",
    "单位 unit",
    "单价(元) unit rate",
    "金额(万元) amount",
    "依据 basis",
]
FORMATS = ["0", "@", "@", "@", "@", "#,##0.##", "@", "#,##0.##", "#,##0.00", "@"]


def _wan(yuan: float | None) -> float | None:
    """Yuan as 万元 rounded to the 2 decimals shown."""
    return None if yuan is None or pd.isna(yuan) else round(float(yuan) / 1e4, 2)


def _sum(values) -> float:
    return round(sum(v for v in values if v is not None), 2)


def policy_tables(layers: PlanLayers) -> dict:
    """The plan's policy TOML (``run_info['policy_toml']``) as a dict; {} when absent or broken."""
    text = layers.run_info.get("policy_toml", "")
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}


def item_rates(policy: dict) -> dict[str, tuple[float, str]]:
    """``{annex item name: (yuan, unit)}`` from ``[cost] item_rates``; unreadable entries skipped."""
    out: dict[str, tuple[float, str]] = {}
    for entry in policy.get("cost", {}).get("item_rates", []) or []:
        match = _RATE.match(str(entry))
        if not match or match["unit"] not in _UNIT_ZH:
            continue
        item = classify_need(match["item"])
        out[item.name if item else match["item"]] = (float(match["rate"]), match["unit"])
    return out


def _quantity(row: pd.Series, unit: str) -> float | None:
    value = {
        "m2": row.get("floor_area_m2"),
        "household": row.get("households"),
        "building": row.get("buildings"),
        "m": row.geometry.length if row.geometry is not None else None,
        "estate": 1,
    }[unit]
    return None if _blank(value) else round(float(value), 2)


def estimate_rows(b: DistrictBundle, layers: PlanLayers) -> tuple[list[list[object]], list[str]]:
    """The rows of the sheet and the notes under it (method, rates, what is assumed)."""
    policy = policy_tables(layers)
    rates = item_rates(policy)
    est = b.estates
    class_cols = {m.group(1): c for c in est.columns if (m := _CLASS_COLUMN.match(str(c)))}
    method = "items" if rates else "classes" if class_cols else "flat"
    rows: list[list[object]] = []
    by_class: dict[str, list[float | None]] = {k: [] for k in (*CONTENT_CLASSES, "flat")}
    estate_totals: list[float | None] = []
    for n, (label, (_, r)) in enumerate(zip(b.labels, est.iterrows(), strict=True), start=1):
        needs = _needs_by_class(r.get("needs"))
        amounts: list[float | None] = []
        for key, class_zh in CONTENT_CLASSES.items():
            items = needs[key]
            if method == "items":
                for item in items:
                    rate, unit = rates.get(item, (None, ""))
                    qty = _quantity(r, unit) if unit else None
                    amount = _wan(qty * rate) if qty is not None and rate is not None else None
                    basis = (
                        "policy cost.item_rates"
                        if rate is not None
                        else "无单价 no rate in the policy"
                    )
                    if rate is not None and qty is None:
                        basis = f"缺少工程量 no {unit} figure"
                    rows.append(
                        [
                            n,
                            r.get("estate_id"),
                            label,
                            class_zh,
                            item,
                            qty,
                            _UNIT_ZH.get(unit, ""),
                            rate,
                            amount,
                            basis,
                        ]
                    )
                    amounts.append(amount)
                    by_class[key].append(amount)
            elif items or (method == "classes" and not _blank(r.get(class_cols.get(key)))):
                amount = (
                    _wan(r.get(class_cols[key]))
                    if method == "classes" and key in class_cols
                    else None
                )
                basis = (
                    "规划按内容分类估算 plan's cost by class"
                    if method == "classes"
                    else "见本小区综合估算 see the flat-rate row"
                )
                rows.append(
                    [
                        n,
                        r.get("estate_id"),
                        label,
                        class_zh,
                        "、".join(items) or "—",
                        None,
                        "",
                        None,
                        amount,
                        basis,
                    ]
                )
                amounts.append(amount)
                by_class[key].append(amount)
        if needs["other"]:
            rows.append(
                [
                    n,
                    r.get("estate_id"),
                    label,
                    "未归类 other",
                    "、".join(needs["other"]),
                    None,
                    "",
                    None,
                    None,
                    "不在附件内容表 not an annex item",
                ]
            )
        if method == "flat" or (method == "items" and not any(needs[k] for k in CONTENT_CLASSES)):
            amount = _wan(r.get("investment_yuan"))
            basis = _flat_basis(r, policy)
            rows.append(
                [
                    n,
                    r.get("estate_id"),
                    label,
                    "综合 all",
                    "综合单价估算 flat-rate estimate",
                    *_flat_quantity(r),
                    amount,
                    basis,
                ]
            )
            amounts.append(amount)
            by_class["flat"].append(amount)
        total = _sum(amounts)
        estate_totals.append(total)
        rows.append(
            [None, r.get("estate_id"), label, "小计 subtotal", None, None, None, None, total, ""]
        )
    construction = _sum(estate_totals)
    rows.append([None] * len(HEADER))
    for key, class_zh in CONTENT_CLASSES.items():
        if by_class[key] and method != "flat":
            rows.append(
                [
                    None,
                    None,
                    None,
                    f"{class_zh}合计",
                    None,
                    None,
                    None,
                    None,
                    _sum(by_class[key]),
                    "sum of the amounts above",
                ]
            )
    if by_class["flat"]:
        rows.append(
            [
                None,
                None,
                None,
                "综合单价估算合计 flat-rate total",
                None,
                None,
                None,
                None,
                _sum(by_class["flat"]),
                "sum of the flat-rate rows",
            ]
        )
    rows.append(
        [
            None,
            None,
            None,
            "建安工程费 construction cost",
            None,
            None,
            None,
            None,
            construction,
            "sum of the estate subtotals",
        ]
    )
    other_rows, other = _other_costs(construction, policy)
    rows += other_rows
    total = _sum([construction, *other])
    rows.append(
        [
            None,
            None,
            None,
            "总投资 total investment",
            None,
            None,
            None,
            None,
            total,
            "construction + other costs",
        ]
    )
    rows.append([None] * len(HEADER))
    rows += _funding_rows(b, policy, total)
    return rows, _notes(method, policy)


def _flat_quantity(r: pd.Series) -> list[object]:
    if not _blank(r.get("floor_area_m2")):
        return [round(float(r["floor_area_m2"]), 2), "m²", None]
    if not _blank(r.get("households")):
        return [int(r["households"]), "户", None]
    return [None, "", None]


def _flat_basis(r: pd.Series, policy: dict) -> str:
    cost = policy.get("cost", {})
    if not _blank(r.get("floor_area_m2")):
        return f"建筑面积 × {cost.get('yuan_per_m2', '?')} 元/m² (policy cost.yuan_per_m2): 估算 estimate"
    if not _blank(r.get("households")):
        return f"户数 × {cost.get('yuan_per_household', '?')} 元/户 (policy cost.yuan_per_household): 估算 estimate"
    return "缺少面积和户数 no floor area or households"


def _other_costs(construction: float, policy: dict) -> tuple[list[list[object]], list[float]]:
    cost = policy.get("cost", {})
    rows, amounts = [], []
    for key, (label, assumed) in OTHER_COST_RATES.items():
        given = cost.get(key)
        rate = float(given) if isinstance(given, int | float) else assumed
        basis = (
            f"policy cost.{key}"
            if given is not None
            else "假设 ASSUMPTION: replace with the city's fee rules"
        )
        amount = round(construction * rate, 2)
        amounts.append(amount)
        rows.append(
            [
                None,
                None,
                None,
                "其他费用 other costs",
                label,
                rate,
                "× 建安工程费",
                None,
                amount,
                basis,
            ]
        )
    return rows, amounts


def _funding_row(
    item: str, amount: float | None, basis: str, rate: float | None = None, unit: str | None = None
) -> list[object]:
    """One 资金来源 row of the sheet (columns of :data:`HEADER`)."""
    return [None, None, None, "资金来源 funding", item, rate, unit, None, amount, basis]


def _funding_rows(b: DistrictBundle, policy: dict, total: float) -> list[list[object]]:
    est = b.estates
    columns = {m.group(1): c for c in est.columns if (m := _FUNDING_COLUMN.match(str(c)))}
    rows: list[list[object]] = []
    if columns:
        construction = {
            key: pd.to_numeric(est[column], errors="coerce").sum()
            for key, column in columns.items()
        }
        planned = sum(v for v in construction.values() if pd.notna(v))
        # the plan funds the construction cost; the other costs (design, supervision,
        # contingency) are split in the same proportions: an ASSUMPTION until the funding plan
        other = max(total - (_wan(planned) or 0.0), 0.0) if planned > 0 else 0.0
        shown = []
        for key, column in columns.items():
            part = _wan(construction[key]) or 0.0
            extra = round(other * float(construction[key] or 0.0) / planned, 2) if other else 0.0
            amount = round(part + extra, 2)
            shown.append(amount)
            basis = f"plan column {column}"
            if extra:
                basis = (
                    f"建安 {part:,.2f} 万元 ({basis}) + 其他费用 {extra:,.2f} 万元 按同比例分摊 "
                    "(假设 ASSUMPTION: other costs split as the construction cost)"
                )
            rows.append(_funding_row(_FUNDING_ZH.get(key, key), amount, basis))
        rows.append(
            _funding_row(
                "合计 total",
                _sum(shown),
                "sum of the sources above (= total investment)"
                if other
                else "sum of the sources above",
            )
        )
        return rows
    funding = policy.get("funding", {})
    share = funding.get("residents_min_share")
    basis = (
        "policy funding.residents_min_share"
        if share is not None
        else "Huaibei 2021 §六 (≥ 20 % of the total)"
    )
    share = float(share) if share is not None else RESIDENTS_MIN_SHARE
    residents = round(total * share, 2)
    rows.append(
        _funding_row(
            "居民及企业出资(不少于) residents and enterprises, at least",
            residents,
            basis,
            rate=share,
            unit="× 总投资",
        )
    )
    rows.append(
        _funding_row(
            "政府补助、专营单位等 government, utilities (待资金方案 to be settled)",
            round(total - residents, 2),
            "total less the residents' minimum",
        )
    )
    return rows


def _notes(method: str, policy: dict) -> list[str]:
    notes = {
        "items": "分项估算 itemised: quantity × the policy's item rates (cost.item_rates); items without a rate have no amount.",
        "classes": "按内容分类估算 by content class: the plan's cost-by-class columns; items listed per class.",
        "flat": "综合单价估算 flat-rate ESTIMATE: the policy gives no item rates, so each estate's amount is "
        "floor area × cost.yuan_per_m2 (or households × cost.yuan_per_household) and the items are listed "
        "without amounts. Not itemised: replace with item rates (policy cost.item_rates) for a budget.",
    }
    source = "the plan's policy" if policy else "no policy recorded by the plan"
    return [
        notes[method],
        f"Rates from {source}. Other costs: policy rates where given, else ASSUMED shares (marked).",
        "金额为万元，保留两位小数；各小计、合计等于其上所示金额之和 (sums of the rounded amounts shown).",
        "A planning estimate for the tender, not a budget (概算/预算 by the design institute).",
    ]


def write_estimate_sheet(wb, b: DistrictBundle, layers: PlanLayers) -> None:
    """Add the 工程量及投资估算 sheet to an openpyxl workbook."""
    ws = wb.create_sheet("工程量及投资估算")
    rows, notes = estimate_rows(b, layers)
    last = _table(ws, HEADER, rows, FORMATS)
    for i, note in enumerate(notes):
        _set(ws, last + 2 + i, 1, note)
    for col, width in zip("ABCDEFGHIJ", (6, 14, 18, 22, 36, 12, 12, 12, 14, 48), strict=True):
        ws.column_dimensions[col].width = width
