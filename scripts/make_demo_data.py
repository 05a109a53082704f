"""Generate the embedded demonstration town under data/ (SYNTHETIC: describes no real place).

    python scripts/make_demo_data.py

Writes ``data/estates/demo_town.gpkg`` (layers ``estates``, ``water``, ``roads``,
``elderly_facilities``) and ``data/boundaries/demo_boundaries.gpkg`` (layer ``boundaries``), in
CGCS2000 geographic coordinates (EPSG:4490), deterministically (fixed seed). The town is a grid of
street blocks split into estates by internal lanes, with a river, arterial roads, older estates in
the centre and newer ones at the edge, so every rule of the planner has something to show.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point, Polygon, box

ROOT = Path(__file__).resolve().parent.parent
GK = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
OUT_CRS = "EPSG:4490"  # CGCS2000 geographic
ORIGIN = (382_000.0, 3_120_000.0)  # about 112.8E, 28.2N: a made-up town
BLOCK = 180.0
ROAD = 24.0  # road reserve between blocks (m)
LANE = 8.0  # internal lane between estates of one block (m)
COLS, ROWS = 7, 6
RIVER_ROW = 3  # the river runs between block rows 2 and 3 (no street there)
ARTERIAL_COL = 4  # a primary road runs west of block column 4

PREFIXES = [
    "纺织厂",
    "机械厂",
    "粮食局",
    "供销社",
    "教育局",
    "卫生局",
    "电力",
    "邮电",
    "农机厂",
    "水泥厂",
    "化肥厂",
    "棉纺",
    "交通局",
    "税务",
    "银行",
    "自来水",
    "红星",
    "东风",
    "向阳",
    "建设",
    "胜利",
    "和平",
    "光明",
    "幸福",
    "团结",
    "友谊",
    "长青",
    "新华",
]
SUFFIXES = ["宿舍", "小区", "家属院", "住宅楼", "新村", "花园", "公寓"]
NEEDS = [
    "供水",
    "排水",
    "供电",
    "弱电",
    "道路",
    "供气",
    "消防",
    "安防",
    "生活垃圾分类",
    "移动通信",
    "照明设施",
    "绿化美化",
    "加装电梯",
    "立面整治",
    "屋面防水",
    "楼道改造",
    "停车设施",
    "充电设施",
    "养老服务",
    "托育",
    "助餐",
    "功能用房",
    "物业管理",
    "协商机制",
]


def _lane_split(cell: Polygon, rng: np.random.Generator) -> list[Polygon]:
    minx, miny, maxx, maxy = cell.bounds
    parts = int(rng.choice([1, 2, 2, 3, 4]))
    if parts == 1:
        return [cell]
    if parts == 4:
        mx, my = (minx + maxx) / 2, (miny + maxy) / 2
        h = LANE / 2
        return [
            box(minx, miny, mx - h, my - h),
            box(mx + h, miny, maxx, my - h),
            box(minx, my + h, mx - h, maxy),
            box(mx + h, my + h, maxx, maxy),
        ]
    width = (maxx - minx - (parts - 1) * LANE) / parts
    return [
        box(minx + i * (width + LANE), miny, minx + i * (width + LANE) + width, maxy)
        for i in range(parts)
    ]


def _build_year(distance: float, rng: np.random.Generator) -> str:
    base = 1979 + distance / 650 * 30 + rng.normal(0, 3)
    year = int(min(max(base, 1972), 2018))
    roll = rng.random()
    if roll < 0.06:
        return ""
    if roll < 0.11 and year <= 1999:
        return f"{year // 10 % 10}0年代"
    if roll < 0.17 and year < 2016:
        return f"{year}、{year + 2}"
    if roll < 0.35:
        return f"{year}年"
    return str(year)


def make_estates(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Estates: blocks split by internal lanes; attributes in the survey's Chinese headers."""
    x0, y0 = ORIGIN
    centre = (x0 + COLS * (BLOCK + ROAD) / 2, y0 + ROWS * (BLOCK + ROAD) / 2)
    rows = []
    n = 0
    for col in range(COLS):
        for row in range(ROWS):
            minx = x0 + col * (BLOCK + ROAD) + ROAD / 2
            miny = y0 + row * (BLOCK + ROAD) + ROAD / 2
            block = box(minx, miny, minx + BLOCK, miny + BLOCK)
            if (col, row) in {(0, 0), (6, 5), (3, 1)}:
                continue  # a park, a school, a market: no housing
            for geom in _lane_split(block, rng):
                n += 1
                dist = Point(geom.centroid).distance(Point(centre))
                households = int(rng.integers(40, 900) * geom.area / (BLOCK * BLOCK) + 24)
                street = (
                    "东城街道"
                    if geom.centroid.x > x0 + ARTERIAL_COL * (BLOCK + ROAD)
                    else "西城街道"
                )
                needs = rng.choice(NEEDS, size=int(rng.integers(1, 7)), replace=False)
                rows.append(
                    {
                        "编号": f"SZ{n:03d}",
                        "小区名称": f"{rng.choice(PREFIXES)}{rng.choice(SUFFIXES)}"
                        + ("" if rng.random() < 0.5 else f"{int(rng.integers(1, 9))}号院"),
                        "所在区": "示例县",
                        "所在街道": street,
                        "建成年代": _build_year(dist, rng),
                        "栋数": max(1, households // 36),
                        "户数": households,
                        "建筑面积m2": round(households * float(rng.uniform(62, 92)), 1),
                        "居民同意率": round(float(rng.uniform(0.62, 0.99)), 2),
                        "60岁以上人口占比": round(float(rng.uniform(0.12, 0.42)), 3),
                        "已完成综合改造": "是" if rng.random() < 0.05 else "否",
                        "纳入棚改或征收计划": "是" if rng.random() < 0.03 else "否",
                        "城中村或自建房": "是" if rng.random() < 0.03 else "否",
                        "违建已拆除": "是" if rng.random() < 0.7 else "否",
                        "有物业管理": "是" if rng.random() < 0.45 else "否",
                        "改造需求": "；".join(needs),
                        "geometry": geom,
                    }
                )
    # make names unique so the demo reads well
    seen: dict[str, int] = {}
    for r in rows:
        k = r["小区名称"]
        seen[k] = seen.get(k, 0) + 1
        if seen[k] > 1:
            r["小区名称"] = f"{k}({seen[k]})"
    return gpd.GeoDataFrame(rows, crs=GK)


def make_roads_and_water() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Road centre lines in the OSM schema, and the river as a polygon."""
    x0, y0 = ORIGIN
    width = COLS * (BLOCK + ROAD) + 40
    height = ROWS * (BLOCK + ROAD) + 40
    roads = []
    osm = 9_000_000
    for col in range(COLS + 1):
        x = x0 + col * (BLOCK + ROAD)
        fclass = "primary" if col == ARTERIAL_COL else "residential" if col % 2 else "tertiary"
        name = "人民路" if col == ARTERIAL_COL else f"经{col + 1}路"
        osm += 1
        roads.append(
            {
                "osm_id": str(osm),
                "code": 5113,
                "fclass": fclass,
                "name": name,
                "geometry": LineString([(x, y0 - 20), (x, y0 + height)]),
            }
        )
    for row in range(ROWS + 1):
        y = y0 + row * (BLOCK + ROAD)
        if row == RIVER_ROW:
            continue
        osm += 1
        roads.append(
            {
                "osm_id": str(osm),
                "code": 5115,
                "fclass": "secondary" if row == 1 else "residential",
                "name": f"纬{row + 1}路",
                "geometry": LineString([(x0 - 20, y), (x0 + width, y)]),
            }
        )
    # footpaths along the river and one bridge (the arterial crosses the river)
    ry = y0 + RIVER_ROW * (BLOCK + ROAD)
    for dy in (-10.0, 10.0):
        osm += 1
        roads.append(
            {
                "osm_id": str(osm),
                "code": 5153,
                "fclass": "footway",
                "name": "滨河步道",
                "geometry": LineString([(x0 - 20, ry + dy), (x0 + width, ry + dy)]),
            }
        )
    # river: 14 m wide, gently curved, in the road reserve between block rows
    xs = np.linspace(x0 - 40, x0 + width + 40, 40)
    top = [(x, ry + 7 + 2 * math.sin(x / 120)) for x in xs]
    bottom = [(x, ry - 7 + 2 * math.sin(x / 120)) for x in xs[::-1]]
    water = gpd.GeoDataFrame(
        {"osm_id": ["8000001"], "code": [8202], "fclass": ["river"], "name": ["示例河"]},
        geometry=[Polygon(top + bottom)],
        crs=GK,
    )
    return gpd.GeoDataFrame(roads, crs=GK), water


def make_facilities() -> gpd.GeoDataFrame:
    """Five elderly-care facilities (points) with type and floor area."""
    x0, y0 = ORIGIN
    step = BLOCK + ROAD
    rows = [
        ("东城社区养老服务站", "社区养老服务站", 180, (5.5, 1.5)),
        ("西城社区养老服务站", "社区养老服务站", 150, (1.5, 4.5)),
        ("红星老年人日间照料中心", "老年人日间照料中心", 420, (2.5, 2.5)),
        ("滨河社区养老服务站", "社区养老服务站", 120, (4.2, 3.6)),
        ("示例县福利院", "养老院", 2600, (6.6, 0.4)),
    ]
    return gpd.GeoDataFrame(
        [
            {
                "名称": n,
                "类型": t,
                "建筑面积m2": a,
                "geometry": Point(x0 + cx * step, y0 + cy * step),
            }
            for n, t, a, (cx, cy) in rows
        ],
        crs=GK,
    )


def make_boundaries(estates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The county and its two streets (split by the arterial road)."""
    minx, miny, maxx, maxy = estates.total_bounds
    county = box(minx - 300, miny - 300, maxx + 300, maxy + 300)
    split_x = ORIGIN[0] + ARTERIAL_COL * (BLOCK + ROAD)
    west = box(minx - 300, miny - 300, split_x, maxy + 300)
    east = box(split_x, miny - 300, maxx + 300, maxy + 300)
    return gpd.GeoDataFrame(
        {"name": ["示例县", "西城街道", "东城街道"], "level": ["区县", "街道", "街道"]},
        geometry=[county, west, east],
        crs=GK,
    )


def main() -> None:
    rng = np.random.default_rng(20211)
    estates = make_estates(rng)
    roads, water = make_roads_and_water()
    facilities = make_facilities()
    boundaries = make_boundaries(estates)
    town = ROOT / "data" / "estates" / "demo_town.gpkg"
    bounds = ROOT / "data" / "boundaries" / "demo_boundaries.gpkg"
    for path in (town, bounds):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
    for name, layer in (
        ("estates", estates),
        ("water", water),
        ("roads", roads),
        ("elderly_facilities", facilities),
    ):
        layer.to_crs(OUT_CRS).to_file(town, layer=name, driver="GPKG", engine="pyogrio")
    boundaries.to_crs(OUT_CRS).to_file(bounds, layer="boundaries", driver="GPKG", engine="pyogrio")
    print(f"{len(estates)} estates, {len(roads)} roads, {len(facilities)} facilities -> {town}")
    print(pd.Series([r for r in estates["建成年代"]]).str[:3].value_counts().head())


if __name__ == "__main__":
    main()
