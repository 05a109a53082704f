"""A lianpian result GeoPackage (``lianpian plan --out``) read back as estates (issue 22)."""

from __future__ import annotations

import pandas as pd
import pytest

from geo import io
from geo.core.errors import QualityReport
from geo.pipeline import load_inputs, run_plan
from geo.pipeline.inputs import drop_derived_columns
from tests.conftest import shared_file


def _written(tmp_path, result):
    path = tmp_path / "hz_plan.gpkg"
    io.write_layers(path, result.layers())
    return path


def test_own_result_plans_again_with_the_same_figures(tmp_path):
    """The demo's estates, planned, written and read back: the same eligibility and districts
    for the same inputs (the other layers given again), the derived columns computed anew."""
    first = load_inputs()
    result = run_plan(first)
    path = _written(tmp_path, result)
    again = load_inputs(
        f"{path}::estates",
        barriers=[f"{first.sources['barriers'].split('; ')[0]}"],
    )
    assert "status" not in again.estates and "priority_score" not in again.estates
    assert "elderly_share" in again.estates  # an input column, kept
    notes = again.quality.to_frame()
    assert notes["message"].str.contains("a lianpian result").sum() == 1
    replanned = run_plan(again)  # no duplicate columns: no TypeError in score_districts
    assert replanned.summary()["by_status"] == result.summary()["by_status"]


def test_a_layer_that_only_has_a_status_column_is_left_alone():
    estates = pd.DataFrame({"estate_id": ["a"], "status": ["x"], "name": ["n"]})
    quality = QualityReport()
    assert drop_derived_columns(estates, "e.gpkg", quality) is estates
    assert len(quality) == 0


@pytest.mark.realdata
def test_hangzhou_result_read_back_gives_the_same_plan(tmp_path):
    estates = shared_file("hangzhou/osm_landuse_residential.gpkg")
    survey = shared_file("hangzhou/survey_illustrative.csv")
    result = run_plan(load_inputs(str(estates), survey=str(survey)))
    path = _written(tmp_path, result)
    replanned = run_plan(load_inputs(f"{path}::estates"))
    assert replanned.summary()["by_status"] == result.summary()["by_status"]
    assert len(replanned.districts) == len(result.districts)
