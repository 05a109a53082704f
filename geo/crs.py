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
