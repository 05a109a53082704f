"""The elderly-care assessment of a planning run: floor area per estate and district, sites.

:func:`assess_elderly_care` ties the parts together: walking distances (:mod:`.walking`), supply
against demand by 2SFCA (:mod:`.accessibility`; standard: Anhui 2022 rules' 20 m² of community
elderly-service space per 100 households in existing residential areas), and proposed shared sites
(:mod:`.sites`, solved by :mod:`.siting`). Also the map layers :func:`coverage_rings` and
:func:`gap_estates`.

May import: numpy, pandas, shapely, pyproj, geopandas, ``geo.core`` (errors, policy) and the
sibling modules of :mod:`geo.facilities.elderly`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.core.errors import InputError, QualityReport
from geo.core.messages import msg
from geo.core.policy import Policy
from geo.facilities.elderly.accessibility import (
    CIRCLES,
    circle_m,
    facility_circles,
    two_step_fca,
    type_code,
)
from geo.facilities.elderly.sites import apply_minimum_size, candidate_sites, propose_sites
from geo.facilities.elderly.siting import SitingSolution
from geo.facilities.elderly.walking import (
    Pairs,
    inside_is_zero,
    points_xy,
    study_network,
    walking_distances,
)


@dataclass
class ElderlyCare:
    """The elderly-care assessment of a planning run.

    ``estates``: indexed like the input estates, columns ``elderly_required_m2``,
    ``elderly_accessible_m2``, ``elderly_gap_m2`` (m², ``<NA>`` where households are unknown),
    ``elderly_covered_5min/10min/15min`` (bool), ``elderly_nearest_<type>`` (name) and
    ``elderly_nearest_<type>_m`` (walking m, ``<NA>`` beyond ``nearest_search_m``),
    ``elderly_site_id`` (the proposed site serving the estate's gap).
    ``districts``: indexed like the districts, sums over member estates plus the pooled gap.
    ``sites``: proposed shared sites (points): ``site_id, estate_id, district_id, source,
    site_name, floor_area_m2, households_served, estates_served, gap_covered_m2``
    (``source``: ``estate`` or ``candidate layer``; for a candidate-layer site ``district_id`` is
    the district most of its served estates belong to; ``site_note``: sites below the minimum
    size merged into it, or enlarged).
    ``dropped_sites``: sites below the minimum size no site could absorb (``reason``,
    ``reason_zh``).
    ``facilities``: the input facilities with ``life_circle``, ``catchment_m``, ``counted``,
    ``catchment_households`` and ``m2_per_household`` (the 2SFCA ratio).
    """

    estates: pd.DataFrame
    districts: pd.DataFrame
    sites: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    siting: SitingSolution | None
    distance_method: str
    summary: dict[str, object]
    dropped_sites: gpd.GeoDataFrame | None = None


def assess_elderly_care(
    estates: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    policy: Policy,
    *,
    districts: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    quality: QualityReport | None = None,
) -> ElderlyCare:
    """Assess elderly-care floor area per estate and district and propose shared sites.

    Parameters
    ----------
    estates
        Canonical estates (``estate_id``, ``households``; ``status`` and ``district_id`` when
        planned) in a projected CRS (metres). Each estate is placed at a point inside it
        (:func:`shapely.point_on_surface`); a facility or candidate inside its polygon is at 0 m.
    facilities
        Canonical facilities (:func:`geo.io.read_facilities`: ``facility_id, name,
        facility_type, floor_area_m2``), points or polygons, any CRS (projected to the estates').
    policy
        ``policy.elderly``: m² per 100 households (Anhui 2022), life-circle distances and the types
        of each (GB 50180-2018), supply types, detour factor, siting settings.
    districts
        Districts (``district_id``) to sum over; estates carry ``district_id``.
    roads
        Road and path lines (OSM ``fclass`` schema recognised): distances walk on them; without
        them, straight line x ``elderly.detour_factor``.
    candidates
        Extra candidate sites (points or polygons; any CRS) besides the member estates of
        districts.
    quality
        Where to record facilities of unknown types and other data notes.

    Returns
    -------
    ElderlyCare

    Raises
    ------
    InputError
        If the estates are not in a projected CRS or a facility layer has no ``facility_type``.
    """
    if estates.crs is None or CRS.from_user_input(estates.crs).is_geographic:
        raise InputError(
            "estates must be in a projected CRS (metres) for walking distances",
            fix="run through geo.pipeline.run_plan, or to_crs(metric_crs_for(estates))",
        )
    if "facility_type" not in facilities:
        raise InputError(
            "facilities have no facility_type column", fix="read them with geo.io.read_facilities"
        )
    quality = quality if quality is not None else QualityReport()
    el = policy.elderly
    crs = estates.crs
    fac = facilities.to_crs(crs).reset_index(drop=True) if len(facilities) else facilities
    circles = facility_circles(policy)
    kinds = fac["facility_type"].astype(str).to_numpy() if len(fac) else np.array([], dtype=str)
    unknown = sorted(set(kinds) - set(circles))
    for kind in unknown:
        quality.add(
            "warning",
            msg("facilities"),
            msg("type {kind}", kind=kind),
            msg(
                "{count} facilities of a type no life circle lists: left out",
                count=int((kinds == kind).sum()),
            ),
            "add the type to elderly.types_5min/10min/15min in the policy",
        )
    radius = np.array([circle_m(policy, circles[k]) if k in circles else 0.0 for k in kinds])
    counted = np.isin(kinds, list(el.supply_types)) & (radius > 0)
    area = (
        pd.to_numeric(fac["floor_area_m2"], errors="coerce").fillna(0).to_numpy(dtype=float)
        if len(fac)
        else np.zeros(0)
    )
    supply = np.where(counted, area, 0.0)

    estate_geoms = estates.geometry.to_numpy()
    estate_xy = shapely.get_coordinates(shapely.point_on_surface(estate_geoms))
    fac_xy = points_xy(fac)
    households = pd.to_numeric(estates["households"], errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(households)

    extra_points = [fac_xy]
    cand = candidate_sites(estates, candidates, crs)
    extra_points.append(cand["xy"])
    reach = max(el.nearest_search_m, el.circle_15min_m)
    network, method = study_network(roads, estate_xy, extra_points, reach, el, quality, crs)

    to_estates = walking_distances(
        fac_xy, estate_xy, reach, network=network, detour_factor=el.detour_factor
    )
    to_estates = inside_is_zero(to_estates, fac_xy, estate_geoms)
    in_circle = to_estates.within(radius[to_estates.origin])
    catchment = Pairs(
        in_circle.origin[counted[in_circle.origin]],
        in_circle.target[counted[in_circle.origin]],
        in_circle.metres[counted[in_circle.origin]],
    )
    ratio, accessible = two_step_fca(supply, np.where(known, households, 0.0), catchment)
    required = households * el.provincial("m2_per_100_households") / 100.0
    gap = np.maximum(required - accessible, 0.0)

    out = pd.DataFrame(index=estates.index)
    out["elderly_required_m2"] = pd.array(np.where(known, required, np.nan), dtype="Float64")
    out["elderly_accessible_m2"] = pd.array(np.where(known, accessible, np.nan), dtype="Float64")
    out["elderly_gap_m2"] = pd.array(np.where(known, gap, np.nan), dtype="Float64")
    for circle in CIRCLES:
        limit = circle_m(policy, circle)
        level = CIRCLES.index(circle)
        serving = np.array([k in circles and CIRCLES.index(circles[k]) <= level for k in kinds])
        hit = to_estates.within(limit)
        mask = serving[hit.origin] if len(hit.origin) else np.array([], dtype=bool)
        covered = np.zeros(len(estates), dtype=bool)
        covered[hit.target[mask]] = True
        out[f"elderly_covered_{circle}"] = covered
    names = fac["name"].astype(str).to_numpy() if len(fac) else np.array([], dtype=str)
    for kind in [*circles, *[k for k in dict.fromkeys(kinds) if k not in circles]]:
        code = type_code(kind)
        nearest_m = np.full(len(estates), np.nan)
        nearest_name = np.full(len(estates), None, dtype=object)
        of_kind = kinds[to_estates.origin] == kind if len(to_estates.origin) else np.array([])
        if of_kind.any():
            frame = pd.DataFrame(
                {
                    "t": to_estates.target[of_kind],
                    "m": to_estates.metres[of_kind],
                    "o": to_estates.origin[of_kind],
                }
            ).sort_values(["t", "m", "o"])
            frame = frame.drop_duplicates("t")
            nearest_m[frame["t"]] = frame["m"]
            nearest_name[frame["t"]] = names[frame["o"]]
        out[f"elderly_nearest_{code}"] = pd.array(nearest_name, dtype="string")
        out[f"elderly_nearest_{code}_m"] = pd.array(nearest_m, dtype="Float64")

    facilities_out = fac.copy()
    facilities_out["life_circle"] = pd.array([circles.get(k) for k in kinds], dtype="string")
    facilities_out["catchment_m"] = radius
    facilities_out["counted"] = counted
    facilities_out["catchment_households"] = np.bincount(
        catchment.origin,
        weights=np.where(known, households, 0.0)[catchment.target],
        minlength=len(fac),
    )
    facilities_out["m2_per_household"] = ratio

    sites, siting, site_of_estate = propose_sites(
        estates, out, households, cand, estate_xy, network, policy
    )
    gap_now = out["elderly_gap_m2"].fillna(0).to_numpy(dtype=float)
    sites, site_of_estate, dropped = apply_minimum_size(
        sites, site_of_estate, estate_xy, estates, gap_now, network, policy
    )
    out["elderly_site_id"] = pd.array(site_of_estate, dtype="string")
    district_frame = _district_columns(estates, out, households, districts, sites)
    summary = _summary(out, households, sites, siting, method, policy)
    summary["sites_merged"] = (
        int(sites["site_note"].str.contains("merged").sum()) if len(sites) else 0
    )
    summary["sites_dropped_below_minimum"] = len(dropped)
    summary["smallest_site_m2"] = float(sites["floor_area_m2"].min()) if len(sites) else 0.0
    if (~known).any():
        quality.add(
            "warning",
            msg("estates"),
            msg("{count} estates", count=int((~known).sum())),
            "households unknown: elderly-care floor area required cannot be computed",
            "survey 户数",
        )
    return ElderlyCare(out, district_frame, sites, facilities_out, siting, method, summary, dropped)


def coverage_rings(care: ElderlyCare, policy: Policy) -> gpd.GeoDataFrame:
    """Catchment rings of the facilities for the map: one polygon per facility of a life circle.

    The ring's radius is the life-circle walking distance divided by ``elderly.detour_factor``
    (the straight-line reach of a typical walk); with a walking network the real catchment is
    the estates the facility reaches (``elderly_covered_*`` columns), which the ring only
    approximates. Columns: ``name, facility_type, life_circle, walk_m, radius_m, counted,
    m2_per_household`` and the ring (CRS of ``care.facilities``, metres).
    """
    fac = care.facilities
    keep = fac["life_circle"].notna().to_numpy() & (fac["catchment_m"].to_numpy() > 0)
    fac = fac.loc[keep]
    radius = fac["catchment_m"].to_numpy(dtype=float) / policy.elderly.detour_factor
    centres = shapely.point_on_surface(fac.geometry.to_numpy())
    return gpd.GeoDataFrame(
        {
            "name": fac["name"].to_numpy(),
            "facility_type": fac["facility_type"].to_numpy(),
            "life_circle": fac["life_circle"].to_numpy(),
            "walk_m": fac["catchment_m"].to_numpy(dtype=float),
            "radius_m": np.round(radius, 1),
            "counted": fac["counted"].to_numpy(),
            "m2_per_household": fac["m2_per_household"].to_numpy(),
        },
        geometry=shapely.buffer(centres, radius, quad_segs=16),
        crs=fac.crs,
    )


def gap_estates(estates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Estates short of elderly-care floor area, for the map: ``elderly_gap_m2 > 0``.

    Columns ``estate_id, name, households, elderly_required_m2, elderly_accessible_m2,
    elderly_gap_m2, elderly_site_id`` and the footprint; largest gap first.
    """
    gap = pd.to_numeric(estates["elderly_gap_m2"], errors="coerce").fillna(0)
    columns = [
        c
        for c in (
            "estate_id",
            "name",
            "households",
            "elderly_required_m2",
            "elderly_accessible_m2",
            "elderly_gap_m2",
            "elderly_site_id",
        )
        if c in estates
    ]
    short = estates.loc[gap > 0, [*columns, estates.geometry.name]]
    return short.sort_values("elderly_gap_m2", ascending=False).reset_index(drop=True)


def _district_columns(
    estates: gpd.GeoDataFrame,
    out: pd.DataFrame,
    households: np.ndarray,
    districts: gpd.GeoDataFrame | None,
    sites: gpd.GeoDataFrame,
) -> pd.DataFrame:
    columns = [
        "elderly_required_m2",
        "elderly_accessible_m2",
        "elderly_gap_m2",
        "elderly_pooled_gap_m2",
        "elderly_households_without_5min",
        "elderly_sites",
        "elderly_site_m2",
    ]
    if districts is None or len(districts) == 0 or "district_id" not in estates:
        index = districts.index if districts is not None else pd.RangeIndex(0)
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns}, index=index)
    frame = out[["elderly_required_m2", "elderly_accessible_m2", "elderly_gap_m2"]].astype(float)
    frame["district_id"] = estates["district_id"].astype("string").to_numpy()
    frame["without_5min"] = np.where(
        ~out["elderly_covered_5min"].to_numpy() & np.isfinite(households), households, 0.0
    )
    sums = frame.groupby("district_id", dropna=True).sum(min_count=1)
    result = pd.DataFrame(index=districts.index)
    key = districts["district_id"].astype(str)
    for column in ("elderly_required_m2", "elderly_accessible_m2", "elderly_gap_m2"):
        result[column] = key.map(sums[column]).astype("Float64").to_numpy()
    # pooled (Anhui 2022: small estates may pool within a 5-minute circle): surplus of one member
    # offsets the shortfall of another
    pooled = (result["elderly_required_m2"] - result["elderly_accessible_m2"]).clip(lower=0)
    result["elderly_pooled_gap_m2"] = pooled
    result["elderly_households_without_5min"] = (
        key.map(sums["without_5min"]).fillna(0).astype("Int64").to_numpy()
    )
    by_district = sites.groupby("district_id")["floor_area_m2"] if len(sites) else None
    if by_district is not None:
        result["elderly_sites"] = key.map(by_district.size()).fillna(0).astype("Int64").to_numpy()
        result["elderly_site_m2"] = key.map(by_district.sum()).fillna(0.0).to_numpy()
    else:
        result["elderly_sites"] = pd.array([0] * len(result), dtype="Int64")
        result["elderly_site_m2"] = 0.0
    return result


def _summary(
    out: pd.DataFrame,
    households: np.ndarray,
    sites: gpd.GeoDataFrame,
    siting: SitingSolution | None,
    method: str,
    policy: Policy,
) -> dict[str, object]:
    known = np.isfinite(households)
    without = ~out["elderly_covered_5min"].to_numpy() & known
    return {
        "distance": method,
        "households": int(households[known].sum()),
        "households_without_5min": int(households[without].sum()),
        "estates_without_5min": int(without.sum()),
        "required_m2": float(out["elderly_required_m2"].sum()),
        "accessible_m2": float(out["elderly_accessible_m2"].sum()),
        "gap_m2": float(out["elderly_gap_m2"].sum()),
        "sites_proposed": len(sites),
        "site_floor_area_m2": float(sites["floor_area_m2"].sum()) if len(sites) else 0.0,
        "gap_covered_m2": float(siting.covered_weight) if siting else 0.0,
        "gap_coverable_m2": float(siting.coverable_weight) if siting else 0.0,
        "siting_problem": siting.problem if siting else "",
        "siting_method": siting.method if siting else "",
        "siting_gap": float(siting.gap) if siting else 0.0,
        "siting_seconds": float(siting.seconds) if siting else 0.0,
        "m2_per_100_households": policy.elderly.provincial("m2_per_100_households"),
        "province": policy.elderly.province,
        "min_site_m2": policy.elderly.provincial("min_site_m2"),
    }
