"""The plan and the proposed schedule year by year, side by side (for the CLI and the app).

* :func:`compare_with_plan` says which estates move between the imported plan and the proposal,
  and why;
* :func:`schedule_rows` gives the scheduled estates as plan rows for the official tables
  (:mod:`geo.fiveyear.tables`);
* :func:`schedule_year_totals` and :func:`plan_vs_schedule` give the per-year totals (estates,
  households, investment, extension shares) of the plan and of the schedule, one row per year.

May import: geo.core and the other geo.fiveyear modules; pure (no file access, no printing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.fiveyear.schedule import Schedule


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
