"""Siting benchmark: lianpian's MCLP (HiGHS exact, greedy) against PySAL spopt's MCLP (CBC).

Issue 8 size: 5,000 demand points x 500 candidate sites, random in a 10 km square (metres),
integer weights 1-100, coverage radius 300 m (the 5-minute life circle), p sites. Prints the
covered demand, the optimality gap and the time of each, and the time ratio.

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/bench_siting.py [--p 50] [--seed 0]

spopt and pulp are in the ``bench`` extra (pip install spopt pulp).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from geo.facilities.elderly import maximal_covering


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--demand", type=int, default=5000)
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--radius", type=float, default=300.0)
    parser.add_argument("--p", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    demand = rng.random((args.demand, 2)) * 10_000
    sites = rng.random((args.candidates, 2)) * 10_000
    weights = rng.integers(1, 101, args.demand).astype(float)
    started = time.perf_counter()
    cover = cKDTree(demand).sparse_distance_matrix(
        cKDTree(sites), args.radius, output_type="coo_matrix"
    )
    cover = sp.csr_matrix((np.ones(cover.nnz), (cover.row, cover.col)), shape=cover.shape)
    setup = time.perf_counter() - started
    print(
        f"{args.demand} demand x {args.candidates} candidates, radius {args.radius:g} m, "
        f"p = {args.p}, coverage pairs {cover.nnz} (built in {setup:.3f} s)"
    )
    exact = maximal_covering(weights, cover, args.p)
    greedy = maximal_covering(weights, cover, args.p, exact_max_candidates=0)
    for label, s in (("lianpian HiGHS", exact), ("lianpian greedy", greedy)):
        print(
            f"{label:<18} covered {s.covered_weight:>10,.0f}  bound {s.bound:>10,.0f}  "
            f"gap {s.gap:.4%}  {s.seconds:.3f} s  ({s.method})"
        )
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:
        print("spopt/pulp not installed: pip install spopt pulp")
        return
    started = time.perf_counter()
    cost = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    model = MCLP.from_cost_matrix(cost, weights, args.radius, p_facilities=args.p, name="bench")
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    spopt_s = time.perf_counter() - started
    chosen = [j for j, var in enumerate(model.fac_vars) if var.value() > 0.5]
    covered = weights[(cost[:, chosen] <= args.radius).any(axis=1)].sum()
    print(f"{'spopt CBC':<18} covered {covered:>10,.0f}  {'':>28}{spopt_s:.3f} s")
    print(
        f"covered: lianpian - spopt = {exact.covered_weight - covered:+,.0f}; "
        f"time spopt / lianpian HiGHS = {spopt_s / exact.seconds:.1f}x, "
        f"spopt / greedy = {spopt_s / greedy.seconds:.1f}x"
    )


if __name__ == "__main__":
    main()
