"""The five-year schedule as an assignment problem (MILP, HiGHS through :func:`scipy.optimize.milp`).

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

May import: numpy, scipy, geo.core (pure: no file access, no printing). The greedy rule and the
tables of the schedule are in :mod:`geo.fiveyear.schedule`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

#: Balance objectives a schedule may state.
OBJECTIVES = ("households", "investment", "priority")

_UNPLACED_COST = 1000.0  # per unit, against an imbalance or lateness term in [0, ~1]
_TIE_BREAK = 0.01


@dataclass(frozen=True)
class AssignmentResult:
    """What the solver found.

    ``years``: the year index (0-based) per unit, -1 when unplaced; ``status``: ``optimal``,
    ``time limit`` (best found, with ``gap``) or ``failed``; ``gap``: HiGHS's relative MIP gap
    (0 when proven optimal, None without a solution); ``objective``: the objective value.
    """

    years: np.ndarray
    status: str
    gap: float | None
    objective: float | None


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
        HiGHS time limit (s); the best assignment found by then is returned with its gap.

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
        cost[imax], cost[imin] = _TIE_BREAK / mean, -_TIE_BREAK / mean
        cost[islack] = 10.0 / mean
    else:
        cost[:nx] = _TIE_BREAK * lateness
        cost[imax], cost[imin] = 1.0 / mean, -1.0 / mean
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
        rows.append(per_year(inv))
        lo.append(np.full(n_y, -np.inf))
        hi.append(investment_cap - fixed[:, 4])
    if ext_n.any():
        rows.append(per_year(ext_n - share * n_est))
        lo.append(np.full(n_y, -np.inf))
        hi.append(share * fixed[:, 0] - fixed[:, 1] + 1e-9)
        rows.append(per_year(ext_h - share * hh))
        lo.append(np.full(n_y, -np.inf))
        hi.append(share * fixed[:, 2] - fixed[:, 3] + 1e-6)
    rows.append(per_year(measure, {imax: -1.0}))  # L_y <= Lmax
    lo.append(np.full(n_y, -np.inf))
    hi.append(-fixed_measure)
    rows.append(per_year(measure, {imin: -1.0}))  # L_y >= Lmin
    lo.append(-fixed_measure)
    hi.append(np.full(n_y, np.inf))
    if objective == "priority":
        band = sp.csr_array(([1.0, -1.0, -1.0], ([0, 0, 0], [imax, imin, islack])), shape=(1, ncol))
        rows.append(band)
        lo.append(np.array([-np.inf]))
        hi.append(np.array([2 * headroom * mean]))
    integrality = np.zeros(ncol)
    integrality[: nx + n] = 1
    upper = np.full(ncol, np.inf)
    upper[: nx + n] = 1
    matrix = sp.vstack(rows).tocsc()
    if _HIGHS == "highspy":
        x, status, gap, value = _solve_highspy(
            cost, matrix, np.concatenate(lo), np.concatenate(hi), upper, nx + n, time_limit_s
        )
    else:
        result = milp(
            cost,
            constraints=LinearConstraint(matrix, np.concatenate(lo), np.concatenate(hi)),
            integrality=integrality,
            bounds=Bounds(np.zeros(ncol), upper),
            options={"time_limit": float(time_limit_s), "mip_rel_gap": 1e-4, "disp": False},
        )
        x, gap, value = result.x, getattr(result, "mip_gap", None), result.fun
        status = "optimal" if result.status == 0 else "time limit"
    if x is None:
        return AssignmentResult(np.full(n, -1), "failed", None, None)
    x = np.asarray(x)[:nx].reshape(n, n_y)
    years = np.where(x.max(axis=1) > 0.5, x.argmax(axis=1), -1)
    return AssignmentResult(
        years.astype(int), status, None if gap is None else float(gap), float(value)
    )


#: "highspy" (HiGHS directly) or "scipy" (:func:`scipy.optimize.milp`, the same HiGHS): scipy's
#: build prints debugging lines on stdout on some MIPs, so highspy is used.
_HIGHS = "highspy"


def _solve_highspy(
    cost: np.ndarray,
    matrix: sp.csc_array,
    lo: np.ndarray,
    hi: np.ndarray,
    upper: np.ndarray,
    n_int: int,
    time_limit_s: float,
) -> tuple[list[float] | None, str, float | None, float | None]:
    """Solve with highspy; the first ``n_int`` columns are integer. Prints nothing."""
    import highspy

    # highspy.Highs() prints a banner through its Python logging callback before any option
    # can be set; the core class it wraps does not.
    core = getattr(getattr(highspy, "_core", None), "_Highs", None)
    h = core() if core is not None else highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 1e-4)
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
    h.run()
    info = h.getInfo()
    model_status = h.getModelStatus()
    if info.primal_solution_status != 2:
        return None, "failed", None, None
    status = "optimal" if model_status == highspy.HighsModelStatus.kOptimal else "time limit"
    return list(h.getSolution().col_value), status, info.mip_gap, info.objective_function_value
