"""The planning run on a dask.distributed cluster, one task per administrative unit.

A province or the whole country is planned as the single-process run (:func:`geo.pipeline.run_plan`)
would plan it, unit by unit: districts never span two units of ``districts.keep_within_level``
(each county plans and tenders its own), so every unit can be planned on its own worker and the
results gathered into one :class:`geo.pipeline.PlanResult` equal to the single-process one.

How the work is split:

1. On the client: metric CRS, administrative units (boundary layer or the estates' own column),
   survey join, eligibility and investment (vectorised, a small share of the time), and the
   neighbour search (:func:`geo.planning.adjacency.neighbour_pairs`, an ``STRtree`` query).
2. One task per unit: its estates plus a *halo* (the estates of other units within the tolerance
   of one of them) and the barriers in their extent. The task builds the adjacency of that set and
   keeps the pairs whose first estate (in input order) is in the unit, so every pair is computed
   exactly once; forms the unit's districts; scores its estates (the halo gives the contiguity
   component its neighbours across the unit line) and its districts; and plans the shared
   corridors of its districts (:func:`geo.facilities.corridors.plan_corridors`: a district's
   corridors depend only on its members, their paths and the roads, mains and buildings near it,
   so the task gets the features of those layers within
   :func:`~geo.facilities.corridors.corridor_reach_m` of its estates, in input order).
3. On the client: estates back in input order, pairs in input order, districts renumbered
   ``D0001...`` by their first member as the single-process run numbers them, ranks over all,
   the corridor segments and tables relabelled with those numbers, in district order.

Where the cluster is: ``scheduler`` is the address of a running ``dask scheduler``
(``tcp://host:8786``); without it a ``LocalCluster`` of ``workers`` processes is started on this
machine and closed at the end. Workers need lianpian (same version) and its dependencies installed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.core.errors import InputError, QualityReport
from geo.core.messages import msg
from geo.core.policy import Policy, load_policy
from geo.facilities.corridors import (
    CorridorPlan,
    corridor_reach_m,
    note_assumed_connections,
    plan_corridors,
)
from geo.pipeline import (
    PlanInputs,
    PlanResult,
    Progress,
    barrier_layer,
    district_unit_column,
    finish_plan,
    note_progress,
    prepare_estates,
)
from geo.planning.adjacency import build_adjacency, graph_from_edges, neighbour_pairs
from geo.planning.districts import form_districts
from geo.planning.priority import score_districts, score_estates

_HALO_MARGIN_M = 2.0


def plan_unit(
    estates: gpd.GeoDataFrame,
    in_unit: np.ndarray,
    barriers: gpd.GeoDataFrame | None,
    policy: Policy,
    unit_column: str,
    layers: dict[str, gpd.GeoDataFrame | None] | None = None,
) -> dict[str, Any]:
    """Plan one administrative unit (the task each worker runs).

    Parameters
    ----------
    estates
        The unit's estates and its halo, in input order, after eligibility and investment
        (columns of :func:`geo.planning.districts.form_districts`), projected CRS in metres.
    in_unit
        Boolean per row of ``estates``: True for the unit's own estates, False for the halo.
    barriers
        Barriers in the extent of ``estates`` (``barrier`` name column), same CRS, or None.
    policy
        The run's policy.
    unit_column
        Column of the administrative unit (``districts.keep_within_level``).
    layers
        ``roads``, ``mains``, ``buildings`` near the unit (any CRS, input order; see
        :func:`unit_layers`) for the corridors; None or a missing key: no such layer.

    Returns
    -------
    dict
        ``estates``: the columns the unit adds to its own estates (indexed like them):
        ``district_id`` (unit-local numbering), ``project_type`` and the priority columns; ``districts``: the unit's districts with
        ``priority_score``; ``edges``: the adjacency pairs whose ``source_id`` is in the unit;
        ``corridors``: the :class:`~geo.facilities.corridors.CorridorPlan` of its districts
        (unit-local district ids), None when corridors are off or it has no district.
    """
    graph, edges = build_adjacency(
        estates,
        tolerance_m=policy.adjacency.tolerance_m,
        barriers=barriers,
        min_barrier_crossing_m=policy.adjacency.min_barrier_crossing_m,
    )
    ids = estates["estate_id"].astype(str)
    own_ids = set(ids[in_unit])
    edges = edges.loc[edges["source_id"].isin(own_ids)]
    own = estates.loc[in_unit]
    membership, districts = form_districts(own, graph, policy, unit_column=unit_column)
    scores = score_estates(estates, graph, policy).loc[in_unit]
    added = pd.concat([membership, scores], axis=1)
    corridors = None
    if len(districts):
        scored = pd.concat([own, added], axis=1)
        districts = pd.concat([districts, score_districts(districts, scored)], axis=1)
        if policy.corridors.enabled:
            layers = layers or {}
            corridors = plan_corridors(
                estates, districts, edges, policy, roads=layers.get("roads"),
                mains=layers.get("mains"), buildings=layers.get("buildings"),
                quality=QualityReport(),  # the run's note is written once, by the client
            )  # fmt: skip
    # only the columns the unit adds go back: the client holds the estates already
    return {"estates": added, "districts": districts, "edges": edges, "corridors": corridors}


def corridor_layer_index(
    inputs: PlanInputs, policy: Policy, crs: Any
) -> dict[str, tuple[gpd.GeoDataFrame, shapely.STRtree]]:
    """The run's roads, mains and buildings as given, each with an ``STRtree`` in ``crs``.

    For :func:`unit_layers`; empty when corridors are off or there are no such layers.
    """
    if not policy.corridors.enabled:
        return {}
    layers = (("roads", inputs.roads), ("mains", inputs.mains), ("buildings", inputs.buildings))
    return {
        name: (layer, shapely.STRtree(layer.to_crs(crs).geometry.to_numpy()))
        for name, layer in layers
        if layer is not None and len(layer)
    }


def unit_layers(
    trees: dict[str, tuple[gpd.GeoDataFrame, shapely.STRtree]],
    frame: gpd.GeoDataFrame,
    reach_m: float,
) -> dict[str, gpd.GeoDataFrame]:
    """The features of each corridor layer within ``reach_m`` (m) of an estate's box, input order.

    ``trees`` maps a layer name to the layer as given (any CRS) and an ``STRtree`` of its
    geometry in the estates' CRS (positions as in the layer). The corridors of a district only
    see features within :func:`~geo.facilities.corridors.corridor_reach_m` of its members, so a
    unit's corridors are the same with this part of each layer as with the whole.
    """
    x0, y0, x1, y1 = shapely.bounds(frame.geometry.to_numpy()).T
    boxes = shapely.box(x0 - reach_m, y0 - reach_m, x1 + reach_m, y1 + reach_m)
    return {
        name: layer.iloc[np.unique(tree.query(boxes)[1])] for name, (layer, tree) in trees.items()
    }


def unit_partitions(
    estates: gpd.GeoDataFrame, unit_column: str, tolerance_m: float
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Split estates into units with their halos.

    Returns
    -------
    list of (unit, rows, in_unit)
        ``rows``: sorted row positions of the unit's estates and of the estates of other units
        within ``tolerance_m`` (metres) of one of them; ``in_unit``: True where the row is the
        unit's own. Estates without a unit form the unit ``""`` (as in
        :func:`geo.planning.districts.form_districts`).
    """
    units = estates[unit_column].fillna("").astype(str).to_numpy()
    left, right = neighbour_pairs(estates.geometry.to_numpy(), tolerance_m)
    cross = units[left] != units[right]
    halo: dict[str, set[int]] = {}
    for a, b in zip(left[cross], right[cross], strict=True):
        halo.setdefault(units[a], set()).add(int(b))
        halo.setdefault(units[b], set()).add(int(a))
    out = []
    for unit in pd.unique(units):
        own = np.flatnonzero(units == unit)
        rows = np.union1d(own, np.fromiter(halo.get(unit, ()), dtype=np.intp))
        out.append((str(unit), rows, units[rows] == unit))
    return out


def _barriers_near(
    barriers: gpd.GeoDataFrame | None,
    tree: shapely.STRtree | None,
    frame: gpd.GeoDataFrame,
    tolerance_m: float,
) -> gpd.GeoDataFrame | None:
    """The barriers that can block a pair of ``frame``'s estates, in input order.

    A pair's gap line is at most ``tolerance_m`` long and starts on one of the estates, and a
    touching pair is checked within 1 m of its shared edge: so only barriers within that reach of
    an estate's bounding box matter. Selecting by each estate's box, not the frame's extent,
    keeps a unit spread over a province (e.g. the estates without a unit) from carrying every
    barrier of the run to its worker.
    """
    if barriers is None or tree is None:
        return None
    pad = max(tolerance_m, 1.0) + _HALO_MARGIN_M
    x0, y0, x1, y1 = shapely.bounds(frame.geometry.to_numpy()).T
    hits = tree.query(shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad))[1]
    return barriers.iloc[np.unique(hits)]


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """Yield a ``distributed.Client``: to ``scheduler``, else to a new ``LocalCluster``.

    Raises
    ------
    InputError
        If dask.distributed is not installed, or the scheduler cannot be reached.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise InputError(
            "the dask engine needs dask.distributed",
            fix="pip install 'dask[distributed]' (or lianpian[bench])",
        ) from exc
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise InputError(
                msg(
                    "cannot reach the dask scheduler at {scheduler}: {exc}",
                    scheduler=scheduler,
                    exc=exc,
                ),
                fix="start it with `dask scheduler` and give its tcp://host:8786 address",
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.WARNING,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def plan_distributed(
    inputs: PlanInputs,
    policy: Policy | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> PlanResult:
    """Run the planning steps unit by unit on dask.distributed; same result as ``run_plan``.

    Parameters
    ----------
    inputs, policy
        As for :func:`geo.pipeline.run_plan`.
    scheduler
        Address of a dask scheduler (``tcp://host:8786``); None starts a ``LocalCluster``.
    workers
        Worker processes of the ``LocalCluster`` (default: one per core).
    client
        An existing ``distributed.Client`` to use instead (``scheduler``/``workers`` ignored).
    progress
        Callback ``(fraction, message)``.

    Raises
    ------
    InputError
        If no estate is left, or the estates have no unit of ``districts.keep_within_level``
        (give ``--boundaries`` or a county column), or the cluster cannot be used.
    """
    policy = policy or load_policy()
    quality = QualityReport()
    quality.extend(inputs.quality)
    estates, crs, survey_report = prepare_estates(inputs, policy, quality, progress)
    level = policy.districts.keep_within_level
    if district_unit_column(estates, policy) is None:
        raise InputError(
            msg(
                "the dask engine splits the run by administrative unit, but no estate has a "
                "{level!r}",
                level=level,
            ),
            source=inputs.sources.get("estates"),
            fix="give --boundaries (with units of that level), a county column (所在区), "
            "or set districts.keep_within_level in the policy",
        )
    note_progress(progress, 0.4, "splitting by administrative unit")
    estates = estates.reset_index(drop=True)
    tolerance = policy.adjacency.tolerance_m
    parts = unit_partitions(estates, level, tolerance)
    barriers = barrier_layer(inputs, policy, crs)
    tree = shapely.STRtree(barriers.geometry.to_numpy()) if barriers is not None else None
    corridor_layers = corridor_layer_index(inputs, policy, crs)
    reach = corridor_reach_m(policy)

    def submit(c: Any, i: int) -> Any:
        _unit, rows, in_unit = parts[i]
        frame = estates.iloc[rows]
        future = c.submit(
            plan_unit,
            frame,
            in_unit,
            _barriers_near(barriers, tree, frame, tolerance),
            policy,
            level,
            unit_layers(corridor_layers, frame.iloc[np.flatnonzero(in_unit)], reach),
            pure=False,
        )
        index_of[future.key] = i
        return future

    index_of: dict[Any, int] = {}

    def run(c: Any) -> list[dict[str, Any]]:
        # a bounded number of units in flight, so the client never holds every unit's data at once
        from distributed import as_completed

        window = max(4, 4 * len(c.scheduler_info().get("workers", {})) or 8)
        note_progress(progress, 0.5, f"planning {len(parts)} units on the cluster")
        pieces: list[dict[str, Any] | None] = [None] * len(parts)
        pending = as_completed([submit(c, i) for i in range(min(window, len(parts)))])
        following = min(window, len(parts))
        for future in pending:
            pieces[index_of.pop(future.key)] = future.result()
            future.release()
            if following < len(parts):
                pending.add(submit(c, following))
                following += 1
        return pieces  # type: ignore[return-value]

    if client is not None:
        pieces = run(client)
    else:
        with dask_client(scheduler, workers) as c:
            pieces = run(c)
    note_progress(progress, 0.9, "gathering the units")
    return _gather(pieces, estates, crs, policy, quality, inputs, survey_report)


def _gather(
    pieces: list[dict[str, Any]],
    estates: gpd.GeoDataFrame,
    crs: Any,
    policy: Policy,
    quality: QualityReport,
    inputs: PlanInputs,
    survey_report: Any,
) -> PlanResult:
    """Join the units' results in input order and number districts as the single run does."""
    added = pd.concat([p["estates"] for p in pieces]).sort_index()
    out = pd.concat([estates, added.reindex(estates.index)], axis=1)
    del added
    districts_parts = [p["districts"].assign(_piece=i) for i, p in enumerate(pieces)]
    districts_parts = [d for d in districts_parts if len(d)]
    edges = pd.concat([p["edges"] for p in pieces if len(p["edges"])] or [pieces[0]["edges"]])
    position = pd.Series(np.arange(len(estates)), index=estates["estate_id"].astype(str))
    order = np.lexsort(
        (position[edges["target_id"]].to_numpy(), position[edges["source_id"]].to_numpy())
    )
    edges = gpd.GeoDataFrame(edges.iloc[order].reset_index(drop=True), crs=crs)
    if districts_parts:
        districts = pd.concat(districts_parts, ignore_index=True)
        first = districts["members"].str.split(",").str[0]
        districts = districts.iloc[np.argsort(first.to_numpy(), kind="stable")]
        new_ids = [f"D{n:04d}" for n in range(1, len(districts) + 1)]
        renumber = {
            (piece, old): new
            for piece, old, new in zip(
                districts["_piece"], districts["district_id"], new_ids, strict=True
            )
        }
        piece_of = pd.concat(
            [pd.Series(i, index=p["estates"].index) for i, p in enumerate(pieces)]
        ).sort_index()
        out["district_id"] = pd.array(
            [
                pd.NA if pd.isna(d) else renumber[(int(piece), d)]
                for piece, d in zip(piece_of, out["district_id"], strict=True)
            ],
            dtype="string",
        )
        corridors = _gather_corridors(pieces, districts, renumber, crs, quality)
        districts = districts.drop(columns="_piece").reset_index(drop=True)
        districts["district_id"] = new_ids
        districts["priority_rank"] = (
            districts["priority_score"].rank(ascending=False, method="min").astype(int)
        )
    else:
        corridors = None
        districts = pieces[0]["districts"].assign(
            priority_score=pd.Series(dtype=float), priority_rank=pd.Series(dtype=int)
        )
    districts = gpd.GeoDataFrame(districts, geometry="geometry", crs=crs)
    out = gpd.GeoDataFrame(out, geometry=estates.geometry.name, crs=crs)
    graph = graph_from_edges(estates["estate_id"].astype(str), edges)
    return finish_plan(
        out, districts, edges, graph, inputs, policy, crs, quality, survey_report,
        corridors=corridors,
    )  # fmt: skip


def _gather_corridors(
    pieces: list[dict[str, Any]],
    districts: pd.DataFrame,
    renumber: dict[tuple[int, str], str],
    crs: Any,
    quality: QualityReport,
) -> CorridorPlan | None:
    """The units' corridors as one plan: district ids renumbered, rows in the new district order.

    ``districts`` are the gathered districts in their final order, with ``_piece`` and the
    unit-local ``district_id``; the district columns come back indexed 0..n-1 like the
    renumbered districts.
    """
    plans = [(i, p.get("corridors")) for i, p in enumerate(pieces)]
    plans = [(i, plan) for i, plan in plans if plan is not None]
    if not plans:
        return None
    rank = {new: n for n, new in enumerate(renumber.values())}
    frames, segments, tables = [], [], []
    for i, plan in plans:
        ids = pieces[i]["districts"]["district_id"].astype(str).to_numpy()
        rows = plan.districts.set_axis([renumber[(i, d)] for d in ids], axis=0)
        frames.append(rows)
        if len(plan.segments):
            seg = plan.segments.copy()
            seg["district_id"] = [renumber[(i, str(d))] for d in seg["district_id"]]
            segments.append(seg)
        if len(plan.utilities):
            table = plan.utilities.copy()
            table["district_id"] = [renumber[(i, str(d))] for d in table["district_id"]]
            tables.append(table)
    new_ids = [
        renumber[(int(p), str(d))]
        for p, d in zip(districts["_piece"], districts["district_id"], strict=True)
    ]
    frame = pd.concat(frames).reindex(new_ids).reset_index(drop=True)

    def in_order(parts: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
        if not parts:
            return empty
        joined = pd.concat(parts, ignore_index=True)
        order = np.argsort(joined["district_id"].map(rank).to_numpy(), kind="stable")
        return joined.iloc[order].reset_index(drop=True)

    segs = in_order(segments, plans[0][1].segments.iloc[:0])
    segs = gpd.GeoDataFrame(segs, geometry="geometry", crs=crs)
    utilities = in_order(tables, plans[0][1].utilities.iloc[:0])
    assumed = [
        d for d, basis in zip(new_ids, frame["corridor_basis"], strict=True)
        if not pd.isna(basis) and "outline" in str(basis)
    ]  # fmt: skip
    note_assumed_connections(quality, sorted(assumed, key=rank.__getitem__))
    return CorridorPlan(segments=segs, districts=frame, utilities=utilities)


def simulate_schedule(
    task_seconds: list[float] | np.ndarray, workers: int, *, overhead_s: float = 0.0
) -> float:
    """Return the makespan (s) of the unit tasks on ``workers`` workers: a cost model of the engine.

    The engine submits the units in order and a free worker takes the next one (dask's first-in,
    first-out queue, a window of several tasks per worker in flight), so the model is list
    scheduling in submission order: each task, costing its measured ``task_seconds`` plus
    ``overhead_s`` (scheduling, sending the unit's estates and barriers, returning its result),
    goes to the worker that frees first. The makespan is at least the largest task and at least
    the total over ``workers``.

    Raises
    ------
    ValueError
        If ``workers`` is below 1 or a task time is negative.
    """
    import heapq

    if workers < 1:
        raise ValueError("workers must be at least 1")
    costs = np.asarray(task_seconds, dtype=float) + overhead_s
    if (costs < 0).any():
        raise ValueError("task times must be at least 0")
    free = [0.0] * workers
    for cost in costs.tolist():
        heapq.heappush(free, heapq.heappop(free) + cost)
    return max(free)
