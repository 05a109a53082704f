"""Shared pipeline corridors (先地下、后地上): what contiguous renovation saves underground.

Renovating adjacent estates together lets water, drainage (rain and sewage separated, 雨污分流),
gas, power and telecom lines share one trench and one connection to the municipal network,
instead of every estate running its own lines to a main. For each district this module plans a
corridor network that connects every member estate to the others and to the municipal network,
and compares it with the baseline in which each estate is connected on its own.

Method
------
1. **Candidate graph** (one per district, metres, the run's projected CRS). Its lines are noded
   with shapely (``union_all``), then split into straight edges at most ``node_spacing_m`` long:

   - the unblocked adjacency paths between member estates (representative point, through the
     gap, to the neighbour's representative point: the walls removed by 拆墙并院);
   - with roads: every road line (classes not in ``excluded_road_classes``) within
     ``search_radius_m`` of the district outline, and a straight connector from each estate's
     representative point (``point_on_surface``) to the nearest of those roads. OSM ways are not
     split at junctions; the noding makes every crossing a node;
   - with mains: a straight connector from each estate to the nearest main.

2. **Connection points** per utility (a virtual node stands for the municipal network):

   - ``mains``: graph nodes within ``mains_reach_m`` of a main of that utility (the connector to
     the main is part of the corridor);
   - ``roads`` (no main of that utility): nodes on roads of ``connection_road_classes`` outside
     the district outline, where municipal mains are assumed to run;
   - ``outline`` (neither, or none reachable): the network is unknown; one connection is
     assumed at the point of the district outline nearest to a member estate that has the least
     total path length to all members (a 1-median on the outline). Indicative only.

   Each connection also costs ``connection_yuan`` per utility; in the search it counts as the
   length of corridor that costs as much, so sharing a connection is preferred when it pays.

3. **Corridor** = an approximate minimum Steiner tree on that graph with the member estates and
   the municipal-network node as terminals: Mehlhorn's algorithm (Mehlhorn 1988, as in
   networkx's ``steiner_tree(method="mehlhorn")``, here on scipy's sparse graphs), whose weight is
   within a factor ``2 (1 - 1/l)`` of the optimum (``l``: the least number of leaves of an
   optimal Steiner tree). Utilities with the same connection points share one tree.

4. **Baseline** = each estate connected separately to its own cheapest connection point by a
   shortest path on the same graph, with its own trench and its own connections.

5. **Guarantee**: the union of the baseline paths is itself a network joining every estate to the
   municipal network. If the Steiner tree is heavier than that union's spanning tree, the union is
   used; if the corridor of a district is then still longer or costlier than the baseline (several
   utility groups), the union of the baseline paths of all groups is used. So the corridor is
   never longer and never costlier than the separate baseline.

Lengths are metres, costs yuan (unit costs from ``[corridors]`` of the policy: assumptions that a
city must replace). Building clearances follow GB 50289-2016 Table 4.1.9 (see the policy file);
segments closer to a building footprint than the largest clearance of their utilities are
flagged, not rerouted.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra

from geo.core import _memo
from geo.core._memo import Memo, digest
from geo.core.errors import InputError, QualityReport
from geo.core.names import normalise_text
from geo.core.policy import UTILITIES, Policy

MAIN = "municipal network"
STEINER_METHOD = "mehlhorn"
_EXTEND_M = 0.05  # road connectors overshoot the road by this much so noding splits the road
_ON_LINE_M = 0.05
_INSIDE_M = 0.5

#: Utility names accepted in a mains layer's ``utility`` column (Chinese and English).
UTILITY_ALIASES: dict[str, tuple[str, ...]] = {
    "water": ("water",),
    "给水": ("water",),
    "供水": ("water",),
    "自来水": ("water",),
    "rain": ("rain",),
    "stormwater": ("rain",),
    "storm": ("rain",),
    "雨水": ("rain",),
    "sewage": ("sewage",),
    "sewer": ("sewage",),
    "污水": ("sewage",),
    "drainage": ("rain", "sewage"),
    "排水": ("rain", "sewage"),
    "gas": ("gas",),
    "燃气": ("gas",),
    "天然气": ("gas",),
    "煤气": ("gas",),
    "power": ("power",),
    "electricity": ("power",),
    "电力": ("power",),
    "供电": ("power",),
    "telecom": ("telecom",),
    "communication": ("telecom",),
    "通信": ("telecom",),
    "电信": ("telecom",),
    "弱电": ("telecom",),
}
_UTILITY_COLUMNS = ("utility", "utilities", "type", "管线类型", "管线", "类型", "专业")

SEGMENT_COLUMNS = (
    "district_id",
    "utilities",
    "kind",
    "length_m",
    "cost_yuan",
    "clearance_m",
    "clearance_ok",
)
DISTRICT_CORRIDOR_COLUMNS = (
    "corridor_basis",
    "corridor_method",
    "corridor_length_m",
    "separate_length_m",
    "saving_pct",
    "cost_yuan",
    "separate_cost_yuan",
    "cost_saving_pct",
    "connections",
    "separate_connections",
    "clearance_conflicts",
)


@dataclass
class CorridorPlan:
    """The corridors of a planning run.

    Attributes
    ----------
    segments
        GeoDataFrame of LineStrings (the run's CRS) with :data:`SEGMENT_COLUMNS`: ``district_id``;
        ``utilities`` (comma-joined, e.g. ``water,rain,sewage,gas,power,telecom``); ``kind``:
        ``trunk`` (inside the district, serving two or more estates), ``branch`` (inside, serving
        one estate) or ``connection`` (outside the district outline: the link to the municipal
        network, beyond the estates' red lines); ``length_m``; ``cost_yuan`` (trench and pipes;
        connections are in the district totals); ``clearance_m`` (largest GB 50289-2016 clearance
        of its utilities); ``clearance_ok`` (False when closer to a building, <NA> without
        buildings).
    districts
        DataFrame indexed like the districts with :data:`DISTRICT_CORRIDOR_COLUMNS`: lengths in
        metres, costs in yuan (trench + pipes + connections), savings in percent, connections
        counted per utility.
    utilities
        DataFrame, one row per district and utility (plus ``trench``): ``length_m``,
        ``separate_length_m``, ``connections``, ``separate_connections``, ``cost_yuan``,
        ``separate_cost_yuan``.
    """

    segments: gpd.GeoDataFrame
    districts: pd.DataFrame
    utilities: pd.DataFrame

    def totals(self) -> dict[str, float]:
        """Return the run's totals: corridor and separate length (m) and cost (yuan), savings (%)."""
        d = self.districts
        length, separate = float(d["corridor_length_m"].sum()), float(d["separate_length_m"].sum())
        cost, separate_cost = float(d["cost_yuan"].sum()), float(d["separate_cost_yuan"].sum())
        return {
            "districts": len(d),
            "corridor_length_m": round(length, 1),
            "separate_length_m": round(separate, 1),
            "saving_pct": _pct(length, separate),
            "cost_yuan": round(cost),
            "separate_cost_yuan": round(separate_cost),
            "cost_saving_pct": _pct(cost, separate_cost),
        }


def _pct(value: float, base: float) -> float:
    return round(100.0 * (1.0 - value / base), 1) if base > 0 else 0.0


def utilities_of(value: object) -> tuple[str, ...]:
    """Return the utilities named by a mains layer value (``给水``, ``排水``, ``gas;power``...).

    ``排水``/``drainage`` means both rain and sewage; several names may be joined by ``,;、/``.

    Raises
    ------
    ValueError
        For a name that is not a utility (the message lists the accepted names).
    """
    text = normalise_text(str(value)).lower()
    out: list[str] = []
    for part in (p.strip() for p in _split_names(text)):
        if not part:
            continue
        if part not in UTILITY_ALIASES:
            raise ValueError(f"unknown utility {part!r}; use one of {', '.join(UTILITY_ALIASES)}")
        out.extend(u for u in UTILITY_ALIASES[part] if u not in out)
    return tuple(out)


def _split_names(text: str) -> list[str]:
    for sep in ";；、/，":
        text = text.replace(sep, ",")
    return text.split(",")


@dataclass
class _Context:
    """Layers prepared once per run (all in the estates' CRS)."""

    crs: CRS
    policy: Policy
    roads: np.ndarray | None = None
    road_connects: np.ndarray | None = None
    road_tree: shapely.STRtree | None = None
    mains: dict[str, np.ndarray] = field(default_factory=dict)
    buildings: shapely.STRtree | None = None
    building_geoms: np.ndarray | None = None
    fingerprint: bytes = b""  # of the layers and settings above, for the district memo


@dataclass
class _Group:
    utilities: tuple[str, ...]
    basis: str
    main_lines: np.ndarray | None = None


def plan_corridors(
    estates: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    adjacency: gpd.GeoDataFrame,
    policy: Policy,
    *,
    roads: gpd.GeoDataFrame | None = None,
    mains: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    quality: QualityReport | None = None,
    workers: int = 1,
) -> CorridorPlan:
    """Plan the shared corridors of every district and the separate baseline.

    Parameters
    ----------
    estates
        Estates with ``estate_id`` and footprints, in a projected CRS in metres (the run's CRS).
    districts
        Districts with ``district_id``, ``members`` (comma-joined estate ids) and the outline, in
        the same CRS (see :func:`geo.planning.districts.form_districts`).
    adjacency
        Adjacency edges (``source_id``, ``target_id``, ``blocked``, LineString from one estate's
        representative point through the gap to the other's), from
        :func:`geo.planning.adjacency.build_adjacency`.
    policy
        ``policy.corridors``: utilities, search radius, node spacing, connection road classes,
        unit costs (yuan/m), connection cost (yuan), clearances (m).
    roads
        Optional road centre lines in any CRS (OSM schema with ``fclass``; without it every line
        is a route and a connection point).
    mains
        Optional municipal mains (lines) in any CRS; a ``utility`` column (给水, 雨水, 污水, 排水,
        燃气, 电力, 通信 or the English keys) says which utility each serves, else every one.
    buildings
        Optional building footprints (polygons) in any CRS, for the clearance check.
    quality
        Report to which notes (assumed connection points, unknown utilities) are added.
    workers
        Processes planning districts side by side (each district is planned on its own, so the
        result is the same); 1 plans them in this process. More than one needs the ``fork`` start
        method (Linux) and at least :data:`MIN_DISTRICTS_PER_WORKER` districts per process, else
        the districts are planned in this process.

    Returns
    -------
    CorridorPlan
        Segments, district columns and the per-utility table.

    Raises
    ------
    ValueError
        If ``estates`` is not in a projected CRS.
    InputError
        If a mains layer names an unknown utility.
    """
    if estates.crs is None or not CRS.from_user_input(estates.crs).is_projected:
        raise ValueError(
            f"estates must be in a projected CRS in metres, not {estates.crs}; "
            "use geo.core.crs.metric_crs_for() first"
        )
    quality = quality if quality is not None else QualityReport()
    ctx = _prepare(estates.crs, policy, roads, mains, buildings)
    ids = estates["estate_id"].astype(str).to_numpy()
    anchors = dict(zip(ids, shapely.point_on_surface(estates.geometry.to_numpy()), strict=True))
    open_edges = adjacency.loc[~adjacency["blocked"].astype(bool)]
    paths_of: dict[str, list[tuple[str, shapely.Geometry]]] = defaultdict(list)
    for s, t, g in zip(
        open_edges["source_id"].astype(str),
        open_edges["target_id"].astype(str),
        open_edges.geometry,
        strict=True,
    ):
        paths_of[s].append((t, g))
    tasks = []
    for district_id, member_list, outline in zip(
        districts["district_id"], districts["members"], districts.geometry, strict=True
    ):
        members = [m for m in str(member_list).split(",") if m]
        in_district = set(members)
        paths = [g for m in members for t, g in paths_of[m] if t in in_district]
        tasks.append((str(district_id), members, outline, [anchors[m] for m in members], paths))
    rows, segments, table = [], [], []
    assumed: list[str] = []
    # districts planned before with the same content come from the memo (when on, see _MEMO)
    memo_on = _memo.enabled()
    keys = [_district_key(ctx, *task[1:]) if memo_on else b"" for task in tasks]
    found: list[_DistrictResult | None] = [_MEMO.get(key) for key in keys]
    missing = [i for i, result in enumerate(found) if result is None]
    todo = [(_ANY_DISTRICT, *tasks[i][1:]) if memo_on else tasks[i] for i in missing]
    for i, result in zip(missing, _plan_districts(todo, ctx, workers), strict=True):
        _MEMO.put(keys[i], result)
        found[i] = result
    for task, result in zip(tasks, found, strict=True):
        assert result is not None
        if memo_on:
            result = result.for_district(task[0])
        rows.append(result.row)
        segments.append(result.segments)
        table.extend(result.table)
        if "outline" in result.row["corridor_basis"]:
            assumed.append(str(district_id))
    if assumed:
        quality.add(
            "warning",
            "corridors",
            f"{len(assumed)} districts",
            "no mains or connection roads near: one connection point assumed on the district "
            "outline (" + ", ".join(assumed[:5]) + ("..." if len(assumed) > 5 else "") + ")",
            "give the mains (--mains) or the roads (--roads) for real connection points",
        )
    return _assemble(rows, segments, table, districts, ctx)


#: Fewest districts per process worth the start of a worker process.
MIN_DISTRICTS_PER_WORKER = 200
_CHUNK_DISTRICTS = 25
_FORK_CONTEXT: _Context | None = None  # the context, inherited by forked worker processes


def _plan_districts(
    tasks: list[tuple[str, list[str], shapely.Geometry, list, list]], ctx: _Context, workers: int
) -> Iterator[_DistrictResult]:
    """Plan each district (in order), in this process or in ``workers`` forked processes."""
    workers = min(workers, len(tasks) // MIN_DISTRICTS_PER_WORKER)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for task in tasks:
            yield _plan_district(*task, ctx)
        return
    global _FORK_CONTEXT
    _FORK_CONTEXT = ctx  # forked workers inherit it: the roads and their index are not pickled
    try:
        chunks = [tasks[i : i + _CHUNK_DISTRICTS] for i in range(0, len(tasks), _CHUNK_DISTRICTS)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for results in pool.imap(_plan_chunk, chunks):
                yield from results
    finally:
        _FORK_CONTEXT = None


def _plan_chunk(
    tasks: list[tuple[str, list[str], shapely.Geometry, list, list]],
) -> list[_DistrictResult]:
    assert _FORK_CONTEXT is not None
    return [_plan_district(*task, _FORK_CONTEXT) for task in tasks]


def _prepare(
    crs: CRS,
    policy: Policy,
    roads: gpd.GeoDataFrame | None,
    mains: gpd.GeoDataFrame | None,
    buildings: gpd.GeoDataFrame | None,
) -> _Context:
    ctx = _Context(crs=crs, policy=policy)
    settings = policy.corridors
    if _memo.enabled():
        ctx.fingerprint = digest(
            CRS.from_user_input(crs).to_wkt(),
            settings,
            policy.adjacency.tolerance_m,  # closes the outline (_segments)
            layers=(roads, mains, buildings),
            columns=("fclass", *_UTILITY_COLUMNS),
        )
        found = _CONTEXTS.get(ctx.fingerprint)
        if found is not None:  # same layers and settings: only the rest of the policy differs
            return replace(found, policy=policy)
    if roads is not None and len(roads):
        frame = roads
        if "fclass" in frame:
            frame = frame.loc[~frame["fclass"].isin(settings.excluded_road_classes)]
        geoms = _lines(frame.to_crs(crs).geometry.to_numpy())
        keep = ~shapely.is_empty(geoms)
        ctx.roads = geoms[keep]
        connects = (
            frame["fclass"].isin(settings.connection_road_classes).to_numpy()
            if "fclass" in frame
            else np.ones(len(frame), dtype=bool)
        )
        ctx.road_connects = connects[keep]
        ctx.road_tree = shapely.STRtree(ctx.roads)
    if mains is not None and len(mains):
        column = next((c for c in _UTILITY_COLUMNS if c in mains.columns), None)
        geoms = _lines(mains.to_crs(crs).geometry.to_numpy())
        served: list[tuple[str, ...]] = []
        for row, value in enumerate(mains[column] if column else [None] * len(mains)):
            if value is None or pd.isna(value) or not str(value).strip():
                served.append(UTILITIES)
                continue
            try:
                served.append(utilities_of(value))
            except ValueError as exc:
                raise InputError(
                    str(exc), source="mains", where=f"feature {row + 1}, column {column}"
                ) from exc
        for utility in settings.utilities:
            picked = np.array([utility in s for s in served], dtype=bool)
            lines = geoms[picked & ~shapely.is_empty(geoms)]
            if len(lines):
                ctx.mains[utility] = lines
    if buildings is not None and len(buildings):
        geoms = buildings.to_crs(crs).geometry.to_numpy()
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        ctx.building_geoms = geoms
        ctx.buildings = shapely.STRtree(geoms)
    _CONTEXTS.put(ctx.fingerprint, ctx)
    return ctx


#: Prepared layers (roads, mains and buildings projected, filtered, indexed) by content: the app
#: re-plans after each policy change with the same layers (``geo.core._memo``, on in the app only).
_CONTEXTS: Memo[_Context] = Memo(4)


def _lines(geoms: np.ndarray) -> np.ndarray:
    """Lines of a layer: polygons as their boundaries, points dropped (empty)."""
    geoms = shapely.force_2d(geoms)
    dims = shapely.get_dimensions(geoms)
    out = np.where(dims == 2, shapely.boundary(geoms), geoms)
    out = np.where(dims == 0, shapely.from_wkt("LINESTRING EMPTY"), out)
    return np.where(shapely.is_missing(out), shapely.from_wkt("LINESTRING EMPTY"), out)


@dataclass
class _DistrictResult:
    row: dict[str, object]
    segments: _Segments | None
    table: list[dict[str, object]]

    def for_district(self, district_id: str) -> _DistrictResult:
        """A copy labelled with ``district_id`` (plans are memoised under a placeholder id)."""
        segments = None
        if self.segments is not None:
            segments = _Segments(
                [{**row, "district_id": district_id} for row in self.segments.rows],
                list(self.segments.geoms),
                self.segments.clearance_ok,
            )
        table = [{**row, "district_id": district_id} for row in self.table]
        return _DistrictResult(dict(self.row), segments, table)


#: Placeholder district id of memoised plans (see ``_MEMO``).
_ANY_DISTRICT = "\x00district"


#: District plans by content: a district's corridors depend only on its members, their shapes
#: and paths, the road/mains/building layers and the settings (all in the key, by value), not on
#: its id or other districts. The app re-plans after every policy change and most districts come
#: back unchanged; their plans are reused. Results are identical with or without the memo.
_MEMO: Memo[_DistrictResult] = Memo(4096)


def _district_key(
    ctx: _Context,
    members: list[str],
    outline: shapely.Geometry,
    anchors: list[shapely.Geometry],
    paths: list[shapely.Geometry],
) -> bytes:
    shapes = b"".join(shapely.to_wkb(np.array([outline, *anchors, *paths], dtype=object)))
    return digest(ctx.fingerprint, members, shapes)


@dataclass
class _Segments:
    """A district's segments as plain rows (one GeoDataFrame is made for the run, not for each)."""

    rows: list[dict[str, object]]
    geoms: list[shapely.Geometry]
    clearance_ok: np.ndarray | None  # None without buildings


def _plan_district(
    district_id: str,
    members: list[str],
    outline: shapely.Geometry,
    anchors: list[shapely.Geometry],
    paths: list[shapely.Geometry],
    ctx: _Context,
) -> _DistrictResult:
    settings = ctx.policy.corridors
    region = shapely.buffer(outline, settings.search_radius_m, quad_segs=4)
    lines: list[shapely.Geometry] = list(paths)
    connect_roads = None
    if ctx.road_tree is not None:
        hit = ctx.road_tree.query(region, predicate="intersects")
        if len(hit):
            local = shapely.intersection(ctx.roads[hit], region)
            keep = ~shapely.is_empty(local)
            local, connects = local[keep], ctx.road_connects[hit][keep]
            if len(local):
                lines.extend(shapely.segmentize(local, settings.node_spacing_m))
                lines.extend(_connectors(anchors, shapely.union_all(local), _EXTEND_M))
                if connects.any():
                    connect_roads = local[connects]
    local_mains: dict[str, np.ndarray] = {}
    for utility, mains in ctx.mains.items():
        clipped = shapely.intersection(mains, region)
        clipped = clipped[~shapely.is_empty(clipped)]
        if len(clipped):
            local_mains[utility] = clipped
    if local_mains:
        every = shapely.union_all(np.concatenate(list(local_mains.values())))
        lines.extend(_connectors(anchors, every, 0.0))
    groups = _groups(settings.utilities, local_mains, connect_roads is not None)
    graph, estate_nodes = _graph(lines, anchors, members, settings.node_spacing_m)
    candidates = {
        g.utilities: _candidates(graph, estate_nodes, g, connect_roads, outline, ctx)
        for g in groups
    }
    for g in groups:
        if not candidates[g.utilities] and g.basis == "mains" and connect_roads is not None:
            g.basis = "roads"  # no main within reach: the streets instead
            candidates[g.utilities] = _candidates(
                graph, estate_nodes, g, connect_roads, outline, ctx
            )
    if any(not c for c in candidates.values()):
        # no reachable main or connection road for some utilities: assume the outline
        frontage = _frontage_points(anchors, outline)
        lines.extend(shapely.LineString([a, f]) for a, f in zip(anchors, frontage, strict=True))
        graph, estate_nodes = _graph(lines, anchors, members, settings.node_spacing_m)
        for g in groups:
            candidates[g.utilities] = _candidates(
                graph, estate_nodes, g, connect_roads, outline, ctx
            )
            if not candidates[g.utilities]:
                g.basis = "outline"
                candidates[g.utilities] = _median_frontage(graph, estate_nodes, frontage)
    solved = {
        g.utilities: _solve(graph, estate_nodes, candidates[g.utilities], g, ctx) for g in groups
    }
    at = {estate_id: graph.node(i) for estate_id, i in estate_nodes.items()}
    return _account(district_id, members, outline, at, groups, solved, ctx)


def _connectors(
    anchors: list[shapely.Geometry], target: shapely.Geometry, overshoot: float
) -> list[shapely.Geometry]:
    """Straight lines from each anchor to the nearest point of ``target`` (overshooting it)."""
    out = []
    for line in shapely.shortest_line(np.array(anchors, dtype=object), target):
        (x0, y0), (x1, y1) = line.coords
        length = float(np.hypot(x1 - x0, y1 - y0))
        if length <= _ON_LINE_M:
            continue
        k = (length + overshoot) / length
        out.append(shapely.LineString([(x0, y0), (x0 + k * (x1 - x0), y0 + k * (y1 - y0))]))
    return out


def _frontage_points(
    anchors: list[shapely.Geometry], outline: shapely.Geometry
) -> list[shapely.Geometry]:
    """The point of the outline's exterior nearest to each anchor."""
    polygons = shapely.get_parts(outline)
    exterior = shapely.union_all([shapely.get_exterior_ring(p) for p in polygons])
    return [shapely.get_point(shapely.shortest_line(a, exterior), 1) for a in anchors]


def _groups(
    utilities: tuple[str, ...], local_mains: dict[str, np.ndarray], has_roads: bool
) -> list[_Group]:
    """Utilities sharing connection points share one tree: all without mains, one per main set."""
    default = [u for u in utilities if u not in local_mains]
    groups = []
    if default:
        groups.append(_Group(tuple(default), "roads" if has_roads else "outline"))
    by_lines: dict[int, list[str]] = defaultdict(list)
    keyed: dict[int, np.ndarray] = {}
    for u in utilities:
        if u in local_mains:
            key = hash(tuple(g.wkb for g in local_mains[u]))
            by_lines[key].append(u)
            keyed[key] = local_mains[u]
    for key, us in by_lines.items():
        groups.append(_Group(tuple(us), "mains", keyed[key]))
    return groups


@dataclass
class _Network:
    """A district's candidate graph as arrays (small: a few hundred edges; scipy does the search).

    Nodes are rows of ``xy`` (metres, rounded to the millimetre); edges are ``u < v`` with their
    length ``w`` (m), one edge per node pair (the shortest).
    """

    xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    _labels: np.ndarray | None = None

    def node(self, i: int) -> tuple[float, float]:
        return (float(self.xy[i, 0]), float(self.xy[i, 1]))

    def labels(self) -> np.ndarray:
        """Connected component of each node."""
        if self._labels is None:
            self._labels = connected_components(self.matrix(), directed=False)[1]
        return self._labels

    def matrix(self) -> sparse.csr_matrix:
        """The graph as a sparse matrix of edge lengths (upper triangle; search it undirected)."""
        n = len(self.xy)
        return sparse.csr_matrix((self.w, (self.u, self.v)), shape=(n, n))

    def join(self, a: int, b: int, length: float) -> None:
        """Add a straight edge between nodes ``a`` and ``b`` (``length`` m)."""
        self.u = np.append(self.u, min(a, b))
        self.v = np.append(self.v, max(a, b))
        self.w = np.append(self.w, length)
        self._labels = None

    def nearest(self, x: float, y: float, among: np.ndarray | None = None) -> tuple[int, float]:
        """The node nearest to (x, y) (first in node order on a tie), and its distance (m)."""
        nodes = np.arange(len(self.xy)) if among is None else among
        d = np.hypot(self.xy[nodes, 0] - x, self.xy[nodes, 1] - y)
        k = int(np.argmin(d))
        return int(nodes[k]), float(d[k])


def _graph(
    lines: list[shapely.Geometry],
    anchors: list[shapely.Geometry],
    members: list[str],
    spacing: float,
) -> tuple[_Network, dict[str, int]]:
    """Node the lines and return the graph of straight edges (length in m) and each estate's node."""
    noded = shapely.get_parts(
        shapely.union_all(shapely.segmentize(np.array(lines, dtype=object), spacing))
    )
    coords, which = shapely.get_coordinates(noded, return_index=True)
    coords = np.round(coords, 3)
    same = which[:-1] == which[1:]
    a, b = coords[:-1][same], coords[1:][same]
    length = np.hypot(*(b - a).T)
    a, b, length = a[length > 0], b[length > 0], length[length > 0]
    xy, inverse = np.unique(np.concatenate([a, b]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    i, j = inverse[: len(a)], inverse[len(a) :]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    order = np.lexsort((length, hi, lo))  # per node pair, the shortest edge first
    lo, hi, length = lo[order], hi[order], length[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    net = _Network(xy, lo[first], hi[first], length[first])
    estate_nodes = {
        estate_id: net.nearest(point.x, point.y)[0]
        for estate_id, point in zip(members, anchors, strict=True)
    }
    _join_components(net, list(estate_nodes.values()))
    return net, estate_nodes


def _join_components(net: _Network, terminals: list[int]) -> None:
    """Join estates that the lines leave apart with a straight edge (should not happen)."""
    labels = net.labels()
    for t in terminals[1:]:
        if labels[t] == labels[terminals[0]]:
            continue
        inside = np.flatnonzero(labels == labels[terminals[0]])
        near, d = net.nearest(*net.xy[t], among=inside)
        net.join(t, near, d)
        labels = net.labels()


def _candidates(
    net: _Network,
    estate_nodes: dict[str, int],
    group: _Group,
    connect_roads: np.ndarray | None,
    outline: shapely.Geometry,
    ctx: _Context,
) -> dict[int, tuple[float, shapely.Geometry | None]]:
    """Connection nodes of a group reachable from the estates: node -> (link length, line)."""
    labels = net.labels()
    nodes = np.flatnonzero(labels == labels[next(iter(estate_nodes.values()))])
    points = shapely.points(net.xy[nodes])
    out: dict[int, tuple[float, shapely.Geometry | None]] = {}
    if group.basis == "mains" and group.main_lines is not None:
        tree = shapely.STRtree(group.main_lines)
        idx, dist = tree.query_nearest(
            points, max_distance=ctx.policy.corridors.mains_reach_m, return_distance=True
        )
        best: dict[int, tuple[float, int]] = {}
        for (p, m), d in zip(idx.T, dist, strict=True):
            if p not in best or d < best[p][0]:
                best[p] = (float(d), int(m))
        for p, (d, m) in best.items():
            link = shapely.shortest_line(points[p], group.main_lines[m]) if d > _ON_LINE_M else None
            out[int(nodes[p])] = (d if link is not None else 0.0, link)
    elif group.basis == "roads" and connect_roads is not None:
        tree = shapely.STRtree(connect_roads)
        on = np.unique(tree.query(points, predicate="dwithin", distance=_ON_LINE_M)[0])
        if len(on):
            xy = net.xy[nodes[on]]
            outside = ~shapely.contains_xy(outline, xy[:, 0], xy[:, 1])
            out = {int(n): (0.0, None) for n in nodes[on][outside]}
    return out


def _median_frontage(
    net: _Network, estate_nodes: dict[str, int], frontage: list[shapely.Geometry]
) -> dict[int, tuple[float, shapely.Geometry | None]]:
    """The frontage point with the least total path length to all member estates."""
    options = sorted({net.nearest(f.x, f.y)[0] for f in frontage}, key=lambda i: tuple(net.xy[i]))
    reach = dijkstra(net.matrix(), directed=False, indices=sorted(set(estate_nodes.values())))
    total = reach[:, options].sum(axis=0)
    return {options[int(np.argmin(total))]: (0.0, None)}


@dataclass
class _Solution:
    tree: nx.Graph  # includes MAIN; MAIN edges carry length and link geometry
    paths: dict[str, dict[tuple[object, ...], float]]  # baseline edge key -> length, per estate
    union: nx.Graph
    method: str


def _per_metre(utilities: tuple[str, ...], ctx: _Context) -> float:
    c = ctx.policy.corridors
    return c.trench_yuan_per_m + sum(getattr(c, f"{u}_yuan_per_m") for u in utilities)


def _solve(
    net: _Network,
    estate_nodes: dict[str, int],
    candidates: dict[int, tuple[float, shapely.Geometry | None]],
    group: _Group,
    ctx: _Context,
) -> _Solution:
    """Steiner tree and separate baseline of one utility group.

    The graph gets one more node, the municipal network (index ``len(net.xy)``), linked to each
    connection node by an edge weighted link length + the connection's cost in metres of corridor.
    """
    per_metre = _per_metre(group.utilities, ctx)
    connection_m = (
        ctx.policy.corridors.connection_yuan * len(group.utilities) / per_metre
        if per_metre > 0
        else 0.0
    )
    main = len(net.xy)
    linked = np.array(sorted(candidates), dtype=np.int64)
    link_m = np.array([candidates[int(n)][0] for n in linked], dtype=float)
    u = np.concatenate([net.u, linked])
    v = np.concatenate([net.v, np.full(len(linked), main)])
    length = np.concatenate([net.w, link_m])
    weight = np.concatenate([net.w, link_m + connection_m])
    matrix = sparse.csr_matrix((weight, (u, v)), shape=(main + 1, main + 1))
    edge_of = _edge_index(u, v)

    def label(i: int) -> object:
        return MAIN if i == main else net.node(i)

    # the separate baseline: each estate's shortest path to the network
    _, pred = dijkstra(matrix, directed=False, indices=main, return_predecessors=True)
    paths: dict[str, dict[tuple[object, ...], float]] = {}
    in_union: set[int] = set()
    for estate_id, node in estate_nodes.items():
        ks = _route_edges(pred, node, edge_of)
        paths[estate_id] = {
            _key(label(int(u[k])), label(int(v[k])), group.utilities): float(length[k]) for k in ks
        }
        in_union.update(ks)
    terminals = np.array(sorted({*estate_nodes.values(), main}))
    union = np.array(sorted(in_union), dtype=np.int64)
    union = union[_kruskal(u[union], v[union], weight[union])]
    union = union[_prune_edges(u[union], v[union], terminals)]
    tree = _mehlhorn(matrix, u, v, weight, terminals, edge_of)

    def graph(ks: np.ndarray) -> nx.Graph:
        out = nx.Graph()
        for k in ks:
            a, b = int(u[k]), int(v[k])
            data = {"weight": float(weight[k]), "length": float(length[k])}
            if b == main:
                data["link"] = candidates[a][1]
            out.add_edge(label(a), label(b), **data)
        return out

    union_tree = graph(union)
    if weight[tree].sum() <= weight[union].sum() + 1e-9:
        return _Solution(graph(tree), paths, union_tree, f"steiner-{STEINER_METHOD}")
    return _Solution(union_tree, paths, union_tree, "shortest-path union")


def _edge_index(u: np.ndarray, v: np.ndarray) -> dict[tuple[int, int], int]:
    """Position of each edge by its node pair ``(u, v)``, ``u < v``."""
    return {(int(a), int(b)): k for k, (a, b) in enumerate(zip(u, v, strict=True))}


def _route_edges(pred: np.ndarray, node: int, edge_of: dict[tuple[int, int], int]) -> list[int]:
    """The edges from ``node`` back to the source of a scipy predecessor array."""
    route = [node]
    while pred[route[-1]] >= 0:
        route.append(int(pred[route[-1]]))
    return [edge_of[(min(a, b), max(a, b))] for a, b in itertools.pairwise(route)]


def _kruskal(u: np.ndarray, v: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Minimum spanning forest (Kruskal; ties by node order): a mask of the edges kept."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    keep = np.zeros(len(u), dtype=bool)
    for k in np.lexsort((v, u, weight)):
        ra, rb = root(int(u[k])), root(int(v[k]))
        if ra != rb:
            parent[ra] = rb
            keep[k] = True
    return keep


def _prune_edges(u: np.ndarray, v: np.ndarray, terminals: np.ndarray) -> np.ndarray:
    """Mask of the edges of a forest left after removing non-terminal leaves until none is left."""
    keep = np.ones(len(u), dtype=bool)
    size = int(max(u.max(initial=0), v.max(initial=0), terminals.max(initial=0))) + 1
    is_terminal = np.zeros(size, dtype=bool)
    is_terminal[terminals] = True
    while True:
        degree = np.bincount(u[keep], minlength=size) + np.bincount(v[keep], minlength=size)
        leaf = (degree == 1) & ~is_terminal
        drop = keep & (leaf[u] | leaf[v])
        if not drop.any():
            return keep
        keep &= ~drop


def _mehlhorn(
    matrix: sparse.csr_matrix,
    u: np.ndarray,
    v: np.ndarray,
    weight: np.ndarray,
    terminals: np.ndarray,
    edge_of: dict[tuple[int, int], int] | None = None,
) -> np.ndarray:
    """Approximate minimum Steiner tree (Mehlhorn 1988): the indices of its edges.

    ``edge_of`` is :func:`_edge_index` of ``u, v`` when the caller has it already.

    1. Each node's nearest terminal (one multi-source Dijkstra); 2. every edge joining two such
    regions gives a terminal-to-terminal distance ``d(s, x) + w(x, y) + d(y, t)``; 3. a minimum
    spanning tree of those distances; 4. each of its edges expanded into its path (terminal to
    bridge edge to terminal). Weight at most that of a minimum spanning tree of the terminals'
    shortest-path distances, so within ``2 (1 - 1/l)`` of the optimum (``l``: leaves of an optimal
    tree). Nodes that reach no terminal are ignored. Same method as networkx's
    ``steiner_tree(method="mehlhorn")``, in scipy arrays: the per-district solve is about 5x
    faster than with networkx (``benchmarks/plan_steps.py``), with the same corridors.
    """
    dist, pred, source = dijkstra(
        matrix, directed=False, indices=terminals, min_only=True, return_predecessors=True
    )
    reach = np.isfinite(dist)
    bridge = np.flatnonzero(reach[u] & reach[v] & (source[u] != source[v]))
    su, sv = source[u[bridge]], source[v[bridge]]
    a, b = np.minimum(su, sv), np.maximum(su, sv)
    through = dist[u[bridge]] + weight[bridge] + dist[v[bridge]]
    order = np.lexsort((through, b, a))  # per pair of terminals, the shortest bridge
    bridge, a, b, through = bridge[order], a[order], b[order], through[order]
    first = np.ones(len(bridge), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    bridge, a, b, through = bridge[first], a[first], b[first], through[first]
    edge_of = _edge_index(u, v) if edge_of is None else edge_of
    chosen: set[int] = set()
    for k in bridge[_kruskal(a, b, through)]:
        chosen.add(int(k))
        for end in (int(u[k]), int(v[k])):
            chosen.update(_route_edges(pred, end, edge_of))
    # the paths run in the nearest-terminal forest and the bridges form a tree of its regions,
    # so the expansion is already a tree whose leaves are terminals (Mehlhorn's step 5 is moot)
    return np.array(sorted(chosen), dtype=np.int64)


def _edge_key(u: object, v: object) -> tuple[object, object]:
    return (u, v) if str(u) <= str(v) else (v, u)


def _key(u: object, v: object, utilities: tuple[str, ...]) -> tuple[object, ...]:
    """Key of a corridor edge: the node pair, or for a link to the mains (node, utilities)."""
    if MAIN in (u, v):
        return ("main", u if v == MAIN else v, utilities)
    return _edge_key(u, v)


def _served(tree: nx.Graph, estate_nodes: dict[str, tuple[float, float]]) -> dict:
    """Estates downstream of each edge of a tree rooted at the municipal network."""
    count_at: dict[object, int] = defaultdict(int)
    for node in estate_nodes.values():
        count_at[node] += 1
    parent = dict(nx.bfs_predecessors(tree, MAIN))
    order = [MAIN, *parent]  # BFS order
    below = dict(count_at)
    served = {}
    for node in reversed(order[1:]):
        up = parent[node]
        served[_edge_key(node, up)] = below.get(node, 0)
        below[up] = below.get(up, 0) + below.get(node, 0)
    return served


def _network_figures(
    trees: dict[tuple[str, ...], nx.Graph], ctx: _Context
) -> tuple[dict, float, float, dict[str, float], dict[str, int]]:
    """Edges with their utilities, trench length (m), cost (yuan), per-utility length and taps."""
    edges: dict[tuple[object, object], dict[str, object]] = {}
    by_utility: dict[str, float] = {}
    taps: dict[str, int] = {}
    for utilities, tree in trees.items():
        length = 0.0
        connections = 0
        for u, v, data in tree.edges(data=True):
            key = _key(u, v, utilities)
            entry = edges.setdefault(
                key, {"utilities": set(), "length": data["length"], "link": data.get("link")}
            )
            entry["utilities"] |= set(utilities)
            length += data["length"]
            connections += MAIN in (u, v)
        for utility in utilities:
            by_utility[utility] = length
            taps[utility] = connections
    c = ctx.policy.corridors
    trench = sum(e["length"] for e in edges.values())
    cost = (
        c.trench_yuan_per_m * trench
        + sum(getattr(c, f"{u}_yuan_per_m") * by_utility[u] for u in by_utility)
        + c.connection_yuan * sum(taps.values())
    )
    return edges, trench, cost, by_utility, taps


def _account(
    district_id: str,
    members: list[str],
    outline: shapely.Geometry,
    estate_nodes: dict[str, tuple[float, float]],
    groups: list[_Group],
    solved: dict[tuple[str, ...], _Solution],
    ctx: _Context,
) -> _DistrictResult:
    c = ctx.policy.corridors
    # the separate baseline: per estate, its own trench (union of its paths) and connections
    separate_length = 0.0
    separate_by_utility: dict[str, float] = defaultdict(float)
    for estate_id in members:
        own: dict[tuple[object, ...], float] = {}
        for utilities, sol in solved.items():
            own.update(sol.paths[estate_id])
            for utility in utilities:
                separate_by_utility[utility] += sum(sol.paths[estate_id].values())
        separate_length += sum(own.values())
    n_util = sum(len(g.utilities) for g in groups)
    separate_connections = len(members) * n_util
    separate_cost = (
        c.trench_yuan_per_m * separate_length
        + sum(getattr(c, f"{u}_yuan_per_m") * separate_by_utility[u] for u in separate_by_utility)
        + c.connection_yuan * separate_connections
    )
    trees = {k: s.tree for k, s in solved.items()}
    edges, length, cost, by_utility, taps = _network_figures(trees, ctx)
    method = "+".join(sorted({s.method for s in solved.values()}))
    if length > separate_length + 1e-6 or cost > separate_cost + 1e-3:
        trees = {k: s.union for k, s in solved.items()}
        edges, length, cost, by_utility, taps = _network_figures(trees, ctx)
        method = "shortest-path union"
    served: dict[tuple[object, object], int] = defaultdict(int)
    for tree in trees.values():
        for key, n in _served(tree, estate_nodes).items():
            served[key] = max(served[key], n)
    segments = _segments(district_id, edges, served, outline, ctx)
    conflicts = (
        int((~segments.clearance_ok).sum())
        if segments is not None and segments.clearance_ok is not None
        else pd.NA
    )
    row = {
        "corridor_basis": "+".join(sorted({g.basis for g in groups})),
        "corridor_method": method,
        "corridor_length_m": round(length, 1),
        "separate_length_m": round(separate_length, 1),
        "saving_pct": _pct(length, separate_length),
        "cost_yuan": round(cost),
        "separate_cost_yuan": round(separate_cost),
        "cost_saving_pct": _pct(cost, separate_cost),
        "connections": int(sum(taps.values())),
        "separate_connections": int(separate_connections),
        "clearance_conflicts": conflicts,
    }
    table = [
        {
            "district_id": district_id,
            "utility": "trench",
            "length_m": round(length, 1),
            "separate_length_m": round(separate_length, 1),
            "connections": pd.NA,
            "separate_connections": pd.NA,
            "cost_yuan": round(c.trench_yuan_per_m * length),
            "separate_cost_yuan": round(c.trench_yuan_per_m * separate_length),
        }
    ]
    for utility in by_utility:
        pipe = getattr(c, f"{utility}_yuan_per_m")
        table.append(
            {
                "district_id": district_id,
                "utility": utility,
                "length_m": round(by_utility[utility], 1),
                "separate_length_m": round(separate_by_utility[utility], 1),
                "connections": taps[utility],
                "separate_connections": len(members),
                "cost_yuan": round(pipe * by_utility[utility] + c.connection_yuan * taps[utility]),
                "separate_cost_yuan": round(
                    pipe * separate_by_utility[utility] + c.connection_yuan * len(members)
                ),
            }
        )
    return _DistrictResult(row, segments, table)


def _segments(
    district_id: str,
    edges: dict[tuple[object, object], dict[str, object]],
    served: dict[tuple[object, object], int],
    outline: shapely.Geometry,
    ctx: _Context,
) -> _Segments | None:
    # the district: its outline closed over the gaps between members (at most the adjacency
    # tolerance wide), plus 0.5 m so lines along the outline count as inside
    close = ctx.policy.adjacency.tolerance_m / 2 + _INSIDE_M
    inside = shapely.buffer(shapely.buffer(outline, close), _INSIDE_M - close)
    shapely.prepare(inside)
    parts: dict[tuple[str, str], list[shapely.Geometry]] = defaultdict(list)
    for key, entry in edges.items():
        utilities = ",".join(u for u in UTILITIES if u in entry["utilities"])
        if len(key) == 3:
            if entry["link"] is not None:  # the link from a node to a main
                parts[(utilities, "connection")].append(entry["link"])
            continue
        line = shapely.LineString([key[0], key[1]])
        kind = "trunk" if served.get(key, 0) >= 2 else "branch"
        parts[(utilities, kind)].append(line)
    # the parts outside the outline (beyond the estates' red lines) are the connection
    for (utilities, kind), lines in list(parts.items()):
        if kind == "connection":
            continue
        both = shapely.MultiLineString(lines)
        outside = shapely.difference(both, inside)
        if not outside.is_empty:
            parts[(utilities, kind)] = list(shapely.get_parts(shapely.intersection(both, inside)))
            parts[(utilities, "connection")].extend(shapely.get_parts(outside))
    rows, geoms = [], []
    c = ctx.policy.corridors
    for (utilities, kind), lines in sorted(parts.items()):
        lines = [g for g in lines if shapely.get_type_id(g) == 1 and g.length > 0]
        if not lines:
            continue
        merged = shapely.line_merge(shapely.MultiLineString(lines))
        names = utilities.split(",")
        per_metre = _per_metre(tuple(names), ctx)
        clearance = max(getattr(c, f"clearance_{u}_m") for u in names)
        for piece in shapely.get_parts(merged):
            rows.append(
                {
                    "district_id": district_id,
                    "utilities": utilities,
                    "kind": kind,
                    "length_m": round(piece.length, 1),
                    "cost_yuan": round(piece.length * per_metre),
                    "clearance_m": clearance,
                }
            )
            geoms.append(piece)
    if not rows:
        return None
    clearances = np.array([r["clearance_m"] for r in rows], dtype=float)
    return _Segments(rows, geoms, _clearance_ok(np.array(geoms, dtype=object), clearances, ctx))


def _clearance_ok(geoms: np.ndarray, clearances: np.ndarray, ctx: _Context) -> np.ndarray | None:
    """False where a segment comes closer to a building than its clearance; None without them."""
    if ctx.buildings is None:
        return None
    ok = np.ones(len(geoms), dtype=bool)
    for clearance in pd.unique(clearances):
        rows = np.flatnonzero(clearances == clearance)
        near = ctx.buildings.query(geoms[rows], predicate="dwithin", distance=float(clearance))[0]
        ok[rows[np.unique(near)]] = False
    return ok


def _assemble(
    rows: list[dict[str, object]],
    segments: list[_Segments | None],
    table: list[dict[str, object]],
    districts: gpd.GeoDataFrame,
    ctx: _Context,
) -> CorridorPlan:
    frame = pd.DataFrame(rows, index=districts.index, columns=list(DISTRICT_CORRIDOR_COLUMNS))
    for col in ("connections", "separate_connections"):
        frame[col] = frame[col].astype("Int64")
    frame["clearance_conflicts"] = frame["clearance_conflicts"].astype("Int64")
    for col in ("corridor_basis", "corridor_method"):
        frame[col] = frame[col].astype("string")
    kept = [s for s in segments if s is not None]
    if kept:
        seg = gpd.GeoDataFrame(
            [r for s in kept for r in s.rows],
            geometry=gpd.GeoSeries([g for s in kept for g in s.geoms], crs=ctx.crs),
            crs=ctx.crs,
        )
        if ctx.buildings is None:
            seg["clearance_ok"] = pd.Series(pd.NA, index=seg.index, dtype="boolean")
        else:
            flags = np.concatenate([s.clearance_ok for s in kept])
            seg["clearance_ok"] = pd.Series(flags, index=seg.index, dtype="boolean")
    else:
        seg = gpd.GeoDataFrame(
            {c: pd.Series(dtype=object) for c in SEGMENT_COLUMNS},
            geometry=gpd.GeoSeries([], crs=ctx.crs),
        )
    seg = seg[[*SEGMENT_COLUMNS, "geometry"]]
    utilities = pd.DataFrame(
        table,
        columns=[
            "district_id",
            "utility",
            "length_m",
            "separate_length_m",
            "connections",
            "separate_connections",
            "cost_yuan",
            "separate_cost_yuan",
        ],
    )
    for col in ("connections", "separate_connections"):
        utilities[col] = utilities[col].astype("Int64")
    return CorridorPlan(segments=seg, districts=frame, utilities=utilities)
