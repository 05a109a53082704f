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
