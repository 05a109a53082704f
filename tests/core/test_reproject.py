"""geo.core.reproject.to_crs gives what geopandas' to_crs gives, bit for bit."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.core import reproject
from geo.core.reproject import to_crs


def _assert_same(ours, theirs) -> None:
    assert type(ours) is type(theirs)
    assert ours.crs == theirs.crs
    assert ours.index.equals(theirs.index)
    if isinstance(theirs, gpd.GeoDataFrame):
        assert list(ours.columns) == list(theirs.columns)
        assert ours.geometry.name == theirs.geometry.name
        pd.testing.assert_frame_equal(
            pd.DataFrame(ours.drop(columns=ours.geometry.name)),
            pd.DataFrame(theirs.drop(columns=theirs.geometry.name)),
        )
        ours, theirs = ours.geometry, theirs.geometry
    assert ours.name == theirs.name
    # bit for bit: WKB of the same doubles
    assert list(shapely.to_wkb(ours.values)) == list(shapely.to_wkb(theirs.values))


def _estates(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x = 500_000 + rng.random(n) * 40_000
    y = 3_340_000 + rng.random(n) * 40_000
    geoms = shapely.buffer(shapely.points(x, y), 20 + rng.random(n) * 80, quad_segs=2)
    geoms[:: max(1, n // 7)] = None
    geoms[1 :: max(1, n // 5)] = shapely.Polygon()
    if n > 3:
        geoms[2] = shapely.MultiPolygon([geoms[2 + 1], shapely.box(x[2], y[2], x[2] + 9, y[2] + 9)])
        geoms[3] = shapely.LineString([(x[3], y[3]), (x[3] + 50, y[3] + 1)])
    return gpd.GeoDataFrame(
        {"estate_id": [f"e{i}" for i in range(n)], "households": rng.integers(0, 900, n)},
        geometry=geoms,
        crs="EPSG:4549",
        index=pd.RangeIndex(10, 10 + n),
    ).rename_geometry("geom")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 300),
    seed=st.integers(0, 2**16),
    target=st.sampled_from(["EPSG:4550", "EPSG:4326", "EPSG:32650", "EPSG:3857"]),
)
def test_threaded_projection_equals_geopandas(n, seed, target, monkeypatch_threads) -> None:
    estates = _estates(n, seed)
    _assert_same(to_crs(estates, target), estates.to_crs(target))
    _assert_same(to_crs(estates.geometry, target), estates.geometry.to_crs(target))


@pytest.fixture
def monkeypatch_threads(monkeypatch):
    """A few coordinates per thread, so small layers are split over threads too (the same for
    every example: the fixture only sets two constants)."""
    monkeypatch.setattr(reproject, "MIN_COORDS_PER_THREAD", 7)
    monkeypatch.setattr(reproject, "cores", lambda: 3)


def test_a_large_layer_is_projected_over_threads_as_geopandas_does() -> None:
    estates = _estates(40_000, 1)  # about 320,000 vertices: over the threshold on two cores
    _assert_same(to_crs(estates, "EPSG:4550"), estates.to_crs("EPSG:4550"))


def test_same_crs_z_and_no_crs_are_left_to_geopandas() -> None:
    estates = _estates(50, 2)
    _assert_same(to_crs(estates, "EPSG:4549"), estates.to_crs("EPSG:4549"))
    three_d = gpd.GeoSeries([shapely.Point(500_000, 3_340_000, 5)], crs="EPSG:4549")
    _assert_same(to_crs(three_d, 4326), three_d.to_crs(4326))
    with pytest.raises(ValueError):
        to_crs(gpd.GeoSeries([shapely.Point(0, 0)]), 4326)
