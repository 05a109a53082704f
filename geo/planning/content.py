"""Renovation content (改造内容): the 25 items of the Yangjiang annex and their content class.

Source of the items: Yangjiang city (Guangdong) 2021-2025 implementation plan, draft
(``seeds/004_6452c5fcc172590e.txt``), annex 1 老旧小区改造内容、改造标准表: 25 items in four groups,
(一) 小区环境及配套设施 1-13, (二) 建筑物本体 14-20, (三) 公共服务设施 21-23, (四) 社区治理体系 24-25.

Source of the classes: the three content classes 基础类 / 完善类 / 提升类 (basic / improvement /
enhancement) as POLICY.md digests them from the seed plans, which follow the national guideline
国办发〔2020〕23号:

- 基础类 basic: roofs, facades, stairs; water, drainage (rain/sewage separation), power, telecom,
  roads, gas, fire safety, security, waste sorting, overhead lines buried, fibre to the home.
- 完善类 improvement: greening, lighting, age-friendly and barrier-free facilities, parking, EV and
  e-bike charging, parcel lockers, sports and culture facilities, property management rooms,
  demolition of illegal structures, lifts, energy retrofits.
- 提升类 enhancement: community service centres, clinics, kindergartens, smart perimeter security,
  elderly care, childcare, canteens, housekeeping, markets, shops, parcel stations.

The annex does not class its items; :data:`CONTENT_ITEMS` gives each item its class and the reason
(``basis``). Two are judgements, said so in their basis: 16 楼道照明 (stairwell lighting: lighting is
完善类) and the governance group 24-25 (the guideline lists no works class for them; they go with
提升类, the class of community services and their "smart"/governance upgrade).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from geo.core.schema import split_needs

#: The three content classes, in order (Chinese label, English term).
CONTENT_CLASSES: dict[str, str] = {
    "basic": "基础类",
    "improvement": "完善类",
    "enhancement": "提升类",
}

#: The annex's four groups (number -> name).
CONTENT_GROUPS: dict[int, str] = {
    1: "小区环境及配套设施",
    2: "建筑物本体",
    3: "公共服务设施",
    4: "社区治理体系",
}


@dataclass(frozen=True)
class ContentItem:
    """One item of the Yangjiang annex content table.

    ``number`` 1-25 and ``name`` as in the annex; ``group`` 1-4 (:data:`CONTENT_GROUPS`);
    ``content_class`` one of ``basic``, ``improvement``, ``enhancement``; ``basis`` says why.
    """

    number: int
    name: str
    group: int
    content_class: str
    basis: str

    @property
    def class_zh(self) -> str:
        """The content class in Chinese (基础类 / 完善类 / 提升类)."""
        return CONTENT_CLASSES[self.content_class]


_B, _I, _E = "basic", "improvement", "enhancement"

#: The 25 items of the Yangjiang annex with their content class.
CONTENT_ITEMS: tuple[ContentItem, ...] = (
    ContentItem(1, "供水", 1, _B, "water supply: basic (municipal supporting infrastructure)"),
    ContentItem(2, "供电", 1, _B, "power supply, lines buried: basic"),
    ContentItem(3, "供气", 1, _B, "piped gas: basic"),
    ContentItem(4, "弱电", 1, _B, "telecom lines tidied and buried, fibre: basic"),
    ContentItem(5, "排水", 1, _B, "drainage, rain/sewage separation: basic"),
    ContentItem(6, "通行设施", 1, _B, "estate roads (with ramps): basic (roads)"),
    ContentItem(7, "停车设施", 1, _I, "parking and charging points: improvement"),
    ContentItem(8, "消防设施", 1, _B, "fire safety: basic"),
    ContentItem(9, "安防系统", 1, _B, "gates, access control, CCTV: basic (security)"),
    ContentItem(10, "环卫设施", 1, _B, "waste sorting facilities: basic"),
    ContentItem(11, "照明设施", 1, _I, "public lighting: improvement (lighting)"),
    ContentItem(12, "文体活动设施", 1, _I, "sports and culture facilities: improvement"),
    ContentItem(13, "绿化美化", 1, _I, "greening, walls: improvement (greening)"),
    ContentItem(14, "屋面防水", 2, _B, "roofs: basic (building common parts)"),
    ContentItem(15, "楼道修缮", 2, _B, "stairs and handrails: basic (building common parts)"),
    ContentItem(16, "楼道照明", 2, _I, "stairwell lighting: improvement (lighting; a judgement)"),
    ContentItem(17, "单元门禁", 2, _B, "entrance access control: basic (security)"),
    ContentItem(18, "加装电梯", 2, _I, "lifts: improvement"),
    ContentItem(19, "立面整治", 2, _B, "facades: basic (building common parts)"),
    ContentItem(
        20, "楼内给水、排水管道", 2, _B, "water, drainage and power lines in buildings: basic"
    ),
    ContentItem(21, "服务设施", 3, _E, "elderly care, childcare, clinics, markets: enhancement"),
    ContentItem(22, "功能用房", 3, _I, "property management rooms: improvement"),
    ContentItem(23, "互联网社区", 3, _E, "smart community, parcel stations: enhancement"),
    ContentItem(
        24,
        "自治管理",
        4,
        _E,
        "governance (self/property management): no works class in the guideline; "
        "enhancement (a judgement)",
    ),
    ContentItem(
        25,
        "协商机制",
        4,
        _E,
        "governance (residents' consultation): no works class in the guideline; "
        "enhancement (a judgement)",
    ),
)

# Words planners write for an item instead of the annex's name (normalised form -> item number).
_ALIASES: dict[str, int] = {
    "给水": 1,
    "自来水": 1,
    "电力": 2,
    "强电": 2,
    "燃气": 3,
    "天然气": 3,
    "通信": 4,
    "光纤入户": 4,
    "三线整治": 4,
    "雨污分流": 5,
    "污水": 5,
    "道路": 6,
    "无障碍设施": 6,
    "停车": 7,
    "充电桩": 7,
    "消防": 8,
    "安防": 9,
    "监控": 9,
    "垃圾分类": 10,
    "路灯": 11,
    "照明": 11,
    "健身设施": 12,
    "绿化": 13,
    "屋面": 14,
    "屋顶防水": 14,
    "楼梯": 15,
    "门禁": 17,
    "电梯": 18,
    "外立面": 19,
    "楼内管道": 20,
    "养老设施": 21,
    "物业用房": 22,
    "智慧社区": 23,
    "快递驿站": 23,
    "物业管理": 24,
}


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s、,，;；/()（）\-_]+", "", text)


_BY_KEY: dict[str, ContentItem] = {_key(item.name): item for item in CONTENT_ITEMS}
_BY_KEY.update({_key(alias): CONTENT_ITEMS[number - 1] for alias, number in _ALIASES.items()})


def classify_need(item: str) -> ContentItem | None:
    """Return the annex item a need names (annex name, ``序号 N`` or a common synonym), else None.

    Matching ignores spaces, punctuation and full-width forms: ``楼内给水排水管道`` is item 20.
    """
    key = _key(item)
    if key.isdigit() and 1 <= int(key) <= len(CONTENT_ITEMS):
        return CONTENT_ITEMS[int(key) - 1]
    return _BY_KEY.get(key)


def needs_by_class(cell: object) -> dict[str, list[str]]:
    """Split a needs cell (items separated by ；) into the three content classes.

    Returns
    -------
    dict
        ``{"basic": [...], "improvement": [...], "enhancement": [...], "other": [...]}``: annex
        names in annex order within each class; ``other`` keeps items the annex does not name, as
        written (never dropped).
    """
    out: dict[str, list[str]] = {name: [] for name in (*CONTENT_CLASSES, "other")}
    found: set[int] = set()
    for raw in split_needs(cell):
        item = classify_need(raw)
        if item is None:
            if raw not in out["other"]:
                out["other"].append(raw)
        else:
            found.add(item.number)
    for item in CONTENT_ITEMS:
        if item.number in found:
            out[item.content_class].append(item.name)
    return out


def content_table(counts: dict[int, int] | None = None) -> list[dict[str, object]]:
    """Return the content table as rows (序号, 类别, 项目, 改造内容类别, 依据, and a count if given).

    ``counts`` maps item number -> number of estates that need it.
    """
    rows: list[dict[str, object]] = []
    for item in CONTENT_ITEMS:
        row: dict[str, object] = {
            "序号": item.number,
            "类别 (group)": CONTENT_GROUPS[item.group],
            "项目 (item)": item.name,
            "改造内容类别 (class)": item.class_zh,
            "依据 (basis)": item.basis,
        }
        if counts is not None:
            row["需要的小区数 (estates)"] = counts.get(item.number, 0)
        rows.append(row)
    return rows


def count_items(cells: Iterable[object]) -> dict[int, int]:
    """Count, per annex item number, how many needs cells name it (each cell counts once)."""
    counts: dict[int, int] = {}
    for cell in cells:
        numbers = {item.number for raw in split_needs(cell) if (item := classify_need(raw))}
        for number in numbers:
            counts[number] = counts.get(number, 0) + 1
    return counts
