"""Districts (片区): connected groups of eligible estates of a life circle's size, with lots.

A district is a connected set of groupable estates (``eligible``, and ``extension`` where the
policy allows it; only ``ready`` ones with ``districts.form_from = "ready"``) in the adjacency
graph, inside one administrative unit when the policy says so (each unit plans and tenders its
own), of at most a 10-minute life circle's households and walk (GB 50180-2018 table 3.0.4). Each
connected group is partitioned by the objective of :mod:`geo.planning.partition` (exact MILP where
small, region growing where large); large districts are split into tender lots
(:mod:`geo.planning.lots`). An estate with no groupable neighbour, or left alone by the
partition, is a standalone project, not a district (``standalone_reason``).

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
from geo.planning.lots import district_readiness, split_lots
from geo.planning.partition import Caps, objective_terms, partition

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
        DataFrame indexed like ``estates`` with ``district_id`` (``<NA>`` outside districts),
        ``lot_id`` (tender lot, ``D0001-2``; the district id when it has one lot),
        ``project_type``: ``district``, ``standalone`` (groupable, but alone), ``not_ready``
        (groupable but left out because ``form_from = "ready"``) or ``<NA>``; and
        ``standalone_reason`` (English) for standalone estates.
    districts
        GeoDataFrame with :data:`DISTRICT_COLUMNS`, the sums of the investment and funding
        columns (yuan), ``polsby_popper`` and ``width_m`` (m) of the outline,
        :data:`DISTRICT_EXTRA_COLUMNS` (objective terms, ``partition_method``, ``lots``, ``ready``,
        ``members_not_ready``, ``households_to_persuade``) and the outline (member footprints
        joined through the gaps of their adjacency edges), in the estates' CRS.
    """
    ids = estates["estate_id"].astype(str)
    groupable_mask = is_groupable(estates, policy)
    if policy.districts.form_from == "ready" and "ready" in estates:
        waiting = groupable_mask & ~estates["ready"].fillna(False).to_numpy(dtype=bool)
        groupable_mask = groupable_mask & ~waiting
    else:
        waiting = np.zeros(len(estates), dtype=bool)
    groupable = set(ids[groupable_mask])
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
    caps = Caps(households, xy, policy)
    groups: list[list[str]] = []
    method: dict[str, str] = {}
    why_alone: dict[str, str] = {}
    for component in nx.connected_components(sub):
        if len(component) < policy.districts.min_estates:
            for n in component:
                why_alone[n] = "no groupable neighbour"
            continue
        parts, how = partition(set(component), sub, caps, policy.districts.exact_max_estates)
        for part in parts:
            if len(part) >= policy.districts.min_estates:
                groups.append(part)
                method[part[0]] = how
            else:
                for n in part:
                    why_alone[n] = _alone_reason(n, sub, caps, policy)
    groups = sorted(groups, key=lambda g: g[0])
    district_of: dict[str, str] = {}
    lot_of: dict[str, str] = {}
    lots_of: dict[str, list[list[str]]] = {}
    for number, group in enumerate(groups, start=1):
        district = f"D{number:04d}"
        lots_of[district] = split_lots(group, sub, caps, policy)
        for k, lot in enumerate(lots_of[district], start=1):
            for estate_id in lot:
                district_of[estate_id] = district
                lot_of[estate_id] = f"{district}-{k}" if len(lots_of[district]) > 1 else district
    membership = pd.DataFrame(index=estates.index)
    membership["district_id"] = pd.array([district_of.get(i, pd.NA) for i in ids], dtype="string")
    membership["lot_id"] = pd.array([lot_of.get(i, pd.NA) for i in ids], dtype="string")
    kind = [
        ("district" if i in district_of else "standalone")
        if i in groupable
        else ("not_ready" if w else pd.NA)
        for i, w in zip(ids, waiting, strict=True)
    ]
    membership["project_type"] = pd.array(kind, dtype="string")
    membership["standalone_reason"] = pd.array(
        [
            why_alone.get(i, pd.NA) if i in groupable and i not in district_of else pd.NA
            for i in ids
        ],
        dtype="string",
    )
    table = _district_table(estates, groups, sub, unit_column)
    if len(table):
        terms = pd.DataFrame([objective_terms(g, caps) for g in groups], index=table.index)
        terms["partition_method"] = [method.get(g[0], "") for g in groups]
        terms["lots"] = [len(lots_of[d]) for d in table["district_id"]]
        members = dict(zip(table["district_id"], groups, strict=True))
        ready = district_readiness(estates, members, policy).loc[table["district_id"]]
        ready.index = table.index
        table = pd.concat([table, terms, ready], axis=1)
        table = gpd.GeoDataFrame(table, geometry="geometry", crs=estates.crs)
    else:
        table = table.assign(**{c: pd.Series(dtype=t) for c, t in DISTRICT_EXTRA_COLUMNS.items()})
    return membership, table


def _alone_reason(n: str, graph: nx.Graph, caps: Caps, policy: Policy) -> str:
    """Why a groupable estate with groupable neighbours was left standalone (English, short)."""
    reasons = []
    for m in sorted(graph.neighbors(n)):
        pair = [n, m]
        if caps.households[n] + caps.households[m] > caps.max_households:
            reasons.append(f"{m}: households above {caps.max_households:,}")
        elif caps.max_walk_m > 0 and caps.walks(pair)[1].max() > caps.max_walk_m:
            reasons.append(f"{m}: beyond the {caps.max_walk_m:g} m walk")
        else:
            reasons.append(f"{m}: its district is full")
    return "neighbours cannot take it (" + "; ".join(reasons[:3]) + ")"


#: Columns added to the district table besides :data:`DISTRICT_COLUMNS` and the sums.
DISTRICT_EXTRA_COLUMNS = {
    "centre_estate_id": "string",
    "walk_max_m": float,
    "walk_mean_m": float,
    "objective_cost": float,
    "partition_method": "string",
    "lots": "Int64",
    "ready": "boolean",
    "members_not_ready": "Int64",
    "households_to_persuade": "Int64",
}


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
    frame["polsby_popper"], frame["width_m"] = _shape_measures(outlines)
    return gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(outlines, crs=estates.crs), crs=estates.crs
    )


def _shape_measures(outlines: list) -> tuple[np.ndarray, np.ndarray]:
    """Polsby-Popper compactness and width of each outline.

    Polsby-Popper is 4 pi A / P² (1 = a disc); the width (m) is the longest side of the minimum
    rotated rectangle.
    """
    if not outlines:
        return np.zeros(0), np.zeros(0)
    geoms = np.array(outlines, dtype=object)
    area, perimeter = shapely.area(geoms), shapely.length(geoms)
    pp = np.divide(4 * np.pi * area, perimeter**2, out=np.zeros(len(geoms)), where=perimeter > 0)
    width = []
    for rect in shapely.minimum_rotated_rectangle(geoms):
        xy = shapely.get_coordinates(rect)
        sides = np.sqrt((np.diff(xy, axis=0) ** 2).sum(axis=1)) if len(xy) > 1 else np.zeros(1)
        width.append(float(sides.max()))
    return np.round(pp, 3), np.round(np.array(width), 1)


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
