"""Elderly-care gaps: 2SFCA by hand, walking network, siting against brute force and spopt."""

from __future__ import annotations

import itertools
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from geo import io
from geo.core.errors import InputError, QualityReport
from geo.facilities.elderly import (
    Pairs,
    WalkNetwork,
    assess_elderly_care,
    maximal_covering,
    minimum_cover,
    two_step_fca,
    walking_distances,
)
from tests.conftest import GK, make_estates, shared_file


def facilities(rows):
    if not rows:
        return gpd.GeoDataFrame(
            {"facility_id": [], "name": [], "facility_type": [], "floor_area_m2": []},
            geometry=gpd.GeoSeries([], crs=GK),
            crs=GK,
        )
    frame = gpd.GeoDataFrame(
        [{"facility_id": f"F{i + 1}", "name": f"设施{i + 1}", **r} for i, r in enumerate(rows)],
        geometry="geometry",
        crs=GK,
    )
    frame["floor_area_m2"] = frame["floor_area_m2"].astype("Float64")
    return frame


def station(x, y, area, kind="社区养老服务站"):
    return {"facility_type": kind, "floor_area_m2": area, "geometry": Point(x, y)}


# --------------------------------------------------------------------------- 2SFCA by hand


def test_one_facility_two_estates_each_gets_half(policy):
    # 100 m² station between two estates of 250 households, both within 300 m:
    # 20 m²/100 households -> each needs 50 m²; R = 100 / 500 = 0.2 m²/household -> 50 m² each
    estates = make_estates(
        [
            {"estate_id": "A", "households": 250, "geometry": box(0, 0, 50, 50)},
            {"estate_id": "B", "households": 250, "geometry": box(100, 0, 150, 50)},
        ]
    )
    care = assess_elderly_care(estates, facilities([station(75, 25, 100.0)]), policy)
    e = care.estates
    assert list(e["elderly_required_m2"]) == [50.0, 50.0]
    assert list(e["elderly_accessible_m2"]) == pytest.approx([50.0, 50.0])
    assert list(e["elderly_gap_m2"]) == pytest.approx([0.0, 0.0])
    assert e["elderly_covered_5min"].all()
    # straight line 50 m x detour 1.3
    assert list(e["elderly_nearest_station_m"]) == pytest.approx([65.0, 65.0])
    assert care.facilities["m2_per_household"].iloc[0] == pytest.approx(0.2)
    assert len(care.sites) == 0


def test_two_overlapping_catchments_by_hand(policy):
    # E1 (100 hh) at x=0, E2 (100 hh) at x=200, E3 (200 hh) at x=400 (points inside 10 m squares).
    # F1 100 m² at x=100 reaches E1, E2 (100 m x 1.3 = 130 m <= 300); F2 30 m² at x=300 reaches
    # E2, E3. E1-F2 and E3-F1 are 300 m x 1.3 = 390 m > 300 m.
    # R1 = 100 / 200 = 0.5 m²/hh, R2 = 30 / 300 = 0.1 m²/hh.
    # accessible: E1 0.5*100 = 50, E2 0.6*100 = 60, E3 0.1*200 = 20 (sum 130 = supply)
    # required (20 per 100 hh): 20, 20, 40 -> gap 0, 0, 20
    estates = make_estates(
        [
            {"estate_id": f"E{i + 1}", "households": hh, "geometry": box(x - 5, -5, x + 5, 5)}
            for i, (x, hh) in enumerate([(0, 100), (200, 100), (400, 200)])
        ]
    )
    fac = facilities([station(100, 0, 100.0), station(300, 0, 30.0, "老年人日间照料中心")])
    care = assess_elderly_care(estates, fac, policy)
    e = care.estates
    assert list(e["elderly_accessible_m2"]) == pytest.approx([50.0, 60.0, 20.0])
    assert list(e["elderly_required_m2"]) == pytest.approx([20.0, 20.0, 40.0])
    assert list(e["elderly_gap_m2"]) == pytest.approx([0.0, 0.0, 20.0])
    assert care.summary["gap_m2"] == pytest.approx(20.0)
    assert e["elderly_nearest_day_care_m"].iloc[2] == pytest.approx(130.0)


def test_nursing_home_is_15min_and_not_counted(policy):
    # a 5,000 m² nursing home 600 m away: within the 15-minute circle (1000 m), not the 5-minute
    # one, and not community elderly-service space: the whole 40 m² is a gap
    estates = make_estates([{"estate_id": "A", "households": 200, "geometry": box(0, 0, 10, 10)}])
    fac = facilities([station(5, 5 + 600 / 1.3, 5000.0, "养老院")])
    care = assess_elderly_care(estates, fac, policy)
    e = care.estates.iloc[0]
    assert e["elderly_gap_m2"] == pytest.approx(40.0)
    assert not e["elderly_covered_5min"]
    assert not e["elderly_covered_10min"]
    assert e["elderly_covered_15min"]
    assert e["elderly_nearest_nursing_home_m"] == pytest.approx(600.0)


def test_unknown_households_and_unknown_type(policy):
    estates = make_estates(
        [
            {"estate_id": "A", "households": None, "geometry": box(0, 0, 10, 10)},
            {"estate_id": "B", "households": 100, "geometry": box(20, 0, 30, 10)},
        ]
    )
    fac = facilities([station(15, 5, 50.0), station(15, 6, 999.0, "老年食堂")])
    quality = QualityReport()
    care = assess_elderly_care(estates, fac, policy, quality=quality)
    e = care.estates
    assert e["elderly_gap_m2"].isna().iloc[0]
    # B alone shares the 50 m² station (A has no known households), the canteen is left out
    assert e["elderly_accessible_m2"].iloc[1] == pytest.approx(50.0)
    messages = " ".join(i.message for i in quality.issues)
    assert "no life circle" in messages
    assert "households unknown" in messages


def test_geographic_estates_rejected(policy):
    estates = make_estates([{"estate_id": "A", "geometry": box(120, 30, 120.001, 30.001)}])
    with pytest.raises(InputError, match="projected CRS"):
        assess_elderly_care(estates.set_crs(4326, allow_override=True), facilities([]), policy)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(1, 500), min_size=1, max_size=6),
    st.lists(st.integers(1, 900), min_size=1, max_size=8),
    st.data(),
)
def test_2sfca_conserves_supply(supply, households, data):
    pairs = [
        (f, e)
        for f in range(len(supply))
        for e in range(len(households))
        if data.draw(st.booleans())
    ]
    catchment = Pairs(
        np.array([p[0] for p in pairs], dtype=int),
        np.array([p[1] for p in pairs], dtype=int),
        np.zeros(len(pairs)),
    )
    _, accessible = two_step_fca(np.array(supply), np.array(households, float), catchment)
    reached = sorted({p[0] for p in pairs})
    assert accessible.sum() == pytest.approx(sum(supply[f] for f in reached))
    assert (accessible >= 0).all()


# --------------------------------------------------------------------------- walking network


def test_network_nodes_crossings_and_keeps_bridges_apart():
    # a footway from (0,0) to (200,0) and a road from (100,-100) to (100,100) cross without a
    # shared vertex: noded at ground level. The same crossing as a bridge is not a junction.
    crossing = gpd.GeoDataFrame(
        {"fclass": ["footway", "residential"], "bridge": ["F", "F"], "layer": [0, 0]},
        geometry=[LineString([(0, 0), (200, 0)]), LineString([(100, -100), (100, 100)])],
        crs=GK,
    )
    origins = np.array([[0.0, 0.0]])
    targets = np.array([[100.0, 100.0]])
    net = WalkNetwork.from_roads(crossing)
    d = net.distances(origins, targets, 1000)
    assert d.metres.tolist() == pytest.approx([200.0])
    bridge = crossing.assign(bridge=["F", "T"], layer=[0, 1])
    d = WalkNetwork.from_roads(bridge).distances(origins, targets, 1000)
    assert len(d.metres) == 0  # no way from the footway onto the bridge


def test_network_excludes_motorways_and_joins_shared_vertices():
    roads = gpd.GeoDataFrame(
        {"fclass": ["motorway", "footway", "steps"]},
        geometry=[
            LineString([(0, 0), (100, 0)]),
            LineString([(0, 0), (0, 50), (100, 50)]),
            LineString([(100, 50), (100, 0)]),
        ],
        crs=GK,
    )
    net = WalkNetwork.from_roads(roads, unwalkable_classes=["motorway"])
    d = net.distances(np.array([[0.0, 0.0]]), np.array([[100.0, 0.0]]), 1000)
    assert d.metres.tolist() == pytest.approx([200.0])  # around by the footway and the steps


def test_points_off_the_network_walk_to_it_and_same_segment_walks_along():
    roads = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (300, 0)])], crs=GK)
    net = WalkNetwork.from_roads(roads)
    d = net.distances(np.array([[50.0, 20.0]]), np.array([[150.0, 10.0]]), 1000)
    assert d.metres.tolist() == pytest.approx([20.0 + 100.0 + 10.0])
    assert len(net.distances(np.array([[50.0, 20.0]]), np.array([[150.0, 10.0]]), 100).metres) == 0


@pytest.mark.parametrize("memos", [False, True])
def test_distances_asked_again_are_the_same_with_or_without_memos(memos):
    from geo.core import _memo

    roads = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (300, 0)])], crs=GK)
    net = WalkNetwork.from_roads(roads)
    origin = np.array([[50.0, 20.0]])
    was = _memo.enabled()
    _memo.enable(memos)
    try:
        asked = [
            net.distances(origin, np.array([[150.0, 10.0]]), 1000),
            net.distances(origin, np.array([[250.0, 10.0]]), 1000),  # other target
            net.distances(origin, np.array([[150.0, 10.0]]), 100),  # other cutoff
            net.distances(np.array([[60.0, 20.0]]), np.array([[150.0, 10.0]]), 1000),
            net.distances(origin, np.array([[150.0, 10.0]]), 1000),  # as the first
        ]
    finally:
        _memo.enable(was)
    metres = [d.metres.tolist() for d in asked]
    assert metres[:4] == [
        pytest.approx([130.0]),
        pytest.approx([230.0]),
        [],
        pytest.approx([120.0]),
    ]
    assert metres[4] == metres[0]
    assert (asked[4] is asked[0]) == memos  # kept by the network only with memos on


def test_straight_line_uses_detour_factor():
    d = walking_distances(np.array([[0.0, 0.0]]), np.array([[30.0, 40.0], [0.0, 0.0]]), 100)
    assert d.target.tolist() == [0, 1]
    assert d.metres.tolist() == pytest.approx([65.0, 0.0])  # identical points: 0 m


def test_network_distance_changes_coverage(policy):
    # station 200 m straight across a river from the estate; the only footway goes round via a
    # bridge 500 m upstream: covered by straight line x 1.3 (260 m), not on the network
    estates = make_estates([{"estate_id": "A", "households": 100, "geometry": box(-5, -5, 5, 5)}])
    fac = facilities([station(0, 200, 40.0)])
    assert assess_elderly_care(estates, fac, policy).estates["elderly_covered_5min"].iloc[0]
    roads = gpd.GeoDataFrame(
        {"fclass": ["footway"] * 3},
        geometry=[
            LineString([(0, 0), (500, 0)]),
            LineString([(500, 0), (500, 200)]),
            LineString([(500, 200), (0, 200)]),
        ],
        crs=GK,
    )
    care = assess_elderly_care(estates, fac, policy, roads=roads)
    assert not care.estates["elderly_covered_5min"].iloc[0]
    assert care.estates["elderly_gap_m2"].iloc[0] == pytest.approx(20.0)
    assert care.summary["distance"] == "walking network"


# --------------------------------------------------------------------------- siting


def brute_force_mclp(weights, cover, p):
    cover = cover.toarray() > 0
    best = 0.0
    for combo in itertools.combinations(range(cover.shape[1]), p):
        best = max(best, weights[cover[:, list(combo)].any(axis=1)].sum())
    return best


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 3))
def test_mclp_exact_and_greedy_against_brute_force(seed, p):
    rng = np.random.default_rng(seed)
    cover = sp.csr_matrix(rng.random((12, 7)) < 0.25)
    weights = rng.integers(0, 50, 12).astype(float)
    best = brute_force_mclp(weights, cover, p)
    exact = maximal_covering(weights, cover, p)
    assert exact.covered_weight == pytest.approx(best)
    assert exact.gap == pytest.approx(0.0, abs=1e-6)
    greedy = maximal_covering(weights, cover, p, exact_max_candidates=0)
    assert greedy.method == "greedy"
    assert greedy.covered_weight <= best + 1e-9
    assert greedy.bound >= best - 1e-9  # the reported bound really bounds the optimum
    assert greedy.covered_weight >= (1 - 1 / np.e) * best - 1e-9


def test_minimum_cover_by_hand():
    # demand 0,1 covered by site 0; demand 2 by sites 1 and 2; demand 3 by site 2 only; demand 4
    # is covered by nothing. Fewest sites: {0, 2}.
    cover = sp.csr_matrix(
        np.array([[1, 0, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype=bool)
    )
    weights = np.array([5.0, 5.0, 1.0, 1.0, 9.0])
    exact = minimum_cover(weights, cover)
    assert exact.chosen.tolist() == [0, 2]
    assert exact.covered_weight == pytest.approx(12.0)
    assert exact.coverable_weight == pytest.approx(12.0)
    greedy = minimum_cover(weights, cover, exact_max_candidates=0)
    assert len(greedy.chosen) == 2
    assert greedy.bound <= 2


def _district_in_a_row(**x_of: float) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Eligible 40 m square estates of 300 households centred at (x, 0), all in district D0001."""
    estates = make_estates(
        [
            {"estate_id": e, "households": 300, "geometry": box(x - 20, -20, x + 20, 20)}
            for e, x in x_of.items()
        ]
    )
    estates["status"] = "eligible"
    estates["district_id"] = "D0001"
    xs = list(x_of.values())
    districts = gpd.GeoDataFrame(
        {"district_id": ["D0001"]}, geometry=[box(min(xs) - 20, -20, max(xs) + 20, 20)], crs=GK
    )
    return estates, districts


def test_sites_are_proposed_on_district_members(policy):
    # three estates of a district in a row 150 m apart, no facility: the middle estate reaches
    # both others (150 m x 1.3 = 195 m <= 300 m), so one site there covers every gap
    policy = policy.with_values({"elderly.min_site_m2": 0})  # the siting alone, no minimum size
    estates, districts = _district_in_a_row(A=0, B=150, C=300)
    care = assess_elderly_care(estates, facilities([]), policy, districts=districts)
    assert len(care.sites) == 1
    site = care.sites.iloc[0]
    assert site["estate_id"] == "B"
    assert site["floor_area_m2"] == pytest.approx(180.0)  # 3 x 60 m²
    assert site["households_served"] == 900
    assert care.estates["elderly_site_id"].tolist() == ["S0001"] * 3
    d = care.districts.iloc[0]
    assert d["elderly_gap_m2"] == pytest.approx(180.0)
    assert d["elderly_pooled_gap_m2"] == pytest.approx(180.0)
    assert d["elderly_sites"] == 1
    assert d["elderly_households_without_5min"] == 900
    # a budget of sites: MCLP
    one = assess_elderly_care(
        estates, facilities([]), policy.with_values({"elderly.max_new_sites": 1}),
        districts=districts,
    )  # fmt: skip
    assert one.siting.problem == "MCLP"
    assert one.siting.covered_weight == pytest.approx(180.0)


def test_a_candidate_layer_site_replaces_two_estate_sites(policy):
    # A and B, 400 m apart (520 m walked): each estate site covers only itself; a vacant room
    # halfway (200 m x 1.3 = 260 m <= 300 m from both) covers both, so the fewest sites is one
    policy = policy.with_values({"elderly.min_site_m2": 0})  # the siting alone, no minimum size
    estates, districts = _district_in_a_row(A=0, B=400)
    without = assess_elderly_care(estates, facilities([]), policy, districts=districts)
    assert len(without.sites) == 2
    candidates = gpd.GeoDataFrame(
        {"site_name": ["闲置用房", "远处地块"]}, geometry=[Point(200, 0), Point(5000, 0)], crs=GK
    )
    care = assess_elderly_care(
        estates, facilities([]), policy, districts=districts, candidates=candidates
    )
    assert len(care.sites) == 1
    site = care.sites.iloc[0]
    assert (site["source"], site["site_name"], site["district_id"]) == (
        "candidate layer",
        "闲置用房",
        "D0001",
    )
    assert pd.isna(site["estate_id"])
    assert site["floor_area_m2"] == pytest.approx(120.0)  # 2 x 300 households x 20 m²/100
    assert site["households_served"] == 600
    assert site.geometry.equals(Point(200, 0))


def _big_pair(distance: float) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    estates, districts = _district_in_a_row(A=0, B=distance)
    estates["households"] = pd.array([1000, 1000], dtype="Int64")  # 200 m² each (20 m²/100)
    return estates, districts


def test_sites_below_the_minimum_merge_within_the_10_minute_walk(policy):
    # 350 m apart: 455 m walked, beyond the 5-minute 300 m (two sites of 200 m²) but within the
    # 10-minute 500 m: the first is merged into the second, 400 m² >= 350 m² (Anhui 2022)
    estates, districts = _big_pair(350)
    care = assess_elderly_care(estates, facilities([]), policy, districts=districts)
    assert len(care.sites) == 1
    site = care.sites.iloc[0]
    assert site["floor_area_m2"] == pytest.approx(400.0)
    assert site["estates_served"] == "A,B" and site["households_served"] == 2000
    assert "merged S0001 (200 m² < 350 m² minimum)" in site["site_note"]
    assert care.estates["elderly_site_id"].tolist() == [site["site_id"]] * 2
    assert len(care.dropped_sites) == 0 and care.summary["sites_merged"] == 1


def test_sites_below_the_minimum_with_no_neighbour_are_dropped_or_enlarged(policy):
    # 600 m apart: 780 m walked, no site can take the other's estates
    estates, districts = _big_pair(600)
    care = assess_elderly_care(estates, facilities([]), policy, districts=districts)
    assert len(care.sites) == 0 and len(care.dropped_sites) == 2
    assert care.dropped_sites["reason"].str.startswith("below the 350 m² minimum").all()
    assert care.estates["elderly_site_id"].isna().all()
    assert care.districts["elderly_pooled_gap_m2"].iloc[0] == pytest.approx(400.0)
    enlarge = policy.with_values({"elderly.small_site_action": "enlarge"})
    care = assess_elderly_care(estates, facilities([]), enlarge, districts=districts)
    assert care.sites["floor_area_m2"].tolist() == [350.0, 350.0]
    assert care.sites["site_note"].str.contains("enlarged from 200 m²").all()


def test_floor_area_per_100_households_by_province(policy):
    estates, districts = _big_pair(600)
    zhejiang = policy.with_values(
        {
            "elderly.province": "浙江",
            "elderly.m2_per_100_households_by_province": ["安徽=20", "浙江=30"],
            "elderly.min_site_m2_by_province": ["浙江=100"],
        }
    )
    care = assess_elderly_care(estates, facilities([]), zhejiang, districts=districts)
    assert care.estates["elderly_required_m2"].tolist() == [300.0, 300.0]
    assert care.sites["floor_area_m2"].tolist() == [300.0, 300.0]  # above Zhejiang's 100 here
    assert care.summary["m2_per_100_households"] == 30.0 and care.summary["min_site_m2"] == 100.0


def test_read_candidate_sites(tmp_path):
    path = tmp_path / "candidates.geojson"
    frame = gpd.GeoDataFrame(
        {"地块名称": ["闲置用房", None, "线"], "面积": [120, 80, 1]},
        geometry=[
            Point(120.1, 30.2),
            box(120.2, 30.2, 120.201, 30.201),
            LineString([(120, 30), (120.1, 30)]),
        ],
        crs="EPSG:4326",
    )
    frame.to_file(path, engine="pyogrio")
    quality = QualityReport()
    sites = io.read_candidate_sites(path, quality=quality)
    assert list(sites["site_name"]) == ["闲置用房", "候选点2"]
    assert list(sites["面积"]) == [120, 80]
    assert list(quality.to_frame()["message"]) == ["candidate site without a point or polygon"]
    only_lines = tmp_path / "lines.geojson"
    frame.iloc[[2]].to_file(only_lines, engine="pyogrio")
    with pytest.raises(InputError, match="no point or polygon"):
        io.read_candidate_sites(only_lines, quality=QualityReport())


def test_coverage_rings_and_gap_estates_for_the_map(policy):
    from geo.facilities.elderly import coverage_rings, gap_estates

    estates = make_estates(
        [
            {"estate_id": "A", "households": 100, "geometry": box(-5, -5, 5, 5)},
            {"estate_id": "B", "households": 100, "geometry": box(995, -5, 1005, 5)},
        ]
    )
    fac = facilities([station(0, 10, 100.0), station(0, -10, 50.0, kind="养老院")])
    care = assess_elderly_care(estates, fac, policy)
    rings = coverage_rings(care, policy)
    walk = policy.elderly.circle_5min_m
    assert list(rings["life_circle"]) == ["5min", "15min"]
    assert rings["walk_m"].iloc[0] == walk
    assert rings["radius_m"].iloc[0] == pytest.approx(walk / policy.elderly.detour_factor, abs=0.1)
    assert rings.geometry.iloc[0].area == pytest.approx(
        np.pi * (walk / policy.elderly.detour_factor) ** 2, rel=0.01
    )
    out = estates.join(care.estates)
    gaps = gap_estates(out)
    assert list(gaps["estate_id"]) == ["B"]  # A is covered by the station, B is 1 km away
    assert gaps["elderly_gap_m2"].iloc[0] == pytest.approx(20.0)


def test_pooled_gap_lets_surplus_offset_shortfall(policy):
    # A sits next to a 100 m² station (needs 20, gets 100 alone); B, 500 m away, needs 20 and
    # gets nothing: summed gap 20, pooled gap 0
    estates = make_estates(
        [
            {"estate_id": "A", "households": 100, "geometry": box(-5, -5, 5, 5)},
            {"estate_id": "B", "households": 100, "geometry": box(495, -5, 505, 5)},
        ]
    )
    estates["district_id"] = "D0001"
    districts = gpd.GeoDataFrame({"district_id": ["D0001"]}, geometry=[box(0, 0, 1, 1)], crs=GK)
    care = assess_elderly_care(
        estates, facilities([station(0, 10, 100.0)]), policy, districts=districts
    )
    d = care.districts.iloc[0]
    assert d["elderly_gap_m2"] == pytest.approx(20.0)
    assert d["elderly_pooled_gap_m2"] == pytest.approx(0.0)


def test_mclp_matches_spopt():
    spopt = pytest.importorskip("spopt.locate", reason="spopt is in the bench extra")
    pulp = pytest.importorskip("pulp")
    rng = np.random.default_rng(7)
    demand = rng.random((300, 2)) * 3000
    sites = rng.random((60, 2)) * 3000
    weights = rng.integers(1, 100, len(demand)).astype(float)
    radius, p = 400.0, 8
    cost = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    started = time.perf_counter()
    ours = maximal_covering(weights, sp.csr_matrix(cost <= radius), p)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    model = spopt.MCLP.from_cost_matrix(cost, weights, radius, p_facilities=p, name="mclp")
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    theirs_s = time.perf_counter() - started
    theirs_sites = [j for j, var in enumerate(model.fac_vars) if var.value() > 0.5]
    theirs = weights[(cost[:, theirs_sites] <= radius).any(axis=1)].sum()
    print(f"MCLP 300x60 p=8: lianpian/HiGHS {ours_s:.3f} s, spopt/CBC {theirs_s:.3f} s")
    assert ours.covered_weight >= theirs - 1e-6
    assert ours.gap == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------- I/O


def test_read_facilities_english_headers_and_polygons(tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "name": ["A站", "B中心", "C"],
            "type": ["Community elderly service station", "day-care centre", "nursing home"],
            "floor_area_m2": ["120", "", "3,000"],
        },
        geometry=[Point(0, 0), box(10, 10, 30, 30), Point(50, 50)],
        crs=GK,
    )
    path = tmp_path / "f.gpkg"
    frame.to_file(path)
    quality = QualityReport()
    out = io.read_facilities(path, quality=quality)
    assert out["facility_type"].tolist() == ["社区养老服务站", "老年人日间照料中心", "养老院"]
    assert out["floor_area_m2"].iloc[0] == 120.0
    assert out["floor_area_m2"].isna().iloc[1]
    assert out["floor_area_m2"].iloc[2] == 3000.0
    assert any("counted as 0" in i.message for i in quality.issues)


def test_read_facilities_without_type_column(tmp_path):
    path = tmp_path / "f.gpkg"
    gpd.GeoDataFrame({"名称": ["x"]}, geometry=[Point(0, 0)], crs=GK).to_file(path)
    with pytest.raises(InputError, match="type"):
        io.read_facilities(path, quality=QualityReport())


# --------------------------------------------------------------------------- Hangzhou


@pytest.mark.realdata
def test_hangzhou_plan_with_facilities():
    from geo.pipeline import load_inputs, run_plan

    hz = "hangzhou/"
    inputs = load_inputs(
        shared_file(hz + "osm_landuse_residential.gpkg"),
        survey=shared_file(hz + "survey_illustrative.csv"),
        roads=shared_file(hz + "osm_roads.gpkg"),
        barriers=[shared_file(hz + "osm_water.gpkg")],
        facilities=shared_file(hz + "elderly_facilities_illustrative.gpkg"),
    )
    result = run_plan(inputs)
    summary = dict(result.extra_layers["elderly_summary"].itertuples(index=False))
    print(summary)
    e = result.estates
    assert summary["distance"] == "walking network"
    assert int(summary["households_without_5min"]) > 0
    assert float(summary["gap_m2"]) == pytest.approx(e["elderly_gap_m2"].sum())
    sites = result.extra_layers["elderly_sites"]
    assert len(sites) == int(summary["sites_proposed"]) > 0
    # every proposed site sits on a member estate of a district and serves what it was given
    assert sites["district_id"].notna().all()
    served = e.loc[e["elderly_site_id"].notna()]
    assert served["elderly_gap_m2"].sum() == pytest.approx(
        sites["floor_area_m2"].sum(), abs=len(sites)
    )
    assert (e["elderly_accessible_m2"].dropna() >= 0).all()
