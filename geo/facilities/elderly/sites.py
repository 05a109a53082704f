"""Proposed shared elderly-care sites: candidates, the siting run and the sites layer.

Holds the candidate sites (a point inside each member estate of a district, then a given
candidate layer) and :func:`propose_sites`, which covers the programme estates' floor-area gaps
within the 5-minute walk with :mod:`.siting` and builds the ``elderly_sites`` layer.

May import: numpy, pandas, scipy, shapely, pyproj, geopandas, ``geo.core.policy`` and the sibling
modules :mod:`.walking` and :mod:`.siting`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import CRS

from geo.core.policy import Policy
from geo.facilities.elderly.siting import SitingSolution, maximal_covering, minimum_cover
from geo.facilities.elderly.walking import (
    WalkNetwork,
    inside_is_zero,
    points_xy,
    walking_distances,
)

#: Estate statuses inside the renovation programme (siting serves their gaps).
PROGRAMME_STATUSES = ("eligible", "extension")


def candidate_sites(
    estates: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame | None, crs: CRS
) -> dict[str, np.ndarray]:
    """Candidate sites: a point inside each member estate of a district, then the given layer."""
    if "district_id" in estates:
        members = estates.loc[estates["district_id"].notna()]
    else:
        members = estates.iloc[0:0]
    xy = points_xy(members)
    host = members["estate_id"].astype(str).to_numpy()
    district = members["district_id"].astype(str).to_numpy() if len(members) else host
    source = np.full(len(members), "estate", dtype=object)
    names = members["name"].astype(object).to_numpy() if "name" in members else host.copy()
    if candidates is not None and len(candidates):
        extra = candidates.to_crs(crs)
        extra_xy = points_xy(extra)
        xy = np.vstack([xy, extra_xy])
        host = np.r_[host, np.full(len(extra), None, dtype=object)]
        district = np.r_[district, np.full(len(extra), None, dtype=object)]
        source = np.r_[source, np.full(len(extra), "candidate layer", dtype=object)]
        extra_names = (
            extra["site_name"].astype(object).to_numpy()
            if "site_name" in extra
            else np.array([f"候选点{i + 1}" for i in range(len(extra))], dtype=object)
        )
        names = np.r_[names, extra_names]
    return {
        "xy": xy.reshape(-1, 2),
        "host": host,
        "district": district,
        "source": source,
        "name": names,
    }


def propose_sites(
    estates: gpd.GeoDataFrame,
    out: pd.DataFrame,
    households: np.ndarray,
    cand: dict[str, np.ndarray],
    estate_xy: np.ndarray,
    network: WalkNetwork | None,
    policy: Policy,
) -> tuple[gpd.GeoDataFrame, SitingSolution | None, np.ndarray]:
    """Propose shared sites for the programme estates' gaps (``out["elderly_gap_m2"]``).

    Returns ``(sites layer, siting solution or None, site_id per estate or None)``.
    """
    el = policy.elderly
    gap = out["elderly_gap_m2"].fillna(0).to_numpy(dtype=float)
    in_scope = (
        estates["status"].isin(PROGRAMME_STATUSES).to_numpy()
        if "status" in estates
        else np.ones(len(estates), dtype=bool)
    )
    demand = np.flatnonzero((gap > 0) & in_scope)
    site_of_estate = np.full(len(estates), None, dtype=object)
    empty = gpd.GeoDataFrame(
        {
            "site_id": pd.Series(dtype="string"),
            "estate_id": pd.Series(dtype="string"),
            "district_id": pd.Series(dtype="string"),
            "source": pd.Series(dtype="string"),
            "site_name": pd.Series(dtype="string"),
            "floor_area_m2": pd.Series(dtype=float),
            "households_served": pd.Series(dtype="Int64"),
            "estates_served": pd.Series(dtype="string"),
            "gap_covered_m2": pd.Series(dtype=float),
        },
        geometry=gpd.GeoSeries([], crs=estates.crs),
        crs=estates.crs,
    )
    if len(demand) == 0 or len(cand["xy"]) == 0:
        return empty, None, site_of_estate
    reach = el.circle_5min_m
    pairs = walking_distances(
        cand["xy"], estate_xy[demand], reach, network=network, detour_factor=el.detour_factor
    )
    pairs = inside_is_zero(pairs, cand["xy"], estates.geometry.to_numpy()[demand])
    cover = sp.csr_matrix(
        (np.ones(len(pairs.origin)), (pairs.target, pairs.origin)),
        shape=(len(demand), len(cand["xy"])),
    )
    weights = gap[demand]
    if el.max_new_sites > 0:
        siting = maximal_covering(
            weights,
            cover,
            el.max_new_sites,
            exact_max_candidates=el.exact_max_candidates,
            time_limit_s=el.solver_time_limit_s,
        )
    else:
        siting = minimum_cover(
            weights,
            cover,
            exact_max_candidates=el.exact_max_candidates,
            time_limit_s=el.solver_time_limit_s,
        )
    chosen = siting.chosen
    if len(chosen) == 0:
        return empty, siting, site_of_estate
    # each covered demand estate goes to its nearest chosen site
    frame = pd.DataFrame({"c": pairs.origin, "d": pairs.target, "m": pairs.metres})
    frame = frame.loc[frame["c"].isin(chosen)].sort_values(["d", "m", "c"]).drop_duplicates("d")
    site_ids = {c: f"S{n + 1:04d}" for n, c in enumerate(chosen)}
    ids = estates["estate_id"].astype(str).to_numpy()
    districts_of = (
        estates["district_id"].astype(object).to_numpy()
        if "district_id" in estates
        else np.full(len(estates), None, dtype=object)
    )
    rows = []
    for c in chosen:
        served = demand[frame.loc[frame["c"] == c, "d"].to_numpy()]
        site_of_estate[served] = site_ids[c]
        district = cand["district"][c]
        if district is None:  # a site of the candidate layer: the district it serves most
            served_districts = pd.Series(districts_of[served]).dropna()
            district = served_districts.mode().iloc[0] if len(served_districts) else None
        rows.append(
            {
                "site_id": site_ids[c],
                "estate_id": cand["host"][c],
                "district_id": district,
                "source": cand["source"][c],
                "site_name": None if pd.isna(cand["name"][c]) else str(cand["name"][c]),
                "floor_area_m2": float(np.ceil(gap[served].sum())),
                "households_served": int(np.nansum(households[served])),
                "estates_served": ",".join(ids[served]),
                "gap_covered_m2": float(gap[served].sum()),
            }
        )
    sites = gpd.GeoDataFrame(
        pd.DataFrame(rows),
        geometry=shapely.points(cand["xy"][chosen]),
        crs=estates.crs,
    )
    for column in ("site_id", "estate_id", "district_id", "source", "site_name", "estates_served"):
        sites[column] = sites[column].astype("string")
    sites["households_served"] = sites["households_served"].astype("Int64")
    return sites, siting, site_of_estate


def apply_minimum_size(
    sites: gpd.GeoDataFrame,
    site_of_estate: np.ndarray,
    estate_xy: np.ndarray,
    estates: gpd.GeoDataFrame,
    gap: np.ndarray,
    network: WalkNetwork | None,
    policy: Policy,
) -> tuple[gpd.GeoDataFrame, np.ndarray, gpd.GeoDataFrame]:
    """Merge or drop proposed sites below the minimum size (``elderly.min_site_m2``).

    Smallest first, a site below the minimum (``Elderly.provincial("min_site_m2")``: Anhui 2022
    350 m²) is merged into the nearest other site that every estate it serves can reach within
    ``elderly.merge_reach_m`` (500 m, the 10-minute circle; walking network when given): that
    site takes its estates and its floor area (the gap, rounded up). A site that no site can
    absorb is dropped (``small_site_action = "drop"``: its estates keep their gap, reported as
    the district's pooled gap) or enlarged to the minimum (``"enlarge"``).

    Parameters
    ----------
    sites
        The layer of :func:`propose_sites` (``site_id``, ``floor_area_m2``, ``estates_served``
        ...), points in the estates' projected CRS.
    site_of_estate
        ``site_id`` or None per estate (modified copy returned).
    estate_xy, estates, gap
        Estate points ``(n, 2)`` (m), the estates (polygons: a site inside one is at 0 m) and
        their gap (m²).

    Returns
    -------
    tuple
        ``(sites, site_of_estate, dropped)``: the kept sites with ``site_note`` (what was merged
        into them, or enlarged); the dropped sites with ``reason`` and ``reason_zh``.
    """
    el = policy.elderly
    minimum = el.provincial("min_site_m2")
    site_of_estate = site_of_estate.copy()
    sites = sites.copy()
    sites["site_note"] = pd.array([""] * len(sites), dtype="string")
    dropped_rows: list[dict[str, object]] = []
    if len(sites) == 0 or minimum <= 0:
        return sites, site_of_estate, _dropped_frame(dropped_rows, sites.crs)
    ids = estates["estate_id"].astype(str).to_numpy()
    position = {e: i for i, e in enumerate(ids)}
    xy = shapely.get_coordinates(sites.geometry.to_numpy())
    keep = np.ones(len(sites), dtype=bool)
    area = sites["floor_area_m2"].to_numpy(dtype=float).copy()
    served = [
        [position[e] for e in str(s).split(",") if e in position] if isinstance(s, str) else []
        for s in sites["estates_served"].astype(object)
    ]
    notes = [""] * len(sites)
    for i in np.argsort(area, kind="stable"):
        if area[i] >= minimum or not keep[i]:
            continue
        others = np.flatnonzero(keep & (np.arange(len(sites)) != i))
        target = None
        if len(others) and served[i]:
            pairs = walking_distances(
                xy[others],
                estate_xy[served[i]],
                el.merge_reach_m,
                network=network,
                detour_factor=el.detour_factor,
            )
            pairs = inside_is_zero(pairs, xy[others], estates.geometry.to_numpy()[served[i]])
            reach = pd.DataFrame({"o": pairs.origin, "t": pairs.target, "m": pairs.metres})
            full = reach.groupby("o").agg(n=("t", "nunique"), far=("m", "max"))
            full = full.loc[full["n"] == len(served[i])].sort_values(["far"])
            if len(full):
                target = int(others[int(full.index[0])])
        site_id = str(sites["site_id"].iloc[i])
        if target is not None:
            keep[i] = False
            served[target] = served[target] + served[i]
            area[target] = float(np.ceil(gap[served[target]].sum()))
            site_of_estate[served[i]] = str(sites["site_id"].iloc[target])
            notes[target] = (notes[target] + "; " if notes[target] else "") + (
                f"merged {site_id} ({area[i]:.0f} m² < {minimum:.0f} m² minimum)"
            )
        elif el.small_site_action == "enlarge":
            notes[i] = f"enlarged from {area[i]:.0f} m² to the {minimum:.0f} m² minimum"
            area[i] = minimum
        else:
            keep[i] = False
            site_of_estate[served[i]] = None
            dropped_rows.append(
                {
                    "site_id": site_id,
                    "floor_area_m2": area[i],
                    "estates_served": ",".join(ids[served[i]]),
                    "reason": f"below the {minimum:.0f} m² minimum and no proposed site within "
                    f"{el.merge_reach_m:.0f} m of its estates: dropped, gap left to pool",
                    "reason_zh": f"面积小于{minimum:.0f}平方米且{el.merge_reach_m:.0f}米内无可合并站点，"
                    "取消，缺口在片区内统筹",
                    "geometry": shapely.Point(xy[i]),
                }
            )
    sites["floor_area_m2"] = area
    sites["site_note"] = pd.array(notes, dtype="string")
    households = pd.to_numeric(estates["households"], errors="coerce").to_numpy(dtype=float)
    sites["estates_served"] = pd.array([",".join(ids[sorted(s)]) for s in served], dtype="string")
    sites["households_served"] = pd.array(
        [int(np.nansum(households[s])) for s in served], dtype="Int64"
    )
    sites["gap_covered_m2"] = [float(gap[s].sum()) for s in served]
    kept = sites.loc[keep].reset_index(drop=True)
    return kept, site_of_estate, _dropped_frame(dropped_rows, sites.crs)


def _dropped_frame(rows: list[dict[str, object]], crs: object) -> gpd.GeoDataFrame:
    columns = ["site_id", "floor_area_m2", "estates_served", "reason", "reason_zh"]
    if not rows:
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype=float if c == "floor_area_m2" else "string") for c in columns},
            geometry=gpd.GeoSeries([], crs=crs),
            crs=crs,
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    for c in ("site_id", "estates_served", "reason", "reason_zh"):
        frame[c] = frame[c].astype("string")
    return frame
