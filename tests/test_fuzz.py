"""Fuzzing the loaders and the planning run with hypothesis.

- Mutated GeoJSON and CSV bytes fed to the loaders raise only lianpian's own errors.
- Random estate layouts (scattered, overlapping, crossed by arterial roads and a river) planned
  end to end keep the district invariants: connected, eligible only, caps, one county, no district
  pair joined across a barrier.
- Writing the results and reading them back keeps counts and areas; name matching of the survey
  never matches an estate of another county.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box

from geo import io
from geo.core.errors import LianpianError, QualityReport
from geo.core.policy import load_policy
from geo.pipeline import PlanInputs, run_plan
from geo.planning.eligibility import groupable_statuses
from geo.planning.survey import join_survey

from .conftest import GK, make_estates

BAD = Path(__file__).resolve().parent / "data" / "bad"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@st.composite
def mutated(draw, seed: bytes):
    """``seed`` with random byte flips, insertions, deletions and a possible truncation."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(
                st.sampled_from(
                    [b"NaN", b"1e309", b"-", b'"', b"{", b"]", b",", b"\xff\xfe", b"\x00"]
                )
            )
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = draw(st.binary(max_size=16))
    return bytes(data)


def _only_our_errors(suffix: str, data: bytes, read) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        with contextlib.suppress(LianpianError):
            read(path)
        assert path.read_bytes() == data  # never modified, whatever it holds


GEOJSON = (BAD / "base_estates.geojson").read_bytes()
CSV = (BAD / "households_text.csv").read_bytes()


@FUZZ
@given(mutated(GEOJSON))
def test_mutated_geojson_raises_only_our_errors(data):
    _only_our_errors(".geojson", data, lambda p: io.read_estates(p, quality=QualityReport()))


@FUZZ
@given(mutated(CSV))
def test_mutated_csv_raises_only_our_errors(data):
    _only_our_errors(".csv", data, lambda p: io.read_survey(p, quality=QualityReport()))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_as_any_input(data):
    for suffix in (".geojson", ".gpkg", ".shp", ".zip"):
        _only_our_errors(suffix, data, lambda p: io.read_estates(p, quality=QualityReport()))
    for suffix in (".csv", ".xlsx"):
        _only_our_errors(suffix, data, lambda p: io.read_survey(p, quality=QualityReport()))


# --------------------------------------------------------------------------- random layouts


@st.composite
def scattered_layouts(draw):
    """Estates scattered in a 1 km square (they may overlap), a few arterials and a river."""
    n = draw(st.integers(2, 18))
    rows = []
    for i in range(n):
        x, y = draw(st.floats(0, 900)), draw(st.floats(0, 900))
        w, h = draw(st.floats(30, 160)), draw(st.floats(30, 160))
        year = draw(st.sampled_from([1980, 1992, 1999, 2002, 2004, 2012, None]))
        rows.append(
            {
                "estate_id": f"e{i:02d}",
                "geometry": box(x, y, x + w, y + h),
                "build_year_latest": pd.NA if year is None else year,
                "build_year": pd.NA if year is None else year,
                "households": draw(st.integers(1, 1500)),
                "consent_rate": draw(st.sampled_from([0.5, 0.85, 0.95])),
                "county": draw(st.sampled_from(["甲区", "乙区"])),
            }
        )
    roads = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            x = draw(st.floats(0, 1000))
            roads.append(LineString([(x, -100), (x + draw(st.floats(-200, 200)), 1200)]))
        else:
            y = draw(st.floats(0, 1000))
            roads.append(LineString([(-100, y), (1200, y + draw(st.floats(-200, 200)))]))
    river_y = draw(st.one_of(st.none(), st.floats(0, 1000)))
    caps = (draw(st.integers(500, 4000)), draw(st.integers(2, 10)))
    return rows, roads, river_y, caps


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scattered_layouts())
def test_random_layouts_keep_district_invariants(layout):
    rows, roads, river_y, (cap_h, cap_n) = layout
    policy = load_policy().with_values(
        {"districts.max_households": cap_h, "districts.max_estates": cap_n}
    )
    estates = make_estates(rows)
    road_layer = gpd.GeoDataFrame({"fclass": ["primary"] * len(roads)}, geometry=roads, crs=GK)
    river = None
    if river_y is not None:
        river = gpd.GeoDataFrame(
            {"barrier": ["water"]}, geometry=[box(-100, river_y - 6, 1200, river_y + 6)], crs=GK
        )
    inputs = PlanInputs(estates=estates, roads=road_layer if roads else None, barriers=river)
    result = run_plan(inputs, policy)
    out, graph = result.estates.set_index("estate_id"), result.graph
    allowed = set(groupable_statuses(policy))
    barriers = [*roads, *([] if river is None else [river.geometry.iloc[0]])]
    seen: set[str] = set()
    for _, district in result.districts.iterrows():
        ids = district["members"].split(",")
        assert not seen & set(ids)
        seen |= set(ids)
        assert 2 <= len(ids) <= cap_n
        assert district["households"] <= cap_h
        assert nx.is_connected(graph.subgraph(ids))
        assert set(out.loc[ids, "status"]) <= allowed
        assert out.loc[ids, "county"].nunique() == 1
        for a, b in graph.subgraph(ids).edges():
            ga, gb = out.loc[a, "geometry"], out.loc[b, "geometry"]
            if ga.intersects(gb):
                continue  # touching or overlapping estates share ground: nothing lies between
            gap = shapely.shortest_line(ga, gb)
            for barrier in barriers:
                crossing = gap.intersection(barrier)
                if barrier.geom_type == "LineString":
                    # a gap line that crosses a road (not merely touches its end) is a crossing
                    assert crossing.is_empty or not gap.crosses(barrier), (a, b)
                else:
                    assert crossing.length < policy.adjacency.min_barrier_crossing_m, (a, b)
    in_districts = set(out.index[out["district_id"].notna()])
    assert in_districts == seen


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scattered_layouts())
def test_written_results_round_trip(layout):
    rows, _roads, _, _ = layout
    result = run_plan(PlanInputs(estates=make_estates(rows)), load_policy())
    with tempfile.TemporaryDirectory() as folder:
        path = io.write_layers(Path(folder) / "plan.gpkg", result.layers())
        estates = pyogrio.read_dataframe(path, layer="estates")
        districts = pyogrio.read_dataframe(path, layer="districts")
        assert sorted(p.name for p in Path(folder).iterdir()) == ["plan.gpkg"]
    assert len(estates) == len(result.estates)
    assert len(districts) == len(result.districts)
    assert estates.crs == result.crs
    assert estates.geometry.area.sum() == pytest.approx(result.estates.geometry.area.sum())
    assert districts["households"].sum() == result.districts["households"].sum()
    assert list(estates["estate_id"]) == list(result.estates["estate_id"])


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["朝晖一区", "朝晖1区", "文晖苑", "文晖小区"]),
            st.sampled_from(["甲区", "乙区"]),
        ),
        min_size=1,
        max_size=8,
    ),
    st.lists(
        st.tuples(
            st.sampled_from(["朝晖一小区", "文晖", "朝晖一区"]),
            st.sampled_from(["甲区", "乙区", ""]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_name_matching_never_crosses_counties(estate_rows, survey_rows):
    estates = make_estates(
        [
            {
                "estate_id": f"e{i}",
                "name": n,
                "county": c,
                "geometry": box(i * 200, 0, i * 200 + 100, 100),
            }
            for i, (n, c) in enumerate(estate_rows)
        ]
    )
    survey = pd.DataFrame(
        {
            "estate_id": pd.array([pd.NA] * len(survey_rows), dtype="string"),
            "name": [n for n, _ in survey_rows],
            "county": [c or pd.NA for _, c in survey_rows],
            "households": pd.array([1000 + i for i in range(len(survey_rows))], dtype="Int64"),
            "survey_row": range(2, len(survey_rows) + 2),
        }
    )
    joined, report = join_survey(estates, survey)
    matched = (
        joined.loc[joined["survey_row"].notna()] if "survey_row" in joined else joined.iloc[:0]
    )
    for _, estate in matched.iterrows():
        row = survey.loc[survey["survey_row"] == estate["survey_row"]].iloc[0]
        if not pd.isna(row["county"]):
            assert estate["county"] == row["county"]
    assert report.matched_by_name == len(matched)
