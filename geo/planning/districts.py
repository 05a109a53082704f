"""Districts (片区): connected groups of eligible estates, split to respect the size caps.

A district is a connected set of groupable estates (``eligible``, and ``extension`` where the
policy allows it) in the adjacency graph, inside one administrative unit when the policy says so
(each unit plans and tenders its own). A group larger than the caps (households, estates) is split
into connected, compact parts by region growing: a seed on the edge of the group grows by its
nearest adjacent estate while the caps allow. An estate with no groupable neighbour, or left alone
by a split, is a standalone project, not a district.

Sources: Xinyang 2022 (plan and design by district, 以小区为主、片区互动); Huaibei 2021 (一区一规划);
Ruicheng 2021 (拆墙并院、整片改造); Yangjiang draft (成片捆绑 for one design tender).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.core.policy import Policy
from geo.planning.eligibility import is_groupable
from geo.planning.funding import FUNDING_COLUMNS, fund_estates
from geo.planning.investment import CLASS_COLUMNS
from geo.planning.investment import estimate_investment as estimate_investment_by_content

DISTRICT_COLUMNS = (
    "district_id",
    "county",
    "members",
    "estates",
    "households",
    "households_unknown",
    "buildings",
    "floor_area_m2",
    "build_year_min",
    "build_year_max",
    "extension_estates",
    "investment_yuan",
    "investment_estimated",
)


def estimate_investment(estates: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Return the investment of each estate by content and its funding by source (yuan).

    :func:`geo.planning.investment.estimate_investment` (the sum of the surveyed needs at the
    policy's unit rates, by content class; the flat 242 yuan/m² of Xinyang 2022 where the needs
    are not surveyed, flagged ``investment_estimated``) and
    :func:`geo.planning.funding.fund_estates` (``fund_<source>_yuan``), side by side.
    """
    cost = estimate_investment_by_content(estates, policy)
    funding = fund_estates(pd.concat([estates[["build_year_latest"]], cost], axis=1), policy)
    return pd.concat([cost, funding], axis=1)


def _fits(households: float, count: int, policy: Policy) -> bool:
    caps = policy.districts
    return households <= caps.max_households and count <= caps.max_estates


def _grow_regions(
    nodes: set[str],
    graph: nx.Graph,
    households: dict[str, float],
    xy: dict[str, tuple[float, float]],
    policy: Policy,
) -> list[list[str]]:
    """Split a connected set of nodes into connected regions within the caps."""
    regions: list[list[str]] = []
    remaining = set(nodes)
    while remaining:
        parts = sorted(
            (sorted(c) for c in nx.connected_components(graph.subgraph(remaining))),
            key=lambda c: c[0],
        )
        part = parts[0]
        if _fits(sum(households[n] for n in part), len(part), policy):
            regions.append(part)
            remaining -= set(part)
            continue
        cx = np.mean([xy[n][0] for n in part])
        cy = np.mean([xy[n][1] for n in part])
        seed = max(part, key=lambda n: ((xy[n][0] - cx) ** 2 + (xy[n][1] - cy) ** 2, n))
        region, total = [seed], households[seed]
        members = set(part)
        while True:
            rx = np.mean([xy[n][0] for n in region])
            ry = np.mean([xy[n][1] for n in region])
            frontier = {
                m for n in region for m in graph.neighbors(n) if m in members and m not in region
            }
            fitting = [m for m in frontier if _fits(total + households[m], len(region) + 1, policy)]
            if not fitting:
                break
            best = min(fitting, key=lambda m: ((xy[m][0] - rx) ** 2 + (xy[m][1] - ry) ** 2, m))
            region.append(best)
            total += households[best]
        regions.append(sorted(region))
        remaining -= set(region)
    return _absorb_singletons(regions, graph, households, policy)


def _absorb_singletons(
    regions: list[list[str]], graph: nx.Graph, households: dict[str, float], policy: Policy
) -> list[list[str]]:
    """Merge regions below the minimum size into an adjacent region when the caps allow."""
    owner = {n: i for i, r in enumerate(regions) for n in r}
    order = sorted(range(len(regions)), key=lambda i: (len(regions[i]), regions[i][0]))
    for i in order:
        region = regions[i]
        if not region or len(region) >= policy.districts.min_estates:
            continue
        neighbours = {
            owner[m]
            for n in region
            for m in graph.neighbors(n)
            if m in owner and owner[m] != i and regions[owner[m]]
        }
        options = sorted(neighbours, key=lambda j: (len(regions[j]), regions[j][0]))
        for j in options:
            total = sum(households[n] for n in regions[j] + region)
            if _fits(total, len(regions[j]) + len(region), policy):
                regions[j] = sorted(regions[j] + region)
                for n in region:
                    owner[n] = j
                regions[i] = []
                break
        if regions[i] and len(regions[i]) < policy.districts.min_estates:
            _borrow(i, regions, owner, graph, households, policy)
    return [r for r in regions if r]


def _borrow(
    i: int,
    regions: list[list[str]],
    owner: dict[str, int],
    graph: nx.Graph,
    households: dict[str, float],
    policy: Policy,
) -> None:
    """Give a too-small region one estate of a larger neighbour region, keeping both connected."""
    region = regions[i]
    for n in region:
        for m in sorted(graph.neighbors(n)):
            j = owner.get(m)
            if j is None or j == i or len(regions[j]) <= policy.districts.min_estates:
                continue
            rest = [x for x in regions[j] if x != m]
            if not nx.is_connected(graph.subgraph(rest)):
                continue
            grown = [*region, m]
            if _fits(sum(households[x] for x in grown), len(grown), policy):
                regions[i], regions[j] = sorted(grown), rest
                owner[m] = i
                return


def form_districts(
    estates: gpd.GeoDataFrame,
    graph: nx.Graph,
    policy: Policy,
    *,
    unit_column: str | None = None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Group adjacent groupable estates into districts within the caps.

    Parameters
    ----------
    estates
        Estates with ``estate_id``, ``status`` (see :mod:`geo.planning.eligibility`), ``households``,
        ``buildings``, ``floor_area_m2``, ``build_year``, ``build_year_latest``, ``county``,
        ``investment_yuan``, ``investment_estimated`` and geometry in a projected CRS (metres).
    graph
        Adjacency graph from :func:`geo.planning.adjacency.build_adjacency` (nodes are ``estate_id``).
    policy
        ``policy.districts`` gives the caps (households, estates) and the minimum size.
    unit_column
        Column naming the administrative unit each estate lies in; when given, no district spans
        two units (an estate without a unit only joins others without one).

    Returns
    -------
    membership
        DataFrame indexed like ``estates`` with ``district_id`` (``<NA>`` outside districts) and
        ``project_type``: ``district``, ``standalone`` (groupable, but alone) or ``<NA>``.
    districts
        GeoDataFrame with :data:`DISTRICT_COLUMNS` and the outline (member footprints joined
        through the gaps of their adjacency edges), in the estates' CRS; households as 户,
        floor area as m², investment as yuan.
    """
    ids = estates["estate_id"].astype(str)
    groupable = set(ids[is_groupable(estates, policy)])
    units = (
        estates[unit_column].fillna("").astype(str)
        if unit_column
        else pd.Series("", index=estates.index)
    )
    unit_of = dict(zip(ids, units, strict=True))
    sub = nx.Graph()
    sub.add_nodes_from(groupable)
    sub.add_edges_from(
        (a, b, d)
        for a, b, d in graph.edges(data=True)
        if a in groupable and b in groupable and unit_of[a] == unit_of[b]
    )
    households = dict(
        zip(ids, estates["households"].astype("Float64").fillna(0).astype(float), strict=True)
    )
    points = shapely.point_on_surface(estates.geometry.to_numpy())
    xy = dict(zip(ids, zip(shapely.get_x(points), shapely.get_y(points), strict=True), strict=True))
    groups: list[list[str]] = []
    for component in nx.connected_components(sub):
        if len(component) < policy.districts.min_estates:
            continue
        groups.extend(_grow_regions(set(component), sub, households, xy, policy))
    groups = sorted(
        (g for g in groups if len(g) >= policy.districts.min_estates), key=lambda g: g[0]
    )
    district_of: dict[str, str] = {}
    for number, group in enumerate(groups, start=1):
        for estate_id in group:
            district_of[estate_id] = f"D{number:04d}"
    membership = pd.DataFrame(index=estates.index)
    membership["district_id"] = pd.array([district_of.get(i, pd.NA) for i in ids], dtype="string")
    kind = [
        ("district" if i in district_of else "standalone") if i in groupable else pd.NA for i in ids
    ]
    membership["project_type"] = pd.array(kind, dtype="string")
    return membership, _district_table(estates, groups, sub, unit_column)


def _district_table(
    estates: gpd.GeoDataFrame,
    groups: Iterable[list[str]],
    graph: nx.Graph,
    unit_column: str | None,
) -> gpd.GeoDataFrame:
    # the estates are indexed once by id and every column read once as an array, so each
    # district costs the size of its members, not of the whole estate table
    position = {e: i for i, e in enumerate(estates["estate_id"].astype(str))}
    geoms = estates.geometry.to_numpy()
    households = _floats(estates["households"])
    buildings = _floats(estates["buildings"])
    floor_area = _floats(estates["floor_area_m2"])
    investment = _floats(estates["investment_yuan"])
    year_min = _floats(estates["build_year"])
    year_max = _floats(estates["build_year_latest"])
    extension = (estates["status"] == "extension").fillna(False).to_numpy(dtype=bool)
    estimated = estates["investment_estimated"].fillna(False).to_numpy(dtype=bool)
    county_values = estates[unit_column] if unit_column else estates["county"]
    counties = county_values.to_numpy(dtype=object, na_value=None)
    summed = {c: _floats(estates[c]) for c in (*CLASS_COLUMNS, *FUNDING_COLUMNS) if c in estates}
    rows, outlines = [], []
    for number, group in enumerate(groups, start=1):
        at = np.array([position[e] for e in group], dtype=np.intp)
        outlines.append(_outline(list(group), geoms[at], graph))
        hh = households[at]
        known = ~np.isnan(hh)
        county = counties[at[0]]
        rows.append(
            {
                "district_id": f"D{number:04d}",
                "county": "" if county is None or pd.isna(county) else str(county),
                "members": ",".join(group),
                "estates": len(group),
                "households": int(np.where(known, hh, 0.0).sum()),
                "households_unknown": int((~known).sum()),
                "buildings": int(np.nan_to_num(buildings[at], nan=0.0).sum()),
                "floor_area_m2": float(np.nan_to_num(floor_area[at], nan=0.0).sum()),
                "build_year_min": _int_or_na(_nan_reduce(np.min, year_min[at])),
                "build_year_max": _int_or_na(_nan_reduce(np.max, year_max[at])),
                "extension_estates": int(extension[at].sum()),
                "investment_yuan": float(np.nan_to_num(investment[at], nan=0.0).sum()),
                "investment_estimated": bool(estimated[at].any()),
                **{c: float(np.nan_to_num(v[at], nan=0.0).sum()) for c, v in summed.items()},
            }
        )
    frame = pd.DataFrame(rows, columns=[*DISTRICT_COLUMNS, *summed])
    frame["build_year_min"] = frame["build_year_min"].astype("Int64")
    frame["build_year_max"] = frame["build_year_max"].astype("Int64")
    return gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(outlines, crs=estates.crs), crs=estates.crs
    )


def _floats(values: pd.Series) -> np.ndarray:
    """A column as float64 with NaN for unknown values."""
    return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _nan_reduce(func: Callable[[np.ndarray], float], values: np.ndarray) -> float:
    known = values[~np.isnan(values)]
    return float(func(known)) if len(known) else np.nan


def _int_or_na(value: object) -> object:
    return pd.NA if pd.isna(value) else int(value)


def _outline(ids: list[str], geoms: np.ndarray, graph: nx.Graph) -> shapely.Geometry:
    """Member footprints joined by 2 m wide strips along the gaps of their adjacency edges."""
    by_id = dict(zip(ids, geoms, strict=True))
    bridges = []
    for a, b in graph.subgraph(ids).edges():
        line = shapely.shortest_line(by_id[a], by_id[b])
        if line.length > 0:
            bridges.append(line.buffer(1.0, cap_style="flat"))
    return shapely.union_all([*geoms, *bridges])
