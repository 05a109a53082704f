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

Modules
-------
This module plans each district (connection points, the search, in order or in worker
processes, memoised by content); :mod:`~geo.facilities.corridor_layers` prepares the input
layers; :mod:`~geo.facilities.corridor_network` holds the candidate graph and the Steiner tree;
:mod:`~geo.facilities.corridor_costs` the accounting, segments and tables. May import: numpy,
pandas, geopandas, shapely, scipy, networkx, pyproj, geo.core and those three modules.
"""

from __future__ import annotations

import multiprocessing
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse.csgraph import dijkstra

from geo.core import _memo
from geo.core._memo import Memo, digest
from geo.core.errors import QualityReport
from geo.core.messages import msg
from geo.core.policy import Policy
from geo.facilities.corridor_costs import (
    DISTRICT_CORRIDOR_COLUMNS,
    MAIN,
    SEGMENT_COLUMNS,
    CorridorPlan,
    _account,
    _assemble,
    _DistrictResult,
    _inside,
    _per_metre,
    _Solution,
    _Tree,
)
from geo.facilities.corridor_layers import (  # noqa: F401  (_CONTEXTS: re-exported for callers)
    _CONTEXTS,
    UTILITY_ALIASES,
    _Context,
    _Group,
    _prepare,
    utilities_of,
)
from geo.facilities.corridor_network import (
    _csr,
    _edge_index,
    _graph,
    _kruskal,
    _mehlhorn,
    _Network,
    _prune_edges,
    _route_edges,
)

__all__ = [
    "DISTRICT_CORRIDOR_COLUMNS",
    "MAIN",
    "SEGMENT_COLUMNS",
    "STEINER_METHOD",
    "UTILITY_ALIASES",
    "CorridorPlan",
    "corridor_reach_m",
    "note_assumed_connections",
    "plan_corridors",
    "utilities_of",
]

STEINER_METHOD = "mehlhorn"
_EXTEND_M = 0.05  # road connectors overshoot the road by this much so noding splits the road
_ON_LINE_M = 0.05


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
            assumed.append(str(task[0]))
    note_assumed_connections(quality, assumed)
    return _assemble(rows, segments, table, districts, ctx)


def note_assumed_connections(quality: QualityReport, district_ids: list[str]) -> None:
    """Note the districts whose connection point was assumed on their outline (none: no note).

    ``district_ids`` in district order; the distributed engine calls this once for the whole run
    after renumbering, so both engines write the same note.
    """
    if district_ids:
        quality.add(
            "warning",
            msg("corridors"),
            msg("{n_assumed} districts", n_assumed=len(district_ids)),
            msg(
                "no mains or connection roads near: one connection point assumed on the district "
                "outline ({districts})",
                districts=", ".join(district_ids[:5]) + ("..." if len(district_ids) > 5 else ""),
            ),
            "give the mains (--mains) or the roads (--roads) for real connection points",
        )


def corridor_reach_m(policy: Policy) -> float:
    """How far from its estates a district's corridors can look for lines (m).

    The search region is the outline (the members and the gaps between them, each at most the
    adjacency tolerance) buffered by ``search_radius_m``; building clearances are checked within
    the largest clearance of the segments in it. Layers beyond this reach of every estate of a
    unit cannot change that unit's corridors (used by :mod:`geo.distributed` to send each unit
    only its part of the roads, mains and buildings).
    """
    c = policy.corridors
    clearance = max(getattr(c, f"clearance_{u}_m") for u in c.utilities) if c.utilities else 0.0
    return c.search_radius_m + policy.adjacency.tolerance_m + clearance + 1.0


#: Fewest districts per process worth the start of a worker process.
MIN_DISTRICTS_PER_WORKER = 200
_CHUNK_DISTRICTS = 25
#: Districts whose layers are clipped together in one process (bounds the memory of the clips).
_BATCH_DISTRICTS = 512
_FORK_CONTEXT: _Context | None = None  # the context, inherited by forked worker processes


def _plan_districts(
    tasks: list[tuple[str, list[str], shapely.Geometry, list, list]], ctx: _Context, workers: int
) -> Iterator[_DistrictResult]:
    """Plan each district (in order), in this process or in ``workers`` forked processes."""
    workers = min(workers, len(tasks) // MIN_DISTRICTS_PER_WORKER)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for i in range(0, len(tasks), _BATCH_DISTRICTS):
            yield from _plan_batch(tasks[i : i + _BATCH_DISTRICTS], ctx)
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
    return _plan_batch(tasks, _FORK_CONTEXT)


def _plan_batch(
    tasks: list[tuple[str, list[str], shapely.Geometry, list, list]], ctx: _Context
) -> list[_DistrictResult]:
    """Plan districts in order; the layers near each are clipped for all of them at once."""
    near = _near_layers(np.array([task[2] for task in tasks], dtype=object), ctx)
    return [_plan_district(*task, n, ctx) for task, n in zip(tasks, near, strict=True)]


@dataclass
class _Near:
    """What a district's corridors see of the run's layers (the run's CRS)."""

    roads: np.ndarray  # road lines clipped to the search region, non-empty, in layer order
    connects: np.ndarray  # which of them are connection roads
    mains: dict[str, np.ndarray]  # per utility, mains clipped to the region, in layer order
    inside: shapely.Geometry  # the district closed over its gaps (prepared, see _inside)


def _near_layers(outlines: np.ndarray, ctx: _Context) -> list[_Near]:
    """The roads and mains within each outline's search region, clipped to it (one pass each).

    The search region is the outline buffered by ``search_radius_m`` (4 segments a quarter
    circle). A line is clipped when it intersects the region (the layer's STRtree), so the clips
    are those of every line of the layer, in the same order.
    """
    settings = ctx.policy.corridors
    regions = shapely.buffer(outlines, settings.search_radius_m, quad_segs=4)
    n = len(outlines)
    empty = np.empty(0, dtype=object)
    roads, connects = [empty] * n, [np.zeros(0, dtype=bool)] * n
    if ctx.road_tree is not None and ctx.roads is not None and ctx.road_connects is not None:
        for i, hit, local in _clipped(ctx.road_tree, ctx.roads, regions):
            roads[i], connects[i] = local, ctx.road_connects[hit]
    mains: list[dict[str, np.ndarray]] = [{} for _ in range(n)]
    for utility, lines in ctx.mains.items():
        for i, _, local in _clipped(ctx.mains_trees[utility], lines, regions):
            mains[i][utility] = local
    inside = _inside(outlines, ctx)
    return [_Near(roads[i], connects[i], mains[i], inside[i]) for i in range(n)]


def _clipped(
    tree: shapely.STRtree, lines: np.ndarray, regions: np.ndarray
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Per region with any: its index, the lines' indices (ascending) and their non-empty clips."""
    which, hit = tree.query(regions, predicate="intersects")
    order = np.lexsort((hit, which))
    which, hit = which[order], hit[order]
    local = shapely.intersection(lines[hit], regions[which])
    keep = ~shapely.is_empty(local)
    which, hit, local = which[keep], hit[keep], local[keep]
    starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]]) if len(which) else []
    ends = [*starts[1:], len(which)]
    for a, b in zip(starts, ends, strict=True):
        yield int(which[a]), hit[a:b], local[a:b]


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


def _plan_district(
    district_id: str,
    members: list[str],
    outline: shapely.Geometry,
    anchors: list[shapely.Geometry],
    paths: list[shapely.Geometry],
    near: _Near,
    ctx: _Context,
) -> _DistrictResult:
    settings = ctx.policy.corridors
    lines: list[shapely.Geometry] = list(paths)
    connect_roads = None
    local = near.roads
    if len(local):
        lines.extend(shapely.segmentize(local, settings.node_spacing_m))
        lines.extend(_connectors(anchors, shapely.union_all(local), _EXTEND_M))
        if near.connects.any():
            connect_roads = local[near.connects]
    local_mains = near.mains
    if local_mains:
        every = shapely.union_all(np.concatenate(list(local_mains.values())))
        lines.extend(_connectors(anchors, every, 0.0))
    groups = _groups(settings.utilities, local_mains, connect_roads is not None)
    candidates: dict[tuple[str, ...], dict[int, tuple[float, shapely.Geometry | None]]] = {
        g.utilities: {} for g in groups
    }
    if not groups or any(g.basis != "outline" for g in groups):
        # (only outline groups: no connection point but on the outline, whose lines come next)
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
    return _account(
        district_id, members, near.inside, graph.points(), estate_nodes, groups, solved, ctx
    )


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
    matrix = _csr(main + 1, u, v, weight)
    edge_of = _edge_index(u, v)

    n_lines = len(net.u)  # edges from here on are the links to the municipal network

    # the separate baseline: each estate's shortest path to the network
    _, pred = dijkstra(matrix, directed=False, indices=main, return_predecessors=True)
    paths: dict[str, dict[object, float]] = {}
    u_list, length_list = u.tolist(), length.tolist()
    keys: list[object] = list(range(n_lines))
    keys.extend(("main", a, group.utilities) for a in u_list[n_lines:])
    in_union: set[int] = set()
    for estate_id, node in estate_nodes.items():
        ks = _route_edges(pred, node, edge_of)
        paths[estate_id] = {keys[k]: length_list[k] for k in ks}
        in_union.update(ks)
    terminals = np.array(sorted({*estate_nodes.values(), main}))
    union = np.array(sorted(in_union), dtype=np.int64)
    union = union[_kruskal(u[union], v[union], weight[union])]
    union = union[_prune_edges(u[union], v[union], terminals)]
    tree = _mehlhorn(matrix, u, v, weight, terminals, edge_of)

    def listed(ks: np.ndarray) -> _Tree:
        order = ks[_listing_order(u[ks], v[ks])].tolist()
        return _Tree(
            [keys[k] for k in order],
            [(u_list[k], int(v[k])) for k in order],
            [length_list[k] for k in order],
            [candidates[u_list[k]][1] if k >= n_lines else None for k in order],
        )

    union_tree = listed(union)
    if weight[tree].sum() <= weight[union].sum() + 1e-9:
        return _Solution(listed(tree), paths, union_tree, f"steiner-{STEINER_METHOD}")
    return _Solution(union_tree, paths, union_tree, "shortest-path union")


def _listing_order(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The order in which ``networkx.Graph`` lists edges ``(a, b)`` added in the given order.

    A graph lists each node's edges to nodes not listed yet, nodes in the order they were first
    added (``a`` before ``b``), each node's edges in the order they were added. So an edge comes
    at its earlier end, ordered by when that end first appeared, then by position.
    """
    if not len(a):
        return np.zeros(0, dtype=np.intp)
    ends = np.stack([a, b], axis=1).ravel()
    nodes, first = np.unique(ends, return_index=True)
    at = np.minimum(first[np.searchsorted(nodes, a)], first[np.searchsorted(nodes, b)])
    return np.lexsort((np.arange(len(a)), at))
