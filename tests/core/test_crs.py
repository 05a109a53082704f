import geopandas as gpd
import pytest
from shapely.geometry import Point

from geo.core.crs import bd09_to_wgs84, gcj02_to_wgs84, gk_zone_epsg, metric_crs_for, wgs84_to_gcj02


@pytest.mark.parametrize(
    ("lon", "epsg"), [(120.2, 4549), (75.0, 4534), (135.0, 4554), (113.4, 4547)]
)
def test_gk_zone(lon, epsg):
    assert gk_zone_epsg(lon) == epsg


def test_gk_zone_outside_china():
    with pytest.raises(ValueError, match="outside"):
        gk_zone_epsg(10.0)


def test_metric_crs_china_and_elsewhere():
    hz = gpd.GeoDataFrame(geometry=[Point(120.15, 30.25)], crs=4326)
    assert metric_crs_for(hz).to_epsg() == 4549
    cgcs = gpd.GeoDataFrame(geometry=[Point(120.15, 30.25)], crs=4490)
    assert metric_crs_for(cgcs).to_epsg() == 4549
    paris = gpd.GeoDataFrame(geometry=[Point(2.35, 48.85)], crs=4326)
    assert metric_crs_for(paris).to_epsg() == 32631
    projected = hz.to_crs(4549)
    assert metric_crs_for(projected).to_epsg() == 4549


def test_metric_crs_needs_crs():
    with pytest.raises(ValueError, match="no CRS"):
        metric_crs_for(gpd.GeoDataFrame(geometry=[Point(0, 0)]))


def test_gcj02_round_trip_and_offset():
    wgs = gpd.GeoDataFrame(geometry=[Point(120.15, 30.25)], crs=4326)
    gcj = wgs84_to_gcj02(wgs)
    offset = gcj.to_crs(4549).distance(wgs.to_crs(4549)).iloc[0]
    assert 300 < offset < 700  # the GCJ-02 shift in Hangzhou is several hundred metres
    back = gcj02_to_wgs84(gcj)
    assert back.to_crs(4549).distance(wgs.to_crs(4549)).iloc[0] < 0.05


def test_bd09_differs_from_gcj02():
    pt = gpd.GeoDataFrame(geometry=[Point(120.16, 30.26)], crs=4326)
    a = gcj02_to_wgs84(pt).geometry.iloc[0]
    b = bd09_to_wgs84(pt).geometry.iloc[0]
    assert a.distance(b) > 0.003
