"""Siting benchmark: lianpian's MCLP (HiGHS exact, greedy) against PySAL spopt's MCLP (CBC).

Issue 8 size: 5,000 demand points x 500 candidate sites, random in a 10 km square (metres),
integer weights 1-100, coverage radius 300 m (the 5-minute life circle), p sites. Prints the
covered demand, the optimality gap and, for each side, the model build and the solve apart (issue
20: spopt's time is mostly pulp building the model):

- lianpian HiGHS: build = checking the problem and assembling the sparse constraint matrices
  (numpy/scipy), solve = HiGHS through ``scipy.optimize.milp``; greedy has no model.
- spopt: build = ``MCLP.from_cost_matrix`` (pulp variables and constraints; the distance matrix,
  which a spopt user computes too, is timed apart), solve = ``model.solve(PULP_CBC_CMD)``, of which
  pulp writes the model file for CBC (``writeMPS``) and the rest is CBC's run and reading its answer.

Every time is the least and the median of ``--runs`` runs (default 3) in this process, with the
1-minute load average before the first and after the last.

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/bench_siting.py [--p 50] [--seed 0]

spopt and pulp are in the ``bench`` extra (pip install spopt pulp).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _measure import load_average, min_median

from geo.facilities.elderly import maximal_covering


def _timed_calls(module: Any, name: str, spent: list[float]) -> Callable[[], None]:
    """Add the time of every call of ``module.name`` to ``spent``, also where a geo module
    imported it by name (the siting module holds scipy's ``milp``); return the undo."""
    func = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    holders = [module] + [
        m
        for k, m in list(sys.modules.items())
        if k.startswith("geo") and getattr(m, name, None) is func
    ]
    for holder in holders:
        setattr(holder, name, wrapper)

    def undo() -> None:
        for holder in holders:
            setattr(holder, name, func)

    return undo


def _fmt(values: list[float]) -> str:
    low, mid = min_median(values)
    return f"{low:7.3f} / {mid:<7.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--demand", type=int, default=5000)
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--radius", type=float, default=300.0)
    parser.add_argument("--p", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    demand = rng.random((args.demand, 2)) * 10_000
    sites = rng.random((args.candidates, 2)) * 10_000
    weights = rng.integers(1, 101, args.demand).astype(float)
    loads = [load_average()]
    started = time.perf_counter()
    cover = cKDTree(demand).sparse_distance_matrix(
        cKDTree(sites), args.radius, output_type="coo_matrix"
    )
    cover = sp.csr_matrix((np.ones(cover.nnz), (cover.row, cover.col)), shape=cover.shape)
    setup = time.perf_counter() - started
    print(
        f"{args.demand} demand x {args.candidates} candidates, radius {args.radius:g} m, "
        f"p = {args.p}, coverage pairs {cover.nnz} (built in {setup:.3f} s); "
        f"min / median of {args.runs} runs, seconds"
    )
    times: dict[str, dict[str, list[float]]] = {}
    solutions = {}
    for _ in range(args.runs):
        in_milp: list[float] = []
        undo = _timed_calls(scipy.optimize, "milp", in_milp)
        try:
            exact = maximal_covering(weights, cover, args.p)
        finally:
            undo()
        greedy = maximal_covering(weights, cover, args.p, exact_max_candidates=0)
        row = times.setdefault("lianpian HiGHS", {"build": [], "solve": [], "total": []})
        row["build"].append(exact.seconds - sum(in_milp))
        row["solve"].append(sum(in_milp))
        row["total"].append(exact.seconds)
        times.setdefault("lianpian greedy", {"total": []})["total"].append(greedy.seconds)
        solutions.update({"lianpian HiGHS": exact, "lianpian greedy": greedy})
    print(f"{'':<18} {'covered':>10} {'gap':>8}   {'build':>17} {'solve':>17} {'total':>17}")
    for label, s in solutions.items():
        t = times[label]
        build = _fmt(t["build"]) if "build" in t else f"{'-':>17}"
        solve = _fmt(t["solve"]) if "solve" in t else f"{'-':>17}"
        print(
            f"{label:<18} {s.covered_weight:>10,.0f} {s.gap:>8.4%}   {build} {solve} "
            f"{_fmt(t['total'])}  ({s.method})"
        )
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:
        print("spopt/pulp not installed: pip install spopt pulp")
        return
    spopt: dict[str, list[float]] = {"matrix": [], "build": [], "write": [], "cbc": [], "total": []}
    covered = 0.0
    for _ in range(args.runs):
        t0 = time.perf_counter()
        cost = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
        t1 = time.perf_counter()
        model = MCLP.from_cost_matrix(cost, weights, args.radius, p_facilities=args.p, name="bench")
        t2 = time.perf_counter()
        writing: list[float] = []
        undo = _timed_calls(pulp.LpProblem, "writeMPS", writing)
        try:
            model = model.solve(pulp.PULP_CBC_CMD(msg=False))
        finally:
            undo()
        t3 = time.perf_counter()
        spopt["matrix"].append(t1 - t0)
        spopt["build"].append(t2 - t1)
        spopt["write"].append(sum(writing))
        spopt["cbc"].append(t3 - t2 - sum(writing))
        spopt["total"].append(t3 - t0)
        chosen = [j for j, var in enumerate(model.fac_vars) if var.value() > 0.5]
        covered = weights[(cost[:, chosen] <= args.radius).any(axis=1)].sum()
    solve = [w + c for w, c in zip(spopt["write"], spopt["cbc"], strict=True)]
    print(
        f"{'spopt CBC':<18} {covered:>10,.0f} {'':>8}   {_fmt(spopt['build'])} {_fmt(solve)} "
        f"{_fmt(spopt['total'])}"
    )
    print(
        f"  spopt detail: distance matrix {_fmt(spopt['matrix'])}, pulp writes the model "
        f"{_fmt(spopt['write'])}, CBC runs and is read {_fmt(spopt['cbc'])}"
    )
    loads.append(load_average())
    exact_t = times["lianpian HiGHS"]
    ratio = min_median(spopt["total"])[1] / min_median(exact_t["total"])[1]
    solve_ratio = min_median(solve)[1] / min_median(exact_t["solve"])[1]
    build_ratio = min_median(spopt["build"])[1] / max(min_median(exact_t["build"])[1], 1e-9)
    print(
        f"covered: lianpian - spopt = {solutions['lianpian HiGHS'].covered_weight - covered:+,.0f}; "
        f"medians, spopt / lianpian HiGHS: total {ratio:.1f}x, model build {build_ratio:.0f}x, "
        f"solve {solve_ratio:.1f}x; load average {min(loads):.1f}-{max(loads):.1f}"
    )


if __name__ == "__main__":
    main()
