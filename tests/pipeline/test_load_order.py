"""load_inputs checks a barrier or road layer's validity in the background while it reads the next
one: notes and errors still come in the order of the inputs (estates, survey, barriers, roads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.core.errors import InputError
from geo.pipeline.inputs import load_inputs

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"


def test_barrier_notes_come_after_the_survey_notes() -> None:
    inputs = load_inputs(
        BAD / "base_estates.geojson",
        survey=BAD / "households_text.csv",
        barriers=[BAD / "layers.gpkg"],
        roads=BAD / "river_near_estates.geojson",
    )
    sources = [str(issue.source) for issue in inputs.quality.issues]
    assert sources == ["households_text.csv", "layers.gpkg"]
    assert len(inputs.barriers) and len(inputs.roads)


def test_the_survey_error_comes_before_a_barrier_error() -> None:
    with pytest.raises(InputError) as found:
        load_inputs(
            BAD / "base_estates.geojson",
            survey=BAD / "survey_binary.csv",
            barriers=[BAD / "points.geojson"],  # no line or polygon: an error of its own
        )
    assert found.value.source == "survey_binary.csv"


def test_a_barrier_error_is_raised_with_a_good_survey() -> None:
    with pytest.raises(InputError) as found:
        load_inputs(
            BAD / "base_estates.geojson",
            survey=BAD / "survey_ok.csv",
            barriers=[BAD / "points.geojson"],
            roads=BAD / "broken.geojson",
        )
    assert found.value.source == "points.geojson"
    assert "no lines or polygons" in str(found.value)
