"""Districting: lianpian ``form_districts`` vs spopt MaxPHeuristic and Skater on the same graph.

1,000 groupable estates (real Hangzhou geometry, tiled; each with at least one groupable
neighbour, so every method can place it) and the same adjacency graph for all three. lianpian's
rules: a district is connected, holds at least ``min_estates`` (2) and at most ``max_estates`` (20)
estates and ``max_households`` (5,000) households. spopt's equivalents: MaxPHeuristic with the
floor as its threshold (estates per region >= 2; it has no cap), Skater with ``floor`` = 2 estates
and as many clusters as lianpian made districts (it has no cap either). Both spopt methods minimise
the within-region sum of squared deviations of their attributes; they get the estates' coordinates
(km), so their objective is compactness, lianpian's aim too. Printed for all three: districts,
share meeting every rule (connected, floor, both caps), that objective (km², lower is more
compact), time. lianpian leaves an estate alone (a standalone project) when no district can take
it; spopt places every estate. Run: ``python benchmarks/bench_districts.py [--estates 1000]
[--maxp-construction 99 --maxp-sa 10] [--timeout 1200]`` (spopt's defaults; smaller iteration counts
are printed in the method's name, as they are not spopt's defaults). Each spopt method runs in a
forked process and is reported as not finished past the timeout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _tiling import require_data, tiled_inputs


def sample(n: int):
    """Return ``n`` groupable estates with groupable neighbours, their graph and the policy."""
    from geo.core.policy import load_policy
    from geo.pipeline import load_inputs, run_plan
    from geo.planning.eligibility import is_groupable

    t = tiled_inputs(5000)
    path, layer = t.estates.rsplit("::", 1)
    policy = load_policy()
    plan = run_plan(
        load_inputs(path, estates_layer=layer, survey=t.survey, barriers=[t.water], roads=t.roads),
        policy,
    )
    estates = plan.estates
    ids = estates["estate_id"].astype(str)
    groupable = set(ids[is_groupable(estates, policy)])
    graph = plan.graph.subgraph(groupable).copy()
    graph.remove_nodes_from([v for v in list(graph) if graph.degree(v) == 0])
    chosen, seen = [], set()
    for component in sorted(nx.connected_components(graph), key=lambda c: min(c)):
        if len(chosen) + len(component) > n:
            continue
        chosen.extend(sorted(component))
        seen |= component
    chosen = chosen[:n]
    sub = estates.loc[ids.isin(set(chosen))].reset_index(drop=True)
    return sub, graph.subgraph(chosen).copy(), policy


def evaluate(labels: np.ndarray, sub, graph: nx.Graph, policy) -> dict:
    """Districts, share meeting every rule, and the compactness objective (km²)."""
    caps = policy.districts
    ids = sub["estate_id"].astype(str).to_numpy()
    xy = np.column_stack([sub.geometry.centroid.x, sub.geometry.centroid.y]) / 1000
    households = sub["households"].astype("Float64").fillna(0).to_numpy(dtype=float)
    frame = pd.DataFrame({"label": labels}).dropna()
    ok, objective, regions = 0, 0.0, 0
    for _label, rows in frame.groupby("label").groups.items():
        rows = np.asarray(rows)
        regions += 1
        connected = nx.is_connected(graph.subgraph(ids[rows]))
        fits = (
            caps.min_estates <= len(rows) <= caps.max_estates
            and households[rows].sum() <= caps.max_households
        )
        ok += connected and fits
        objective += float(((xy[rows] - xy[rows].mean(axis=0)) ** 2).sum())
    placed = int(frame["label"].notna().sum())
    return {
        "regions": regions,
        "ok": ok / max(regions, 1),
        "objective": objective,
        "placed": placed,
    }


def _timed(solve, timeout: float) -> tuple[float, np.ndarray | None]:
    """Run ``solve`` in a forked process; (seconds, labels), or labels None past ``timeout``."""
    import multiprocessing as mp

    context = mp.get_context("fork")
    queue = context.Queue()
    started = time.perf_counter()
    process = context.Process(target=lambda: queue.put(solve()), daemon=True)
    process.start()
    try:
        labels = queue.get(timeout=timeout)
    except Exception:  # queue.Empty: still running at the deadline
        process.kill()
        return time.perf_counter() - started, None
    seconds = time.perf_counter() - started
    process.join()
    return seconds, labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estates", type=int, default=1000)
    parser.add_argument(
        "--maxp-construction",
        type=int,
        default=99,
        help="MaxPHeuristic max_iterations_construction (spopt's default 99)",
    )
    parser.add_argument(
        "--maxp-sa", type=int, default=10, help="MaxPHeuristic max_iterations_sa (default 10)"
    )
    parser.add_argument(
        "--timeout", type=float, default=1200, help="seconds each spopt method may take"
    )
    args = parser.parse_args(argv)
    require_data()
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic, Skater

    from geo.planning.districts import form_districts

    sub, graph, policy = sample(args.estates)
    ids = sub["estate_id"].astype(str).tolist()
    position = {e: i for i, e in enumerate(ids)}
    runs = {}
    started = time.perf_counter()
    membership, _ = form_districts(sub, graph, policy)
    runs["lianpian form_districts"] = (
        time.perf_counter() - started,
        membership["district_id"]
        .astype(object)
        .where(membership["district_id"].notna())
        .to_numpy(),
    )
    frame = sub.assign(
        x_km=sub.geometry.centroid.x / 1000, y_km=sub.geometry.centroid.y / 1000, one=1.0
    )
    w = W(
        {position[v]: [position[u] for u in graph.neighbors(v)] for v in ids},
        silence_warnings=True,
    )
    frame.index = range(len(frame))
    n_districts = int(membership["district_id"].nunique())
    defaults = args.maxp_construction == 99 and args.maxp_sa == 10
    maxp_name = "spopt MaxPHeuristic" + (
        "" if defaults else f" ({args.maxp_construction}/{args.maxp_sa} iter.)"
    )

    def maxp() -> np.ndarray:
        model = MaxPHeuristic(
            frame,
            w,
            ["x_km", "y_km"],
            "one",
            policy.districts.min_estates,
            max_iterations_construction=args.maxp_construction,
            max_iterations_sa=args.maxp_sa,
        )
        model.solve()
        return np.asarray(model.labels_)

    def skater() -> np.ndarray:
        model = Skater(
            frame, w, ["x_km", "y_km"], n_clusters=n_districts, floor=policy.districts.min_estates
        )
        model.solve()
        return np.asarray(model.labels_)

    unfinished = []
    for name, solve in ((maxp_name, maxp), ("spopt Skater", skater)):
        seconds, labels = _timed(solve, args.timeout)
        if labels is None:
            unfinished.append(f"{name}: did not finish in {args.timeout:.0f} s")
        else:
            runs[name] = (seconds, labels)
    print(
        f"districting {len(sub):,} groupable estates, {graph.number_of_edges():,} adjacency edges; "
        f"rules: connected, {policy.districts.min_estates}-{policy.districts.max_estates} estates, "
        f"<= {policy.districts.max_households:,} households"
    )
    print(
        f"{'method':<26} {'seconds':>8} {'districts':>9} {'placed':>7} {'rules met':>9} "
        f"{'objective km2':>13} {'lianpian faster':>15}"
    )
    ours = runs["lianpian form_districts"][0]
    for name, (seconds, labels) in runs.items():
        e = evaluate(labels, sub, graph, policy)
        print(
            f"{name:<26} {seconds:>8.2f} {e['regions']:>9,} {e['placed']:>7,} {e['ok']:>8.0%} "
            f"{e['objective']:>13.1f} {seconds / ours:>14.0f}x"
        )
    for line in unfinished:
        print(line)
    print(
        "objective: within-district sum of squared distances to the district centre (km², lower "
        "is more compact; over the estates placed). Target: rules met in 100% of lianpian's "
        "districts, lianpian at least 20x faster."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
