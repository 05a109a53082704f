"""Districting: lianpian ``form_districts`` vs spopt Skater on the same graph and components.

Groupable estates of the tiled real Hangzhou data (``--estates``, whole connected groups of the
adjacency graph, standalone estates included) and the same graph for both. lianpian's rules
(issue 17): a district is connected, holds at least ``min_estates`` (2) and at most
``max_estates`` estates and ``max_households`` (8,000: GB 50180-2018 10-minute life circle)
households, and every member is within ``max_walk_m`` (500 m) of its centre member; it minimises
100 x standalone + sum over districts of (1 + mean walk / 500 m), exactly (dynamic programming;
the HiGHS MILP above 5,000 candidate groups) on components of at most ``exact_max_estates``
estates, by region growing on larger ones.

Skater (spopt) gets, on each connected component separately, as many regions as lianpian made
there (districts plus standalone estates), ``floor`` 1 (so it may leave estates alone too) and the
estates' coordinates in km as attributes (its objective, the within-region sum of squares, is
compactness); it has no caps. Printed for both, in the same run: regions, standalone estates,
share of districts (regions of >= 2) meeting every rule, compactness (within-district sum of
squared distances to the mean point, km²; median Polsby-Popper of the district outlines), the
mean walk to the centre member, and time (min and median of ``--repeat`` runs) with the load
average at the start and the end. Like for like: lianpian's partition alone (labels) against
Skater (labels); ``form_districts`` (labels and the district table) is printed beside it. The
partition alone takes a few ms, so each repeat times ``PARTITION_LOOPS`` calls together (their
mean), as ``timeit`` does, and one pause of a shared machine does not decide a repeat. Run:
``python benchmarks/bench_districts.py [--estates 1000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _tiling import require_data, tiled_inputs

#: Calls of the partition alone per repeat, timed together (their mean is the repeat's time).
PARTITION_LOOPS = 10


def sample(n: int):
    """Return up to ``n`` groupable estates (whole components, singletons too), graph, policy."""
    from geo.core.policy import load_policy
    from geo.pipeline import load_inputs, run_plan
    from geo.planning.eligibility import is_groupable

    t = tiled_inputs(5000)
    path, layer = t.estates.rsplit("::", 1)
    policy = load_policy()
    plan = run_plan(
        load_inputs(path, estates_layer=layer, survey=t.survey, barriers=[t.water], roads=t.roads),
        policy.with_values({"corridors.enabled": False}),
    )
    estates = plan.estates
    ids = estates["estate_id"].astype(str)
    groupable = set(ids[is_groupable(estates, policy)])
    same_unit = {
        (a, b)
        for a, b in plan.graph.edges()
        if a in groupable
        and b in groupable
        and estates.set_index(ids)["county"].get(a) == estates.set_index(ids)["county"].get(b)
    }
    graph = nx.Graph()
    graph.add_nodes_from(groupable)
    graph.add_edges_from(same_unit)
    chosen: list[str] = []
    for component in sorted(nx.connected_components(graph), key=lambda c: min(c)):
        if len(chosen) + len(component) <= n:
            chosen.extend(sorted(component))
    sub = estates.loc[ids.isin(set(chosen))].reset_index(drop=True)
    return sub, graph.subgraph(chosen).copy(), policy


def evaluate(labels: np.ndarray, sub, graph: nx.Graph, policy) -> dict:
    """Regions, standalone estates, rules met, compactness and walks of a labelling."""
    from geo.planning.partition import Caps

    ids = sub["estate_id"].astype(str).to_numpy()
    pts = shapely.point_on_surface(sub.geometry.to_numpy())
    xy = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])
    households = sub["households"].astype("Float64").fillna(0).to_numpy(dtype=float)
    caps = Caps(
        dict(zip(ids, households, strict=True)),
        {i: (x, y) for i, (x, y) in zip(ids, xy, strict=True)},
        policy,
    )
    geoms = sub.geometry.to_numpy()
    regions, standalone, ok, ssd, pp, walks = 0, 0, 0, 0.0, [], []
    for rows in pd.Series(range(len(ids))).groupby(labels).groups.values():
        rows = np.asarray(rows)
        regions += 1
        if len(rows) == 1:
            standalone += 1
            continue
        members = list(ids[rows])
        ok += (
            nx.is_connected(graph.subgraph(members))
            and len(rows) >= caps.min_estates
            and (caps.fits(members))
        )
        ssd += float((((xy[rows] - xy[rows].mean(axis=0)) / 1000) ** 2).sum())
        outline = shapely.union_all(shapely.buffer(geoms[rows], 13.0)).buffer(-13.0)
        pp.append(4 * np.pi * outline.area / outline.length**2 if outline.length else 0.0)
        walks.append(float(caps.walks(members)[1].mean()))
    districts = regions - standalone
    return {
        "regions": regions,
        "standalone": standalone,
        "ok": ok / max(districts, 1),
        "ssd": ssd,
        "pp": float(np.median(pp)) if pp else float("nan"),
        "walk": float(np.mean(walks)) if walks else float("nan"),
        "districts": districts,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estates", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    require_data()
    from libpysal.weights import W
    from spopt.region import Skater

    from geo.planning.districts import form_districts

    sub, graph, policy = sample(args.estates)
    ids = sub["estate_id"].astype(str).tolist()

    def ours() -> np.ndarray:
        membership, _ = form_districts(sub, graph, policy)
        district = membership["district_id"].astype(object).to_numpy()
        alone = [f"alone {i}" for i in ids]
        return np.where([isinstance(d, str) for d in district], district, alone)

    def partition_only() -> None:
        """The partition alone (labels, no district table): the work Skater does."""
        from geo.planning.partition import Caps, partition_all

        pts = shapely.point_on_surface(sub.geometry.to_numpy())
        hh = sub["households"].astype("Float64").fillna(0).to_numpy(dtype=float)
        caps = Caps(
            dict(zip(ids, hh, strict=True)),
            dict(zip(ids, zip(shapely.get_x(pts), shapely.get_y(pts), strict=True), strict=True)),
            policy,
        )
        components = [
            c for c in nx.connected_components(graph) if len(c) >= policy.districts.min_estates
        ]
        partition_all(components, graph, caps, policy.districts.exact_max_estates)

    def skater(target: np.ndarray) -> np.ndarray:
        labels = np.empty(len(ids), dtype=object)
        pts = shapely.point_on_surface(sub.geometry.to_numpy())
        frame = pd.DataFrame({"x_km": shapely.get_x(pts) / 1000, "y_km": shapely.get_y(pts) / 1000})
        position = {e: i for i, e in enumerate(ids)}
        for number, component in enumerate(nx.connected_components(graph)):
            rows = sorted(position[e] for e in component)
            k = len(set(target[rows]))
            if k <= 1 or k >= len(rows):
                labels[rows] = [f"{number}-{j if k > 1 else 0}" for j in range(len(rows))]
                continue
            local = {r: j for j, r in enumerate(rows)}
            w = W(
                {
                    local[position[e]]: [local[position[u]] for u in graph.neighbors(e)]
                    for e in component
                },
                silence_warnings=True,
            )
            part = frame.iloc[rows].reset_index(drop=True)
            model = Skater(part, w, ["x_km", "y_km"], n_clusters=k, floor=1)
            model.solve()
            labels[rows] = [f"{number}-{lab}" for lab in model.labels_]
        return labels

    times: dict[str, list[float]] = {
        "lianpian form_districts": [],
        "spopt Skater": [],
        "partition": [],
        "partition, one call": [],
    }
    results: dict[str, np.ndarray] = {}
    for _ in range(args.repeat):
        started = time.perf_counter()
        results["lianpian form_districts"] = ours()
        times["lianpian form_districts"].append(time.perf_counter() - started)
        started = time.perf_counter()
        results["spopt Skater"] = skater(results["lianpian form_districts"])
        times["spopt Skater"].append(time.perf_counter() - started)
        # timeit's way for a short call: the mean of PARTITION_LOOPS calls per repeat, so that
        # one scheduler pause on a shared machine does not decide a repeat of a few ms
        started = time.perf_counter()
        partition_only()
        times["partition, one call"].append(time.perf_counter() - started)
        for _ in range(PARTITION_LOOPS - 1):
            partition_only()
        times["partition"].append((time.perf_counter() - started) / PARTITION_LOOPS)
    d = policy.districts
    print(
        f"districting {len(sub):,} groupable estates in {nx.number_connected_components(graph):,} "
        f"components, {graph.number_of_edges():,} adjacency edges; rules: connected, "
        f"{d.min_estates}-{d.max_estates} estates, <= {d.max_households:,} households, <= "
        f"{d.max_walk_m:g} m walk to the centre; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'method':<24} {'min s':>7} {'median s':>8} {'regions':>7} {'districts':>9} "
        f"{'standalone':>10} {'rules met':>9} {'SSD km2':>8} {'PP median':>9} {'mean walk m':>11}"
    )
    base_name = "lianpian form_districts"
    for name, labels in results.items():
        e = evaluate(labels, sub, graph, policy)
        t = times[name]
        print(
            f"{name:<24} {min(t):>7.3f} {float(np.median(t)):>8.3f} {e['regions']:>7,} "
            f"{e['districts']:>9,} {e['standalone']:>10,} {e['ok']:>8.0%} {e['ssd']:>8.2f} "
            f"{e['pp']:>9.3f} {e['walk']:>11.1f}"
        )
    part, skat, full = (min(times[k]) for k in ("partition", "spopt Skater", base_name))
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(
        f"like for like (estates and graph in, labels out): lianpian partition alone (mean of "
        f"{PARTITION_LOOPS} calls per repeat) min "
        f"{part:.4f} s, median {med['partition']:.4f} s; Skater min {skat:.4f} s, median "
        f"{med['spopt Skater']:.4f} s: lianpian faster by {skat / part:.1f}x (min over min; "
        f"median over median {med['spopt Skater'] / med['partition']:.1f}x). Both include the "
        "representative points and the connected components; Skater also its weights per "
        "component and is given lianpian's region count per component (it does not choose it)"
    )
    one = times["partition, one call"]
    print(
        f"the partition timed as one call per repeat, like Skater (the first of the "
        f"{PARTITION_LOOPS}): min {min(one):.4f} s, median {float(np.median(one)):.4f} s: "
        f"{skat / min(one):.1f}x (median over median {med['spopt Skater'] / float(np.median(one)):.1f}x)"
    )
    print(
        f"with the district table (lianpian form_districts, labels + table) against Skater's labels "
        f"only: {skat / full:.1f}x (median {med['spopt Skater'] / med[base_name]:.1f}x); the table "
        f"alone (form_districts minus the partition, minimum) {max(full - part, 0.0):.4f} s: "
        "outlines (GEOS union of footprints and gap strips), Polsby-Popper, width, walks, "
        "objective terms, lots, readiness, sums; Skater computes none of it"
    )
    print(
        "SSD: within-district sum of squared distances to the mean point (km², lower is more "
        "compact); PP: Polsby-Popper of the district outlines (higher is more compact); mean "
        "walk: estimated walk (straight x detour) from the members to the centre member."
    )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
