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
import prcoords
import shapely
from pyproj import CRS

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


def metric_crs_for(gdf: gpd.GeoDataFrame) -> CRS:
    """Choose the projected metric CRS for computing on ``gdf`` (any CRS, not empty).

    Inside China: the CGCS2000 3-degree Gauss-Krüger zone of the centre of the data's extent;
    elsewhere the UTM zone that geopandas estimates. Data already in a projected CRS in metres keep
    it.

    Raises
    ------
    ValueError
        If ``gdf`` has no CRS or no geometry.
    """
    if gdf.crs is None:
        raise ValueError("the layer has no CRS")
    if gdf.empty:
        raise ValueError("the layer is empty")
    crs = CRS.from_user_input(gdf.crs)
    if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
        return crs
    minx, miny, maxx, maxy = gdf.to_crs(WGS84).total_bounds
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    if _CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1]:
        return CRS.from_epsg(gk_zone_epsg(lon))
    return gdf.to_crs(WGS84).estimate_utm_crs()


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


#: Road classes that never run inside an estate (OSM ``fclass``): the reference for the offset check.
_MAIN_ROADS = (
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
    sampled = estates.loc[usable].iloc[::step]
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


#: How far from a sampled estate reference lines are kept (more than any GCJ-02 offset, ~700 m).
_NEAR_METRES = 3000.0
_NEAR_DEGREES = 0.03


def _reference_lines(reference: gpd.GeoDataFrame, around: np.ndarray) -> np.ndarray | None:
    """The linework of a reference layer near the areas ``around`` (in the layer's CRS).

    Lines as they are, polygon outlines; main roads only when the layer has an OSM ``fclass``.
    """
    layer = reference
    if "fclass" in layer:
        main = layer.loc[layer["fclass"].isin(_MAIN_ROADS)]
        if len(main) >= 3:
            layer = main
    geoms = layer.geometry.values
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if len(geoms):
        geoms = geoms[np.unique(shapely.STRtree(geoms).query(around)[1])]
    if not len(geoms):
        return None
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6])
    lines = np.where(polygonal, shapely.boundary(geoms), geoms)
    lines = lines[np.isin(shapely.get_type_id(lines), [1, 2, 5])]
    return lines if len(lines) else None
