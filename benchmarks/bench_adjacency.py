"""Adjacency graph: lianpian ``build_adjacency`` vs libpysal ``Graph.build_fuzzy_contiguity``.

Same estates, same tolerance: two estates are neighbours when their boundaries are at most
``tolerance_m`` (policy default 25 m) apart. libpysal's fuzzy contiguity buffers every polygon by
``buffer`` and links those whose buffers intersect, so ``buffer = tolerance_m / 2`` is the same
rule (up to the polygonal approximation of the buffer's round corners: pairs whose gap is within a
few centimetres of the tolerance can differ; any difference is printed with its gaps).

lianpian does more per pair than libpysal: the gap, the shared boundary length and the gap line of
every pair (the adjacency layer); barriers are left out here (libpysal has no equivalent). Each
side runs in its own child process: wall time and the peak memory the step needed (RSS above the
RSS before the step). Run: ``python benchmarks/bench_adjacency.py [--sizes 2112 50000 200000]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _measure import emit, fmt_mb, measure, run_child
from _tiling import hangzhou_metric, require_data, tiled_inputs

TOLERANCE_M = 25.0
SIZES = (2112, 50_000, 200_000)


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
        from geo.planning.adjacency import build_adjacency, neighbour_pairs

        (graph, _edges), stats = measure(lambda: build_adjacency(estates, tolerance_m=TOLERANCE_M))
        _, search = measure(lambda: neighbour_pairs(estates.geometry.to_numpy(), TOLERANCE_M))
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


def compare(n: int, tmp: Path) -> dict:
    results = {}
    for side in ("lianpian", "libpysal"):
        out = tmp / f"pairs_{side}_{n}.npy"
        results[side] = run_child([__file__, "--child", side, str(n), str(out)])
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
    parser.add_argument("--child", nargs=3, metavar=("SIDE", "N", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return 0
    require_data()
    import tempfile

    print(f"adjacency graph, tolerance {TOLERANCE_M:g} m (libpysal buffer {TOLERANCE_M / 2:g} m)")
    print(
        f"{'estates':>8} {'edges':>8} {'lianpian s':>11} {'libpysal s':>11} {'speed-up':>9} "
        f"{'lianpian mem':>13} {'libpysal mem':>13} {'search only':>12}  edge sets"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            r = compare(n, Path(tmp))
            o, t = r["ours"], r["theirs"]
            print(
                f"{n:>8,} {o['edges']:>8,} {o['seconds']:>11.2f} {t['seconds']:>11.2f} "
                f"{t['seconds'] / o['seconds']:>8.1f}x {fmt_mb(o['step_peak_mb']):>13} "
                f"{fmt_mb(t['step_peak_mb']):>13} "
                f"{t['seconds'] / o['search_seconds']:>11.1f}x  {r['edges']}",
                flush=True,
            )
    print(
        "speed-up = libpysal time / lianpian time (target at 50,000: at least 5x); lianpian also "
        "computes gaps, shared boundary lengths and gap lines per pair.\n"
        "search only = libpysal time / time of lianpian's neighbour search alone "
        "(geo.planning.adjacency.neighbour_pairs), the work libpysal does."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
