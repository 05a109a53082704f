"""The adjacency graph of estates: neighbours within a tolerance, not separated by a barrier.

Two estates are neighbours when their boundaries are at most ``tolerance_m`` apart (found with a
shapely ``STRtree`` ``dwithin`` query, never pairwise loops) and the straight gap between them (the
shortest line joining them) does not cross a barrier: it runs at least ``min_barrier_crossing_m``
through a barrier polygon (water) or crosses a barrier line (railway, arterial road). Estates that
touch are separated only by a barrier line running along their shared edge.

All geometry must be in one projected CRS in metres (see :func:`geo.core.crs.metric_crs_for`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.core._machine import alongside, in_threads, without_collector

_TOUCH_EPS_M = 0.01
_MIN_PAIRS_PER_THREAD = 2000


@contextlib.contextmanager
def _prepared(geoms: np.ndarray) -> Iterator[None]:
    """``geoms`` prepared (indexed by GEOS) inside the block, then released again.

    In this thread only: GEOS prepared geometries must not be prepared or first used by two
    threads at once. Only those not already prepared are prepared and released (the barrier
    layer is the caller's, and stays as it came).
    """
    fresh = geoms[~shapely.is_prepared(geoms)]
    shapely.prepare(fresh)
    try:
        yield
    finally:
        shapely.destroy_prepared(fresh)


def _query_intersecting(tree: shapely.STRtree, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query(geoms, predicate="intersects")``: the same pairs in the same order.

    The predicate is tested with the tree's geometries prepared, not the queries: a barrier (a
    river polygon of thousands of vertices) is indexed once instead of walked for every short
    gap line near it (1.54 -> 0.66 s CPU for the barriers of 50,000 tiled estates).
    """
    found = tree.query(geoms)
    targets = tree.geometries
    with _prepared(targets[np.unique(found[1])]):
        keep = shapely.intersects(targets[found[1]], geoms[found[0]])
    return found[0][keep].astype(np.intp), found[1][keep].astype(np.intp)


def _lines_near(
    tree: shapely.STRtree, dims: np.ndarray, edges: np.ndarray, distance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (edge, line geometry of ``tree``) where the line meets ``buffer(edge, distance_m)``.

    The pairs of querying the tree with every edge's buffer and keeping the lines (``dims`` 1),
    without buffering every edge: a buffer lies in its edge's box grown by ``distance_m``, and
    within ``distance_m`` (plus :data:`_BUFFER_SLACK_M`) of its edge, so only the edges whose
    grown box meets a line's box and which come that near the line are buffered and tested
    (issue 20: of 7,607 touching pairs at 50,000 tiled estates, a few hundred have a line in
    their box and a few dozen one that near). Same pairs, same order.
    """
    x0, y0, x1, y1 = shapely.bounds(edges).T
    reach = distance_m * (1 + 1e-9) + 1e-9
    found = tree.query(shapely.box(x0 - reach, y0 - reach, x1 + reach, y1 + reach))
    found = found[:, dims[found[1]] == 1]
    targets = tree.geometries
    if found.shape[1]:
        near = shapely.dwithin(targets[found[1]], edges[found[0]], distance_m + _BUFFER_SLACK_M)
        found = found[:, near]
    if not found.shape[1]:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    needed, at = np.unique(found[0], return_inverse=True)
    near = shapely.buffer(edges[needed], distance_m)
    with _prepared(targets[np.unique(found[1])]):
        keep = shapely.intersects(targets[found[1]], near[at])
    return found[0][keep].astype(np.intp), found[1][keep].astype(np.intp)


#: How far (m) beyond its distance a GEOS buffer's outline may lie from what it buffers: its
#: vertices are computed in floating point (errors near 1e-9 m at Gauss-Kruger coordinates) and,
#: where that noding fails, on a grid of 1e-5 m, then coarser only if that fails too.
_BUFFER_SLACK_M = 1e-3


def _in_threads(func: Callable[..., np.ndarray], *arrays: np.ndarray) -> np.ndarray:
    """:func:`geo.core._machine.in_threads` over pairs (:data:`_MIN_PAIRS_PER_THREAD` a thread)."""
    return in_threads(func, *arrays, min_per_thread=_MIN_PAIRS_PER_THREAD)


def _require_metric(gdf: gpd.GeoDataFrame, what: str) -> None:
    if gdf.crs is None or not CRS.from_user_input(gdf.crs).is_projected:
        raise ValueError(
            f"{what} must be in a projected CRS in metres, not {gdf.crs}; "
            "use geo.core.crs.metric_crs_for() and GeoDataFrame.to_crs() first"
        )


@without_collector
def build_adjacency(
    estates: gpd.GeoDataFrame,
    *,
    tolerance_m: float,
    barriers: gpd.GeoDataFrame | Callable[[BlockingAreas], gpd.GeoDataFrame | None] | None = None,
    min_barrier_crossing_m: float = 1.0,
) -> tuple[nx.Graph, gpd.GeoDataFrame]:
    """Build the adjacency graph of estates.

    Parameters
    ----------
    estates
        Estates with ``estate_id`` (unique) and (Multi)Polygon geometry, in a projected CRS in
        metres.
    tolerance_m
        Largest boundary-to-boundary gap (metres) at which two estates are neighbours.
    barriers
        Optional lines and polygons in the same CRS, with a ``barrier`` column naming each
        (e.g. ``"water"``, ``"road:primary"``); without the column each is called ``"barrier"``.
        Or a function that returns them given the areas where a barrier can block a pair
        (:func:`blocking_areas`: :class:`BlockingAreas`, boxes in the estates' CRS), called once,
        when there are pairs: a caller that must project its barriers projects only those (same
        graph and edges).
    min_barrier_crossing_m
        A gap running at least this far (metres) through a barrier polygon is blocked.

    Returns
    -------
    graph
        ``networkx.Graph`` with one node per ``estate_id`` and an edge per unblocked pair carrying
        ``gap_m`` and ``shared_boundary_m`` (length of boundary within ``tolerance_m`` of the
        other estate, mean of both sides, metres).
    edges
        GeoDataFrame of every candidate pair, blocked or not: ``source_id``, ``target_id``,
        ``gap_m``, ``shared_boundary_m``, ``blocked`` (bool), ``blocked_by`` (barrier name or
        ""), LineString from one estate through the gap to the other, in the estates' CRS.

    Raises
    ------
    ValueError
        If a layer is not in a projected CRS, or ``estate_id`` is not unique.
    """
    _require_metric(estates, "estates")
    ids = estates["estate_id"].astype(str).to_numpy()
    if len(set(ids)) != len(ids):
        raise ValueError("estate_id must be unique")
    geoms = estates.geometry.to_numpy()
    left, right, gap = _neighbours(geoms, tolerance_m)
    gap_lines = _in_threads(shapely.shortest_line, geoms[left], geoms[right])
    # the shared boundaries (GEOS on every core) alongside the barriers (mostly one core: the
    # projection, Python), which do not depend on them (issue 20: 0.8 s less at 220,000 tiled
    # estates; 60 MB more at the adjacency's peak, still below the run's, reached in writing)
    with alongside(_shared_boundary, geoms, left, right, tolerance_m) as shared:
        blocked_by = _blocked_by(
            geoms, left, right, gap, gap_lines, barriers, min_barrier_crossing_m
        )
        # what needs no shared boundary, done while they end on both cores rather than after,
        # on one (issue 20: the adjacency is the last step of its window to end)
        paths = _paths(geoms, left, right, gap_lines)
        graph = _graph_of(ids)
        shared = shared.result()
    edges = gpd.GeoDataFrame(
        {
            "source_id": ids[left],
            "target_id": ids[right],
            "gap_m": np.round(gap, 2),
            "shared_boundary_m": np.round(shared, 1),
            "blocked": blocked_by != "",
            "blocked_by": blocked_by.astype(str),
        },
        geometry=gpd.GeoSeries(paths, crs=estates.crs),
    )
    _add_open_edges(graph, edges)
    return graph, edges


def neighbour_pairs(geoms: np.ndarray, tolerance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the positions ``(left, right)``, ``left < right``, of geometries at most ``tolerance_m`` apart.

    Candidates come from an ``STRtree`` query with each bounding box grown by the tolerance, then
    an exact vectorised distance test (:func:`_neighbours`); pairs are sorted by
    ``(left, right)``. Metres, any projected CRS (the caller checks it).
    """
    left, right, _gap = _neighbours(geoms, tolerance_m)
    return left, right


def _neighbours(geoms: np.ndarray, tolerance_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`neighbour_pairs` and each pair's gap: ``shapely.distance(geoms[left], geoms[right])`` (m).

    The candidates' distances decide which are neighbours (``distance <= tolerance_m``, what
    GEOS's ``dwithin`` tests: the same pairs) and are the gaps of those kept, so a pair's
    distance is computed once, not tested and then measured (issue 20: 0.2 s less CPU at
    220,000 tiled estates; a candidate farther apart costs little more than its test).
    """
    if len(geoms) == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, np.zeros(0)
    tree = shapely.STRtree(geoms)
    x0, y0, x1, y1 = shapely.bounds(geoms).T
    boxes = shapely.box(x0 - tolerance_m, y0 - tolerance_m, x1 + tolerance_m, y1 + tolerance_m)
    left, right = tree.query(boxes)
    keep = left < right
    left, right = left[keep], right[keep]
    gap = _in_threads(shapely.distance, geoms[left], geoms[right])
    near = gap <= tolerance_m
    left, right, gap = left[near], right[near], gap[near]
    order = np.lexsort((right, left))
    return left[order], right[order], gap[order]


def _shared_boundary(
    geoms: np.ndarray, left: np.ndarray, right: np.ndarray, tolerance_m: float
) -> np.ndarray:
    """Boundary length (m) of each estate within ``tolerance_m`` of the other, mean of both sides."""
    if len(left) == 0:
        return np.zeros(0)
    used = np.unique(np.concatenate([left, right]))
    buffered = np.empty(len(geoms), dtype=object)
    boundaries = np.empty(len(geoms), dtype=object)
    buffered[used] = _in_threads(lambda g: shapely.buffer(g, tolerance_m, quad_segs=4), geoms[used])
    boundaries[used] = shapely.boundary(geoms[used])

    def within(lines: np.ndarray, areas: np.ndarray) -> np.ndarray:
        return shapely.length(shapely.intersection(lines, areas))

    return 0.5 * (
        _in_threads(within, boundaries[left], buffered[right])
        + _in_threads(within, boundaries[right], buffered[left])
    )


def _paths(
    geoms: np.ndarray, left: np.ndarray, right: np.ndarray, gap_lines: np.ndarray
) -> np.ndarray:
    """Lines from a point inside one estate through the gap to a point inside the other."""
    if len(left) == 0:
        return np.zeros(0, dtype=object)
    used, at = np.unique(np.concatenate([left, right]), return_inverse=True)
    anchors = shapely.get_coordinates(shapely.point_on_surface(geoms[used]))[at]
    ends = shapely.get_coordinates(gap_lines).reshape(len(left), 2, 2)
    coords = np.stack([anchors[: len(left)], ends[:, 0], ends[:, 1], anchors[len(left) :]], axis=1)
    return shapely.linestrings(coords)


@dataclass(frozen=True)
class BlockingAreas:
    """Where a barrier can change whether a pair of estates is blocked: one box per pair.

    Boxes (shapely polygons) in the estates' CRS, metres. ``crossing``: for the estates apart,
    the box of their gap line, which a barrier of any kind blocks by crossing it. ``along``:
    for the estates touching, the overlap of their boxes grown by 1 m, which holds the edge they
    share and the 1 m around it, where only a barrier line running along the edge separates
    them (:func:`_blocking_barriers`): a barrier polygon there changes nothing. ``len`` is the
    number of pairs.
    """

    crossing: np.ndarray
    along: np.ndarray

    def __len__(self) -> int:
        return len(self.crossing) + len(self.along)


def blocking_areas(
    geoms: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    gap: np.ndarray,
    gap_lines: np.ndarray,
) -> BlockingAreas:
    """The areas outside which no barrier changes whether a pair is blocked (see :class:`BlockingAreas`).

    Estates apart: the box of their gap line (a barrier blocks them by crossing it). Estates
    touching: the overlap of their boxes grown by 1 m, which holds the edge they share and the
    1 m around it where a barrier line running along that edge separates them (see
    :func:`_blocking_barriers`). Metres, the estates' CRS; pairs in their order within each kind.
    """
    boxes = shapely.bounds(gap_lines)
    touching = gap <= _TOUCH_EPS_M
    if touching.any():
        a, b = shapely.bounds(geoms[left[touching]]), shapely.bounds(geoms[right[touching]])
        low = np.maximum(a[:, :2], b[:, :2]) - 1.0
        high = np.minimum(a[:, 2:], b[:, 2:]) + 1.0
        boxes[touching] = np.hstack([np.minimum(low, high), np.maximum(low, high)])
    return BlockingAreas(shapely.box(*boxes[~touching].T), shapely.box(*boxes[touching].T))


def meets_any(
    geoms: np.ndarray, boxes: np.ndarray, geom_idx: np.ndarray, box_idx: np.ndarray
) -> np.ndarray:
    """Whether each of ``geoms`` intersects at least one of its candidate ``boxes``.

    ``(geom_idx, box_idx)``: the candidate pairs (an ``STRtree`` query's, for instance). The
    same answer as ``shapely.intersects`` on every pair, without testing every pair: each
    geometry's candidates are tested in rounds of 1, 2, 4, ... (the geometries prepared: see
    :func:`_prepared`), and a geometry that met a box is not tested again (issue 20: a river
    polygon of thousands of vertices has thousands of gap lines in its extent, and meets one
    of the first few).
    Returns a bool array of ``len(geoms)``.
    """
    met = np.zeros(len(geoms), dtype=bool)
    if not len(geom_idx):
        return met
    order = np.lexsort((box_idx, geom_idx))
    geom_idx, box_idx = geom_idx[order], box_idx[order]
    first = np.flatnonzero(np.r_[True, geom_idx[1:] != geom_idx[:-1]])
    rank = np.arange(len(geom_idx)) - np.repeat(first, np.diff(np.r_[first, len(geom_idx)]))
    with _prepared(geoms[np.unique(geom_idx)]):
        low, size, last = 0, 1, int(rank.max())
        while low <= last:
            now = np.flatnonzero((rank >= low) & (rank < low + size))
            now = now[~met[geom_idx[now]]]
            if len(now):
                hit = shapely.intersects(geoms[geom_idx[now]], boxes[box_idx[now]])
                met[geom_idx[now[hit]]] = True
            low, size = low + size, 2 * size
    return met


def _blocked_by(
    geoms: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    gap: np.ndarray,
    gap_lines: np.ndarray,
    barriers: gpd.GeoDataFrame | Callable[[BlockingAreas], gpd.GeoDataFrame | None] | None,
    min_crossing_m: float,
) -> np.ndarray:
    """Per pair, the name of the barrier that blocks it ("" when none does).

    ``barriers`` as :func:`build_adjacency` takes them: a layer, or a function asked once,
    when there are pairs, for those in the :func:`blocking_areas`.
    """
    if callable(barriers):
        barriers = (
            barriers(blocking_areas(geoms, left, right, gap, gap_lines)) if len(left) else None
        )
    if barriers is None or not len(barriers) or not len(left):
        return np.full(len(left), "", dtype=object)
    _require_metric(barriers, "barriers")
    return _blocking_barriers(geoms, left, right, gap, gap_lines, barriers, min_crossing_m)


def _blocking_barriers(
    geoms: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    gap: np.ndarray,
    gap_lines: np.ndarray,
    barriers: gpd.GeoDataFrame,
    min_crossing_m: float,
) -> np.ndarray:
    """Return, per pair, the name of the first barrier (in input order) that blocks it ("" when none does)."""
    names = (
        barriers["barrier"].astype(str).to_numpy()
        if "barrier" in barriers
        else np.full(len(barriers), "barrier", dtype=object)
    )
    bgeoms = barriers.geometry.to_numpy()
    dims = shapely.get_dimensions(bgeoms)
    blocked = np.full(len(left), "", dtype=object)
    tree = shapely.STRtree(bgeoms)
    apart = gap > _TOUCH_EPS_M
    # pairs with a gap: the straight gap line must not cross the barrier
    apart_idx = np.flatnonzero(apart)
    found, bar_idx = _query_intersecting(tree, gap_lines[apart_idx])
    pair_idx = apart_idx[found]
    # the first blocking barrier in input order names the pair (independent of the tree's order,
    # so a subset of the barriers in the same order names it alike: see geo.distributed)
    order = np.lexsort((bar_idx, pair_idx))
    pair_idx, bar_idx = pair_idx[order], bar_idx[order]
    if len(pair_idx):
        is_poly = dims[bar_idx] == 2
        through = np.zeros(len(pair_idx), dtype=bool)
        through[~is_poly] = True  # a line barrier crossing the gap line
        if is_poly.any():
            crossing = shapely.length(
                shapely.intersection(gap_lines[pair_idx[is_poly]], bgeoms[bar_idx[is_poly]])
            )
            through[is_poly] = crossing >= min_crossing_m
        for p, b in zip(pair_idx[through], bar_idx[through], strict=True):
            if not blocked[p]:
                blocked[p] = names[b]
    # touching pairs: a barrier line running along the shared edge separates them
    touching = _touching_near_lines(geoms, left, right, np.flatnonzero(~apart), tree, dims)
    if len(touching):
        shared_edges = shapely.intersection(
            shapely.boundary(geoms[left[touching]]), shapely.boundary(geoms[right[touching]])
        )
        t_idx, b_idx = _lines_near(tree, dims, shared_edges, 1.0)
        order = np.lexsort((b_idx, t_idx))
        t_idx, b_idx = t_idx[order], b_idx[order]
        if len(t_idx):
            near, at = np.unique(b_idx, return_inverse=True)  # each line buffered once
            along = shapely.length(
                shapely.intersection(shapely.buffer(bgeoms[near], 1.0)[at], shared_edges[t_idx])
            )
            lengths = shapely.length(shared_edges[t_idx])
            runs = along >= np.maximum(min_crossing_m, 0.5 * lengths)
            for t, b in zip(t_idx[runs], b_idx[runs], strict=True):
                if not blocked[touching[t]]:
                    blocked[touching[t]] = names[b]
    return blocked


def _touching_near_lines(
    geoms: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    touching: np.ndarray,
    tree: shapely.STRtree,
    dims: np.ndarray,
) -> np.ndarray:
    """The touching pairs (positions of ``touching``, in order) that a barrier line may run along.

    A line that meets the 1 m buffer of a pair's shared edge (:func:`_lines_near`) has its box
    within the overlap of the two estates' boxes grown by 1 m, and comes within 1 m (plus
    :data:`_BUFFER_SLACK_M`) of both estates, which hold the edge: the other pairs need no
    shared edge (issue 20: at 220,000 tiled estates, under a thousand of 33,501 touching pairs).
    """
    if not len(touching) or not (dims == 1).any():
        return touching[:0]
    a, b = geoms[left[touching]], geoms[right[touching]]
    box_a, box_b = shapely.bounds(a), shapely.bounds(b)
    reach = 1.0 * (1 + 1e-9) + 1e-9 + _TOUCH_EPS_M
    low = np.maximum(box_a[:, :2], box_b[:, :2]) - reach
    high = np.minimum(box_a[:, 2:], box_b[:, 2:]) + reach
    low, high = np.minimum(low, high), np.maximum(low, high)
    pair, line = tree.query(shapely.box(low[:, 0], low[:, 1], high[:, 0], high[:, 1]))
    pair, line = pair[dims[line] == 1], line[dims[line] == 1]
    lines = tree.geometries
    with _prepared(lines[np.unique(line)]):
        for side in (a, b):
            near = shapely.dwithin(lines[line], side[pair], 1.0 + _BUFFER_SLACK_M)
            pair, line = pair[near], line[near]
    return touching[np.unique(pair)]


def graph_from_edges(ids: Iterable[str], edges: pd.DataFrame) -> nx.Graph:
    """Return the adjacency graph: a node per estate id, an edge per unblocked row of ``edges``.

    ``edges`` has the columns of :func:`build_adjacency` (``source_id``, ``target_id``,
    ``gap_m`` in metres, ``shared_boundary_m`` in metres, ``blocked``).
    """
    graph = _graph_of(ids)
    _add_open_edges(graph, edges)
    return graph


def _graph_of(ids: Iterable[str]) -> nx.Graph:
    """A graph with a node per estate id, in order, and no edge yet."""
    graph = nx.Graph()
    graph.add_nodes_from(ids)
    return graph


def _add_open_edges(graph: nx.Graph, edges: pd.DataFrame) -> None:
    """Add to ``graph`` an edge per unblocked row of ``edges`` (see :func:`graph_from_edges`), in order."""
    # columns as lists first: iterating a pandas (Arrow) column costs a call per value
    open_edges = ~edges["blocked"].astype(bool).to_numpy(dtype=bool)

    def column(name: str, dtype: type) -> list:
        return edges[name].to_numpy(dtype=dtype)[open_edges].tolist()

    gaps, shared = column("gap_m", float), column("shared_boundary_m", float)
    graph.add_edges_from(
        zip(
            column("source_id", object),
            column("target_id", object),
            [{"gap_m": g, "shared_boundary_m": b} for g, b in zip(gaps, shared, strict=True)],
            strict=True,
        )
    )
