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
as alone); :mod:`~geo.facilities.corridor_layers` prepares the input layers;
:mod:`~geo.facilities.corridor_network` holds the candidate graph and the Steiner tree;
:mod:`~geo.facilities.corridor_costs` the accounting and tables;
:mod:`~geo.facilities.corridor_segments` the segments. May import: numpy, geopandas, shapely,
pyproj, geo.core and those modules.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
from collections import defaultdict
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

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
    _assemble,
    _DistrictResult,
)
from geo.facilities.corridor_district import STEINER_METHOD, _plan_batch
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
    outlines = districts.geometry.to_numpy()
    ctx = _prepare(estates.crs, policy, roads, mains, buildings, outlines, corridor_reach_m(policy))
    ids = estates["estate_id"].astype(str).to_numpy()
    anchors = dict(zip(ids, shapely.point_on_surface(estates.geometry.to_numpy()), strict=True))
    open_edges = adjacency.loc[~adjacency["blocked"].astype(bool)]
    paths_of: dict[str, list[tuple[str, shapely.Geometry]]] = defaultdict(list)
    for s, t, g in zip(
        open_edges["source_id"].astype(str).tolist(),
        open_edges["target_id"].astype(str).tolist(),
        open_edges.geometry.to_numpy(),
        strict=True,
    ):
        paths_of[s].append((t, g))
    tasks = []
    for district_id, member_list, outline in zip(
        districts["district_id"].tolist(),
        districts["members"].tolist(),
        districts.geometry.to_numpy(),
        strict=True,
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
    with _collector_paused():
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
    with _collector_paused():
        return _plan_batch(tasks, _FORK_CONTEXT)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while districts are planned (then as it was).

    Planning makes many small short-lived containers (tuples, lists, dicts) and no reference
    cycles; every few hundred of them the collector walks the young objects and, often, all the
    others: about 7 % of the corridors' CPU at 50,000 estates. Reference counting still frees
    every object as soon as it is unused; a cycle would wait for the collector's return.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


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
