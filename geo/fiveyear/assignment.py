"""The five-year schedule as an assignment problem (MILP, solved with HiGHS through highspy).

Holds :func:`solve_assignment`: units (a district's ready estates, or a standalone estate) are
assigned to the years of the plan period, each unit to at most one year, so that

* every unit is placed unless a cap makes it impossible (an unplaced unit costs far more than any
  imbalance, so the solver leaves units out only when no assignment holds them all);
* each year keeps the 2001-2005 extension within ``share`` of its estates and of its households
  (Yangjiang 2021-2025 draft §1; summed over the years this also holds for the whole period);
* each year stays within the household and investment caps, when given;
* carry-over projects (续建) are fixed loads in the year they finish;
* the stated balance objective is optimised: ``households`` or ``investment`` (smallest gap
  between the heaviest and the lightest year, priority as a tie-break), or ``priority`` (higher
  priority earlier, with the years kept within an even-load band of ``headroom`` around the
  mean).

May import: numpy, scipy.sparse, highspy, geo.core (pure: no file access, no printing). The greedy rule and the
tables of the schedule are in :mod:`geo.fiveyear.schedule`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Balance objectives a schedule may state.
OBJECTIVES = ("households", "investment", "priority")

_UNPLACED_COST = 1000.0  # per unit, against an imbalance or lateness term in [0, ~1]
_TIE_BREAK = 0.01


@dataclass(frozen=True)
class AssignmentResult:
    """What the solver found.

    ``years``: the year index (0-based) per unit, -1 when unplaced; ``status``: ``optimal``,
    ``time limit`` (best found, with ``gap``) or ``failed``; ``gap``: HiGHS's relative MIP gap
    (0 when proven optimal, None without a solution) on its objective (the unplaced units'
    cost plus the balance term); ``objective``: that objective value; ``moves``: balancing moves
    made after HiGHS stopped at its time limit.
    """

    years: np.ndarray
    status: str
    gap: float | None
    objective: float | None
    moves: int = 0


def solve_assignment(
    *,
    households: Sequence[float],
    investment: Sequence[float],
    estates: Sequence[int],
    extension_estates: Sequence[int],
    extension_households: Sequence[float],
    priority: Sequence[float],
    n_years: int,
    fixed: np.ndarray,
    share: float,
    households_cap: float | None,
    investment_cap: float | None,
    objective: str,
    headroom: float,
    time_limit_s: float,
    start: np.ndarray | None = None,
    max_nodes: int = 0,
) -> AssignmentResult:
    """Assign units to years; see the module docstring for the model.

    Parameters
    ----------
    households, investment, estates, extension_estates, extension_households, priority
        One value per unit: households, investment (yuan), estates, 2001-2005 estates and their
        households, priority score (0-100, higher first).
    n_years
        Years of the plan period.
    fixed
        Loads already in each year, shape (n_years, 5): estates, extension estates, households,
        extension households, investment (yuan) (carry-over projects finishing that year).
    share
        Largest share of extension estates and households in a year (0.15; 0 = none allowed).
    households_cap, investment_cap
        Caps per year (None = no cap).
    objective
        One of :data:`OBJECTIVES`.
    headroom
        Even-load band of the ``priority`` objective: years within mean x (1 ± headroom).
    time_limit_s
        HiGHS time limit (s); the best assignment found by then is returned with its gap. When
        HiGHS stops at the limit, the balance is improved further by moves and swaps of units
        between years that keep every constraint (:func:`_rebalance`; for ``priority`` only back
        into the even-load band).
    max_nodes
        Branch-and-bound node limit (0: none). HiGHS is deterministic under a node limit, not
        under a time limit: set it (with a generous time limit) for reproducible schedules.
    start
        A feasible assignment to start from (year index per unit, -1 unplaced), e.g. the greedy
        one: HiGHS then never returns anything worse.

    Returns
    -------
    AssignmentResult

    Raises
    ------
    ValueError
        If ``objective`` is not one of :data:`OBJECTIVES`.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    hh = np.asarray(households, dtype=float)
    inv = np.asarray(investment, dtype=float)
    n_est = np.asarray(estates, dtype=float)
    ext_n = np.asarray(extension_estates, dtype=float)
    ext_h = np.asarray(extension_households, dtype=float)
    prio = np.asarray(priority, dtype=float)
    n, n_y = len(hh), n_years
    if n == 0:
        return AssignmentResult(np.zeros(0, dtype=int), "optimal", 0.0, 0.0)
    measure = inv if objective == "investment" else hh
    fixed_measure = fixed[:, 4] if objective == "investment" else fixed[:, 2]
    mean = max((measure.sum() + fixed_measure.sum()) / n_y, 1.0)
    # the balance rows in units of the mean year (yuan would give HiGHS coefficients of 1e8)
    scaled, fixed_scaled = measure / mean, fixed_measure / mean
    # columns: x[u, y] (u * n_y + y), z[u], Lmax, Lmin, band slack
    nx = n * n_y
    iz, imax, imin, islack = nx, nx + n, nx + n + 1, nx + n + 2
    ncol = nx + n + 3
    cost = np.zeros(ncol)
    cost[iz : iz + n] = _UNPLACED_COST * (1.0 + measure / max(measure.sum(), 1.0))
    lateness = np.repeat(prio.clip(min=0) + 1.0, n_y) * np.tile(np.arange(n_y, dtype=float), n)
    lateness /= max((prio.clip(min=0) + 1.0).sum() * max(n_y - 1, 1), 1.0)
    if objective == "priority":
        cost[:nx] = lateness
        cost[imax], cost[imin] = _TIE_BREAK, -_TIE_BREAK
        cost[islack] = 100.0
    else:
        cost[:nx] = _TIE_BREAK * lateness
        cost[imax], cost[imin] = 1.0, -1.0
    rows: list[sp.csr_array] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    unit_idx = np.repeat(np.arange(n), n_y)
    year_idx = np.tile(np.arange(n_y), n)
    # each unit in one year, or unplaced
    a = sp.csr_array(
        (np.ones(nx + n), (np.r_[unit_idx, np.arange(n)], np.r_[np.arange(nx), iz + np.arange(n)])),
        shape=(n, ncol),
    )
    rows.append(a)
    lo.append(np.ones(n))
    hi.append(np.ones(n))

    def per_year(coef: np.ndarray, extra: dict[int, float] | None = None) -> sp.csr_array:
        data = [coef[unit_idx]]
        r = [year_idx]
        c = [np.arange(nx)]
        for col, value in (extra or {}).items():
            data.append(np.full(n_y, value))
            r.append(np.arange(n_y))
            c.append(np.full(n_y, col))
        return sp.csr_array(
            (np.concatenate(data), (np.concatenate(r), np.concatenate(c))), shape=(n_y, ncol)
        )

    if households_cap is not None:
        rows.append(per_year(hh))
        lo.append(np.full(n_y, -np.inf))
        hi.append(households_cap - fixed[:, 2])
    if investment_cap is not None:
        rows.append(per_year(inv / 1e4))  # 万元
        lo.append(np.full(n_y, -np.inf))
        hi.append((investment_cap - fixed[:, 4]) / 1e4)
    if ext_n.any():
        rows.append(per_year(ext_n - share * n_est))
        lo.append(np.full(n_y, -np.inf))
        hi.append(share * fixed[:, 0] - fixed[:, 1] + 1e-9)
        rows.append(per_year(ext_h - share * hh))
        lo.append(np.full(n_y, -np.inf))
        hi.append(share * fixed[:, 2] - fixed[:, 3] + 1e-6)
    rows.append(per_year(scaled, {imax: -1.0}))  # L_y <= Lmax
    lo.append(np.full(n_y, -np.inf))
    hi.append(-fixed_scaled)
    rows.append(per_year(scaled, {imin: -1.0}))  # L_y >= Lmin
    lo.append(-fixed_scaled)
    hi.append(np.full(n_y, np.inf))
    if objective == "priority":
        band = sp.csr_array(([1.0, -1.0, -1.0], ([0, 0, 0], [imax, imin, islack])), shape=(1, ncol))
        rows.append(band)
        lo.append(np.array([-np.inf]))
        hi.append(np.array([2 * headroom]))
    upper = np.full(ncol, np.inf)
    upper[: nx + n] = 1
    matrix = sp.vstack(rows).tocsc()
    start_x = None
    if start is not None:
        start_x = np.zeros(ncol)
        placed = np.asarray(start) >= 0
        start_x[(np.flatnonzero(placed) * n_y + np.asarray(start)[placed]).astype(int)] = 1
        start_x[iz + np.flatnonzero(~placed)] = 1
        loads = _loads(np.asarray(start), scaled, n_y) + fixed_scaled
        start_x[imax], start_x[imin] = loads.max(), loads.min()
        start_x[islack] = max(loads.max() - loads.min() - 2 * headroom, 0.0)
    x, status, gap, value = _solve_highspy(
        cost,
        matrix,
        np.concatenate(lo),
        np.concatenate(hi),
        upper,
        nx + n,
        time_limit_s,
        start_x,
        max_nodes,
    )
    if x is None:
        return AssignmentResult(np.full(n, -1), "failed", None, None)
    x = np.asarray(x)[:nx].reshape(n, n_y)
    years = np.where(x.max(axis=1) > 0.5, x.argmax(axis=1), -1).astype(int)
    moves = 0
    if status != "optimal":
        limits = _Limits(
            np.column_stack([n_est, ext_n, hh, ext_h, inv]),
            fixed.astype(float),
            share,
            households_cap,
            investment_cap,
        )
        # priority: only back into the even-load band; balance objectives: as far as it goes
        target = 2 * headroom * mean if objective == "priority" else 0.0
        moves = _rebalance(years, measure, fixed_measure, limits, target=target)
    return AssignmentResult(years, status, None if gap is None else float(gap), value, moves)


def _loads(years: np.ndarray, measure: np.ndarray, n_y: int) -> np.ndarray:
    placed = years >= 0
    return np.bincount(years[placed], weights=measure[placed], minlength=n_y).astype(float)


@dataclass(frozen=True)
class _Limits:
    """Per-unit figures and the per-year limits, for :func:`_rebalance`.

    ``units`` and ``fixed`` columns: estates, extension estates, households, extension
    households, investment (yuan).
    """

    units: np.ndarray
    fixed: np.ndarray
    share: float
    households_cap: float | None
    investment_cap: float | None

    def feasible(self, years: np.ndarray) -> np.ndarray:
        """Whether each row of year totals ``years`` (k x 5) keeps every constraint."""
        ok = years[:, 1] <= self.share * years[:, 0] + 1e-9
        ok &= years[:, 3] <= self.share * years[:, 2] + 1e-6
        if self.households_cap is not None:
            ok &= years[:, 2] <= self.households_cap + 1e-6
        if self.investment_cap is not None:
            ok &= years[:, 4] <= self.investment_cap + 0.5
        return ok


def _rebalance(
    years: np.ndarray,
    measure: np.ndarray,
    fixed_measure: np.ndarray,
    limits: _Limits,
    *,
    target: float = 0.0,
    max_steps: int = 2000,
) -> int:
    """Improve the balance of a time-limited solution by moves and swaps between years.

    Each step takes, over all pairs of years (heavier a, lighter b), the change that lowers the
    sum of squared year loads most while both years keep every constraint: a unit moved from a to
    b, two units swapped, or a unit holding 2001-2005 estates moved together with another unit
    (when every year is at the 15 % share, moving either alone breaks it). It stops when no change
    helps, or the heaviest and lightest years are within ``target``. Deterministic. Returns the
    number of steps (``years`` is changed in place).
    """
    n, n_y = len(years), len(fixed_measure)
    units = np.vstack([limits.units, np.zeros((1, limits.units.shape[1]))])  # row n: nothing
    m = np.append(measure, 0.0)
    holds_ext = limits.units[:, 1] > 0
    steps = 0
    while steps < max_steps:
        loads = _loads(years, measure, n_y) + fixed_measure
        if target and loads.max() - loads.min() <= target:
            return steps
        totals = limits.fixed.copy()
        for k in range(n_y):
            totals[k] += limits.units[years == k].sum(axis=0)
        best_gain, best = 1e-9 * max(loads.max(), 1.0), None
        for a in range(n_y):
            in_a = np.flatnonzero(years == a)
            if not len(in_a):
                continue
            ext_a = in_a[holds_ext[in_a]]
            for b in range(n_y):
                gap = loads[a] - loads[b]
                if gap <= 0:
                    continue
                in_b = np.flatnonzero(years == b)
                none_a = np.full(len(in_a), n)
                # (first unit a -> b, second unit a -> b, unit b -> a); n = nobody
                first = [in_a, np.repeat(in_a, len(in_b)), np.repeat(ext_a, len(in_a))]
                second = [none_a, np.repeat(none_a, len(in_b)), np.tile(in_a, len(ext_a))]
                back = [none_a, np.tile(in_b, len(in_a)), np.full(len(ext_a) * len(in_a), n)]
                u1, u2, v = (np.concatenate(x).astype(int) for x in (first, second, back))
                keep = u1 != u2
                u1, u2, v = u1[keep], u2[keep], v[keep]
                dm = m[u1] + m[u2] - m[v]
                gain = 2 * dm * (gap - dm)
                good = gain > best_gain
                if not good.any():
                    continue
                u1, u2, v, gain = u1[good], u2[good], v[good], gain[good]
                delta = units[u1] + units[u2] - units[v]
                ok = limits.feasible(totals[a] - delta) & limits.feasible(totals[b] + delta)
                if not ok.any():
                    continue
                j = int(np.argmax(np.where(ok, gain, -np.inf)))
                best_gain, best = float(gain[j]), (a, b, u1[j], u2[j], v[j])
        if best is None:
            return steps
        a, b, u1, u2, v = best
        years[u1] = b
        if u2 < n:
            years[u2] = b
        if v < n:
            years[v] = a
        steps += 1
    return steps


def _solve_highspy(
    cost: np.ndarray,
    matrix: sp.csc_array,
    lo: np.ndarray,
    hi: np.ndarray,
    upper: np.ndarray,
    n_int: int,
    time_limit_s: float,
    start: np.ndarray | None = None,
    max_nodes: int = 0,
) -> tuple[list[float] | None, str, float | None, float | None]:
    """Solve with highspy; the first ``n_int`` columns are integer. Prints nothing.

    (highspy rather than :func:`scipy.optimize.milp`: scipy's HiGHS build prints debugging lines
    on stdout on some of these models, and takes no starting solution.)
    """
    import highspy

    # highspy.Highs() prints a banner through its Python logging callback before any option
    # can be set; the core class it wraps does not.
    core = getattr(getattr(highspy, "_core", None), "_Highs", None)
    h = core() if core is not None else highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 1e-4)
    if max_nodes:
        h.setOptionValue("mip_max_nodes", int(max_nodes))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(matrix.shape[1])
    lp.col_upper_ = np.where(np.isinf(upper), highspy.kHighsInf, upper)
    lp.row_lower_ = np.where(np.isinf(lo), -highspy.kHighsInf, lo)
    lp.row_upper_ = np.where(np.isinf(hi), highspy.kHighsInf, hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_int + [
        highspy.HighsVarType.kContinuous
    ] * (matrix.shape[1] - n_int)
    h.passModel(lp)
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(start)
        solution.value_valid = True
        h.setSolution(solution)
    h.run()
    info = h.getInfo()
    model_status = h.getModelStatus()
    if info.primal_solution_status != 2:
        return None, "failed", None, None
    status = (
        "optimal"
        if model_status == highspy.HighsModelStatus.kOptimal
        else "time limit"
        if model_status == highspy.HighsModelStatus.kTimeLimit
        else "node limit"
    )
    return list(h.getSolution().col_value), status, info.mip_gap, info.objective_function_value
