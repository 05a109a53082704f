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


def plan_vs_schedule(
    estates: pd.DataFrame, schedule: Schedule, plan_year: pd.Series | None = None
) -> pd.DataFrame:
    """Return per-year totals of the imported plan and of the proposed schedule, side by side.

    Parameters
    ----------
    estates
        The estates of the run: ``estate_id``, ``households``, ``investment_yuan`` (yuan),
        ``status`` (``extension`` = built 2001-2005).
    schedule
        From :func:`geo.fiveyear.schedule.propose_schedule`.
    plan_year
        The imported plan's year by ``estate_id`` (e.g. the estates' ``plan_year``); None or empty
        when no plan was imported (the plan columns are then 0).

    Returns
    -------
    DataFrame
        One row per year of the schedule's period (and of the plan, if it has others):
        ``year``, then for ``plan_`` and ``schedule_``: ``estates``, ``households``,
        ``investment_yuan`` and ``extension_share_estates`` / ``extension_share_households``
        (0-1). The app charts it; figures are the estates' (survey), unknown households count 0.
    """
    frame = estates.reset_index(drop=True)
    ids = frame["estate_id"].astype(str)
    hh = frame["households"].astype("Float64").fillna(0).to_numpy(dtype=float)
    inv = frame["investment_yuan"].astype("Float64").fillna(0).to_numpy(dtype=float)
    ext = (frame["status"].astype("string") == "extension").fillna(False).to_numpy(dtype=bool)
    proposed = ids.map(
        dict(
            zip(
                schedule.estates["estate_id"].astype(str),
                schedule.estates["proposed_year"],
                strict=True,
            )
        )
    )
    planned = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if plan_year is not None and len(plan_year):
        given = pd.Series(plan_year.to_numpy(), index=plan_year.index.astype(str))
        planned = ids.map(given).astype("Int64")
    years = sorted(
        set(schedule.years["year"].astype(int)) | {int(y) for y in planned.dropna().unique()}
    )
    rows = []
    for year in years:
        row: dict[str, object] = {"year": year}
        for prefix, which in (("plan", planned), ("schedule", proposed.astype("Int64"))):
            mask = (which == year).fillna(False).to_numpy(dtype=bool)
            n, h = int(mask.sum()), float(hh[mask].sum())
            row[f"{prefix}_estates"] = n
            row[f"{prefix}_households"] = int(h)
            row[f"{prefix}_investment_yuan"] = round(float(inv[mask].sum()), 0)
            row[f"{prefix}_extension_share_estates"] = (
                round(int((mask & ext).sum()) / n, 4) if n else 0.0
            )
            row[f"{prefix}_extension_share_households"] = (
                round(float(hh[mask & ext].sum()) / h, 4) if h else 0.0
            )
        rows.append(row)
    return pd.DataFrame(rows)
