"""The dask engine gives the same plan as the single-process run (real Hangzhou data)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo.core.errors import InputError
from geo.distributed import plan_distributed, unit_partitions
from geo.pipeline import PlanInputs, load_inputs, run_plan
from tests.conftest import make_estates, shared_file

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _assert_same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a = a.reset_index(drop=True)
    b = b.reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    for column in a.columns:
        if isinstance(a[column].dtype, gpd.array.GeometryDtype):
            # same shapes; a union's ring may start at another vertex when the parts came in
            # another order, so compare areas of difference, not vertex lists
            assert (a[column].symmetric_difference(b[column]).area < 0.01).all(), column
            assert np.allclose(a[column].area, b[column].area, rtol=1e-9), column
        else:
            pd.testing.assert_series_equal(a[column], b[column], check_names=False, obj=column)


@pytest.mark.realdata
def test_hangzhou_by_county_equals_single_process(client):
    hz = "hangzhou/"
    inputs = load_inputs(
        shared_file(hz + "osm_landuse_residential.gpkg"),
        survey=shared_file(hz + "survey_illustrative.csv"),
        barriers=[shared_file(hz + "osm_water.gpkg")],
        roads=shared_file(hz + "osm_roads.gpkg"),
        boundaries=f"{shared_file('boundaries/admin_cnmaps.gpkg')}::admin_wgs84",
    )
    single = run_plan(inputs)
    spread = plan_distributed(inputs, client=client)
    # the run is really split: several counties, and districts that would cross a county line
    assert single.estates["county"].nunique() >= 5
    assert len(single.districts) > 50
    county = single.estates.set_index("estate_id")["county"]
    pairs = single.adjacency
    assert (county[pairs["source_id"]].to_numpy() != county[pairs["target_id"]].to_numpy()).any()
    _assert_same_frame(single.estates, spread.estates)
    _assert_same_frame(single.districts, spread.districts)
    _assert_same_frame(single.adjacency, spread.adjacency)
    assert set(single.graph.edges()) == set(spread.graph.edges())
    assert single.summary() == spread.summary()
    # the corridors are planned per county on the workers: the same segments, in the same order
    assert "corridor_length_m" in spread.districts and len(single.extra_layers["corridors"]) > 50
    for layer in ("corridors", "corridor_utilities"):
        _assert_same_frame(single.extra_layers[layer], spread.extra_layers[layer])
    assert single.extra_layers["corridors"].geometry.to_wkb().tolist() == (
        spread.extra_layers["corridors"].geometry.to_wkb().tolist()
    )
    notes = [(n.where, n.message) for n in single.quality.issues if n.source == "corridors"]
    assert notes == [(n.where, n.message) for n in spread.quality.issues if n.source == "corridors"]


def test_halo_holds_the_neighbours_across_the_unit_line():
    # A | B | C in a row, 10 m gaps; A and B in county x, C in county y
    estates = make_estates(
        [
            {"estate_id": "A", "county": "x", "geometry": box(0, 0, 100, 100)},
            {"estate_id": "B", "county": "x", "geometry": box(110, 0, 210, 100)},
            {"estate_id": "C", "county": "y", "geometry": box(220, 0, 320, 100)},
            {"estate_id": "D", "county": "y", "geometry": box(1000, 0, 1100, 100)},
        ]
    )
    parts = {u: (rows, own) for u, rows, own in unit_partitions(estates, "county", 25.0)}
    assert parts["x"][0].tolist() == [0, 1, 2]  # C is B's neighbour across the line
    assert parts["x"][1].tolist() == [True, True, False]
    assert parts["y"][0].tolist() == [1, 2, 3]
    assert parts["y"][1].tolist() == [False, True, True]


def test_estates_without_units_are_refused(client, policy):
    estates = make_estates([{"estate_id": "A", "geometry": box(0, 0, 10, 10)}])
    with pytest.raises(InputError, match="administrative unit"):
        plan_distributed(PlanInputs(estates=estates), policy, client=client)


def test_schedule_model_of_the_unit_tasks():
    """List scheduling in submission order: hand-checked makespans and the two lower bounds."""
    from geo.distributed import simulate_schedule

    assert simulate_schedule([3, 1, 1, 1], 1) == 6
    # worker A: 3; worker B: 1, 1, 1 -> both free at 3
    assert simulate_schedule([3, 1, 1, 1], 2) == 3
    # in order: A 1, B 1, A 2, then the big task on B (free at 1): 1 + 5 = 6
    assert simulate_schedule([1, 1, 1, 5], 2) == 6
    # each costs 0.5 more: A 1.5, B 1.5, A 3, B 1.5 + 5.5 = 7
    assert simulate_schedule([1, 1, 1, 5], 2, overhead_s=0.5) == 7
    rng = np.random.default_rng(0)
    tasks = rng.exponential(1.0, 200)
    for w in (1, 2, 8, 64):
        span = simulate_schedule(tasks, w)
        assert span >= max(tasks.max(), tasks.sum() / w) - 1e-9
        assert span <= tasks.sum() / w + tasks.max() + 1e-9  # list scheduling's bound
    with pytest.raises(ValueError):
        simulate_schedule([1.0], 0)
