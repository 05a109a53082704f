"""Siting solvers: maximal covering (MCLP) and location set covering (LSCP), exact and greedy.

Holds :class:`SitingSolution`, :func:`maximal_covering` (Church, R. & ReVelle, C. 1974, "The
maximal covering location problem", *Papers of the Regional Science Association* 32: 101-118) and
:func:`minimum_cover` (Toregas, C. et al. 1971). Both are solved exactly as mixed-integer programmes
with HiGHS (through :func:`scipy.optimize.milp`) when small, and greedily with a proven bound when
large; the optimality gap is reported. Knows nothing of estates: weights and a cover matrix in.

May import: numpy, scipy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import LinearConstraint, linprog, milp


@dataclass(frozen=True)
class SitingSolution:
    """A choice of sites and how good it is.

    ``problem`` is ``"MCLP"`` (maximise covered weight with ``p`` sites) or ``"LSCP"`` (fewest
    sites covering every coverable demand). ``objective`` is the covered weight (MCLP) or the
    number of sites (LSCP); ``bound`` the best proven bound on the optimum (upper for MCLP, lower
    for LSCP), so ``gap`` = relative distance to it (0 = proven optimal).
    """

    chosen: np.ndarray
    problem: str
    method: str
    objective: float
    bound: float
    covered_weight: float
    coverable_weight: float
    seconds: float

    @property
    def gap(self) -> float:
        """Relative optimality gap: ``|bound - objective| / max(|bound|, tiny)`` (0 = optimal)."""
        if self.objective == self.bound:
            return 0.0
        return abs(self.bound - self.objective) / max(abs(self.bound), 1e-12)


def maximal_covering(
    weights: np.ndarray,
    cover: sp.spmatrix,
    p: int,
    *,
    exact_max_candidates: int = 5000,
    time_limit_s: float = 60.0,
) -> SitingSolution:
    """Solve the maximal covering location problem (Church & ReVelle 1974).

    Choose ``p`` candidate sites maximising the total weight of the demand points covered by at
    least one chosen site. Exact MILP (HiGHS via :func:`scipy.optimize.milp`; ``x_j`` binary,
    ``y_i`` in [0, 1], ``y_i <= sum x_j over j covering i``, ``sum x_j = p``) when there are at
    most ``exact_max_candidates`` candidates; else greedy (each step adds the site covering the most
    uncovered weight), which reaches at least 1 - 1/e of the optimum, with the online bound
    ``OPT <= f(S_k) + sum of the p largest gains at step k`` (Nemhauser, Wolsey & Fisher 1978).

    Parameters
    ----------
    weights
        Demand weight of each demand point (e.g. the gap in m²); >= 0.
    cover
        Boolean sparse matrix, demand x candidates: True where the candidate covers the demand.
    p
        Number of sites to choose (at most the number of candidates).

    Raises
    ------
    ValueError
        If the shapes disagree or ``p`` is negative.
    """
    started = time.perf_counter()
    weights, cover = _check_problem(weights, cover)
    if p < 0:
        raise ValueError("p must be >= 0")
    n_c = cover.shape[1]
    p = min(p, n_c)
    coverable = float(weights[np.asarray(cover.sum(axis=1)).ravel() > 0].sum())
    if p == 0 or coverable == 0:
        return SitingSolution(np.array([], int), "MCLP", "trivial", 0.0, 0.0, 0.0, coverable, 0.0)
    if n_c <= exact_max_candidates:
        solution = _mclp_milp(weights, cover, p, time_limit_s)
        if solution is not None:
            chosen, bound, method = solution
            covered = _covered(weights, cover, chosen)
            return SitingSolution(
                chosen,
                "MCLP",
                method,
                covered,
                max(bound, covered),
                covered,
                coverable,
                time.perf_counter() - started,
            )
    chosen, bound = _greedy_mclp(weights, cover, p)
    covered = _covered(weights, cover, chosen)
    return SitingSolution(
        chosen,
        "MCLP",
        "greedy",
        covered,
        max(bound, covered),
        covered,
        coverable,
        time.perf_counter() - started,
    )


def minimum_cover(
    weights: np.ndarray,
    cover: sp.spmatrix,
    *,
    exact_max_candidates: int = 5000,
    time_limit_s: float = 60.0,
) -> SitingSolution:
    """Solve the location set covering problem (Toregas et al. 1971) for the coverable demand.

    Choose the fewest candidate sites such that every demand point of positive weight that some
    candidate covers is covered. Exact MILP with HiGHS when there are at most
    ``exact_max_candidates`` candidates; else greedy set cover (ln n approximation) with the LP
    relaxation as lower bound. Arguments as in :func:`maximal_covering`.
    """
    started = time.perf_counter()
    weights, cover = _check_problem(weights, cover)
    rows = (weights > 0) & (np.asarray(cover.sum(axis=1)).ravel() > 0)
    coverable = float(weights[rows].sum())
    sub = cover[rows]
    if not rows.any():
        return SitingSolution(np.array([], int), "LSCP", "trivial", 0.0, 0.0, 0.0, 0.0, 0.0)
    n_c = cover.shape[1]
    ones = np.ones(n_c)
    constraint = LinearConstraint(sub, lb=1, ub=np.inf)
    method, chosen, bound = "", None, 0.0
    if n_c <= exact_max_candidates:
        res = milp(
            ones,
            constraints=constraint,
            integrality=ones,
            bounds=(0, 1),
            options={"time_limit": time_limit_s, "mip_rel_gap": 1e-9},
        )
        if res.x is not None:
            chosen = np.flatnonzero(res.x > 0.5)
            bound = float(np.ceil(res.mip_dual_bound - 1e-6))
            method = "exact (HiGHS MILP)" if res.status == 0 else "HiGHS MILP (time limit)"
    if chosen is None:
        chosen = _greedy_cover(sub)
        lp = linprog(ones, A_ub=-sub, b_ub=-np.ones(sub.shape[0]), bounds=(0, 1), method="highs")
        bound = float(np.ceil(lp.fun - 1e-6)) if lp.status == 0 else 0.0
        method = "greedy"
    covered = _covered(weights, cover, chosen)
    return SitingSolution(
        chosen,
        "LSCP",
        method,
        float(len(chosen)),
        min(bound, float(len(chosen))),
        covered,
        coverable,
        time.perf_counter() - started,
    )


def _check_problem(weights: np.ndarray, cover: sp.spmatrix) -> tuple[np.ndarray, sp.csr_matrix]:
    weights = np.asarray(weights, dtype=float)
    cover = sp.csr_matrix(cover, dtype=float)
    cover.data = (cover.data != 0).astype(float)
    cover.eliminate_zeros()
    if cover.shape[0] != len(weights):
        raise ValueError(f"cover has {cover.shape[0]} rows for {len(weights)} demand weights")
    if (weights < 0).any() or not np.isfinite(weights).all():
        raise ValueError("demand weights must be finite and >= 0")
    return weights, cover


def _covered(weights: np.ndarray, cover: sp.csr_matrix, chosen: np.ndarray) -> float:
    if len(chosen) == 0:
        return 0.0
    hit = np.asarray(cover[:, chosen].sum(axis=1)).ravel() > 0
    return float(weights[hit].sum())


def _mclp_milp(
    weights: np.ndarray, cover: sp.csr_matrix, p: int, time_limit_s: float
) -> tuple[np.ndarray, float, str] | None:
    useful = (weights > 0) & (np.asarray(cover.sum(axis=1)).ravel() > 0)
    w, c = weights[useful], cover[useful]
    n_d, n_c = c.shape
    a_cover = sp.hstack([-c, sp.identity(n_d)], format="csr")
    a_count = sp.hstack([sp.csr_matrix(np.ones((1, n_c))), sp.csr_matrix((1, n_d))], format="csr")
    res = milp(
        np.r_[np.zeros(n_c), -w],
        constraints=[
            LinearConstraint(a_cover, lb=-np.inf, ub=0),
            LinearConstraint(a_count, lb=p, ub=p),
        ],
        integrality=np.r_[np.ones(n_c), np.zeros(n_d)],
        bounds=(0, 1),
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-9},
    )
    if res.x is None:
        return None
    chosen = np.flatnonzero(res.x[:n_c] > 0.5)
    method = "exact (HiGHS MILP)" if res.status == 0 else "HiGHS MILP (time limit)"
    return chosen, float(-res.mip_dual_bound), method


def _greedy_mclp(weights: np.ndarray, cover: sp.csr_matrix, p: int) -> tuple[np.ndarray, float]:
    cover_t = cover.T.tocsr()
    remaining = weights.copy()
    chosen: list[int] = []
    covered, bound = 0.0, np.inf
    for _ in range(p):
        gains = cover_t @ remaining
        gains[chosen] = -1.0
        top = np.sort(gains[gains > 0])[::-1][:p]
        bound = min(bound, covered + float(top.sum()))
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        chosen.append(best)
        covered += float(gains[best])
        hit = cover_t[best].indices
        remaining[hit] = 0.0
    gains = cover_t @ remaining
    gains[chosen] = -1.0
    bound = min(bound, covered + float(np.sort(gains[gains > 0])[::-1][:p].sum()))
    return np.array(sorted(chosen), dtype=int), bound


def _greedy_cover(cover: sp.csr_matrix) -> np.ndarray:
    chosen, _ = _greedy_mclp(np.ones(cover.shape[0]), cover, cover.shape[1])
    return chosen
