import geopandas as gpd
import networkx as nx
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from geo.core.policy import load_policy
from geo.planning.adjacency import build_adjacency
from geo.planning.districts import estimate_investment, form_districts
from geo.planning.eligibility import assess_eligibility, groupable_statuses
from tests.conftest import GK, make_estates, squares_in_a_row


def _plan(estates, policy, barriers=None, unit_column=None):
    estates = assess_eligibility(estates, policy)
    estates = pd.concat([estates, estimate_investment(estates, policy)], axis=1)
    graph, _ = build_adjacency(estates, tolerance_m=policy.adjacency.tolerance_m, barriers=barriers)
    membership, districts = form_districts(estates, graph, policy, unit_column=unit_column)
    return pd.concat([estates, membership], axis=1), districts, graph


def test_three_in_a_row_make_one_district(policy):
    estates, districts, _ = _plan(squares_in_a_row(3, households=100, floor_area_m2=8000.0), policy)
    assert len(districts) == 1
    d = districts.iloc[0]
    assert d["members"] == "A,B,C" and d["estates"] == 3 and d["households"] == 300
    # needs 供水；排水 (make_estates) at 1,800 + 2,500 yuan per household (cost.item_rates)
    assert d["investment_yuan"] == 3 * 100 * (1800 + 2500)
    assert d["investment_basic_yuan"] == d["investment_yuan"]
    assert d["build_year_min"] == 1990 and d["build_year_max"] == 1990
    assert set(estates["district_id"]) == {"D0001"}
    assert d.geometry.is_valid and d.geometry.geom_type == "Polygon"  # joined through the gaps


def test_lone_estate_is_a_standalone_project(policy):
    estates = squares_in_a_row(3)
    estates.loc[1, "build_year_latest"] = 2015  # B is too new: A and C are cut apart
    estates, districts, _ = _plan(estates, policy)
    assert len(districts) == 0
    assert estates["project_type"].tolist()[0] == "standalone"
    assert pd.isna(estates["project_type"].iloc[1])


def test_household_cap_splits_into_connected_parts(policy):
    capped = policy.with_values({"districts.max_households": 250})
    _estates, districts, graph = _plan(squares_in_a_row(6, households=100), capped)
    assert (districts["households"] <= 250).all()
    for members in districts["members"]:
        ids = members.split(",")
        assert nx.is_connected(graph.subgraph(ids))
    assert sorted(districts["members"]) == ["A,B", "C,D", "E,F"]


def test_estate_cap(policy):
    capped = policy.with_values({"districts.max_estates": 3})
    _, districts, _ = _plan(squares_in_a_row(7), capped)
    assert (districts["estates"] <= 3).all()
    assert districts["estates"].sum() == 7  # the leftover single estate joined a neighbour part


def test_districts_stay_in_one_unit(policy):
    estates = squares_in_a_row(4)
    estates["county"] = pd.array(["甲区", "甲区", "乙区", "乙区"], dtype="string")
    _, districts, _ = _plan(estates, policy, unit_column="county")
    assert sorted(districts["members"]) == ["A,B", "C,D"]
    assert sorted(districts["county"]) == ["乙区", "甲区"]


def test_extension_estates_join_only_when_allowed(policy):
    estates = squares_in_a_row(3)
    estates.loc[1, "build_year_latest"] = 2003
    _, with_ext, _ = _plan(estates, policy)
    assert with_ext["members"].tolist() == ["A,B,C"] and with_ext["extension_estates"].iloc[0] == 1
    strict = policy.with_values({"eligibility.extension_enabled": False})
    _, without, _ = _plan(estates, strict)
    assert len(without) == 0


def test_investment_falls_back_to_households(policy):
    estates = squares_in_a_row(1, floor_area_m2=pd.NA, households=10, needs="")
    inv = estimate_investment(estates, policy)
    assert inv["investment_yuan"].iloc[0] == 272000
    assert bool(inv["investment_estimated"].iloc[0])


@st.composite
def layouts(draw):
    """A grid of estates (rows 20 m apart) with random years, households, lanes and a river."""
    cols = draw(st.integers(1, 6))
    rows = draw(st.integers(1, 5))
    years = st.sampled_from([1985, 1995, 2000, 2003, 2010, None])
    estates = []
    for c in range(cols):
        for r in range(rows):
            gap = draw(st.sampled_from([0.0, 8.0, 20.0, 40.0]))
            year = draw(years)
            estates.append(
                {
                    "estate_id": f"e{c}_{r}",
                    "geometry": box(c * 120, r * 140, c * 120 + 120 - gap, r * 140 + 120),
                    "build_year_latest": year if year is not None else pd.NA,
                    "households": draw(st.integers(1, 900)),
                    "county": "甲" if c < cols / 2 else "乙",
                }
            )
    river_row = draw(st.integers(0, rows))
    cap_h = draw(st.integers(900, 3000))
    cap_n = draw(st.integers(2, 8))
    return estates, river_row, cap_h, cap_n


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_district_invariants(layout):
    rows, river_row, cap_h, cap_n = layout
    policy = load_policy().with_values(
        {"districts.max_households": cap_h, "districts.max_estates": cap_n}
    )
    estates = make_estates(rows)
    y = river_row * 140 - 10  # in the 20 m street between two rows of estates
    river = gpd.GeoDataFrame(
        {"barrier": ["water"]}, geometry=[box(-50, y - 5, 1000, y + 5)], crs=GK
    )
    estates, districts, graph = _plan(estates, policy, barriers=river, unit_column="county")
    allowed = set(groupable_statuses(policy))
    by_id = estates.set_index("estate_id")
    seen = set()
    for _, d in districts.iterrows():
        ids = d["members"].split(",")
        assert not seen & set(ids)  # an estate is in at most one district
        seen |= set(ids)
        assert len(ids) >= 2
        assert nx.is_connected(graph.subgraph(ids))  # connected in the adjacency graph
        assert set(by_id.loc[ids, "status"]) <= allowed  # eligible / extension only
        assert d["households"] <= cap_h and d["estates"] <= cap_n  # caps
        assert by_id.loc[ids, "county"].nunique() == 1  # one unit
        for a, b in graph.subgraph(ids).edges():  # no gap crosses the river
            gap_line = by_id.loc[a, "geometry"].distance(by_id.loc[b, "geometry"])
            assert gap_line <= policy.adjacency.tolerance_m
        assert not d.geometry.intersection(river.geometry.iloc[0]).area > 1.0
    assert set(estates.loc[estates["district_id"].notna(), "estate_id"]) == seen
