"""The run's barriers: only those near the estates are projected, and the adjacency is the same (issue 20).

Four 100 m squares in a row, 10 m apart (A-D), and a 3 km wide estate E 500 m north of them, in
the run's CRS (EPSG:4549). The barriers come in WGS-84 (another CRS: they are projected for the
run): a canal polygon through the gap A|B, a motorway through the gap B|C, a primary road crossing
E's northern edge 1.5 km from its corners, a lake and a motorway 20 km away. Only the barriers
that meet the areas where a pair can be blocked (the gap lines) are projected; the graph and the
edges are those of all barriers.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import LineString, Polygon, box

from geo.pipeline import PlanInputs
from geo.pipeline.inputs import barrier_layer
from geo.planning.adjacency import build_adjacency
from tests.conftest import GK, make_estates, squares_in_a_row

X0, Y0 = 500_000.0, 3_300_000.0  # near 120 E, 29.8 N in EPSG:4549


def _estates() -> gpd.GeoDataFrame:
    row = squares_in_a_row(4)
    big = make_estates([{"estate_id": "E", "geometry": box(-1000, 600, 2000, 900)}])
    estates = pd.concat([row, big], ignore_index=True)
    estates = estates.set_geometry(estates.translate(X0, Y0)).set_crs(GK, allow_override=True)
    return gpd.GeoDataFrame(estates, crs=GK)


def _wgs84(geoms: list, **columns) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geoms).translate(X0, Y0), crs=GK)
    return frame.to_crs(4326)


def _inputs(estates: gpd.GeoDataFrame) -> PlanInputs:
    barriers = _wgs84(
        [box(102, -50, 108, 150), box(20_000, 20_000, 21_000, 21_000)],  # canal A|B, far lake
        barrier=["water", "water"],
    )
    roads = _wgs84(
        [
            LineString([(214, -50), (216, 150)]),  # motorway through B|C
            LineString([(500, 850), (500, 1200)]),  # crosses E's northern edge
            LineString([(20_000, 0), (21_000, 0)]),  # far motorway
            LineString([(0, -40), (400, -40)]),  # a footway: not a barrier class
        ],
        fclass=["motorway", "primary", "motorway", "footway"],
    )
    return PlanInputs(estates=estates, barriers=barriers, roads=roads)


def test_far_barriers_are_left_out_and_the_adjacency_is_the_same(policy):
    estates = _estates()
    inputs = _inputs(estates)
    everything = barrier_layer(inputs, policy, estates.crs)
    assert everything is not None
    assert len(everything) == 5  # 2 water + 3 barrier roads
    asked = []

    def near(areas):
        asked.append(areas)
        return barrier_layer(inputs, policy, estates.crs, areas=areas)

    settings = {"tolerance_m": 25.0, "min_barrier_crossing_m": 1.0}
    _, all_edges = build_adjacency(estates, barriers=everything, **settings)
    graph, near_edges = build_adjacency(estates, barriers=near, **settings)
    pd.testing.assert_frame_equal(
        pd.DataFrame(all_edges.drop(columns="geometry")),
        pd.DataFrame(near_edges.drop(columns="geometry")),
    )
    pairs = near_edges["source_id"] + near_edges["target_id"]
    blocked = dict(zip(pairs, near_edges["blocked_by"], strict=True))
    assert blocked == {"AB": "water", "BC": "road:motorway", "CD": ""}
    assert graph.has_edge("C", "D") and not graph.has_edge("A", "B")
    (areas,) = asked  # called once, with one area per pair
    assert len(areas) == 3
    kept = barrier_layer(inputs, policy, estates.crs, areas=areas)
    assert list(kept["barrier"]) == ["water", "road:motorway"]  # far ones and E's road left out


def test_touching_estates_keep_the_line_along_their_edge(policy):
    # A and B share the edge x = 100; a motorway runs along it 0.5 m to the east
    estates = squares_in_a_row(2, gap=0.0)
    estates = gpd.GeoDataFrame(estates.set_geometry(estates.translate(X0, Y0)), crs=GK)
    inputs = PlanInputs(
        estates=estates,
        roads=_wgs84([LineString([(100.5, -20), (100.5, 120)])], fclass=["motorway"]),
    )
    settings = {"tolerance_m": 25.0, "min_barrier_crossing_m": 1.0}
    _, edges = build_adjacency(
        estates,
        barriers=lambda areas: barrier_layer(inputs, policy, estates.crs, areas=areas),
        **settings,
    )
    assert list(edges["blocked_by"]) == ["road:motorway"]


def test_barriers_in_the_run_crs_are_kept_as_they_are(policy):
    estates = _estates()
    inputs = _inputs(estates)
    inputs.barriers = inputs.barriers.to_crs(GK)
    areas = gpd.GeoSeries([box(X0, Y0, X0 + 10, Y0 + 10)]).to_numpy()
    near = barrier_layer(inputs, policy, estates.crs, areas=areas)
    # the water is in the run's CRS (nothing to project): kept whole; the roads are projected
    assert list(near["barrier"]) == ["water", "water"]


def test_a_pond_on_a_shared_edge_is_left_out_and_the_road_along_it_kept(policy):
    # A and B touch along x = 100: a pond there changes nothing (only a line separates touching
    # estates), the motorway along the edge does; A|C are apart (C 10 m east of B)
    estates = squares_in_a_row(2, gap=0.0)
    c = make_estates([{"estate_id": "C", "geometry": box(210, 0, 310, 100)}])
    estates = pd.concat([estates, c], ignore_index=True)
    estates = gpd.GeoDataFrame(estates.set_geometry(estates.translate(X0, Y0)), crs=GK)
    inputs = PlanInputs(
        estates=estates,
        barriers=_wgs84([box(95, 40, 105, 60)], barrier=["water"]),
        roads=_wgs84([LineString([(100.5, -20), (100.5, 120)])], fclass=["motorway"]),
    )
    asked = []

    def near(areas):
        asked.append(areas)
        return barrier_layer(inputs, policy, estates.crs, areas=areas)

    _, edges = build_adjacency(estates, barriers=near, tolerance_m=25.0)
    assert dict(zip(edges["source_id"] + edges["target_id"], edges["blocked_by"], strict=True)) == {
        "AB": "road:motorway",
        "BC": "",
    }
    kept = barrier_layer(inputs, policy, estates.crs, areas=asked[0])
    assert list(kept["barrier"]) == ["road:motorway"]


def test_a_feature_with_long_edges_is_kept_by_its_extent(policy):
    # two lakes around the gap A|B with an island over it: their extents hold the gap, their
    # shapes pass beside it. One has edges under 5 km (its shape decides: left out), one a
    # 20 km shore (a long edge bends when projected: kept by its extent)
    estates = squares_in_a_row(2, gap=10.0)
    estates = gpd.GeoDataFrame(estates.set_geometry(estates.translate(X0, Y0)), crs=GK)
    island = shapely.segmentize(box(-300, -300, 410, 400), 50).exterior
    short = Polygon(shapely.segmentize(box(-600, -600, 710, 700), 50).exterior, [island])
    long = Polygon([(-20_000, -600), (710, -600), (710, 700), (-20_000, 700)], [island])
    inputs = PlanInputs(estates=estates, barriers=_wgs84([short, long], barrier=["short", "long"]))
    asked = []

    def near(areas):
        asked.append(areas)
        return barrier_layer(inputs, policy, estates.crs, areas=areas)

    _, edges = build_adjacency(estates, barriers=near, tolerance_m=25.0)
    assert edges["blocked_by"].tolist() == [""]
    kept = barrier_layer(inputs, policy, estates.crs, areas=asked[0])
    assert list(kept["barrier"]) == ["long"]
