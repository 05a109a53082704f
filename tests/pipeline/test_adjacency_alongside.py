"""The adjacency built alongside the survey join, eligibility and investment (issue 20).

Five 100 m squares in a row, 10 m apart (A-E), in EPSG:4549, a canal polygon through the gap
A|B, and a survey: A by its id (its row fills A's empty county), B and C by their names, D by its
id, a row that matches no estate; E has no row. The survey gives the build years (1990-2000:
eligible); E's is unknown (needs a survey). So the adjacency has the pairs A-B (blocked by the
water), B-C, C-D and D-E; B, C and D make one district, A stands alone. The run with the
adjacency in a thread gives what the steps one after the other give, note for note.
"""

from __future__ import annotations

import threading

import geopandas as gpd
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from shapely.geometry import box

import geo.pipeline.run as run
from geo.core import _machine, _memo
from geo.core.errors import InputError, QualityReport
from geo.pipeline import PlanInputs, prepare_estates, run_plan
from geo.pipeline.inputs import barrier_layer
from geo.planning.adjacency import build_adjacency
from tests.conftest import GK, squares_in_a_row


def _inputs() -> PlanInputs:
    estates = squares_in_a_row(5, build_year_raw=None, build_year=pd.NA, build_year_latest=pd.NA)
    estates["name"] = pd.array(["甲苑", "乙苑", "丙苑", "丁苑", "戊苑"], dtype="string")
    estates["county"] = pd.array([pd.NA, "上城区", "上城区", "上城区", "上城区"], dtype="string")
    canal = gpd.GeoDataFrame(
        {"barrier": ["water"]}, geometry=[box(101, -50, 109, 150)], crs=GK
    )  # through the 10 m gap A|B
    survey = pd.DataFrame(
        {
            "estate_id": pd.array(["A", pd.NA, pd.NA, "D", pd.NA], dtype="string"),
            "name": pd.array(["", "乙苑", "丙苑", "丁苑", "别处"], dtype="string"),
            "county": pd.array(["上城区"] * 5, dtype="string"),
            "build_year_raw": pd.array(["1990", "1995", "1998", "2000", "1980"], dtype="string"),
            "build_year": pd.array([1990, 1995, 1998, 2000, 1980], dtype="Int64"),
            "build_year_latest": pd.array([1990, 1995, 1998, 2000, 1980], dtype="Int64"),
            "survey_row": range(2, 7),
        }
    )
    return PlanInputs(
        estates=estates,
        survey=survey,
        barriers=canal,
        sources={"estates": "estates.gpkg", "survey": "survey.csv"},
    )


def _sequential(inputs: PlanInputs, policy) -> tuple:
    """The adjacency as the run built it before issue 20: after the estates were prepared."""
    quality = QualityReport()
    quality.extend(inputs.quality)
    estates, crs, _ = prepare_estates(inputs, policy, quality)
    graph, edges = build_adjacency(
        estates,
        tolerance_m=policy.adjacency.tolerance_m,
        barriers=barrier_layer(inputs, policy, crs),
        min_barrier_crossing_m=policy.adjacency.min_barrier_crossing_m,
    )
    return estates, graph, edges, quality


def _same_layers(got, want) -> None:
    layers, expected = got.layers(), want.layers()
    assert layers.keys() == expected.keys()
    for name, frame in expected.items():
        if name != "run_info":  # the time it was made
            assert_frame_equal(pd.DataFrame(layers[name]), pd.DataFrame(frame), obj=name)


@pytest.fixture
def builds(monkeypatch):
    """The estates each adjacency of the run was built from (a spy on build_adjacency)."""
    calls: list[gpd.GeoDataFrame] = []

    def spy(estates, **settings):
        calls.append(estates)
        return build_adjacency(estates, **settings)

    monkeypatch.setattr(run, "build_adjacency", spy)
    return calls


def test_the_plan_is_the_one_of_the_steps_one_after_the_other(policy, builds, monkeypatch):
    inputs = _inputs()
    result = run_plan(inputs, policy)
    estates, graph, edges, _quality = _sequential(inputs, policy)
    assert len(builds) == 1  # built once, in the thread, from the projected estates
    assert "status" not in builds[0]  # before eligibility
    assert_frame_equal(pd.DataFrame(result.adjacency), pd.DataFrame(edges))
    assert sorted(result.graph.edges(data=True)) == sorted(graph.edges(data=True))
    assert list(result.estates["status"]) == list(estates["status"])
    assert list(edges["blocked_by"]) == ["water", "", "", ""]  # A-B, B-C, C-D, D-E
    assert list(result.estates["status"]) == ["eligible"] * 4 + ["needs_survey"]
    assert result.estates["county"].iloc[0] == "上城区"  # A's, from its survey row
    assert list(result.estates["district_id"].fillna("")) == ["", "D0001", "D0001", "D0001", ""]
    # on one core the adjacency runs first, in this thread: the same plan again
    monkeypatch.setattr(_machine, "cores", lambda: 1)
    _same_layers(run_plan(inputs, policy), result)


def test_notes_and_progress_come_in_the_order_of_the_steps(policy):
    inputs = _inputs()
    steps: list[tuple[float, str]] = []
    result = run_plan(inputs, policy, progress=lambda f, m: steps.append((f, m)))
    *_, quality = _sequential(inputs, policy)
    # the notes up to the adjacency, then the later steps' (a corridor assumption)
    assert_frame_equal(result.quality.to_frame().iloc[: len(quality)], quality.to_frame())
    notes = quality.to_frame()["message"].tolist()
    assert notes[:2] == ["survey row matched no estate", "no survey row (first: E)"]
    assert [f for f, _ in steps][:6] == [0.05, 0.2, 0.3, 0.45, 0.65, 0.8]
    assert steps[3][1] == "building the adjacency graph"
    assert steps[-1] == (1.0, "done")


def test_an_error_of_the_adjacency_is_raised_in_the_caller(policy, monkeypatch):
    def fails(*args, **kwargs):
        raise ValueError("estate_id must be unique")

    monkeypatch.setattr(run, "build_adjacency", fails)
    with pytest.raises(ValueError, match="estate_id must be unique"):
        run_plan(_inputs(), policy)
    assert not [t for t in threading.enumerate() if t.name.startswith("lianpian-alongside")]


def test_an_error_of_the_survey_steps_comes_first_as_before(policy, monkeypatch):
    def fails(*args, **kwargs):
        raise ValueError("adjacency")

    def refused(*args, **kwargs):
        raise InputError("no build year column", source="survey.csv", fix="add one")

    monkeypatch.setattr(run, "build_adjacency", fails)
    monkeypatch.setattr(run, "assess_eligibility", refused)
    with pytest.raises(InputError, match="no build year column"):
        run_plan(_inputs(), policy)
    assert not [t for t in threading.enumerate() if t.name.startswith("lianpian-alongside")]


def test_estates_whose_rows_moved_after_the_thread_started_get_their_own_adjacency(
    policy, builds, monkeypatch
):
    """The guard: were a step after the projection ever to move rows (none does), the adjacency
    built meanwhile would be of other rows; the run builds it again from the estates it has."""
    assess = run.assess_eligibility
    monkeypatch.setattr(run, "assess_eligibility", lambda e, p: assess(e.iloc[::-1], p))
    result = run_plan(_inputs(), policy)
    assert len(builds) == 2
    assert list(builds[1]["estate_id"]) == ["E", "D", "C", "B", "A"]
    _, edges = build_adjacency(
        builds[1],
        tolerance_m=policy.adjacency.tolerance_m,
        barriers=barrier_layer(_inputs(), policy, result.crs),
        min_barrier_crossing_m=policy.adjacency.min_barrier_crossing_m,
    )
    assert_frame_equal(pd.DataFrame(result.adjacency), pd.DataFrame(edges))
    assert list(result.adjacency["source_id"]) == ["E", "D", "C", "B"]


def test_the_survey_steps_keep_rows_ids_and_shapes(policy):
    inputs = _inputs()
    projected, _crs = run.project_estates(inputs)
    described, report = run.describe_estates(projected, inputs, policy, QualityReport())
    assert report is not None and report.unmatched_rows == [6]
    assert described["county"].iloc[0] == "上城区" and pd.isna(projected["county"].iloc[0])
    assert run.same_shapes(described, run.adjacency_shapes(projected))
    moved = described.iloc[[1, 0, 2, 3, 4]]
    assert not run.same_shapes(moved, projected)
    renamed = described.assign(estate_id=["A", "B", "C", "D", "F"])
    assert not run.same_shapes(renamed, projected)
    reshaped = described.set_geometry(described.buffer(0.001))
    assert not run.same_shapes(reshaped, projected)


def test_with_the_apps_memos_a_replan_reuses_the_adjacency(policy, builds):
    inputs = _inputs()
    fresh = run_plan(inputs, policy)
    was = _memo.enabled()
    try:
        _memo.enable()
        run._ADJACENCY.clear()
        first = run_plan(inputs, policy)
        again = run_plan(inputs, policy.with_values({"eligibility.cutoff_year": 1995}))
    finally:
        _memo.enable(was)
        run._ADJACENCY.clear()
    assert len(builds) == 2  # the fresh run's, and the first memoised run's
    _same_layers(first, fresh)
    assert again.adjacency is first.adjacency
    assert list(again.estates["status"])[:4] == ["eligible", "eligible", "extension", "extension"]


def test_the_barriers_alongside_the_shared_boundaries_give_the_same_edges(policy, monkeypatch):
    """Inside build_adjacency the shared boundaries are computed in a thread while the barriers
    are asked for and tested: the edges of one core (one after the other) again."""
    estates, crs = run.project_estates(_inputs())
    asked: list[str] = []

    def canal(areas):
        asked.append(threading.current_thread().name)
        return barrier_layer(_inputs(), policy, crs, areas=areas)

    settings = {"tolerance_m": policy.adjacency.tolerance_m, "barriers": canal}
    _, edges = build_adjacency(estates, **settings)
    monkeypatch.setattr(_machine, "cores", lambda: 1)
    _, alone = build_adjacency(estates, **settings)
    assert_frame_equal(pd.DataFrame(edges), pd.DataFrame(alone))
    # the facing 100 m side and 15 m of the two sides next to it (within 25 m of a square 10 m
    # away), 130 m less the polygonal buffer's corners
    assert list(edges["shared_boundary_m"]) == [129.7] * 4
    assert asked == [threading.current_thread().name] * 2  # in the caller's thread
