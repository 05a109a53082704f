"""load_inputs checks a barrier or road layer's validity in the background while it reads the next
one: notes and errors still come in the order of the inputs (estates, survey, barriers, roads)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from geo import io
from geo.core import _machine
from geo.core.errors import InputError, QualityReport
from geo.pipeline import offsets
from geo.pipeline.inputs import load_inputs
from geo.pipeline.offsets import check_reference_offset

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


# The barrier and road layers are read in a thread from the start, beside the estates and the
# survey, and checked against the estates there (issue 20): on two cores and on one, notes
# and errors are those of one read after another.


@pytest.fixture(params=[2, 1], ids=["two cores", "one core"])
def machine_cores(request, monkeypatch):
    monkeypatch.setattr(_machine, "cores", lambda: request.param)
    return request.param


def test_notes_come_estates_survey_layers_then_offsets(machine_cores) -> None:
    inputs = load_inputs(
        BAD / "duplicate_ids.geojson",
        survey=BAD / "households_text.csv",
        barriers=[BAD / "layers.gpkg"],
        roads=BAD / "river_near_estates.geojson",
    )
    sources = [str(issue.source) for issue in inputs.quality.issues]
    assert sources == ["duplicate_ids.geojson", "households_text.csv", "layers.gpkg"]
    assert "duplicate id renamed" in str(inputs.quality.issues[0].message)


def test_the_estates_error_comes_before_a_barrier_error(machine_cores) -> None:
    with pytest.raises(InputError) as found:
        load_inputs(
            BAD / "points.geojson",  # points, not polygons
            survey=BAD / "survey_binary.csv",
            barriers=[BAD / "barrier_points.geojson"],  # no line or polygon
            roads=BAD / "broken.geojson",
        )
    assert found.value.source == "points.geojson"
    assert "not polygons" in str(found.value)


def test_the_first_bad_layer_is_reported_after_good_estates_and_survey(machine_cores) -> None:
    with pytest.raises(InputError) as found:
        load_inputs(
            BAD / "base_estates.geojson",
            survey=BAD / "survey_ok.csv",
            barriers=[BAD / "layers.gpkg", BAD / "barrier_points.geojson"],
            roads=BAD / "broken.geojson",
        )
    assert found.value.source == "barrier_points.geojson"


@pytest.mark.parametrize(
    ("estates", "layers"),
    [
        ("estates_gcj02_as_wgs84.geojson", {"roads": BAD / "gcj_roads_wgs84.geojson"}),
        ("estates_wrong_zone.gpkg", {"barriers": [BAD / "river_near_estates.geojson"]}),
    ],
    ids=["GCJ-02 against the roads", "wrong zone against a barrier"],
)
def test_offset_checks_run_ahead_warn_as_the_check_in_place(machine_cores, estates, layers):
    inputs = load_inputs(BAD / estates, **layers)
    roads = layers.get("roads")
    references = [(None if roads is None else str(roads), inputs.roads), (None, None)]
    if "barriers" in layers:  # one layer: the frame of the barriers is that layer's
        references.append((str(layers["barriers"][0]), inputs.barriers))
    in_place = QualityReport()
    check_reference_offset(inputs.estates, references, str(BAD / estates), in_place)
    assert len(in_place) == 1  # the data do disagree
    assert inputs.quality.issues[-1:] == in_place.issues


def test_an_error_of_a_check_run_ahead_comes_where_the_check_comes(
    machine_cores, monkeypatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("check failed")

    monkeypatch.setattr(offsets, "detect_gcj02_offset", broken)
    layers = {"roads": BAD / "river_near_estates.geojson"}
    with pytest.raises(InputError) as found:  # the boundaries are read before the checks
        load_inputs(
            BAD / "base_estates.geojson", boundaries=BAD / "boundaries_no_level.geojson", **layers
        )
    assert found.value.source == "boundaries_no_level.geojson"
    with pytest.raises(RuntimeError, match="check failed"):
        load_inputs(BAD / "base_estates.geojson", **layers)
    load_inputs(BAD / "base_estates.geojson", source_crs="gcj02", **layers)  # no check


def test_the_warnings_state_is_as_before(machine_cores, monkeypatch) -> None:
    # two threads' overlapping warnings blocks can leave one's filter behind, as this reader
    # does: load_inputs puts the state back
    read_estates = io.read_estates

    def leaving_a_filter(*args, **kwargs):
        warnings.simplefilter("ignore")
        return read_estates(*args, **kwargs)

    monkeypatch.setattr(io, "read_estates", leaving_a_filter)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        before = (list(warnings.filters), warnings.showwarning)
        load_inputs(
            BAD / "base_estates.geojson",
            survey=BAD / "survey_ok.csv",
            barriers=[BAD / "layers.gpkg"],
            roads=BAD / "river_near_estates.geojson",
        )
        assert (list(warnings.filters), warnings.showwarning) == before
