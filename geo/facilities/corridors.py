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
This module plans the run's districts (in order or in worker processes, memoised by content);
:mod:`~geo.facilities.corridor_district` plans a batch of districts (connection points, the
search; the steps that gain from it for the whole batch at once, each district's result the same
as alone); :mod:`~geo.facilities.corridor_search` searches a utility group's graph (Steiner tree
and baseline); :mod:`~geo.facilities.corridor_layers` prepares the input layers;
:mod:`~geo.facilities.corridor_network` holds the candidate graph and the Steiner tree;
:mod:`~geo.facilities.corridor_costs` the accounting and tables;
:mod:`~geo.facilities.corridor_segments` the segments. May import: numpy, geopandas, shapely,
pyproj, geo.core and those modules.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Callable, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.core import _memo
from geo.core._machine import alongside, collector_paused
from geo.core._memo import Memo, digest
from geo.core.errors import QualityReport
from geo.core.messages import msg
from geo.core.policy import Policy
from geo.facilities.corridor_costs import (
    DISTRICT_CORRIDOR_COLUMNS,
    MAIN,
    SEGMENT_COLUMNS,
    CorridorPlan,
    _assemble,
    _Planned,
)
from geo.facilities.corridor_district import STEINER_METHOD, _Buffered, _plan_batch, buffer_ahead
from geo.facilities.corridor_layers import (  # noqa: F401  (_CONTEXTS: re-exported for callers)
    _CONTEXTS,
    UTILITY_ALIASES,
    _Context,
    _prepare,
    utilities_of,
)
from geo.facilities.corridor_network import _mehlhorn  # noqa: F401  (re-exported for tests)

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
    meanwhile: Callable[[], object] | None = None,
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
    meanwhile
        A step of the caller's to start once the districts are being planned, called once (its
        result dropped, its error raised here): after the worker processes are started, else
        just before the districts are planned in this process. ``lianpian plan`` starts writing
        the estates layer there (issue 20): the corridors' preparation, which runs in this
        process before the workers start, then has the process to itself, and the writing
        thread is not in the workers' memory when they are forked.

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
    outlines = districts.geometry.to_numpy()
    memo_on = _memo.enabled()
    # the costliest geometry (the districts' buffers) starts on the other core meanwhile
    with _buffering_ahead(None if memo_on else outlines, policy) as ahead:
        ctx = _prepare(
            estates.crs, policy, roads, mains, buildings, outlines, corridor_reach_m(policy)
        )
        tasks = _district_tasks(estates, districts, adjacency)
    # districts planned before with the same content come from the memo (when on, see _MEMO)
    keys = [_district_key(ctx, *task[1:]) if memo_on else b"" for task in tasks]
    found: list[_Planned | None] = [_MEMO.get(key) for key in keys]
    missing = [i for i, result in enumerate(found) if result is None]
    with collector_paused():
        planned = _Planned.joined(
            list(
                _plan_districts([tasks[i] for i in missing], ctx, workers, ahead.get(0), meanwhile)
            ),
            ctx.buildings is not None,
        )
    if memo_on:
        for k, i in enumerate(missing):
            found[i] = planned.district(k)
            _MEMO.put(keys[i], found[i])
        planned = _Planned.joined(found, ctx.buildings is not None)  # type: ignore[arg-type]
    district_ids = [task[0] for task in tasks]
    note_assumed_connections(
        quality,
        [d for d, row in zip(district_ids, planned.rows, strict=True) if "outline" in row[0]],
    )
    return _assemble(planned, district_ids, districts, ctx)


def _district_tasks(
    estates: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, adjacency: gpd.GeoDataFrame
) -> list[tuple[str, list[str], shapely.Geometry, list, list]]:
    """Per district: its id, member ids, outline, members' anchors and the open paths between them.

    An anchor is the estate's representative point (``point_on_surface``); the paths are the
    unblocked adjacency lines from a member to another member of the district, member by member
    (in the order of ``members``), each member's in the order of ``adjacency``. All districts at
    once, with array operations.

    Raises
    ------
    KeyError
        If a district lists an estate id that ``estates`` lacks.
    """
    ids = estates["estate_id"].astype(str).tolist()
    row_of = {e: i for i, e in enumerate(ids)}  # a repeated id: its last estate
    member_lists = [[m for m in str(x).split(",") if m] for x in districts["members"].tolist()]
    flat = [m for ms in member_lists for m in ms]
    sizes = np.array([len(ms) for ms in member_lists], dtype=np.int64)
    member_at = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    rows = np.array([row_of[m] for m in flat], dtype=np.int64)
    anchors = shapely.point_on_surface(estates.geometry.to_numpy()[rows])
    # the open paths whose ends are both members of one district (a member listed twice: twice)
    opened = ~adjacency["blocked"].astype(bool).to_numpy()
    source = adjacency["source_id"].astype(str).to_numpy()[opened]
    target = adjacency["target_id"].astype(str).to_numpy()[opened]
    codes = pd.factorize(np.concatenate([np.array(flat, dtype=object), source, target]))[0]
    n_flat, n_open = len(flat), len(source)
    district_of = np.repeat(np.arange(len(member_lists)), sizes)
    members = pd.DataFrame(
        {"m": codes[:n_flat], "d": district_of, "p": np.arange(n_flat) - member_at[district_of]}
    )
    edges = pd.DataFrame(
        {
            "s": codes[n_flat : n_flat + n_open],
            "t": codes[n_flat + n_open :],
            "e": np.arange(n_open),
        }
    )
    found = edges.merge(members, left_on="s", right_on="m")
    found = found.merge(
        members[["m", "d"]].drop_duplicates().rename(columns={"m": "t"}), on=["t", "d"]
    )
    d, p, e = (found[c].to_numpy() for c in ("d", "p", "e"))
    order = np.lexsort((e, p, d))
    paths = adjacency.geometry.to_numpy()[opened][e[order]]
    path_at = np.searchsorted(d[order], np.arange(len(member_lists) + 1)).tolist()
    member_at_list = member_at.tolist()
    return [
        (
            str(district_id),
            member_lists[k],
            outline,
            anchors[member_at_list[k] : member_at_list[k + 1]].tolist(),
            paths[path_at[k] : path_at[k + 1]].tolist(),
        )
        for k, (district_id, outline) in enumerate(
            zip(districts["district_id"].tolist(), districts.geometry.to_numpy(), strict=True)
        )
    ]


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
#: Fewest districts a worker process is given at a time (the last ones: they even out the end).
_CHUNK_DISTRICTS = 16
#: Districts whose layers are clipped together in one process (bounds the memory of the clips);
#: also the most a worker process is given at a time.
_BATCH_DISTRICTS = 512
#: The districts, the context and the buffers done ahead, inherited by forked worker processes
#: (not pickled).
_FORK_STATE: tuple[list, _Context, _Buffered | None] | None = None


@contextlib.contextmanager
def _buffering_ahead(outlines: np.ndarray | None, policy: Policy) -> Iterator[dict[int, _Buffered]]:
    """Buffer the districts in a thread while the block runs; then ``{0: what was done}``.

    Nothing is buffered ahead without ``outlines`` (empty dict). The thread
    (:func:`geo.core._machine.alongside`) stops when the block ends (after at most a few more
    districts), before any process is forked; an error in it is raised here.
    """
    done: dict[int, _Buffered] = {}
    if outlines is None or not len(outlines):
        yield done
        return
    stop = threading.Event()
    with alongside(buffer_ahead, outlines, policy, stop) as buffered:
        try:
            yield done
        finally:
            stop.set()
    done[0] = buffered.result()


def _plan_districts(
    tasks: list[tuple[str, list[str], shapely.Geometry, list, list]],
    ctx: _Context,
    workers: int,
    ahead: _Buffered | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[_Planned]:
    """Plan the districts (in order), in this process or in ``workers`` forked processes.

    ``meanwhile`` (see :func:`plan_corridors`) is called once the workers are started, or before
    the first district is planned in this process (also when there is none).

    The workers are given spans of consecutive districts, the longest first and the shortest
    last (each a quarter of what is left per worker, from :data:`_CHUNK_DISTRICTS` to
    :data:`_BATCH_DISTRICTS`), so that both finish at about the same time; they send back
    plain rows and coordinate arrays (:class:`~geo.facilities.corridor_costs._Planned`).
    """
    workers = min(workers, len(tasks) // MIN_DISTRICTS_PER_WORKER)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        if meanwhile is not None:
            meanwhile()
        for i in range(0, len(tasks), _BATCH_DISTRICTS):
            j = i + _BATCH_DISTRICTS
            yield _plan_batch(tasks[i:j], ctx, None if ahead is None else ahead.part(i, j))
        return
    global _FORK_STATE
    _FORK_STATE = (tasks, ctx, ahead)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            if meanwhile is not None:  # the workers are forked: a thread started now is not theirs
                meanwhile()
            done = dict(pool.imap_unordered(_plan_span, _spans(len(tasks), workers)))
        for start in sorted(done):
            yield done[start]
    finally:
        _FORK_STATE = None


def _spans(n: int, workers: int) -> list[tuple[int, int]]:
    """Spans ``(start, stop)`` covering ``range(n)``, the longest first.

    Each is a quarter of what is left per worker, within :data:`_CHUNK_DISTRICTS` and
    :data:`_BATCH_DISTRICTS` (the last one may be shorter).
    """
    spans, start = [], 0
    while start < n:
        size = min(max(-(-(n - start) // (4 * workers)), _CHUNK_DISTRICTS), _BATCH_DISTRICTS)
        spans.append((start, min(start + size, n)))
        start += size
    return spans


def _plan_span(span: tuple[int, int]) -> tuple[int, _Planned]:
    assert _FORK_STATE is not None
    tasks, ctx, ahead = _FORK_STATE
    part = None if ahead is None else ahead.part(*span)
    with collector_paused():
        return span[0], _plan_batch(tasks[span[0] : span[1]], ctx, part)


#: District plans by content: a district's corridors depend only on its members, their shapes
#: and paths, the road/mains/building layers and the settings (all in the key, by value), not on
#: its id or other districts. The app re-plans after every policy change and most districts come
#: back unchanged; their plans are reused. Results are identical with or without the memo.
_MEMO: Memo[_Planned] = Memo(4096)


def _district_key(
    ctx: _Context,
    members: list[str],
    outline: shapely.Geometry,
    anchors: list[shapely.Geometry],
    paths: list[shapely.Geometry],
) -> bytes:
    shapes = b"".join(shapely.to_wkb(np.array([outline, *anchors, *paths], dtype=object)))
    return digest(ctx.fingerprint, members, shapes)
