"""write_layers writes through Arrow the GeoPackage pyogrio's feature-by-feature writer makes (issue 20).

Every column type a plan's layers carry (nullable integers, floats, booleans and text with gaps,
object columns of text or of other values, numpy booleans, a date), Polygons mixed with
MultiPolygons, a missing geometry, a table without geometry and an empty one: the SQLite tables,
their schema and the GeoPackage's own tables are the same, write time aside.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import MultiPolygon, box

from geo.core.errors import OutputError
from geo.io import writers
from geo.io.output_guard import guarded_run
from geo.io.writers import GeoPackageWriter, _plain, write_layers
from tests.conftest import GK


def _layers() -> dict[str, pd.DataFrame]:
    n = 4
    estates = gpd.GeoDataFrame(
        {
            "estate_id": pd.array(["a", "b", None, "d"], dtype="string"),
            "households": pd.array([10, None, 30, 40], dtype="Int64"),
            "buildings": pd.array([1, 2, 3, 4], dtype="Int64"),
            "consent_rate": pd.array([0.5, None, 1.0, 0.25], dtype="Float64"),
            "ready": pd.array([True, False, None, True], dtype="boolean"),
            "blocked": np.array([True, False, False, True]),
            "gap_m": [1.5, np.nan, 0.1, 1e9],
            "rank": np.arange(n, dtype=np.int64),
            "small": np.arange(n, dtype=np.int32),
            "mixed": pd.Series([1, "x", None, 2.5], dtype=object),
            "flags": pd.Series([True, None, False, np.nan], dtype=object),
            "text": pd.Series(["甲", None, "", "丁"], dtype=object),
        },
        geometry=[
            box(0, 0, 1, 1),
            MultiPolygon([box(2, 0, 3, 1), box(4, 0, 5, 1)]),
            None,
            box(6, 0, 7, 1),
        ],
        crs=GK,
    )
    table = pd.DataFrame({"level": ["total"], "wan_yuan": [12.34], "share": [1.0]})
    empty = pd.DataFrame([], columns=["level", "id", "wan_yuan"])
    dated = pd.DataFrame({"when": pd.to_datetime(["2026-01-02 03:04:05"]), "n": [1]})
    return {"estates": estates, "funding": table, "mobilisation": empty, "run_info": dated}


def _contents(path) -> dict[str, object]:
    connection = sqlite3.connect(path)
    try:
        out: dict[str, object] = {
            "schema": sorted(
                r for r in connection.execute("SELECT type, name, sql FROM sqlite_master")
            ),
            "contents": [
                r[:4] + r[5:] for r in connection.execute("SELECT * FROM gpkg_contents")
            ],  # without last_change, the time of writing
            "geometry_columns": connection.execute(
                "SELECT * FROM gpkg_geometry_columns"
            ).fetchall(),
        }
        for (table,) in connection.execute("SELECT table_name FROM gpkg_contents"):
            out[table] = connection.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
        return out
    finally:
        connection.close()


def test_arrow_writes_the_layers_the_feature_writer_writes(tmp_path):
    layers = _layers()
    reference = tmp_path / "features.gpkg"
    for name, frame in layers.items():
        pyogrio.write_dataframe(_plain(frame), reference, layer=name, driver="GPKG")
    written = write_layers(tmp_path / "plan.gpkg", layers)
    assert _contents(written) == _contents(reference)
    back = gpd.read_file(written, layer="estates")
    cells = {c: [None if pd.isna(v) else v for v in back[c]] for c in ("flags", "mixed")}
    assert cells == {"flags": ["True", None, "False", None], "mixed": ["1", "x", None, "2.5"]}
    assert back.geometry.geom_type.tolist()[:2] == ["MultiPolygon", "MultiPolygon"]


def test_the_sqlite_setting_is_restored_after_writing(tmp_path):
    option = "OGR_SQLITE_SYNCHRONOUS"
    assert pyogrio.get_gdal_config_option(option) is None
    write_layers(tmp_path / "plan.gpkg", {"funding": _layers()["funding"]})
    assert pyogrio.get_gdal_config_option(option) is None
    with pytest.raises(Exception):  # noqa: B017 - what fails is not the point here
        write_layers(tmp_path / "bad.gpkg", {"x": "not a frame"})  # type: ignore[dict-item]
    assert pyogrio.get_gdal_config_option(option) is None
    assert not (tmp_path / "bad.gpkg").exists()


def test_layers_written_ahead_make_the_file_write_layers_makes(tmp_path):
    layers = _layers()
    reference = write_layers(tmp_path / "reference.gpkg", layers)
    with GeoPackageWriter(tmp_path / "plan.gpkg") as out:
        out.write_ahead("estates", layers["estates"])
        out.write_ahead("funding", layers["funding"])
        assert not (tmp_path / "plan.gpkg").exists()  # nothing in place before write()
        written = out.write(layers)
    assert _contents(written) == _contents(reference)
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.gpkg", "reference.gpkg"]


@pytest.mark.parametrize(
    "ahead",
    [
        pytest.param([("funding", "funding")], id="not the first layer"),
        pytest.param([("estates", "funding")], id="another frame under the name"),
        pytest.param([("gone", "estates")], id="a layer the run no longer has"),
    ],
)
def test_layers_written_ahead_out_of_place_are_written_again(tmp_path, ahead):
    layers = _layers()
    reference = write_layers(tmp_path / "reference.gpkg", layers)
    with GeoPackageWriter(tmp_path / "plan.gpkg") as out:
        for name, frame in ahead:
            out.write_ahead(name, layers[frame])
        written = out.write(layers)
    assert _contents(written) == _contents(reference)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.gpkg", "reference.gpkg"]


def test_a_failed_run_leaves_the_target_and_no_temporary_file(tmp_path):
    target = tmp_path / "plan.gpkg"
    target.write_bytes(b"the previous plan")
    with pytest.raises(RuntimeError, match="the run failed"), GeoPackageWriter(target) as out:
        out.write_ahead("estates", _layers()["estates"])
        raise RuntimeError("the run failed")
    assert target.read_bytes() == b"the previous plan"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.gpkg"]


def test_a_layer_that_fails_ahead_fails_the_write_and_leaves_the_target(tmp_path):
    target = tmp_path / "plan.gpkg"
    target.write_bytes(b"the previous plan")
    bad: dict = {"x": "not a frame", "funding": _layers()["funding"]}
    with pytest.raises(Exception), GeoPackageWriter(target) as out:  # noqa: B017 - pyogrio's error
        out.write_ahead("x", bad["x"])
        out.write(bad)
    assert target.read_bytes() == b"the previous plan"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.gpkg"]
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") is None


def test_an_output_that_is_an_input_is_refused_before_anything_is_written(tmp_path):
    source = tmp_path / "estates.gpkg"
    source.write_bytes(b"an input")
    with guarded_run([source]), GeoPackageWriter(source) as out:
        with pytest.raises(OutputError):
            out.write_ahead("estates", _layers()["estates"])
        with pytest.raises(OutputError):
            out.write(_layers())
    assert source.read_bytes() == b"an input"
    assert [p.name for p in tmp_path.iterdir()] == ["estates.gpkg"]


def _pid_of_writer(folder: Path, monkeypatch) -> Path:
    """Make the layer writer note its process id in ``folder / "pid"`` (inherited by a fork)."""
    noted = folder / "pid"
    write_layer = writers._write_layer

    def noting(frame, path, name):
        noted.write_text(str(os.getpid()))
        write_layer(frame, path, name)

    monkeypatch.setattr(writers, "_write_layer", noting)
    return noted


def test_a_layer_written_ahead_is_written_by_another_process(
    tmp_path, tmp_path_factory, monkeypatch
):
    """GDAL's Arrow writer holds Python's lock: the layer is written beside this process."""
    noted = _pid_of_writer(tmp_path_factory.mktemp("pid"), monkeypatch)
    layers = _layers()
    reference = write_layers(tmp_path / "reference.gpkg", layers)
    with GeoPackageWriter(tmp_path / "plan.gpkg") as out:
        out.write_ahead("estates", layers["estates"])
        out._ahead[0][2].result()  # the layer ahead is written
        assert int(noted.read_text()) != os.getpid()
        written = out.write(layers)
    assert _contents(written) == _contents(reference)
    assert multiprocessing.active_children() == []


def test_without_fork_the_layer_ahead_is_written_in_a_thread(
    tmp_path, tmp_path_factory, monkeypatch
):
    noted = _pid_of_writer(tmp_path_factory.mktemp("pid"), monkeypatch)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    layers = _layers()
    reference = write_layers(tmp_path / "reference.gpkg", layers)
    with GeoPackageWriter(tmp_path / "plan.gpkg") as out:
        out.write_ahead("estates", layers["estates"])
        written = out.write(layers)
    assert int(noted.read_text()) == os.getpid()
    assert _contents(written) == _contents(reference)


def test_a_full_disk_while_writing_ahead_is_an_output_error(tmp_path, monkeypatch):
    """The writing process's OSError comes back with its errno: one line naming the fix."""

    def full(frame, path, name):
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "plan.gpkg"
    target.write_bytes(b"the previous plan")
    layers = _layers()
    with GeoPackageWriter(target) as out:
        monkeypatch.setattr(writers, "_write_layer", full)  # in the process writing ahead only
        out.write_ahead("estates", layers["estates"])
        out._ahead[0][2].exception()  # that process has ended
        monkeypatch.undo()
        with pytest.raises(OutputError, match="free disk space"):
            out.write(layers)
    assert target.read_bytes() == b"the previous plan"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.gpkg"]


def test_a_writing_process_that_dies_fails_the_write(tmp_path, monkeypatch):
    def killed(frame, path, name):
        os._exit(9)

    target = tmp_path / "plan.gpkg"
    layers = _layers()
    monkeypatch.setattr(writers, "_write_layer", killed)
    with GeoPackageWriter(target) as out:
        out.write_ahead("estates", layers["estates"])
        with pytest.raises(OutputError, match="exit code 9") as ended:
            out.write(layers)
    assert "free memory" in ended.value.one_line("en")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []
