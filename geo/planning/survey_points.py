"""Survey rows with a point: their coordinates, their coordinate system, and the join by location and name.

Listing-site exports (fang.com, Lianjia, Anjuke) and tables whose points were picked on Baidu or
AMap maps give one point per estate, in BD-09 or GCJ-02 more often than in WGS-84. This module

* turns the point columns of the raw table (``经度/纬度``, ``lng/lat``, ``x/y``, ``坐标``; see
  :func:`geo.core.places.point_columns`) into WGS-84 points, in the declared system
  (``--survey-crs``; :func:`attach_points`);
* checks the declaration against the estates: when the rows' points sit systematically off their
  same-named polygons and another system fits, a warning names it (:func:`check_point_system`);
* matches each row to an estate (:func:`match_points`): the polygon that holds the point, or the
  nearest within ``survey.tolerance_m``, confirmed or disambiguated by the name
  (:func:`geo.core.names.name_score`); never across counties when both sides know theirs.

Every row ends ``matched_location_name``, ``matched_location``, ``matched_name``, ``ambiguous``
or ``unmatched``, with its distance and name score; aggregation of several rows on one polygon
(phases) is :mod:`geo.planning.survey`'s job.

Pure functions: no file access. May import: geo.core.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.core.crs import (
    POINT_SYSTEMS,
    WGS84,
    PointSystemCheck,
    detect_point_system,
    metric_crs_for,
    parse_point_crs,
    points_to_wgs84,
)
from geo.core.errors import InputError, QualityReport
from geo.core.messages import msg
from geo.core.names import name_score, normalise_name
from geo.core.places import parse_coordinate, parse_coordinate_pair, point_columns
from geo.core.reproject import to_crs

#: Final status of a survey row, best first (an estate joined by several rows shows the best).
MATCH_KINDS = (
    "matched_id",
    "matched_location_name",
    "matched_location",
    "matched_name",
    "ambiguous",
    "unmatched",
)
#: Two candidates closer than this to the point than each other are a tie (metres): e.g. both
#: polygons hold the point.
_TIE_M = 1.0


def attach_points(
    survey: pd.DataFrame,
    table: pd.DataFrame,
    *,
    declared: str | None,
    source: str,
    quality: QualityReport,
    column_mapping: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Return ``survey`` as a GeoDataFrame of WGS-84 points read from the raw ``table``.

    Parameters
    ----------
    survey
        Canonical survey rows (:func:`geo.io.read_survey`), in the order of ``table``.
    table
        The table as read (all cells text), whose point columns are found by
        :func:`geo.core.places.point_columns` (``column_mapping`` may name them: ``{"X坐标":
        "longitude"}``).
    declared
        ``--survey-crs``: ``wgs84``, ``gcj02``, ``bd09``, an EPSG code, or ``None`` (WGS-84
        assumed; :func:`check_point_system` then checks it).

    Returns
    -------
    GeoDataFrame
        ``survey`` plus ``survey_x``, ``survey_y`` (coordinates as written, float) and a point
        geometry in EPSG:4326 (``None`` for rows without a usable point). ``attrs["point_crs"]``
        holds the system used (``wgs84``, ``gcj02``, ``bd09`` or a CRS text), ``attrs["point_crs_
        declared"]`` whether the user declared it. Without point columns every geometry is None.

    Raises
    ------
    InputError
        If ``declared`` is not a known system, or the coordinates are projected (metres) and no
        CRS was declared.
    """
    if len(survey) != len(table):
        raise ValueError("survey and table must have the same rows")
    try:
        system = parse_point_crs(declared)
    except ValueError as exc:
        raise InputError(
            msg("unknown --survey-crs {declared!r}", declared=declared),
            source=source,
            fix="use wgs84, gcj02 (AMap, Tencent), bd09 (Baidu) or an EPSG code such as EPSG:4490",
        ) from exc
    columns = point_columns([str(c) for c in table.columns], column_mapping)
    x, y = _coordinates(table, columns)
    out = gpd.GeoDataFrame(survey.copy(), geometry=[None] * len(survey), crs=WGS84)
    out.attrs["point_crs_declared"] = bool((declared or "").strip())
    out.attrs["point_crs"] = system if isinstance(system, str) else system.to_string()
    if not columns:
        if declared:
            quality.add(
                "warning",
                source,
                "coordinates",
                "--survey-crs was given but the table has no coordinate columns",
                "name them 经度/纬度, lng/lat, x/y or 坐标, or map them with --column X=longitude",
            )
        return out
    x, y = _swap_if_needed(x, y, columns, source, quality)
    ok = np.isfinite(x) & np.isfinite(y)
    if not isinstance(system, CRS) or system.is_geographic:
        outside = ok & ((np.abs(x) > 180) | (np.abs(y) > 90))
        if outside.sum() > ok.sum() / 2:
            raise InputError(
                "the survey coordinates are not longitude/latitude degrees",
                source=source,
                fix="declare their CRS with --survey-crs (an EPSG code such as EPSG:4549)",
            )
        for row in survey["survey_row"][outside]:
            quality.add(
                "warning",
                source,
                msg("row {row}", row=row),
                "coordinates outside longitude/latitude ranges: point ignored",
                "correct the cell",
            )
        ok &= ~outside
    lon, lat = points_to_wgs84(np.where(ok, x, np.nan), np.where(ok, y, np.nan), system)
    ok &= np.isfinite(lon) & np.isfinite(lat)
    geometry = np.array([None] * len(out), dtype=object)
    geometry[ok] = shapely.points(lon[ok], lat[ok])
    out = out.set_geometry(gpd.GeoSeries(geometry, index=out.index, crs=WGS84))
    out["survey_x"], out["survey_y"] = x, y
    if isinstance(system, str) and system != "wgs84" and ok.any():
        quality.add(
            "repair",
            source,
            "coordinates",
            msg(
                "{ok_sum} points converted from {POINT_SYSTEMS_system} to WGS-84",
                ok_sum=int(ok.sum()),
                POINT_SYSTEMS_system=POINT_SYSTEMS[system],
            ),
        )
    return out


def _coordinates(table: pd.DataFrame, columns: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes as written (NaN where empty or unreadable)."""
    if "longitude" in columns:
        x = [parse_coordinate(v) for v in table[columns["longitude"]]]
        y = [parse_coordinate(v) for v in table[columns["latitude"]]]
    elif "coordinates" in columns:
        x, y = zip(*(parse_coordinate_pair(v) for v in table[columns["coordinates"]]), strict=True)
    else:  # no point columns: nothing to read
        return np.full(len(table), np.nan), np.full(len(table), np.nan)

    def as_float(values: Sequence[object]) -> np.ndarray:
        return np.fromiter(
            (np.nan if v is None else float(v) for v in values), dtype=float, count=len(values)
        )

    return as_float(x), as_float(y)


def _swap_if_needed(
    x: np.ndarray, y: np.ndarray, columns: dict[str, str], source: str, quality: QualityReport
) -> tuple[np.ndarray, np.ndarray]:
    """Swap longitude and latitude when the table has them the other way round (reported)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return x, y
    swapped = (np.abs(y[ok]) > 90) & (np.abs(x[ok]) <= 90)
    if swapped.mean() > 0.5:
        quality.add(
            "repair",
            source,
            "coordinates",
            msg(
                "{columns_values} hold latitude before longitude: swapped",
                columns_values=" and ".join(columns.values()),
            ),
            "write longitude first (经度, then 纬度)",
        )
        return y, x
    return x, y


def check_point_system(
    survey: gpd.GeoDataFrame,
    estates: gpd.GeoDataFrame,
    *,
    source: str,
    quality: QualityReport,
    tolerance_m: float = 50.0,
) -> PointSystemCheck | None:
    """Warn when the survey's points fit the estates in another system than the one used.

    Rows are paired with the estates of the same :func:`geo.core.names.normalise_name` key (a
    point fits within ``tolerance_m`` of its estate); with fewer than 20 such rows, with every
    estate within 1.5 km (a point fits inside one). The coordinates as written are read as
    WGS-84, GCJ-02 and BD-09 in turn (:func:`geo.core.crs.detect_point_system`). When another
    system fits clearly better than the one used (declared, or WGS-84 assumed), a warning names
    it, with the figures, and ``survey.attrs["point_crs_suspect"]`` is set: the join then
    withholds joins by location alone.

    Returns the check (or ``None`` when there is nothing to compare).
    """
    if "survey_x" not in survey or estates.empty:
        return None
    x, y = survey["survey_x"].to_numpy(float), survey["survey_y"].to_numpy(float)
    pairs, by = _named_pairs(survey, estates), msg("named like an estate")
    within = tolerance_m
    if len(np.unique(pairs[0][np.isfinite(x[pairs[0]])])) < _MIN_NAMED_PAIRS:
        # too few names to pair: any estate near the point, and the point must be inside it
        pairs, by, within = _near_pairs(x, y, estates), msg("with a point"), 0.0
    found = detect_point_system(x, y, estates, pairs, tolerance_m=within)
    used = survey.attrs.get("point_crs", "wgs84")
    if found is None or found.likely is None or found.likely == used:
        return found
    survey.attrs["point_crs_suspect"] = found.likely
    figures = {
        "likely": POINT_SYSTEMS[found.likely],
        "used": POINT_SYSTEMS.get(used, used),
        "how": msg("declared") if survey.attrs.get("point_crs_declared") else msg("assumed"),
        "tested": found.tested,
        "by": by,
        "fits": found.fits[found.likely],
        "likely_code": found.likely.upper(),
        "fits_used": found.fits.get(used, 0),
        "used_code": str(used).upper(),
    }
    quality.add(
        "warning",
        source,
        "coordinates",
        msg(
            "the points look like {likely}, not {used} as {how}: of {tested} rows {by}, {fits} "
            "lie within {within:.0f} m of such an estate read as {likely_code}, {fits_used} as "
            "{used_code} (median {median_m:,.0f} m off)",
            **figures,
            within=within,
            median_m=found.median_m.get(used, float("nan")),
        )
        if within
        else msg(
            "the points look like {likely}, not {used} as {how}: of {tested} rows {by}, {fits} "
            "lie inside such an estate read as {likely_code}, {fits_used} as {used_code}",
            **figures,
        ),
        msg(
            "rerun with --survey-crs {likely}; until then a point alone joins nothing",
            likely=found.likely,
        ),
    )
    return found


#: Fewer rows paired by name than this: the check pairs points with every estate near them.
_MIN_NAMED_PAIRS = 20
#: How far from a point estates are paired with it when names cannot pair them (metres): more
#: than the BD-09 offset (about 1 km in Hangzhou).
_NEAR_M = 1500.0


def _named_pairs(survey: pd.DataFrame, estates: gpd.GeoDataFrame) -> np.ndarray:
    """(row position, estate position) pairs of the same normalised name, shape (2, n)."""
    keys: dict[str, list[int]] = {}
    for position, name in enumerate(estates.get("name", [])):
        key = normalise_name(name)
        if key:
            keys.setdefault(key, []).append(position)
    points, polygons = [], []
    for position, name in enumerate(survey.get("name", [])):
        for polygon in keys.get(normalise_name(name), ()):
            points.append(position)
            polygons.append(polygon)
    return np.array([points, polygons], dtype=int).reshape(2, -1)


def _near_pairs(x: np.ndarray, y: np.ndarray, estates: gpd.GeoDataFrame) -> np.ndarray:
    """(row position, estate position) pairs within :data:`_NEAR_M` of the point as written."""
    ok = np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90)
    if not ok.any():
        return np.empty((2, 0), dtype=int)
    metric = metric_crs_for(estates)
    points = gpd.GeoSeries(gpd.points_from_xy(x[ok], y[ok]), crs=WGS84).to_crs(metric)
    tree = shapely.STRtree(to_crs(estates, metric).geometry.values)
    found = tree.query(points.values, predicate="dwithin", distance=_NEAR_M)
    return np.array([np.flatnonzero(ok)[found[0]], found[1]], dtype=int).reshape(2, -1)


@dataclass(slots=True)
class RowMatch:
    """Where one survey row went: status, estate (position in the estates), evidence.

    ``candidates``: the estates (positions) of an ambiguous or unmatched row, never edited
    (one row match per survey row: 220,000 at national scale, so made without a list each).
    """

    status: str
    estate: int | None = None
    distance_m: float | None = None
    name_score: float | None = None
    candidates: Sequence[int] = ()
    note: str = ""


def match_points(
    estates: gpd.GeoDataFrame,
    points: Sequence[object],
    names: Sequence[object],
    row_counties: Sequence[str | frozenset[str]],
    estate_counties: Sequence[str],
    *,
    tolerance_m: float,
    name_agree: float,
    name_search_m: float,
    trust_location: bool = True,
) -> list[RowMatch]:
    """Match survey points to estates by location, confirmed or disambiguated by name.

    Parameters
    ----------
    estates
        Estate polygons (``name`` column) in a projected CRS in metres.
    points
        One shapely point per row in the estates' CRS (``None`` for rows without a point).
    names, row_counties
        The rows' names and county names (``""`` when unknown), one per point; a row's county
        may be a set of names (a county split since the table was made: any of them).
    estate_counties
        The estates' county names (``""`` when unknown), one per estate. A row and an estate
        whose counties are both known and differ are never matched.
    tolerance_m, name_agree, name_search_m
        Policy ``[survey]``: how far outside a polygon a point may lie, the name score that counts
        as agreement, and how far a row may join by name alone.
    trust_location
        ``False`` when the points look like another coordinate system than the one used
        (:func:`check_point_system`): a location alone then joins nothing (rule 2 is withheld,
        and the rows say why); joins confirmed by name still happen.

    Returns
    -------
    list of RowMatch
        One per row. Rules, in order:

        1. estates within ``tolerance_m`` whose names agree: the best name, then the nearest,
           ``matched_location_name``; two equally good (a point in two same-named polygons):
           ``ambiguous``, not guessed;
        2. else the polygons that hold the point, when a name is missing on either side (many
           mapped outlines have none): one, ``matched_location``; several, ``ambiguous``. A point
           in a hole of a polygon is not inside it;
        3. else agreeing names within ``name_search_m``: ``matched_name`` (ties ``ambiguous``);
        4. else ``unmatched``, with the nearest estate and its name in the note (a point inside an
           estate of another name is not joined to it).
    """
    geoms = estates.geometry.values
    tree = shapely.STRtree(geoms)
    estate_names = list(estates["name"]) if "name" in estates else [None] * len(estates)
    radius = max(tolerance_m, name_search_m)
    usable = np.array([p is not None and not shapely.is_empty(p) for p in points], dtype=bool)
    query = np.array(points, dtype=object)[usable]
    rows_of = np.flatnonzero(usable)
    near: dict[int, list[int]] = {}
    if len(query):
        hits = tree.query(query, predicate="dwithin", distance=radius)
        for q, e in zip(hits[0], hits[1], strict=True):
            near.setdefault(int(rows_of[q]), []).append(int(e))
    scores: dict[tuple[str, str], float] = {}

    def score(row_name: object, estate: int) -> float | None:
        a, b = normalise_name(row_name), normalise_name(estate_names[estate])
        if not a or not b:
            return None
        if (a, b) not in scores:
            scores[(a, b)] = name_score(row_name, estate_names[estate])
        return scores[(a, b)]

    scopes = [
        frozenset({c} if c else ()) if isinstance(c, str) else frozenset(c) for c in row_counties
    ]
    out = []
    for row, point in enumerate(points):
        if not usable[row]:
            out.append(RowMatch("unmatched", note="no point"))
            continue
        candidates = [
            e
            for e in near.get(row, [])
            if not (scopes[row] and estate_counties[e]) or estate_counties[e] in scopes[row]
        ]
        distance = {e: float(shapely.distance(point, geoms[e])) for e in candidates}
        named = {e: score(names[row], e) for e in candidates}
        match = _decide(
            candidates, distance, named, estate_names, tolerance_m, name_agree, row, near
        )
        if match.status == "matched_location" and not trust_location:
            match = RowMatch(
                "unmatched",
                None,
                0.0,
                None,
                [match.estate],
                "location-only join withheld: the points look like another coordinate system",
            )
        out.append(match)
    return out


def _decide(
    candidates: list[int],
    distance: dict[int, float],
    named: dict[int, float | None],
    estate_names: list[object],
    tolerance_m: float,
    name_agree: float,
    row: int,
    near: dict[int, list[int]],
) -> RowMatch:
    """Apply the rules of :func:`match_points` to one row's candidates."""
    agree = [e for e in candidates if (named[e] or 0.0) >= name_agree]
    close = [e for e in agree if distance[e] <= tolerance_m]
    if close:
        return _best(close, distance, named, "matched_location_name")
    inside = [e for e in candidates if distance[e] == 0.0]
    unnamed = [e for e in inside if named[e] is None]
    if unnamed and len(unnamed) == len(inside):
        if len(unnamed) == 1:
            return RowMatch("matched_location", unnamed[0], 0.0, None)
        return RowMatch("ambiguous", None, 0.0, None, unnamed, "the point lies in several estates")
    if agree:
        return _best(agree, distance, named, "matched_name")
    if not candidates:
        county = " in its county" if near.get(row) else ""
        return RowMatch("unmatched", note=f"no estate{county} within the search radius")
    nearest = min(candidates, key=lambda e: distance[e])
    where = "inside" if distance[nearest] == 0 else f"{distance[nearest]:.0f} m from"
    label = estate_names[nearest]
    label = "" if label is None or pd.isna(label) else str(label)
    return RowMatch(
        "unmatched",
        None,
        distance[nearest],
        named[nearest],
        [nearest],
        f"{where} estate {label!r} of another name" if label else f"{where} an estate",
    )


def _best(
    agree: list[int], distance: dict[int, float], named: dict[int, float | None], status: str
) -> RowMatch:
    """The best-named, then nearest, agreeing estate; a tie is ambiguous."""
    top = max(named[e] or 0.0 for e in agree)
    best = [e for e in agree if (named[e] or 0.0) == top]
    nearest = min(distance[e] for e in best)
    tied = sorted((e for e in best if distance[e] - nearest <= _TIE_M), key=lambda e: distance[e])
    if len(tied) > 1:
        return RowMatch(
            "ambiguous",
            None,
            nearest,
            top,
            tied,
            f"{len(tied)} estates of the same name at {nearest:.0f} m: not guessed",
        )
    return RowMatch(status, tied[0], nearest, top)
