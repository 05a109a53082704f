"""A proposed five-year schedule (one year per district or estate) and its comparison with a plan.

* :func:`propose_schedule` puts districts (whole) and standalone estates into the years of
  ``policy.schedule`` (2021-2025 by default; :data:`geo.core.policy.PLAN_PERIODS`). Only estates
  that may enter an annual plan are scheduled: eligible (or extension) and with at least 80 %
  consent (Xinyang 2022; Ruicheng). Every year keeps the 2001-2005 extension within 15 % of its
  estates and households (Yangjiang 2021-2025 draft §1), so the period does too. It is solved as
  an assignment MILP (:mod:`geo.fiveyear.assignment`, HiGHS) when the size allows, else by the
  greedy rule (priority order, earliest year that fits); the result says which, with the gap.
  Carry-over projects (续建) are counted in the year they finish, not scheduled anew.
* The comparison with an imported plan and the per-year views are in :mod:`geo.fiveyear.yearly`.

May import: geo.core, geo.planning (statuses), :mod:`geo.fiveyear.assignment`; pure
(:mod:`geo.io.workbook` writes the workbooks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.core.policy import Policy
from geo.fiveyear.assignment import solve_assignment
from geo.planning.eligibility import groupable_statuses

# --------------------------------------------------------------------------- the schedule


@dataclass
class Unit:
    """One thing scheduled in one year: a district (all its ready members) or a standalone estate."""

    unit_id: str
    members: list[int]
    estates: int
    extension_estates: int
    households: int
    extension_households: int
    investment_yuan: float
    priority: float


@dataclass
class _Year:
    year: int
    estates: int = 0
    extension_estates: int = 0
    households: int = 0
    extension_households: int = 0
    investment_yuan: float = 0.0
    carry_over_estates: int = 0
    carry_over_households: int = 0


@dataclass
class Schedule:
    """A proposed schedule.

    ``estates``: every estate with ``unit_id``, ``unit_rank`` (1 = highest priority),
    ``proposed_year`` (Int64, <NA> when not scheduled; the finishing year of a carry-over
    project), ``carry_over`` (bool) and ``schedule_reason``; ``years``: per year ``estates``,
    ``households``, ``investment_yuan``, the extension counts and shares, the carry-over counts
    and the caps; ``caps``: the caps used and where they came from; ``summary``: ``method``
    (``milp`` or ``greedy``), ``status``, ``gap`` (relative optimality gap, None for greedy),
    ``objective``, ``note`` (why this method), ``unplaced_units``, ``unplaced_estates``,
    ``unplaced_households``, ``binding`` (the caps that keep units out), and the period's
    ``extension_share_estates`` / ``extension_share_households``.
    """

    estates: pd.DataFrame
    years: pd.DataFrame
    caps: dict[str, object] = field(default_factory=dict)
    summary: dict[str, object] = field(default_factory=dict)


def _units(candidates: pd.DataFrame, districts: pd.DataFrame | None) -> list[Unit]:
    district_priority: dict[str, float] = {}
    if districts is not None and len(districts) and "priority_score" in districts:
        district_priority = dict(
            zip(
                districts["district_id"].astype(str),
                districts["priority_score"].astype(float),
                strict=True,
            )
        )
    hh = candidates["households"].astype("Float64").fillna(0).astype(int)
    inv = candidates["investment_yuan"].astype("Float64").fillna(0.0).astype(float)
    ext = (candidates["status"] == "extension").fillna(False).astype(bool)
    prio = candidates["priority_score"].astype("Float64").fillna(0.0).astype(float)
    key = (
        candidates["district_id"]
        .astype("string")
        .fillna("estate:" + candidates["estate_id"].astype(str))
    )
    units = []
    for unit_id, idx in candidates.groupby(key, sort=True).groups.items():
        members = list(idx)
        weights = hh[members].to_numpy(dtype=float)
        own = prio[members].to_numpy(dtype=float)
        mean = float(np.average(own, weights=weights)) if weights.sum() > 0 else float(own.mean())
        units.append(
            Unit(
                unit_id=str(unit_id),
                members=members,
                estates=len(members),
                extension_estates=int(ext[members].sum()),
                households=int(hh[members].sum()),
                extension_households=int(hh[members][ext[members]].sum()),
                investment_yuan=float(inv[members].sum()),
                priority=district_priority.get(str(unit_id), mean),
            )
        )
    units.sort(key=lambda u: (-u.priority, u.unit_id))
    return units


def _blocker(
    y: _Year, u: Unit, hh_cap: float | None, inv_cap: float | None, share: float
) -> str | None:
    """Return why ``u`` does not fit in year ``y`` (None when it fits)."""
    if hh_cap is not None and y.households + u.households > hh_cap:
        return f"{y.year}: households cap ({y.households:,} + {u.households:,} > {hh_cap:,.0f})"
    if inv_cap is not None and y.investment_yuan + u.investment_yuan > inv_cap + 0.5:
        return (
            f"{y.year}: investment cap ({(y.investment_yuan + u.investment_yuan) / 1e4:,.0f} "
            f"> {inv_cap / 1e4:,.0f} 万元)"
        )
    ext_n, n = y.extension_estates + u.extension_estates, y.estates + u.estates
    ext_h, h = y.extension_households + u.extension_households, y.households + u.households
    if u.extension_estates and (ext_n > share * n + 1e-9 or ext_h > share * h + 1e-9):
        return (
            f"{y.year}: 15% rule ({ext_n} of {n} estates, {ext_h:,} of {h:,} households 2001-2005)"
        )
    return None


def schedule_caps(
    candidates_households: float,
    policy: Policy,
    *,
    households_per_year: int | None = None,
    investment_yuan_per_year: float | None = None,
    balanced: bool = True,
) -> dict[str, object]:
    """Return the caps of a schedule: ``households`` and ``investment_yuan`` (None = no cap).

    Arguments override ``policy.schedule``; 0 means no cap. When neither cap is set and
    ``balanced`` (the greedy rule), the years are balanced by a household cap: schedulable
    households / years x (1 + ``balance_headroom``), stated in ``basis``. The MILP needs no such
    cap: it balances by its objective.
    """
    s = policy.schedule
    years = s.last_year - s.first_year + 1
    hh = s.households_per_year if households_per_year is None else households_per_year
    inv = (
        s.investment_yuan_per_year if investment_yuan_per_year is None else investment_yuan_per_year
    )
    basis = "user or policy caps"
    if not hh and not inv:
        if balanced:
            hh = math.ceil(candidates_households / years * (1 + s.balance_headroom)) if years else 0
            basis = (
                f"no cap given: balanced, {candidates_households:,.0f} schedulable households / "
                f"{years} years + {s.balance_headroom:.0%} headroom"
            )
        else:
            basis = f"no cap given: years balanced by the objective ({s.objective})"
    return {
        "households": int(hh) if hh else None,
        "investment_yuan": float(inv) if inv else None,
        "basis": basis,
    }


def _carry_over_years(frame: pd.DataFrame, carry_over: pd.Series | None) -> pd.Series:
    """Finishing year of each carry-over project (续建), <NA> for the others."""
    out = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if "carry_over_year" in frame:
        out = frame["carry_over_year"].astype("Int64")
    if carry_over is not None and len(carry_over):
        given = pd.Series(carry_over.to_numpy(), index=carry_over.index.astype(str))
        mapped = frame["estate_id"].astype(str).map(given).astype("Int64")
        out = mapped.fillna(out)
    return out


def propose_schedule(
    estates: pd.DataFrame,
    policy: Policy,
    *,
    districts: pd.DataFrame | None = None,
    households_per_year: int | None = None,
    investment_yuan_per_year: float | None = None,
    carry_over: pd.Series | None = None,
    solver: str | None = None,
    objective: str | None = None,
) -> Schedule:
    """Propose a schedule over ``policy.schedule.first_year`` .. ``last_year``.

    Parameters
    ----------
    estates
        Estates of a planning run: ``estate_id``, ``name``, ``status``, ``consent_ok``,
        ``district_id``, ``households``, ``investment_yuan`` (yuan), ``priority_score`` (0-100);
        optional ``carry_over_year`` (the year a 续建 project finishes).
    policy
        ``schedule`` (years, caps, objective, solver), ``eligibility`` (statuses, 15 % share).
    districts
        Districts with ``district_id`` and ``priority_score``; without it a district's priority is
        the household-weighted mean of its members'.
    households_per_year, investment_yuan_per_year
        Annual caps overriding the policy (0 = no cap); see :func:`schedule_caps`.
    carry_over
        Finishing year of carry-over projects (续建) by ``estate_id`` (e.g. from
        :func:`geo.fiveyear.progress.carry_over_years`); they count in that year and are not
        scheduled anew (Xinyang 2022: 2021's finished by June 2022).
    solver, objective
        Override ``schedule.solver`` (``auto``, ``milp``, ``greedy``) and ``schedule.objective``
        (``households``, ``investment``, ``priority``).

    Returns
    -------
    Schedule

    Notes
    -----
    A district is never split: members that are not ready (consent below
    ``eligibility.consent_threshold`` or unknown, Xinyang 2022 / Ruicheng) are left out and named.
    MILP: every unit is placed unless a cap makes that impossible (see
    :mod:`geo.fiveyear.assignment`); greedy: units by priority, highest first, into the earliest
    year where they fit the caps (a balanced household cap when none is given) and the 15 % rule,
    units blocked only by that rule retried once more units are placed. Unplaced units name the
    cap that keeps them out. Estates of unknown households count 0 against the household cap.
    """
    rules = policy.eligibility
    s = policy.schedule
    solver = solver or s.solver
    objective = objective or s.objective
    frame = estates.reset_index(drop=True)
    status = frame["status"].astype("string")
    groupable = status.isin(groupable_statuses(policy)).fillna(False).astype(bool)
    consent = frame["consent_ok"].astype("boolean")
    finish = _carry_over_years(frame, carry_over)
    is_carry = finish.notna().to_numpy()
    ready = groupable & consent.fillna(False).astype(bool) & ~is_carry
    units = _units(frame.loc[ready], districts)
    share = rules.extension_max_share if rules.extension_enabled else 0.0
    years = [_Year(y) for y in range(s.first_year, s.last_year + 1)]
    n = len(frame)
    year_of: list[object] = [pd.NA] * n
    reason = [""] * n
    unit_of: list[object] = [pd.NA] * n
    rank_of: list[object] = [pd.NA] * n
    _fix_carry_over(frame, finish, years, year_of, reason, share)
    for rank, u in enumerate(units, start=1):
        for i in u.members:
            unit_of[i], rank_of[i] = u.unit_id, rank
    use_milp = solver == "milp" or (solver == "auto" and len(units) <= s.solver_max_units)
    note = (
        f"greedy rule: {len(units)} units, more than schedule.solver_max_units "
        f"({s.solver_max_units})"
        if solver == "auto" and not use_milp
        else "greedy rule (schedule.solver = greedy)"
    )
    summary: dict[str, object] = {"method": "greedy", "status": "heuristic", "gap": None}
    placed: dict[str, int] | None = None
    if use_milp and units:
        caps = schedule_caps(
            0,
            policy,
            households_per_year=households_per_year,
            investment_yuan_per_year=investment_yuan_per_year,
            balanced=False,
        )
        result = solve_assignment(
            households=[u.households for u in units],
            investment=[u.investment_yuan for u in units],
            estates=[u.estates for u in units],
            extension_estates=[u.extension_estates for u in units],
            extension_households=[u.extension_households for u in units],
            priority=[u.priority for u in units],
            n_years=len(years),
            fixed=np.array(
                [
                    [
                        y.estates,
                        y.extension_estates,
                        y.households,
                        y.extension_households,
                        y.investment_yuan,
                    ]
                    for y in years
                ],
                dtype=float,
            ),
            share=share,
            households_cap=caps["households"],  # type: ignore[arg-type]
            investment_cap=caps["investment_yuan"],  # type: ignore[arg-type]
            objective=objective,
            headroom=s.balance_headroom,
            time_limit_s=s.solver_time_limit_s,
        )
        if result.status != "failed":
            placed = {u.unit_id: int(k) for u, k in zip(units, result.years, strict=True)}
            summary = {"method": "milp", "status": result.status, "gap": result.gap}
            note = f"assignment MILP (HiGHS), {len(units)} units x {len(years)} years"
        else:
            note = "the MILP found no assignment within the time limit: greedy rule instead"
    if placed is None:
        ready_hh = sum(u.households for u in units)
        ext_hh = sum(u.extension_households for u in units)
        base = ready_hh - ext_hh
        # at most share / (1 - share) extension households per other household can be scheduled
        total = base + (min(ext_hh, share / (1 - share) * base) if share < 1 else ext_hh)
        caps = schedule_caps(
            total,
            policy,
            households_per_year=households_per_year,
            investment_yuan_per_year=investment_yuan_per_year,
        )
        placed = _greedy(units, years, caps, share)
    else:
        for u in units:
            if placed[u.unit_id] >= 0:
                _place(years[placed[u.unit_id]], u)
    _reasons(units, years, placed, caps, share, year_of, reason)
    for i in np.flatnonzero(~(ready.to_numpy() | is_carry)):
        reason[i] = _not_ready(frame.iloc[i], groupable.iloc[i], policy, year_of, frame)
    summary.update(_summary(units, years, placed, reason, objective, note))
    out = pd.DataFrame(
        {
            "estate_id": frame["estate_id"].astype("string"),
            "name": frame["name"].astype("string"),
            "county": frame["county"].astype("string")
            if "county" in frame
            else pd.Series(pd.NA, index=frame.index, dtype="string"),
            "district_id": frame["district_id"].astype("string"),
            "status": status,
            "households": frame["households"].astype("Int64"),
            "investment_yuan": frame["investment_yuan"].astype("Float64"),
            "priority_score": frame["priority_score"].astype("Float64"),
            "unit_id": pd.array(unit_of, dtype="string"),
            "unit_rank": pd.array(rank_of, dtype="Int64"),
            "proposed_year": pd.array(year_of, dtype="Int64"),
            "carry_over": pd.array(is_carry, dtype="boolean"),
            "schedule_reason": pd.array(reason, dtype="string"),
        }
    )
    return Schedule(estates=out, years=_year_table(years, caps), caps=caps, summary=summary)


def _fix_carry_over(
    frame: pd.DataFrame,
    finish: pd.Series,
    years: list[_Year],
    year_of: list[object],
    reason: list[str],
    share: float,
) -> None:
    """Count carry-over projects (续建) in the year they finish."""
    by_year = {y.year: y for y in years}
    hh = frame["households"].astype("Float64").fillna(0).astype(int)
    inv = frame["investment_yuan"].astype("Float64").fillna(0.0)
    ext = (frame["status"] == "extension").fillna(False).astype(bool)
    for i in np.flatnonzero(finish.notna().to_numpy()):
        end = int(finish.iloc[i])
        y = by_year.get(end)
        if y is None:
            reason[i] = f"carry-over project (续建) finishing in {end}, outside the plan period"
            continue
        year_of[i] = end
        y.estates += 1
        y.carry_over_estates += 1
        y.households += int(hh.iloc[i])
        y.carry_over_households += int(hh.iloc[i])
        y.investment_yuan += float(inv.iloc[i])
        if ext.iloc[i]:
            y.extension_estates += 1
            y.extension_households += int(hh.iloc[i])
        reason[i] = f"carry-over project (续建): counted in {end}, the year it finishes"


def _greedy(
    units: list[Unit], years: list[_Year], caps: dict[str, object], share: float
) -> dict[str, int]:
    """Priority order, earliest year that fits; units blocked by the 15 % rule are retried."""
    hh_cap, inv_cap = caps["households"], caps["investment_yuan"]
    placed = {u.unit_id: -1 for u in units}
    pending = list(units)
    progress = True
    while pending and progress:
        progress = False
        for u in list(pending):
            for k, y in enumerate(years):
                if _blocker(y, u, hh_cap, inv_cap, share) is None:  # type: ignore[arg-type]
                    _place(y, u)
                    placed[u.unit_id] = k
                    pending.remove(u)
                    progress = True
                    break
    return placed


def _reasons(
    units: list[Unit],
    years: list[_Year],
    placed: dict[str, int],
    caps: dict[str, object],
    share: float,
    year_of: list[object],
    reason: list[str],
) -> None:
    hh_cap, inv_cap = caps["households"], caps["investment_yuan"]
    for rank, u in enumerate(units, start=1):
        k = placed[u.unit_id]
        if k >= 0:
            text = f"priority rank {rank} of {len(units)} ({u.priority:.1f})"
            full = [
                b
                for y in years[:k]
                if (b := _blocker(y, u, hh_cap, inv_cap, share))  # type: ignore[arg-type]
            ]
            if full:
                text += "; earlier years full: " + "; ".join(full)
            if u.extension_estates:
                y = years[k]
                text += (
                    f"; with 2001-2005 estates, placed with others: {y.extension_estates} of "
                    f"{y.estates} estates, {y.extension_households:,} of {y.households:,} "
                    f"households in {y.year} (limit {share:.0%})"
                )
            for i in u.members:
                year_of[i], reason[i] = years[k].year, text
            continue
        blocks = [b for y in years if (b := _blocker(y, u, hh_cap, inv_cap, share))]  # type: ignore[arg-type]
        if hh_cap is not None and u.households > hh_cap:
            text = (
                f"not scheduled (households cap): {u.households:,} households, more than one "
                f"year's cap ({hh_cap:,}); split the district or raise the cap"
            )
        elif blocks:
            kinds = sorted({b.split(": ", 1)[1].split(" (")[0] for b in blocks})
            text = f"not scheduled ({', '.join(kinds)}): " + "; ".join(blocks[-2:])
        else:
            text = "not scheduled: left out by the solver within its time limit"
        for i in u.members:
            reason[i] = text


def _summary(
    units: list[Unit],
    years: list[_Year],
    placed: dict[str, int],
    reason: list[str],
    objective: str,
    note: str,
) -> dict[str, object]:
    out = [u for u in units if placed[u.unit_id] < 0]
    binding = sorted(
        {
            reason[u.members[0]].split("(", 1)[1].split(")", 1)[0]
            for u in out
            if reason[u.members[0]].startswith("not scheduled (")
        }
    )
    n = sum(y.estates for y in years)
    h = sum(y.households for y in years)
    objectives = {
        "households": "years as even as possible in households (heaviest - lightest year)",
        "investment": "years as even as possible in investment (heaviest - lightest year)",
        "priority": "higher priority earlier, years within the even-load band",
    }
    return {
        "objective": f"{objective}: {objectives[objective]}",
        "note": note,
        "units": len(units),
        "unplaced_units": len(out),
        "unplaced_estates": sum(u.estates for u in out),
        "unplaced_households": sum(u.households for u in out),
        "binding": ", ".join(binding) if binding else "none",
        "extension_share_estates": round(sum(y.extension_estates for y in years) / n, 4)
        if n
        else 0.0,
        "extension_share_households": round(sum(y.extension_households for y in years) / h, 4)
        if h
        else 0.0,
    }


def _place(y: _Year, u: Unit) -> None:
    y.estates += u.estates
    y.extension_estates += u.extension_estates
    y.households += u.households
    y.extension_households += u.extension_households
    y.investment_yuan += u.investment_yuan


def _not_ready(
    row: pd.Series,
    groupable: bool,
    policy: Policy,
    year_of: list[object],
    frame: pd.DataFrame,
) -> str:
    if not groupable:
        text = str(row.get("reason_en") or row.get("status") or "not eligible")
        return f"not scheduled: {text}"
    rate = row.get("consent_rate")
    threshold = policy.eligibility.consent_threshold
    text = (
        "not scheduled: consent rate not surveyed"
        if pd.isna(rate)
        else f"not scheduled: consent {float(rate):.1%} below {threshold:.0%}"
    )
    district = row.get("district_id")
    if not pd.isna(district):
        same = frame.index[(frame["district_id"] == district).fillna(False).to_numpy()]
        years = {year_of[i] for i in same if not pd.isna(year_of[i])}
        if years:
            text += f"; its district {district} is proposed for {min(years)}: join it once ready"
    return text


def _year_table(years: list[_Year], caps: dict[str, object]) -> pd.DataFrame:
    rows = []
    for y in years:
        rows.append(
            {
                "year": y.year,
                "estates": y.estates,
                "households": y.households,
                "investment_yuan": round(y.investment_yuan, 0),
                "extension_estates": y.extension_estates,
                "extension_households": y.extension_households,
                "extension_share_estates": round(y.extension_estates / y.estates, 4)
                if y.estates
                else 0.0,
                "extension_share_households": round(y.extension_households / y.households, 4)
                if y.households
                else 0.0,
                "carry_over_estates": y.carry_over_estates,
                "carry_over_households": y.carry_over_households,
                "households_cap": caps["households"],
                "investment_cap_yuan": caps["investment_yuan"],
            }
        )
    return pd.DataFrame(rows)
