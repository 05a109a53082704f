"""Survey point systems: declarations, conversion, and the check of which system fits."""

import geopandas as gpd
import numpy as np
import prcoords
import pytest
from pyproj import CRS
from shapely.geometry import box

from geo.core.crs import detect_point_system, parse_point_crs, points_to_wgs84


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "wgs84"),
        ("", "wgs84"),
        ("WGS84", "wgs84"),
        ("wgs-84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("4326", "wgs84"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("baidu", "bd09"),
    ],
)
def test_parse_point_crs(text, expected):
    assert parse_point_crs(text) == expected


def test_parse_point_crs_epsg_and_unknown():
    assert parse_point_crs("EPSG:4549") == CRS.from_epsg(4549)
    with pytest.raises(ValueError, match="unknown"):
        parse_point_crs("mars")


@pytest.mark.parametrize(
    ("system", "forward"), [("gcj02", prcoords.wgs_gcj), ("bd09", prcoords.wgs_bd)]
)
def test_points_to_wgs84_inverts_the_forward_shift(system, forward):
    lat, lon = 30.2741, 120.1551
    shifted = forward((lat, lon))
    x, y = points_to_wgs84(np.array([shifted.lon, np.nan]), np.array([shifted.lat, 1.0]), system)
    assert x[0] == pytest.approx(lon, abs=1e-7) and y[0] == pytest.approx(lat, abs=1e-7)
    assert np.isnan(x[1]) and np.isnan(y[1])


def test_points_to_wgs84_projected():
    x, y = points_to_wgs84(np.array([500000.0]), np.array([3350000.0]), CRS.from_epsg(4549))
    assert x[0] == pytest.approx(120.0, abs=1e-6) and 30 < y[0] < 31


def layout(forward):
    polygons, xs, ys = [], [], []
    for i in range(8):
        lon, lat = 120.1 + 0.01 * i, 30.25
        polygons.append(box(lon - 0.0003, lat - 0.0003, lon + 0.0003, lat + 0.0003))
        point = forward((lat, lon)) if forward else prcoords.Coords(lat, lon)
        xs.append(point.lon)
        ys.append(point.lat)
    estates = gpd.GeoDataFrame(geometry=polygons, crs=4326)
    pairs = np.array([range(8), range(8)])
    return np.array(xs), np.array(ys), estates, pairs


@pytest.mark.parametrize(
    ("system", "forward"), [("wgs84", None), ("gcj02", prcoords.wgs_gcj), ("bd09", prcoords.wgs_bd)]
)
def test_detect_point_system(system, forward):
    x, y, estates, pairs = layout(forward)
    found = detect_point_system(x, y, estates, pairs)
    assert found is not None and found.likely == system
    assert found.fits[system] == 8 and found.median_m[system] < 1
    others = [s for s in found.fits if s != system]
    assert all(found.median_m[s] > 200 for s in others)


def test_detect_point_system_needs_evidence():
    x, y, estates, pairs = layout(prcoords.wgs_bd)
    assert detect_point_system(x, y, estates, pairs[:, :3]).likely is None  # 3 < min_fits
    assert detect_point_system(x, y, estates, np.empty((2, 0), dtype=int)) is None
    assert detect_point_system(x * 1e4, y * 1e5, estates, pairs) is None  # not degrees
