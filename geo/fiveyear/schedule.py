"""A proposed five-year schedule and its comparison with an imported plan.

* :func:`propose_schedule` puts districts (whole) and standalone estates into the years of
  ``policy.schedule`` (2021-2025) under annual caps of households and/or investment, highest
  priority first, each year keeping the 2001-2005 extension within 15 % of its tasks by estates and
  by households (Yangjiang 2021-2025 draft §1). Only estates that may enter an annual plan are
  scheduled: eligible (or extension) and with at least 80 % consent (Xinyang 2022; Ruicheng).
* :func:`compare_with_plan` says which estates move between the imported plan and the proposal,
  and why; :func:`schedule_rows` gives the scheduled estates as plan rows for the official tables
  (:mod:`geo.fiveyear.tables`).

May import: geo.core, geo.planning (statuses); pure (:mod:`geo.io.workbook` writes the workbooks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.core.policy import Policy
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


@dataclass
class Schedule:
    """A proposed schedule.

    ``estates``: every estate with ``unit_id``, ``unit_rank`` (1 = highest priority),
    ``proposed_year`` (Int64, <NA> when not scheduled) and ``schedule_reason``; ``years``: per
    year ``estates``, ``households``, ``investment_yuan``, the extension counts and shares and the
    caps; ``caps``: the caps used and where they came from.
    """

    estates: pd.DataFrame
    years: pd.DataFrame
    caps: dict[str, object] = field(default_factory=dict)


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
) -> dict[str, object]:
    """Return the caps of a schedule: ``households`` and ``investment_yuan`` (None = no cap).

    Arguments override ``policy.schedule``; 0 means no cap. When neither cap is set, the years are
    balanced: schedulable households / years x (1 + ``balance_headroom``), stated in ``basis``
    (:func:`propose_schedule` counts extension households only up to what the 15 % rule admits).
    """
    s = policy.schedule
    years = s.last_year - s.first_year + 1
    hh = s.households_per_year if households_per_year is None else households_per_year
    inv = (
        s.investment_yuan_per_year if investment_yuan_per_year is None else investment_yuan_per_year
    )
    basis = "user or policy caps"
    if not hh and not inv:
        hh = math.ceil(candidates_households / years * (1 + s.balance_headroom)) if years else 0
        basis = (
            f"no cap given: balanced, {candidates_households:,.0f} schedulable households / "
            f"{years} years "
            f"+ {s.balance_headroom:.0%} headroom"
        )
    return {
        "households": int(hh) if hh else None,
        "investment_yuan": float(inv) if inv else None,
        "basis": basis,
    }


def propose_schedule(
    estates: pd.DataFrame,
    policy: Policy,
    *,
    districts: pd.DataFrame | None = None,
    households_per_year: int | None = None,
    investment_yuan_per_year: float | None = None,
) -> Schedule:
    """Propose a schedule over ``policy.schedule.first_year`` .. ``last_year``.

    Parameters
    ----------
    estates
        Estates of a planning run: ``estate_id``, ``name``, ``status``, ``consent_ok``,
        ``district_id``, ``households``, ``investment_yuan`` (yuan), ``priority_score`` (0-100).
    policy
        ``schedule`` (years, caps), ``eligibility`` (statuses, 15 % share).
    districts
        Districts with ``district_id`` and ``priority_score``; without it a district's priority is
        the household-weighted mean of its members'.
    households_per_year, investment_yuan_per_year
        Annual caps overriding the policy (0 = no cap); see :func:`schedule_caps`.

    Returns
    -------
    Schedule

    Notes
    -----
    Units (a district's ready members together, or a standalone estate) are taken by priority,
    highest first, and put in the earliest year where they fit the caps and keep the year's
    extension share (2001-2005 estates) within ``eligibility.extension_max_share`` by estates and by
    households (Yangjiang 2021-2025 draft §1); units blocked only by that rule are retried once more
    units are placed. A district is never split: members that are not ready (consent below
    ``eligibility.consent_threshold`` or unknown, Xinyang 2022 / Ruicheng) are left out and named.
    Estates of unknown households count 0 against the household cap.
    """
    rules = policy.eligibility
    s = policy.schedule
    frame = estates.reset_index(drop=True)
    status = frame["status"].astype("string")
    groupable = status.isin(groupable_statuses(policy)).fillna(False).astype(bool)
    consent = frame["consent_ok"].astype("boolean")
    ready = groupable & consent.fillna(False).astype(bool)
    units = _units(frame.loc[ready], districts)
    share = rules.extension_max_share if rules.extension_enabled else 0.0
    ext_hh = sum(u.extension_households for u in units)
    base_hh = sum(u.households for u in units) - ext_hh
    # at most share / (1 - share) extension households per other household can ever be scheduled
    total_hh = base_hh + (min(ext_hh, share / (1 - share) * base_hh) if share < 1 else ext_hh)
    caps = schedule_caps(
        total_hh,
        policy,
        households_per_year=households_per_year,
        investment_yuan_per_year=investment_yuan_per_year,
    )
    hh_cap, inv_cap = caps["households"], caps["investment_yuan"]
    years = [_Year(y) for y in range(s.first_year, s.last_year + 1)]
    n = len(frame)
    year_of: list[object] = [pd.NA] * n
    reason = [""] * n
    unit_of: list[object] = [pd.NA] * n
    rank_of: list[object] = [pd.NA] * n
    blocked: dict[str, list[str]] = {u.unit_id: [] for u in units}
    pending = list(units)
    for rank, u in enumerate(units, start=1):
        for i in u.members:
            unit_of[i], rank_of[i] = u.unit_id, rank
    progress = True
    while pending and progress:
        progress = False
        for u in list(pending):
            why = []
            for y in years:
                block = _blocker(y, u, hh_cap, inv_cap, share)  # type: ignore[arg-type]
                if block is None:
                    _place(y, u)
                    pending.remove(u)
                    progress = True
                    rank = units.index(u) + 1
                    text = f"priority rank {rank} of {len(units)} ({u.priority:.1f})"
                    if why:
                        text += "; earlier years full: " + "; ".join(why)
                    for i in u.members:
                        year_of[i], reason[i] = y.year, text
                    break
                why.append(block)
            blocked[u.unit_id] = why
    for u in pending:
        big = hh_cap is not None and u.households > hh_cap
        text = (
            f"not scheduled: {u.households:,} households, more than one year's cap "
            f"({hh_cap:,}); split the district or raise the cap"
            if big
            else "not scheduled: " + "; ".join(blocked[u.unit_id][-2:])
        )
        for i in u.members:
            reason[i] = text
    for i in np.flatnonzero(~ready.to_numpy()):
        reason[i] = _not_ready(frame.iloc[i], groupable.iloc[i], policy, year_of, unit_of, frame)
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
            "schedule_reason": pd.array(reason, dtype="string"),
        }
    )
    return Schedule(estates=out, years=_year_table(years, caps), caps=caps)


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
    unit_of: list[object],
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
                "households_cap": caps["households"],
                "investment_cap_yuan": caps["investment_yuan"],
            }
        )
    return pd.DataFrame(rows)


def compare_with_plan(schedule: Schedule, plan_year: pd.Series) -> pd.DataFrame:
    """Return which estates move between the imported plan and the proposal, and why.

    Parameters
    ----------
    schedule
        From :func:`propose_schedule`.
    plan_year
        The imported plan's year per estate, indexed by ``estate_id`` (<NA> or absent: not in the
        plan), e.g. from :func:`geo.fiveyear.overlay.overlay_plan`.

    Returns
    -------
    DataFrame
        One row per estate in the plan or in the proposal: ``estate_id``, ``name``,
        ``district_id``, ``plan_year``, ``proposed_year``, ``change`` (``same``, ``earlier``,
        ``later``, ``added``, ``dropped``) and ``reason``; sorted by change, then plan year.
    """
    est = schedule.estates
    planned = plan_year.dropna()
    planned.index = planned.index.astype(str)
    plan = est["estate_id"].astype(str).map(planned).astype("Int64")
    prop = est["proposed_year"]
    keep = plan.notna() | prop.notna()
    change = np.select(
        [
            (plan.notna() & prop.notna() & (plan == prop)).fillna(False),
            (plan.notna() & prop.notna() & (prop < plan)).fillna(False),
            (plan.notna() & prop.notna() & (prop > plan)).fillna(False),
            (plan.isna() & prop.notna()).to_numpy(),
        ],
        ["same", "earlier", "later", "added"],
        default="dropped",
    )
    reason = []
    for c, r, p in zip(change, est["schedule_reason"], plan, strict=True):
        if c == "added":
            reason.append(f"not in the imported plan; {r}")
        elif c == "same":
            reason.append(f"same year; {r}")
        elif c == "dropped":
            reason.append(f"in the plan for {p}; {r}")
        else:
            reason.append(f"plan has {p}; {r}")
    out = pd.DataFrame(
        {
            "estate_id": est["estate_id"],
            "name": est["name"],
            "district_id": est["district_id"],
            "plan_year": plan,
            "proposed_year": prop,
            "change": pd.array(change, dtype="string"),
            "reason": pd.array(reason, dtype="string"),
        }
    ).loc[keep.to_numpy()]
    order = {"dropped": 0, "later": 1, "earlier": 2, "added": 3, "same": 4}
    return out.sort_values(
        ["change", "plan_year", "proposed_year"],
        key=lambda s: s.map(order) if s.name == "change" else s,
    ).reset_index(drop=True)


def schedule_rows(schedule: Schedule, estates: pd.DataFrame) -> pd.DataFrame:
    """Return the scheduled estates as plan rows (:data:`geo.fiveyear.plan_table.PLAN_COLUMNS`).

    ``location`` is the estate's street, else its county; figures are the estates' (survey).
    """
    est = estates.reset_index(drop=True)
    year = schedule.estates["proposed_year"]
    picked = est.loc[year.notna().to_numpy()].copy()
    location = picked["county"].astype("string") if "county" in picked else pd.NA
    if "street" in picked:
        location = picked["street"].astype("string").fillna(location)
    return pd.DataFrame(
        {
            "plan_row": pd.array(np.arange(len(picked)) + 1, dtype="Int64"),
            "plan_year": year.loc[year.notna()].to_numpy(),
            "estate_id": picked["estate_id"].astype("string").to_numpy(),
            "matched_estate_id": picked["estate_id"].astype("string").to_numpy(),
            "match_status": "matched",
            "name": picked["name"].astype("string").to_numpy(),
            "location": pd.array(np.asarray(location), dtype="string"),
            "county": picked["county"].astype("string").to_numpy(),
            "build_year_raw": picked["build_year_raw"].astype("string").to_numpy(),
            "build_year": picked["build_year"].astype("Int64").to_numpy(),
            "build_year_latest": picked["build_year_latest"].astype("Int64").to_numpy(),
            "buildings": picked["buildings"].astype("Int64").to_numpy(),
            "households": picked["households"].astype("Int64").to_numpy(),
            "floor_area_m2": picked["floor_area_m2"].astype("Float64").to_numpy(),
            "investment_yuan": picked["investment_yuan"].astype("Float64").to_numpy(),
            "investment_estimated": picked.get(
                "investment_estimated", pd.Series(True, index=picked.index)
            )
            .astype("boolean")
            .to_numpy(),
        }
    ).sort_values(["plan_year", "plan_row"], ignore_index=True)
