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

May import: numpy, pandas, networkx, shapely, geopandas, ``geo.core.policy``, ``geo.core._machine`` and the planning
modules eligibility, investment, funding, partition and lots.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.core._machine import in_threads, without_collector
from geo.core.policy import Policy
from geo.planning.eligibility import is_groupable
from geo.planning.funding import FUNDING_COLUMNS, fund_estates
from geo.planning.investment import CLASS_COLUMNS
from geo.planning.investment import estimate_investment as estimate_investment_by_content
from geo.planning.lots import district_readiness, split_lots
from geo.planning.partition import Caps, objective_table, partition_all

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
    """Return the investment of each estate in the programme by content and its funding (yuan).

    :func:`geo.planning.investment.estimate_investment` (the sum of the surveyed needs at the
    policy's unit rates, by content class; the flat 242 yuan/m² of Xinyang 2022 where the needs
    are not surveyed, flagged ``investment_estimated``) and
    :func:`geo.planning.funding.fund_estates` (``fund_<source>_yuan``), side by side.

    Only estates in the programme are costed: where ``estates`` has ``status``, those a district
    may hold (:func:`geo.planning.eligibility.groupable_statuses`: ``eligible``, and ``extension``
    where the policy allows it). A postponed estate (not ``ready``: consent, illegal structures,
    no agreed management model) stays eligible and keeps its figure: Huaibei 2021 七(五) 暂缓改造
    defers its works within the plan, and its district's design covers it. Every other estate
    (``ineligible``, ``excluded``, ``needs_survey``) gets <NA> (not 0) in every investment and
    funding column, so no total, card or table shows it as planned.
    """
    cost = estimate_investment_by_content(estates, policy)
    funding = fund_estates(pd.concat([estates[["build_year_latest"]], cost], axis=1), policy)
    out = pd.concat([cost, funding], axis=1)
    if "status" in estates:
        outside = ~is_groupable(estates, policy)
        for column in out.columns:
            if out[column].dtype == np.float64:
                out[column] = out[column].astype("Float64")
            out.loc[outside, column] = pd.NA
    return out


@without_collector
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
        ``lot`` (tender lot 标段 number within the district, 1, 2, ...; a district of one lot has
        only lot 1; the tender names it ``<district_id>-<lot>``),
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
    ids = estates["estate_id"].astype(str).to_numpy(dtype=object)
    groupable_mask = np.asarray(is_groupable(estates, policy), dtype=bool)
    if policy.districts.form_from == "ready" and "ready" in estates:
        waiting = groupable_mask & ~estates["ready"].fillna(False).to_numpy(dtype=bool)
        groupable_mask = groupable_mask & ~waiting
    else:
        waiting = np.zeros(len(estates), dtype=bool)
    groupable = set(ids[groupable_mask])
    units = (
        estates[unit_column].fillna("").astype(str).to_numpy(dtype=object)
        if unit_column
        else np.full(len(estates), "", dtype=object)
    )
    sub = nx.Graph()
    sub.add_nodes_from(groupable)
    # no edge attributes: the partition, the lots and the outlines read the adjacency only
    sub.add_edges_from(_edges_within(graph, groupable, dict(zip(ids, units, strict=True))))
    why_alone: dict[str, str] = {}
    components = []
    for component in nx.connected_components(sub):
        if len(component) < policy.districts.min_estates:
            for n in component:
                why_alone[n] = "no groupable neighbour"
        else:
            components.append(component)
    known_households = np.nan_to_num(_floats(estates["households"]), nan=0.0)
    caps = Caps(
        dict(zip(ids, known_households.tolist(), strict=True)),
        _points(estates.geometry.to_numpy(), ids, set().union(*components)),
        policy,
    )
    groups: list[list[str]] = []
    method: list[str] = []
    for parts, how in partition_all(components, sub, caps, policy.districts.exact_max_estates):
        for part in parts:
            if len(part) >= policy.districts.min_estates:
                groups.append(part)
                method.append(how)
            else:
                for n in part:
                    why_alone[n] = _alone_reason(n, sub, caps, policy)
    order = sorted(range(len(groups)), key=lambda i: groups[i][0])
    groups, method = [groups[i] for i in order], [method[i] for i in order]
    members = _Members(groups, ids)
    lots = _lots(groups, members.sums(known_households), sub, caps, policy)
    lot_of = {e: k for group in lots for k, lot in enumerate(group, start=1) for e in lot}
    membership = _membership(estates.index, ids, members, lot_of, groupable_mask, waiting)
    membership["standalone_reason"] = _standalone_reasons(
        ids, groupable_mask & (members.row_label < 0), why_alone
    )
    table = _district_table(estates, members, sub, unit_column)
    if len(table):
        terms = pd.DataFrame(objective_table(groups, caps), index=table.index)
        terms["partition_method"] = method
        terms["lots"] = [len(group) for group in lots]
        ready = district_readiness(
            estates, dict(zip(table["district_id"], groups, strict=True)), policy
        )
        ready = ready.loc[table["district_id"]]
        ready.index = table.index
        table = pd.concat([table, terms, ready], axis=1)
        table = gpd.GeoDataFrame(table, geometry="geometry", crs=estates.crs)
    else:
        table = table.assign(**{c: pd.Series(dtype=t) for c, t in DISTRICT_EXTRA_COLUMNS.items()})
    return membership, table


class _Members:
    """The members of every district as flat arrays: the shape the district table reduces.

    ``at`` holds the row of each member in the estates, district by district (each district's
    members in their order); ``label`` the district's position; ``starts`` where each district
    begins (for ``np.ufunc.reduceat``: a district is never empty); ``row_label`` each estate
    row's district position, -1 outside districts.
    """

    def __init__(self, groups: list[list[str]], ids: np.ndarray) -> None:
        self.groups = groups
        self.sizes = np.fromiter(map(len, groups), dtype=np.intp, count=len(groups))
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.intp)
        self.label = np.repeat(np.arange(len(groups)), self.sizes)
        self.flat = [e for group in groups for e in group]
        # the last row of an id, as a dict lookup by id would give
        position = dict(zip(ids, range(len(ids)), strict=True))
        self.at = np.fromiter((position[e] for e in self.flat), dtype=np.intp, count=len(self.flat))
        self.row_label = np.full(len(ids), -1, dtype=np.intp)
        if self.flat:
            where = pd.Index(self.flat, dtype=object).get_indexer(ids)
            self.row_label[where >= 0] = self.label[where[where >= 0]]

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per district, the sum of a per-estate float array (NaN counts as 0)."""
        if not len(self.groups):
            return np.zeros(0)
        return np.add.reduceat(np.nan_to_num(values[self.at], nan=0.0), self.starts)


def _edges_within(
    graph: nx.Graph, groupable: set[str], unit_of: dict[str, str]
) -> list[tuple[str, str]]:
    """The edges of ``graph`` between groupable estates of one unit, in ``graph.edges()`` order.

    As ``graph.edges()`` lists them (each node's neighbours not listed before, node by node),
    without listing the others: only the groupable nodes' neighbours are read.
    """
    edges = []
    seen: set[str] = set()
    for a, neighbours in graph.adjacency():
        if a in groupable:
            unit = unit_of[a]
            edges.extend(
                (a, b)
                for b in neighbours
                if b in groupable and b not in seen and unit_of[b] == unit
            )
            seen.add(a)
    return edges


def _points(geoms: np.ndarray, ids: np.ndarray, wanted: set[str]) -> dict[str, tuple[float, float]]:
    """The representative point (inside its footprint) of each estate of ``wanted``, by id."""
    rows = np.flatnonzero([i in wanted for i in ids])
    points = shapely.point_on_surface(geoms[rows])
    return dict(
        zip(ids[rows], zip(shapely.get_x(points), shapely.get_y(points), strict=True), strict=True)
    )


def _lots(
    groups: list[list[str]], households: np.ndarray, graph: nx.Graph, caps: Caps, policy: Policy
) -> list[list[list[str]]]:
    """Each district's tender lots; only districts above ``lot_max_households`` are split."""
    limit = policy.districts.lot_max_households
    return [
        split_lots(group, graph, caps, policy) if limit > 0 and total > limit else [sorted(group)]
        for group, total in zip(groups, households, strict=True)
    ]


def _membership(
    index: pd.Index,
    ids: np.ndarray,
    members: _Members,
    lot_of: dict[str, int],
    groupable: np.ndarray,
    waiting: np.ndarray,
) -> pd.DataFrame:
    """``district_id``, ``lot`` and ``project_type`` of every estate (see :func:`form_districts`)."""
    inside = (members.row_label >= 0) & groupable
    codes = np.array([f"D{k:04d}" for k in range(1, len(members.groups) + 1)], dtype=object)
    district = np.full(len(ids), None, dtype=object)
    district[inside] = codes[members.row_label[inside]]
    lot = np.zeros(len(ids), dtype=np.int64)
    lot[inside] = [lot_of[e] for e in ids[inside]]
    kind = np.full(len(ids), None, dtype=object)
    kind[waiting] = "not_ready"
    kind[groupable] = "standalone"
    kind[inside] = "district"
    membership = pd.DataFrame(index=index)
    membership["district_id"] = pd.array(district, dtype="string")
    membership["lot"] = pd.arrays.IntegerArray(lot, ~inside)
    membership["project_type"] = pd.array(kind, dtype="string")
    return membership


def _standalone_reasons(ids: np.ndarray, alone: np.ndarray, why: dict[str, str]) -> pd.array:
    """``standalone_reason`` of the groupable estates outside districts, <NA> elsewhere."""
    reason = np.full(len(ids), None, dtype=object)
    reason[alone] = [why.get(i) for i in ids[alone]]
    return pd.array(reason, dtype="string")


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
    estates: gpd.GeoDataFrame, members: _Members, graph: nx.Graph, unit_column: str | None
) -> gpd.GeoDataFrame:
    """The district table of :func:`form_districts` before the objective terms and readiness.

    Vectorised: every column is read once as an array and reduced per district over the flat
    member arrays (``np.ufunc.reduceat``); the outlines are one ``shapely.union_all`` along the
    rows of a (district x part) array. The same values as a loop over districts.
    """
    at, starts = members.at, members.starts
    summed_columns = [c for c in (*CLASS_COLUMNS, *FUNDING_COLUMNS) if c in estates]
    if not len(members.groups):
        frame = pd.DataFrame(columns=[*DISTRICT_COLUMNS, *summed_columns])
        frame["build_year_min"] = frame["build_year_min"].astype("Int64")
        frame["build_year_max"] = frame["build_year_max"].astype("Int64")
        frame["polsby_popper"], frame["width_m"] = np.zeros(0), np.zeros(0)
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=estates.crs), crs=estates.crs)
    households = _floats(estates["households"])[at]
    known = ~np.isnan(households)
    county_values = estates[unit_column] if unit_column else estates["county"]
    counties = county_values.to_numpy(dtype=object, na_value=None)[at[starts]]
    extension = (estates["status"] == "extension").fillna(False).to_numpy(dtype=bool)[at]
    estimated = estates["investment_estimated"].fillna(False).to_numpy(dtype=bool)[at]
    frame = pd.DataFrame(
        {
            "district_id": [f"D{k:04d}" for k in range(1, len(members.groups) + 1)],
            "county": ["" if c is None or pd.isna(c) else str(c) for c in counties],
            "members": [",".join(group) for group in members.groups],
            "estates": members.sizes.astype(np.int64),
            "households": np.add.reduceat(np.where(known, households, 0.0), starts).astype(
                np.int64
            ),
            "households_unknown": np.add.reduceat((~known).astype(np.int64), starts),
            "buildings": members.sums(_floats(estates["buildings"])).astype(np.int64),
            "floor_area_m2": members.sums(_floats(estates["floor_area_m2"])),
            "build_year_min": _nan_reduceat(np.fmin, _floats(estates["build_year"])[at], starts),
            "build_year_max": _nan_reduceat(
                np.fmax, _floats(estates["build_year_latest"])[at], starts
            ),
            "extension_estates": np.add.reduceat(extension.astype(np.int64), starts),
            "investment_yuan": members.sums(_floats(estates["investment_yuan"])),
            "investment_estimated": np.logical_or.reduceat(estimated, starts),
            **{c: members.sums(_floats(estates[c])) for c in summed_columns},
        }
    )
    outlines = _outlines(estates.geometry.to_numpy(), members, graph)
    frame["polsby_popper"], frame["width_m"] = _shape_measures(outlines)
    return gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(outlines, crs=estates.crs), crs=estates.crs
    )


def _shape_measures(outlines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polsby-Popper compactness and width of each outline.

    Polsby-Popper is 4 pi A / P² (1 = a disc); the width (m) is the longest side of the minimum
    rotated rectangle.
    """
    if not len(outlines):
        return np.zeros(0), np.zeros(0)
    geoms = np.asarray(outlines, dtype=object)
    area, perimeter = shapely.area(geoms), shapely.length(geoms)
    pp = np.divide(4 * np.pi * area, perimeter**2, out=np.zeros(len(geoms)), where=perimeter > 0)
    rectangles = in_threads(
        shapely.minimum_rotated_rectangle, geoms, min_per_thread=_MIN_ROWS_PER_THREAD
    )
    xy, index = shapely.get_coordinates(rectangles, return_index=True)
    sides = np.sqrt((np.diff(xy, axis=0) ** 2).sum(axis=1))
    same = index[1:] == index[:-1]
    width = np.zeros(len(geoms))
    np.maximum.at(width, index[1:][same], sides[same])
    return np.round(pp, 3), np.round(width, 1)


def _floats(values: pd.Series) -> np.ndarray:
    """A column as float64 with NaN for unknown values."""
    return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _nan_reduceat(func: np.ufunc, values: np.ndarray, starts: np.ndarray) -> pd.array:
    """Per district, ``np.fmin``/``np.fmax`` of the known values (Int64, <NA> where none is)."""
    reduced = func.reduceat(values, starts)
    known = ~np.isnan(reduced)
    return pd.arrays.IntegerArray(np.where(known, reduced, 0).astype(np.int64), ~known)


def _outlines(geoms: np.ndarray, members: _Members, graph: nx.Graph) -> np.ndarray:
    """Each district's member footprints joined by 2 m wide strips along its adjacency gaps.

    One ``shapely.union_all`` along the rows of a (district x part) array: a row holds the
    district's footprints in member order, then the strips of its adjacency edges (the shortest
    line between the two footprints, buffered 1 m with flat ends) ordered by edge.
    """
    label_of = dict(zip(members.flat, members.label.tolist(), strict=True))
    row_of = dict(zip(members.flat, members.at.tolist(), strict=True))
    # sorted within a district: the outline's vertex order must not depend on the graph's order
    edges = sorted(
        (label_of[a], *sorted((a, b)))
        for a, b in graph.edges()
        if a in label_of and b in label_of and label_of[a] == label_of[b]
    )
    district = np.array([e[0] for e in edges], dtype=np.intp)
    lines = shapely.shortest_line(
        geoms[np.array([row_of[e[1]] for e in edges], dtype=np.intp)],
        geoms[np.array([row_of[e[2]] for e in edges], dtype=np.intp)],
    )
    gap = shapely.length(lines) > 0
    district, strips = district[gap], shapely.buffer(lines[gap], 1.0, cap_style="flat")
    # column of each strip: after the district's members, in edge order
    first = np.searchsorted(district, district, side="left")
    column = members.sizes[district] + np.arange(len(district)) - first
    parts = np.full(
        (len(members.groups), int(max(members.sizes.max(), column.max(initial=0) + 1))),
        None,
        dtype=object,
    )
    parts[members.label, np.arange(len(members.at)) - members.starts[members.label]] = geoms[
        members.at
    ]
    parts[district, column] = strips
    return in_threads(
        lambda rows: shapely.union_all(rows, axis=1), parts, min_per_thread=_MIN_ROWS_PER_THREAD
    )


#: Fewest districts whose outlines are joined in a thread of their own (see
#: :func:`geo.core._machine.in_threads`).
_MIN_ROWS_PER_THREAD = 200
