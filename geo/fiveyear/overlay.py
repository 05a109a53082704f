"""A plan laid over the estates: resolved rows, the overlay columns, year totals, :class:`PlanOverlay`.

:func:`resolved_rows` completes matched plan rows with the estates' figures (and estimated
investment), :func:`overlay_plan` gives each estate its ``plan_year``, :func:`plan_year_totals`
totals the plan per year, and :func:`plan_overlay` runs match, resolve, overlay, totals and checks
in one call (the CLI and the app use it).

May import: geo.core and the other geo.fiveyear modules (plan_table, matching, checks); pure.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geo.core.policy import Policy
from geo.fiveyear.checks import check_plan
from geo.fiveyear.matching import MATCH_STATUSES, MatchSettings, match_plan
from geo.fiveyear.plan_table import PLAN_COLUMNS

# --------------------------------------------------------------------------- overlay and totals


def resolved_rows(
    matches: pd.DataFrame, estates: pd.DataFrame | None, policy: Policy
) -> pd.DataFrame:
    """Return plan rows with the figures the checks and tables use, and the estate's attributes.

    For each row: ``households``, ``floor_area_m2``, ``buildings`` and build years as the plan
    writes them, else the matched estate's; ``investment_yuan`` as planned, else the estate's,
    else floor area x ``cost.yuan_per_m2`` (else households x ``cost.yuan_per_household``; Xinyang
    2022 unit costs), with ``investment_estimated`` True when not given by the plan or survey; and
    the estate's ``county``, ``status``, ``consent_rate``, ``consent_ok``, ``district_id``,
    ``priority_score`` (prefixed ``estate_`` where the row has its own column).
    """
    out = matches.copy()
    if "matched_estate_id" not in out:
        out["matched_estate_id"] = pd.Series(pd.NA, index=out.index, dtype="string")
        out["match_status"] = "unmatched"
    attrs = [
        "estate_id",
        "county",
        "status",
        "consent_rate",
        "consent_ok",
        "district_id",
        "priority_score",
        "households",
        "floor_area_m2",
        "buildings",
        "build_year",
        "build_year_latest",
        "build_year_raw",
        "investment_yuan",
        "investment_estimated",
        "name",
        "street",
    ]
    if estates is not None and len(estates):
        table = pd.DataFrame(estates[[a for a in attrs if a in estates]]).copy()
        table["estate_id"] = table["estate_id"].astype(str)
        table = table.drop_duplicates("estate_id").set_index("estate_id")
        joined = table.reindex(
            out["matched_estate_id"].astype(object).where(out["matched_estate_id"].notna(), "")
        ).reset_index(drop=True)
        joined.index = out.index
    else:
        joined = pd.DataFrame(index=out.index)
    for a in attrs[1:]:
        if a not in joined:
            joined[a] = pd.NA
    for col in ("households", "floor_area_m2", "buildings", "build_year", "build_year_latest"):
        out[col] = (
            out[col].astype(PLAN_COLUMNS[col][0]).fillna(joined[col].astype(PLAN_COLUMNS[col][0]))
        )
    out["build_year_raw"] = (
        out["build_year_raw"]
        .astype("string")
        .replace("", pd.NA)
        .fillna(joined["build_year_raw"].astype("string"))
        .fillna("")
    )
    out["county"] = joined["county"].astype("string").fillna(out["county"].astype("string"))
    out["street"] = joined["street"].astype("string")
    for col in ("status", "consent_rate", "consent_ok", "district_id", "priority_score"):
        out[f"estate_{col}" if col in ("status",) else col] = joined[col]
    out = out.rename(columns={"estate_status": "status"})
    out["status"] = out["status"].astype("string")
    out["consent_rate"] = out["consent_rate"].astype("Float64")
    out["district_id"] = out["district_id"].astype("string")
    planned = out["investment_yuan"].astype("Float64")
    surveyed = joined["investment_yuan"].astype("Float64")
    surveyed_estimated = joined["investment_estimated"].astype("boolean").fillna(False)
    area = out["floor_area_m2"].astype("Float64")
    households = out["households"].astype("Float64")
    by_cost = (area * policy.cost.yuan_per_m2).fillna(households * policy.cost.yuan_per_household)
    use_survey = planned.isna() & surveyed.notna()
    out["investment_yuan"] = planned.fillna(surveyed).fillna(by_cost.round(0))
    out["investment_estimated"] = (planned.isna() & ~(use_survey & ~surveyed_estimated)).astype(
        "boolean"
    )
    return out


def overlay_plan(estates: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """Return the overlay columns per estate: ``plan_year``, ``plan_row``, ``plan_name``.

    Indexed like ``estates``; ``<NA>`` for estates not in the plan. Only ``matched`` rows place an
    estate in a year (ambiguous rows wait for the planner's confirmation).
    """
    ok = matches.loc[matches["match_status"] == "matched"]
    by_id = ok.set_index(ok["matched_estate_id"].astype(str))
    ids = estates["estate_id"].astype(str)
    return pd.DataFrame(
        {
            "plan_year": pd.array(ids.map(by_id["plan_year"]), dtype="Int64"),
            "plan_row": pd.array(ids.map(by_id["plan_row"]), dtype="Int64"),
            "plan_name": pd.array(ids.map(by_id["name"]), dtype="string"),
        },
        index=estates.index,
    )


def plan_year_totals(rows: pd.DataFrame) -> pd.DataFrame:
    """Return per-year totals of resolved plan rows (:func:`resolved_rows`).

    Columns: ``plan_year``, ``estates`` (rows), ``matched`` (rows placed on the map),
    ``households``, ``buildings``, ``floor_area_m2``, ``investment_yuan`` (yuan; includes
    estimates), ``investment_estimated_rows``, ``households_unknown_rows``; one row per year, in
    order. Unmatched rows count: the plan's own figures do not need a map.
    """
    frame = rows.assign(
        _matched=(rows.get("match_status", "unmatched") == "matched").astype(int),
        _est=rows["investment_estimated"].fillna(False).astype(int),
        _hh_unknown=rows["households"].isna().astype(int),
    )
    grouped = frame.groupby("plan_year", sort=True)
    out = pd.DataFrame(
        {
            "estates": grouped.size(),
            "matched": grouped["_matched"].sum(),
            "households": grouped["households"].sum(min_count=0),
            "buildings": grouped["buildings"].sum(min_count=0),
            "floor_area_m2": grouped["floor_area_m2"].sum(min_count=0).round(2),
            "investment_yuan": grouped["investment_yuan"].sum(min_count=0).round(0),
            "investment_estimated_rows": grouped["_est"].sum(),
            "households_unknown_rows": grouped["_hh_unknown"].sum(),
        }
    )
    return out.reset_index()


def plan_overlay(
    rows: pd.DataFrame,
    estates: pd.DataFrame,
    policy: Policy,
    *,
    settings: MatchSettings | None = None,
    overrides: pd.DataFrame | None = None,
) -> PlanOverlay:
    """Match, resolve, overlay, total and check a plan in one call (used by the CLI and the app).

    Parameters
    ----------
    rows
        Plan rows (:func:`parse_plan_table`).
    estates
        Estates of a planning run (any CRS; geometry unused), possibly empty.
    policy
        The run's policy.
    settings, overrides
        See :func:`match_plan`.

    Returns
    -------
    PlanOverlay
    """
    matches = match_plan(rows, estates, settings=settings, overrides=overrides)
    resolved = resolved_rows(matches, estates, policy)
    overlay = overlay_plan(estates, matches) if len(estates) else pd.DataFrame(index=estates.index)
    return PlanOverlay(
        rows=resolved,
        overlay=overlay,
        totals=plan_year_totals(resolved),
        checks=check_plan(resolved, policy, estates=estates if len(estates) else None),
    )


@dataclass
class PlanOverlay:
    """A plan laid over the estates.

    ``rows``: resolved plan rows with the match columns (:func:`match_plan`, :func:`resolved_rows`);
    ``overlay``: ``plan_year``, ``plan_row``, ``plan_name`` per estate (indexed like the estates);
    ``totals``: :func:`plan_year_totals`; ``checks``: :func:`check_plan`.
    """

    rows: pd.DataFrame
    overlay: pd.DataFrame
    totals: pd.DataFrame
    checks: pd.DataFrame

    def match_counts(self) -> dict[str, int]:
        """Return the number of rows per match status."""
        counts = self.rows["match_status"].value_counts()
        return {s: int(counts.get(s, 0)) for s in MATCH_STATUSES}
