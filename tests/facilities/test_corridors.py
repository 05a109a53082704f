"""Shared pipeline corridors: hand-checkable rows of estates, invariants, and the Hangzhou run."""

import itertools
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box

from geo.cli import main
from geo.core.errors import InputError
from geo.core.policy import UTILITIES, load_policy
from geo.facilities.corridors import plan_corridors, utilities_of
from geo.planning.adjacency import build_adjacency
from geo.planning.districts import estimate_investment, form_districts
from geo.planning.eligibility import assess_eligibility
from tests.conftest import GK, make_estates, shared_file, squares_in_a_row


def _district_run(estates, policy):
    estates = assess_eligibility(estates, policy)
    estates = pd.concat([estates, estimate_investment(estates, policy)], axis=1)
    graph, edges = build_adjacency(estates, tolerance_m=policy.adjacency.tolerance_m)
    _, districts = form_districts(estates, graph, policy)
    return estates, districts, edges


def _street(x0, y0, x1, y1, fclass="tertiary"):
    return gpd.GeoDataFrame(
        {"fclass": [fclass]}, geometry=[LineString([(x0, y0), (x1, y1)])], crs=GK
    )


def test_three_in_a_row_with_a_street_on_the_left(policy):
    # anchors (50,50), (160,50), (270,50); a street at x = -20: separate lines 70 + 180 + 290 m,
    # the corridor 70 + 110 + 110 m: 250 m shorter.
    estates, districts, edges = _district_run(squares_in_a_row(3), policy)
    plan = plan_corridors(estates, districts, edges, policy, roads=_street(-20, -100, -20, 200))
    row = plan.districts.iloc[0]
    assert row["corridor_basis"] == "roads"
    assert row["corridor_length_m"] == pytest.approx(290.0, abs=0.1)
    assert row["separate_length_m"] == pytest.approx(540.0, abs=0.1)
    assert row["saving_pct"] == pytest.approx(100 * 250 / 540, abs=0.1)
    assert row["connections"] == len(UTILITIES)
    assert row["separate_connections"] == 3 * len(UTILITIES)
    c = policy.corridors
    per_metre = c.trench_yuan_per_m + sum(getattr(c, f"{u}_yuan_per_m") for u in UTILITIES)
    assert row["cost_yuan"] == pytest.approx(290 * per_metre + 6 * c.connection_yuan, abs=2)
    assert row["separate_cost_yuan"] == pytest.approx(
        540 * per_metre + 18 * c.connection_yuan, abs=2
    )
    seg = plan.segments
    assert set(seg["kind"]) == {"trunk", "branch", "connection"}
    # outside the outline (more than 0.5 m): the 20 m from its edge (x = 0) to the street
    assert seg.loc[seg["kind"] == "connection", "length_m"].sum() == pytest.approx(19.5, abs=0.1)
    # C's 110 m (branch) and B's 110 m (trunk, serves B and C) ... A's 50 m (trunk, serves 3)
    assert seg.loc[seg["kind"] == "branch", "length_m"].sum() == pytest.approx(110, abs=0.1)
    assert seg["utilities"].eq(",".join(UTILITIES)).all()
    assert seg["clearance_ok"].isna().all()  # no buildings given
    assert seg["length_m"].sum() == pytest.approx(290, abs=0.1)
    table = plan.utilities.set_index("utility")
    assert table.loc["water", "length_m"] == pytest.approx(290, abs=0.1)
    assert table["cost_yuan"].sum() == pytest.approx(row["cost_yuan"], abs=10)


def test_three_in_a_row_without_roads_connect_at_the_middle(policy):
    # no roads: one connection on the outline, 50 m from the middle estate's anchor; the two
    # outer estates each save the 50 m from B to the outline: 100 m in all.
    estates, districts, edges = _district_run(squares_in_a_row(3), policy)
    plan = plan_corridors(estates, districts, edges, policy)
    row = plan.districts.iloc[0]
    path = edges.geometry.length.iloc[0]  # anchor to anchor through the gap
    assert row["corridor_basis"] == "outline"
    assert row["corridor_length_m"] == pytest.approx(2 * path + 50, abs=0.1)
    assert row["separate_length_m"] - row["corridor_length_m"] == pytest.approx(100, abs=0.1)


def test_a_main_gives_the_connection_and_clearance_is_flagged(policy):
    estates, districts, edges = _district_run(squares_in_a_row(2), policy)
    mains = gpd.GeoDataFrame(
        {"utility": ["给水"]}, geometry=[LineString([(-30, -100), (-30, 200)])], crs=GK
    )
    building = gpd.GeoDataFrame(geometry=[box(120, 40, 140, 60)], crs=GK)  # across B's branch
    plan = plan_corridors(estates, districts, edges, policy, mains=mains, buildings=building)
    row = plan.districts.iloc[0]
    assert "mains" in row["corridor_basis"] and "outline" in row["corridor_basis"]
    table = plan.utilities.set_index("utility")
    # water: A 80 m to the main, B 110 m more through A: one connection, 190 m vs 80 + 190 m
    assert table.loc["water", "connections"] == 1
    assert table.loc["water", "length_m"] == pytest.approx(190, abs=0.1)
    assert table.loc["water", "separate_length_m"] == pytest.approx(270, abs=0.1)
    water = plan.segments[plan.segments["utilities"].str.contains("water")]
    assert (water["kind"] == "connection").any()
    assert row["clearance_conflicts"] >= 1
    assert not plan.segments["clearance_ok"].all()
    assert row["corridor_length_m"] <= row["separate_length_m"]


def test_mains_with_an_unknown_utility_is_an_input_error(policy):
    estates, districts, edges = _district_run(squares_in_a_row(2), policy)
    mains = gpd.GeoDataFrame(
        {"utility": ["heating"]}, geometry=[LineString([(0, -30), (300, -30)])], crs=GK
    )
    with pytest.raises(InputError, match="unknown utility 'heating'"):
        plan_corridors(estates, districts, edges, policy, mains=mains)


def test_utility_names():
    assert utilities_of("排水") == ("rain", "sewage")
    assert utilities_of("给水；燃气") == ("water", "gas")
    assert utilities_of("Telecom") == ("telecom",)


def _check_network(plan, estates, districts):
    """Touches every member; each connected part has its own connection; never longer/costlier."""
    anchors = dict(
        zip(
            estates["estate_id"],
            shapely.point_on_surface(estates.geometry.to_numpy()),
            strict=True,
        )
    )
    for index, d in districts.iterrows():
        row = plan.districts.loc[index]
        # never longer or costlier before rounding: the rounded figures (0.1 m, 1 yuan) may differ
        # by one step (161.95 -> 162.0 against 161.949 -> 161.9)
        assert row["corridor_length_m"] <= row["separate_length_m"] + 0.1 + 1e-6
        assert row["cost_yuan"] <= row["separate_cost_yuan"] + 1
        seg = plan.segments[plan.segments["district_id"] == d["district_id"]]
        network = shapely.union_all(shapely.buffer(seg.geometry.to_numpy(), 0.05))
        for m in d["members"].split(","):
            assert network.intersects(anchors[m]), m
        parts = shapely.get_num_geometries(network)
        # parts are joined only through the municipal network: each needs a connection point
        assert parts <= row["connections"] / len(UTILITIES)
        if row["corridor_basis"] == "outline":
            assert parts == 1 and row["connections"] == len(UTILITIES)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 5),
    size=st.floats(30, 120),
    gap=st.floats(0, 20),
    street=st.sampled_from([None, "left", "below", "far"]),
    fclass=st.sampled_from(["tertiary", "residential"]),
)
def test_network_properties(n, size, gap, street, fclass):
    policy = load_policy()
    estates = squares_in_a_row(n, size=size, gap=gap)
    estates, districts, edges = _district_run(estates, policy)
    assert len(districts) == 1
    roads = {
        None: None,
        "left": _street(-15, -50, -15, size + 50, fclass),
        "below": _street(-50, -12, n * (size + gap) + 50, -12, fclass),
        "far": _street(-200, 400, 900, 400, fclass),
    }[street]
    plan = plan_corridors(estates, districts, edges, policy, roads=roads)
    _check_network(plan, estates, districts)


def test_l_shaped_district_shares_a_trunk(policy):
    rows = [
        {"estate_id": "A", "geometry": box(0, 0, 100, 100)},
        {"estate_id": "B", "geometry": box(105, 0, 205, 100)},
        {"estate_id": "C", "geometry": box(0, 105, 100, 205)},
    ]
    estates, districts, edges = _district_run(make_estates(rows), policy)
    plan = plan_corridors(estates, districts, edges, policy, roads=_street(-10, -300, -10, 500))
    _check_network(plan, estates, districts)
    assert plan.districts.iloc[0]["saving_pct"] >= 0


@pytest.mark.realdata
@pytest.mark.parametrize("with_roads", [False, True], ids=["inside-districts", "osm-roads"])
def test_hangzhou_corridors(tmp_path, capsys, with_roads):
    data = "hangzhou/"
    out = tmp_path / "hz.gpkg"
    args = [
        "plan",
        "--estates",
        str(shared_file(data + "osm_landuse_residential.gpkg")),
        "--survey",
        str(shared_file(data + "survey_illustrative.csv")),
        "--barriers",
        str(shared_file(data + "osm_water.gpkg")),
        "--out",
        str(out),
    ]
    if with_roads:
        args += ["--roads", str(shared_file(data + "osm_roads.gpkg"))]
    assert main(args) == 0
    printed = capsys.readouterr().out
    districts = gpd.read_file(out, layer="districts")
    corridors = gpd.read_file(out, layer="corridors")
    assert len(districts) > 50
    several = districts[districts["estates"] >= 2]
    assert set(several["district_id"]) <= set(corridors["district_id"])
    assert districts["corridor_length_m"].notna().all()
    assert (districts["corridor_length_m"] <= districts["separate_length_m"] + 1e-6).all()
    assert set(corridors["kind"]) <= {"trunk", "branch", "connection"}
    m = re.search(
        r"shared corridors: ([\d,.]+) km vs ([\d,.]+) km separate \(saving ([\d.]+)%\)", printed
    )
    assert m, printed
    length, separate = districts["corridor_length_m"].sum(), districts["separate_length_m"].sum()
    assert float(m[1].replace(",", "")) == pytest.approx(length / 1000, abs=0.01)
    assert float(m[3]) == pytest.approx(100 * (1 - length / separate), abs=0.1)
    assert length < separate
    with capsys.disabled():
        print(f"\nHangzhou corridors ({'roads' if with_roads else 'no roads'}): {m[0]}")


@pytest.fixture
def memos_on():
    from geo.core import _memo

    was = _memo.enabled()
    _memo.enable()
    yield
    _memo.enable(was)


def test_memoised_district_plans_equal_fresh_ones_under_new_ids(policy, memos_on):
    """The district memo reuses a plan by content: same figures, the new district id."""
    from geo.facilities import corridors

    rows = make_estates(
        [
            {"estate_id": f"E{i}{y}", "geometry": box(110 * i, y, 110 * i + 100, y + 100)}
            for i in range(3)
            for y in (0, 400)
        ]
    )
    estates, districts, edges = _district_run(rows, policy)
    assert len(districts) == 2
    roads = _street(-20, -100, -20, 600)
    corridors._MEMO.clear()
    fresh = plan_corridors(estates, districts, edges, policy, roads=roads)
    assert len(corridors._MEMO) == 2
    renamed = districts.assign(
        district_id=districts["district_id"].map({"D0001": "X2", "D0002": "X1"})
    )
    again = plan_corridors(estates, renamed, edges, policy, roads=roads)  # from the memo
    pd.testing.assert_frame_equal(fresh.districts, again.districts)
    assert sorted(again.segments["district_id"].unique()) == ["X1", "X2"]
    back = again.segments.assign(
        district_id=again.segments["district_id"].map({"X2": "D0001", "X1": "D0002"})
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame(back.drop(columns="geometry")),
        pd.DataFrame(fresh.segments.drop(columns="geometry")),
    )
    assert set(again.utilities["district_id"]) == {"X1", "X2"}
    # other settings, other plans: the memo is keyed on them
    dearer = policy.with_values(
        {"corridors.connection_yuan": 10 * policy.corridors.connection_yuan}
    )
    other = plan_corridors(estates, districts, edges, dearer, roads=roads)
    assert not other.districts["cost_yuan"].equals(fresh.districts["cost_yuan"])


def test_planning_leaves_the_garbage_collector_as_it_was(policy):
    """The collector is paused while districts are planned and then back as it was."""
    import gc

    rows = make_estates(
        [{"estate_id": f"E{i}", "geometry": box(110 * i, 0, 110 * i + 100, 100)} for i in range(3)]
    )
    estates, districts, edges = _district_run(rows, policy)
    roads = _street(-20, -100, -20, 200)
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            plan = plan_corridors(estates, districts, edges, policy, roads=roads)
            assert gc.isenabled() is enabled
            assert len(plan.segments)
    finally:
        (gc.enable if was else gc.disable)()


def estate_rows(rows: int, spacing_m: float) -> gpd.GeoDataFrame:
    """Rows of three 100 m square estates 10 m apart, ``spacing_m`` between rows (a district each)."""
    return make_estates(
        [
            {
                "estate_id": f"R{row}-{i}",
                "geometry": box(i * 110, row * spacing_m, i * 110 + 100, row * spacing_m + 100),
            }
            for row in range(rows)
            for i in range(3)
        ]
    )


def test_districts_planned_in_worker_processes_give_the_same_result(policy, monkeypatch):
    """Eight districts (rows of three estates, 1 km apart) planned in 2 processes as in one."""
    import geo.facilities.corridors as corridors

    estates, districts, edges = _district_run(estate_rows(8, 1000), policy)
    assert len(districts) == 8
    roads = _street(-20, -100, -20, 8000)
    one = plan_corridors(estates, districts, edges, policy, roads=roads)
    monkeypatch.setattr(corridors, "MIN_DISTRICTS_PER_WORKER", 2)
    monkeypatch.setattr(corridors, "_CHUNK_DISTRICTS", 2)
    two = plan_corridors(estates, districts, edges, policy, roads=roads, workers=2)
    for name in ("segments", "districts", "utilities"):
        pd.testing.assert_frame_equal(
            pd.DataFrame(getattr(one, name)), pd.DataFrame(getattr(two, name)), check_exact=True
        )
    assert (one.districts["corridor_length_m"] > 0).all()


@settings(max_examples=60, deadline=None)
@given(
    st.integers(3, 7),
    st.integers(3, 7),
    st.lists(st.integers(1, 9), min_size=100, max_size=100),
    st.sets(st.integers(0, 48), min_size=2, max_size=8),
)
def test_steiner_tree_spans_the_terminals_within_the_mehlhorn_bound(rows, cols, weights, picks):
    """On grids with random weights: a tree over all terminals, only terminal leaves, and no
    heavier than a minimum spanning tree of the terminals' shortest-path distances (Mehlhorn's
    bound, itself within 2x of the optimum); never lighter than the optimum's lower bound, the
    longest terminal-to-terminal shortest path."""
    import networkx as nx
    import numpy as np

    from geo.facilities.corridor_network import _scan_csr
    from geo.facilities.corridors import _mehlhorn

    n = rows * cols
    pairs = [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)]
    pairs += [(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)]
    u = np.array([a for a, _ in pairs])
    v = np.array([b for _, b in pairs])
    w = np.array(weights[: len(pairs)], dtype=float)
    terminals = np.array(sorted({p % n for p in picks}))
    if len(terminals) < 2:
        return
    edges = _mehlhorn(_scan_csr(n, u, v, w), u, v, w, terminals)
    tree = nx.Graph()
    tree.add_edges_from((int(u[k]), int(v[k])) for k in edges)
    assert set(terminals.tolist()) <= set(tree)
    assert nx.is_tree(tree)
    assert all(node in terminals for node in tree if tree.degree(node) == 1)
    grid = nx.Graph()
    grid.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist(), strict=True))
    closure = nx.Graph()
    for a, b in itertools.combinations(terminals.tolist(), 2):
        closure.add_edge(a, b, weight=nx.dijkstra_path_length(grid, a, b))
    bound = nx.minimum_spanning_tree(closure).size(weight="weight")
    longest = max(d["weight"] for _, _, d in closure.edges(data=True))
    assert longest - 1e-9 <= w[edges].sum() <= bound + 1e-9


def test_the_note_on_assumed_connections_names_each_such_district(policy):
    """Two districts without roads or mains: the quality note names both, not the last twice."""
    from geo.core.errors import QualityReport

    rows = [
        {"estate_id": f"E{i}{y}", "geometry": box(110 * i, y, 110 * i + 100, y + 100)}
        for i in range(3)
        for y in (0, 400)
    ]
    estates, districts, edges = _district_run(make_estates(rows), policy)
    quality = QualityReport()
    plan_corridors(estates, districts, edges, policy, quality=quality)
    notes = [i for i in quality.issues if i.source == "corridors"]
    assert len(notes) == 1
    ids = sorted(districts["district_id"])
    assert len(ids) == 2 and all(i in notes[0].message for i in ids)
