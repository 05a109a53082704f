"""The corridor graph's array helpers give exactly what the library calls they replace give."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from geo.core.policy import load_policy
from geo.facilities.corridor_network import (
    _csr,
    _Edges,
    _scan_csr,
    _unique_rows_by,
)
from geo.facilities.corridors import corridor_reach_m

# coordinates on a millimetre grid, as _graph rounds them, with many repeats
_points = st.lists(
    st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=0, max_size=80
).map(lambda xs: np.array(xs, dtype=float).reshape(-1, 2) * 0.001 + 4_000_000.0)


@settings(max_examples=200, deadline=None)
@given(_points, st.data())
def test_unique_rows_by_group_is_numpys_unique_of_each_group(points, data):
    group = np.array(
        data.draw(st.lists(st.integers(0, 3), min_size=len(points), max_size=len(points))),
        dtype=np.int64,
    )
    rows, row_group, inverse = _unique_rows_by(points, group)
    assert np.array_equal(rows[inverse], points)
    assert np.all(np.diff(row_group) >= 0)
    for g in range(4):
        alone, alone_inverse = np.unique(points[group == g], axis=0, return_inverse=True)
        alone, alone_inverse = alone.reshape(-1, 2), alone_inverse.reshape(-1)
        start = int(np.searchsorted(row_group, g))
        assert np.array_equal(rows[row_group == g], alone)
        assert np.array_equal(inverse[group == g] - start, alone_inverse)


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 40), st.data())
def test_csr_is_scipys_matrix_with_the_same_arrays(n, data):
    pairs = data.draw(
        st.sets(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] < p[1])
        )
    )
    pairs = data.draw(st.permutations(sorted(pairs)))
    u = np.array([p[0] for p in pairs], dtype=np.int64)
    v = np.array([p[1] for p in pairs], dtype=np.int64)
    w = np.arange(1.0, len(u) + 1.0)
    expected = sparse.csr_matrix((w, (u, v)), shape=(n, n))
    got = _csr(n, u, v, w)
    # the same arrays in the same order: the searches visit edges alike, ties break alike
    assert np.array_equal(got.indptr, expected.indptr)
    assert np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)
    # each edge is found by its ends, either way round
    edges = _Edges.of(u, v, n)
    assert edges.find(u, v).tolist() == list(range(len(u)))
    assert edges.find(v, u).tolist() == list(range(len(u)))


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 30), st.data())
def test_directed_search_on_the_scan_matrix_is_scipys_undirected_search(n, data):
    """Distances, predecessors and nearest sources alike, ties included (weights 1-3: many)."""
    pairs = sorted(
        data.draw(
            st.sets(
                st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(
                    lambda p: p[0] < p[1]
                ),
                min_size=1,
                max_size=4 * n,
            )
        )
    )
    pairs = data.draw(st.permutations(pairs))
    u = np.array([p[0] for p in pairs], dtype=np.int64)
    v = np.array([p[1] for p in pairs], dtype=np.int64)
    w = np.array(data.draw(st.lists(st.integers(1, 3), min_size=len(u), max_size=len(u))), float)
    sources = sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=4)))
    upper, scan = _csr(n, u, v, w), _scan_csr(n, u, v, w)
    for kwargs in (
        {"indices": sources[0], "return_predecessors": True},
        {"indices": sources, "min_only": True, "return_predecessors": True},
        {"indices": sources},
    ):
        expected = dijkstra(upper, directed=False, **kwargs)
        got = dijkstra(scan, directed=True, **kwargs)
        for a, b in zip(
            expected if isinstance(expected, tuple) else (expected,),
            got if isinstance(got, tuple) else (got,),
            strict=True,
        ):
            assert np.array_equal(a, b)


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 25), st.data())
def test_listing_order_is_networkx_edge_order(n, data):
    """Trees are listed as a networkx graph built from their edges in order lists them."""
    import networkx as nx

    from geo.facilities.corridor_search import _listing_order

    pairs = data.draw(
        st.permutations(
            sorted(
                data.draw(
                    st.sets(
                        st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(
                            lambda p: p[0] < p[1]
                        ),
                        max_size=3 * n,
                    )
                )
            )
        )
    )
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    graph = nx.Graph()
    graph.add_edges_from(pairs)
    listed = [pairs[i] for i in _listing_order(a, b)]
    assert [tuple(sorted(e)) for e in graph.edges()] == listed


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)).filter(lambda p: p[0] != p[1]))
    )
)
def test_listing_orders_of_a_batch_are_each_trees_order(trees):
    """Edges either way round, nodes from 0 up, empty trees; each as listed alone."""
    from geo.facilities.corridor_search import _listing_order, _listing_orders

    pairs = [
        (np.array([e[0] for e in t], dtype=np.int64), np.array([e[1] for e in t])) for t in trees
    ]
    want = [_listing_order(a.tolist(), b.tolist()) for a, b in pairs]
    assert _listing_orders(pairs) == want


def test_corridor_reach_covers_search_radius_gap_and_clearance():
    policy = load_policy()
    c = policy.corridors
    largest = max(getattr(c, f"clearance_{u}_m") for u in c.utilities)
    assert corridor_reach_m(policy) >= c.search_radius_m + policy.adjacency.tolerance_m + largest


_segments = st.lists(
    st.tuples(*[st.integers(0, 60)] * 4).filter(lambda t: t[:2] != t[2:]), min_size=1, max_size=12
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_segments, min_size=1, max_size=4))
def test_graphs_made_together_are_each_districts_graph_alone(districts):
    """Overlapping districts' graphs made in one pass equal those made one by one."""
    import shapely

    from geo.facilities.corridor_network import _graph, _graphs

    items = []
    for segments in districts:
        lines = [shapely.LineString([(x0, y0), (x1, y1)]) for x0, y0, x1, y1 in segments]
        x, y = segments[0][:2]
        items.append((lines, [shapely.Point(x, y), shapely.Point(y, x)], ["A", "B"]))
    together = _graphs(items, 20.0)
    for item, (net, nodes) in zip(items, together, strict=True):
        alone, alone_nodes = _graph(*item, 20.0, join=False)
        assert nodes == alone_nodes
        for name in ("xy", "u", "v", "w"):
            assert np.array_equal(getattr(net, name), getattr(alone, name))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(*[st.integers(0, 50)] * 4, st.integers(0, 3)), min_size=1, max_size=30))
def test_straight_lines_are_shapelys_multilinestrings_of_each_group(edges):
    """The segments' straight edges made from coordinates are the lines made one by one, each
    from the end whose coordinates read first as text."""
    import shapely

    from geo.facilities.corridor_segments import _Pending, _straight_lines

    ends = [((x0 + 0.5, float(y0)), (float(x1), y1 + 0.25)) for x0, y0, x1, y1, _ in edges]
    group = np.array([g for *_, g in edges], dtype=np.int64)
    pending = [_Pending([], ends[:5], None), _Pending([], ends[5:], None)]
    got = _straight_lines(pending, group, 4)
    turned = [(a, b) if str(a) <= str(b) else (b, a) for a, b in ends]  # from the first in text
    lines = shapely.linestrings(np.array(turned, dtype=float))
    for g in range(4):
        expected = shapely.multilinestrings(lines[group == g])
        assert shapely.to_wkb(got[g]) == shapely.to_wkb(expected)


_COORDINATES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 1e-3),
    st.floats(-1e7, 1e7),
    st.sampled_from([0.0, -0.0, 1e-4, 9.99e-5, 10.0, 9.999999, 1e16, 9999999999999998.0, 0.5]),
    st.integers(-1000, 10**7).map(lambda i: i / 1000),  # millimetres, as the graph rounds them
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(*[_COORDINATES] * 4), min_size=1, max_size=20), st.data())
def test_ends_read_first_as_python_writes_them(rows, data):
    """A straight edge starts at the end whose ``str((x, y))`` reads first: arrays, same order."""
    from geo.facilities.corridor_segments import _reads_first

    # some rows with equal x, or equal points, so that the y (or nothing) decide
    rows = [
        (x0, y0, x0, y1) if data.draw(st.booleans()) else (x0, y0, x1, y1)
        for x0, y0, x1, y1 in rows
    ]
    rows += [(x0, y0, x0, y0) for x0, y0, _, _ in rows[:2]]
    p = np.array([(x0, y0) for x0, y0, _, _ in rows], dtype=float)
    q = np.array([(x1, y1) for _, _, x1, y1 in rows], dtype=float)
    expected = [str((x0, y0)) <= str((x1, y1)) for x0, y0, x1, y1 in rows]
    assert _reads_first(p, q).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 12),
            st.lists(
                st.tuples(st.integers(0, 11), st.integers(0, 11), st.integers(1, 5)), max_size=30
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_matrices_made_together_are_those_made_one_by_one(specs):
    """Each graph's search matrix and edge finder, all sorted at once, as made alone."""
    from geo.facilities.corridor_network import _Edges, _scan_csr, _scan_csrs

    graphs = []
    for n, pairs in specs:
        distinct = sorted(
            {(min(a, b) % n, max(a, b) % n): w for a, b, w in pairs if a % n != b % n}.items()
        )
        u = np.array([a for (a, _), _ in distinct], dtype=np.int64)
        v = np.array([b for (_, b), _ in distinct], dtype=np.int64)
        graphs.append((n, u, v, np.array([w / 3 for _, w in distinct], dtype=float)))
    for (n, u, v, w), (matrix, edges) in zip(graphs, _scan_csrs(graphs), strict=True):
        alone = _scan_csr(n, u, v, w)
        for name in ("data", "indices", "indptr"):
            got, expected = getattr(matrix, name), getattr(alone, name)
            assert got.dtype == expected.dtype and np.array_equal(got, expected), name
        assert matrix.shape == alone.shape
        one = _Edges.of(u, v, n)
        assert edges.n == one.n and np.array_equal(edges.keys, one.keys)
        assert np.array_equal(edges.order, one.order)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6)),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([1000.0, 1.0, 0.1]),
    st.data(),
)
def test_points_sort_as_lexsort(rows, scale, data):
    """Whole millimetres (packed into one integer), or other floats, with repeats and -0.0."""
    from geo.facilities.corridor_network import _lexsort_mm

    rows = rows + [data.draw(st.sampled_from(rows)) for _ in range(len(rows) // 2)]
    group = np.array([g for g, _, _ in rows], dtype=np.int64)
    points = np.array([(x / scale, y / scale) for _, x, y in rows], dtype=float)
    points[points == 0] = data.draw(st.sampled_from([0.0, -0.0]))
    expected = np.lexsort((points[:, 1], points[:, 0], group))
    assert np.array_equal(_lexsort_mm(points, group), expected)
    wide = points * np.array([1e6, 1.0])  # beyond 62 bits of millimetres: lexsort
    assert np.array_equal(_lexsort_mm(wide, group), np.lexsort((wide[:, 1], wide[:, 0], group)))


def _plain_mehlhorn(matrix, u, v, weight, terminals):
    """Mehlhorn's tree as first written, in arrays (lexsort per terminal pair, Kruskal's mask)."""
    from scipy.sparse.csgraph import dijkstra

    from geo.facilities.corridor_network import _Edges, _route

    dist, pred, source = dijkstra(
        matrix, directed=True, indices=terminals, min_only=True, return_predecessors=True
    )
    reach = np.isfinite(dist)
    bridge = np.flatnonzero(reach[u] & reach[v] & (source[u] != source[v]))
    su, sv = source[u[bridge]], source[v[bridge]]
    a, b = np.minimum(su, sv), np.maximum(su, sv)
    through = dist[u[bridge]] + weight[bridge] + dist[v[bridge]]
    order = np.lexsort((through, b, a))
    bridge, a, b, through = bridge[order], a[order], b[order], through[order]
    first = np.ones(len(bridge), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    bridge, a, b, through = bridge[first], a[first], b[first], through[first]
    parent = {}

    def root(x):
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    keep = np.zeros(len(a), dtype=bool)
    for k in np.lexsort((b, a, through)).tolist():
        ra, rb = root(int(a[k])), root(int(b[k]))
        if ra != rb:
            parent[ra] = rb
            keep[k] = True
    edges = _Edges.of(u, v, matrix.shape[0])
    toward, pred_list = edges.toward(pred), pred.tolist()
    chosen = set()
    for k in bridge[keep].tolist():
        chosen.add(k)
        for end in (int(u[k]), int(v[k])):
            chosen.update(_route(pred_list, toward, end))
    return np.array(sorted(chosen), dtype=np.int64)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(2, 30),
    st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29), st.integers(1, 4)), max_size=80),
    st.sets(st.integers(0, 29), min_size=1, max_size=8),
)
def test_mehlhorn_is_the_tree_first_written(n, pairs, picks):
    """Same edges as the array version, on graphs with many equal lengths and unreached parts."""
    from geo.facilities.corridor_network import _mehlhorn, _scan_csr

    distinct = sorted(
        {(min(a, b) % n, max(a, b) % n): w for a, b, w in pairs if a % n != b % n}.items()
    )
    u = np.array([a for (a, _), _ in distinct], dtype=np.int64)
    v = np.array([b for (_, b), _ in distinct], dtype=np.int64)
    w = np.array([float(w) for _, w in distinct])
    terminals = np.array(sorted({p % n for p in picks}))
    matrix = _scan_csr(n, u, v, w)
    assert np.array_equal(
        _mehlhorn(matrix, u, v, w, terminals), _plain_mehlhorn(matrix, u, v, w, terminals)
    )


@st.composite
def _steiner_graph(draw):
    """A graph of 2-30 nodes with many equal lengths, unreached parts, and its terminals."""
    n = draw(st.integers(2, 30))
    pairs = draw(
        st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29), st.integers(1, 4)), max_size=80)
    )
    picks = draw(st.sets(st.integers(0, 29), min_size=1, max_size=8))
    distinct = sorted(
        {(min(a, b) % n, max(a, b) % n): w for a, b, w in pairs if a % n != b % n}.items()
    )
    u = np.array([a for (a, _), _ in distinct], dtype=np.int64)
    v = np.array([b for (_, b), _ in distinct], dtype=np.int64)
    w = np.array([float(w) for _, w in distinct])
    return n, u, v, w, np.array(sorted({p % n for p in picks}))


@settings(max_examples=150, deadline=None)
@given(st.lists(_steiner_graph(), max_size=6))
def test_mehlhorn_trees_of_a_batch_are_each_graphs_tree(graphs):
    """The batch's trees (graphs side by side) are those of each graph alone."""
    from geo.facilities.corridor_network import (
        _Edges,
        _mehlhorn,
        _mehlhorn_trees,
        _nearest_terminals,
        _scan_csr,
        _towards_flat,
    )

    found = []
    for n, u, v, w, terminals in graphs:
        dist, pred, source = _nearest_terminals(_scan_csr(n, u, v, w), terminals)
        toward, _ = _towards_flat([(_Edges.of(u, v, n), pred)])
        found.append((dist, source, pred, toward))
    trees = _mehlhorn_trees([(u, v, w) for _, u, v, w, _ in graphs], found)
    for (n, u, v, w, terminals), tree in zip(graphs, trees, strict=True):
        assert np.array_equal(tree, _mehlhorn(_scan_csr(n, u, v, w), u, v, w, terminals))
