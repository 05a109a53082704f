"""One batch of districts' corridors: candidate lines, connection points, trees and baseline.

Holds the planning of a batch of districts (:func:`_plan_batch`). What gains from it is done for
the whole batch at once: the roads and mains near every district clipped to its search region
(:func:`_near_layers`), the graphs made from each district's noded lines
(:func:`~geo.facilities.corridor_network._graphs`), their connected components, the search
matrices of every utility group (:func:`~geo.facilities.corridor_network._scan_csrs`) and
their searches (:func:`~geo.facilities.corridor_search._search_all`), and at the end the
segments (:func:`~geo.facilities.corridor_costs._complete`). In between, each district on its
own gets its connection points (:func:`_connect`: :func:`_candidates`, or the outline's
1-median :func:`_median_frontage`), its Steiner tree and separate baseline per utility group
(:func:`~geo.facilities.corridor_search._solve`) and its accounting
(:func:`~geo.facilities.corridor_costs._account`). The method is described in
:mod:`geo.facilities.corridors`; a district's result depends on that district only, whatever
the batch.

May import: numpy, shapely, scipy, geo.core and :mod:`~geo.facilities.corridor_layers`,
:mod:`~geo.facilities.corridor_network`, :mod:`~geo.facilities.corridor_search`,
:mod:`~geo.facilities.corridor_segments`, :mod:`~geo.facilities.corridor_costs`.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from geo.core.policy import Policy
from geo.facilities.corridor_costs import _account, _choose, _complete, _Planned, _trunks
from geo.facilities.corridor_layers import _Context, _Group
from geo.facilities.corridor_network import (
    _graph,
    _graphs,
    _join_components,
    _label_components,
    _Network,
    _scan_csr,
    _scan_csrs,
)
from geo.facilities.corridor_search import (  # noqa: F401  (STEINER_METHOD: re-exported)
    STEINER_METHOD,
    _search_all,
    _search_graphs,
    _solve_all,
)
from geo.facilities.corridor_segments import _inside, _inside_of

_EXTEND_M = 0.05  # road connectors overshoot the road by this much so noding splits the road
_ON_LINE_M = 0.05


def _plan_batch(
    tasks: list[tuple[str, list[str], shapely.Geometry, list, list]],
    ctx: _Context,
    ahead: _Buffered | None = None,
) -> _Planned:
    """Plan districts in order; the steps that gain from it are done for all of them at once.

    ``tasks``: per district its id, member estate ids, outline, the members' anchor points and
    the open adjacency paths between members (see :func:`geo.facilities.corridors.plan_corridors`).
    ``ahead``: the districts' buffers computed before, where they were (see :class:`_Buffered`).
    """
    near = _near_layers(np.array([task[2] for task in tasks], dtype=object), ctx, ahead)
    drafts = [_draft(*task, n, ctx) for task, n in zip(tasks, near, strict=True)]
    spacing = ctx.policy.corridors.node_spacing_m
    for d, (graph, estate_nodes) in zip(
        drafts, _graphs([(d.lines, d.anchors, d.members) for d in drafts], spacing), strict=True
    ):
        d.graph, d.estate_nodes = graph, estate_nodes
    _label_components([d.graph for d in drafts])
    # the graphs whose connection is the outline's 1-median: their search matrices at once
    outlined = [d for d in drafts if d.frontage is not None]
    for d in outlined:
        _join_components(d.graph, list(d.estate_nodes.values()))
    graphs = [(len(d.graph.xy), d.graph.u, d.graph.v, d.graph.w) for d in outlined]
    for d, (matrix, _) in zip(outlined, _scan_csrs(graphs), strict=True):
        d.scan = matrix
    connected = [_connect(d, ctx) for d in drafts]
    searches = _search_graphs(
        [
            (graph, candidates[g.utilities], g)
            for d, (graph, _, candidates) in zip(drafts, connected, strict=True)
            for g in d.groups
        ],
        ctx,
    )
    matrices = _scan_csrs([(s.n, s.u, s.v, s.weight) for s in searches])
    found = iter(searches)
    for search, (matrix, edges) in zip(searches, matrices, strict=True):
        search.matrix, search.edges = matrix, edges
    _search_all(searches, [c[1] for d, c in zip(drafts, connected, strict=True) for _ in d.groups])
    solutions = iter(
        _solve_all(
            [
                (estate_nodes, candidates[g.utilities], next(found))
                for d, (_, estate_nodes, candidates) in zip(drafts, connected, strict=True)
                for g in d.groups
            ]
        )
    )
    chosen = [
        _choose(d.members, d.groups, {g.utilities: next(solutions) for g in d.groups}, ctx)
        for d in drafts
    ]
    trunks = _trunks(
        [
            (list(ch.trees.values()), estate_nodes, len(graph.xy))
            for ch, (graph, estate_nodes, _) in zip(chosen, connected, strict=True)
        ]
    )
    accounted = [
        _account(d.members, d.near.inside, graph.xy, d.groups, ch, t, ctx)
        for d, (graph, _, _), ch, t in zip(drafts, connected, chosen, trunks, strict=True)
    ]
    return _complete(accounted, ctx)


@dataclass
class _Near:
    """What a district's corridors see of the run's layers (the run's CRS)."""

    roads: np.ndarray  # road lines clipped to the search region, non-empty, in layer order
    connects: np.ndarray  # which of them are connection roads
    mains: dict[str, np.ndarray]  # per utility, mains clipped to the region, in layer order
    inside: shapely.Geometry  # the district closed over its gaps (prepared, see _inside)


@dataclass
class _Buffered:
    """Districts' search regions and insides (:func:`_inside`) computed ahead; None where not.

    The buffers are the same whenever they are computed; they are the costliest geometry of a
    district, and the run computes some while it prepares the layers (in a thread; see
    :func:`buffer_ahead`).
    """

    regions: np.ndarray
    inside: np.ndarray

    def part(self, start: int, stop: int) -> _Buffered:
        return _Buffered(self.regions[start:stop], self.inside[start:stop])


def _search_regions(outlines: np.ndarray, radius_m: float) -> np.ndarray:
    """Each outline buffered by ``radius_m`` (4 segments a quarter circle)."""
    return shapely.buffer(outlines, radius_m, quad_segs=4)


def buffer_ahead(outlines: np.ndarray, policy: Policy, stop: threading.Event) -> _Buffered:
    """The districts' buffers in order, a few at a time, until ``stop`` is set (or all are done).

    Meant for a thread while the run prepares its layers: shapely's array functions release
    Python's lock, so the buffers take the other core.
    """
    n = len(outlines)
    out = _Buffered(np.full(n, None, dtype=object), np.full(n, None, dtype=object))
    for a in range(0, n, _AHEAD_DISTRICTS):
        if stop.is_set():
            break
        b = min(a + _AHEAD_DISTRICTS, n)
        out.regions[a:b] = _search_regions(outlines[a:b], policy.corridors.search_radius_m)
        out.inside[a:b] = _inside_of(outlines[a:b], policy.adjacency.tolerance_m)
    return out


#: Districts buffered ahead at a time (a stop waits for at most these).
_AHEAD_DISTRICTS = 64


def _near_layers(
    outlines: np.ndarray, ctx: _Context, ahead: _Buffered | None = None
) -> list[_Near]:
    """The roads and mains within each outline's search region, clipped to it (one pass each).

    The search region is the outline buffered by ``search_radius_m`` (4 segments a quarter
    circle). A line is clipped when it intersects the region (the layer's STRtree), so the clips
    are those of every line of the layer, in the same order. The region lies within the
    outline's box grown by the radius, so a district with no line in that box has no region.
    ``ahead``: the buffers already computed (the same), by district.
    """
    radius = ctx.policy.corridors.search_radius_m
    n = len(outlines)
    trees = [ctx.mains_trees[u] for u in ctx.mains]
    if ctx.road_tree is not None:
        trees.append(ctx.road_tree)
    # the region is only drawn where a line comes near: within its box grown by the radius + 1 m
    box = shapely.bounds(outlines) + np.array([-1.0, -1.0, 1.0, 1.0]) * (radius + 1.0)
    near = np.zeros(n, dtype=bool)
    for tree in trees:
        near[tree.query(shapely.box(*box.T))[0]] = True
    drawn = np.flatnonzero(near)
    regions = _computed(
        outlines[drawn], None if ahead is None else ahead.regions[drawn],
        lambda o: _search_regions(o, radius),
    )  # fmt: skip
    empty = np.empty(0, dtype=object)
    roads, connects = [empty] * n, [np.zeros(0, dtype=bool)] * n
    if ctx.road_tree is not None and ctx.roads is not None and ctx.road_connects is not None:
        for i, hit, local in _clipped(ctx.road_tree, ctx.roads, regions):
            roads[drawn[i]], connects[drawn[i]] = local, ctx.road_connects[hit]
    mains: list[dict[str, np.ndarray]] = [{} for _ in range(n)]
    for utility, lines in ctx.mains.items():
        for i, _, local in _clipped(ctx.mains_trees[utility], lines, regions):
            mains[drawn[i]][utility] = local
    inside = _computed(outlines, None if ahead is None else ahead.inside, lambda o: _inside(o, ctx))
    return [_Near(roads[i], connects[i], mains[i], inside[i]) for i in range(n)]


def _computed(
    outlines: np.ndarray, found: np.ndarray | None, compute: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """``compute(outlines)``, taking those already in ``found`` (None: not yet)."""
    if found is None:
        return compute(outlines)
    out = found.copy()
    todo = np.flatnonzero(shapely.is_missing(found))
    if len(todo):
        out[todo] = compute(outlines[todo])
    return out


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
    if not len(which):
        return
    starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]]).tolist()
    for a, b in zip(starts, [*starts[1:], len(which)], strict=True):
        yield int(which[a]), hit[a:b], local[a:b]


@dataclass
class _Draft:
    """A district's candidate lines and first graph, before its components are labelled."""

    district_id: str
    members: list[str]
    outline: shapely.Geometry
    anchors: list[shapely.Geometry]
    near: _Near
    lines: list[shapely.Geometry]
    connect_roads: np.ndarray | None
    groups: list[_Group]
    frontage: list[shapely.Geometry] | None  # the outline points, when among the lines
    graph: _Network = field(init=False)  # the graph of the lines (made for the batch)
    estate_nodes: dict[str, int] = field(init=False)  # each member's node in it
    scan: sparse.csr_matrix | None = None  # the graph's search matrix, when made for the batch


def _draft(
    district_id: str,
    members: list[str],
    outline: shapely.Geometry,
    anchors: list[shapely.Geometry],
    paths: list[shapely.Geometry],
    near: _Near,
    ctx: _Context,
) -> _Draft:
    """The candidate lines (method step 1), the utility groups and the graph of the lines."""
    settings = ctx.policy.corridors
    lines: list[shapely.Geometry] = list(paths)
    connect_roads = None
    local = near.roads
    if len(local):
        lines.extend(shapely.segmentize(local, settings.node_spacing_m))
        lines.extend(_connectors(anchors, shapely.union_all(local), _EXTEND_M))
        if near.connects.any():
            connect_roads = local[near.connects]
    if near.mains:
        every = shapely.union_all(np.concatenate(list(near.mains.values())))
        lines.extend(_connectors(anchors, every, 0.0))
    groups = _groups(settings.utilities, near.mains, connect_roads is not None)
    frontage = None
    if groups and all(g.basis == "outline" for g in groups):
        # no connection point but on the outline: its lines now, not after a first search
        frontage = _with_frontage(lines, anchors, outline)
    return _Draft(
        district_id, members, outline, anchors, near, lines, connect_roads, groups, frontage
    )


def _with_frontage(
    lines: list[shapely.Geometry], anchors: list[shapely.Geometry], outline: shapely.Geometry
) -> list[shapely.Geometry]:
    """Add a line from each anchor to its nearest outline point; return those points."""
    frontage = _frontage_points(anchors, outline)
    ends = np.stack([shapely.get_coordinates(anchors), shapely.get_coordinates(frontage)], axis=1)
    lines.extend(shapely.linestrings(ends))
    return frontage


def _connect(
    draft: _Draft, ctx: _Context
) -> tuple[_Network, dict[str, int], dict[tuple[str, ...], dict[int, tuple[float, object]]]]:
    """The connection points of a drafted district's utility groups (method step 2).

    Returns the graph (a new one when the outline's lines had to be added), each member's node
    in it and, per group's utilities, its connection nodes (see :func:`_candidates`).
    """
    d = draft
    spacing = ctx.policy.corridors.node_spacing_m
    graph, estate_nodes, groups = d.graph, d.estate_nodes, d.groups
    _join_components(graph, list(estate_nodes.values()))
    candidates = {
        g.utilities: _candidates(graph, estate_nodes, g, d.connect_roads, d.outline, ctx)
        for g in groups
    }
    for g in groups:
        if not candidates[g.utilities] and g.basis == "mains" and d.connect_roads is not None:
            g.basis = "roads"  # no main within reach: the streets instead
            candidates[g.utilities] = _candidates(
                graph, estate_nodes, g, d.connect_roads, d.outline, ctx
            )
    if any(not c for c in candidates.values()):
        # no reachable main or connection road for some utilities: assume the outline
        frontage = d.frontage
        if frontage is None:
            frontage = _with_frontage(d.lines, d.anchors, d.outline)
            graph, estate_nodes = _graph(d.lines, d.anchors, d.members, spacing)
            for g in groups:
                candidates[g.utilities] = _candidates(
                    graph, estate_nodes, g, d.connect_roads, d.outline, ctx
                )
        for g in groups:
            if not candidates[g.utilities]:
                g.basis = "outline"
                matrix = d.scan if graph is d.graph else None
                candidates[g.utilities] = _median_frontage(graph, estate_nodes, frontage, matrix)
    return graph, estate_nodes, candidates


def _connectors(
    anchors: list[shapely.Geometry], target: shapely.Geometry, overshoot: float
) -> list[shapely.Geometry]:
    """Straight lines from each anchor to the nearest point of ``target`` (overshooting it).

    None from an anchor within :data:`_ON_LINE_M` of ``target``.
    """
    lines = shapely.shortest_line(np.array(anchors, dtype=object), target)
    (x0, y0), (x1, y1) = shapely.get_coordinates(lines).reshape(-1, 2, 2).transpose(1, 2, 0)
    length = np.hypot(x1 - x0, y1 - y0)
    far = length > _ON_LINE_M
    x0, y0, x1, y1, length = x0[far], y0[far], x1[far], y1[far], length[far]
    k = (length + overshoot) / length
    ends = np.stack([x0, y0, x0 + k * (x1 - x0), y0 + k * (y1 - y0)], axis=1)
    return list(shapely.linestrings(ends.reshape(-1, 2, 2)))


def _frontage_points(
    anchors: list[shapely.Geometry], outline: shapely.Geometry
) -> list[shapely.Geometry]:
    """The point of the outline's exterior nearest to each anchor."""
    exterior = shapely.union_all(shapely.get_exterior_ring(shapely.get_parts(outline)))
    return list(
        shapely.get_point(shapely.shortest_line(np.array(anchors, dtype=object), exterior), 1)
    )


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
    out: dict[int, tuple[float, shapely.Geometry | None]] = {}
    mains = group.basis == "mains" and group.main_lines is not None
    if not (mains or (group.basis == "roads" and connect_roads is not None)):
        return out  # none (the outline's are chosen apart)
    labels = net.labels()
    nodes = np.flatnonzero(labels == labels[next(iter(estate_nodes.values()))])
    points = shapely.points(net.xy[nodes])
    if mains:
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
    elif connect_roads is not None:
        # the nodes on a connection road: within _ON_LINE_M of one (of their collection, prepared)
        roads = shapely.geometrycollections(connect_roads)
        shapely.prepare(roads)
        on = np.flatnonzero(shapely.dwithin(roads, points, _ON_LINE_M))
        if len(on):
            xy = net.xy[nodes[on]]
            outside = ~shapely.contains_xy(outline, xy[:, 0], xy[:, 1])
            out = {int(n): (0.0, None) for n in nodes[on][outside]}
    return out


def _median_frontage(
    net: _Network,
    estate_nodes: dict[str, int],
    frontage: list[shapely.Geometry],
    matrix: sparse.csr_matrix | None = None,
) -> dict[int, tuple[float, shapely.Geometry | None]]:
    """The frontage point with the least total path length to all member estates.

    ``matrix``: the graph's :func:`~geo.facilities.corridor_network._scan_csr`, when made.
    """
    at = shapely.get_coordinates(frontage)
    # each frontage point's nearest node (first in node order on a tie), all at once
    nearest = np.argmin(
        np.hypot(net.xy[None, :, 0] - at[:, :1], net.xy[None, :, 1] - at[:, 1:]), axis=1
    )
    options = sorted(set(nearest.tolist()), key=lambda i: tuple(net.xy[i]))
    if matrix is None:
        matrix = _scan_csr(len(net.xy), net.u, net.v, net.w)
    reach = dijkstra(matrix, directed=True, indices=sorted(set(estate_nodes.values())))
    total = reach[:, options].sum(axis=0)
    return {options[int(np.argmin(total))]: (0.0, None)}
