"""How the corridors' districts are prepared, shared between processes and sent back.

The district tasks made with array operations against the plain loop they replace, the spans given
to worker processes, the plain rows a worker sends back, and the layers projected only near the
districts: each gives the same plans as the plain way.
"""

import pickle
from collections import defaultdict

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box

from geo.facilities import corridor_layers
from geo.facilities.corridor_costs import _Planned
from geo.facilities.corridors import _district_tasks, _spans, plan_corridors
from tests.conftest import GK, make_estates


def _plain_tasks(estates, districts, adjacency):
    """The tasks as plan_corridors made them one district at a time (before issue 20's rework)."""
    ids = estates["estate_id"].astype(str).to_numpy()
    anchors = dict(zip(ids, shapely.point_on_surface(estates.geometry.to_numpy()), strict=True))
    open_edges = adjacency.loc[~adjacency["blocked"].astype(bool)]
    paths_of = defaultdict(list)
    for s, t, g in zip(
        open_edges["source_id"].astype(str).tolist(),
        open_edges["target_id"].astype(str).tolist(),
        open_edges.geometry.to_numpy(),
        strict=True,
    ):
        paths_of[s].append((t, g))
    tasks = []
    for district_id, member_list, outline in zip(
        districts["district_id"].tolist(),
        districts["members"].tolist(),
        districts.geometry.to_numpy(),
        strict=True,
    ):
        members = [m for m in str(member_list).split(",") if m]
        in_district = set(members)
        paths = [g for m in members for t, g in paths_of[m] if t in in_district]
        tasks.append((str(district_id), members, outline, [anchors[m] for m in members], paths))
    return tasks


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 12),
    st.lists(st.lists(st.integers(0, 11), max_size=6), min_size=1, max_size=6),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11), st.booleans()), max_size=40),
)
def test_district_tasks_are_the_plain_loops(n, member_rows, pairs):
    """Members in any order, repeated or in two districts; paths blocked or open, both ways."""
    estates = gpd.GeoDataFrame(
        {"estate_id": [f"E{i}" for i in range(n)]},
        geometry=[box(i * 30, (i % 3) * 7, i * 30 + 20, (i % 3) * 7 + 15 + i) for i in range(n)],
        crs=GK,
    )
    members = [[m % n for m in row] for row in member_rows]
    districts = gpd.GeoDataFrame(
        {
            "district_id": [f"D{k}" for k in range(len(members))],
            "members": [",".join(f"E{m}" for m in row) for row in members],
        },
        geometry=[box(k, 0, k + 1, 1) for k in range(len(members))],
        crs=GK,
    )
    pairs = [(a % n, b % n, blocked) for a, b, blocked in pairs]
    adjacency = gpd.GeoDataFrame(
        {
            "source_id": [f"E{a}" for a, _, _ in pairs],
            "target_id": [f"E{b}" for _, b, _ in pairs],
            "blocked": [blocked for _, _, blocked in pairs],
        },
        geometry=[LineString([(a, k), (b, k + 1)]) for k, (a, b, _) in enumerate(pairs)],
        crs=GK,
    )
    got = _district_tasks(estates, districts, adjacency)
    expected = _plain_tasks(estates, districts, adjacency)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g[0] == e[0] and g[1] == e[1] and shapely.equals_exact(g[2], e[2], 0)
        for name, a, b in (("anchors", g[3], e[3]), ("paths", g[4], e[4])):
            assert [x.wkb for x in a] == [x.wkb for x in b], name


@given(st.integers(1, 20_000), st.integers(2, 8))
def test_spans_cover_the_districts_longest_first(n, workers):
    from geo.facilities import corridors

    spans = _spans(n, workers)
    assert [a for a, _ in spans] == [0, *[b for _, b in spans[:-1]]]
    assert spans[-1][1] == n
    sizes = [b - a for a, b in spans]
    assert sizes == sorted(sizes, reverse=True)
    assert all(s <= corridors._BATCH_DISTRICTS for s in sizes)
    assert all(s >= corridors._CHUNK_DISTRICTS for s in sizes[:-1])


def _planned(geoms, ok):
    n = 3
    return _Planned(
        rows=[["roads", "m", float(k), 1.0, 2.0, 3, 4, 5.0, 6, 7, pd.NA] for k in range(n)],
        table=[("trench", 1.0, 2.0, pd.NA, pd.NA, 3, 4), ("water", 1.0, 2.0, 1, 3, 3, 4)],
        table_at=[0, 1, 1, 2],
        segments=[("water", "trunk", 1.0, 2, 0.5)] * len(geoms),
        segments_at=[0, 0, len(geoms) - 1, len(geoms)],
        geoms=np.array(geoms, dtype=object),
        clearance_ok=ok,
    )


def test_planned_rows_travel_exactly_and_split_and_join_back():
    lines = [
        LineString([(0.1, 0.2), (1 / 3, 2 / 3)]),
        LineString([(5e5 + 1 / 7, 3e6 + 1 / 9), (5e5, 3e6), (5e5 - 1e-9, 3e6)]),
        LineString([(1, 1), (2, 2)]),
    ]
    others = [*lines[:2], shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 1 / 3)]])]
    for geoms, ok in ((lines, np.array([True, False, True])), (others, None)):
        planned = _planned(geoms, ok)
        back = pickle.loads(pickle.dumps(planned))
        assert shapely.to_wkb(back.geoms).tolist() == shapely.to_wkb(planned.geoms).tolist()
        assert back.rows == planned.rows and back.segments == planned.segments
        joined = _Planned.joined([back.district(i) for i in range(len(back))], ok is not None)
        for name in ("rows", "table", "table_at", "segments", "segments_at"):
            assert getattr(joined, name) == getattr(planned, name), name
        assert shapely.to_wkb(joined.geoms).tolist() == shapely.to_wkb(planned.geoms).tolist()
        assert (joined.clearance_ok is None) == (ok is None)
        if ok is not None:
            assert joined.clearance_ok.tolist() == ok.tolist()


def test_layers_in_another_crs_give_the_same_plan_when_projected_only_near(policy, monkeypatch):
    """Roads, mains and buildings in WGS84: the plan is the same with every feature projected."""
    from tests.facilities.test_corridors import _district_run, estate_rows

    estates, districts, edges = _district_run(estate_rows(4, 900), policy)
    streets = [LineString([(-20, -100), (-20, 4000)]), LineString([(-500, 290), (400, 300)])]
    far = [LineString([(9e3 + k, 0), (9e3 + k, 4000)]) for k in range(50)]  # beyond reach
    roads = gpd.GeoDataFrame(
        {"fclass": ["tertiary", "primary"] + ["primary"] * len(far)},
        geometry=streets + far,
        crs=GK,
    ).to_crs(4326)
    mains = gpd.GeoDataFrame(
        {"utility": ["给水", "燃气"] + ["电力"] * len(far)},
        geometry=[
            LineString([(350, -50), (350, 3000)]),
            LineString([(-60, 920), (400, 920)]),
            *far,
        ],
        crs=GK,
    ).to_crs(4326)
    buildings = gpd.GeoDataFrame(
        geometry=[box(-15, 40, -5, 60), box(150, 1000, 170, 1030), box(9e3, 0, 9e3 + 10, 10)],
        crs=GK,
    ).to_crs(4326)
    layers = {"roads": roads, "mains": mains, "buildings": buildings}
    seen = []
    near_rows = corridor_layers.near_rows

    def counted(*args, **kwargs):
        keep = near_rows(*args, **kwargs)
        seen.append(keep)
        return keep

    monkeypatch.setattr(corridor_layers, "near_rows", counted)
    near = plan_corridors(estates, districts, edges, policy, **layers)
    assert len(seen) == 3 and all(k is not None and 0 < k.sum() < len(k) for k in seen)
    monkeypatch.setattr(corridor_layers, "near_rows", lambda *args, **kwargs: None)
    whole = plan_corridors(estates, districts, edges, policy, **layers)
    assert "mains" in "".join(near.districts["corridor_basis"])
    assert near.districts["clearance_conflicts"].sum() > 0
    for name in ("segments", "districts", "utilities"):
        pd.testing.assert_frame_equal(
            pd.DataFrame(getattr(near, name)), pd.DataFrame(getattr(whole, name)), check_exact=True
        )


def test_memoised_plans_with_buildings_equal_fresh_ones(policy):
    """With memos on: a re-plan wholly from the memo, and one partly from it, with clearance flags."""
    from geo.core import _memo
    from geo.facilities import corridors
    from tests.facilities.test_corridors import _district_run

    rows = [
        {"estate_id": f"E{i}{y}", "geometry": box(110 * i, y, 110 * i + 100, y + 100)}
        for i in range(3)
        for y in (0, 400, 800)
    ]
    estates, districts, edges = _district_run(make_estates(rows), policy)
    assert len(districts) == 3
    roads = gpd.GeoDataFrame(
        {"fclass": ["tertiary"]}, geometry=[LineString([(-20, -100), (-20, 1000)])], crs=GK
    )
    buildings = gpd.GeoDataFrame(geometry=[box(-15, 40, -5, 60), box(-15, 840, -5, 860)], crs=GK)
    fresh = plan_corridors(estates, districts, edges, policy, roads=roads, buildings=buildings)
    was = _memo.enabled()
    _memo.enable()
    try:
        corridors._MEMO.clear()
        first = plan_corridors(
            estates, districts.iloc[:2], edges, policy, roads=roads, buildings=buildings
        )
        assert len(corridors._MEMO) == 2
        partly = plan_corridors(estates, districts, edges, policy, roads=roads, buildings=buildings)
        wholly = plan_corridors(estates, districts, edges, policy, roads=roads, buildings=buildings)
    finally:
        _memo.enable(was)
        corridors._MEMO.clear()
    assert fresh.segments["clearance_ok"].eq(False).any()
    for plan in (partly, wholly):
        for name in ("segments", "districts", "utilities"):
            pd.testing.assert_frame_equal(
                pd.DataFrame(getattr(plan, name)),
                pd.DataFrame(getattr(fresh, name)),
                check_exact=True,
            )
    pd.testing.assert_frame_equal(first.districts, fresh.districts.iloc[:2])


def test_buffers_done_ahead_in_part_give_the_same_plan(policy):
    """Buffered ahead for none, some or all districts: the same rows and lines."""
    import threading

    from geo.facilities.corridor_district import _Buffered, _plan_batch, buffer_ahead
    from geo.facilities.corridor_layers import _prepare
    from tests.facilities.test_corridors import _district_run, estate_rows

    estates, districts, edges = _district_run(estate_rows(4, 900), policy)
    roads = gpd.GeoDataFrame(
        {"fclass": ["tertiary"]}, geometry=[LineString([(-20, -100), (-20, 4000)])], crs=GK
    )
    ctx = _prepare(estates.crs, policy, roads, None, None)
    tasks = _district_tasks(estates, districts, edges)
    outlines = districts.geometry.to_numpy()
    stopped = threading.Event()
    stopped.set()
    none = buffer_ahead(outlines, policy, stopped)
    assert shapely.is_missing(none.regions).all() and shapely.is_missing(none.inside).all()
    every = buffer_ahead(outlines, policy, threading.Event())
    assert not shapely.is_missing(every.inside).any()
    some = _Buffered(every.regions.copy(), every.inside.copy())
    some.regions[1::2] = None
    some.inside[::2] = None
    plain = _plan_batch(tasks, ctx)
    for ahead in (none, every, some):
        planned = _plan_batch(tasks, ctx, ahead)
        assert planned.rows == plain.rows and planned.segments == plain.segments
        assert shapely.to_wkb(planned.geoms).tolist() == shapely.to_wkb(plain.geoms).tolist()


def _plain_served(tree, estate_nodes, main):
    """Estates downstream of each edge of a tree rooted at the network, breadth first.

    As the corridors counted them one tree at a time, before the batch's ``_trunks``.
    """
    count_at = defaultdict(int)
    for node in estate_nodes.values():
        count_at[node] += 1
    near = defaultdict(list)
    for i, (a, b) in enumerate(tree.ends):
        near[a].append((b, i))
        near[b].append((a, i))
    up = {main: (-1, -1)}
    order = [main]
    for node in order:
        for other, i in near[node]:
            if other not in up:
                up[other] = (node, i)
                order.append(other)
    below = dict(count_at)
    served = {}
    for node in reversed(order[1:]):
        parent, i = up[node]
        served[tree.keys[i]] = below.get(node, 0)
        below[parent] = below.get(parent, 0) + below.get(node, 0)
    return served


@st.composite
def _district_trees(draw):
    """A district: a few trees on nodes 0..n (n: the network), some of its members' nodes."""
    from geo.facilities.corridor_costs import _Tree

    n = draw(st.integers(1, 12))
    trees = []
    for _ in range(draw(st.integers(1, 3))):
        # a random tree on some nodes, rooted at n; links to the network keyed by tuples
        nodes = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
        placed, ends, keys = [n], [], []
        for node in nodes:
            parent = draw(st.sampled_from(placed))
            ends.append((node, parent) if draw(st.booleans()) else (parent, node))
            keys.append(("main", node, ("water",)) if parent == n else node * 100 + parent)
            placed.append(node)
        if draw(st.booleans()) and n >= 2 and not {n - 1, n - 2} & set(placed):
            # an edge the network does not reach
            ends.append((n - 1, n - 2))
            keys.append(9999)
        order = draw(st.permutations(range(len(ends))))
        listed = ([keys[i] for i in order], [ends[i] for i in order])
        trees.append(_Tree(*listed, [1.0] * len(ends), [None] * len(ends)))
    members = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6))
    return trees, {f"e{i}": node for i, node in enumerate(members)}, n


@settings(max_examples=150, deadline=None)
@given(st.lists(_district_trees(), max_size=5))
def test_trunks_of_a_batch_are_the_breadth_first_counts_of_each_tree(districts):
    """Members anywhere (several at one node, or off the trees), trees in any edge order."""
    from geo.facilities.corridor_costs import _trunks

    want = []
    for trees, estate_nodes, main in districts:
        served = defaultdict(int)
        for tree in trees:
            for key, n in _plain_served(tree, estate_nodes, main).items():
                served[key] = max(served[key], n)
        want.append({k for k, n in served.items() if n >= 2 and type(k) is not tuple})
    assert _trunks(districts) == want


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8), st.booleans()), max_size=14),
    st.sets(st.integers(0, 20)),
    st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_a_single_trees_arrays_give_the_segments_of_its_edge_table(edges, trunk_picks, links):
    """One utility group's tree: its arrays, its lists and the merged edge table cut alike."""
    from geo.core.policy import load_policy
    from geo.facilities.corridor_costs import _network_figures, _Tree
    from geo.facilities.corridor_layers import _Context
    from geo.facilities.corridor_segments import _cut_segments, _pending

    ctx = _Context(crs=GK, policy=load_policy())
    xy = np.array([(x * 7.0, y * 5.0) for x in range(3) for y in range(3)] + [(50.0, 50.0)])
    pairs = list(dict.fromkeys((min(a, b), max(a, b)) for a, b, _ in edges if a != b))
    index = list(range(len(pairs)))
    ends = list(pairs)
    lines = [LineString([(60, 60), (70, 70)]), None, LineString([(0, 0), (-10, 0)])]
    n_lines = 21
    for i, wanted in enumerate(links):  # links to the network (node 9), some with a line
        if wanted:
            index.append(n_lines + i)
            ends.append((i, 9))
    keys = [
        k if k < n_lines else ("main", ends[j][0], ("water", "gas")) for j, k in enumerate(index)
    ]
    link_lines = [None if k < n_lines else lines[k - n_lines] for k in index]
    lengths = [float(np.hypot(*(xy[a] - xy[b]))) for a, b in ends]
    arrays = _Tree(
        keys, ends, lengths, link_lines, np.array(index, dtype=np.int64),
        np.array(ends, dtype=np.int64).reshape(-1, 2), n_lines,
    )  # fmt: skip
    listed = _Tree(keys, ends, lengths, link_lines)
    trees = {("water", "gas"): arrays}
    trunks = {k for k in trunk_picks if k < len(pairs)}
    inside = box(-1, -1, 8, 6)
    table = _network_figures({("water", "gas"): listed, ("power",): _Tree([], [], [], [])}, ctx)[0]
    table = {k: {**e, "utilities": {"water", "gas"}} for k, e in table.items()}
    cut = [
        _cut_segments([_pending(None, trees, trunks, xy, inside)], ctx),
        _cut_segments([_pending(None, {("water", "gas"): listed}, trunks, xy, inside)], ctx),
        _cut_segments([_pending(table, trees, trunks, xy, inside)], ctx),
    ]
    for rows, at, geoms, ok in cut[1:]:
        assert rows == cut[0][0] and at == cut[0][1] and ok is None and cut[0][3] is None
        assert shapely.to_wkb(geoms).tolist() == shapely.to_wkb(cut[0][2]).tolist()


def _plain_search_graph(net, candidates, group, ctx):
    """A group's search graph as made one at a time (before the batch's ``_search_graphs``)."""
    from geo.facilities.corridor_segments import _per_metre

    per_metre = _per_metre(group.utilities, ctx)
    c = ctx.policy.corridors
    connection_m = c.connection_yuan * len(group.utilities) / per_metre if per_metre > 0 else 0.0
    main = len(net.xy)
    linked_nodes = sorted(candidates)
    linked = np.array(linked_nodes, dtype=np.int64)
    link_m = np.array([candidates[n][0] for n in linked_nodes], dtype=float)
    return (
        main + 1,
        np.concatenate([net.u, linked]),
        np.concatenate([net.v, np.full(len(linked), main)]),
        np.concatenate([net.w, link_m]),
        np.concatenate([net.w, link_m + connection_m]),
        len(net.u),
        group.utilities,
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 9),
            st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8), st.floats(0.1, 50))),
            st.dictionaries(st.integers(0, 8), st.floats(0, 30), max_size=4),
            st.sampled_from([("water",), ("rain", "sewage"), ("water", "gas", "power")]),
        ),
        max_size=6,
    )
)
def test_search_graphs_of_a_batch_are_each_groups_graph(specs):
    """Graphs of any size (edges or none, links or none), groups of different utilities."""
    from geo.core.policy import load_policy
    from geo.facilities.corridor_layers import _Context, _Group
    from geo.facilities.corridor_network import _Network
    from geo.facilities.corridor_search import _search_graphs

    ctx = _Context(crs=GK, policy=load_policy())
    items = []
    for n, edges, links, utilities in specs:
        pairs = [(a % n, b % n, w) for a, b, w in edges if a % n < b % n]
        net = _Network(
            np.zeros((n, 2)),
            np.array([a for a, _, _ in pairs], dtype=np.int64),
            np.array([b for _, b, _ in pairs], dtype=np.int64),
            np.array([w for _, _, w in pairs], dtype=float),
        )
        candidates = {node % n: (m, None) for node, m in links.items()}
        items.append((net, candidates, _Group(utilities, "roads")))
    for search, item in zip(_search_graphs(items, ctx), items, strict=True):
        plain = _plain_search_graph(*item, ctx)
        got = (search.n, search.u, search.v, search.length, search.weight)
        assert all(np.array_equal(x, y) for x, y in zip(got, plain[:5], strict=True))
        assert [search.u.dtype, search.v.dtype] == [plain[1].dtype, plain[2].dtype]
        assert (search.n_lines, search.utilities) == plain[5:]
