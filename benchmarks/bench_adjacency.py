"""Adjacency graph: lianpian ``build_adjacency`` vs libpysal ``Graph.build_fuzzy_contiguity``.

Same estates, same tolerance: two estates are neighbours when their boundaries are at most
``tolerance_m`` (25 m here) apart. libpysal's fuzzy contiguity buffers every polygon by ``buffer``
and links those whose buffers intersect, so ``buffer = tolerance_m / 2`` is the same rule (up to
the polygonal approximation of the buffer's round corners: pairs whose gap is within a few
centimetres of the tolerance can differ; any difference is printed with its gaps).

Two comparisons, both against libpysal's whole graph build (the function its user calls):

- ``build_adjacency``: the function a lianpian user calls. It does more per pair than libpysal: the
  gap, the shared boundary length and the gap line of every pair (the adjacency layer); barriers
  are left out here (libpysal has no equivalent).
- search + graph: lianpian's neighbour search (``neighbour_pairs``) with a networkx graph built
  from its pairs (a node per estate, an edge per pair): the work libpysal does, no more.

Each side runs in its own child process, ``--runs`` times (default 3): the least and the median
wall time, the peak memory the step needed (RSS above the RSS before it) and the 1-minute load
average around the runs. Run: ``python benchmarks/bench_adjacency.py [--sizes 2112 50000]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _measure import emit, fmt_loads, fmt_mb, measure, min_median, repeat_child
from _tiling import hangzhou_metric, require_data, tiled_inputs

TOLERANCE_M = 25.0
SIZES = (2112, 50_000)


def load_estates(n: int):
    """Return ``n`` estates (EPSG:4549) with ``estate_id``: the real ones, or tiled copies."""
    import pyogrio

    if n == 2112:
        estates = hangzhou_metric()[0]
    else:
        path, layer = tiled_inputs(n).estates.rsplit("::", 1)
        estates = pyogrio.read_dataframe(path, layer=layer)
    estates["estate_id"] = estates["osm_id"].astype(str)
    return estates


def child(side: str, n: int, out: str) -> None:
    estates = load_estates(n)
    geoms = estates.geometry.reset_index(drop=True)
    if side == "lianpian":
        import networkx as nx

        from geo.planning.adjacency import build_adjacency, neighbour_pairs

        (graph, _edges), stats = measure(lambda: build_adjacency(estates, tolerance_m=TOLERANCE_M))
        ids = estates["estate_id"].astype(str).to_numpy()

        def search_and_graph() -> nx.Graph:
            left, right = neighbour_pairs(estates.geometry.to_numpy(), TOLERANCE_M)
            found = nx.Graph()
            found.add_nodes_from(ids)
            found.add_edges_from(zip(ids[left], ids[right], strict=True))
            return found

        searched, search = measure(search_and_graph)
        assert set(map(frozenset, searched.edges())) == set(map(frozenset, graph.edges()))
        stats["search_seconds"] = search["seconds"]
        position = {e: i for i, e in enumerate(estates["estate_id"])}
        pairs = np.array(
            sorted(
                (min(position[a], position[b]), max(position[a], position[b]))
                for a, b in graph.edges()
            ),
            dtype=np.int64,
        ).reshape(-1, 2)
    else:
        from libpysal.graph import Graph

        g, stats = measure(lambda: Graph.build_fuzzy_contiguity(geoms, buffer=TOLERANCE_M / 2))
        adj = g.adjacency.reset_index()
        adj = adj.loc[adj["focal"] < adj["neighbor"]]
        adj = adj.loc[adj["weight"] > 0]  # isolates appear as self-loops of weight 0
        pairs = adj[["focal", "neighbor"]].to_numpy(dtype=np.int64)
        pairs = np.array(sorted(map(tuple, pairs.tolist())), dtype=np.int64).reshape(-1, 2)
    np.save(out, pairs)
    emit({**stats, "edges": len(pairs)})


def compare(n: int, tmp: Path, runs: int) -> dict:
    results = {}
    for side in ("lianpian", "libpysal"):
        out = tmp / f"pairs_{side}_{n}.npy"
        results[side] = repeat_child([__file__, "--child", side, str(n), str(out)], runs)
        results[side]["pairs"] = {tuple(p) for p in np.load(out).tolist()}
    ours, theirs = results["lianpian"]["pairs"], results["libpysal"]["pairs"]
    only_ours, only_theirs = ours - theirs, theirs - ours
    note = "identical" if not only_ours and not only_theirs else "DIFFERENT"
    if only_ours or only_theirs:
        estates = load_estates(n)
        g = estates.geometry.to_numpy()
        gaps = [float(g[a].distance(g[b])) for a, b in list(only_ours | only_theirs)[:200]]
        note += (
            f": {len(only_ours)} pairs only lianpian, {len(only_theirs)} only libpysal; "
            f"their gaps {min(gaps):.3f}-{max(gaps):.3f} m"
        )
    return {"n": n, "ours": results["lianpian"], "theirs": results["libpysal"], "edges": note}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("SIDE", "N", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return 0
    require_data()
    import tempfile

    print(
        f"adjacency graph, tolerance {TOLERANCE_M:g} m (libpysal buffer {TOLERANCE_M / 2:g} m), "
        f"min / median of {args.runs} runs"
    )
    print(
        f"{'estates':>8} {'edges':>8} {'build_adjacency s':>18} {'search+graph s':>15} "
        f"{'libpysal s':>12} {'ratio build':>12} {'ratio search':>13} {'lianpian mem':>13} "
        f"{'libpysal mem':>13} {'load avg':>9}  edge sets"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            r = compare(n, Path(tmp), args.runs)
            o, t = r["ours"], r["theirs"]
            search = [x["search_seconds"] for x in o["each"]]
            s_min, s_med = min_median(search)
            print(
                f"{n:>8,} {o['edges']:>8,} {o['min_s']:>8.2f} / {o['median_s']:<7.2f} "
                f"{s_min:>6.2f} / {s_med:<6.2f} {t['min_s']:>5.2f} / {t['median_s']:<5.2f} "
                f"{t['median_s'] / o['median_s']:>11.2f}x {t['median_s'] / s_med:>12.2f}x "
                f"{fmt_mb(o['step_peak_mb']):>13} {fmt_mb(t['step_peak_mb']):>13} "
                f"{fmt_loads(o['loads'] + t['loads']):>9}  {r['edges']}",
                flush=True,
            )
    print(
        "ratio build = libpysal median / build_adjacency median (the functions each user calls; "
        "lianpian also computes gaps, shared boundary lengths and gap lines per pair).\n"
        "ratio search = libpysal median / median of lianpian's neighbour search with a networkx "
        "graph built from its pairs (the work libpysal does). Above 1: lianpian is faster."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
