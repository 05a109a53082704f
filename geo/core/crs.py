"""Coordinate reference systems: the metric CRS of a run, and GCJ-02 / BD-09 conversion.

Distances and areas are computed in one projected CRS per run, chosen on purpose from the data's
extent: the CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534-4554, central meridians 75°E-135°E,
the national standard for urban surveying, GB/T 18314 / CJJ/T 8) for data in China, else the
local UTM zone. Never degrees.

GCJ-02 (AMap, Tencent) and BD-09 (Baidu) are not EPSG codes; the user declares them and they are
converted once on load with ``prcoords`` (CC0, pure Python, no native build): it is the one
maintained Python package that offers the *iterative* inverse ``gcj_wgs_bored`` (about 1e-7° rather
than the 1-2 m of the one-step inverse most snippets copy), and its BD-09 functions come with it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import prcoords
import shapely
from pyproj import CRS

from geo.core.errors import InputError
from geo.core.messages import msg
from geo.core.reproject import to_crs

WGS84 = CRS.from_epsg(4326)
#: Declarable non-EPSG source systems.
CHINESE_OBFUSCATED = ("gcj02", "bd09")

_GK_FIRST_EPSG = 4534  # CGCS2000 / 3-degree Gauss-Kruger CM 75E
_GK_FIRST_CM = 75
_GK_LAST_CM = 135
# Rough extent of China (prcoords.sanity_in_china_p uses the same box).
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)


def gk_zone_epsg(longitude: float) -> int:
    """Return the EPSG code of the CGCS2000 3-degree Gauss-Krüger zone (no zone prefix in easting).

    The zone whose central meridian (a multiple of 3°, from 75°E to 135°E) is nearest ``longitude``
    (degrees east): 120.2°E gives EPSG:4549 (CM 120E).

    Raises
    ------
    ValueError
        If the longitude is outside 73.5°E-136.5°E (no CGCS2000 3-degree zone covers it).
    """
    cm = 3 * round(longitude / 3)
    if not _GK_FIRST_CM <= cm <= _GK_LAST_CM:
        raise ValueError(f"longitude {longitude:.3f} is outside the CGCS2000 3-degree zones")
    return _GK_FIRST_EPSG + (cm - _GK_FIRST_CM) // 3


#: A projected CRS is kept for distances only when it is a Transverse Mercator (Gauss-Krüger, UTM)
#: whose central meridian lies within this many degrees of the data: the scale error there stays
#: under about 0.15 % (k = 1 + (dλ cos φ)² / 2). Web Mercator (EPSG:3857) is never kept: its scale
#: is 1 / cos φ (+15 % in distances, +33 % in areas at 30°N).
LOCAL_TM_MAX_DEGREES = 3.5
#: CGCS2000 3-degree Gauss-Krüger zones, CM 75E-135E: without and with the zone number in the easting.
_GK_ZONES = (*range(4534, 4555), *range(4513, 4534))


def central_meridian(crs: CRS) -> float | None:
    """The central meridian (degrees) of a Transverse Mercator CRS (Gauss-Krüger, UTM), else None."""
    operation = crs.coordinate_operation if crs.is_projected else None
    if operation is None or "transverse mercator" not in operation.method_name.lower():
        return None
    for param in operation.params:
        if param.name.lower() in ("longitude of natural origin", "longitude of origin"):
            return float(param.value)
    return None


def is_local_metric(crs: CRS, longitude: float) -> bool:
    """True if ``crs`` measures true metres near ``longitude`` (degrees east).

    That is a Transverse Mercator in metres whose central meridian is within
    :data:`LOCAL_TM_MAX_DEGREES` of it (see :func:`metric_crs_for`).
    """
    if not crs.is_projected or not crs.axis_info:
        return False
    if crs.axis_info[0].unit_name not in ("metre", "meter"):
        return False
    meridian = central_meridian(crs)
    if meridian is None:
        return False
    return abs((longitude - meridian + 180) % 360 - 180) <= LOCAL_TM_MAX_DEGREES


def _centre_lonlat(gdf: gpd.GeoDataFrame, bounds: np.ndarray | None = None) -> tuple[float, float]:
    """The centre of ``gdf``'s extent in WGS-84 degrees (``bounds``: its ``total_bounds``, if known)."""
    crs = CRS.from_user_input(gdf.crs)
    if crs.is_geographic:
        minx, miny, maxx, maxy = gdf.to_crs(WGS84).total_bounds
    else:  # four corners are enough to find the centre, and cost nothing on large layers
        bounds = gdf.total_bounds if bounds is None else bounds
        outline = gpd.GeoSeries([shapely.box(*bounds)], crs=crs).to_crs(WGS84)
        minx, miny, maxx, maxy = outline.total_bounds
    return (minx + maxx) / 2, (miny + maxy) / 2


def metric_crs_for(gdf: gpd.GeoDataFrame) -> CRS:
    """Choose the projected metric CRS for computing on ``gdf`` (any CRS, not empty).

    Inside China: the CGCS2000 3-degree Gauss-Krüger zone of the centre of the data's extent;
    elsewhere the UTM zone that geopandas estimates. Data already in a local Transverse Mercator
    in metres (a Gauss-Krüger or UTM zone covering the data, :func:`is_local_metric`) keep it; any
    other projected CRS (Web Mercator EPSG:3857, Albers, a far zone) is replaced, so distances and
    areas are true metres.

    Raises
    ------
    ValueError
        If ``gdf`` has no CRS or no geometry.
    InputError
        If the data lie where no zone fits (near the poles: swapped latitude and longitude).
    """
    if gdf.crs is None:
        raise ValueError("the layer has no CRS")
    if gdf.empty:
        raise ValueError("the layer is empty")
    crs = CRS.from_user_input(gdf.crs)
    lon, lat = _centre_lonlat(gdf)
    if is_local_metric(crs, lon):
        return crs
    if _CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1]:
        return CRS.from_epsg(gk_zone_epsg(lon))
    if not (np.isfinite(lat) and abs(lat) <= 84):
        raise InputError(
            msg("the data lie at latitude {lat:.1f}, where no metric zone fits", lat=lat),
            fix="check that latitude and longitude are not swapped, and the CRS (--source-crs)",
        )
    try:
        return gdf.to_crs(WGS84).estimate_utm_crs()
    except Exception as exc:  # pyproj: "Unable to determine UTM CRS"
        raise InputError(
            msg("no metric zone fits data centred at {lon:.3f}E {lat:.3f}N", lon=lon, lat=lat),
            fix="check the CRS (--source-crs) and that latitude and longitude are not swapped",
        ) from exc


def likely_gk_zone(
    gdf: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, *, min_km: float = 50.0
) -> tuple[int, float] | None:
    """Find the Gauss-Krüger zone a layer labelled with the wrong zone was really drawn in.

    When ``gdf`` is in a CGCS2000 3-degree zone (EPSG:4513-4554) and its centre lies more than
    ``min_km`` from the extent of ``reference`` (roads, barriers, boundaries: any CRS), its
    coordinates are read in every other zone; a zone that puts the centre within 5 km of the
    reference's extent is returned as ``(epsg, km_off_as_labelled)``. None when the layers agree
    or no zone explains the gap.
    """
    if gdf.crs is None or reference.crs is None or gdf.empty or reference.empty:
        return None
    epsg = CRS.from_user_input(gdf.crs).to_epsg()
    if epsg not in _GK_ZONES:
        return None
    ref_bounds = reference.total_bounds  # once: both uses below need it
    ref_lon, _ = _centre_lonlat(reference, ref_bounds)
    try:
        near = CRS.from_epsg(gk_zone_epsg(ref_lon))
    except ValueError:
        return None
    area = shapely.box(*_bounds_in(reference, near, ref_bounds))
    minx, miny, maxx, maxy = gdf.total_bounds
    centre = gpd.GeoSeries([shapely.Point((minx + maxx) / 2, (miny + maxy) / 2)])

    def km_off(code: int) -> float:
        point = centre.set_crs(CRS.from_epsg(code)).to_crs(near).iloc[0]
        return float(area.distance(point)) / 1000 if point.is_valid else float("inf")

    as_given = km_off(epsg)
    if not as_given > min_km:
        return None
    best = min((km_off(code), code) for code in _GK_ZONES if code != epsg)
    return (best[1], as_given) if best[0] <= 5.0 else None


def _bounds_in(
    gdf: gpd.GeoDataFrame, crs: CRS, bounds: np.ndarray | None = None
) -> tuple[float, float, float, float]:
    """Return the extent of ``gdf`` in ``crs`` (its own when already there).

    Otherwise its extent's outline, densified to 21 points a side, is reprojected: not every
    vertex of a large layer. ``bounds``: ``gdf.total_bounds``, if known.
    """
    bounds = gdf.total_bounds if bounds is None else bounds
    if CRS.from_user_input(gdf.crs) == crs:
        return tuple(bounds)
    minx, miny, maxx, maxy = bounds
    step = max(maxx - minx, maxy - miny) / 20 or 1.0
    box = shapely.segmentize(shapely.box(minx, miny, maxx, maxy), step)
    return tuple(gpd.GeoSeries([box], crs=gdf.crs).to_crs(crs).total_bounds)


def _convert(gdf: gpd.GeoDataFrame, point_fn) -> gpd.GeoDataFrame:
    def transform(coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # prcoords warns for points outside China
            for i, (lon, lat) in enumerate(coords):
                result = point_fn((lat, lon))
                out[i] = (result.lon, result.lat)
        return out

    geometry = shapely.transform(gdf.geometry.values, transform)
    return gdf.set_geometry(gpd.GeoSeries(geometry, index=gdf.index, crs=WGS84))


def gcj02_to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert a layer in GCJ-02 (AMap, Tencent; lon/lat degrees) to WGS-84 (EPSG:4326).

    Uses the iterative inverse of prcoords (``gcj_wgs_bored``; about 1e-7° residual). Points
    outside China are returned unchanged, as GCJ-02 leaves them. Returns a new GeoDataFrame.
    """
    return _convert(gdf, prcoords.gcj_wgs_bored)


def bd09_to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert a layer in BD-09 (Baidu; lon/lat degrees) to WGS-84 (EPSG:4326); see gcj02_to_wgs84."""
    return _convert(gdf, prcoords.bd_wgs_bored)


def wgs84_to_gcj02(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Shift a layer to GCJ-02 for display on GCJ-02 tiles (AMap); never for computing."""
    return _convert(gdf.to_crs(WGS84), prcoords.wgs_gcj)


#: Main road classes (OSM ``fclass``): they never run inside an estate, so they are the reference of
#: the offset check; the tender drawings draw them as main streets.
MAIN_ROAD_CLASSES = (
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
)


@dataclass(frozen=True)
class OffsetCheck:
    """What :func:`detect_gcj02_offset` found.

    ``hypothesis`` is ``"estates_gcj02"`` (the estates are GCJ-02 labelled WGS-84) or
    ``"reference_gcj02"`` (the reference layer is); ``offset_m`` the mean shift between the two
    systems over the estates (metres); ``crossing_as_is`` and ``crossing_shifted`` the reference
    line length running through estate interiors per metre of estate perimeter, as given and after
    the shift (0 = perfectly aligned).
    """

    hypothesis: str
    offset_m: float
    crossing_as_is: float
    crossing_shifted: float


def detect_gcj02_offset(
    estates: gpd.GeoDataFrame,
    reference: gpd.GeoDataFrame,
    *,
    inset_m: float = 5.0,
    max_estates: int = 400,
    min_crossing: float = 0.05,
    max_ratio: float = 0.5,
) -> OffsetCheck | None:
    """Tell whether estates and a reference layer disagree by the GCJ-02 offset (~300-600 m).

    Pure function. Estate footprints should lie between roads, rivers and boundaries, not across
    them. The length of the reference's lines (polygon outlines for polygons; main roads only when
    the layer has an OSM ``fclass``) running through the estates' interiors (shrunk by
    ``inset_m``) is measured per metre of estate perimeter: as given, with the estates moved from
    GCJ-02 to WGS-84, and with them moved from WGS-84 to GCJ-02. When one shift at least halves a
    crossing that is not small (``min_crossing``), the layers are in different systems.

    Parameters
    ----------
    estates
        Estate polygons (any CRS; declared WGS-84 or CGCS2000 when the check matters).
    reference
        Roads, water or administrative boundaries in their own (declared) CRS.
    inset_m
        Inward buffer of estates (metres), so that lines along an edge do not count.
    max_estates
        Estates sampled (evenly through the table) to keep the check fast.
    min_crossing, max_ratio
        Evidence needed: crossing as given at least ``min_crossing`` m per m of perimeter, and the
        shifted crossing at most ``max_ratio`` times it.

    Returns
    -------
    OffsetCheck or None
        ``None`` when the layers agree, or when there is too little overlap to tell.

    Notes
    -----
    GCJ-02 is the obfuscated system of AMap and Tencent maps, required by law for published maps in
    China; it differs from WGS-84 by 300-600 m in most of China (see ``../shared/data/README.md``:
    the West Lake shore is about 300 m off in the GCJ-02 boundary layer).
    """
    if estates.crs is None or reference.crs is None or estates.empty or reference.empty:
        return None
    geoms = estates.geometry.values
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not usable.any():
        return None
    step = max(1, int(usable.sum()) // max_estates)
    # sample first, then convert: only the sampled estates are projected to WGS-84
    sampled = estates.iloc[np.flatnonzero(usable)[::step]]  # no copy of the whole layer
    sample = sampled.to_crs(WGS84)
    # only reference lines near a sampled estate can cross it, as given or shifted by the
    # offsets tested (under 1 km): the others are left out before the (costly) outlines and
    # conversion (a feature's outline has the feature's bounding box, so the same ones are kept)
    near = CRS.from_user_input(reference.crs)
    margin = _NEAR_DEGREES if near.is_geographic else _NEAR_METRES
    around = shapely.buffer(sampled.to_crs(near).geometry.values, margin, quad_segs=2)
    lines = _reference_lines(reference, around)
    if lines is None:
        return None
    lines = gpd.GeoSeries(lines, crs=near).to_crs(WGS84).values
    minx, miny, maxx, maxy = sample.total_bounds
    lines = shapely.clip_by_rect(lines, minx - 0.01, miny - 0.01, maxx + 0.01, maxy + 0.01)
    lines = lines[~shapely.is_empty(lines)]
    if not len(lines):
        return None
    metric = metric_crs_for(sample)
    reference_lines = gpd.GeoSeries(lines, crs=WGS84).to_crs(metric).values
    tree = shapely.STRtree(reference_lines)

    def crossing(layer: gpd.GeoDataFrame) -> tuple[float, gpd.GeoSeries]:
        polygons = layer.to_crs(metric).geometry
        perimeter = float(polygons.length.sum())
        inner = shapely.buffer(polygons.values, -inset_m)
        inner = inner[~shapely.is_empty(inner)]
        if perimeter <= 0 or not len(inner):
            return 0.0, polygons
        pairs = tree.query(inner, predicate="intersects")
        if not pairs.shape[1]:
            return 0.0, polygons
        pieces = shapely.intersection(reference_lines[pairs[1]], inner[pairs[0]])
        return float(shapely.length(pieces).sum()) / perimeter, polygons

    as_is, original = crossing(sample)
    if as_is < min_crossing:
        return None
    best: OffsetCheck | None = None
    for hypothesis, shift in (
        ("estates_gcj02", gcj02_to_wgs84),
        ("reference_gcj02", wgs84_to_gcj02),
    ):
        shifted_layer = shift(sample)
        shifted, moved = crossing(shifted_layer)
        if shifted > max_ratio * as_is:
            continue
        offset = float(np.mean(shapely.distance(original.centroid.values, moved.centroid.values)))
        if best is None or shifted < best.crossing_shifted:
            best = OffsetCheck(hypothesis, offset, as_is, shifted)
    return best


#: How far from a sampled estate reference lines are kept: more than any GCJ-02 offset (~700 m),
#: so every line that can cross a sampled estate as given or shifted is kept (1 km, not 3 km:
#: the same verdict and figures on Hangzhou, 0.77 -> 0.32 s CPU on 50,000 tiled estates).
_NEAR_METRES = 1000.0
_NEAR_DEGREES = 0.015  # about 1.4 km of longitude at 30 degrees N, 1.05 km at 45 degrees N


def _reference_lines(reference: gpd.GeoDataFrame, around: np.ndarray) -> np.ndarray | None:
    """The linework of a reference layer near the areas ``around`` (in the layer's CRS).

    Lines as they are, polygon outlines; main roads only when the layer has an OSM ``fclass``.
    """
    geoms = reference.geometry.values
    if "fclass" in reference:  # the geometries only: no copy of the layer's other columns
        main = reference["fclass"].isin(MAIN_ROAD_CLASSES).to_numpy(dtype=bool)
        if main.sum() >= 3:
            geoms = geoms[main]
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms):
        # the tree over the few areas, queried with every feature: the same pairs (extents
        # that meet) as a tree over the whole layer, without building that tree
        geoms = geoms[np.unique(shapely.STRtree(around).query(geoms)[0])]
    if not len(geoms):
        return None
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6])
    lines = np.where(polygonal, shapely.boundary(geoms), geoms)
    lines = lines[np.isin(shapely.get_type_id(lines), [1, 2, 5])]
    return lines if len(lines) else None


# --------------------------------------------------------------------------- survey points
# Survey tables with point coordinates (listing-site exports, points picked on Baidu or AMap
# maps): the declared system (--survey-crs) and a check of it against the estates.

#: What each declarable point system is called in messages.
POINT_SYSTEMS = {
    "wgs84": "WGS-84 (GPS, OpenStreetMap)",
    "gcj02": "GCJ-02 (AMap, Tencent)",
    "bd09": "BD-09 (Baidu)",
}


def parse_point_crs(declared: str | None) -> str | CRS:
    """Read a ``--survey-crs`` declaration: ``"wgs84"``, ``"gcj02"``, ``"bd09"`` or a CRS.

    ``None`` or ``""`` means WGS-84 (assumed, then checked); ``"EPSG:4326"``/``"4326"`` and
    ``"wgs84"`` give ``"wgs84"``; any other EPSG code or CRS text gives a :class:`pyproj.CRS`
    (EPSG:4490 CGCS2000 degrees, or a projected CRS in metres).

    Raises
    ------
    ValueError
        If the text is not a known system or CRS.
    """
    text = (declared or "").strip().lower().replace("-", "").replace("_", "")
    if text in ("", "wgs84", "wgs1984", "gps"):
        return "wgs84"
    if text in CHINESE_OBFUSCATED:
        return text
    if text in ("gcj", "amap", "gaode", "tencent"):
        return "gcj02"
    if text in ("bd", "baidu", "bd0911"):
        return "bd09"
    try:
        crs = CRS.from_user_input(int(text) if text.isdigit() else (declared or "").strip())
    except Exception as exc:  # pyproj raises CRSError (and TypeError for odd input)
        raise ValueError(f"unknown coordinate system {declared!r}") from exc
    return "wgs84" if crs == WGS84 else crs


def points_to_wgs84(
    x: np.ndarray, y: np.ndarray, declared: str | CRS
) -> tuple[np.ndarray, np.ndarray]:
    """Convert point coordinates in the declared system to WGS-84 longitude/latitude (degrees).

    Parameters
    ----------
    x, y
        Longitudes and latitudes (or eastings and northings in metres for a projected CRS), float
        arrays of one length; NaN stays NaN.
    declared
        From :func:`parse_point_crs`: ``"wgs84"``, ``"gcj02"``, ``"bd09"`` or a :class:`CRS`.
        GCJ-02 and BD-09 go through :func:`gcj02_to_wgs84` / :func:`bd09_to_wgs84`, the
        conversions of ``--source-crs`` (prcoords' iterative inverses).

    Returns
    -------
    tuple of arrays
        ``(lon, lat)`` in EPSG:4326.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if isinstance(declared, CRS):
        ok = np.isfinite(x) & np.isfinite(y)
        lon, lat = np.full(len(x), np.nan), np.full(len(x), np.nan)
        if ok.any():
            moved = gpd.GeoSeries(gpd.points_from_xy(x[ok], y[ok]), crs=declared).to_crs(WGS84)
            lon[ok], lat[ok] = moved.x.to_numpy(), moved.y.to_numpy()
        return lon, lat
    if declared == "wgs84":
        return x.copy(), y.copy()
    # the same conversion as --source-crs: gcj02_to_wgs84 / bd09_to_wgs84 on a point layer
    convert = gcj02_to_wgs84 if declared == "gcj02" else bd09_to_wgs84
    ok = np.isfinite(x) & np.isfinite(y)
    lon, lat = np.full(len(x), np.nan), np.full(len(x), np.nan)
    if ok.any():
        layer = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x[ok], y[ok]), crs=WGS84)
        moved = convert(layer).geometry
        lon[ok], lat[ok] = moved.x.to_numpy(), moved.y.to_numpy()
    return lon, lat


@dataclass(frozen=True)
class PointSystemCheck:
    """What :func:`detect_point_system` found for a table of points.

    ``fits`` gives, per system (``wgs84``, ``gcj02``, ``bd09``), how many of the ``tested``
    points fall within the tolerance of a polygon they are paired with (by name) when the
    coordinates are read in that system; ``median_m`` the median distance to it (metres).
    ``likely`` is the system that fits clearly best, or ``None`` when the evidence is thin.
    """

    tested: int
    fits: dict[str, int]
    median_m: dict[str, float]
    likely: str | None


def detect_point_system(
    x: np.ndarray,
    y: np.ndarray,
    polygons: gpd.GeoDataFrame,
    pairs: np.ndarray,
    *,
    tolerance_m: float = 50.0,
    min_fits: int = 5,
    min_ratio: float = 2.0,
) -> PointSystemCheck | None:
    """Tell in which system (WGS-84, GCJ-02, BD-09) longitude/latitude points fit the polygons.

    Pure function. The points are read in each system in turn; a point *fits* when it lies
    within ``tolerance_m`` of one of the polygons it is paired with (the caller pairs points and
    polygons of agreeing names). The GCJ-02 offset is 300-600 m in most of China and BD-09 adds
    about 500 m more (see ``../shared/data/README.md``: the Hangzhou listing-site table read as
    WGS-84 is a median 1,029 m off its same-named polygons, and 0 m once read as BD-09), so one
    system fits far better than the others when the table is systematic.

    Parameters
    ----------
    x, y
        Longitudes and latitudes as written in the table (degrees), float arrays.
    polygons
        Estate polygons in any CRS.
    pairs
        Integer array of shape (2, n): point positions and polygon positions (``iloc``) paired.
    tolerance_m, min_fits, min_ratio
        A system is ``likely`` when at least ``min_fits`` points fit and it fits at least
        ``min_ratio`` times as many points as any other system.

    Returns
    -------
    PointSystemCheck or None
        ``None`` when no pair has a usable point or the coordinates are not degrees.
    """
    pairs = np.asarray(pairs, dtype=int).reshape(2, -1)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if not pairs.shape[1] or polygons.crs is None or polygons.empty:
        return None
    used = np.unique(pairs[0])
    used = used[np.isfinite(x[used]) & np.isfinite(y[used])]
    if not len(used) or np.abs(x[used]).max() > 180 or np.abs(y[used]).max() > 90:
        return None
    metric = metric_crs_for(polygons)
    shapes = to_crs(polygons, metric).geometry.values
    keep = np.isin(pairs[0], used)
    point_of, polygon_of = pairs[0][keep], pairs[1][keep]
    fits: dict[str, int] = {}
    median: dict[str, float] = {}
    for system in POINT_SYSTEMS:
        lon, lat = points_to_wgs84(x[used], y[used], system)
        points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=WGS84).to_crs(metric).values
        position = np.searchsorted(used, point_of)
        distance = shapely.distance(points[position], shapes[polygon_of])
        best = pd.Series(distance).groupby(point_of).min()
        fits[system] = int((best <= tolerance_m).sum())
        median[system] = float(best.median())
    ranked = sorted(fits, key=fits.get, reverse=True)
    top, second = ranked[0], ranked[1]
    likely = (
        top if fits[top] >= min_fits and fits[top] >= min_ratio * max(fits[second], 1) else None
    )
    return PointSystemCheck(len(used), fits, median, likely)
