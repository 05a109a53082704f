import geopandas as gpd
import pytest
from shapely.geometry import LineString, box

from geo.planning.adjacency import build_adjacency, graph_from_edges
from tests.conftest import GK, squares_in_a_row


def test_three_squares_in_a_row():
    estates = squares_in_a_row(3, gap=10)
    graph, edges = build_adjacency(estates, tolerance_m=25)
    assert sorted(graph.edges()) == [("A", "B"), ("B", "C")]
    assert graph.edges["A", "B"]["gap_m"] == pytest.approx(10)
    # each square has one 100 m side within 25 m of its neighbour
    assert graph.edges["A", "B"]["shared_boundary_m"] == pytest.approx(100 + 2 * 15, abs=1)
    assert len(edges) == 2 and not edges["blocked"].any()


def test_gap_beyond_tolerance():
    graph, _ = build_adjacency(squares_in_a_row(2, gap=30), tolerance_m=25)
    assert graph.number_of_edges() == 0


def test_river_between_blocks():
    estates = squares_in_a_row(2, gap=20)
    river = gpd.GeoDataFrame({"barrier": ["water"]}, geometry=[box(103, -50, 117, 150)], crs=GK)
    graph, edges = build_adjacency(estates, tolerance_m=25, barriers=river)
    assert graph.number_of_edges() == 0
    assert edges["blocked_by"].tolist() == ["water"]


def test_pond_inside_an_estate_does_not_block():
    estates = squares_in_a_row(2, gap=10)
    pond = gpd.GeoDataFrame({"barrier": ["water"]}, geometry=[box(20, 20, 60, 60)], crs=GK)
    graph, _ = build_adjacency(estates, tolerance_m=25, barriers=pond)
    assert graph.number_of_edges() == 1


def test_arterial_road_blocks_and_lane_does_not():
    estates = squares_in_a_row(2, gap=20)
    road = gpd.GeoDataFrame(
        {"barrier": ["road:primary"]}, geometry=[LineString([(110, -50), (110, 150)])], crs=GK
    )
    graph, edges = build_adjacency(estates, tolerance_m=25, barriers=road)
    assert graph.number_of_edges() == 0 and edges["blocked_by"].iloc[0] == "road:primary"
    graph, _ = build_adjacency(estates, tolerance_m=25, barriers=None)
    assert graph.number_of_edges() == 1


def test_road_along_a_shared_edge_blocks_touching_estates():
    estates = squares_in_a_row(2, gap=0)
    road = gpd.GeoDataFrame(
        {"barrier": ["road:trunk"]}, geometry=[LineString([(100, -50), (100, 150)])], crs=GK
    )
    graph, _ = build_adjacency(estates, tolerance_m=25, barriers=road)
    assert graph.number_of_edges() == 0
    crossing = gpd.GeoDataFrame(
        {"barrier": ["road:trunk"]}, geometry=[LineString([(50, 50), (150, 50)])], crs=GK
    )
    graph, _ = build_adjacency(estates, tolerance_m=25, barriers=crossing)
    assert graph.number_of_edges() == 1


def test_graph_is_that_of_its_edges():
    # the graph is built while the shared boundaries are computed, its edges' values added
    # after: the graph of the edges layer, nodes, edges and values in the same order
    estates = squares_in_a_row(4, gap=10).iloc[[2, 0, 3, 1]]
    road = gpd.GeoDataFrame(
        {"barrier": ["road:primary"]}, geometry=[LineString([(215, -50), (215, 150)])], crs=GK
    )
    graph, edges = build_adjacency(estates, tolerance_m=25, barriers=road)
    plain = graph_from_edges(estates["estate_id"].tolist(), edges)
    assert list(graph.nodes(data=True)) == list(plain.nodes(data=True)) != []
    assert list(graph.edges(data=True)) == list(plain.edges(data=True))
    assert len(edges) == 3 and graph.number_of_edges() == 2


def test_degrees_are_refused():
    estates = squares_in_a_row(2).to_crs(4326)
    with pytest.raises(ValueError, match="projected CRS"):
        build_adjacency(estates, tolerance_m=25)


def test_barrier_query_gives_the_pairs_of_a_predicate_query():
    """Testing against prepared barriers finds the pairs ``STRtree.query(predicate=...)`` finds."""
    import numpy as np
    import shapely

    from geo.planning.adjacency import _query_intersecting

    rng = np.random.default_rng(7)
    # a long winding river polygon and road lines, short gap lines around them
    river = shapely.buffer(
        shapely.LineString(np.c_[np.linspace(0, 2000, 400), 300 * np.sin(np.linspace(0, 9, 400))]),
        25,
    )
    roads = [shapely.LineString(rng.uniform(-400, 2400, (3, 2))) for _ in range(30)]
    barriers = np.array([river, *roads], dtype=object)
    starts = rng.uniform(-400, 2400, (3000, 2))
    gaps = shapely.linestrings(np.stack([starts, starts + rng.uniform(-30, 30, (3000, 2))], 1))
    tree = shapely.STRtree(barriers)
    expected = tree.query(gaps, predicate="intersects")
    got = _query_intersecting(tree, gaps)
    assert expected.shape[1] > 100
    assert np.array_equal(expected, np.stack(got))  # the same pairs in the same order
