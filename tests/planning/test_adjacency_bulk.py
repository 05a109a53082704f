"""The adjacency's shortcuts give what the plain computations give (issue 20, the national plan).

At 220,000 estates the adjacency leaves out work whose result is known: the shared edge of
touching estates no barrier line comes near, the 1 m buffer of an edge no line is within reach
of, the tests of a big barrier against every area once it met one, the neighbours of estates
that cannot be grouped. On random layouts (estates on a grid, some touching, some apart;
barrier lines along shared edges, across gaps and anywhere; ponds) each gives what the plain
computation gives: the blocking barriers of every pair, the features meeting an area, the
edges of the districts' graph in the same order.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.planning.adjacency import (
    _TOUCH_EPS_M,
    _blocking_barriers,
    _neighbours,
    blocking_areas,
    meets_any,
    neighbour_pairs,
)
from geo.planning.districts import _edges_within
from tests.conftest import GK

X0, Y0 = 500_000.0, 3_300_000.0


def _plain_lines_near(
    tree: shapely.STRtree, dims: np.ndarray, edges: np.ndarray, distance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every edge buffered, the line barriers meeting the buffer (the plain query)."""
    edge_idx, line_idx = tree.query(shapely.buffer(edges, distance_m), predicate="intersects")
    keep = dims[line_idx] == 1
    return edge_idx[keep], line_idx[keep]


def _plain_blocking(geoms, left, right, gap, gap_lines, barriers, min_crossing_m):
    """The blocking barrier of each pair as the plain loop over all pairs finds it."""
    names = barriers["barrier"].astype(str).to_numpy()
    bgeoms = barriers.geometry.to_numpy()
    dims = shapely.get_dimensions(bgeoms)
    tree = shapely.STRtree(bgeoms)
    blocked = np.full(len(left), "", dtype=object)
    for p in range(len(left)):
        if gap[p] > _TOUCH_EPS_M:
            for b in np.sort(tree.query(gap_lines[p], predicate="intersects")):
                if dims[b] == 2:
                    crossing = shapely.length(shapely.intersection(gap_lines[p], bgeoms[b]))
                    if crossing < min_crossing_m:
                        continue
                blocked[p] = names[b]
                break
        else:
            edge = shapely.intersection(
                shapely.boundary(geoms[left[p]]), shapely.boundary(geoms[right[p]])
            )
            _, lines = _plain_lines_near(tree, dims, np.array([edge]), 1.0)
            for b in np.sort(lines):
                along = shapely.length(shapely.intersection(shapely.buffer(bgeoms[b], 1.0), edge))
                if along >= max(min_crossing_m, 0.5 * shapely.length(edge)):
                    blocked[p] = names[b]
                    break
    return blocked


@st.composite
def layouts(draw):
    """Rectangles on a 4 x 4 grid with gaps of 0 to 30 m, and barriers among them."""
    columns = np.cumsum(
        [0.0] + [draw(st.sampled_from([0.0, 0.0, 5.0, 12.0, 30.0])) + 80 for _ in range(4)]
    )
    rows = np.cumsum([0.0] + [draw(st.sampled_from([0.0, 0.0, 8.0, 20.0])) + 60 for _ in range(4)])
    estates = [
        shapely.box(X0 + columns[i], Y0 + rows[j], X0 + columns[i + 1] - gx, Y0 + rows[j + 1] - gy)
        for i in range(4)
        for j in range(4)
        for gx, gy in [(columns[i + 1] - columns[i] - 80, rows[j + 1] - rows[j] - 60)]
        if draw(st.booleans()) or (i + j) % 2 == 0
    ]
    barriers, names = [], []
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["along", "along", "along", "across", "pond", "any"]))
        x = X0 + draw(st.sampled_from(list(columns))) + draw(st.floats(-1.6, 1.6))
        y = Y0 + draw(st.floats(-20, 260))
        if kind == "along":  # near an estate's eastern or northern edge, which it may share
            x0, y0, x1, y1 = draw(st.sampled_from(estates)).bounds
            off, start, length = (
                draw(st.floats(-1.5, 1.5)),
                draw(st.floats(-15, 30)),
                draw(st.floats(5, 90)),
            )
            skew = draw(st.floats(-1, 1))
            if draw(st.booleans()):
                line = [(x1 + off, y0 + start), (x1 + off + skew, y0 + start + length)]
            else:
                line = [(x0 + start, y1 + off), (x0 + start + length, y1 + off + skew)]
            barriers.append(shapely.LineString(line))
        elif kind == "across":
            barriers.append(
                shapely.LineString([(x - 40, y), (x + 40, y + draw(st.floats(-30, 30)))])
            )
        elif kind == "pond":
            size = draw(st.floats(0.5, 25))
            barriers.append(shapely.box(x - size / 2, y, x + size / 2, y + size))
        else:
            start = (X0 + draw(st.floats(-20, 360)), Y0 + draw(st.floats(-20, 260)))
            end = (X0 + draw(st.floats(-20, 360)), Y0 + draw(st.floats(-20, 260)))
            barriers.append(shapely.LineString([start, end]))
        names.append(f"{kind}{len(names)}")
    return np.array(estates, dtype=object), barriers, names


@settings(max_examples=120, deadline=None)
@given(layouts())
def test_blocking_barriers_are_those_of_the_plain_loop(layout):
    geoms, barriers, names = layout
    left, right = neighbour_pairs(geoms, 25.0)
    if not len(left) or not barriers:
        return
    gap = shapely.distance(geoms[left], geoms[right])
    gap_lines = shapely.shortest_line(geoms[left], geoms[right])
    frame = gpd.GeoDataFrame({"barrier": names}, geometry=barriers, crs=GK)
    got = _blocking_barriers(geoms, left, right, gap, gap_lines, frame, 1.0)
    expected = _plain_blocking(geoms, left, right, gap, gap_lines, frame, 1.0)
    assert got.tolist() == expected.tolist()


def test_a_line_along_the_shared_edge_is_found_among_many():
    # two touching squares and, far from their edge, many lines in the overlap of their boxes'
    # growth: only the one 0.4 m from the edge separates them
    a, b = shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100)
    lines = [
        shapely.LineString([(X0 + 100 + dx, Y0 - 50), (X0 + 100 + dx, Y0 - 10)])
        for dx in (-0.5, 0.5)
    ]
    lines.append(shapely.LineString([(X0 + 100.4, Y0 + 10), (X0 + 100.4, Y0 + 90)]))
    frame = gpd.GeoDataFrame({"barrier": ["x", "y", "road"]}, geometry=lines, crs=GK)
    geoms = np.array([a, b], dtype=object)
    left, right = neighbour_pairs(geoms, 25.0)
    gap = shapely.distance(geoms[left], geoms[right])
    gap_lines = shapely.shortest_line(geoms[left], geoms[right])
    assert _blocking_barriers(geoms, left, right, gap, gap_lines, frame, 1.0).tolist() == ["road"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1000), st.floats(0, 1000), st.floats(1, 400), st.integers(3, 40)),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 1000), st.floats(0.1, 30)), max_size=60),
)
def test_meets_any_is_intersects_on_any_candidate(features, areas):
    # winding lines and polygons of many vertices, small boxes
    geoms = []
    for k, (x, y, r, n) in enumerate(features):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        ring = np.c_[x + r * np.cos(t) * (1 + 0.5 * np.sin(5 * t)), y + r * np.sin(t)]
        geoms.append(shapely.Polygon(ring) if k % 2 else shapely.LineString(ring))
    geoms = np.array(geoms, dtype=object)
    boxes = np.array([shapely.box(x, y, x + s, y + s) for x, y, s in areas], dtype=object)
    box_idx, geom_idx = shapely.STRtree(geoms).query(boxes)
    expected = np.zeros(len(geoms), dtype=bool)
    expected[geom_idx[shapely.intersects(geoms[geom_idx], boxes[box_idx])]] = True
    assert meets_any(geoms, boxes, geom_idx, box_idx).tolist() == expected.tolist()
    assert not any(shapely.is_prepared(geoms))  # released again


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.0, 10.0, 24.999999, 25.0, 25.000001, 30.0]),
            st.floats(-40, 40),
            st.floats(0, 2 * np.pi),
            st.integers(3, 12),
        ),
        min_size=1,
        max_size=14,
    ),
    st.floats(0, 1e-6),
)
def test_neighbours_are_the_plain_dwithin_pairs_with_their_distances(shapes, wobble):
    # star-shaped estates in a row at gaps of about 25 m (a few exactly, or a hair either side)
    # and overlapping, at Gauss-Kruger coordinates: the pairs of an STRtree query kept by
    # dwithin, in (left, right) order, and the gaps of shapely.distance, bit for bit
    geoms, x = [], X0
    for gap, dy, turn, n in shapes:
        t = turn + np.linspace(0, 2 * np.pi, n, endpoint=False)
        ring = np.c_[40 * np.cos(t) * (1 + 0.3 * np.sin(3 * t)), dy + 30 * np.sin(t)]
        if n == 4:  # a rectangle: the gap to the next is exactly ``gap`` m
            ring = np.array([[0.0, 0.0], [50.0, 0.0], [50.0, 30.0], [0.0, 30.0]])
        ring[:, 0] += x - ring[:, 0].min() + (wobble if n % 2 else 0.0)
        geoms.append(shapely.Polygon(np.c_[ring[:, 0], Y0 + ring[:, 1]]))
        x = ring[:, 0].max() + gap
    geoms = np.array(geoms, dtype=object)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="dwithin", distance=25.0)
    keep = a < b
    expected = sorted(zip(a[keep].tolist(), b[keep].tolist(), strict=True))
    left, right, gap = _neighbours(geoms, 25.0)
    assert list(zip(left.tolist(), right.tolist(), strict=True)) == expected
    assert gap.tolist() == shapely.distance(geoms[left], geoms[right]).tolist()
    assert [p.tolist() for p in neighbour_pairs(geoms, 25.0)] == [left.tolist(), right.tolist()]


def test_blocking_areas_split_gap_lines_from_shared_edges():
    geoms = np.array(
        [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10), shapely.box(30, 0, 40, 10)],
        dtype=object,
    )
    left, right = neighbour_pairs(geoms, 25.0)
    gap = shapely.distance(geoms[left], geoms[right])
    areas = blocking_areas(
        geoms, left, right, gap, shapely.shortest_line(geoms[left], geoms[right])
    )
    assert len(areas) == len(left) == 3  # A|B touch, A|C and B|C apart
    assert len(areas.along) == 1 and len(areas.crossing) == 2
    assert shapely.bounds(areas.along[0]).tolist() == [9.0, -1.0, 11.0, 11.0]


@settings(max_examples=100, deadline=None)
@given(
    st.integers(2, 30),
    st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29)), max_size=80),
    st.lists(st.booleans(), min_size=30, max_size=30),
    st.lists(st.sampled_from(["", "u1", "u2"]), min_size=30, max_size=30),
)
def test_edges_within_are_the_filtered_edges_in_their_order(n, pairs, groupable, units):
    graph = nx.Graph()
    ids = [f"e{k}" for k in range(n)]
    graph.add_nodes_from(reversed(ids))  # node order other than id order
    graph.add_edges_from((ids[a % n], ids[b % n]) for a, b in pairs if a % n != b % n)
    keep = {i for i, g in zip(ids, groupable, strict=False) if g}
    unit_of = dict(zip(ids, units, strict=False))
    expected = [
        (a, b) for a, b in graph.edges() if a in keep and b in keep and unit_of[a] == unit_of[b]
    ]
    assert _edges_within(graph, keep, unit_of) == expected
