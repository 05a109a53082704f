"""Where the dask engine pays: its parts measured on this machine and a cost model for N workers.

On ``--estates`` tiled estates (default 50,000: about 310 counties, a large province), this script

1. times the parts of ``geo.distributed.plan_distributed`` in this process: the client's serial
   work before the tasks (``load_inputs``, ``prepare_estates``, the unit partition with halos, the
   barrier index), every unit task (``plan_unit``: adjacency, districts, scores) with the time to
   pickle and unpickle what it sends and returns, and the client's work after them (``_gather``:
   joining, renumbering, relabelling the corridors, funding table);
2. measures the engine's own overhead per task on a ``LocalCluster`` (no-op tasks);
3. predicts the run on N workers with :func:`geo.distributed.simulate_schedule` (list scheduling of
   the measured tasks in submission order) plus the serial client parts, and checks the model
   against real ``plan_distributed`` runs with 1 and 2 local workers on a running cluster
   (``--runs`` each, min/median, with the load average; the cluster's start-up is given apart).

Each unit task plans its districts' shared corridors too (the unit's part of the roads, mains
and buildings travels with it), so the corridors are in the tasks' times (given apart as well).
Writing the GeoPackage (``lianpian plan`` does it after the engine) is not included.

Run: ``python benchmarks/bench_dask.py [--estates 50000] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _measure import load_average, min_median
from _tiling import require_data, tiled_inputs

import geo.distributed as engine
from geo.core.errors import QualityReport
from geo.core.policy import load_policy
from geo.pipeline import load_inputs
from geo.pipeline.inputs import barrier_layer


def _noop(x: int) -> int:
    return x


def measure_parts(n: int) -> dict:
    """Time the engine's parts in this process (one worker's view, no dask)."""
    import shapely

    t = tiled_inputs(n)
    policy = load_policy()
    path, layer = t.estates.rsplit("::", 1)
    started = time.perf_counter()
    inputs = load_inputs(
        path, estates_layer=layer, survey=t.survey, barriers=[t.water], roads=t.roads
    )
    t_load = time.perf_counter() - started
    started = time.perf_counter()
    quality = QualityReport()
    estates, crs, survey_report = engine.prepare_estates(inputs, policy, quality)
    level = policy.districts.keep_within_level
    estates = estates.reset_index(drop=True)
    parts = engine.unit_partitions(estates, level, policy.adjacency.tolerance_m)
    barriers = barrier_layer(inputs, policy, crs)
    tree = shapely.STRtree(barriers.geometry.to_numpy()) if barriers is not None else None
    layers = engine.corridor_layer_index(inputs, policy, crs)
    reach = engine.corridor_reach_m(policy)
    t_before = time.perf_counter() - started
    tasks, shipping, pieces = [], [], []
    spent: list[float] = []
    plan_corridors = engine.plan_corridors

    def timed(*args, **kwargs):
        c0 = time.perf_counter()
        try:
            return plan_corridors(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - c0)

    engine.plan_corridors = timed
    for _unit, rows, in_unit in parts:
        frame = estates.iloc[rows]
        s0 = time.perf_counter()
        args = (
            frame,
            in_unit,
            engine._barriers_near(barriers, tree, frame, policy.adjacency.tolerance_m),
            policy,
            level,
            engine.unit_layers(layers, frame.iloc[np.flatnonzero(in_unit)], reach),
        )
        sent = pickle.loads(pickle.dumps(args))
        s1 = time.perf_counter()
        piece = engine.plan_unit(*sent)
        s2 = time.perf_counter()
        back = pickle.loads(pickle.dumps(piece))
        s3 = time.perf_counter()
        tasks.append(s2 - s1)
        shipping.append((s1 - s0) + (s3 - s2))
        pieces.append(back)
    engine.plan_corridors = plan_corridors
    started = time.perf_counter()
    engine._gather(pieces, estates, crs, policy, quality, inputs, survey_report)
    t_after = time.perf_counter() - started
    return {
        "load": t_load,
        "before": t_before,
        "tasks": np.array(tasks),
        "shipping": np.array(shipping),
        "gather": t_after,
        "corridors": sum(spent),
        "units": len(parts),
    }


def task_overhead(workers: int = 2, n: int = 200) -> float:
    """Seconds per task of the engine's queue on a LocalCluster (no-op tasks, one at a time)."""
    with engine.dask_client(None, workers) as client:
        client.submit(_noop, -1, pure=False).result()
        started = time.perf_counter()
        for i in range(n):
            client.submit(_noop, i, pure=False).result()
        return (time.perf_counter() - started) / n


def real_run(n: int, workers: int) -> tuple[float, float]:
    """Seconds to start a LocalCluster of ``workers`` and to run the engine on it."""
    t = tiled_inputs(n)
    path, layer = t.estates.rsplit("::", 1)
    inputs = load_inputs(
        path, estates_layer=layer, survey=t.survey, barriers=[t.water], roads=t.roads
    )
    started = time.perf_counter()
    with engine.dask_client(None, workers) as client:
        client.submit(_noop, 0, pure=False).result()  # every worker up
        startup = time.perf_counter() - started
        started = time.perf_counter()
        engine.plan_distributed(inputs, load_policy(), client=client, workers=workers)
        return startup, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estates", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    require_data()
    loads = [load_average()]
    parts = measure_parts(args.estates)
    overhead = task_overhead()
    loads.append(load_average())
    tasks, shipping = parts["tasks"], parts["shipping"]
    print(
        f"dask engine on {args.estates:,} estates: {parts['units']} units (counties); "
        f"load average {min(loads):.1f}-{max(loads):.1f} while measuring the parts"
    )
    print(
        f"  client before the tasks: load_inputs {parts['load']:.1f} s, prepare + partition "
        f"{parts['before']:.1f} s\n"
        f"  unit tasks: {tasks.sum():.1f} s in all, largest {tasks.max():.2f} s, median "
        f"{np.median(tasks):.3f} s; pickling them and their results {shipping.sum():.1f} s; "
        f"queue overhead {1000 * overhead:.1f} ms per task\n"
        f"  of which corridors {parts['corridors']:.1f} s (in the tasks)\n"
        f"  client after the tasks: gather {parts['gather']:.1f} s"
    )
    serial = parts["before"] + parts["gather"]
    per_task = overhead + shipping / 1.0  # pickling on both ends, as measured here

    def model(workers: int) -> tuple[float, float]:
        span = engine.simulate_schedule(tasks + per_task, workers)
        return span, serial + span

    print(f"\n{'workers':>8} {'tasks (model)':>14} {'engine total (model)':>21} {'speed-up':>9}")
    base = model(1)[1]
    for w in (1, 2, 4, 8, 16, 32, 64, 128):
        span, total = model(w)
        print(f"{w:>8} {span:>13.1f}s {total:>20.1f}s {base / total:>8.2f}x")
    limit = serial + tasks.max() + per_task.max()
    print(
        f"  bound with unlimited workers: {limit:.1f} s "
        f"(client serial {serial:.1f} s + the largest unit task)"
    )
    print(f"\nmodel vs real plan_distributed on this machine (min / median of {args.runs} runs):")
    for w in (1, 2):
        before = load_average()
        runs = [real_run(args.estates, w) for _ in range(args.runs)]
        low, mid = min_median([r[1] for r in runs])
        predicted = model(w)[1]
        print(
            f"  {w} local worker{'s' if w > 1 else ''}: measured {low:.1f} / {mid:.1f} s, model "
            f"{predicted:.1f} s (cluster start-up {min_median([r[0] for r in runs])[1]:.1f} s "
            f"apart); load average {before:.1f}-{load_average():.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
