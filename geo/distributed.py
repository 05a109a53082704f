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
   component its neighbours across the unit line) and its districts.
3. On the client: estates back in input order, pairs in input order, districts renumbered
   ``D0001...`` by their first member as the single-process run numbers them, ranks over all.

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

from geo.core._machine import cores
from geo.core.errors import InputError, QualityReport
from geo.core.messages import msg
from geo.core.policy import Policy, load_policy
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

    Returns
    -------
    dict
        ``estates``: the columns the unit adds to its own estates (indexed like them):
        ``district_id`` (unit-local numbering), ``project_type`` and the priority columns; ``districts``: the unit's districts with
        ``priority_score``; ``edges``: the adjacency pairs whose ``source_id`` is in the unit.
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
    if len(districts):
        scored = pd.concat([own, added], axis=1)
        districts = pd.concat([districts, score_districts(districts, scored)], axis=1)
    # only the columns the unit adds go back: the client holds the estates already
    return {"estates": added, "districts": districts, "edges": edges}


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
    # the corridors of the gathered districts are planned on this machine's cores (forked
    # processes, see geo.facilities.corridors.plan_corridors): the local cluster is closed by now
    corridor_workers = workers or cores()
    return _gather(pieces, estates, crs, policy, quality, inputs, survey_report, corridor_workers)


def _gather(
    pieces: list[dict[str, Any]],
    estates: gpd.GeoDataFrame,
    crs: Any,
    policy: Policy,
    quality: QualityReport,
    inputs: PlanInputs,
    survey_report: Any,
    corridor_workers: int = 1,
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
        districts = districts.drop(columns="_piece").reset_index(drop=True)
        districts["district_id"] = new_ids
        districts["priority_rank"] = (
            districts["priority_score"].rank(ascending=False, method="min").astype(int)
        )
    else:
        districts = pieces[0]["districts"].assign(
            priority_score=pd.Series(dtype=float), priority_rank=pd.Series(dtype=int)
        )
    districts = gpd.GeoDataFrame(districts, geometry="geometry", crs=crs)
    out = gpd.GeoDataFrame(out, geometry=estates.geometry.name, crs=crs)
    graph = graph_from_edges(estates["estate_id"].astype(str), edges)
    return finish_plan(
        out, districts, edges, graph, inputs, policy, crs, quality, survey_report,
        workers=corridor_workers,
    )  # fmt: skip


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
